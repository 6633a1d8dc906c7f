"""Migrating running instances to a newer version (engine/runtime/migration.py): who moves,
who is refused and why, and that the moved ones run on the new version with their inbox rows,
timer jobs and message subscriptions in step."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qihu import appeals
from qihu.engine.errors import NotFound, ValidationFailed
from qihu.engine.storage.models import HistoryEvent, Instance, Job, Subscription, Task, TaskCandidate

from tests.bpmn_util import bpmn, chain

ROOT = Path(__file__).resolve().parents[2]

V1 = bpmn("mig", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="A" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="B" name="办理" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" />
{chain("s", "A", "B", "e")}""", name="迁移测试")

# v2: a review step C after A (with a deadline), and B goes to another group
V2 = bpmn("mig", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="A" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="C" name="复核" camunda:candidateGroups="supervisor" camunda:dueDate="P2D" />
<bpmn:userTask id="B" name="办理" camunda:candidateGroups="dept2" />
<bpmn:endEvent id="e" />
{chain("s", "A", "C", "B", "e")}""", name="迁移测试")


def deploy_both(engine, v1=V1, v2=V2, key="mig"):
    engine.repository.deploy([(f"{key}.bpmn", v1)])
    return v1, v2


def open_tasks(engine, iid):
    return {t["element_id"]: t for t in engine.tasks.list(instance_id=iid)}


def complete(engine, iid, element, user="x", data=None):
    t = open_tasks(engine, iid)[element]
    engine.tasks.complete(t["id"], user, data or {}, check=False)
    return t


def snapshot(engine, iid):
    """Everything migration may touch for one instance."""
    with engine.db.read() as s:
        row = s.get(Instance, iid)
        tasks = sorted((t.id, t.status, t.element_id, t.candidate_groups) for t in
                       s.scalars(select(Task).where(Task.instance_id == iid)))
        jobs = sorted((j.task_id, j.kind, j.due_at.isoformat())
                      for j in s.scalars(select(Job).where(Job.instance_id == iid)))
        subs = sorted((x.task_id, x.message_name)
                      for x in s.scalars(select(Subscription).where(Subscription.instance_id == iid)))
        events = s.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.instance_id == iid))
        return {"state": row.state, "version": row.version, "definition_id": row.definition_id, "status": row.status,
                "tasks": tasks, "jobs": jobs, "subs": subs, "events": events}


def test_instance_at_a_moves_and_runs_through_the_added_step(engine):
    engine.repository.deploy([("mig.bpmn", V1)])
    at_a = engine.runtime.start("mig", {"企业": "甲"}, business_key="M-1")
    old_row = open_tasks(engine, at_a)["A"]
    engine.repository.deploy([("mig.bpmn", V2)])
    v2_id = engine.repository.versions("mig")[1]["id"]

    out = engine.migrations.migrate("mig", 1, 2, user="admin")
    assert [m["id"] for m in out["migrated"]] == [at_a] and out["refused"] == []
    assert out["migrated"][0]["reset"] == [] and out["migrated"][0]["added"] == ["C"]
    assert {c["id"] for c in out["changes"]["changed"]} == {"B"}
    inst = engine.runtime.get(at_a)
    assert inst["definition_id"] == v2_id and inst["status"] == "running"
    # A's inbox row is untouched (same id, still open), nothing else was offered yet
    assert list(open_tasks(engine, at_a)) == ["A"] and open_tasks(engine, at_a)["A"]["id"] == old_row["id"]

    # audited, and shown in Chinese on the trail
    [ev] = engine.history.events(at_a, ["instance_migrated"])
    assert ev["user"] == "admin" and ev["data"]["from_version"] == 1 and ev["data"]["to_version"] == 2
    assert ev["data"]["to_definition_id"] == v2_id and ev["data"]["added"] == ["C"]
    line = [t for t in appeals.of(engine).trail(at_a) if t["type"] == "instance_migrated"][0]
    assert "第 1 版迁移到第 2 版" in line["text"] and line["who"] == "admin"

    complete(engine, at_a, "A")
    c = open_tasks(engine, at_a)["C"]
    assert c["candidate_groups"] == ["supervisor"] and c["due_at"] == "2026-11-04T01:00:00+00:00"
    with engine.db.read() as s:
        assert s.scalars(select(TaskCandidate.name).where(TaskCandidate.task_id == c["id"])).all() == ["supervisor"]
        assert s.scalar(select(func.count()).select_from(Job).where(Job.task_id == c["id"], Job.kind == "sla")) > 0
    complete(engine, at_a, "C")
    assert open_tasks(engine, at_a)["B"]["candidate_groups"] == ["dept2"]     # B as v2 says
    complete(engine, at_a, "B")
    assert engine.runtime.get(at_a)["status"] == "completed"


def test_a_changed_element_that_already_ran_refuses_and_leaves_the_instance_alone(engine):
    v1 = V1
    # v2 changes A's group only: an instance past A is refused, one at A has A reset
    v2 = V1.replace(b'camunda:candidateGroups="acceptor"', b'camunda:candidateGroups="acceptor2"')
    engine.repository.deploy([("mig.bpmn", v1)])
    past_a = engine.runtime.start("mig")
    complete(engine, past_a, "A")
    at_a = engine.runtime.start("mig")
    engine.repository.deploy([("mig.bpmn", v2)])
    before = snapshot(engine, past_a)
    old_a = open_tasks(engine, at_a)["A"]["id"]

    plan = engine.migrations.plan("mig", 1, 2)
    by_id = {i["id"]: i for i in plan["instances"]}
    assert by_id[past_a]["can_migrate"] is False
    [reason] = by_id[past_a]["reasons"]
    assert reason["element"] == "A"
    assert reason["text"] == "环节 受理（A） 已执行且在新版本中被修改 (element A already ran and was changed in v2)"
    assert by_id[at_a]["can_migrate"] is True and by_id[at_a]["reset"] == ["A"]

    out = engine.migrations.migrate("mig", 1, 2)
    assert [r["id"] for r in out["refused"]] == [past_a] and [m["id"] for m in out["migrated"]] == [at_a]
    assert snapshot(engine, past_a) == before                          # state, version, definition untouched
    # the untaken A was offered again as v2 says; its old row is cancelled
    new_a = open_tasks(engine, at_a)["A"]
    assert new_a["id"] != old_a and new_a["candidate_groups"] == ["acceptor2"]
    with engine.db.read() as s:
        assert s.get(Task, old_a).status == "cancelled"
    [ev] = engine.history.events(at_a, ["instance_migrated"])
    assert ev["data"]["reset"] == ["A"]
    complete(engine, at_a, "A")
    complete(engine, at_a, "B")
    assert engine.runtime.get(at_a)["status"] == "completed"


def test_a_taken_task_that_changed_is_refused(engine):
    v2 = V1.replace(b'camunda:candidateGroups="acceptor"', b'camunda:candidateGroups="acceptor2"')
    engine.repository.deploy([("mig.bpmn", V1)])
    iid = engine.runtime.start("mig")
    engine.tasks.claim(open_tasks(engine, iid)["A"]["id"], "li", check=False)
    engine.repository.deploy([("mig.bpmn", v2)])
    before = snapshot(engine, iid)
    out = engine.migrations.migrate("mig", 1, 2)
    [r] = out["refused"]
    assert r["reasons"][0]["zh"] == "环节 受理（A） 已由 li 办理且在新版本中被修改"
    assert snapshot(engine, iid) == before


def test_dry_run_and_plan_change_nothing(engine):
    engine.repository.deploy([("mig.bpmn", V1)])
    iid = engine.runtime.start("mig")
    engine.repository.deploy([("mig.bpmn", V2)])
    before = snapshot(engine, iid)
    out = engine.migrations.migrate("mig", 1, 2, dry_run=True)
    assert out["dry_run"] is True and [m["id"] for m in out["migrated"]] == [iid]
    assert engine.migrations.plan("mig", 1, 2)["instances"][0]["can_migrate"] is True
    assert snapshot(engine, iid) == before
    # the cached workflow was not touched either: the instance still runs on v1
    complete(engine, iid, "A")
    assert list(open_tasks(engine, iid)) == ["B"]


def test_finished_and_suspended_instances(engine):
    engine.repository.deploy([("mig.bpmn", V1)])
    done = engine.runtime.start("mig")
    complete(engine, done, "A")
    complete(engine, done, "B")
    cancelled = engine.runtime.start("mig")
    engine.runtime.cancel(cancelled)
    suspended = engine.runtime.start("mig")
    engine.runtime.suspend(suspended)
    engine.repository.deploy([("mig.bpmn", V2)])
    # by default only running and suspended instances are considered
    out = engine.migrations.migrate("mig", 1, 2)
    assert [m["id"] for m in out["migrated"]] == [suspended]
    assert engine.runtime.get(suspended)["status"] == "suspended"      # moved, still suspended
    engine.runtime.resume(suspended)
    complete(engine, suspended, "A")
    assert list(open_tasks(engine, suspended)) == ["C"]
    # named explicitly, finished ones are refused with their status
    out = engine.migrations.migrate("mig", 1, 2, instance_ids=[done, cancelled, suspended])
    reasons = {r["id"]: r["reasons"][0]["text"] for r in out["refused"]}
    assert reasons == {done: "实例已办结，不能迁移 (instance is completed)",
                       cancelled: "实例已撤销，不能迁移 (instance is cancelled)",
                       suspended: "实例在第 2 版上，不在第 1 版 (instance is on version 2, not 1)"}


def test_bad_inputs_are_clear_errors(engine):
    engine.repository.deploy([("mig.bpmn", V1)])
    engine.repository.deploy([("mig.bpmn", V2)])
    engine.repository.deploy([("other.bpmn", V1.replace(b'"mig"', b'"other"'))])
    other = engine.runtime.start("other")
    m = engine.migrations
    with pytest.raises(NotFound, match=r"没有流程 nope \(no definition 'nope'\)"):
        m.plan("nope", 1, 2)
    with pytest.raises(ValidationFailed, match=r"to version 2 must be newer than from version 2"):
        m.plan("mig", 2, 2)
    with pytest.raises(ValidationFailed, match=r"to version 1 must be newer than from version 2"):
        m.migrate("mig", 2, 1)
    with pytest.raises(NotFound, match=r"流程 mig 没有第 3 版 \(no definition 'mig' version 3\)"):
        m.migrate("mig", 1, 3)
    with pytest.raises(ValidationFailed, match="versions must be whole numbers"):
        m.plan("mig", "one", 2)
    with pytest.raises(NotFound, match="no instance no-such-id"):
        m.migrate("mig", 1, 2, instance_ids=["no-such-id"])
    with pytest.raises(ValidationFailed, match=f"instance {other} is not of definition 'mig'"):
        m.migrate("mig", 1, 2, instance_ids=[other])
    assert engine.runtime.get(other)["definition_key"] == "other"


WAITS = """<bpmn:startEvent id="s" />
<bpmn:userTask id="A" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:boundaryEvent id="late" name="超时" attachedToRef="A"><bpmn:timerEventDefinition>
<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="Esc" name="督办" camunda:candidateGroups="supervisor" />
<bpmn:intermediateCatchEvent id="wait" name="等待答复"><bpmn:messageEventDefinition messageRef="m2" /></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="pause" name="等五分钟"><bpmn:timerEventDefinition>
<bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="B" name="办理" camunda:candidateGroups="dept" />
{extra}
<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />
{flows}{tail}
{esc}"""
MSG = '<bpmn:message id="m2" name="reply" />\n'
W1 = bpmn("waits", WAITS.format(extra="", flows=chain("s", "A", "wait", "pause", "B"), tail=chain("B", "e"),
                                esc=chain("late", "Esc", "e2")), extra=MSG)
# v2 adds a step C after B: nothing the instances wait on changes
W2 = bpmn("waits", WAITS.format(extra='<bpmn:userTask id="C" name="归档" camunda:candidateGroups="archive" />',
                                flows=chain("s", "A", "wait", "pause", "B"), tail=chain("B", "C", "e"),
                                esc=chain("late", "Esc", "e2")), extra=MSG)


def test_timers_and_message_waits_of_migrated_instances_still_fire(engine, clock):
    from qihu.engine.runtime.worker import Worker
    engine.repository.deploy([("waits.bpmn", W1)])
    at_a = engine.runtime.start("waits", business_key="W-1")          # A open, boundary timer armed
    at_msg = engine.runtime.start("waits", business_key="W-2")
    complete(engine, at_msg, "A")                                       # waits for the message
    at_timer = engine.runtime.start("waits", business_key="W-3")
    complete(engine, at_timer, "A")
    engine.runtime.correlate("reply", business_key="W-3")               # waits on the 5-minute timer
    engine.repository.deploy([("waits.bpmn", W2)])
    jobs_before = {i: snapshot(engine, i)["jobs"] for i in (at_a, at_timer)}
    subs_before = snapshot(engine, at_msg)["subs"]
    assert jobs_before[at_a] and jobs_before[at_timer] and subs_before

    out = engine.migrations.migrate("waits", 1, 2)
    assert sorted(m["id"] for m in out["migrated"]) == sorted([at_a, at_msg, at_timer]) and not out["refused"]
    # same jobs at the same moments, same subscription
    assert {i: snapshot(engine, i)["jobs"] for i in (at_a, at_timer)} == jobs_before
    assert snapshot(engine, at_msg)["subs"] == subs_before

    engine.runtime.correlate("reply", business_key="W-2")
    clock.advance(minutes=61)
    assert Worker(engine).run_once() == 3
    assert list(open_tasks(engine, at_a)) == ["Esc"]                   # the boundary timer fired on v2
    assert list(open_tasks(engine, at_timer)) == ["B"]
    assert list(open_tasks(engine, at_msg)) == ["B"]                   # message caught, then its pause
    for iid in (at_timer, at_msg):
        complete(engine, iid, "B")
        assert list(open_tasks(engine, iid)) == ["C"]                  # the added step, on v2
        complete(engine, iid, "C")
        assert engine.runtime.get(iid)["status"] == "completed"


def test_waiting_on_a_changed_timer_or_a_removed_step_is_refused(engine):
    engine.repository.deploy([("waits.bpmn", W1)])
    at_timer = engine.runtime.start("waits", business_key="W-3")
    complete(engine, at_timer, "A")
    engine.runtime.correlate("reply", business_key="W-3")
    at_a = engine.runtime.start("waits", business_key="W-4")
    # v2: the pause is ten minutes now, and the escalation step is gone
    w2 = bpmn("waits", WAITS.replace("PT5M", "PT10M").replace(
        '<bpmn:userTask id="Esc" name="督办" camunda:candidateGroups="supervisor" />', "").format(
        extra="", flows=chain("s", "A", "wait", "pause", "B"), tail=chain("B", "e"), esc=chain("late", "e2")),
        extra=MSG)
    engine.repository.deploy([("waits.bpmn", w2)])
    before = snapshot(engine, at_timer)
    out = engine.migrations.migrate("waits", 1, 2)
    refused = {r["id"]: r["reasons"] for r in out["refused"]}
    assert [r["en"] for r in refused[at_timer]] == [
        "element pause is waiting (timer, message or join) and was changed in v2"]
    assert snapshot(engine, at_timer) == before
    assert [m["id"] for m in out["migrated"]] == [at_a]        # Esc never ran there: it may go


def test_a_removed_step_that_ran_is_refused(engine):
    v2 = bpmn("mig", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="B" name="办理" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" />
{chain("s", "B", "e")}""", name="迁移测试")
    engine.repository.deploy([("mig.bpmn", V1)])
    iid = engine.runtime.start("mig")
    complete(engine, iid, "A")
    at_a = engine.runtime.start("mig")
    engine.repository.deploy([("mig.bpmn", v2)])
    out = engine.migrations.migrate("mig", 1, 2)
    reasons = {r["id"]: [x["text"] for x in r["reasons"]] for r in out["refused"]}
    assert reasons[iid] == ["环节 受理（A） 已执行且在新版本中被删除 (element A already ran and was removed in v2)"]
    assert reasons[at_a] == ["环节 受理（A） 正在进行且在新版本中被删除 (element A holds a token now and was removed in v2)"]
    assert out["migrated"] == []


