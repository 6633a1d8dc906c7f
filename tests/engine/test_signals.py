"""Issue 14, finding 8: signals (catch, boundary, start, event-based gateway branches) are
broadcast to every instance waiting for them; receive tasks wait for their message."""
import pytest

from qihu.engine.errors import DeployError
from qihu.engine.runtime.worker import Worker
from tests.bpmn_util import bpmn, chain, flow

DEFS = '  <bpmn:signal id="sig_go" name="go" />\n  <bpmn:message id="m_reply" name="reply" />\n'

WAITER = bpmn("sig_waiter", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="wait" name="等开始"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:intermediateCatchEvent>
<bpmn:userTask id="work" name="办理" camunda:assignee="li" />
<bpmn:endEvent id="e" />
{chain("s", "wait", "work", "e")}""", extra=DEFS)

STARTED = bpmn("sig_started", f"""
<bpmn:startEvent id="s"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:startEvent>
<bpmn:userTask id="work" name="随信号开始" camunda:assignee="li" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", extra=DEFS)

THROWER = bpmn("sig_thrower", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateThrowEvent id="throw" name="发信号"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="e" />
{chain("s", "throw", "e")}""", extra=DEFS)

BOUNDARY = bpmn("sig_boundary", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:assignee="li" />
<bpmn:boundaryEvent id="stop" attachedToRef="work"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:boundaryEvent>
<bpmn:userTask id="after" name="中止后" camunda:assignee="li" />
<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />
{chain("s", "work", "e")}{chain("stop", "after", "e2")}""", extra=DEFS)

GATEWAY = bpmn("sig_gateway", f"""
<bpmn:startEvent id="s" />
<bpmn:eventBasedGateway id="g" />
<bpmn:intermediateCatchEvent id="on_signal"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="on_reply"><bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:intermediateCatchEvent>
<bpmn:userTask id="by_signal" camunda:assignee="li" /><bpmn:userTask id="by_reply" camunda:assignee="li" />
<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />
{chain("s", "g")}{flow("f1", "g", "on_signal")}{flow("f2", "g", "on_reply")}
{chain("on_signal", "by_signal", "e1")}{chain("on_reply", "by_reply", "e2")}""", extra=DEFS)

RECEIVE = bpmn("receive", f"""
<bpmn:startEvent id="s" />
<bpmn:receiveTask id="recv" name="等回复" messageRef="m_reply" />
<bpmn:userTask id="work" camunda:assignee="li" />
<bpmn:endEvent id="e" />
{chain("s", "recv", "work", "e")}""", extra=DEFS)


def open_elements(e, iid):
    return sorted(t["element_id"] for t in e.tasks.list(instance_id=iid))


def test_a_signal_reaches_every_waiting_instance_and_starts_its_processes(engine):
    engine.repository.deploy([("w.bpmn", WAITER), ("st.bpmn", STARTED)])
    waiting = [engine.runtime.start("sig_waiter") for _ in range(3)]
    out = engine.runtime.signal("go", {"reason": "上级部署"}, user="admin")
    assert sorted(out["delivered"]) == sorted(waiting) and len(out["started"]) == 1
    for iid in waiting:
        assert open_elements(engine, iid) == ["work"] and engine.runtime.data(iid)["reason"] == "上级部署"
    assert open_elements(engine, out["started"][0]) == ["work"]
    again = engine.runtime.signal("go")                 # the waiters moved on; a new start each time
    assert again["delivered"] == [] and len(again["started"]) == 1 and again["started"] != out["started"]


def test_a_thrown_signal_is_broadcast_through_the_outbox(make_engine):
    e = make_engine()
    e.repository.deploy([("w.bpmn", WAITER), ("b.bpmn", BOUNDARY), ("t.bpmn", THROWER)])
    w = e.runtime.start("sig_waiter")
    b = e.runtime.start("sig_boundary")
    t = e.runtime.start("sig_thrower")
    assert e.runtime.get(t)["status"] == "completed"
    assert open_elements(e, w) == ["work"] and open_elements(e, b) == ["after"]      # interrupting boundary
    assert [ev["data"]["signal"] for ev in e.history.events(t) if ev["type"] == "signal_thrown"] == ["go"]


def test_an_event_based_gateway_takes_the_signal_branch(engine):
    engine.repository.deploy([("g.bpmn", GATEWAY)])
    one, two = engine.runtime.start("sig_gateway", business_key="G1"), engine.runtime.start("sig_gateway", business_key="G2")
    engine.runtime.correlate("reply", business_key="G2")
    engine.runtime.signal("go")
    assert open_elements(engine, one) == ["by_signal"] and open_elements(engine, two) == ["by_reply"]


def test_a_receive_task_waits_for_its_message(engine):
    engine.repository.deploy([("r.bpmn", RECEIVE)])
    iid = engine.runtime.start("receive", business_key="R1")
    assert open_elements(engine, iid) == []
    engine.runtime.correlate("reply", business_key="R1", payload={"answer": "同意"})
    assert open_elements(engine, iid) == ["work"] and engine.runtime.data(iid)["answer"] == "同意"


def test_a_receive_task_without_a_message_is_refused_naming_it(engine):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("r.bpmn", RECEIVE.replace(b' messageRef="m_reply"', b""))])
    [p] = e.value.problems
    assert p.element == "recv" and "接收任务没有指定消息" in p.message


