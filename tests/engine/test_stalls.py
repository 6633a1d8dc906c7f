"""Issue 13: stall detection. The worker checks, at least every minute, for appeals that can
no longer move, and raises an incident and a notification to the administrators for each."""
from sqlalchemy import select

from qihu.engine.runtime.stalls import StallCheck
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import Notification, Outbox
from tests.bpmn_util import bpmn, chain

# After 办理 the instance waits for a condition on its variables that nothing in the diagram
# will ever change: no task, timer, message or signal a person could see moves it.
DEAD_WAIT = bpmn("dead_wait", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="clerks" />
<bpmn:intermediateCatchEvent id="wait" name="等条件">
  <bpmn:conditionalEventDefinition><bpmn:condition xsi:type="bpmn:tFormalExpression">${{approved == True}}</bpmn:condition></bpmn:conditionalEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e" />
{chain("s", "work", "wait", "e")}""", name="走不通的流程")


ONE_STEP = bpmn("one_step", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="ghosts" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="一步")


def stall_incidents(e, iid):
    return [i for i in e.runtime.incidents(iid) if i["kind"] == "stall"]


def admin_notes(e):
    with e.db.read() as s:
        return [(n.title, n.body) for n in s.scalars(select(Notification).where(Notification.recipient == "admin"))]


def test_an_instance_with_nothing_to_wait_for_is_a_stall(engine):
    engine.tasks.add_member("li", "clerks")
    engine.repository.deploy([("dead_wait.bpmn", DEAD_WAIT)])
    iid = engine.runtime.start("dead_wait", business_key="QH-1")
    assert StallCheck(engine).run() == []                        # it has a task: fine
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"approved": False})
    assert engine.runtime.get(iid)["status"] == "running"         # waits for the condition
    [new] = StallCheck(engine).run()
    [inc] = stall_incidents(engine, iid)
    assert inc["id"] == new and "没有待办任务" in inc["message"] and inc["can_resolve"]
    [(title, body)] = admin_notes(engine)
    assert title == "案件停滞：QH-1" and "没有待办任务" in body
    assert StallCheck(engine).run() == []                          # raised once, not every minute
    assert len(stall_incidents(engine, iid)) == 1


def test_a_task_nobody_can_see_is_a_stall_until_someone_joins_the_group(engine):
    engine.repository.deploy([("one_step.bpmn", ONE_STEP)])
    iid = engine.runtime.start("one_step", business_key="QH-2")
    StallCheck(engine).run()
    [inc] = stall_incidents(engine, iid)
    assert inc["element_id"] == "work" and "ghosts" in inc["message"] and "没有在岗成员" in inc["message"]
    engine.tasks.add_member("wang", "ghosts")
    StallCheck(engine).run()
    assert stall_incidents(engine, iid) == []                      # the cause went: resolved by the check


def test_a_disabled_member_does_not_count(engine):
    engine.repository.deploy([("one_step.bpmn", ONE_STEP)])
    engine.accounts.add_user("wang", "Qihu-test-pass-1", groups=["ghosts"])
    iid = engine.runtime.start("one_step", business_key="QH-3")
    assert StallCheck(engine).run() == []
    engine.accounts.set_active("wang", False)
    StallCheck(engine).run()
    assert len(stall_incidents(engine, iid)) == 1


def test_a_delivery_retrying_for_more_than_an_hour_is_a_stall(make_engine, clock):
    from tests.engine.test_outbox import SENDER, receiver
    e = make_engine(delivery_retries=100)                          # no delivery incident yet
    e.tasks.add_member("li", "clerks")
    e.repository.deploy([("sender.bpmn", SENDER), ("receiver.bpmn", receiver("n = nope"))])
    iid = e.runtime.start("sender", business_key="QH-4")
    assert StallCheck(e).run() == []
    clock.advance(minutes=61)
    [new] = StallCheck(e).run()
    [inc] = stall_incidents(e, iid)
    with e.db.read() as s:
        [row] = s.scalars(select(Outbox)).all()
    assert inc["outbox_id"] == row.id and "超过 1 小时" in inc["message"] and "nope" in inc["message"]


def test_the_worker_checks_at_most_every_interval(make_engine):
    e = make_engine(stall_check_interval=3600)
    e.repository.deploy([("one_step.bpmn", ONE_STEP)])
    iid = e.runtime.start("one_step")
    w = Worker(e)
    assert len(w.check_stalls()) == 1
    e.runtime.start("one_step")
    assert w.check_stalls() == []                                  # not yet: an hour between checks
    assert len(stall_incidents(e, iid)) == 1


TWO_GROUPS = bpmn("two_groups", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="ghosts,dept_policy" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="两组")


def test_the_incident_keeps_ids_and_the_administrators_read_names(engine):
    """The stall's incident names groups and people by id (what the engine knows, and what whoever
    fixes it looks up); the notification the administrators read says their display names."""
    from qihu.engine.runtime.stalls import named, named_ids
    engine.accounts.set_group_name("ghosts", "督查科", "admin")
    engine.accounts.set_group_name("dept_policy", "政策法规处", "admin")
    engine.repository.deploy([("two_groups.bpmn", TWO_GROUPS)])
    iid = engine.runtime.start("two_groups", business_key="QH-5")
    StallCheck(engine).run()
    [inc] = stall_incidents(engine, iid)
    assert "「办理」的候选组（ghosts,dept_policy）没有在岗成员" in inc["message"]
    [(title, body)] = admin_notes(engine)
    assert body == "案件无法继续流转：「办理」的候选组（督查科、政策法规处）没有在岗成员，无人能看到这项待办"
    assert "ghosts" not in body and "dept_policy" not in body
    assert named_ids(inc["message"]) == (["ghosts", "dept_policy"], [])
    assert named(inc["message"], lambda g: {"ghosts": "督查科"}.get(g, g), str) == \
        "案件无法继续流转：「办理」的候选组（督查科、dept_policy）没有在岗成员，无人能看到这项待办"


def test_a_disabled_assignee_is_named_by_display_name(engine):
    engine.repository.deploy([("one_step.bpmn", ONE_STEP)])
    engine.accounts.add_user("wang", "Qihu-test-pass-1", display_name="王科员", groups=["ghosts"])
    engine.accounts.add_user("zhao", "Qihu-test-pass-1", display_name="赵科员", groups=["ghosts"])
    iid = engine.runtime.start("one_step", business_key="QH-6")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.claim(t["id"], "wang")
    engine.accounts.set_active("wang", False)
    StallCheck(engine).run()
    [inc] = stall_incidents(engine, iid)
    assert "「办理」的办理人 wang 的账号已停用" in inc["message"]
    [(_title, body)] = admin_notes(engine)
    assert body == "案件无法继续流转：「办理」的办理人 王科员 的账号已停用"
