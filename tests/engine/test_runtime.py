"""Runtime: persistence across restarts, versions, concurrency, incidents, messages, traps."""
import json
import threading

import pytest
from sqlalchemy import select, func

from qihu import appeals
from qihu.engine.errors import Conflict, InvalidState, Forbidden, NotFound
from qihu.engine.topics import HandlerRegistry
from qihu.engine.storage.models import Instance, HistoryEvent, Job
from qihu.engine.runtime.service import EngineStepError
from tests.bpmn_util import bpmn, chain, flow

TWO_TASKS = bpmn("two", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:serviceTask id="svc" name="分派" camunda:type="external" camunda:topic="t.route" />
<bpmn:userTask id="b" name="办理" camunda:candidateGroups="${{department}}" />
<bpmn:endEvent id="e" />
{chain("s", "a", "svc", "b", "e")}""", name="两步")


def registry(**funcs):
    r = HandlerRegistry()
    for name, f in funcs.items():
        r.register(name.replace("_", "."), f)
    return r


def route(category="", **_):
    return {"department": "dept_" + (category or "general")}


@pytest.fixture
def eng(make_engine):
    e = make_engine(handlers=registry(t_route=route))
    e.repository.deploy([("two.bpmn", TWO_TASKS)])
    e.tasks.add_member("li", "acceptor")
    e.tasks.add_member("wang", "dept_land")
    return e


def only_task(e, **kw):
    tasks = e.tasks.list(**kw)
    assert len(tasks) == 1, tasks
    return tasks[0]


def test_state_survives_a_restart(eng, make_engine):
    iid = eng.runtime.start("two", {"企业": "湖州某公司"}, business_key="HZ-1", user="li")
    t = only_task(eng, user="li")
    assert t["name"] == "受理" and t["candidate_groups"] == ["acceptor"]
    eng.close()
    # a new process: nothing cached, everything from the database
    e2 = make_engine(handlers=registry(t_route=route))
    e2.tasks.complete(t["id"], "li", {"category": "land"})
    t2 = only_task(e2, user="wang")
    assert t2["candidate_groups"] == ["dept_land"]          # expression evaluated on the handler's output
    assert e2.runtime.data(iid)["企业"] == "湖州某公司"
    e2.tasks.complete(t2["id"], "wang", {})
    assert e2.runtime.get(iid)["status"] == "completed"
    types = [ev["type"] for ev in e2.history.events(iid)]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert "handler_called" in types
    done = [ev for ev in e2.history.events(iid) if ev["type"] == "task_completed"]
    assert [(d["user"], d["data"]) for d in done] == [("li", {"category": "land"}), ("wang", {})]


def test_state_is_stored_without_spec_and_with_chinese_unescaped(eng):
    iid = eng.runtime.start("two", {"诉求": "用地审批慢"})
    with eng.db.read() as s:
        state = s.scalar(select(Instance.state).where(Instance.id == iid))
    assert "用地审批慢" in state and "\\u" not in state
    dct = json.loads(state)
    assert "spec" not in dct and "subprocess_specs" not in dct
    assert len(state) < 4000


def test_identical_redeploy_is_a_no_op_and_instances_keep_their_version(eng):
    again = eng.repository.deploy([("two.bpmn", TWO_TASKS)])
    assert again.created is False
    assert [d["version"] for d in eng.repository.definitions(key="two")] == [1]
    iid = eng.runtime.start("two")
    v2 = TWO_TASKS.replace("办理".encode(), "办理(新)".encode())
    r = eng.repository.deploy([("two.bpmn", v2)])
    assert r.created and r.definitions[0]["version"] == 2
    assert eng.repository.definitions(key="two")[0]["version"] == 2
    t = only_task(eng, instance_id=iid)
    eng.tasks.complete(t["id"], "li", {})
    assert only_task(eng, instance_id=iid)["name"] == "办理"      # still v1
    new = eng.runtime.start("two")
    eng.tasks.complete(only_task(eng, instance_id=new)["id"], "li", {})
    assert only_task(eng, instance_id=new)["name"] == "办理(新)"
    old = eng.runtime.start("two", version=1)
    assert eng.runtime.get(old)["definition_id"] == eng.runtime.get(iid)["definition_id"]


def test_claim_rules_and_permissions(eng):
    eng.runtime.start("two")
    t = only_task(eng, user="li")
    with pytest.raises(Forbidden):
        eng.tasks.claim(t["id"], "wang")           # not in the task's groups
    eng.tasks.add_member("zhang", "acceptor")
    eng.tasks.claim(t["id"], "li")
    with pytest.raises(Conflict):
        eng.tasks.claim(t["id"], "zhang")
    assert eng.tasks.list(user="zhang") == []       # claimed tasks leave colleagues' inboxes
    with pytest.raises(Forbidden):
        eng.tasks.complete(t["id"], "zhang", {})
    eng.tasks.unclaim(t["id"], "li")
    assert len(eng.tasks.list(user="zhang")) == 1
    eng.tasks.complete(t["id"], "zhang", {})
    with pytest.raises(InvalidState, match="already completed by zhang"):
        eng.tasks.complete(t["id"], "li", {})
    with pytest.raises(NotFound):
        eng.tasks.complete("no-such-task", "li", {})


def test_concurrent_completion_exactly_one_wins(eng, make_engine):
    others = [make_engine(handlers=registry(t_route=route)) for _ in range(3)]
    engines = [eng] + others
    for e in engines:        # warm every cache, like busy web processes
        e.runtime.start("two")
    iid = eng.runtime.start("two")
    t = only_task(eng, instance_id=iid)
    for e in engines:
        e.runtime.data(iid)
    barrier = threading.Barrier(len(engines))
    results = []

    def go(e, user):
        barrier.wait()
        try:
            e.tasks.complete(t["id"], user, {"category": "x"}, check=False)
            results.append("ok")
        except Conflict as err:
            results.append(f"conflict: {err}")

    threads = [threading.Thread(target=go, args=(e, f"u{i}")) for i, e in enumerate(engines)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count("ok") == 1, results
    assert all(r.startswith("conflict") for r in results if r != "ok")
    # the winner's completion is the only one recorded, and the instance moved on once
    done = [ev for ev in eng.history.events(iid) if ev["type"] == "task_completed"]
    assert len(done) == 1
    assert only_task(eng, instance_id=iid)["name"] == "办理"


FAILING = bpmn("fails", f"""
<bpmn:startEvent id="s" />
<bpmn:serviceTask id="svc" name="调用接口" camunda:type="external" camunda:topic="t.flaky" />
<bpmn:userTask id="u" name="后续" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "svc", "u", "e")}""")


def test_failing_handler_is_an_incident_with_the_real_error_then_retries(make_engine, clock):
    calls = []

    def flaky(**data):
        calls.append(1)
        if len(calls) < 3:
            raise ValueError(f"接口超时 #{len(calls)}")
        return {"answer": 42}

    e = make_engine(handlers=registry(t_flaky=flaky), handler_retries=3, handler_retry_backoff=10.0)
    e.repository.deploy([("f.bpmn", FAILING)])
    iid = e.runtime.start("fails")
    [inc] = e.runtime.incidents(iid)
    # the real exception, not SpiffWorkflow's NameError from call_service
    assert inc["error_type"] == "ValueError" and inc["message"] == "接口超时 #1"
    assert "ValueError" in inc["traceback"] and "flaky" in inc["traceback"]
    assert inc["retries_left"] == 2 and inc["element_id"] == "svc"
    assert e.tasks.list(instance_id=iid) == []                 # the instance waits
    from qihu.engine.runtime.worker import Worker
    w = Worker(e)
    assert w.run_once() == 0                                   # backoff not over yet
    clock.advance(seconds=11)
    assert w.run_once() == 1
    [inc] = e.runtime.incidents(iid)
    assert inc["message"] == "接口超时 #2" and inc["retries_left"] == 1
    clock.advance(seconds=25)
    assert w.run_once() == 1
    assert e.runtime.incidents(iid) == []                      # resolved by the successful retry
    assert e.runtime.data(iid)["answer"] == 42
    assert only_task(e, instance_id=iid)["name"] == "后续"
    types = [ev["type"] for ev in e.history.events(iid)]
    assert types.count("incident") == 2 and "incident_resolved" in types


def test_cancelling_closes_open_incidents_and_ended_instances_stay_ended(make_engine, clock):
    def broken(**_):
        raise RuntimeError("下游系统不可用")

    e = make_engine(handlers=registry(t_flaky=broken), handler_retries=3)
    e.repository.deploy([("f.bpmn", FAILING)])
    iid = e.runtime.start("fails")
    [inc] = e.runtime.incidents(iid)
    e.runtime.cancel(iid, user="admin", reason="企业撤回")
    assert e.runtime.incidents(iid) == []                       # none open: nobody should retry it
    [closed] = e.runtime.incidents(iid, status="cancelled")
    assert closed["id"] == inc["id"] and closed["resolved_at"] is not None
    with e.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.instance_id == iid)) == 0
    [event] = e.history.events(iid, ["instance_cancelled"])
    assert event["data"] == {"reason": "企业撤回", "incidents": [inc["id"]]}
    said = [t for t in appeals.of(e).trail(iid) if "撤销流程" in str(t)]
    assert said and "1 个未处理的异常随之关闭" in str(said[-1])
    # an ended instance is not cancelled again (its end stays as it was)
    ended_at = e.runtime.get(iid)["ended_at"]
    clock.advance(minutes=5)
    with pytest.raises(InvalidState, match="already cancelled"):
        e.runtime.cancel(iid)
    assert e.runtime.get(iid)["ended_at"] == ended_at
    with pytest.raises(NotFound, match="no open incident"):
        e.runtime.retry_incident(inc["id"])


def test_a_completed_instance_cannot_be_cancelled(engine):
    quick = bpmn("quick", chain("s", "e") + '<bpmn:startEvent id="s" /><bpmn:endEvent id="e" />')
    engine.repository.deploy([("t.bpmn", quick)])
    iid = engine.runtime.start("quick")
    assert engine.runtime.get(iid)["status"] == "completed"
    with pytest.raises(InvalidState, match="already completed"):
        engine.runtime.cancel(iid)
    assert engine.runtime.get(iid)["status"] == "completed"


def test_incident_without_retries_waits_for_manual_retry_or_resolve(make_engine, clock):
    state = {"ok": False}

    def flaky(**_):
        if not state["ok"]:
            raise RuntimeError("下游系统不可用")
        return {"fixed": True}

    e = make_engine(handlers=registry(t_flaky=flaky), handler_retries=0)
    e.repository.deploy([("f.bpmn", FAILING)])
    a = e.runtime.start("fails")
    b = e.runtime.start("fails")
    [ia] = e.runtime.incidents(a)
    assert ia["retries_left"] == 0
    with e.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    e.runtime.retry_incident(ia["id"])                      # still failing: stays open
    assert e.runtime.incidents(a)[0]["message"] == "下游系统不可用"
    state["ok"] = True
    e.runtime.retry_incident(ia["id"])
    assert e.runtime.incidents(a) == [] and e.runtime.data(a)["fixed"] is True
    [ib] = e.runtime.incidents(b)
    e.runtime.resolve_incident(ib["id"], {"fixed": "by hand"}, user="admin")
    assert e.runtime.data(b)["fixed"] == "by hand"
    assert only_task(e, instance_id=b)["name"] == "后续"
    with pytest.raises(NotFound):
        e.runtime.resolve_incident(ib["id"], {})


LOOP = bpmn("loop", f"""
<bpmn:startEvent id="s" />
<bpmn:scriptTask id="inc" name="计数" scriptFormat="python"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="g" />
<bpmn:endEvent id="e" />
{flow("f1", "s", "inc")}{flow("f2", "inc", "g")}
{flow("back", "g", "inc", "n < limit")}{flow("out", "g", "e", "n >= limit")}""")


def test_long_automatic_loop_completes_and_completion_is_true(engine):
    """SpiffWorkflow's iteration stops at depth 1000; pruning keeps qihu's tree short."""
    engine.repository.deploy([("loop.bpmn", LOOP)])
    iid = engine.runtime.start("loop", {"n": 0, "limit": 1500})
    assert engine.runtime.get(iid)["status"] == "completed"
    assert engine.runtime.data(iid)["n"] == 1500


def test_plain_spiffworkflow_still_has_the_depth_trap():
    """Guards our knowledge of the trap: if SpiffWorkflow fixes it, this tells us."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from lxml import etree
    p = CamundaParser()
    p.add_bpmn_xml(etree.fromstring(LOOP).getroottree(), "loop.bpmn")
    wf = BpmnWorkflow(p.get_spec("loop"))
    wf.get_tasks()[0].data.update({"n": 0, "limit": 1500})
    wf.do_engine_steps()
    n = max(t.data.get("n", 0) for t in wf.tasks.values())
    assert n < 1500                 # stalled silently ...
    assert wf.is_completed()        # ... and claims to be complete


