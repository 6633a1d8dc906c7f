"""Reassign (转办), return (退单), comments and attachments in the engine (engine/tasks/handoff.py,
engine/tasks/comments.py), on SQLite and PostgreSQL.

A return resets SpiffWorkflow to the last completed run of the returnTo step; these tests
check what that leaves behind in the rows (tasks, jobs, subscriptions, incidents), in
parallel branches, after boundary timers, twice over, and across an engine restart.
"""
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from qihu.engine.errors import Conflict, DeployError, Forbidden, InvalidState, NotFound, ValidationFailed
from qihu.engine.topics import HandlerRegistry
from qihu.engine.storage.models import Incident, Job, Notification, Subscription, Task, TaskComment
from qihu.engine.runtime.worker import Worker
from tests.bpmn_util import bpmn, chain, flow

BASIC = Path(__file__).resolve().parents[2] / "bpmn" / "appeal_basic.bpmn"
RETURN_TO = ('<bpmn:extensionElements><camunda:properties><camunda:property name="returnTo" value="{0}"/>'
             '</camunda:properties></bpmn:extensionElements>')
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def returns_to(target):
    return RETURN_TO.format(target)


def basic_with_return():
    """bpmn/appeal_basic.bpmn with 部门办理 returnable to 受理登记 (added here if the bundled
    diagram does not declare it yet)."""
    src = BASIC.read_text(encoding="utf-8")
    handle = re.search(r'<bpmn:userTask id="Task_handle".*?</bpmn:userTask>', src, re.S).group(0)
    if 'name="returnTo"' not in handle:
        src = re.sub(r'(<bpmn:userTask id="Task_handle"[^>]*>\s*<bpmn:extensionElements>)',
                     r'\1<camunda:properties><camunda:property name="returnTo" value="Task_accept"/>'
                     r'</camunda:properties>', src, count=1)
    return src.encode("utf-8")


PARALLEL = bpmn("par_return", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="dispatch" name="派单" camunda:candidateGroups="center" />
<bpmn:parallelGateway id="split" />
<bpmn:userTask id="a" name="主办" camunda:candidateGroups="dept_a" camunda:dueDate="${{workdays(3)}}">
  {returns_to("dispatch")}
</bpmn:userTask>
<bpmn:userTask id="b" name="协办" camunda:candidateGroups="dept_b" camunda:dueDate="${{workdays(2)}}" />
<bpmn:boundaryEvent id="b_late" attachedToRef="b" cancelActivity="false">
  <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:endEvent id="e_late" />
<bpmn:intermediateCatchEvent id="wait_doc" name="补充材料">
  <bpmn:messageEventDefinition messageRef="Msg_doc" />
</bpmn:intermediateCatchEvent>
<bpmn:serviceTask id="check" name="自动核验" camunda:type="external" camunda:topic="test.flaky" />
<bpmn:parallelGateway id="join" />
<bpmn:endEvent id="e" />
{chain("s", "dispatch", "split")}
{flow("f1", "split", "a")}{flow("f2", "a", "join")}
{flow("f3", "split", "b")}{flow("f4", "b", "join")}
{flow("f5", "split", "wait_doc")}{flow("f6", "wait_doc", "join")}
{flow("f7", "split", "check")}{flow("f8", "check", "join")}
{flow("f9", "b_late", "e_late")}{flow("f10", "join", "e")}
""", name="并行退单", extra='  <bpmn:message id="Msg_doc" name="evidence" />\n')

TIMER = bpmn("timer_return", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="dispatch" name="派单" camunda:candidateGroups="center" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="dept_a">{returns_to("dispatch")}</bpmn:userTask>
<bpmn:boundaryEvent id="late" attachedToRef="handle" cancelActivity="true">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:userTask id="escalate" name="提级办理" camunda:candidateGroups="lead">{returns_to("dispatch")}</bpmn:userTask>
<bpmn:endEvent id="e" />
<bpmn:endEvent id="e2" />
{chain("s", "dispatch", "handle", "e")}
{chain("late", "escalate", "e2")}
""", name="超时退单")

SUBPROCESS = bpmn("sub_return", f"""
<bpmn:startEvent id="s" />
<bpmn:subProcess id="sub" name="办理阶段">
  <bpmn:startEvent id="ss" />
  <bpmn:userTask id="dispatch" name="派单" camunda:candidateGroups="center" />
  <bpmn:userTask id="handle" name="办理" camunda:candidateGroups="dept_a">{returns_to("dispatch")}</bpmn:userTask>
  <bpmn:endEvent id="se" />
  {chain("ss", "dispatch", "handle", "se")}
</bpmn:subProcess>
<bpmn:userTask id="after" name="归档" camunda:candidateGroups="center" />
<bpmn:endEvent id="e" />
{chain("s", "sub", "after", "e")}
""", name="子流程退单")