def test_a_bundled_diagram_with_an_added_precheck_step(engine):
    """appeal_basic.bpmn as shipped, then the same file with a 预审 step between 受理登记 and
    分派承办部门 (the way a designer would insert it in the Modeler)."""
    v1 = (ROOT / "bpmn" / "appeal_basic.bpmn").read_text(encoding="utf-8")
    v2 = v1.replace('<bpmn:incoming>Flow_accept_route</bpmn:incoming>',
                    '<bpmn:incoming>Flow_precheck_route</bpmn:incoming>')
    v2 = v2.replace('<bpmn:sequenceFlow id="Flow_accept_route" sourceRef="Task_accept" targetRef="Task_route" />',
                    '<bpmn:sequenceFlow id="Flow_accept_route" sourceRef="Task_accept" targetRef="Task_precheck" />\n'
                    '    <bpmn:userTask id="Task_precheck" name="预审" camunda:candidateGroups="acceptor">\n'
                    '      <bpmn:incoming>Flow_accept_route</bpmn:incoming>\n'
                    '      <bpmn:outgoing>Flow_precheck_route</bpmn:outgoing>\n'
                    '    </bpmn:userTask>\n'
                    '    <bpmn:sequenceFlow id="Flow_precheck_route" sourceRef="Task_precheck" targetRef="Task_route" />')
    assert v2.count("Task_precheck") == 3 and v2.count("Flow_precheck_route") == 3
    engine.repository.deploy([("appeal_basic.bpmn", v1)])
    accept = {"category": "policy", "summary": "用地指标", "urgent": False}
    at_accept = engine.runtime.start("appeal_basic", {"company": "甲"}, business_key="AB-1")
    at_handle = engine.runtime.start("appeal_basic", {"company": "乙"}, business_key="AB-2")
    complete(engine, at_handle, "Task_accept", data=accept)
    handle_row = open_tasks(engine, at_handle)["Task_handle"]
    overdue_job = snapshot(engine, at_handle)["jobs"]
    assert sorted(kind for _, kind, _ in overdue_job) == ["sla", "sla", "sla", "timer"]   # 超期5天 and the colours
    engine.repository.deploy([("appeal_basic.bpmn", v2)])
    assert "Task_precheck" in [c["id"] for c in engine.repository.diff("appeal_basic", 1, 2)["added"]]

    plan = engine.migrations.plan("appeal_basic", 1, 2)
    assert {i["id"]: i["can_migrate"] for i in plan["instances"]} == {at_accept: True, at_handle: True}
    assert plan["changes"]["added"] == [{"id": "Task_precheck", "name": "预审"}]
    out = engine.migrations.migrate("appeal_basic", 1, 2, user="admin")
    assert len(out["migrated"]) == 2 and not out["refused"]

    # the one past the new step goes on where it was (same open row, same overdue timer)
    assert open_tasks(engine, at_handle)["Task_handle"]["id"] == handle_row["id"]
    assert snapshot(engine, at_handle)["jobs"] == overdue_job
    complete(engine, at_accept, "Task_accept", data=accept)
    assert list(open_tasks(engine, at_accept)) == ["Task_precheck"]
    complete(engine, at_accept, "Task_precheck")
    assert open_tasks(engine, at_accept)["Task_handle"]["candidate_groups"] == ["dept_policy"]   # routed on
    diagram = engine.history.diagram(at_accept)
    assert diagram["version"] == 2 and "Task_precheck" in diagram["completed"]


