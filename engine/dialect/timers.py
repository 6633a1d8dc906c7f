"""Timer event definitions that read the engine's clock instead of the wall clock.

SpiffWorkflow's timers call datetime.now() directly; ours ask the workflow's script
engine, which holds the engine clock, so scenario tests can move time and the worker
fires exactly what its due-job table says is due.
"""
import os
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition, TimeDateEventDefinition, DurationTimerEventDefinition, CycleTimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState


# Timer dates and due dates written without an offset are local time of this zone.
TIMEZONE = ZoneInfo(os.environ.get("QIHU_TIMEZONE", "Asia/Shanghai"))

# The shortest interval of a cycle timer. Every firing is a step of its own: a write
# transaction, an audit event and whatever the fired path does. `R/PT0S` is due again the
# moment it fires, so the run of automatic steps never ends and holds the database's write
# lock; a one-second cycle is 86,400 steps a day per instance, which is the same hog more
# slowly. A minute is the finest granularity the mechanisms need (their reminders run in
# hours and days) and matches the worker's check for stalled instances.
MIN_CYCLE_INTERVAL = timedelta(minutes=1)


class CycleTooShort(ValueError):
    """A cycle timer whose interval is shorter than MIN_CYCLE_INTERVAL."""


def local_text(value):
    """A stored instant (aware datetime or ISO text, UTC) as Beijing wall-clock time, the way
    staff read deadlines: "2026-11-09 09:00". Empty for no value."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _now(my_task):
    return my_task.workflow.script_engine.now()


def _as_datetime(value):
    """A timer's moment; naive values (a datetime, or ISO text from an expression) are local
    time of TIMEZONE, as literal timer dates and task due dates are."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return TimerEventDefinition.get_datetime(value)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=TIMEZONE)
    return TimerEventDefinition.get_datetime(str(value))


class QihuTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            value = _as_datetime(value).isoformat()
            my_task._set_internal_data(event_value=value)
        if _as_datetime(value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class QihuDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            expr = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            if isinstance(expr, timedelta):
                due = _now(my_task) + expr
            elif isinstance(expr, datetime):   # a helper such as workdays(5) may give the date itself
                due = _as_datetime(expr)
            else:
                parsed = TimerEventDefinition.parse_iso_duration(str(expr))
                due = _now(my_task) + TimerEventDefinition.get_timedelta_from_start(parsed, _now(my_task))
            value = due.isoformat()
            my_task._set_internal_data(event_value=value)
        if _as_datetime(value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class QihuCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):
        value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if value is None:
            expr = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = parse_cycle(str(expr), now)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            nxt = datetime.fromisoformat(value["next"])
            if nxt <= now:
                value["next"] = (nxt + timedelta(seconds=value["duration"])).isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=value)
        return ready


def parse_cycle(expression, now):
    """R[n]/duration, R[n]/start/duration or R[n]/duration/end, measured from `now`.
    Raises CycleTooShort for an interval under MIN_CYCLE_INTERVAL."""
    cycles, start, duration = _parse_cycle(expression, now)
    if duration < MIN_CYCLE_INTERVAL:
        limit = int(MIN_CYCLE_INTERVAL.total_seconds())
        raise CycleTooShort(f"循环定时器 {expression!r} 的间隔 {duration.total_seconds():g} 秒过短，"
                            f"至少应为 {limit} 秒（{limit // 60} 分钟）：间隔过短的循环会不停触发，占住引擎")
    return cycles, start, duration


def _parse_cycle(expression, now):
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    cycles = int(parts[0]) if parts[0] else -1
    first = TimerEventDefinition.parse_time_or_duration(parts[1])
    second = TimerEventDefinition.parse_time_or_duration(parts[2]) if len(parts) == 3 else None
    if isinstance(first, datetime):
        return cycles, first, TimerEventDefinition.get_timedelta_from_start(second, first)
    if isinstance(second, datetime):
        duration = TimerEventDefinition.get_timedelta_from_end(first, second)
        return cycles, second - duration, duration
    if second is None:
        duration = TimerEventDefinition.get_timedelta_from_start(first, now)
        return cycles, now + duration, duration
    raise ValueError("invalid recurring interval")


REPLACEMENTS = {
    TimeDateEventDefinition: QihuTimeDate,
    DurationTimerEventDefinition: QihuDuration,
    CycleTimerEventDefinition: QihuCycle,
}


def upgrade(definition):
    cls = REPLACEMENTS.get(type(definition))
    if cls is None:
        return definition
    new = cls(definition.name, definition.expression, description=definition.description)
    return new


def validate_literal(definition, text):
    """Raise ValueError if ISO timer text does not parse (checked at deploy time)."""
    now = datetime.now(timezone.utc)
    if isinstance(definition, CycleTimerEventDefinition):
        parse_cycle(text, now)
    elif isinstance(definition, DurationTimerEventDefinition):
        TimerEventDefinition.parse_iso_duration(text)
    else:
        TimerEventDefinition.get_datetime(text)


def due_at(task):
    """When a WAITING timer task is due, from what has_fired stored; None if not computed."""
    definition = getattr(task.task_spec, "event_definition", None)
    defs = getattr(definition, "event_definitions", None) or [definition]
    value = task._get_internal_data("event_value")
    if value is None or not task.has_state(TaskState.WAITING):
        return None
    for d in defs:
        if isinstance(d, CycleTimerEventDefinition) and isinstance(value, dict):
            return datetime.fromisoformat(value["next"]) if value.get("cycles", 0) != 0 else None
        if isinstance(d, TimerEventDefinition) and isinstance(value, str):
            return _as_datetime(value)
    return None


def is_timer(task_spec):
    d = getattr(task_spec, "event_definition", None)
    defs = getattr(d, "event_definitions", None) or [d]
    return any(isinstance(x, TimerEventDefinition) for x in defs)
