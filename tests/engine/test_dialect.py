"""Camunda Modeler features, end to end: forms, assignment, due dates and priorities,
external-task parameters, timers as designers write them, messages, DMN, scripts and
call activities. Fixtures are in tests/data (Camunda Modeler 5, Camunda Platform 7 target).
"""
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qihu.engine.errors import DeployError, ValidationFailed
from qihu.engine.topics import HandlerRegistry
from qihu.engine.storage.models import HistoryEvent, Instance, Job, Subscription
from qihu.engine.runtime.worker import Worker
from tests.bpmn_util import bpmn, chain, flow

DATA = Path(__file__).resolve().parents[1] / "data"
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)   # conftest's ManualClock start (09:00 Beijing)


# -- helpers -------------------------------------------------------------------------------

def text_of(name):
    return (DATA / name).read_text(encoding="utf-8")


def deploy(engine, *names, replace=None):
    """Deploy fixture files as one bundle; `replace` = (name, old, new) edits one file first."""
    items = []
    for n in names:
        if replace and replace[0] == n:
            text = text_of(n)
            assert replace[1] in text
            items.append((n, text.replace(replace[1], replace[2]).encode("utf-8")))
        else:
            items.append(str(DATA / n))
    return engine.repository.deploy(items)


def tasks_by_element(engine, iid, status="ready"):
    return {t["element_id"]: t for t in engine.tasks.list(instance_id=iid, status=status, limit=500)}


def due(iso):
    return datetime.fromisoformat(iso).astimezone(timezone.utc)


def jobs(engine, iid):
    with engine.db.read() as s:
        rows = s.scalars(select(Job).where(Job.instance_id == iid).order_by(Job.id)).all()
        return [(j.element_id, j.kind, j.due_at) for j in rows]


def instance_version(engine, iid):
    with engine.db.read() as s:
        return s.scalar(select(Instance.version).where(Instance.id == iid))


def history_count(engine, iid):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.instance_id == iid))


def registry(**handlers):
    r = HandlerRegistry()
    for name, fn in handlers.items():
        r.register(name.replace("_", "."), fn)
    return r


# -- user task forms -------------------------------------------------------------------------

GOOD_FORM = {"company": "苏州某某科技有限公司", "employees": "250", "urgent": "true",
             "founded": "2020-05-01", "category": "env"}


@pytest.fixture
def form_task(engine):
    deploy(engine, "form_register.bpmn")
    iid = engine.runtime.start("form_register", {"source": "网上"})
    task = tasks_by_element(engine, iid)["Task_register"]
    return engine, iid, task


@pytest.mark.parametrize("data,fields", [
    ({"company": "苏", "employees": "很多", "urgent": "也许", "founded": "去年", "category": "水利"},
     {"company", "employees", "urgent", "founded", "category"}),
    ({"employees": 0}, {"company", "employees"}),                                    # required, min
    ({"company": "苏" * 21, "employees": "100001"}, {"company", "employees"}),        # maxlength, max
    ({**GOOD_FORM, "company": ""}, {"company"}),                                      # required
    ({**GOOD_FORM, "employees": True}, {"employees"}),                                # a bool is no long
], ids=["all-wrong", "required-min", "maxlength-max", "empty-required", "bool-as-long"])
def test_form_validation_failure_changes_nothing(form_task, data, fields):
    engine, iid, task = form_task
    before = (instance_version(engine, iid), history_count(engine, iid), engine.runtime.data(iid))
    with pytest.raises(ValidationFailed) as info:
        engine.tasks.complete(task["id"], "zhangsan", data, check=False)
    assert set(info.value.errors) == fields, info.value.errors
    assert all(isinstance(m, str) and m for m in info.value.errors.values())
    assert tasks_by_element(engine, iid).keys() == {"Task_register"}
    assert (instance_version(engine, iid), history_count(engine, iid), engine.runtime.data(iid)) == before