# -- CLI, REST, admin page ------------------------------------------------------------------------
CHANGED_A = V1.replace(b'camunda:candidateGroups="acceptor"', b'camunda:candidateGroups="acceptor2"')


def two_instances(engine, v2=CHANGED_A):
    """v1 with one instance past A (refused once A changes) and one at A (moves)."""
    engine.repository.deploy([("mig.bpmn", V1)])
    past_a = engine.runtime.start("mig", business_key="P-1")
    complete(engine, past_a, "A")
    at_a = engine.runtime.start("mig", business_key="P-2")
    engine.repository.deploy([("mig.bpmn", v2)])
    return past_a, at_a


def test_cli_migrate_prints_a_table_and_exits_3_when_some_were_refused(engine, db_url):
    from click.testing import CliRunner
    from qihu.cli import main

    def qihu(*args):
        r = CliRunner().invoke(main, list(args), env={"QIHU_DATABASE_URL": db_url}, catch_exceptions=False)
        return r.exit_code, r.output

    past_a, at_a = two_instances(engine)
    before = snapshot(engine, at_a)
    code, out = qihu("migrate", "mig", "--from", "1", "--to", "2", "--dry-run")
    assert code == 3
    assert out.splitlines() == [
        f"可迁移 would migrate\t{at_a}\tP-2\t重新派发 reset: A",
        f"拒绝 refused\t{past_a}\tP-1\t环节 受理（A） 已执行且在新版本中被修改 (element A already ran and was changed in v2)",
        "mig v1 -> v2: 1 would migrate, 1 refused (dry run: nothing changed)"]
    assert snapshot(engine, at_a) == before
    code, out = qihu("migrate", "mig", "--from", "1", "--to", "2", "--instance", at_a, "--user", "ops")
    assert code == 0 and out.splitlines() == [f"已迁移 migrated\t{at_a}\tP-2\t重新派发 reset: A",
                                              "mig v1 -> v2: 1 migrated, 0 refused"]
    assert engine.history.events(at_a, ["instance_migrated"])[0]["user"] == "ops"
    code, out = qihu("migrate", "mig", "--from", "2", "--to", "1")
    assert code == 1 and "to version 1 must be newer than from version 2" in out
    code, out = qihu("migrate", "mig", "--from", "1", "--to", "2", "--instance", "nope")
    assert code == 1 and "no instance nope" in out


