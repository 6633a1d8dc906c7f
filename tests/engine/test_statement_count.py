"""Issue 17, fewer round trips: a step of an appeal (appeal_basic, the appeal domain installed,
as every qihu process runs) issues at most 5 SQL statements on PostgreSQL — starting it,
completing a user task, firing a timer — counted with SQLAlchemy's before_cursor_execute hook
(an executemany counts as one). The step's rows are gathered in its unit of work and written
together (engine/runtime/step_writes.py); on both databases they are the rows written before,
and a step that loses a race is still refused with Conflict and writes nothing."""
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from qihu import appeals
from qihu.appeals.models import AppealFact, FigureMonth
from qihu.engine.errors import Conflict, InvalidState
from qihu.engine.storage.models import HistoryEvent, Job, Task, TaskCandidate
from tests.engine.test_runtime import TWO_TASKS, registry, route

BASIC = Path(__file__).resolve().parents[2] / "bpmn" / "appeal_basic.bpmn"
BOUND = 5
ACCEPT = {"category": "policy", "summary": "用地指标未落实", "urgent": False}


@pytest.fixture
def basic(make_engine):
    # The calendar's freshness check (two aggregate reads) runs once per calendar_refresh
    # seconds, not per step; a long interval keeps it out of the counted steps on a slow machine.
    e = make_engine(calendar_refresh=3600)
    e.repository.deploy([BASIC])
    for user, groups in {"li": ["acceptor"], "zheng": ["dept_policy"], "du": ["supervisor"]}.items():
        e.tasks.add_member(user, *groups)
    return e


@contextmanager
def counted(engine):
    """The statements the engine's connections send while the block runs."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))
    event.listen(engine.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", record)


def ready(e, iid, element):
    [t] = [t for t in e.tasks.list(instance_id=iid) if t["element_id"] == element]
    return t


def walk(e, clock):
    """Start an appeal, accept it, let the department's overdue timer and first colour job fire,
    complete the department's task; returns the instance id and the statements of each step."""
    e.runtime.start("appeal_basic", {"company": "热身公司"}, business_key="QH-0")   # caches warm, as in a running process
    steps = {}
    with counted(e) as steps["start"]:
        iid = e.runtime.start("appeal_basic", {"company": "湖州某新材料有限公司"}, business_key="QH-1")
    accept = ready(e, iid, "Task_accept")
    with counted(e) as steps["complete 受理登记"]:
        e.tasks.complete(accept["id"], "li", ACCEPT)
    with e.db.read() as s:
        timer = s.scalars(select(Job).where(Job.instance_id == iid, Job.kind == "timer")).one()
    clock.set(timer.due_at)
    with counted(e) as steps["timer 超期5天"]:
        assert e.runtime.fire_job(timer.id)
    with e.db.read() as s:
        colour = s.scalars(select(Job).where(Job.instance_id == iid, Job.kind == "sla").order_by(Job.due_at)).first()
    with counted(e) as steps["SLA colour (a job, not a step)"]:
        assert e.runtime.fire_job(colour.id)
    assert colour.note == "yellow"
    handle = ready(e, iid, "Task_handle")
    with counted(e) as steps["complete 部门办理"]:
        e.tasks.complete(handle["id"], "zheng", {"result": "solved", "reply": "已落实"})
    return iid, steps


def test_a_step_of_an_appeal_sends_at_most_five_statements_to_postgresql(basic, clock):
    iid, steps = walk(basic, clock)
    if basic.db.is_sqlite:
        # in-process, round trips cost nothing: one executemany per kind of row, each table
        # read at most once per step (the rows themselves: the next test)
        for name, statements in steps.items():
            reads = [s for s in statements if s.startswith("SELECT")]
            assert len(reads) <= 4, f"{name}: {len(reads)} reads:\n" + "\n".join(reads)
        return
    for name, statements in steps.items():
        assert len(statements) <= BOUND, (f"{name}: {len(statements)} statements, at most {BOUND}:\n"
                                          + "\n".join(s[:300] for s in statements))
    # the writes of each step are one statement
    for name, statements in steps.items():
        writes = [s for s in statements if not s.startswith("SELECT")]
        assert len(writes) <= 2, f"{name}: " + "\n".join(s[:300] for s in writes)    # a start: INSERT instance, then the rest