def test_form_good_values_are_stored_typed(form_task):
    engine, iid, task = form_task
    engine.tasks.complete(task["id"], "zhangsan", GOOD_FORM, check=False)
    assert tasks_by_element(engine, iid).keys() == {"Task_next"}
    data = engine.runtime.data(iid)
    assert data["company"] == "苏州某某科技有限公司"
    assert data["employees"] == 250 and type(data["employees"]) is int
    assert data["urgent"] is True
    assert data["founded"] == "2020-05-01"
    assert data["category"] == "env"
    assert data["source"] == "网上"
    done = tasks_by_element(engine, iid, status="completed")["Task_register"]
    assert done["completed_by"] == "zhangsan"


def test_form_boolean_false_and_optional_fields(form_task):
    engine, iid, task = form_task
    engine.tasks.complete(task["id"], "zhangsan", {"company": "某某公司", "employees": 7, "urgent": "false"},
                          check=False)
    data = engine.runtime.data(iid)
    assert data["employees"] == 7 and data["urgent"] is False
    assert "founded" not in data or data["founded"] is None


def test_form_is_described_for_the_ui(form_task):
    engine, iid, task = form_task
    form = engine.tasks.get(task["id"])["form"]
    fields = {f["id"]: f for f in form["fields"]}
    assert [f["type"] for f in form["fields"]] == ["string", "long", "boolean", "date", "enum"]
    assert fields["company"]["label"] == "企业名称"
    assert set(fields["company"]["validation"]) == {"required", "minlength", "maxlength"}
    assert fields["employees"]["validation"] == {"min": "1", "max": "100000"}
    assert [o["name"] for o in fields["category"]["options"]] == ["环保", "税务", "其他"]


# -- assignment, due dates, priority --------------------------------------------------------

@pytest.fixture
def assigned(engine):
    deploy(engine, "assignment.bpmn")
    iid = engine.runtime.start("assignment", {"starter": "zhaoliu", "department": "dept_env",
                                              "reviewers": ["zhou", "wu"], "urgent": True})
    return engine, iid, tasks_by_element(engine, iid)


def test_assignee_literal_and_expression(assigned):
    engine, iid, tasks = assigned
    assert tasks["Task_assignee_literal"]["assignee"] == "zhangsan"
    assert tasks["Task_assignee_expr"]["assignee"] == "zhaoliu"
    assert {t["id"] for t in engine.tasks.list(user="zhaoliu", groups=[])} >= {tasks["Task_assignee_expr"]["id"]}
    assert tasks["Task_candidates"]["assignee"] is None


def test_candidate_groups_and_users(assigned):
    engine, iid, tasks = assigned
    t = tasks["Task_candidates"]
    assert t["candidate_groups"] == ["acceptor", "supervisor"]
    assert t["candidate_users"] == ["lisi", "wangwu"]
    t = tasks["Task_candidates_expr"]
    assert t["candidate_groups"] == ["dept_env"]
    assert t["candidate_users"] == ["zhou", "wu"]
    # the inbox finds them through the candidate rows
    mine = {x["element_id"] for x in engine.tasks.list(user="wu", groups=[])}
    assert "Task_candidates_expr" in mine and "Task_candidates" not in mine
    theirs = {x["element_id"] for x in engine.tasks.list(user="nobody", groups=["dept_env"])}
    assert "Task_candidates_expr" in theirs


def test_lane_is_the_candidate_group_when_none_is_given(assigned):
    engine, iid, tasks = assigned
    assert tasks["Task_lane_acceptor"]["candidate_groups"] == ["受理员"]
    assert tasks["Task_lane_acceptor"]["lane"] == "受理员"
    assert tasks["Task_lane_supervisor"]["candidate_groups"] == ["督查室"]
    assert tasks["Task_lane_supervisor"]["lane"] == "督查室"
    # explicit assignment wins over the lane
    assert tasks["Task_candidates"]["lane"] == "受理员"
    assert tasks["Task_candidates"]["candidate_groups"] == ["acceptor", "supervisor"]
    assert tasks["Task_assignee_literal"]["candidate_groups"] == []
    visible = {x["element_id"] for x in engine.tasks.list(user="someone", groups=["督查室"])}
    assert "Task_lane_supervisor" in visible and "Task_lane_acceptor" not in visible


