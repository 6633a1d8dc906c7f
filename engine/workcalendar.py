"""Working days (工作日) on the official Chinese calendar, with make-up working days (调休).

Time limits in the appeal mechanisms are counted in working days. Whether a day is one:

1. a regional override row CalendarDay(region, day) (a county's local holiday), if any;
2. else a national row CalendarDay('', day) (administrator data, e.g. a loaded year);
3. else the `chinesecalendar` package, for the years it knows (2004-2026 in 1.11.0);
4. else, if an administrator loaded the year (a CalendarYear row of the region or the
   national one), a day not listed is a working day iff it is Monday to Friday;
5. else CalendarYearUnknown: nobody may guess the holidays of a year the State Council
   has not announced (or that nobody has loaded yet).

    cal = WorkCalendar(db)
    cal.is_workday(date(2026, 10, 10))                  # True: a make-up Saturday
    cal.add_workdays(submitted_at, 5)                   # the deadline
    cal.workdays_between(created_at, now)               # working days used (SLA colour)
    cal.load_year(2027, holidays=[...], workdays=[...], user="admin")
    cal.set_day(date(2026, 11, 11), False, "庆元县", note="县庆")

Database rows are cached in memory per (region, year) and the cache is dropped whenever
this object writes. Writes through another WorkCalendar (another process) are seen after
`invalidate()` or a restart.
"""
import contextlib
import functools
import operator
import threading
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import delete, select

from qihu.engine.errors import QihuError
from qihu.engine.storage.models import CalendarDay, CalendarYear

NATIONAL = ""

# The region of the instance the engine is working on: the script helpers (workdays(5), …)
# count that region's local holidays. Set by the runtime around each instance transaction.
_current_region = ContextVar("qihu_calendar_region", default=NATIONAL)


@contextlib.contextmanager
def region_scope(region):
    """Within this block, the script helpers count the working days of `region`."""
    token = _current_region.set(region or NATIONAL)
    try:
        yield
    finally:
        _current_region.reset(token)


@functools.lru_cache(maxsize=8192)
def _official(day):
    """chinese_calendar.is_workday, remembered: the package's tables never change, and it
    checks every date against them at some cost (the inbox asks for days by the hundred)."""
    return chinese_calendar.is_workday(day)


class CalendarYearUnknown(QihuError):
    """The working-day calendar of a year is neither known nor loaded by an administrator."""

    def __init__(self, year, region=NATIONAL):
        self.year, self.region = year, region
        where = f" [{region}]" if region else ""
        super().__init__(
            f"{year} 年的法定节假日安排尚未公布或未导入 (calendar of {year} is not announced/loaded)"
            f"{where}: an administrator must load it")


class _YearRows:
    """The database rows of one (region, year): {day: is_workday} and whether it was loaded."""
    __slots__ = ("days", "loaded")

    def __init__(self, days, loaded):
        self.days, self.loaded = days, loaded


def _as_date(value, what="date"):
    if isinstance(value, datetime):
        raise ValueError(f"{what} must be a date, not a datetime: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{what} is not a date (YYYY-MM-DD): {value!r}") from None
    raise ValueError(f"{what} is not a date: {value!r}")