def test_rest_migrate(engine):
    from qihu.web.app import create_app
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    engine.accounts.add_user("li", "pw-for-tests", groups=["acceptor"])
    c = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()
    admin, li = {"X-Qihu-User": "admin"}, {"X-Qihu-User": "li"}
    past_a, at_a = two_instances(engine)
    before = snapshot(engine, at_a)
    url = "/api/definitions/mig/migrate"
    assert c.post(url, json={"from": 1, "to": 2}, headers=li).status_code == 403
    r = c.post(url, json={"from": 1, "to": 2, "dry_run": True}, headers=admin)
    assert r.status_code == 200
    body = r.get_json()
    assert body["dry_run"] is True and [m["id"] for m in body["migrated"]] == [at_a]
    assert [m["id"] for m in body["refused"]] == [past_a] and "already ran" in body["refused"][0]["reasons"][0]["en"]
    assert snapshot(engine, at_a) == before
    r = c.post(url, json={"from": 1, "to": 2, "instances": []}, headers=admin)       # none named: none moves
    assert r.status_code == 200 and r.get_json()["migrated"] == r.get_json()["refused"] == []
    assert snapshot(engine, at_a) == before
    r = c.post(url, json={"from": 1, "to": 2, "instances": [at_a]}, headers=admin)
    assert r.status_code == 200 and [m["id"] for m in r.get_json()["migrated"]] == [at_a]
    assert engine.history.events(at_a, ["instance_migrated"])[0]["user"] == "admin"
    # bad bodies
    assert c.post(url, json={"to": 2}, headers=admin).status_code == 400
    assert c.post(url, json={"from": 1, "to": 2, "instances": "x"}, headers=admin).status_code == 400
    assert c.post(url, json={"from": 2, "to": 2}, headers=admin).status_code == 422
    assert c.post(url, json={"from": 1, "to": 9}, headers=admin).status_code == 404
    assert c.post("/api/definitions/nope/migrate", json={"from": 1, "to": 2}, headers=admin).status_code == 404
    r = c.post(url, json={"from": 1, "to": 2, "instances": ["nope"]}, headers=admin)
    assert r.status_code == 404 and "no instance nope" in r.get_json()["error"]