def test_due_dates(assigned):
    engine, iid, tasks = assigned
    # ISO text with a zone: 18:00 +08:00 = 10:00 UTC
    assert due(tasks["Task_due_offset"]["due_at"]) == datetime(2026, 11, 5, 10, 0, tzinfo=timezone.utc)
    # ${now() + timedelta(days=2)}: the engine's (manual) clock
    assert due(tasks["Task_due_expr"]["due_at"]) == START + timedelta(days=2)
    # a duration is relative to when the task was created
    assert due(tasks["Task_due_duration"]["due_at"]) == START + timedelta(days=3)
    assert tasks["Task_candidates"]["due_at"] is None


@pytest.mark.parametrize("text", ["2026-11-05T18:00:00", "${datetime(2026, 11, 5, 18, 0)}"],
                         ids=["iso-text", "naive-datetime-expression"])
def test_due_date_without_zone_is_beijing_time(engine, text):
    deploy(engine, "due_date_text.bpmn",
           replace=("due_date_text.bpmn", 'camunda:dueDate="2026-11-05T18:00:00"', f'camunda:dueDate="{text}"'))
    iid = engine.runtime.start("due_date_text")
    task = tasks_by_element(engine, iid)["Task_due"]
    # 18:00 in Asia/Shanghai = 10:00 UTC
    assert due(task["due_at"]) == datetime(2026, 11, 5, 10, 0, tzinfo=timezone.utc)


def test_due_duration_is_relative_to_the_clock_when_the_task_is_created(engine, clock):
    deploy(engine, "assignment.bpmn")
    clock.advance(days=10, hours=5)
    iid = engine.runtime.start("assignment", {"starter": "a", "department": "d", "reviewers": [], "urgent": False})
    tasks = tasks_by_element(engine, iid)
    assert due(tasks["Task_due_duration"]["due_at"]) == START + timedelta(days=13, hours=5)
    assert due(tasks["Task_due_expr"]["due_at"]) == START + timedelta(days=12, hours=5)


def test_priority_literal_expression_and_default(assigned):
    engine, iid, tasks = assigned
    assert tasks["Task_priority_literal"]["priority"] == 80
    assert tasks["Task_priority_expr"]["priority"] == 90
    assert tasks["Task_candidates"]["priority"] == 50
    ordered = [t["element_id"] for t in engine.tasks.list(instance_id=iid, order="priority", limit=500)]
    assert ordered[:2] == ["Task_priority_expr", "Task_priority_literal"]


def test_priority_expression_false_branch(engine):
    deploy(engine, "assignment.bpmn")
    iid = engine.runtime.start("assignment", {"starter": "a", "department": "d", "reviewers": "x, y",
                                              "urgent": False})
    tasks = tasks_by_element(engine, iid)
    assert tasks["Task_priority_expr"]["priority"] == 10
    # an expression giving a comma list works like the literal list
    assert tasks["Task_candidates_expr"]["candidate_users"] == ["x", "y"]


# -- external tasks: camunda:inputOutput ---------------------------------------------------------

def test_external_task_input_output_mapping(make_engine):
    calls = {}

    def io_handler(**inputs):
        calls["io"] = inputs
        return {"result": 21, "extra": "不应写入流程变量"}

    def all_handler(**variables):
        calls["all"] = variables
        return {"seen": sorted(variables)}

    engine = make_engine(handlers=registry(test_io=io_handler, test_all=all_handler))
    deploy(engine, "external_io.bpmn")
    iid = engine.runtime.start("external_io", {"a": 4, "company": "某某公司"})
    assert calls["io"] == {
        "a_plus_one": 5,
        "office": "生态环境局",
        "items": [4, "常量", 40],
        "info": {"company": "某某公司", "city": "苏州"},
        "tripled": 12,
    }
    data = engine.runtime.data(iid)
    assert data["doubled"] == 42
    for name in ("result", "extra", "a_plus_one", "office", "items", "info", "tripled"):
        assert name not in data, name
    # without inputOutput the handler gets every variable, and its result is merged
    assert calls["all"] == {"a": 4, "company": "某某公司", "doubled": 42}
    assert data["seen"] == ["a", "company", "doubled"]
    assert tasks_by_element(engine, iid).keys() == {"Task_wait"}


