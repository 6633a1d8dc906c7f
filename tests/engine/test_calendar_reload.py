"""A calendar changed by another process reaches every running one within the refresh time,
without a restart; a loaded year re-plans the provisional (暂定) deadlines that reach into it."""
import time
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from qihu import appeals
from qihu.engine.dialect import timers
from qihu.engine.dialect.state import find_task
from qihu.engine.runtime.replan import replan_year, shift
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import Job, Task
from qihu.engine.types import EventType
from qihu.engine.workcalendar import WorkCalendar, YearSource, statutory_workday
from tests.bpmn_util import bpmn, chain

BJ = ZoneInfo("Asia/Shanghai")


def bj(y, m, d, h=9, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=BJ)


def utc(y, m, d, h=9, mi=0):
    return bj(y, m, d, h, mi).astimezone(timezone.utc).isoformat()


class Tick:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


# A hypothetical official 2027 that differs from the statutory rules in early January:
# Mon 4 Jan off (a bridge day), Sat 9 Jan worked in exchange.
HOLIDAYS_2027 = [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4)]
WORKDAYS_2027 = [date(2027, 1, 9)]


def test_a_year_loaded_by_another_process_is_seen_within_the_refresh(engine, clock):
    tick = Tick()
    a = WorkCalendar(engine.db, provisional=True, today=clock.now, refresh=30, monotonic=tick)
    b = WorkCalendar(engine.db, provisional=True, today=clock.now, refresh=30, monotonic=tick)
    assert b.is_workday(date(2027, 1, 4)) and not b.is_workday(date(2027, 1, 9))   # provisional, cached
    assert b.year_status(2027) == YearSource.PROVISIONAL
    a.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, user="admin")
    tick.t += 29.9
    assert b.is_workday(date(2027, 1, 4))               # not checked yet: the cache still answers
    tick.t += 0.1
    assert not b.is_workday(date(2027, 1, 4)) and b.is_workday(date(2027, 1, 9))
    assert b.year_status(2027) == YearSource.LOADED

    # a day changed in place, removed, and another added in its place within one interval
    assert b.is_workday(date(2027, 3, 3), "庆元县")
    a.set_day(date(2027, 3, 3), False, "庆元县")
    tick.t += 30
    assert not b.is_workday(date(2027, 3, 3), "庆元县")
    a.set_day(date(2027, 3, 3), True, "庆元县")          # the same row, updated
    tick.t += 30
    assert b.is_workday(date(2027, 3, 3), "庆元县")
    a.clear_day(date(2027, 3, 3), "庆元县")
    a.set_day(date(2027, 3, 4), True, "庆元县")          # SQLite may give the new row the same id
    a.set_day(date(2027, 3, 6), True, "庆元县")
    assert not b.is_workday(date(2027, 3, 6), "庆元县")
    tick.t += 30
    assert b.is_workday(date(2027, 3, 6), "庆元县")


def test_two_engines_on_one_database(make_engine, clock):
    one, two = make_engine(calendar_refresh=0.2), make_engine(calendar_refresh=0.2)
    assert two.calendar.is_workday(date(2027, 1, 4))
    one.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027)
    time.sleep(0.25)
    assert not two.calendar.is_workday(date(2027, 1, 4))


def test_shift_keeps_the_working_days_left_and_the_time_of_day():
    def official(day):
        return day not in HOLIDAYS_2027 and (day.weekday() < 5 or day in WORKDAYS_2027)

    def provisional(day):
        return statutory_workday(day) if day.year == 2027 else day.weekday() < 5
    now = bj(2026, 12, 30, 15, 0)
    # left on the provisional calendar: Dec 31, Jan 4, 5, 6, 7; on the official one Jan 4 is off
    assert shift(bj(2027, 1, 7, 9, 0), now, provisional, official) == bj(2027, 1, 8, 9, 0)
    assert shift(bj(2027, 1, 7, 9, 0).astimezone(timezone.utc), now, provisional, official) == \
        bj(2027, 1, 8, 9, 0)
    # a due on a day off keeps its distance from its last working day: Sat 9 Jan was the 6th
    # working day (Fri 8 Jan) + 1 day; officially the 6th is Sat 9 Jan (worked), + 1 day
    assert shift(bj(2027, 1, 9, 18, 0), now, provisional, official) == bj(2027, 1, 10, 18, 0)
    # due today or past: its time is up, it stays
    assert shift(bj(2026, 12, 30, 18, 0), now, provisional, official) == bj(2026, 12, 30, 18, 0)
    assert shift(bj(2026, 12, 29), now, provisional, official) == bj(2026, 12, 29)


