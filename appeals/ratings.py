"""The one 好差评 scale every mechanism rates on (国办发〔2019〕51号, 政务服务"好差评"制度).

Five levels, stored as the strings "5" … "1" (form enum values, process variables,
figure.rating): 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意. The bottom two count as
差评; the top three as satisfied (满意率 =（非常满意+满意+基本满意）/ 已评价). A mechanism
rating several aspects (rate_plan, rate_process, rate_result) takes the lowest as its rating.

    level_name("3")            # "基本满意"
    level_name(4, lang="en")   # "satisfied"
    is_bad("2")                # True (差评)
    label("4")                 # "4（满意）" — the ledger's and the exports' form
"""
from __future__ import annotations

from typing import Iterable

LEVELS: dict[str, str] = {"5": "非常满意", "4": "满意", "3": "基本满意", "2": "不满意", "1": "非常不满意"}
LEVELS_EN: dict[str, str] = {"5": "very satisfied", "4": "satisfied", "3": "basically satisfied",
                             "2": "dissatisfied", "1": "very dissatisfied"}
ORDER: tuple[str, ...] = ("5", "4", "3", "2", "1")      # best first, as a form offers them
BAD: frozenset[str] = frozenset({"2", "1"})             # 差评
SATISFIED: frozenset[str] = frozenset({"5", "4", "3"})  # counted in 满意率
SATISFIED_PROPERTY = "5,4,3"                            # the figure.satisfied value for this scale
BASIS = "国办发〔2019〕51号"


def level(value: object) -> str | None:
    """The level "1"…"5" of a stored rating (an int, "4", "4.0", the level's Chinese or English
    name), or None when it is not a level of this scale."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if text in LEVELS:
        return text
    try:
        number = float(text)
    except ValueError:
        names = {v: k for k, v in LEVELS.items()} | {v: k for k, v in LEVELS_EN.items()}
        return names.get(text) or names.get(text.lower())
    key = str(int(number)) if number == int(number) else None
    return key if key in LEVELS else None


def level_name(value: object, lang: str = "zh") -> str | None:
    """The level's name ("满意"; "satisfied" with lang="en"), or None for a value off the scale."""
    key = level(value)
    if key is None:
        return None
    return (LEVELS_EN if lang == "en" else LEVELS)[key]


def is_bad(value: object) -> bool:
    """True for 不满意 and 非常不满意 (差评); False for the others and for a value off the scale."""
    return level(value) in BAD


def is_satisfied(value: object) -> bool:
    """True for 非常满意, 满意 and 基本满意."""
    return level(value) in SATISFIED


def lowest(values: Iterable[object]) -> str | None:
    """The worst level among several aspects' ratings (the mechanism's one rating), None if none."""
    keys = [k for k in (level(v) for v in values) if k is not None]
    return min(keys, key=int) if keys else None


def label(value: object, lang: str = "zh") -> str:
    """A rating as the ledger and exports write it: "4（满意）"; a value off the scale as it is."""
    name = level_name(value, lang)
    if name is None:
        return "" if value is None else str(value)
    return f"{level(value)} ({name})" if lang == "en" else f"{level(value)}（{name}）"


def enum_values() -> list[tuple[str, str]]:
    """(value, Chinese name) best first: the camunda:value list of a rating form field."""
    return [(k, LEVELS[k]) for k in ORDER]


__all__ = ["LEVELS", "LEVELS_EN", "ORDER", "BAD", "SATISFIED", "SATISFIED_PROPERTY", "BASIS", "level", "level_name",
           "is_bad", "is_satisfied", "lowest", "label", "enum_values"]