def test_the_steps_write_the_rows_they_wrote_before(basic, clock):
    e = basic
    iid, _ = walk(e, clock)
    with e.db.read() as s:
        tasks = s.execute(select(Task.element_id, Task.status, Task.assignee, Task.completed_by, Task.version,
                                 Task.candidate_groups, Task.sla_colour, Task.due_at.is_not(None))
                          .where(Task.instance_id == iid).order_by(Task.created_at, Task.element_id)).all()
        assert [tuple(t) for t in tasks] == [
            ("Task_accept", "completed", "li", "li", 2, "acceptor", "green", True),
            ("Task_handle", "completed", "zheng", "zheng", 2, "dept_policy", "yellow", True),
            ("Task_rate", "ready", None, None, 1, "acceptor", "green", True)]
        # the candidate rows' copies (migration 0005's triggers) follow the task rows
        copies = s.execute(select(TaskCandidate.name, TaskCandidate.status, TaskCandidate.assignee,
                                  TaskCandidate.task_name, TaskCandidate.business_key, TaskCandidate.candidates)
                           .join(Task, Task.id == TaskCandidate.task_id).where(Task.instance_id == iid)
                           .order_by(Task.created_at, TaskCandidate.name)).all()
        assert [tuple(c) for c in copies] == [("acceptor", "completed", "li", "受理登记", "QH-1", 1),
                                              ("dept_policy", "completed", "zheng", "部门办理", "QH-1", 1),
                                              ("acceptor", "ready", None, "企业评价", "QH-1", 1)]
        # the open task's colour jobs only: the closed tasks' jobs and the fired timer are gone
        jobs = s.execute(select(Job.kind, Job.task_id).where(Job.instance_id == iid)).all()
        rate = next(t for t in s.scalars(select(Task).where(Task.instance_id == iid, Task.status == "ready")))
        assert jobs and {(k, t) for k, t in jobs} == {("sla", rate.id)}
        types = list(s.scalars(select(HistoryEvent.type).where(HistoryEvent.instance_id == iid)
                               .order_by(HistoryEvent.id)))
        assert types[0] == "instance_started" and types.count("task_completed") == 2
        assert types.count("timer_fired") == 1 and types.count("task_created") == 3
        assert types.count("sla_changed") == 1
        fact = s.execute(select(AppealFact).where(AppealFact.instance_id == iid)).scalar_one()
        assert (fact.department, fact.status, fact.outcome, fact.open_task) == ("dept_policy", "running", "solved",
                                                                              "企业评价")
        assert [st["element"] for st in fact.stages] == ["Task_accept", "Task_handle", "Task_rate"]
        assert [st["status"] for st in fact.stages] == ["completed", "completed", "ready"]
        months = {(m.department, m.accepted, m.closed, m.solved) for m in s.scalars(select(FigureMonth))}
        # the warm-up appeal counts under no department yet; this one moved to its department at 受理
        assert months == {("", 1, 0, 0), ("dept_policy", 1, 1, 1)}
    assert appeals.of(e).figures.check_consistency() == []     # the counters equal a recount of the facts


def test_a_completion_that_loses_a_race_is_refused_and_writes_nothing(make_engine):
    """Two processes complete the same task; the second commits while the first is between its
    reads and its writes. On PostgreSQL the first then finds the task's version moved on: Conflict,
    and none of its rows (it would have inserted the same next task) is written. On SQLite
    writers are serialised: the second waits for the first, then finds the task done."""
    a = make_engine(handlers=registry(t_route=route))
    a.repository.deploy([("two.bpmn", TWO_TASKS)])
    b = make_engine(handlers=registry(t_route=route))
    iid = a.runtime.start("two")
    [t] = a.tasks.list(instance_id=iid)
    b.runtime.data(iid)          # both processes hold the instance's tree
    other: list[BaseException | str] = []
    done = threading.Event()

    def meanwhile(uow):
        b.listeners.step_saved.remove(meanwhile)

        def go():
            try:
                a.tasks.complete(t["id"], "li", {"category": "land"}, check=False)
                other.append("ok")
            except (Conflict, InvalidState) as err:
                other.append(err)
            finally:
                done.set()
        threading.Thread(target=go, daemon=True).start()
        done.wait(timeout=1 if b.db.is_sqlite else 10)   # SQLite: it waits for this writer
    b.listeners.step_saved.append(meanwhile)
    try:
        b.tasks.complete(t["id"], "wang", {"category": "water"}, check=False)
        first = "ok"
    except Conflict as err:
        first = err
    done.wait(timeout=30)
    if not b.db.is_sqlite:
        assert other == ["ok"] and isinstance(first, Conflict), (first, other)
    else:
        assert first == "ok" and isinstance(other[0], InvalidState), (first, other)
    winner = "li" if first != "ok" else "wang"
    with a.db.read() as s:
        rows = s.execute(select(Task.element_id, Task.status, Task.completed_by)
                         .where(Task.instance_id == iid).order_by(Task.created_at, Task.element_id)).all()
        assert [tuple(r) for r in rows] == [("a", "completed", winner), ("b", "ready", None)]
        assert s.scalar(select(func.count()).select_from(HistoryEvent).where(
            HistoryEvent.instance_id == iid, HistoryEvent.type == "task_completed")) == 1
    dept = "dept_land" if winner == "li" else "dept_water"
    assert [x["candidate_groups"] for x in a.tasks.list(instance_id=iid)] == [[dept]]
