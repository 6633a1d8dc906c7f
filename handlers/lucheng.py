"""Lucheng (温州市鹿城区) mock accountability, three lists (模拟问责三张清单).

Topics:
- lucheng.problem_list(problem, checklist_class, checklist_kind, stalled_stage, source, found_by,
  responsible_unit, company) → problem_entry
  A line of the problem list (问题清单): a problem found by an observation point (观测点/观察员)
  or passed on by another mechanism (钱塘 red warning), with its class in the health-check
  catalogue (体检目录, 4 classes / 26 kinds) and the stage of 受理-办理-反馈-归档 where it stalled.
  The other two lists (责任清单, 经验清单) are written with ledger.record.

The seed names neither the 4 classes nor the 26 kinds. The classes here are the four failings
the seed itself names (不担当, 不作为 / 慢作为, 难作为); the kind is kept as free text.
"""
from qihu import topic

CHECKLIST_CLASSES = {"irresponsible": "不担当", "inaction": "不作为", "slow": "慢作为", "difficult": "难作为"}
STAGES = {"accept": "受理", "handle": "办理", "feedback": "反馈", "archive": "归档"}
SOURCES = {"observation_point": "观测点发现", "qiantang_red": "钱塘红色预警转入"}


@topic("lucheng.problem_list")
def problem_list(qihu, problem, checklist_class="", checklist_kind="", stalled_stage="", source="",
                 found_by="", responsible_unit="", company="", **_):
    if not problem:
        raise ValueError("问题清单缺少问题描述 (problem is required)")
    if checklist_class and checklist_class not in CHECKLIST_CLASSES:
        raise ValueError(f"体检目录大类应为 {', '.join(CHECKLIST_CLASSES)} (unknown class {checklist_class!r})")
    if stalled_stage and stalled_stage not in STAGES:
        raise ValueError(f"迟滞环节应为 {', '.join(STAGES)} (unknown stage {stalled_stage!r})")
    entry = qihu.ledger("problem_list", title=f"问题清单：{problem}", data={
        "problem": problem, "checklist_class": checklist_class,
        "checklist_class_name": CHECKLIST_CLASSES.get(checklist_class, ""), "checklist_kind": checklist_kind,
        "stalled_stage": stalled_stage, "stalled_stage_name": STAGES.get(stalled_stage, ""),
        "source": source, "source_name": SOURCES.get(source, source), "found_by": found_by,
        "responsible_unit": responsible_unit, "company": company})
    return {"problem_entry": entry}