def test_external_task_handler_with_named_parameters(make_engine):
    """A handler that names its parameters gets just those (of the declared inputs)."""
    seen = []

    def io_handler(a_plus_one, office):
        seen.append((a_plus_one, office))
        return {"result": a_plus_one}

    engine = make_engine(handlers=registry(test_io=io_handler, test_all=lambda: {}))
    deploy(engine, "external_io.bpmn")
    iid = engine.runtime.start("external_io", {"a": 1, "company": "x"})
    assert seen == [(2, "生态环境局")]
    assert engine.runtime.data(iid)["doubled"] == 4


# -- timers as designers write them ------------------------------------------------------------

def test_intermediate_timer_bare_duration(engine, clock):
    deploy(engine, "timer_intermediate.bpmn")
    iid = engine.runtime.start("timer_intermediate")
    assert jobs(engine, iid) == [("Timer_wait", "timer", START + timedelta(minutes=5))]
    worker = Worker(engine)
    assert worker.run_once() == 0
    clock.advance(minutes=4, seconds=59)
    assert worker.run_once() == 0
    assert tasks_by_element(engine, iid) == {}
    clock.advance(seconds=2)
    assert worker.run_once() == 1
    assert tasks_by_element(engine, iid).keys() == {"Task_after"}
    assert jobs(engine, iid) == []
    assert worker.run_once() == 0


@pytest.mark.parametrize("expression", [
    '${"PT" + str(minutes) + "M"}',
    "${timedelta(minutes=minutes)}",
], ids=["iso-text", "timedelta"])
def test_intermediate_timer_python_expression(engine, clock, expression):
    deploy(engine, "timer_intermediate.bpmn", replace=("timer_intermediate.bpmn", ">PT5M<", f">{expression}<"))
    iid = engine.runtime.start("timer_intermediate", {"minutes": 15})
    assert jobs(engine, iid) == [("Timer_wait", "timer", START + timedelta(minutes=15))]
    worker = Worker(engine)
    clock.advance(minutes=14)
    assert worker.run_once() == 0
    clock.advance(minutes=1, seconds=1)
    assert worker.run_once() == 1
    assert tasks_by_element(engine, iid).keys() == {"Task_after"}


def test_intermediate_timer_date_is_beijing_time(engine, clock):
    deploy(engine, "timer_date.bpmn")
    iid = engine.runtime.start("timer_date")
    when = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)     # 09:00 in Asia/Shanghai
    assert jobs(engine, iid) == [("Timer_until", "timer", when)]
    worker = Worker(engine)
    clock.set(when - timedelta(seconds=1))
    assert worker.run_once() == 0
    clock.set(when + timedelta(seconds=1))
    assert worker.run_once() == 1
    assert tasks_by_element(engine, iid).keys() == {"Task_after"}


def test_non_interrupting_boundary_duration(engine, clock):
    deploy(engine, "timer_boundary.bpmn")
    iid = engine.runtime.start("timer_boundary")
    assert tasks_by_element(engine, iid).keys() == {"Task_handle"}
    assert jobs(engine, iid) == [("Timer_overdue", "timer", START + timedelta(days=2))]
    worker = Worker(engine)
    clock.advance(days=1, hours=23, minutes=59)
    assert worker.run_once() == 0
    clock.advance(minutes=2)
    assert worker.run_once() == 1
    # non-interrupting: the task stays, the escalation path runs beside it
    assert tasks_by_element(engine, iid).keys() == {"Task_handle", "Task_escalate"}
    assert [j for j in jobs(engine, iid) if j[2] <= clock.now()] == []
    clock.advance(days=5)
    assert worker.run_once() == 0
    assert tasks_by_element(engine, iid).keys() == {"Task_handle", "Task_escalate"}


def test_completing_the_task_removes_its_boundary_timer(engine, clock):
    deploy(engine, "timer_boundary.bpmn")
    iid = engine.runtime.start("timer_boundary")
    task = tasks_by_element(engine, iid)["Task_handle"]
    engine.tasks.complete(task["id"], "lisi", {}, check=False)
    assert jobs(engine, iid) == []
    clock.advance(days=3)
    assert Worker(engine).run_once() == 0
    assert engine.runtime.get(iid)["status"] == "completed"


