"""Issue 13 finding 3: rating after a 退单 stalled the appeal.

Reported: in an appeal that had a 退单, a refused submission and then the corrected one ended
in `NameError: enterprise_user` and an incident; the enterprise saw "正在流转中" for ever and
督查室 got nothing.

Cause: SpiffWorkflow 3.2.0 stores a task's variables as a delta against its parent's and
restores them only when the parent is restored first, in the stored order of the tasks.
A 退单 gives the reset step a new id (engine/dialect/state.py rekey), which moved it to the end
of that order, after the steps below it. Nothing showed while the instance stayed in the
engine's cache; a refused submission rolls back and drops the cached tree, so the next step
loaded the stored state and every step below the returned-to one came back without the
appeal's variables (company, summary, enterprise_user …): the next expression that named one
failed. Fixed in the engine: rekey keeps the order, and loading restores parents first (which
also heals states stored before the fix).

The sequences below are the reported ones, through the public paths (portal and task
service), on the demo's deployment and users.
"""
import json
from pathlib import Path

import pytest

from qihu import appeals
from qihu.appeals.demo import seed
from qihu.engine.dialect import state
from qihu.engine.errors import ValidationFailed
from tests.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
CREDIT_CODE = "91330100799655058B"


@pytest.fixture
def sc(engine, clock):
    list(seed(engine, ROOT / "bpmn"))
    return Scenario(engine, clock)


def submit(sc, key, category):
    portal = appeals.of(sc.engine).portal
    made = portal.submit(key, "某新材料有限公司", CREDIT_CODE, "吴经理", "13905780000", category,
                         "产业链上下游配套企业对接难，希望协调")
    return made, portal


def refused(fn, *args):
    with pytest.raises(ValidationFailed):
        fn(*args)


def test_huzhou_a_bad_rating_after_a_return_reaches_the_supervision_office(sc):
    made, portal = submit(sc, "huzhou_joint_meeting", "innovation")
    iid = made["instance_id"]
    register = {"company": "某新材料有限公司", "summary": "产业链上下游配套企业对接难", "category": "innovation",
                "channel": "企业自主提交"}
    sc.complete(iid, "Task_register", "hz_qifu", register)
    t = sc.task(iid, "Task_board_handle")
    sc.engine.handoff.return_task(t["id"], "hz_bankuai", "不属于本板块，请重新分派")
    sc.complete(iid, "Task_register", "hz_qifu", register)
    refused(sc.complete, iid, "Task_board_handle", "hz_bankuai", {"board_result": "solved", "board_reply": ""})
    sc.complete(iid, "Task_board_handle", "hz_bankuai", {"board_result": "solved", "board_reply": "已对接"})
    sc.complete(iid, "Task_reply", "hz_qifu", {"reply_text": "已办理，答复企业"})   # was: NameError enterprise_user

    t = sc.task(iid, "Task_evaluate")
    assert t["assignee"] == "qiye:" + made["tracking_no"]
    bad = {"rate_plan": "4", "rate_process": "2", "rate_result": "4", "rate_comment": "办理过程反复补材料"}
    refused(portal.rate, made["token"], t["id"], {**bad, "rate_plan": ""})          # a blank item
    assert portal.rate(made["token"], t["id"], bad) == {"task": "企业评价", "bad": True}

    assert sc.engine.runtime.incidents() == []
    t = sc.task(iid, "Task_second_supervision")                                      # 督查室 has it
    assert t["candidate_groups"] == ["hz_supervision"] and "Task_second_supervision" in sc.inbox("hz_ducha")
    [(_, title, data)] = sc.ledger(iid, "rating")
    assert data["company"] == "某新材料有限公司" and data["bad"] is True


def test_qingyuan_the_enterprise_rates_after_a_return(sc):
    made, portal = submit(sc, "qy_three_ones", "approval")
    iid = made["instance_id"]
    data = sc.data(iid)
    sc.complete(iid, "Task_register", "qy_zhongxin", {"company": data["company"], "summary": data["summary"],
                                                      "category": "approval", "assigned_level": "county",
                                                      "channel": data["channel"]})
    sc.complete(iid, "Task_dispatch", "qy_zhongxin", {"unit_group": "qy_unit_resources"})
    t = sc.task(iid, "Task_handle")
    sc.engine.handoff.return_task(t["id"], "qy_bumen", "不属于本部门职责")
    refused(sc.complete, iid, "Task_dispatch", "qy_zhongxin", {"unit_group": ""})
    sc.complete(iid, "Task_dispatch", "qy_zhongxin", {"unit_group": "qy_unit_economy"})
    refused(sc.complete, iid, "Task_handle", "qy_bumen", {"handle_result": "solved", "reply": ""})
    sc.complete(iid, "Task_handle", "qy_bumen", {"handle_result": "solved", "reply": "已安排联合审验"})
    assert sc.engine.runtime.incidents() == []                                       # was: 答复企业, NameError

    t = sc.task(iid, "Task_rate")
    good = {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "满意"}
    refused(portal.rate, made["token"], t["id"], {**good, "rate_process": ""})
    assert portal.rate(made["token"], t["id"], good)["bad"] is False

    assert sc.engine.runtime.incidents() == []
    assert sc.ready(iid) == ["Task_assess"]
    [(_, _, rating)] = sc.ledger(iid, "rating")
    assert rating["by_enterprise"] is True and rating["unit"] == "县经济商务科技局"
    progress = portal.progress(portal.by_token(made["token"]))
    assert progress["current"][0]["name"] == "分析研判（县级全量问题库）"


def test_a_state_stored_in_the_old_order_loads_with_its_variables(sc):
    """Instances returned before the fix have the reset step stored after the steps below it:
    they load whole (parents first), so they continue where they stand."""
    made, _ = submit(sc, "qy_three_ones", "approval")
    iid = made["instance_id"]
    data = sc.data(iid)
    sc.complete(iid, "Task_register", "qy_zhongxin", {"company": data["company"], "summary": data["summary"],
                                                      "category": "approval", "assigned_level": "county",
                                                      "channel": data["channel"]})
    sc.complete(iid, "Task_dispatch", "qy_zhongxin", {"unit_group": "qy_unit_resources"})
    sc.engine.handoff.return_task(sc.task(iid, "Task_handle")["id"], "qy_bumen", "不属于本部门职责")
    sc.complete(iid, "Task_dispatch", "qy_zhongxin", {"unit_group": "qy_unit_economy"})

    wf = sc.engine.runtime.workflow(iid)
    dct = json.loads(state.dumps(wf))
    [dispatch] = [tid for tid, t in dct["tasks"].items() if t["task_spec"] == "Task_dispatch"]
    dct["tasks"][dispatch] = dct["tasks"].pop(dispatch)          # where the old rekey put it: last
    info = sc.engine.repository.process(sc.engine.db_get_definition(sc.engine.runtime.get(iid)["definition_id"]))
    loaded = state.loads(json.dumps(dct, ensure_ascii=False), info.spec, info.subprocess_specs,
                         sc.engine.script_engine)
    [handle] = [t for t in loaded.tasks.values() if t.task_spec.name == "Task_handle"]
    assert handle.data["enterprise_user"] == "qiye:" + made["tracking_no"]
    assert handle.data["summary"] == data["summary"] and handle.data["unit_name"] == "县经济商务科技局"
    assert {str(k): t.data for k, t in loaded.tasks.items()} == {str(k): t.data for k, t in wf.tasks.items()}
