"""The public stages of an appeal, as an enterprise follows it on its tracking page.

Every mechanism names its steps its own way (受理登记, 研判事项复杂程度, 派发工单, 限期整改（二次督办）
…); the enterprise reads six stages: 受理, 交办, 办理, 答复, 评价, 督办, and 办结 at the end. A step
is put in a stage by its name (the first rule that matches, most specific first); a step no rule
places is internal (复盘, 调研, 撰写分析报告 …) and is not shown, unless it carries a reply for
the enterprise or was the enterprise's own.
"""
from __future__ import annotations

import re

STAGES = ("受理", "交办", "办理", "答复", "评价", "督办", "办结")
EN = {"受理": "Accepted", "交办": "Assigned", "办理": "Handling", "答复": "Reply", "评价": "Rating",
      "督办": "Supervision", "办结": "Closed"}
# first match wins: a 二次督办 re-handling is 督办, not 办理; 方案满意评价 is 评价, not 办理
RULES: tuple[tuple[str | None, re.Pattern], ...] = (
    (None, re.compile(r"复盘|调研|分析报告|共性问题|政策意见|典型案例|常委会|提升一类|议题|审核")),   # internal work
    ("评价", re.compile(r"评价|好差评|满意|测评|回访")),
    ("督办", re.compile(r"督办|督查|问责|回头看|核查|复核|赋牌")),
    ("答复", re.compile(r"答复|告知|解释说明|反馈|回复")),
    ("交办", re.compile(r"交办|分办|派发|分派|转办|转送|签收")),
    ("受理", re.compile(r"受理|登记|归集|诉求提交|问题提交|接待|收集|研判事项")),
    ("办理", re.compile(r"办理|整改|落实|处置|方案|办成|会商|会办|联席会议|攻坚|推进|快查快处|办结|工作计划|板块办|答疑|服务")),
)


def stage_of(name: str | None) -> str | None:
    """The public stage of a step by its name, or None for an internal step."""
    for stage, pattern in RULES:
        if name and pattern.search(name):
            return stage                 # None: an internal step
    return None


def public_steps(steps: list[dict]) -> list[dict]:
    """The steps that mean something to the enterprise, each with its "stage": its own, its
    answers and every step carrying a reply are kept whatever their name."""
    kept = []
    for st in steps:
        stage = st.get("stage") or stage_of(st.get("name"))
        if stage is None and (st.get("replies") or st.get("mine")):
            stage = "答复" if st.get("replies") else None
        if stage is None and not st.get("mine"):
            continue
        kept.append({**st, "stage": stage})
    return kept


def stage_bar(done: list[str], current: list[str], finished: bool) -> list[dict]:
    """The progress bar: [{"stage", "state": done|current|todo}] over 受理 交办 办理 答复 评价
    (督办 when the appeal went there) and 办结. `done`: stages of steps done, `current`: of
    open steps."""
    order = [s for s in STAGES if s != "督办" or "督办" in done or "督办" in current]
    index = {s: i for i, s in enumerate(order)}
    if finished:
        at = len(order)                                   # everything done, 办结 included
    elif any(s in index for s in current):
        at = max(index[s] for s in current if s in index)
    else:                                                 # between steps, or in an internal one
        reached = max((index[s] for s in done if s in index), default=-1)
        at = min(reached + 1, index["办结"] - 1)
    return [{"stage": s, "state": "done" if i < at else "current" if i == at else "todo"}
            for i, s in enumerate(order)]


__all__ = ["STAGES", "EN", "stage_of", "public_steps", "stage_bar"]