def test_non_interrupting_boundary_cycle_fires_three_times(make_engine, clock):
    reminders = []
    engine = make_engine(handlers=registry(test_remind=lambda **kw: reminders.append(clock.now()) or {}))
    deploy(engine, "timer_cycle.bpmn")
    iid = engine.runtime.start("timer_cycle")
    assert jobs(engine, iid) == [("Timer_hourly", "timer", START + timedelta(hours=1))]
    worker = Worker(engine)
    assert worker.run_once() == 0
    for n in (1, 2, 3):
        clock.advance(minutes=59)
        assert worker.run_once() == 0
        clock.advance(minutes=1, seconds=1)
        assert worker.run_once() == 1, f"cycle {n}"
        assert len(reminders) == n
        assert tasks_by_element(engine, iid).keys() == {"Task_handle"}
    clock.advance(hours=5)
    assert worker.run_once() == 0
    assert len(reminders) == 3
    assert [j for j in jobs(engine, iid) if j[0] == "Timer_hourly"] == []
    # the task is still there and completing it ends the instance
    engine.tasks.complete(tasks_by_element(engine, iid)["Task_handle"]["id"], "lisi", {}, check=False)
    assert engine.runtime.get(iid)["status"] == "completed"


# -- messages ------------------------------------------------------------------------------

def test_message_correlated_by_business_key(engine):
    deploy(engine, "message_catch.bpmn")
    first = engine.runtime.start("message_catch", {"appeal_id": 101}, business_key="A-1")
    second = engine.runtime.start("message_catch", {"appeal_id": 102}, business_key="A-2")
    r = engine.runtime.correlate("appeal.supplement", business_key="A-2",
                                 payload={"material": "营业执照副本", "pages": 3})
    assert r == {"delivered": [second], "started": []}
    data = engine.runtime.data(second)
    assert data["material"] == "营业执照副本" and data["pages"] == 3 and data["appeal_id"] == 102
    assert tasks_by_element(engine, second).keys() == {"Task_review"}
    assert tasks_by_element(engine, first) == {}
    assert "material" not in engine.runtime.data(first)
    with engine.db.read() as s:
        assert s.scalars(select(Subscription.instance_id)).all() == [first]


def test_message_to_several_waiting_instances_needs_a_key(engine):
    from qihu.engine.errors import Conflict
    deploy(engine, "message_catch.bpmn")
    engine.runtime.start("message_catch", {"appeal_id": 1}, business_key="A-1")
    engine.runtime.start("message_catch", {"appeal_id": 2}, business_key="A-2")
    with pytest.raises(Conflict):
        engine.runtime.correlate("appeal.supplement", payload={"material": "x"})


def test_message_correlated_by_correlation_keys_property(engine):
    deploy(engine, "message_catch.bpmn")
    first = engine.runtime.start("message_catch", {"appeal_id": 101})
    second = engine.runtime.start("message_catch", {"appeal_id": 102})
    with engine.db.read() as s:
        stored = {r.instance_id: r.correlation for r in s.scalars(select(Subscription))}
    assert stored == {first: {"appeal_id": 101}, second: {"appeal_id": 102}}
    r = engine.runtime.correlate("appeal.supplement", correlation={"appeal_id": 102},
                                 payload={"material": "环评报告"})
    assert r == {"delivered": [second], "started": []}
    assert engine.runtime.data(second)["material"] == "环评报告"
    assert tasks_by_element(engine, first) == {}


def test_message_start_event_starts_an_instance(engine):
    deploy(engine, "message_start.bpmn")
    r = engine.runtime.correlate("appeal.submitted", business_key="B-7",
                                 payload={"company": "苏州某某科技有限公司", "summary": "用电报装"})
    assert r["delivered"] == [] and len(r["started"]) == 1
    iid = r["started"][0]
    inst = engine.runtime.get(iid)
    assert inst["definition_key"] == "message_start" and inst["business_key"] == "B-7"
    assert inst["status"] == "running"
    data = engine.runtime.data(iid)
    assert data["company"] == "苏州某某科技有限公司" and data["summary"] == "用电报装"
    assert tasks_by_element(engine, iid).keys() == {"Task_accept"}
    # a second message starts a second instance
    again = engine.runtime.correlate("appeal.submitted", payload={"company": "另一家公司"})
    assert len(again["started"]) == 1 and again["started"] != r["started"]