class WorkCalendar:
    def __init__(self, db, zone=ZoneInfo("Asia/Shanghai")):
        self.db = db
        self.zone = zone
        self._lock = threading.Lock()
        self._cache = {}          # (region, year) -> _YearRows
        self._generation = 0      # bumped on every write: a read that raced a write is not cached

    # -- reading ---------------------------------------------------------------------------
    def invalidate(self):
        """Forget the cached rows (after another process changed the calendar)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def _rows(self, region, year):
        key = (region, year)
        with self._lock:
            rows = self._cache.get(key)
            generation = self._generation
        if rows is not None:
            return rows
        lo, hi = date(year, 1, 1), date(year, 12, 31)
        with self.db.read() as s:
            days = dict(s.execute(select(CalendarDay.day, CalendarDay.is_workday).where(
                CalendarDay.region == region, CalendarDay.day >= lo, CalendarDay.day <= hi)).all())
            loaded = s.scalar(select(CalendarYear.id).where(
                CalendarYear.region == region, CalendarYear.year == year)) is not None
        rows = _YearRows({_as_date(d): bool(w) for d, w in days.items()}, loaded)
        with self._lock:
            if self._generation == generation:
                self._cache[key] = rows
        return rows

    def _local_date(self, value):
        if isinstance(value, datetime):
            return (value.astimezone(self.zone) if value.tzinfo else value).date()
        if isinstance(value, str) and len(value.strip()) > 10:   # an ISO date-time
            return self._aware(value, "day").astimezone(self.zone).date()
        return _as_date(value, "day")

    def is_workday(self, day, region: str | None = NATIONAL) -> bool:
        """Whether `day` (a date; a datetime counts by its local date in `zone`) is a working day.

        Raises CalendarYearUnknown for a day of a year that is neither known to the
        chinesecalendar package nor loaded (no override row for that very day either).
        """
        day = self._local_date(day)
        region = region or NATIONAL
        if region != NATIONAL:
            regional = self._rows(region, day.year)
            if day in regional.days:
                return regional.days[day]
        national = self._rows(NATIONAL, day.year)
        if day in national.days:
            return national.days[day]
        try:
            return _official(day)
        except NotImplementedError:   # a year the package does not know
            pass
        if national.loaded or (region != NATIONAL and self._rows(region, day.year).loaded):
            return day.weekday() < 5
        raise CalendarYearUnknown(day.year, region)

    def _aware(self, value, what):
        """A datetime with an offset: naive datetimes are local time in `zone`, dates are local
        midnight, ISO strings (as task data holds them) are parsed."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{what} is not a date/time: {value!r}") from None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=self.zone)
        if isinstance(value, date):
            return datetime.combine(value, time(), self.zone)
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")

    def add_workdays(self, start, n: int, region: str = NATIONAL) -> datetime:
        """The moment `n` working days after `start`, at the same local time of day in `zone`.

        Rule: walk the local dates after start's local date, one by one, counting only
        working days; the result is the n-th working day *after* the start date, at start's
        local time of day. Whether the start date itself is a working day does not matter:
        a deadline of 5 working days counted from a Saturday (or holiday) submission at
        10:00 lands on the 5th working day after that Saturday, at 10:00 — the same as from
        the Friday before. Make-up working days (调休) count. n = 0 returns start unchanged;
        negative n walks backwards (the n-th working day before start's local date).
        The result has start's tzinfo (naive start: local time in `zone`).
        """
        n = operator.index(n)
        start = self._aware(start, "start")
        if n == 0:
            return start
        local = start.astimezone(self.zone)
        day, step, left = local.date(), (1 if n > 0 else -1), abs(n)
        while left:
            day += timedelta(days=step)
            if self.is_workday(day, region):
                left -= 1
        moment = datetime.combine(day, local.time(), self.zone)
        return moment.astimezone(start.tzinfo)

    def workdays_between(self, a, b, region: str = NATIONAL) -> float:
        """Working time from a to b, in working days: each working day's 24 local hours count
        as one day, parts of days as fractions (9:00 to 21:00 of a working day is 0.5);
        non-working days count nothing. 0.0 when b <= a. This is the SLA measure: share
        used = workdays_between(created, now) / workdays_between(created, due)."""
        a, b = self._aware(a, "a"), self._aware(b, "b")
        if b <= a:
            return 0.0
        a_utc, b_utc = a.astimezone(timezone.utc), b.astimezone(timezone.utc)
        total = 0.0
        day, last = a.astimezone(self.zone).date(), b.astimezone(self.zone).date()
        while day <= last:
            if self.is_workday(day, region):
                # Subtract in UTC: same-tzinfo arithmetic would ignore DST changes.
                lo = datetime.combine(day, time(), self.zone).astimezone(timezone.utc)
                hi = datetime.combine(day + timedelta(days=1), time(), self.zone).astimezone(timezone.utc)
                part = (min(b_utc, hi) - max(a_utc, lo)).total_seconds()
                if part > 0:
                    total += part / (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def share_moment(self, a, b, share, region: str = NATIONAL) -> datetime:
        """The moment when `share` of the working time from a to b has been used (the same
        measure as workdays_between and the SLA colours). share >= 1 is b itself; with no
        working time between a and b, shares are of plain time. Result in a's tzinfo."""
        from qihu.engine.runtime.sla import share_moment
        a, b = self._aware(a, "start"), self._aware(b, "due")
        share = float(share)
        if share <= 0 or b <= a:
            return a if share <= 0 else b
        if share >= 1:
            return b.astimezone(a.tzinfo)
        return share_moment(a, b, share, lambda day: self.is_workday(day, region), self.zone).astimezone(a.tzinfo)

    # -- writing (administrators) -----------------------------------------------------------
    def load_year(self, year, holidays, workdays, region: str = NATIONAL, user=None):
        """Load the official calendar of `year` (e.g. 2027 once the State Council announces it).

        `holidays` are days off (statutory holidays, including those on weekdays moved by
        调休), `workdays` the make-up working days (weekend days that are working days).
        Days not listed follow Monday-Friday. Replaces whatever was loaded or set for this
        (region, year) before, in one transaction; nothing is written when a date is not
        in `year` or is listed both as holiday and as working day (ValueError).
        """
        year = operator.index(year)
        region = region or NATIONAL
        rows = {}
        for values, is_workday, what in ((holidays, False, "holiday"), (workdays, True, "working day")):
            for value in values or ():
                d = _as_date(value, what)
                if d.year != year:
                    raise ValueError(f"{what} {d.isoformat()} is not in {year}")
                if rows.get(d, is_workday) != is_workday:
                    raise ValueError(f"{d.isoformat()} is listed both as holiday and as working day")
                rows[d] = is_workday
        try:
            with self.db.write() as s:
                s.execute(delete(CalendarDay).where(
                    CalendarDay.region == region,
                    CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
                s.execute(delete(CalendarYear).where(CalendarYear.region == region, CalendarYear.year == year))
                s.flush()
                s.add_all(CalendarDay(region=region, day=d, is_workday=w,
                                      note="调休上班" if w else "法定节假日")
                          for d, w in sorted(rows.items()))
                s.add(CalendarYear(region=region, year=year, loaded_by=user))
        finally:
            self.invalidate()

    def set_day(self, day, is_workday: bool, region: str, note=None):
        """Override one day for a region (e.g. a county's local holiday); region '' changes the
        national calendar. Replaces an earlier override of that day."""
        day = _as_date(day, "day")
        region = region or NATIONAL
        try:
            with self.db.write() as s:
                row = s.scalar(select(CalendarDay).where(CalendarDay.region == region, CalendarDay.day == day))
                if row is None:
                    s.add(CalendarDay(region=region, day=day, is_workday=bool(is_workday), note=note))
                else:
                    row.is_workday, row.note = bool(is_workday), note
        finally:
            self.invalidate()

    def clear_day(self, day, region: str) -> bool:
        """Remove the override of one day; True if there was one."""
        day = _as_date(day, "day")
        region = region or NATIONAL
        try:
            with self.db.write() as s:
                result = s.execute(delete(CalendarDay).where(CalendarDay.region == region, CalendarDay.day == day))
                return bool(result.rowcount)
        finally:
            self.invalidate()

    # -- script helpers -----------------------------------------------------------------------
    def helpers(self, now_fn):
        """Functions for the script sandbox; `now_fn` is the engine clock's now().

        They count the working days of the region of the instance being run (region_scope,
        set by the runtime): a county's local holiday moves that county's deadlines only.
        """
        def workdays(n, start=None):
            """The moment n working days after start (default: now)."""
            return self.add_workdays(now_fn() if start is None else start, n, _current_region.get())

        def workdays_between(a, b=None):
            """Working days (with fractions) from a to b (default: now)."""
            return self.workdays_between(a, now_fn() if b is None else b, _current_region.get())

        def is_workday(d=None):
            """Whether the day d (a date or datetime; default: today, local) is a working day."""
            return self.is_workday(now_fn() if d is None else d, _current_region.get())

        def workday_share(start, due, share):
            """The moment `share` (0.6 = 60%) of the working time from start to due is used:
            where the SLA colours change, for timers that act on them (催办, 预警, 督办)."""
            return self.share_moment(start, due, share, _current_region.get())

        return {"workdays": workdays, "workdays_between": workdays_between, "is_workday": is_workday,
                "workday_share": workday_share}