def test_endless_loop_is_refused_and_nothing_is_saved(make_engine):
    e = make_engine(automatic_steps_limit=500)
    e.repository.deploy([("loop.bpmn", LOOP)])
    with pytest.raises(EngineStepError, match="死循环"):
        e.runtime.start("loop", {"n": 0, "limit": 10 ** 9})
    with e.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Instance)) == 0
        assert s.scalar(select(func.count()).select_from(HistoryEvent)) == 0


def test_a_long_automatic_run_is_stopped_by_time_and_becomes_an_incident(make_engine):
    """Issue 13, finding 4: an automatic loop held SQLite's write lock for 11 s. Bounded in
    time, the step is rolled back and the instance that took it shows an incident."""
    import time
    e = make_engine(automatic_time_limit=0.5)
    e.repository.deploy([("gate.bpmn", GATED_LOOP)])
    iid = e.runtime.start("gate", {"n": 0, "limit": 10 ** 9})
    t = e.tasks.list(instance_id=iid)[0]
    began = time.monotonic()
    with pytest.raises(EngineStepError, match="秒仍未停下"):
        e.tasks.complete(t["id"], "someone", {})
    assert time.monotonic() - began < 3
    [inc] = e.runtime.incidents(iid)
    assert inc["kind"] == "script" and inc["can_resolve"] and "秒仍未停下" in inc["message"]
    assert e.tasks.list(instance_id=iid)[0]["id"] == t["id"]        # rolled back: the task still waits