# -- DMN ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("category,board", [("环保", "生态环境局"), ("税务", "税务局"), ("安全生产", "应急管理局")])
def test_business_rule_task_with_dmn(engine, category, board):
    r = deploy(engine, "dmn_board.bpmn", "dmn_board.dmn")
    assert [d["key"] for d in r.definitions] == ["dmn_board"]
    iid = engine.runtime.start("dmn_board", {"category": category})
    data = engine.runtime.data(iid)
    # SpiffWorkflow's Camunda BusinessRuleTask merges the outputs (by name) into the task data
    assert data["board"] == board
    task = tasks_by_element(engine, iid)["Task_handle"]
    assert task["candidate_groups"] == [board]


def test_business_rule_task_no_rule_matches(engine):
    deploy(engine, "dmn_board.bpmn", "dmn_board.dmn")
    iid = engine.runtime.start("dmn_board", {"category": "其他", "board": "综合窗口"})
    assert engine.runtime.data(iid)["board"] == "综合窗口"


@pytest.mark.parametrize("amount,level", [(50000, "区级"), (2000000, "市级")])
def test_business_rule_task_with_numeric_comparisons(engine, amount, level):
    deploy(engine, "dmn_level.bpmn", "dmn_level.dmn")
    iid = engine.runtime.start("dmn_level", {"amount": amount})
    assert engine.runtime.data(iid)["level"] == level


# -- scripts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("category,element,board", [("环保", "Task_env", "生态环境局"),
                                                     ("税务", "Task_general", "综合窗口")])
def test_script_task_with_chinese_strings(engine, category, element, board):
    deploy(engine, "script_chinese.bpmn")
    iid = engine.runtime.start("script_chinese", {"company": "苏州某某科技有限公司", "category": category})
    data = engine.runtime.data(iid)
    assert data["greeting"] == "您好，苏州某某科技有限公司！"
    assert data["tags"] == ["环保", "税务"]
    assert data["board"] == board
    assert data["summary"] == f"苏州某某科技有限公司（{category}）→ {board}"
    tasks = tasks_by_element(engine, iid)
    assert tasks.keys() == {element}
    assert tasks[element]["candidate_groups"] == [board]


# -- call activity ---------------------------------------------------------------------------------

def test_call_activity_to_a_process_of_the_same_bundle(engine):
    r = deploy(engine, "call_parent.bpmn", "call_child.bpmn")
    assert sorted((d["key"], d["version"]) for d in r.definitions) == [("call_child", 1), ("call_parent", 1)]
    iid = engine.runtime.start("call_parent", {"company": "某某公司"})
    tasks = tasks_by_element(engine, iid)
    assert tasks.keys() == {"Task_child_review"}
    assert tasks["Task_child_review"]["candidate_groups"] == ["supervisor"]
    engine.tasks.complete(tasks["Task_child_review"]["id"], "qian", {"opinion": "同意"}, check=False)
    tasks = tasks_by_element(engine, iid)
    assert tasks.keys() == {"Task_parent_done"}
    data = engine.runtime.data(iid)
    assert data["child_note"] == "子流程已接收：某某公司"
    assert data["opinion"] == "同意"
    engine.tasks.complete(tasks["Task_parent_done"]["id"], "zhang", {}, check=False)
    assert engine.runtime.get(iid)["status"] == "completed"


def test_called_process_can_be_started_on_its_own(engine):
    deploy(engine, "call_parent.bpmn", "call_child.bpmn")
    iid = engine.runtime.start("call_child", {"company": "单独启动"})
    assert engine.runtime.data(iid)["child_note"] == "子流程已接收：单独启动"
    assert tasks_by_element(engine, iid).keys() == {"Task_child_review"}


