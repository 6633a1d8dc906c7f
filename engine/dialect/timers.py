"""Timer event definitions that read the engine's clock instead of the wall clock.

SpiffWorkflow's timers call datetime.now() directly; ours ask the workflow's script
engine, which holds the engine clock, so scenario tests can move time and the worker
fires exactly what its due-job table says is due.
"""
import os
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition, TimeDateEventDefinition, DurationTimerEventDefinition, CycleTimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState
from croniter import croniter


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


MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _instant(value):
    """A stored instant (aware datetime, or ISO text; naive means local) in TIMEZONE."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    return (value if value.tzinfo else value.replace(tzinfo=TIMEZONE)).astimezone(TIMEZONE)


def deadline_text(value, now=None, lang="zh"):
    """A deadline as people say it: "12月18日 17:30"; a deadline at local midnight is the end
    of the day before, "12月18日（当日24时）" (a limit of N working days ends at 24:00 of the
    last one, stored as 00:00 of the next day); the year only when it is not the year of `now`
    (the engine clock's now, passed by the caller; the wall clock without one): "2027年1月4日
    09:00". English with lang="en": "18 Dec 17:30", "18 Dec (end of day)", "4 Jan 2027 09:00".
    Empty for no value."""
    if not value:
        return ""
    due = _instant(value)
    current = _instant(now) if now else datetime.now(TIMEZONE)
    midnight = (due.hour, due.minute, due.second, due.microsecond) == (0, 0, 0, 0)
    day = (due - timedelta(days=1)).date() if midnight else due.date()
    show_year = day.year != current.year
    if lang == "en":
        text = f"{day.day} {MONTHS_EN[day.month - 1]}" + (f" {day.year}" if show_year else "")
        return f"{text} (end of day)" if midnight else f"{text} {due:%H:%M}"
    text = (f"{day.year}年" if show_year else "") + f"{day.month}月{day.day}日"
    return f"{text}（当日24时）" if midnight else f"{text} {due:%H:%M}"


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
            expr = str(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            if is_cron(expr):   # a Quartz cron expression, as Camunda 7 reads one in timeCycle
                value = {"cycles": -1, "next": cron_next(expr, now).isoformat(), "cron": expr}
            else:
                cycles, start, duration = parse_cycle(expr, now)
                value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            nxt = datetime.fromisoformat(value["next"])
            if nxt <= now:
                if "cron" in value:
                    # As Camunda: the next firing after now; missed ones are not made up.
                    value["next"] = cron_next(value["cron"], now).isoformat()
                else:
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


# --- cron in timeCycle ----------------------------------------------------------------------
# Camunda 7 reads a timeCycle that is not ISO 8601 as a Quartz cron expression: six or seven
# fields, seconds first, "?" for "no specific value" in day-of-month or day-of-week, and days
# of the week numbered 1 (Sunday) to 7 (Saturday). croniter (standard cron, Sunday = 0) runs
# it after the translation below; the wall-clock time is that of TIMEZONE.
_CRON_CHARS = re.compile(r"^[0-9A-Za-z*?/,#\-]+$")
_CRON_TIME = re.compile(r"^[0-9*/,\-]+$")
_QUARTZ_DAY = re.compile(r"\d+")


def is_cron(text: str) -> bool:
    """Whether timer text is meant as a (Quartz) cron expression rather than ISO 8601."""
    fields = str(text).split()
    # seconds, minutes and hours are numbers or * (never a Python word such as `if`)
    return (len(fields) in (6, 7) and all(_CRON_CHARS.match(f) for f in fields)
            and all(_CRON_TIME.match(f) for f in fields[:3]))


def _day_of_week(field: str) -> str:
    """Quartz's day-of-week (1 = Sunday … 7 = Saturday) as cron's (0 = Sunday … 6 = Saturday)."""
    if "L" in field.upper():
        raise ValueError("星期字段中的 L（某月最后一个星期几）不受支持"
                         "（L in the day-of-week field is not supported）")
    out = []
    for part in field.split(","):
        base, slash, step = part.partition("/")
        base, hash_, nth = base.partition("#")
        base = _QUARTZ_DAY.sub(lambda m: str(int(m.group(0)) - 1) if 1 <= int(m.group(0)) <= 7 else "x", base)
        if "x" in base:
            raise ValueError(f"星期字段 {field!r} 的数字应在 1（星期日）到 7（星期六）之间"
                             f"（day of week must be 1-7, Sunday = 1）")
        out.append(base + hash_ + nth + slash + step)
    return ",".join(out)


def cron_of(text: str) -> str:
    """A Quartz cron expression as croniter reads it (seconds first); ValueError, in words a
    designer understands, for what is refused: L in day-of-week, L-n or LW in day-of-month,
    both day fields given, and more than one firing a minute (see MIN_CYCLE_INTERVAL)."""
    fields = str(text).split()
    if len(fields) not in (6, 7):
        raise ValueError(f"cron 表达式 {text!r} 应有 6 或 7 个字段（秒 分 时 日 月 星期 [年]）"
                         "（a Quartz cron expression has 6 or 7 fields: s min h day month weekday [year]）")
    second, minute, hour, dom, month, dow = fields[:6]
    year = fields[6] if len(fields) == 7 else "*"
    if "?" in (second + minute + hour + month + year):
        raise ValueError(f"cron 表达式 {text!r}：? 只能用于日或星期字段（? is only allowed in day fields）")
    if dom not in ("?", "*") and dow not in ("?", "*"):
        raise ValueError(f"cron 表达式 {text!r} 同时指定了日和星期，其中一个应为 ? "
                         "（give day-of-month or day-of-week, the other as ?）")
    if not second.isdigit() or int(second) > 59:
        limit = int(MIN_CYCLE_INTERVAL.total_seconds())
        raise CycleTooShort(f"cron 表达式 {text!r} 的秒字段应为 0 到 59 之间的一个数：每分钟最多触发一次"
                            f"（间隔至少 {limit} 秒），触发过于频繁会占住引擎"
                            f"（the seconds field must be one number: at most one firing a minute）")
    upper = dom.upper()
    if "L" in upper and upper != "L":
        raise ValueError(f"日字段 {dom!r} 不受支持，可用 L 表示月末（day-of-month {dom!r} is not supported; L is）")
    dom = "*" if dom == "?" else dom
    dow = "*" if dow == "?" else _day_of_week(dow)
    expr = " ".join([second, minute, hour, dom, month, dow] + ([year] if year != "*" else []))
    if not croniter.is_valid(expr, second_at_beginning=True):
        raise ValueError(f"cron 表达式 {text!r} 无法解析（not a valid Quartz cron expression）")
    return expr


def cron_next(text: str, after: datetime) -> datetime:
    """The first firing of a Quartz cron expression after `after`, in TIMEZONE's wall clock."""
    start = after.astimezone(TIMEZONE)
    return croniter(cron_of(text), start, second_at_beginning=True).get_next(datetime)


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
        if is_cron(text):
            cron_next(text, now)
        else:
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