def test_admin_page_previews_then_migrates(engine):
    from qihu.web.app import create_app
    from tests.web_util import PASSWORD, add_people, sign_in, token
    add_people(engine)
    engine.accounts.add_user("admin", PASSWORD, groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True})
    past_a, at_a = two_instances(engine)
    c = app.test_client()
    assert sign_in(c, "admin").status_code == 302
    page = c.get("/admin/processes/mig").get_data(as_text=True)
    assert "迁移运行中的实例" in page and "预览迁移" in page and "确认迁移" not in page

    before = snapshot(engine, at_a)
    r = c.get("/admin/processes/mig?migrate_from=1&migrate_to=2")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "v1 → v2 预览" in page
    assert f'data-instance="{at_a}" class="is-ok"' in page and f'data-instance="{past_a}" class="is-refused"' in page
    assert "环节 受理（A） 已执行且在新版本中被修改" in page and "将重新派发：受理（A）" in page and "<td>办理中</td>" in page
    assert "确认迁移 1 个实例" in page
    assert snapshot(engine, at_a) == before                            # the preview changed nothing
    bad = c.get("/admin/processes/mig?migrate_from=2&migrate_to=1").get_data(as_text=True)
    assert "只能迁移到更新的版本" in bad and "确认迁移" not in bad

    csrf = token(page)
    assert c.post("/admin/processes/mig/migrate", data={"from": "1", "to": "2", "instance": [at_a]}).status_code == 400
    r = c.post("/admin/processes/mig/migrate", data={"csrf_token": csrf, "from": "1", "to": "2",
                                                     "instance": [at_a, past_a]})
    assert r.status_code == 302
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "已将 1 个实例从 v1 迁移到 v2" in page and "1 个实例未迁移：P-1：环节 受理（A） 已执行且在新版本中被修改" in page
    assert engine.runtime.get(at_a)["definition_id"] == engine.repository.versions("mig")[1]["id"]
    assert engine.runtime.get(past_a)["definition_id"] == engine.repository.versions("mig")[0]["id"]
    # an instance page shows the migration on its trail
    trail = [t["text"] for t in appeals.of(engine).trail(at_a)]
    assert "流程从第 1 版迁移到第 2 版，重新派发「受理」" in trail
    # non-administrators may neither preview nor migrate
    li = app.test_client()
    assert sign_in(li, "li").status_code == 302
    assert li.get("/admin/processes/mig?migrate_from=1&migrate_to=2").status_code == 403
    li_csrf = token(li.get("/inbox").get_data(as_text=True))
    assert li.post("/admin/processes/mig/migrate", data={"csrf_token": li_csrf, "from": "1", "to": "2",
                                                        "instance": [past_a]}).status_code == 403


