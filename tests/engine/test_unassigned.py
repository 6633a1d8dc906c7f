"""Issue 14, finding 1: a user task naming nobody is accepted, as Camunda 7 runs it.

It deploys with a warning (file, line, element; Chinese with the English in brackets), waits
unassigned in the 待分派 queue, which administrators and the dispatcher group
(Settings.dispatcher_group) see within their region, and they assign it to a person or offer it
to groups / users; both audited. The stall check leaves it alone while someone may dispatch it.
Real diagrams as Camunda Modeler saved them (tests/data/real/, camunda-bpm-examples).
"""
import re

import pytest
from sqlalchemy import delete, select

from qihu.engine.config import Settings
from qihu.engine.errors import Conflict, Forbidden, ValidationFailed
from qihu.engine.runtime.stalls import StallCheck
from qihu.engine.storage.models import Membership, Notification
from tests.bpmn_util import bpmn, chain
from tests.conftest import DATA

REAL = DATA / "real"
JUNIT = REAL / "camex__junit5-testProcess.bpmn"          # one user task "Handle \nRequest", nobody named
INVOICE = REAL / "camex__invoicePayment.bpmn"            # three user tasks naming nobody, Modeler 4.7.0
PW = "Qihu-test-pass-1"


def line_of(path, needle):
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def queue(engine, user, **kw):
    return engine.tasks.unassigned(user, **kw)


def stalls(engine, iid):
    return [i for i in engine.runtime.incidents(iid) if i["kind"] == "stall"]


@pytest.fixture
def people(engine):
    """boss an administrator; disp a dispatcher of every region; hz a dispatcher of 湖州市 only;
    li a clerk of every region; hz_clerk a clerk of 湖州市; clerks the group li is in."""
    engine.accounts.add_user("boss", PW, is_admin=True)
    engine.accounts.add_user("disp", PW, groups=["dispatcher"])
    engine.accounts.add_user("hz", PW, groups=["dispatcher"], region="湖州市")
    engine.accounts.add_user("li", PW, groups=["clerks"])
    engine.accounts.add_user("hz_clerk", PW, groups=["clerks"], region="湖州市")
    return engine


# -- deploy: accepted, with a warning ---------------------------------------------------------------
def test_a_real_diagram_naming_nobody_deploys_with_a_warning(engine):
    result = engine.repository.deploy([str(JUNIT)])
    assert result.created and [d["key"] for d in result.definitions] == ["testProcess"]
    [w] = result.warnings
    assert (w["file"], w["element"], w["line"]) == (JUNIT.name, "UserTask_1", line_of(JUNIT, 'id="UserTask_1"'))
    assert w["message"].startswith("用户任务「Handle Request」没有指定办理人、候选组或候选人")
    assert "待分派" in w["message"] and "(user task UserTask_1 names no assignee" not in w["message"]
    assert re.search(r"（user task UserTask_1 names no assignee.*unassigned queue.*）$", w["message"], re.S)
    # deploying the same content again says it again
    again = engine.repository.deploy([str(JUNIT)])
    assert not again.created and again.warnings == result.warnings


def test_every_task_naming_nobody_is_listed_with_its_line(engine):
    result = engine.repository.deploy([str(INVOICE)])
    got = [(w["file"], w["element"], w["line"]) for w in result.warnings]
    assert got == sorted(got, key=lambda x: x[2])
    assert set(got) == {(INVOICE.name, el, line_of(INVOICE, f'<bpmn:userTask id="{el}"'))
                        for el in ("Task_16y91ka", "Task_1a2twqz", "Task_0q869n2")}


