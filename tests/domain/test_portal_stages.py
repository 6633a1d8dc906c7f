"""The tracking page's progress (appeals/stages.py, Portal.progress): the six public stages as a
bar, a timeline of the steps that mean something to the enterprise (internal steps hidden,
replies always kept), what the enterprise submitted, and ratings read on the one 好差评 scale
for every bundled mechanism that rates through ${enterprise_user}. Both databases.
"""
from pathlib import Path

import pytest
from lxml import etree

from qihu import appeals
from qihu.appeals.portal import bad_rating, is_rating_field
from qihu.appeals.stages import public_steps, stage_bar, stage_of
from tests.domain.test_portal import PDF, handle, portal, submit  # noqa: F401  (the fixture)

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "camunda": "http://camunda.org/schema/1.0/bpmn"}


@pytest.mark.parametrize("name, stage", [
    ("受理登记", "受理"), ("研判事项复杂程度", "受理"), ("派发工单", "交办"), ("分类交办（研判问题类型）", "交办"),
    ("部门办理", "办理"), ("统筹制定问题解决方案", "办理"), ("办理答复", "答复"), ("向企业解释说明", "答复"),
    ("企业评价（好差评）", "评价"), ("方案满意评价", "评价"), ("二次督办", "督办"), ("限期整改（二次督办）", "督办"),
    ("督查复核", "督办"), ("复盘提升", None), ("深入一线调研论证", None), ("一案一报：撰写分析报告", None),
])
def test_steps_are_put_in_public_stages_by_name(name, stage):
    assert stage_of(name) == stage


def test_internal_steps_are_hidden_but_replies_and_the_enterprises_own_are_kept():
    steps = [{"name": "复盘提升", "replies": []}, {"name": "内部会签", "replies": []},
             {"name": "内部会签", "replies": [{"label": "答复内容", "text": "已协调"}]},
             {"name": "部门办理", "replies": []}, {"name": "补充材料", "replies": [], "mine": True}]
    kept = public_steps(steps)
    assert [(s["name"], s["stage"]) for s in kept] == [("内部会签", "答复"), ("部门办理", "办理"), ("补充材料", None)]


def test_the_bar():
    states = lambda bar: [(b["stage"], b["state"]) for b in bar]  # noqa: E731
    assert states(stage_bar(["受理"], ["办理"], False)) == [
        ("受理", "done"), ("交办", "done"), ("办理", "current"), ("答复", "todo"), ("评价", "todo"), ("办结", "todo")]
    assert states(stage_bar(["受理", "办理", "评价"], ["督办"], False))[-2:] == [("督办", "current"), ("办结", "todo")]
    assert {s for _, s in states(stage_bar(["受理"], [], True))} == {"done"}
    # between steps (or in an internal one): the stage after the last one reached
    assert states(stage_bar(["受理", "交办"], [], False))[2] == ("办理", "current")


def test_progress_shows_the_bar_the_submission_and_a_public_timeline(portal):  # noqa: F811
    engine = portal
    made = submit(engine, files=[("材料.pdf", PDF)])
    p = appeals.of(engine).portal
    progress = p.progress(p.by_token(made["token"]))
    assert [b["state"] for b in progress["bar"]][:2] == ["current", "todo"]
    sub = progress["submitted"]
    assert (sub["credit_code"], sub["contact_phone"], sub["channel"]) == ("91330100799655058B", "138****5678",
                                                                          "企业自主提交")
    assert sub["category"] == "政策咨询"                                  # the option's name, not its id
    assert sub["files"] == [{"name": "材料.pdf", "size": len(PDF)}]
    handle(engine, made["instance_id"])
    progress = p.progress(p.by_token(made["token"]))
    assert [(s["name"], s["stage"]) for s in progress["steps"]] == [
        ("企业提交诉求", "受理"), ("受理登记", "受理"), ("部门办理", "办理")]
    assert [b["stage"] for b in progress["bar"] if b["state"] == "current"] == ["评价"]


def enterprise_rating_steps():
    """(file, step name, its form fields) of every bundled user task assigned to ${enterprise_user}."""
    out = []
    for path in sorted(BPMN.glob("*.bpmn")):
        root = etree.parse(str(path))
        for task in root.iterfind(".//bpmn:userTask", NS):
            if "enterprise_user" not in (task.get(f"{{{NS['camunda']}}}assignee") or ""):
                continue
            fields = [{"id": f.get("id"), "type": f.get("type"),
                       "options": [{"id": v.get("id"), "name": v.get("name")} for v in f.iterfind("camunda:value", NS)]}
                      for f in task.iterfind(".//camunda:formField", NS)]
            out.append((path.name, task.get("name"), fields))
    return out


@pytest.mark.parametrize("file, name, fields", enterprise_rating_steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_enterprise_rating_step_is_read_on_the_one_scale(file, name, fields):
    """Each mechanism's enterprise step rates with enum fields the portal recognises, and the
    worst option of each counts as 差评 (so the tracking page reopens and says so)."""
    rating = [f for f in fields if is_rating_field(f)]
    assert rating, f"{file} {name}: no rating field the portal recognises"
    for f in rating:
        worst = f["options"][-1] if f["options"][-1]["id"] in ("1", "unsatisfied") else \
            next(o for o in f["options"] if o["name"] in ("不满意", "非常不满意"))
        assert bad_rating({f["id"]: worst["id"]}, fields), (file, f["id"])
        best = f["options"][0]
        assert not bad_rating({f["id"]: best["id"]}, fields), (file, f["id"])