def test_a_changed_open_task_with_a_boundary_timer_is_refused(engine):
    engine.repository.deploy([("waits.bpmn", W1)])
    iid = engine.runtime.start("waits")
    changed_a = W1.replace(b'candidateGroups="acceptor"', b'candidateGroups="acceptor2"')
    engine.repository.deploy([("waits.bpmn", changed_a)])
    before = snapshot(engine, iid)
    [r] = engine.migrations.migrate("waits", 1, 2)["refused"]
    assert r["reasons"][0]["text"] == ("环节 受理（A） 带边界事件且在新版本中被修改（其计时不能重来） (element A has boundary "
                                       "events and was changed in v2 (their timers cannot restart))")
    assert snapshot(engine, iid) == before


def sub(inner):
    return bpmn("nest", f"""<bpmn:startEvent id="s" />
<bpmn:subProcess id="SP" name="联合办理">
  <bpmn:startEvent id="ss" />
  {inner}
  <bpmn:endEvent id="se" />
</bpmn:subProcess>
<bpmn:userTask id="B" name="办结" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" />
{chain("s", "SP", "B", "e")}""")


def test_an_instance_inside_an_embedded_subprocess_moves(engine):
    x = '<bpmn:userTask id="X" name="会商" camunda:candidateGroups="dept" />'
    y = '<bpmn:userTask id="Y" name="会签" camunda:candidateGroups="dept" />'
    engine.repository.deploy([("nest.bpmn", sub(x + chain("ss", "X", "se")))])
    iid = engine.runtime.start("nest")
    engine.repository.deploy([("nest.bpmn", sub(x + y + chain("ss", "X", "Y", "se")))])
    out = engine.migrations.migrate("nest", 1, 2)
    assert [m["id"] for m in out["migrated"]] == [iid] and out["migrated"][0]["added"] == ["Y"]
    complete(engine, iid, "X")
    assert list(open_tasks(engine, iid)) == ["Y"]
    complete(engine, iid, "Y")
    complete(engine, iid, "B")
    assert engine.runtime.get(iid)["status"] == "completed"
