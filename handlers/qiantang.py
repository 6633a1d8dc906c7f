"""Qiantang (钱塘) target tracking (“标的物”跟踪机制): the one-case-one-evaluation record.

Topic (inputs → outputs merged into the process data):
- qiantang.evaluation(responsible_unit, plan_rating, process_rating, result_rating, comment,
  plan_due, solved_at, summary, company) → evaluation_entry, good_ratings, bad_ratings, solved_late
  “一事一评”: the enterprise's 好差评 of the plan, the handling process and the result, each on
  the one five-level scale (qihu.appeals.ratings: "5" 非常满意 … "1" 非常不满意; 不满意 and
  非常不满意 are 差评, the others 好评), counted against the responsible unit (责任单位). One line of the ledger kind `qiantang_evaluation`,
  with whether the case was solved after the plan's deadline (超时办成, for 超时办成率).
"""
from datetime import datetime

from qihu import topic

ASPECTS = (("plan", "方案评价"), ("process", "过程评价"), ("result", "结果评价"))


def _moment(value):
    if value in (None, ""):
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@topic("qiantang.evaluation")
def evaluation(qihu, responsible_unit, plan_rating, process_rating, result_rating, comment="",
               plan_due=None, solved_at=None, summary="", company="", **_):
    from qihu import ratings      # here, not at import: a handler module loads no engine or domain
    given = {"plan": plan_rating, "process": process_rating, "result": result_rating}
    for aspect, label in ASPECTS:
        if ratings.level(given[aspect]) is None:
            raise ValueError(f"{label}应为五级评价之一 (unknown rating {given[aspect]!r}: one of 5, 4, 3, 2, 1)")
    if not responsible_unit:
        raise ValueError("一事一评缺少责任单位 (responsible_unit is required)")
    good = sum(1 for v in given.values() if not ratings.is_bad(v))
    due, solved = _moment(plan_due), _moment(solved_at)
    late = bool(due and solved and solved > due)
    data = {label: ratings.label(given[aspect]) for aspect, label in ASPECTS}
    data.update({"responsible_unit": responsible_unit, "good": good, "bad": 3 - good, "comment": comment or "",
                 "company": company, "summary": summary, "plan_due": due.isoformat() if due else None,
                 "solved_at": solved.isoformat() if solved else None, "solved_late": late})
    entry = qihu.ledger("qiantang_evaluation", title=f"一事一评：{responsible_unit}（好评{good}，差评{3 - good}）",
                        data=data)
    return {"evaluation_entry": entry, "good_ratings": good, "bad_ratings": 3 - good, "solved_late": late}
