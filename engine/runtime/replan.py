"""Re-plan provisional (暂定) deadlines when their year's official calendar is loaded.

A deadline counted in working days of a year the State Council had not announced yet was
computed from the statutory holidays and weekends (engine/workcalendar.py) and marked:
task rows `due_provisional`, due jobs `provisional`. Once the year is loaded, each such
deadline whose span from now to its due touches that year is counted again:

- the working days left from today to the old due, counted on the provisional rules, are
  counted from today on the official calendar, at the old due's local time of day (a due
  that is not itself a working day keeps its distance in days from the last working day
  before it). A deadline already due today or past is left where it is: its time is up.
- a task's SLA colour jobs (engine/runtime/sla.py) are planned again from its creation to
  the new due; its colour becomes the one the new plan gives for now.
- a timer's due is changed in the instance's tree as well as on its job row, in one
  `runtime.transaction` of the instance, so the two agree.
- the flags are cleared, or kept when the new due still counts a provisional day (a later
  year not announced yet either).

Each changed due is audited on its instance (EventType.DEADLINE_REPLANNED, with the old and
the new due). Running it again changes nothing: rows no longer flagged are left alone.

Which rows are flagged is the runtime's business: `due_provisional` must mean that
computing the due itself used a provisional day (a due of two calendar months is not moved
because its colour plan crossed a provisional day; its SLA jobs carry that flag instead).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypedDict, cast

from sqlalchemy import Table, delete, insert, or_, select, update
from SpiffWorkflow.util.task import TaskState

from qihu.engine.dialect import timers
from qihu.engine.dialect.state import find_task
from qihu.engine.errors import Conflict
from qihu.engine.runtime import sla as sla_mod
from qihu.engine.storage.models import Instance, Job, Task
from qihu.engine.types import LIVE_INSTANCE, EventType, IsoDateTime, JobKind, TaskStatus
from qihu.engine.workcalendar import NATIONAL, statutory_workday

if TYPE_CHECKING:
    from qihu.engine.runtime.service import RuntimeEngine, Runtime
    from qihu.engine.runtime.unit_of_work import UnitOfWork

ATTEMPTS = 3     # a step of the same instance in between is a Conflict: read it again and re-plan


class Replanned(TypedDict):
    """One deadline moved because its year was loaded."""

    instance_id: str
    kind: str                  # "task" (a user task's due) or "timer" (a waiting timer)
    task_id: str
    element_id: str | None
    name: str | None           # the task's name (timers: None)
    old: IsoDateTime
    new: IsoDateTime
    provisional: bool          # the new due still counts a day of a year not announced yet


def shift(old: datetime, now: datetime, before: Callable[[date], bool], after: Callable[[date], bool],
          zone: Any = timers.TIMEZONE) -> datetime:
    """`old` counted again: the working days from now's local date to old's (on `before`)
    counted from now's date on `after`, at old's local time of day. Unchanged when old is
    due today or earlier."""
    local = old.astimezone(zone)
    today, due_day = now.astimezone(zone).date(), local.date()
    if due_day <= today:
        return old
    left, anchor, day = 0, today, today
    while day < due_day:
        day += timedelta(days=1)
        if before(day):
            left, anchor = left + 1, day
    extra = due_day - anchor            # a due on a day off stays as far after its last working day
    day = today
    while left:
        day += timedelta(days=1)
        if after(day):
            left -= 1
    moment = datetime.combine(day + extra, local.time(), zone)
    return moment.astimezone(old.tzinfo)


def _touches(year: int, now: datetime, due: datetime, zone: Any) -> bool:
    """Whether the days from now to due (local) reach into `year`."""
    return now.astimezone(zone).year <= year <= due.astimezone(zone).year


def replan_year(engine: RuntimeEngine, year: int, user: str | None = None,
                region: str | None = NATIONAL) -> list[Replanned]:
    """Re-plan every open provisional deadline that reaches into `year` (national: of every
    region; a region's own year: of that region's instances). Returns what moved."""
    zone = timers.TIMEZONE
    now = engine.clock.now()
    if now.astimezone(zone).year > year:
        return []            # the year is past: nothing open still has days in it ahead
    start = datetime(year, 1, 1, tzinfo=zone)
    with engine.db.read() as s:
        q_tasks = select(Task.instance_id).where(Task.status == TaskStatus.READY, Task.due_at >= start,
                                                 Task.due_provisional.is_(True))
        q_jobs = select(Job.instance_id).where(Job.kind.in_((JobKind.TIMER, JobKind.SLA)), Job.due_at >= start,
                                               Job.provisional.is_(True))
        if region:
            q_tasks = q_tasks.where(Task.region == region)
            q_jobs = q_jobs.where(Job.instance_id.in_(select(Instance.id).where(Instance.region == region)))
        ids = sorted(set(s.scalars(q_tasks)) | set(s.scalars(q_jobs)))
    runtime = cast("Runtime", getattr(engine, "runtime"))
    out: list[Replanned] = []
    for iid in ids:
        for attempt in range(ATTEMPTS):
            try:
                out.extend(runtime.transaction(iid, lambda uow: _replan_instance(engine, uow, year, region or NATIONAL), user=user,
                                               lock=True, require_running=False))
                break
            except Conflict:
                if attempt == ATTEMPTS - 1:
                    raise
    return out


def _replan_instance(engine: RuntimeEngine, uow: UnitOfWork, year: int, loaded: str) -> list[Replanned]:
    if uow.instance.status not in LIVE_INSTANCE:
        return []
    cal, zone, s, now = engine.calendar, timers.TIMEZONE, uow.session, uow.now
    region = uow.instance.region or NATIONAL

    def before(day: date) -> bool:      # what the provisional due was counted on
        if day.year != year:
            return cal.is_workday(day, region)
        # a region's own load replaced its override rows of that year: the rules alone remain
        return statutory_workday(day) if loaded != NATIONAL else cal.provisional_rule(day, region)

    def after(day: date) -> bool:
        return cal.is_workday(day, region)

    out: list[Replanned] = []
    T, J = cast(Table, Task.__table__), cast(Table, Job.__table__)
    flagged_sla = select(J.c.task_id).where(J.c.instance_id == uow.instance.id, J.c.kind == JobKind.SLA,
                                            J.c.provisional.is_(True))
    tasks = s.execute(select(T).where(T.c.instance_id == uow.instance.id, T.c.status == TaskStatus.READY,
                                      T.c.due_at.is_not(None),
                                      or_(T.c.due_provisional.is_(True), T.c.id.in_(flagged_sla)))).all()
    steps = None
    for t in tasks:
        old = t.due_at
        due, still = old, bool(t.due_provisional)
        if t.due_provisional and _touches(year, now, old, zone):
            with cal.provisional_watch() as used:
                due = shift(old, now, before, after, zone)
            still = used.value
        if steps is None:
            info = engine.repository.process(engine.db_get_definition(uow.instance.definition_id))
            steps = sla_mod.scheme(info.properties)
        created = t.created_at
        with cal.provisional_watch() as used_sla:
            _, moments = sla_mod.plan(created, due, steps, after, zone)
        colour = steps[0][1] if due > created else steps[-1][1]
        for moment, c in moments:
            if moment <= now:
                colour = c
        s.execute(delete(J).where(J.c.task_id == t.id, J.c.kind == JobKind.SLA))
        future = [{"instance_id": uow.instance.id, "task_id": t.id, "element_id": t.element_id, "kind": JobKind.SLA,
                   "note": c, "due_at": m, "provisional": used_sla.value} for m, c in moments if m > now]
        if future:
            s.execute(insert(J), future)
        s.execute(update(T).where(T.c.id == t.id).values(due_at=due, due_provisional=still, sla_colour=colour))
        if colour != t.sla_colour:
            uow.log(EventType.SLA_CHANGED, t.element_id, t.id, {"colour": colour})
        if due != old:
            out.append(_moved(uow, "task", t.id, t.element_id, t.name, old, due, still, year))

    for j in s.execute(select(J).where(J.c.instance_id == uow.instance.id, J.c.kind == JobKind.TIMER,
                                       J.c.provisional.is_(True))).all():
        task = find_task(uow.workflow, j.task_id)
        old_due = timers.due_at(task) if task is not None and task.state == TaskState.WAITING else None
        if old_due is None:
            continue
        due, still = old_due, True
        if _touches(year, now, old_due, zone):
            with cal.provisional_watch() as used:
                due = shift(old_due, now, before, after, zone)
            still = used.value
        if due != old_due:
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):          # a cycle: its next firing
                value = {**value, "next": due.isoformat()}
            else:
                value = due.isoformat()
            task._set_internal_data(event_value=value)   # the save moves the job row with it
            out.append(_moved(uow, "timer", j.task_id, j.element_id, None, old_due, due, still, year))
        s.execute(update(J).where(J.c.id == j.id).values(provisional=still))
    return out


def _moved(uow: UnitOfWork, kind: str, task_id: str, element_id: str | None, name: str | None,
           old: datetime, new: datetime, still: bool, year: int) -> Replanned:
    old_text, new_text = old.astimezone(timezone.utc).isoformat(), new.astimezone(timezone.utc).isoformat()
    uow.log(EventType.DEADLINE_REPLANNED, element_id, task_id,
            {"kind": kind, "old": old_text, "new": new_text, "year": year, "provisional": still})
    return {"instance_id": uow.instance.id, "kind": kind, "task_id": task_id, "element_id": element_id, "name": name,
            "old": old_text, "new": new_text, "provisional": still}
