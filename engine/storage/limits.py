"""Text a person or an API caller sends, checked against the column it lands in.

PostgreSQL refuses a NUL byte in any text value and a value longer than its VARCHAR (the whole
transaction fails, the caller saw a 500); SQLite stores both. So every service where outside
text enters checks it here first, and refuses it with a ValidationFailed naming the field:

    check_text(body, "note", Task.name)             # the column's String(n) length from the model
    check_text(body, "body", limit=2000)           # a limit of the service's own
    check_values({"business_key": (bk, Instance.business_key), "region": (region, Instance.region)})

Allowed: any printable text, and the line breaks and tabs a textarea sends (\\n \\r \\t). Refused:
NUL and the other control characters (C0 but those three, DEL, C1), which no form needs and
which break exports, logs and PostgreSQL.
"""
import re
from collections.abc import Mapping
from typing import Any

from qihu.engine.errors import ValidationFailed

# C0 controls except \t \n \r; DEL; C1 controls; lone surrogates (not UTF-8: psycopg refuses them)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def column_length(column: Any) -> int | None:
    """The length of a String(n) column (a model attribute such as Task.name, or a Column);
    None for Text and other unbounded types."""
    col = getattr(column, "property", None)
    if col is not None and hasattr(col, "columns"):
        column = col.columns[0]
    length = getattr(getattr(column, "type", None), "length", None)
    return length if isinstance(length, int) else None


def bad_character(value: str) -> str | None:
    """A description of the first refused character of `value` ("U+0000"), or None."""
    m = CONTROL.search(value)
    return None if m is None else f"U+{ord(m.group()):04X}"


def problem(value: Any, column: Any = None, limit: int | None = None) -> tuple[str, str] | None:
    """(Chinese, English) of what is wrong with a text value, or None when it fits. Values that
    are not strings are left to the caller's own checks."""
    if not isinstance(value, str):
        return None
    bad = bad_character(value)
    if bad is not None:
        return "含有不允许的字符", f"contains a control character {bad}"
    n = limit if limit is not None else column_length(column)
    if n is not None and len(value) > n:
        return f"过长（最多 {n} 个字，现 {len(value)} 个字）", f"longer than {n} characters: {len(value)}"
    return None


def check_text(value: Any, field: str, column: Any = None, *, limit: int | None = None,
               what: str | None = None) -> Any:
    """`value` unchanged when it fits `column` (or `limit`); else ValidationFailed
    "字段 X 过长 (field X is longer than n characters)" with {field: reason}."""
    p = problem(value, column, limit)
    if p is not None:
        label = what or field
        raise ValidationFailed(f"字段 {label} {p[0]} (field {field!r} {p[1]})", {field: f"{label}{p[0]}"})
    return value


def check_values(values: Mapping[str, tuple[Any, Any]]) -> None:
    """Every {field: (value, column or int limit)} at once: one ValidationFailed naming each field
    that does not fit (nothing is written by the caller)."""
    errors: dict[str, str] = {}
    english: list[str] = []
    for field, (value, column) in values.items():
        p = problem(value, None if isinstance(column, int) else column,
                    column if isinstance(column, int) else None)
        if p is not None:
            errors[field] = f"{field}{p[0]}"
            english.append(f"{field!r} {p[1]}")
    if errors:
        raise ValidationFailed(f"字段 {'、'.join(errors)} 过长或含有不允许的字符 ({'; '.join(english)})", errors)


def check_tree(value: Any, field: str, *, limit: int | None = None) -> None:
    """Every string in a JSON-like value (dict keys too): no control characters, and with `limit`
    none longer; ValidationFailed names the path ("data.note")."""
    stack: list[tuple[str, Any]] = [(field, value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, str):
            check_text(v, path, limit=limit)
        elif isinstance(v, Mapping):
            for k, item in v.items():
                check_text(str(k), f"{path}.{k!s}"[:200])
                stack.append((f"{path}.{k}", item))
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(v))