NAIVE_EXPRESSIONS = bpmn("tz", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="t" name="办理" camunda:candidateGroups="g" camunda:dueDate="${{'2026-11-02T18:00:00'}}" />
<bpmn:boundaryEvent id="b" cancelActivity="false" attachedToRef="t"><bpmn:timerEventDefinition>
<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${{'2026-11-02T18:00:00'}}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:boundaryEvent id="b2" cancelActivity="false" attachedToRef="t"><bpmn:timerEventDefinition>
<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${{datetime(2026, 11, 2, 12, 0)}}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />
{chain("s", "t", "e")}{chain("b", "e2")}{chain("b2", "e3")}""")


def test_naive_times_from_expressions_are_beijing_time_for_timers_as_for_due_dates(engine):
    from qihu.engine.storage.models import Job
    from sqlalchemy import select
    engine.repository.deploy([("tz.bpmn", NAIVE_EXPRESSIONS)])
    iid = engine.runtime.start("tz")
    assert engine.tasks.list(instance_id=iid)[0]["due_at"] == "2026-11-02T10:00:00+00:00"
    with engine.db.read() as s:
        due = sorted(j.due_at.isoformat() for j in s.scalars(select(Job).where(Job.kind == "timer")))
    assert due == ["2026-11-02T04:00:00+00:00", "2026-11-02T10:00:00+00:00"]


# -- JUEL as Camunda designers write it ------------------------------------------------------------
@pytest.mark.parametrize("expression, python", [
    ("approved == true && !late", "approved == True  and   not late"),
    ("a != b || x eq 'a && !b'", "a != b  or  x == 'a && !b'"),
    ("x ne null and not y", "x != None and not y"),
    ("amount gt 100 && level le 2", "amount > 100  and  level <= 2"),
    ("workdays(5)", "workdays(5)"),
    ("approved == true ? 'li' : null", "('li' if approved == True else None)"),
    ("a ? b : c ? d : e", "(b if a else (d if c else e))"),
    ("a || b ? 'x ? y : z' : f(c ? 1 : 2)", "('x ? y : z' if a  or  b else f((1 if c else 2)))"),
    ("{'k': v}[k] ? x[1:2] : y", "(x[1:2] if {'k': v}[k] else y)"),
    ("empty reply || not empty note", "not reply  or  not  not note"),
    ("days div 2 mod 3", "days / 2 % 3"),
])
def test_juel_idioms_inside_dollar_braces_are_read_as_python(expression, python):
    from qihu.engine.dialect.specs import expression_of
    assert expression_of("${" + expression + "}") == python
    assert expression_of(expression) is None                      # not an expression: a constant


JUEL_GATEWAY = bpmn("juel_gateway", f"""<bpmn:startEvent id="s" />
<bpmn:exclusiveGateway id="g" default="f_no" />
<bpmn:userTask id="yes" name="同意" camunda:candidateGroups="acceptor" camunda:assignee="${{approved == true ? 'li' : null}}" />
<bpmn:userTask id="no" name="不同意" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" /><bpmn:endEvent id="e2" />
{chain("s", "g")}{flow("f_yes", "g", "yes", "${approved == true && !late}")}{flow("f_no", "g", "no")}
{chain("yes", "e")}{chain("no", "e2")}""")


@pytest.mark.parametrize("approved, late, step", [(True, False, "yes"), (True, True, "no"), (False, False, "no")])
def test_a_juel_gateway_condition_runs(engine, approved, late, step):
    engine.repository.deploy([("juel.bpmn", JUEL_GATEWAY)])
    iid = engine.runtime.start("juel_gateway", {"approved": approved, "late": late})
    [task] = engine.tasks.list(instance_id=iid)
    assert task["element_id"] == step
    # the conditional assignee `${approved == true ? 'li' : null}`
    assert task["assignee"] == ("li" if step == "yes" else None)


def test_juel_that_is_not_python_is_refused_at_deploy_with_its_place(engine):
    """A conditional without its `:` has no reading: a clear deploy error, not a surprise at run time."""
    broken = JUEL_GATEWAY.replace(b"? 'li' : null}", b"? 'li'}")
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("juel.bpmn", broken)])
    [p] = e.value.problems
    assert p.element == "yes" and "camunda:assignee" in p.message and "SyntaxError" in p.message