GATED_LOOP = bpmn("gate", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="go" name="开始" camunda:candidateUsers="someone" />
<bpmn:scriptTask id="inc" name="计数" scriptFormat="python"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="g" />
<bpmn:endEvent id="e" />
{chain("s", "go", "inc", "g")}
{flow("back", "g", "inc", "n < limit")}{flow("out", "g", "e", "n >= limit")}""")


BROKEN = bpmn("broken", f"""
<bpmn:startEvent id="s" />
<bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:script>a = 1
b = a / 0</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="e" />
{chain("s", "calc", "e")}""")


def test_script_error_names_file_line_and_element_and_saves_nothing(engine):
    engine.repository.deploy([("broken.bpmn", BROKEN)])
    with pytest.raises(EngineStepError) as err:
        engine.runtime.start("broken")
    msg = str(err.value)
    assert "broken.bpmn:" in msg and "[calc]" in msg and "ZeroDivisionError" in msg and "script line 2" in msg
    assert err.value.element == "calc" and err.value.line == 6
    assert engine.runtime.instances() == []


THROW = bpmn("thrower", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateThrowEvent id="send" name="发起评议"><bpmn:messageEventDefinition messageRef="m1" /></bpmn:intermediateThrowEvent>
<bpmn:endEvent id="e" />
{chain("s", "send", "e")}""", extra='<bpmn:message id="m1" name="say_no" />\n')
CATCH_START = bpmn("review", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m1" /></bpmn:startEvent>
<bpmn:userTask id="r" name="评议" camunda:candidateGroups="deputy" />
<bpmn:intermediateCatchEvent id="wait" name="等待答复"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e" />
{chain("s", "r", "wait", "e")}""", extra='<bpmn:message id="m1" name="say_no" /><bpmn:message id="m2" name="reply" />\n')


def test_thrown_message_starts_another_process_and_business_key_correlation(engine):
    engine.repository.deploy([("t.bpmn", THROW), ("c.bpmn", CATCH_START)])
    src = engine.runtime.start("thrower", {"appeal": "A-7", "理由": "不能办"}, business_key="A-7")
    assert engine.runtime.get(src)["status"] == "completed"
    [review] = engine.runtime.instances(key="review")
    assert engine.runtime.data(review["id"])["理由"] == "不能办"
    assert review["business_key"] == "A-7"          # the appeal keeps its number across processes
    t = only_task(engine, instance_id=review["id"])
    engine.tasks.complete(t["id"], "x", {}, check=False)
    with pytest.raises(NotFound):
        engine.runtime.correlate("reply", business_key="nobody")
    out = engine.runtime.correlate("reply", business_key="A-7", payload={"结论": "应当办"})
    assert out["delivered"] == [review["id"]]
    assert engine.runtime.get(review["id"])["status"] == "completed"
    assert engine.runtime.data(review["id"])["结论"] == "应当办"


TIMER = bpmn("timed", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="wait" name="等五分钟"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="u" name="到期后" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "wait", "u", "e")}""")