NO_RETURN = bpmn("no_return", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="only" name="办理" camunda:candidateGroups="dept_a" />
<bpmn:endEvent id="e" />
{chain("s", "only", "e")}
""")


def flaky(**data):
    if not data.get("flaky_ok"):
        raise RuntimeError("核验服务不可用")
    return {"checked": True}


@pytest.fixture
def eng(make_engine):
    registry = HandlerRegistry().discover()
    registry.register("test.flaky", flaky)
    e = make_engine(handlers=registry)
    people = {"li": ["acceptor", "center"], "liu": ["acceptor", "center"], "wang": ["dept_policy", "dept_a"],
              "zhang": ["dept_policy", "dept_a"], "zhao": ["supervisor", "dept_b"], "gao": ["lead"],
              "old": ["dept_policy"]}
    for name, groups in people.items():
        e.accounts.add_user(name, "pw-test", display_name=name.upper(), groups=groups)
    e.accounts.add_user("boss", "pw-test", display_name="管理员", is_admin=True)
    e.accounts.set_active("old", False)
    e.tasks.add_member("noaccount", "dept_policy")        # a host app's member without a qihu account
    return e


def open_tasks(e, iid):
    return {t["element_id"]: t for t in e.tasks.list(instance_id=iid)}


def rows(e, model, **where):
    with e.db.read() as s:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return s.scalars(q).all()


def start_basic(e, key="A-1"):
    e.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    iid = e.runtime.start("appeal_basic", {"企业名称": "湖州某公司"}, business_key=key)
    e.tasks.complete(open_tasks(e, iid)["Task_accept"]["id"], "li", {"category": "policy", "summary": "用地"})
    return iid, open_tasks(e, iid)["Task_handle"]


# -- return (退单) -------------------------------------------------------------------------------
def test_return_sends_the_appeal_back_to_the_dispatcher_with_the_reason(eng):
    iid, handle = start_basic(eng)
    new_id = eng.handoff.return_task(handle["id"], "wang", "  不属于本部门职责  ")
    tasks = open_tasks(eng, iid)
    assert set(tasks) == {"Task_accept"} and tasks["Task_accept"]["id"] == new_id
    assert tasks["Task_accept"]["candidate_groups"] == ["acceptor"] and tasks["Task_accept"]["assignee"] is None
    returned = eng.tasks.get(handle["id"])
    assert returned["status"] == "returned" and returned["completed_by"] == "wang"
    # the first run of 受理登记 keeps its own completed row; the new run has a new id
    accepts = [t for t in eng.tasks.list(instance_id=iid, status=None) if t["element_id"] == "Task_accept"]
    assert sorted(t["status"] for t in accepts) == ["completed", "ready"]
    data = eng.runtime.data(iid)
    assert data["return_reason"] == "不属于本部门职责" and data["returned_from"] == "部门办理"
    assert data["returned_from_element"] == "Task_handle" and data["return_count"] == 1
    assert data["summary"] == "用地"                       # the dispatcher's own data is kept
    [ev] = eng.history.events(iid, ["task_returned"])
    assert ev["element_id"] == "Task_handle" and ev["task_id"] == handle["id"] and ev["user"] == "wang"
    assert ev["data"]["reason"] == "不属于本部门职责" and ev["data"]["from"] == "Task_handle"
    assert ev["data"]["to"] == "Task_accept" and ev["data"]["by"] == "wang" and ev["data"]["to_task"] == new_id
    assert ev["data"]["groups"] == ["dept_policy"]
    assert eng.handoff.return_count(iid) == 1 and eng.handoff.return_count(iid, "Task_handle") == 1
    assert eng.handoff.return_count(iid, "Task_accept") == 0
    assert eng.handoff.return_of(new_id)["data"]["reason"] == "不属于本部门职责"
    assert eng.handoff.return_of(handle["id"]) is None
    [note] = rows(eng, Notification, instance_id=iid)
    assert (note.recipient_kind, note.recipient, note.task_id) == ("group", "acceptor", new_id)
    assert "部门办理" in note.title and "不属于本部门职责" in note.body
    # the dispatcher's group sees it again in the inbox
    assert [t["id"] for t in eng.tasks.inbox("liu")["tasks"]] == [new_id]
    assert eng.tasks.inbox("wang")["tasks"] == []


def test_return_twice_then_redispatch_and_complete(eng):
    iid, handle = start_basic(eng)
    first = eng.handoff.return_task(handle["id"], "wang", "材料不全")
    eng.tasks.complete(first, "li", {"category": "policy", "summary": "用地（补充材料）"})
    second = eng.handoff.return_task(open_tasks(eng, iid)["Task_handle"]["id"], "zhang", "仍不属于本部门")
    assert eng.runtime.data(iid)["return_count"] == 2 and eng.handoff.return_count(iid) == 2
    assert eng.handoff.return_of(second)["data"]["reason"] == "仍不属于本部门"
    eng.tasks.complete(second, "liu", {"category": "resource", "summary": "用地指标"})
    handle = open_tasks(eng, iid)["Task_handle"]
    assert handle["candidate_groups"] == ["dept_resource"]      # routed again from the new category
    eng.tasks.complete(handle["id"], None, {"result": "solved", "reply": "已落实"}, check=False)
    # on to the enterprise's rating (the rest of the flow is the mechanism tests' business)
    assert not {"Task_accept", "Task_handle"} & set(open_tasks(eng, iid))
    done = sorted((t["element_id"], t["status"]) for t in eng.tasks.list(instance_id=iid, status=None)
                  if t["status"] != "ready")
    assert done == [("Task_accept", "completed")] * 3 + [("Task_handle", "completed")] + \
        [("Task_handle", "returned")] * 2
    assert rows(eng, Job, instance_id=iid, kind="timer") == []      # 部门办理's overdue timer is gone


def test_return_after_review_loops_still_finds_the_dispatcher(eng):
    """The tree is pruned as the appeal loops (部门办理 -> 督查复核 -> 退回重办); the last
    受理登记 run must survive pruning while 部门办理 may be returned to it."""
    iid, handle = start_basic(eng)
    for _ in range(4):
        eng.tasks.complete(open_tasks(eng, iid)["Task_handle"]["id"], "wang", {"result": "cannot", "reply": "不能办"})
        eng.tasks.complete(open_tasks(eng, iid)["Task_review"]["id"], "zhao", {"approved": False})
    eng.runtime._cache.clear()
    new_id = eng.handoff.return_task(open_tasks(eng, iid)["Task_handle"]["id"], "wang", "应由其他部门办理")
    assert set(open_tasks(eng, iid)) == {"Task_accept"} and open_tasks(eng, iid)["Task_accept"]["id"] == new_id


def test_return_after_non_interrupting_timer_drops_its_jobs(eng, clock):
    iid, handle = start_basic(eng)
    [timer] = rows(eng, Job, instance_id=iid, kind="timer")
    clock.advance(days=6)
    assert Worker(eng).run_once() == 4                       # 超期5天: the reminder ran, 部门办理 still open (and red)
    assert eng.history.events(iid, ["timer_fired"])
    assert open_tasks(eng, iid)["Task_handle"]["id"] == handle["id"]
    eng.handoff.return_task(handle["id"], "wang", "超期未能办理，退回重新分派")
    assert set(open_tasks(eng, iid)) == {"Task_accept"}
    assert {j.kind for j in rows(eng, Job, instance_id=iid)} == {"sla"}     # only the new 受理登记's colours
    eng.tasks.complete(open_tasks(eng, iid)["Task_accept"]["id"], "li", {"category": "other", "summary": "x"})
    [timer2] = rows(eng, Job, instance_id=iid, kind="timer")  # the new 部门办理 waits 5 days again
    assert timer2.task_id != timer.task_id and timer2.due_at == clock.now() + timedelta(days=5)


def test_return_from_a_parallel_branch_cancels_the_others(eng, clock):
    eng.repository.deploy([("par.bpmn", PARALLEL)])
    iid = eng.runtime.start("par_return", business_key="P-1")
    eng.tasks.complete(open_tasks(eng, iid)["dispatch"]["id"], "li", {"note": "第一次派单"})
    tasks = open_tasks(eng, iid)
    assert set(tasks) == {"a", "b"}
    a, b = tasks["a"], tasks["b"]
    assert {j.kind for j in rows(eng, Job, instance_id=iid)} == {"sla", "timer", "retry"}
    assert rows(eng, Subscription, instance_id=iid) and rows(eng, Incident, instance_id=iid, status="open")
    eng.tasks.claim(b["id"], "zhao")

    new_id = eng.handoff.return_task(a["id"], "wang", "派单有误")
    assert set(open_tasks(eng, iid)) == {"dispatch"}
    assert eng.tasks.get(a["id"])["status"] == "returned" and eng.tasks.get(b["id"])["status"] == "cancelled"
    assert rows(eng, Job, instance_id=iid) == []               # SLA jobs of a and b, b's timer, the retry
    assert rows(eng, Subscription, instance_id=iid) == []
    [inc] = rows(eng, Incident, instance_id=iid)
    assert inc.status == "cancelled" and inc.resolved_by == "wang"
    types = [ev["type"] for ev in eng.history.events(iid)]
    assert "task_cancelled" in types and "incident_cancelled" in types
    assert eng.runtime.data(iid)["note"] == "第一次派单"

    # dispatched again: everything comes back once, and the flow completes
    eng.tasks.complete(new_id, "liu", {"flaky_ok": True})
    tasks = open_tasks(eng, iid)
    assert set(tasks) == {"a", "b"} and tasks["a"]["id"] != a["id"]
    assert len(rows(eng, Subscription, instance_id=iid)) == 1 and rows(eng, Incident, status="open") == []
    assert [ev["data"]["result"] for ev in eng.history.events(iid, ["handler_called"])] == [{"checked": True}]
    eng.tasks.complete(tasks["a"]["id"], "wang", {})
    eng.tasks.complete(tasks["b"]["id"], "zhao", {})
    eng.runtime.correlate("evidence", business_key="P-1", payload={"doc": "营业执照"})
    assert eng.runtime.get(iid)["status"] == "completed"
    assert rows(eng, Job, instance_id=iid) == []


def test_return_after_an_interrupting_timer_escalated(eng, clock):
    eng.repository.deploy([("t.bpmn", TIMER)])
    iid = eng.runtime.start("timer_return", business_key="T-1")
    eng.tasks.complete(open_tasks(eng, iid)["dispatch"]["id"], "li", {})
    handle = open_tasks(eng, iid)["handle"]
    clock.advance(hours=3)
    Worker(eng).run_once()
    assert eng.tasks.get(handle["id"])["status"] == "cancelled"
    escalate = open_tasks(eng, iid)["escalate"]
    new_id = eng.handoff.return_task(escalate["id"], "gao", "应先由部门办理")
    assert set(open_tasks(eng, iid)) == {"dispatch"} and rows(eng, Job, instance_id=iid) == []
    eng.tasks.complete(new_id, "li", {})
    assert set(open_tasks(eng, iid)) == {"handle"} and len(rows(eng, Job, instance_id=iid, kind="timer")) == 1
    eng.tasks.complete(open_tasks(eng, iid)["handle"]["id"], "wang", {})
    assert eng.runtime.get(iid)["status"] == "completed"


def test_return_inside_an_embedded_subprocess(eng):
    eng.repository.deploy([("sub.bpmn", SUBPROCESS)])
    iid = eng.runtime.start("sub_return")
    eng.tasks.complete(open_tasks(eng, iid)["dispatch"]["id"], "li", {})
    new_id = eng.handoff.return_task(open_tasks(eng, iid)["handle"]["id"], "wang", "退回")
    assert set(open_tasks(eng, iid)) == {"dispatch"}
    eng.tasks.complete(new_id, "li", {})
    eng.tasks.complete(open_tasks(eng, iid)["handle"]["id"], "wang", {})
    eng.tasks.complete(open_tasks(eng, iid)["after"]["id"], "li", {})
    assert eng.runtime.get(iid)["status"] == "completed"


def test_state_after_a_return_survives_an_engine_restart(eng, make_engine):
    iid, handle = start_basic(eng)
    new_id = eng.handoff.return_task(handle["id"], "wang", "退回重派")
    again = make_engine()                                      # another process: nothing cached
    assert again.runtime.data(iid)["return_reason"] == "退回重派"
    again.tasks.complete(new_id, "li", {"category": "policy", "summary": "重新受理"})
    second = open_tasks(again, iid)["Task_handle"]
    eng.runtime._cache.clear()
    eng.handoff.return_task(second["id"], "zhang", "再次退回")    # the first engine reloads from the DB
    third = make_engine()
    assert third.runtime.data(iid)["return_count"] == 2
    assert set(open_tasks(third, iid)) == {"Task_accept"}


def test_return_refusals_change_nothing(eng):
    iid, handle = start_basic(eng)
    before = eng.history.events(iid)
    for reason, field_error in [("", "请填写退单理由"), ("   ", "请填写退单理由"), ("长" * 501, "不能超过 500 个字")]:
        with pytest.raises(ValidationFailed) as e:
            eng.handoff.return_task(handle["id"], "wang", reason)
        assert field_error in e.value.errors["reason"]
    with pytest.raises(Forbidden, match="not a candidate"):
        eng.handoff.return_task(handle["id"], "zhao", "不是我组的")
    eng.tasks.claim(handle["id"], "zhang")
    with pytest.raises(Forbidden, match="assigned to zhang"):
        eng.handoff.return_task(handle["id"], "wang", "同组但已被认领")
    with pytest.raises(NotFound):
        eng.handoff.return_task("no-such-task", "wang", "x")
    assert eng.history.events(iid) != before                   # only the claim was recorded
    assert [e["type"] for e in eng.history.events(iid)][len(before):] == ["task_claimed"]
    assert eng.tasks.get(handle["id"])["status"] == "ready" and eng.handoff.return_count(iid) == 0

    eng.runtime.suspend(iid)
    with pytest.raises(InvalidState, match="suspended"):
        eng.handoff.return_task(handle["id"], "zhang", "挂起时不能退单")
    eng.runtime.resume(iid)
    eng.handoff.return_task(handle["id"], "zhang", "长" * 500)
    with pytest.raises(InvalidState, match="already returned by zhang"):
        eng.handoff.return_task(handle["id"], "zhang", "再退一次")


def test_a_step_without_return_to_cannot_be_returned(eng):
    eng.repository.deploy([("n.bpmn", NO_RETURN)])
    iid = eng.runtime.start("no_return")
    only = open_tasks(eng, iid)["only"]
    assert eng.handoff.return_target(only["id"]) is None
    with pytest.raises(InvalidState, match="cannot be returned"):
        eng.handoff.return_task(only["id"], "wang", "想退单")
    assert eng.tasks.get(only["id"])["status"] == "ready"
    # the dispatcher itself (受理登记) declares no returnTo either
    eng.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    iid2 = eng.runtime.start("appeal_basic")
    with pytest.raises(InvalidState, match="此步骤不能退单"):
        eng.handoff.return_task(open_tasks(eng, iid2)["Task_accept"]["id"], "li", "x")


def test_return_target_names_the_dispatcher(eng):
    iid, handle = start_basic(eng)
    assert eng.handoff.return_target(handle["id"]) == {"element_id": "Task_accept", "name": "受理登记"}
    with pytest.raises(NotFound):
        eng.handoff.return_target("nope")


# -- deploy-time checks of returnTo ----------------------------------------------------------------
def deploy_problems(e, name, content):
    with pytest.raises(DeployError) as err:
        e.repository.deploy([(name, content)])
    return err.value.problems


def test_bad_return_to_is_refused_at_deploy_time_with_file_element_and_line(eng):
    doc = bpmn("bad_returns", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="dispatch" name="派单" camunda:candidateGroups="center" />
<bpmn:serviceTask id="svc" camunda:type="external" camunda:topic="appeal.notify" />
<bpmn:userTask id="unknown" camunda:candidateGroups="a">{returns_to("Task_nowhere")}</bpmn:userTask>
<bpmn:userTask id="self" camunda:candidateGroups="a">{returns_to("self")}</bpmn:userTask>
<bpmn:userTask id="to_service" camunda:candidateGroups="a">{returns_to("svc")}</bpmn:userTask>
<bpmn:userTask id="backwards" camunda:candidateGroups="a">{returns_to("later")}</bpmn:userTask>
<bpmn:userTask id="later" camunda:candidateGroups="a" />
<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" />
  <bpmn:userTask id="inner" camunda:candidateGroups="a">{returns_to("dispatch")}</bpmn:userTask>
  <bpmn:endEvent id="se" />{chain("ss", "inner", "se")}</bpmn:subProcess>
<bpmn:endEvent id="e" />
{chain("s", "dispatch", "svc", "unknown", "self", "to_service", "backwards", "later", "sub", "e")}
""")
    problems = {p.element: p for p in deploy_problems(eng, "bad_returns.bpmn", doc)}
    assert set(problems) == {"unknown", "self", "to_service", "backwards", "inner"}
    assert "'Task_nowhere' is not a user task of this (sub)process" in problems["unknown"].message
    assert "user tasks here: " in problems["unknown"].message and "dispatch" in problems["unknown"].message
    assert "returned to itself" in problems["self"].message
    assert "'svc' is not a user task" in problems["to_service"].message
    assert "does not come before backwards" in problems["backwards"].message
    assert "is in another (sub)process" in problems["inner"].message
    lines = doc.decode().splitlines()
    for element, p in problems.items():
        assert p.file == "bad_returns.bpmn"
        assert f'id="{element}"' in lines[p.line - 1], (element, p.line)
    assert eng.repository.definitions(key="bad_returns") == []