def test_a_task_with_candidates_or_a_lane_gives_no_warning(engine):
    text = bpmn("named", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="clerks" />
<bpmn:userTask id="b" name="审核" camunda:assignee="${{reviewer}}" />
<bpmn:userTask id="c" name="复核" camunda:candidateUsers="li" />
<bpmn:endEvent id="e" />
{chain("s", "a", "b", "c", "e")}""")
    assert engine.repository.deploy([("named.bpmn", text)]).warnings == []


# -- the queue ----------------------------------------------------------------------------------------
def test_the_task_waits_in_the_queue_and_a_dispatcher_assigns_it(people):
    e = people
    e.repository.deploy([str(JUNIT)])
    iid = e.runtime.start("testProcess", business_key="J-1")
    [t] = e.tasks.list(instance_id=iid)
    assert t["assignee"] is None and t["candidate_groups"] == [] and t["candidate_users"] == []
    for who in ("boss", "disp", "hz"):           # hz: a region-less task is anyone's
        page = queue(e, who)
        assert [x["id"] for x in page["tasks"]] == [t["id"]] and page["total"] == 1, who
        assert page["tasks"][0]["business_key"] == "J-1"
        assert e.tasks.unassigned_count(who) == 1
    with pytest.raises(Forbidden, match="仅管理员和分派员"):
        queue(e, "li")
    assert e.tasks.unassigned_count("li") == 0 and e.tasks.inbox("li")["total"] == 0

    with pytest.raises(Forbidden, match="administrators and members of the dispatcher group"):
        e.tasks.assign(t["id"], "li", "li")
    e.tasks.assign(t["id"], "disp", "li", note="请今天处理")
    assert queue(e, "boss")["total"] == 0 and e.tasks.unassigned_count("disp") == 0
    assert [x["id"] for x in e.tasks.inbox("li")["tasks"]] == [t["id"]]
    with pytest.raises(Conflict, match="已分派（li）"):
        e.tasks.assign(t["id"], "boss", "hz_clerk")
    [ev] = [x for x in e.history.events(iid) if x["type"] == "task_assigned"]
    assert ev["user"] == "disp" and ev["data"] == {"to": "li", "note": "请今天处理", "by": "disp"}
    with e.db.read() as s:
        [n] = s.scalars(select(Notification).where(Notification.recipient == "li")).all()
        assert n.title == "分派任务：Handle \nRequest" and "请今天处理" in n.body
    e.tasks.complete(t["id"], "li", {})
    assert e.runtime.get(iid)["status"] == "completed"


def test_offered_to_a_group_its_members_claim_it_from_their_inbox(people):
    e = people
    e.repository.deploy([str(JUNIT)])
    iid = e.runtime.start("testProcess", business_key="J-2")
    [t] = e.tasks.list(instance_id=iid)
    e.tasks.offer(t["id"], "boss", groups=["clerks"], users="hz_clerk")
    got = e.tasks.get(t["id"])
    assert got["candidate_groups"] == ["clerks"] and got["candidate_users"] == ["hz_clerk"]
    inbox = e.tasks.inbox("li")                 # the inbox reads the candidate rows' copy (triggers)
    assert [x["id"] for x in inbox["tasks"]] == [t["id"]] and inbox["tasks"][0]["business_key"] == "J-2"
    assert [x["id"] for x in e.tasks.list(user="hz_clerk")] == [t["id"]]   # in clerks and named: once
    assert queue(e, "disp")["total"] == 0
    with pytest.raises(Conflict, match="group:clerks"):
        e.tasks.offer(t["id"], "disp", groups=["clerks"])
    [ev] = [x for x in e.history.events(iid) if x["type"] == "task_offered"]
    assert ev["user"] == "boss" and ev["data"] == {"groups": ["clerks"], "users": ["hz_clerk"], "note": None,
                                                   "by": "boss"}
    e.tasks.claim(t["id"], "li")
    e.tasks.complete(t["id"], "li", {})
    assert e.runtime.get(iid)["status"] == "completed"


def test_candidates_whose_expressions_give_nobody_are_unassigned_too(people):
    e = people
    text = bpmn("by_dept", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="部门办理" camunda:candidateGroups="${{dept}}" camunda:assignee="${{owner}}" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="按部门办理")
    assert e.repository.deploy([("by_dept.bpmn", text)]).warnings == []
    named = e.runtime.start("by_dept", {"dept": "clerks", "owner": None}, business_key="D-1")
    nobody = e.runtime.start("by_dept", {"dept": "", "owner": None}, business_key="D-2")
    assert [x["business_key"] for x in queue(e, "disp")["tasks"]] == ["D-2"]
    assert [x["instance_id"] for x in e.tasks.list(user="li")] == [named]
    [t] = e.tasks.list(instance_id=nobody)
    e.tasks.offer(t["id"], "disp", groups="clerks")
    assert {x["instance_id"] for x in e.tasks.list(user="li")} == {named, nobody}


def test_regions_narrow_the_queue_and_who_may_take_the_work(people):
    e = people
    e.repository.deploy([str(JUNIT)], region="湖州市")
    e.repository.deploy([("tenant.bpmn", (REAL / "camex__tenant-subProcess.bpmn").read_bytes())], region="丽水市")
    hz_iid = e.runtime.start("testProcess", business_key="HZ-1")
    ls_iid = e.runtime.start("subProcess", business_key="LS-1")
    [hz_task], [ls_task] = e.tasks.list(instance_id=hz_iid), e.tasks.list(instance_id=ls_iid)
    assert {x["business_key"] for x in queue(e, "boss")["tasks"]} == {"HZ-1", "LS-1"}
    assert {x["business_key"] for x in queue(e, "disp")["tasks"]} == {"HZ-1", "LS-1"}
    assert [x["business_key"] for x in queue(e, "hz")["tasks"]] == ["HZ-1"]
    assert [x["business_key"] for x in queue(e, "boss", region="丽水市")["tasks"]] == ["LS-1"]
    assert [x["business_key"] for x in queue(e, "boss", definition_key="testProcess")["tasks"]] == ["HZ-1"]
    with pytest.raises(Forbidden, match="只分派 湖州市 的任务"):
        e.tasks.assign(ls_task["id"], "hz", "li")
    with pytest.raises(ValidationFailed, match="hz_clerk 只办理 湖州市 的事项"):
        e.tasks.assign(ls_task["id"], "boss", "hz_clerk")
    with pytest.raises(ValidationFailed, match="hz_clerk 只办理 湖州市 的事项"):
        e.tasks.offer(ls_task["id"], "boss", users=["hz_clerk"])
    e.tasks.assign(hz_task["id"], "hz", "hz_clerk")
    assert [x["id"] for x in e.tasks.inbox("hz_clerk")["tasks"]] == [hz_task["id"]]


def test_what_cannot_be_given_work_is_refused_and_nothing_changes(people):
    e = people
    e.accounts.add_user("gone", PW, groups=["ghosts"])
    e.accounts.set_active("gone", False)
    e.repository.deploy([str(JUNIT)])
    iid = e.runtime.start("testProcess")
    [t] = e.tasks.list(instance_id=iid)
    for call, match in ((lambda: e.tasks.assign(t["id"], "boss", "nobody_known"), "没有在职用户 nobody_known"),
                        (lambda: e.tasks.assign(t["id"], "boss", "gone"), "没有在职用户 gone"),
                        (lambda: e.tasks.assign(t["id"], "boss", " "), "请填写一位指派对象"),
                        (lambda: e.tasks.offer(t["id"], "boss", groups=["ghosts"]), "候选组 ghosts 没有在岗成员"),
                        (lambda: e.tasks.offer(t["id"], "boss", groups=["nobody_group"]), "没有在岗成员"),
                        (lambda: e.tasks.offer(t["id"], "boss"), "请至少填写一个候选组或候选人"),
                        (lambda: e.tasks.offer(t["id"], "boss", groups=["a,b"]), "无效"),
                        (lambda: e.tasks.assign(t["id"], "boss", "li", note="长" * 501), "不能超过 500 个字")):
        with pytest.raises(ValidationFailed, match=match):
            call()
    assert queue(e, "boss")["total"] == 1
    assert not [x for x in e.history.events(iid) if x["type"] in ("task_assigned", "task_offered")]


def test_a_disabled_dispatcher_is_no_dispatcher_and_the_group_is_configurable(make_engine):
    assert Settings.from_env({}).dispatcher_group == "dispatcher"
    assert Settings.from_env({"QIHU_DISPATCHER_GROUP": " 派单组 "}).dispatcher_group == "派单组"
    e = make_engine(dispatcher_group="派单组")
    e.accounts.add_user("disp", PW, groups=["dispatcher"])
    e.accounts.add_user("pai", PW, groups=["派单组"])
    e.tasks.add_member("ops", "派单组")                  # a host app's person without a qihu account
    e.repository.deploy([str(JUNIT)])
    e.runtime.start("testProcess")
    assert e.tasks.unassigned_count("disp") == 0 and e.tasks.unassigned_count("pai") == 1
    assert e.tasks.unassigned_count("ops") == 1
    e.accounts.set_active("pai", False)
    assert e.tasks.unassigned_count("pai") == 0


# -- the stall check ---------------------------------------------------------------------------------
def test_no_stall_while_an_active_dispatcher_of_its_region_would_see_it(engine):
    e = engine
    e.repository.deploy([str(JUNIT)], region="湖州市")
    iid = e.runtime.start("testProcess", business_key="S-1")
    StallCheck(e).run()
    [inc] = stalls(e, iid)                                # nobody at all may dispatch it
    assert "没有在岗成员" in inc["message"]
    e.accounts.add_user("ls", PW, groups=["dispatcher"], region="丽水市")
    StallCheck(e).run()
    assert len(stalls(e, iid)) == 1                       # another region's dispatcher does not count
    e.accounts.add_user("hz", PW, groups=["dispatcher"], region="湖州市")
    StallCheck(e).run()
    assert stalls(e, iid) == []                           # resolved: it is in hz's queue
    e.accounts.set_active("hz", False)
    StallCheck(e).run()
    assert len(stalls(e, iid)) == 1
    e.accounts.add_user("boss", PW, is_admin=True)        # an administrator sees every region
    StallCheck(e).run()
    assert stalls(e, iid) == []


def test_an_admin_group_member_counts_and_an_offered_task_is_judged_by_its_candidates(engine):
    e = engine
    e.tasks.add_member("ops", "admin")
    e.repository.deploy([str(JUNIT)])
    iid = e.runtime.start("testProcess")
    assert StallCheck(e).run() == []
    [t] = e.tasks.list(instance_id=iid)
    e.tasks.add_member("li", "clerks")
    e.tasks.offer(t["id"], "ops", groups=["clerks"])
    assert StallCheck(e).run() == []
    with e.db.write() as s:                               # offered: its group decides now, not the queue
        s.execute(delete(Membership).where(Membership.user == "li"))
    StallCheck(e).run()
    [inc] = stalls(e, iid)
    assert "clerks" in inc["message"]