def test_setting_variables_fires_a_conditional_event(engine):
    """Conditional events are evaluated when variables change (setting them on a running
    instance, or a step that changes them)."""
    from tests.engine.test_stalls import DEAD_WAIT
    engine.tasks.add_member("li", "clerks")
    engine.repository.deploy([("c.bpmn", DEAD_WAIT)])
    iid = engine.runtime.start("dead_wait")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"approved": False})
    assert engine.runtime.get(iid)["status"] == "running"
    engine.runtime.set_variables(iid, {"note": "补充"}, user="admin")     # not the condition's
    assert engine.runtime.get(iid)["status"] == "running"
    engine.runtime.set_variables(iid, {"approved": True}, user="admin")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert [e["data"]["variables"] for e in engine.history.events(iid) if e["type"] == "variables_set"] == \
        [{"note": "补充"}, {"approved": True}]


def test_signals_and_variables_over_rest_and_the_command_line(engine, db_url):
    from click.testing import CliRunner
    from qihu.cli import main
    from qihu.web.app import create_app
    from tests.engine.test_stalls import DEAD_WAIT
    engine.accounts.add_user("admin", "admin-pw", is_admin=True)
    engine.tasks.add_member("li", "clerks")
    engine.repository.deploy([("w.bpmn", WAITER), ("c.bpmn", DEAD_WAIT)])
    w = engine.runtime.start("sig_waiter")
    c = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()
    admin = {"X-Qihu-User": "admin"}
    assert c.post("/api/signals", json={"name": "go"}, headers={"X-Qihu-User": "li"}).status_code == 403
    r = c.post("/api/signals", json={"name": "go", "data": {"via": "rest"}}, headers=admin)
    assert r.status_code == 200 and r.get_json()["delivered"] == [w]
    iid = engine.runtime.start("dead_wait", business_key="CV-1")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"approved": False})
    r = c.post(f"/api/instances/{iid}/variables", json={"data": {"approved": True}}, headers=admin)
    assert r.status_code == 200 and r.get_json()["status"] == "completed"
    w2 = engine.runtime.start("sig_waiter")
    out = CliRunner().invoke(main, ["signal", "go", "--data", '{"via": "cli"}'], env={"QIHU_DATABASE_URL": db_url})
    assert out.exit_code == 0, out.output
    assert engine.runtime.data(w2)["via"] == "cli"


GATEWAY_BESIDE_WORK = bpmn("gateway_beside_work", f"""
<bpmn:startEvent id="s" />
<bpmn:parallelGateway id="split" /><bpmn:parallelGateway id="join" /><bpmn:exclusiveGateway id="either" />
<bpmn:userTask id="work" name="办理" camunda:assignee="li" />
<bpmn:eventBasedGateway id="g" />
<bpmn:intermediateCatchEvent id="on_reply"><bpmn:messageEventDefinition messageRef="m_reply" /></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="on_signal"><bpmn:signalEventDefinition signalRef="sig_go" /></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e" />
{chain("s", "split")}{flow("a", "split", "work")}{flow("b", "split", "g")}
{flow("f1", "g", "on_reply")}{flow("f2", "g", "on_signal")}
{flow("m1", "on_reply", "either")}{flow("m2", "on_signal", "either")}
{flow("j1", "work", "join")}{flow("j2", "either", "join")}{chain("join", "e")}""",
                           extra=DEFS)


def test_a_message_caught_by_an_event_gateway_is_stored_with_the_state(engine):
    """SpiffWorkflow keeps the event an event-based gateway caught in its task (seen_events);
    the gateway stays in the stored tree while the parallel join beside it waits, and the
    state must still serialize (qihu's message definition has a converter of its own)."""
    engine.repository.deploy([("g.bpmn", GATEWAY_BESIDE_WORK)])
    iid = engine.runtime.start("gateway_beside_work")
    engine.runtime.correlate("reply", payload={"answer": "收到"})
    assert open_elements(engine, iid) == ["work"]
    [task] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(task["id"], "li", {})
    assert engine.runtime.get(iid)["status"] == "completed" and engine.runtime.data(iid)["answer"] == "收到"
