"""A stall names groups and people by display name wherever a person reads it (issue 15): the
incident sentence (appeals/incidents.describe: the incident page, the instance page, the 晾晒
warning board), the audit trail and the 异常处理 page; the engine keeps the ids on the incident
(its technical detail). Both databases.
"""
import html as htmllib
import re

from qihu import appeals
from qihu.appeals import incidents as said
from qihu.engine.runtime.stalls import StallCheck
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.web_util import PASSWORD, sign_in

NOBODY = bpmn("nobody_here", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="部门办理" camunda:candidateGroups="dept_policy,dept_ghost" />
<bpmn:endEvent id="e" />
{chain("s", "handle", "e")}""", name="无人办理")
NAMED = "案件无法继续流转：「部门办理」的候选组（政策法规处、要素保障处）没有在岗成员，无人能看到这项待办"


def stalled(engine):
    appeals.install(engine)
    engine.accounts.set_group_name("dept_policy", "政策法规处", "admin")
    engine.accounts.set_group_name("dept_ghost", "要素保障处", "admin")
    engine.repository.deploy([("nobody_here.bpmn", NOBODY)])
    iid = engine.runtime.start("nobody_here", business_key="QH-STALL-1")
    StallCheck(engine).run()
    return iid


def test_the_stall_sentence_and_the_trail_say_names_the_incident_keeps_ids(engine):
    iid = stalled(engine)
    [inc] = engine.runtime.incidents(iid)
    assert "dept_policy,dept_ghost" in inc["message"]                  # the engine's stored data: ids
    [d] = said.describe(engine, [inc])
    assert d["sentence"] == NAMED and "dept_" not in d["cause"]
    assert d["message"] == inc["message"]                              # technical detail unchanged
    lines = [x["text"] for x in appeals.of(engine).trail(iid)]
    assert any("政策法规处、要素保障处" in x for x in lines), lines
    assert not any("dept_" in x for x in lines), lines
    # a disabled assignee: said by their display name
    engine.accounts.add_user("wang", PASSWORD, display_name="王科员", groups=["dept_policy"])
    StallCheck(engine).run()                                           # someone joined: resolved
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.claim(t["id"], "wang")
    engine.accounts.set_active("wang", False)
    StallCheck(engine).run()
    [open_one] = engine.runtime.incidents(iid)
    assert said.describe(engine, [open_one])[0]["sentence"] == "案件无法继续流转：「部门办理」的办理人 王科员 的账号已停用"


def test_the_incident_page_says_names(engine):
    stalled(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    client = create_app(engine=engine, config={"SECRET_KEY": "incident-names"}).test_client()
    sign_in(client, "boss")
    page = htmllib.unescape(client.get("/admin/incidents").get_data(as_text=True))
    assert NAMED in page
    shown = re.sub(r'<details class="qh-inc-detail">.*?</details>', "", page, flags=re.S)   # 技术详情 keeps ids
    assert "dept_policy" not in shown and "dept_ghost" not in shown