def test_suspended_instances_do_not_move_and_resume_catches_up(engine, clock):
    from qihu.engine.runtime.worker import Worker
    engine.repository.deploy([("t.bpmn", TIMER)])
    iid = engine.runtime.start("timed")
    engine.runtime.suspend(iid)
    clock.advance(minutes=10)
    assert Worker(engine).run_once() == 0
    with pytest.raises(InvalidState):
        engine.runtime.suspend(iid)
    engine.runtime.resume(iid)             # overdue timer fires on resume
    assert only_task(engine, instance_id=iid)["name"] == "到期后"
    engine.runtime.cancel(iid, reason="企业撤回")
    assert engine.runtime.get(iid)["status"] == "cancelled"
    assert engine.tasks.list(instance_id=iid) == []
    with pytest.raises(InvalidState):
        engine.runtime.resume(iid)


def test_two_workers_never_fire_a_timer_twice(make_engine, clock):
    from qihu.engine.runtime.worker import Worker
    engines = [make_engine() for _ in range(3)]
    engines[0].repository.deploy([("t.bpmn", TIMER)])
    ids = [engines[0].runtime.start("timed") for _ in range(30)]
    clock.advance(minutes=6)
    workers = [Worker(e, name=f"w{i}", batch=7) for i, e in enumerate(engines)]
    barrier = threading.Barrier(len(workers))
    fired = []

    def go(w):
        barrier.wait()
        n = 1
        while n:
            n = w.run_once()
            fired.append(n)

    threads = [threading.Thread(target=go, args=(w,)) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    e = engines[0]
    with e.db.read() as s:
        counts = dict(s.execute(select(HistoryEvent.instance_id, func.count()).where(HistoryEvent.type == "timer_fired")
                                .group_by(HistoryEvent.instance_id)).all())
        assert s.scalar(select(func.count()).select_from(Job)) == 0
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
    assert sum(fired) == 30
    assert len(e.tasks.list(limit=100)) == 30


def test_timer_is_late_by_at_most_the_poll_interval(make_engine):
    """Real time: the embedded worker thread fires a PT1S timer within the poll interval."""
    import time
    from qihu.engine.clock import SystemClock
    from qihu.engine.runtime.worker import Worker
    doc = TIMER.replace(b"PT5M", b"PT1S")
    e = make_engine()
    e.clock = e.script_engine.clock = SystemClock()
    e.repository.deploy([("t.bpmn", doc)])
    iid = e.runtime.start("timed")
    with e.db.read() as s:
        due = s.scalar(select(Job.due_at).where(Job.instance_id == iid))
    w = Worker(e)
    w.start_thread(poll_interval=0.2)
    try:
        deadline = time.time() + 5
        while time.time() < deadline and not e.tasks.list(instance_id=iid):
            time.sleep(0.02)
    finally:
        w.stop()
    [fired] = [ev for ev in e.history.events(iid) if ev["type"] == "timer_fired"]
    from datetime import datetime
    late = (datetime.fromisoformat(fired["at"]) - due).total_seconds()
    assert 0 <= late <= 0.2 + 0.3, late      # poll interval plus scheduling slack


BOTH_STARTS = bpmn("both_starts", f"""
<bpmn:startEvent id="s_direct" name="直接发起" />
<bpmn:startEvent id="s_message" name="收到说不"><bpmn:messageEventDefinition messageRef="m1" /></bpmn:startEvent>
<bpmn:scriptTask id="mark_direct" scriptFormat="python"><bpmn:script>entry = "direct"</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="mark_message" scriptFormat="python"><bpmn:script>entry = "message"</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="review" name="评议" camunda:candidateGroups="deputy" />
<bpmn:endEvent id="e" />
{chain("s_direct", "mark_direct", "review")}
{chain("s_message", "mark_message", "review")}
{chain("review", "e")}""", extra='<bpmn:message id="m1" name="say_no" />\n')


def test_a_process_with_a_none_and_a_message_start_starts_where_it_was_started(engine):
    engine.repository.deploy([("both.bpmn", BOTH_STARTS)])
    direct = engine.runtime.start("both_starts", {"企业": "甲"})
    assert engine.runtime.data(direct)["entry"] == "direct"
    out = engine.runtime.correlate("say_no", business_key="LQ-1", payload={"企业": "乙"})
    [by_message] = out["started"]
    assert engine.runtime.data(by_message) == {"企业": "乙", "entry": "message"}
    for iid in (direct, by_message):
        t = only_task(engine, instance_id=iid)
        assert t["element_id"] == "review"
        engine.tasks.complete(t["id"], "x", {}, check=False)
        assert engine.runtime.get(iid)["status"] == "completed"


REGIONAL = bpmn("regional", f"""<bpmn:extensionElements><camunda:properties>
  <camunda:property name="region" value="舟山市定海区" /></camunda:properties></bpmn:extensionElements>
<bpmn:startEvent id="s" />
<bpmn:userTask id="u" name="办理" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "u", "e")}""")


def test_an_instance_takes_its_region_from_the_start_or_else_from_its_process(eng):
    eng.repository.deploy([("regional.bpmn", REGIONAL)])
    own = eng.runtime.start("regional")
    given = eng.runtime.start("regional", region=" 舟山市普陀区 ")
    assert eng.runtime.get(own)["region"] == "舟山市定海区"
    assert eng.runtime.get(given)["region"] == "舟山市普陀区"
    assert [t["region"] for t in eng.tasks.list(instance_id=own)] == ["舟山市定海区"]
    assert [t["instance_id"] for t in eng.tasks.list(region="舟山市普陀区")] == [given]


BIG = bpmn("big", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="fill" name="填写" camunda:candidateUsers="li" />
<bpmn:scriptTask id="grow" name="拼接" scriptFormat="python"><bpmn:script>blob = text * times</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="next" name="下一步" camunda:candidateUsers="li" />
<bpmn:endEvent id="e" />
{chain("s", "fill", "grow", "next", "e")}""")


def test_a_variable_over_the_size_limit_is_refused_with_its_name(make_engine):
    """Issue 13, finding 4: a 100 MB value was stored in an instance without complaint."""
    e = make_engine(variable_size_limit=100_000)
    e.repository.deploy([("big.bpmn", BIG)])
    iid = e.runtime.start("big", {"text": "企" * 1000, "times": 1})
    [t] = e.tasks.list(instance_id=iid)
    e.tasks.complete(t["id"], "li", {"times": 10})                   # 30 KB: fine
    iid = e.runtime.start("big", {"text": "企" * 1000, "times": 1})
    [t] = e.tasks.list(instance_id=iid)
    with pytest.raises(EngineStepError, match="变量「blob」.*超过每个变量 0.0953674 MB 的上限"):
        e.tasks.complete(t["id"], "li", {"times": 200})               # 600 KB
    assert e.tasks.list(instance_id=iid)[0]["id"] == t["id"]         # nothing saved
    [inc] = e.runtime.incidents(iid)
    assert inc["kind"] == "script" and inc["element_id"] == "grow"


HOSTILE = bpmn("hostile", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="fill" name="填写" camunda:candidateUsers="li" />
<bpmn:scriptTask id="calc" name="测算" scriptFormat="python"><bpmn:script>x = 10**10**8</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="e" />
{chain("s", "fill", "calc", "e")}""")


def test_a_hostile_script_is_an_incident_on_its_instance_within_the_limit(engine):
    """Issue 13, finding 4: `10**10**8` held the server for over a minute. Refused before it
    runs, the step is rolled back, and the instance shows why."""
    import time
    engine.repository.deploy([("hostile.bpmn", HOSTILE)])
    iid = engine.runtime.start("hostile")
    [t] = engine.tasks.list(instance_id=iid)
    began = time.monotonic()
    with pytest.raises(EngineStepError, match="乘方结果过大"):
        engine.tasks.complete(t["id"], "li", {})
    assert time.monotonic() - began < 2
    [inc] = engine.runtime.incidents(iid)
    assert (inc["kind"], inc["element_id"]) == ("script", "calc") and "乘方结果过大" in inc["message"]
    with pytest.raises(EngineStepError):
        engine.tasks.complete(t["id"], "li", {})               # tried again: still one open incident
    assert len(engine.runtime.incidents(iid)) == 1