YEAR_END = bpmn("year_end", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="board" camunda:dueDate="${{workdays(5)}}" />
<bpmn:boundaryEvent id="remind" name="催办" cancelActivity="false" attachedToRef="handle">
  <bpmn:timerEventDefinition><bpmn:timeDuration>${{workdays(3)}}</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
<bpmn:userTask id="chase" name="督办" camunda:candidateGroups="office" />
<bpmn:userTask id="long" name="长期跟踪" camunda:candidateGroups="board" camunda:dueDate="${{workdays(300)}}" />
<bpmn:endEvent id="e" />
<bpmn:endEvent id="e2" />
{chain("s", "handle", "long", "e")}
{chain("remind", "chase", "e2")}""")


def rows(engine, iid):
    with engine.db.read() as s:
        tasks = {t.element_id: (t.due_at.astimezone(timezone.utc).isoformat(), t.due_provisional, t.sla_colour)
                 for t in s.scalars(select(Task).where(Task.instance_id == iid, Task.status == "ready",
                                                  Task.due_at.is_not(None)))}
        jobs = sorted((j.kind, j.element_id, j.note, j.due_at.astimezone(timezone.utc).isoformat(), j.provisional)
                      for j in s.scalars(select(Job).where(Job.instance_id == iid)))
    return tasks, jobs


def test_loading_the_year_replans_provisional_deadlines_and_timers(make_engine, clock):
    engine = make_engine()
    engine.repository.deploy([("year_end.bpmn", YEAR_END)])
    clock.set(bj(2026, 12, 30))
    iid = engine.runtime.start("year_end", business_key="YE-1")
    tasks, jobs = rows(engine, iid)
    assert tasks == {"handle": (utc(2027, 1, 7), True, "green")}
    assert ("timer", "remind", None, utc(2027, 1, 5), True) in jobs     # Dec 31, Jan 4, 5

    clock.set(bj(2026, 12, 31, 15, 0))
    other = make_engine()                  # another process loads the year (as `qihu calendar load` does)
    moved = other.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, user="admin")
    assert sorted((m["kind"], m["element_id"], m["old"], m["new"], m["provisional"]) for m in moved) == [
        ("task", "handle", utc(2027, 1, 7), utc(2027, 1, 8), False),     # Jan 4 is off: one day later
        ("timer", "remind", utc(2027, 1, 5), utc(2027, 1, 6), False),
    ]
    tasks, jobs = rows(engine, iid)
    assert tasks == {"handle": (utc(2027, 1, 8), False, "green")}
    sla = [j for j in jobs if j[0] == "sla"]
    assert [j[2] for j in sla] == sorted(["yellow", "orange", "red"]) and not any(j[4] for j in sla)
    assert ("sla", "handle", "red", utc(2027, 1, 8), False) in sla
    assert ("timer", "remind", None, utc(2027, 1, 6), False) in jobs
    # the timer's due in the instance's tree moved with its row
    wf = engine.runtime.workflow(iid)
    [timer_task] = [t for t in wf.get_tasks() if t.task_spec.bpmn_id == "remind" and timers.due_at(t)]
    assert timers.due_at(timer_task) == bj(2027, 1, 6)

    events = [e for e in engine.history.events(iid) if e["type"] == EventType.DEADLINE_REPLANNED]
    assert [(e["element_id"], e["data"]["old"], e["data"]["new"], e["user"]) for e in events] == [
        ("handle", utc(2027, 1, 7), utc(2027, 1, 8), "admin"), ("remind", utc(2027, 1, 5), utc(2027, 1, 6), "admin")]
    lines = [x["text"] for x in appeals.of(engine).trail(iid) if x["type"] == "deadline_replanned"]
    assert lines[0] == "「办理」期限按 2027 年节假日安排重新计算：2027-01-07 09:00 改为 2027-01-08 09:00"
    assert "「催办」" in lines[1]

    assert replan_year(engine, 2027, "admin") == []     # again: nothing left to move

    # the instance walks on: the timer fires on the new day, not the old one
    worker = Worker(engine)
    clock.set(bj(2027, 1, 5, 10))
    while worker.run_once():
        pass
    assert [t["element_id"] for t in engine.tasks.list(instance_id=iid)] == ["handle"]
    clock.set(bj(2027, 1, 6, 9, 1))
    while worker.run_once():
        pass
    assert sorted(t["element_id"] for t in engine.tasks.list(instance_id=iid)) == ["chase", "handle"]
    handle = next(t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == "handle")
    engine.tasks.complete(handle["id"], "x", {}, check=False)
    # a deadline that reaches into 2028 is still provisional after 2027 is loaded
    tasks, _ = rows(engine, iid)
    assert tasks["long"][1] is True
    assert engine.calendar.is_provisional(datetime.fromisoformat(tasks["long"][0]))
    before = tasks["long"][0]
    engine.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027 + [date(2027, 2, 20)])   # corrected again
    tasks, _ = rows(engine, iid)
    assert tasks["long"][1] is True and tasks["long"][0] != before          # one day earlier, still 暂定


def test_a_region_loads_its_own_year(make_engine, clock):
    engine = make_engine()
    engine.repository.deploy([("year_end.bpmn", YEAR_END)])
    clock.set(bj(2026, 12, 30))
    here = engine.runtime.start("year_end", business_key="YE-Q", region="庆元县")
    elsewhere = engine.runtime.start("year_end", business_key="YE-N")
    moved = engine.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, region="庆元县")
    assert {m["instance_id"] for m in moved} == {here}
    assert rows(engine, elsewhere)[0]["handle"][1] is True
    assert rows(engine, here)[0]["handle"] == (utc(2027, 1, 8), False, "green")


def test_the_tree_and_the_job_row_agree_after_replanning(make_engine, clock):
    """Re-planning goes through the instance's unit of work: the timer in the tree and its row agree."""
    engine = make_engine()
    engine.repository.deploy([("year_end.bpmn", YEAR_END)])
    clock.set(bj(2026, 12, 30))
    iid = engine.runtime.start("year_end")
    engine.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027)
    wf = engine.runtime.workflow(iid)
    waiting = [t for t in wf.get_tasks() if timers.due_at(t)]
    with engine.db.read() as s:
        [job] = s.scalars(select(Job).where(Job.instance_id == iid, Job.kind == "timer")).all()
    assert find_task(wf, job.task_id) is waiting[0]
    assert job.due_at == timers.due_at(waiting[0])


@pytest.mark.parametrize("year", [2026])
def test_a_past_or_official_year_moves_nothing(engine, clock, year):
    assert replan_year(engine, year) == []