def test_return_to_on_a_service_task_is_refused(eng):
    doc = bpmn("svc_return", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="dispatch" camunda:candidateGroups="center" />
<bpmn:serviceTask id="svc" camunda:type="external" camunda:topic="appeal.notify">{returns_to("dispatch")}</bpmn:serviceTask>
<bpmn:endEvent id="e" />
{chain("s", "dispatch", "svc", "e")}
""")
    [p] = deploy_problems(eng, "svc_return.bpmn", doc)
    assert (p.file, p.element, p.line) == ("svc_return.bpmn", "svc", 7)
    assert p.message.endswith("（camunda:property returnTo is only allowed on user tasks）")
    assert 'id="svc"' in doc.decode().splitlines()[p.line - 1]


def test_good_return_to_deploys(eng):
    for name, doc in [("par.bpmn", PARALLEL), ("t.bpmn", TIMER), ("sub.bpmn", SUBPROCESS)]:
        eng.repository.deploy([(name, doc)])
    eng.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    assert {d["key"] for d in eng.repository.definitions()} >= {"par_return", "timer_return", "sub_return",
                                                                 "appeal_basic"}


# -- reassign (转办) ------------------------------------------------------------------------------
def test_assignee_reassigns_to_a_colleague(eng):
    iid, handle = start_basic(eng)
    eng.tasks.claim(handle["id"], "wang")
    eng.handoff.reassign(handle["id"], "wang", "zhang", note="  请张科长办理  ")
    t = eng.tasks.get(handle["id"])
    assert t["assignee"] == "zhang" and t["status"] == "ready"
    [ev] = eng.history.events(iid, ["task_reassigned"])
    assert ev["user"] == "wang" and ev["task_id"] == handle["id"]
    assert ev["data"] == {"from": "wang", "to": "zhang", "note": "请张科长办理", "by": "wang"}
    [note] = rows(eng, Notification, recipient="zhang")
    assert note.recipient_kind == "user" and note.task_id == handle["id"] and "请张科长办理" in note.body
    assert [x["id"] for x in eng.tasks.inbox("zhang")["tasks"]] == [handle["id"]]
    assert eng.tasks.inbox("wang")["tasks"] == []
    assert eng.handoff.reassigned_to(handle["id"], "zhang")["data"]["note"] == "请张科长办理"
    assert eng.handoff.reassigned_to(handle["id"], "wang") is None
    # now zhang may complete it, wang may not
    with pytest.raises(Forbidden):
        eng.tasks.complete(handle["id"], "wang", {"result": "solved", "reply": "x"})


def test_candidate_hands_an_unclaimed_task_and_admin_moves_a_claimed_one(eng):
    iid, handle = start_basic(eng)
    eng.handoff.reassign(handle["id"], "wang", "noaccount")       # a known member without an account
    assert eng.tasks.get(handle["id"])["assignee"] == "noaccount"
    with pytest.raises(Forbidden, match="assigned to noaccount"):
        eng.handoff.reassign(handle["id"], "zhang", "wang")       # a colleague may not take it over
    eng.handoff.reassign(handle["id"], "boss", "zhang")            # an administrator may
    assert eng.tasks.get(handle["id"])["assignee"] == "zhang"
    [a, b] = eng.history.events(iid, ["task_reassigned"])
    assert (a["data"]["from"], a["data"]["to"]) == (None, "noaccount")
    assert (b["data"]["from"], b["data"]["to"], b["user"]) == ("noaccount", "zhang", "boss")


def test_reassign_refusals_change_nothing(eng):
    iid, handle = start_basic(eng)
    eng.tasks.claim(handle["id"], "wang")
    cases = [
        ("wang", "wang", ValidationFailed, "不能转办给自己"),
        ("wang", "", ValidationFailed, "请填写转办对象"),
        ("wang", "nobody", ValidationFailed, "没有在职用户 nobody"),
        ("wang", "old", ValidationFailed, "没有在职用户 old"),             # deactivated account
        ("wang", "zhao", ValidationFailed, "zhao 不是该任务的候选人"),      # not in dept_policy
        ("wang", "li", ValidationFailed, "li 不是该任务的候选人"),
        ("zhang", "zhang", Forbidden, "assigned to wang"),               # a colleague, not the assignee
        ("zhao", "zhang", Forbidden, "assigned to wang"),                # another group
        (None, "zhang", Forbidden, "anonymous"),
    ]
    for by, to, error, text in cases:
        with pytest.raises(error) as e:
            eng.handoff.reassign(handle["id"], by, to)
        assert text in (e.value.errors.get("to_user", "") if error is ValidationFailed else str(e.value)), (by, to)
    with pytest.raises(ValidationFailed) as e:
        eng.handoff.reassign(handle["id"], "wang", "zhang", note="长" * 501)
    assert "不能超过 500 个字" in e.value.errors["note"]
    with pytest.raises(NotFound):
        eng.handoff.reassign("no-such-task", "wang", "zhang")
    assert eng.tasks.get(handle["id"])["assignee"] == "wang"
    assert eng.history.events(iid, ["task_reassigned"]) == [] and rows(eng, Notification, instance_id=iid) == []
    eng.tasks.complete(handle["id"], "wang", {"result": "solved", "reply": "ok"})
    with pytest.raises(InvalidState, match="already completed"):
        eng.handoff.reassign(handle["id"], "wang", "zhang")
    assert eng.handoff.may_reassign(handle["id"], "wang") is False


def test_unclaimed_task_from_another_group_cannot_be_reassigned(eng):
    iid, handle = start_basic(eng)
    with pytest.raises(Forbidden, match="not one of its candidates"):
        eng.handoff.reassign(handle["id"], "li", "wang")
    assert eng.handoff.may_reassign(handle["id"], "li") is False
    assert eng.handoff.may_reassign(handle["id"], "wang") is True
    assert eng.handoff.may_reassign(handle["id"], "boss") is True


def test_reassign_loses_a_race_with_a_conflict(eng, monkeypatch):
    """Optimistic locking as claim: if the row changed between read and write, Conflict."""
    iid, handle = start_basic(eng)
    real = eng.tasks._open_row

    def racing(s, task_id):
        row = real(s, task_id)
        # what a concurrent claim committing between our read and our write looks like
        s.execute(update(Task).where(Task.id == task_id).values(version=Task.version + 1)
                  .execution_options(synchronize_session=False))
        return row
    monkeypatch.setattr(eng.tasks, "_open_row", racing)
    with pytest.raises(Conflict, match="changed by someone else"):
        eng.handoff.reassign(handle["id"], "wang", "noaccount")
    assert eng.tasks.get(handle["id"])["assignee"] is None
    assert eng.history.events(iid, ["task_reassigned"]) == []


def test_candidates_lists_active_colleagues(eng):
    iid, handle = start_basic(eng)
    names = [c["name"] for c in eng.handoff.candidates(handle["id"])]
    assert names == ["noaccount", "wang", "zhang"]                 # old is deactivated
    assert {c["name"]: c["display_name"] for c in eng.handoff.candidates(handle["id"])}["wang"] == "WANG"
    eng.tasks.claim(handle["id"], "wang")
    assert [c["name"] for c in eng.handoff.candidates(handle["id"], exclude="wang")] == ["noaccount", "zhang"]
    with pytest.raises(NotFound):
        eng.handoff.candidates("nope")


# -- comments and attachments ----------------------------------------------------------------------
def test_comments_by_people_who_see_the_instance(eng):
    iid, handle = start_basic(eng)
    c = eng.comments.add(iid, "wang", "  已电话联系企业  ", task_id=handle["id"])
    assert c["body"] == "已电话联系企业" and c["display_name"] == "WANG" and c["public"] is False
    eng.comments.add(iid, "li", "受理时已核实", public=True)
    eng.comments.add(iid, "boss", "<script>alert(1)</script>")      # stored as text; pages escape it
    assert [x["user"] for x in eng.comments.list(iid)] == ["wang", "li", "boss"]
    assert [x["body"] for x in eng.comments.list(iid, public_only=True)] == ["受理时已核实"]
    assert eng.comments.list(iid, user="wang")[0]["task_id"] == handle["id"]
    [ev, *_] = eng.history.events(iid, ["comment_added"])
    assert ev["data"] == {"comment": c["id"], "public": False} and ev["element_id"] == "Task_handle"


def test_comment_refusals(eng):
    iid, handle = start_basic(eng)
    with pytest.raises(Forbidden, match="gao may not see instance"):
        eng.comments.add(iid, "gao", "我不该看到")
    with pytest.raises(Forbidden):
        eng.comments.list(iid, user="gao")
    with pytest.raises(Forbidden):
        eng.comments.add(iid, None, "anonymous")
    for body, text in [("", "请填写意见内容"), ("  \n ", "请填写意见内容"), ("字" * 2001, "不能超过 2000 个字"),
                       (None, "请填写意见内容")]:
        with pytest.raises(ValidationFailed) as e:
            eng.comments.add(iid, "wang", body)
        assert text in e.value.errors["body"]
    eng.comments.add(iid, "wang", "字" * 2000)
    with pytest.raises(NotFound):
        eng.comments.add("no-instance", "wang", "x")
    other = eng.runtime.start("appeal_basic", business_key="B-2")
    with pytest.raises(NotFound, match="no task"):
        eng.comments.add(other, "li", "task of another instance", task_id=handle["id"])
    assert len(rows(eng, TaskComment, instance_id=iid)) == 1 and rows(eng, TaskComment, instance_id=other) == []


def test_attachments_at_a_step(eng):
    iid, handle = start_basic(eng)
    a = eng.comments.attach(iid, "wang", "../../现场照片说明.pdf", PDF, task_id=handle["id"])
    assert a["name"] == "现场照片说明.pdf" and a["task_id"] == handle["id"] and a["created_by"] == "wang"
    [f] = eng.comments.files(iid, user="li")
    assert f["id"] == a["id"] and f["content_type"] == "application/pdf"
    [ev] = eng.history.events(iid, ["attachment_added"])
    assert ev["data"]["attachment"] == a["id"] and ev["task_id"] == handle["id"]
    with pytest.raises(Forbidden):
        eng.comments.attach(iid, "gao", "x.pdf", PDF)
    with pytest.raises(ValidationFailed) as e:
        eng.comments.attach(iid, "wang", "setup.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    assert "内容与扩展名 .pdf 不符" in e.value.errors["file"]
    with pytest.raises(ValidationFailed):
        eng.comments.attach(iid, "wang", "evil.exe", b"MZ\x90\x00")
    assert len(eng.comments.files(iid)) == 1 and len(eng.history.events(iid, ["attachment_added"])) == 1


# -- the bundled mechanisms that declare returnTo ----------------------------------------------------
def test_huzhou_board_returns_a_misrouted_appeal_to_the_centre(eng, clock):
    from tests.scenario import Scenario
    sc = Scenario(eng, clock, "bpmn/huzhou_joint_meeting.bpmn", "bpmn/huzhou_boards.dmn",
                  members={"zhou": "hz_centre", "kc": "hz_board_innovation", "jr": "hz_board_finance"})
    iid = sc.start("huzhou_joint_meeting", {"enterprise_user": "ent_a"}, business_key="HZ-R-1")
    sc.complete(iid, "Task_register", "zhou", {"company": "湖州某公司", "summary": "融资难", "category": "innovation",
                                               "channel": "hotline"})
    board = sc.task(iid, "Task_board_handle")
    assert board["candidate_groups"] == ["hz_board_innovation"] and rows(eng, Job, task_id=board["id"], kind="sla")
    new_id = eng.handoff.return_task(board["id"], "kc", "属于金融服务板块")
    assert sc.ready(iid) == ["Task_register"] and rows(eng, Job, task_id=board["id"]) == []
    eng.tasks.complete(new_id, "zhou", {"company": "湖州某公司", "summary": "融资难", "category": "finance",
                                        "channel": "hotline"})
    assert sc.task(iid, "Task_board_handle")["candidate_groups"] == ["hz_board_finance"]
    assert eng.handoff.return_count(iid) == 1


def test_qiantang_board_returns_a_plan_to_the_centres_assessment(eng, clock):
    from tests.scenario import Scenario
    sc = Scenario(eng, clock, "bpmn/qiantang_target_tracking.bpmn",
                  members={"wang": "qt_centre", "zhao": "qt_board_project", "sun": "qt_board_general"})
    iid = sc.start("qiantang_target_tracking", {"company": "玳能科技", "enterprise_user": "daineng",
                                                "summary": "需开设货运出入口", "channel": "企业码", "category": "项目建设"},
                   business_key="QT-R-1")
    assess = {"multi_handoff": True, "long_cycle": True, "wide_benefit": True, "assess_opinion": "多部门"}
    sc.complete(iid, "Task_assess", "wang", {**assess, "board": "qt_board_project"})
    plan = sc.task(iid, "Task_draft_plan")
    eng.handoff.return_task(plan["id"], "zhao", "属于综合服务板块")
    assert sc.ready(iid) == ["Task_assess"] and sc.data(iid)["returned_from"] == "统筹制定问题解决方案"
    sc.complete(iid, "Task_assess", "wang", {**assess, "board": "qt_board_general"})
    assert sc.task(iid, "Task_draft_plan")["candidate_groups"] == ["qt_board_general"]
