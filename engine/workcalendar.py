"""Working days (工作日) on the official Chinese calendar, with make-up working days (调休).

Time limits in the appeal mechanisms are counted in working days. Whether a day is one:

1. a regional override row CalendarDay(region, day) (a county's local holiday), if any;
2. else a national row CalendarDay('', day) (administrator data, e.g. a loaded year);
3. else the `chinesecalendar` package, for the years it knows (2004-2026 in 1.11.0);
4. else, if an administrator loaded the year (a CalendarYear row of the region or the
   national one), a day not listed is a working day iff it is Monday to Friday;
5. else, provisionally (暂定), the statutory holidays of 全国年节及纪念日放假办法 as revised
   in 2024 (in force from 2025) and weekends: 元旦 Jan 1; 春节 4 days, 除夕 to 正月初三;
   清明 the 清明 solar term's day; 劳动节 May 1-2; 端午 五月初五; 中秋 八月十五; 国庆
   Oct 1-3 (lunar dates and solar terms from lunar-python). The State Council's 调休 (a
   weekend made a working day, bridge days made days off) are announced each autumn and
   cannot be guessed, so none are assumed: a holiday on a weekend is simply a day off.
   Only for years from 2025 (older years followed older rules) up to this year + 2
   (PROVISIONAL_YEARS_AHEAD: an appeal's deadlines reach months ahead, not years; a year
   further out is more likely a wrong date than a real deadline, and the rules themselves
   may be revised again by then), and only when the calendar was made with
   provisional=True (the engine's Settings.calendar_provisional, on by default);
6. else CalendarYearUnknown: nobody may guess the holidays of that year.

    cal = WorkCalendar(db)
    cal.is_workday(date(2026, 10, 10))                  # True: a make-up Saturday
    cal.add_workdays(submitted_at, 5)                   # the deadline
    cal.workdays_between(created_at, now)               # working days used (SLA colour)
    cal.load_year(2027, holidays=[...], workdays=[...], user="admin")
    cal.set_day(date(2026, 11, 11), False, "庆元县", note="县庆")
    with cal.provisional_watch() as used:               # did a value use a 暂定 day?
        due = cal.add_workdays(now, 5)
    used.value, used.years                               # True, {2027}

Database rows are cached in memory per (region, year). The cache is dropped whenever this
object writes, and whenever another process wrote: before answering, at most every
`refresh` seconds (Settings.calendar_refresh, 30 s), a cheap stamp of the calendar tables
(counts and sums of their ids, days and loaded times) is read, and a changed stamp drops
the cache. So a year loaded with `qihu calendar load` reaches every running server
within `refresh` seconds, without a restart.
"""
import contextlib
import functools
import operator
import threading
import time as _time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import case, delete, extract, func, select

from qihu.engine.errors import QihuError
from qihu.engine.storage.models import CalendarDay, CalendarYear

NATIONAL = ""
STATUTORY_SINCE = 2025         # the 2024 revision of 全国年节及纪念日放假办法 applies from 2025
PROVISIONAL_YEARS_AHEAD = 2    # provisional years: up to this year + 2 (see the module's docstring)
WARN_FROM = (11, 1)            # from 1 November, next year's calendar should be loaded

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


class YearSource(StrEnum):
    """Where a year's working days come from (WorkCalendar.year_status)."""

    OFFICIAL = "official"          # the chinesecalendar package knows it
    LOADED = "loaded"              # an administrator loaded it (qihu calendar load)
    PROVISIONAL = "provisional"    # computed from the statutory holidays and weekends (暂定)
    UNKNOWN = "unknown"            # refused: CalendarYearUnknown


class YearToLoad(TypedDict):
    """Next year's calendar is not loaded yet and it is time to (WorkCalendar.year_to_load)."""

    year: int
    source: YearSource             # PROVISIONAL (deadlines are 暂定) or UNKNOWN (they fail)


@functools.lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of `year` under 全国年节及纪念日放假办法 as revised in 2024:
    {day: holiday name}. No 调休: these are the holidays themselves, whatever the weekday."""
    from lunar_python import Lunar, Solar

    def solar(s: Any) -> date:
        return date(s.getYear(), s.getMonth(), s.getDay())

    days: dict[date, str] = {}

    def add(day: date, name: str) -> None:     # two festivals on one day (中秋 on 3 Oct 2028)
        days[day] = f"{days[day]}、{name}" if day in days else name

    add(date(year, 1, 1), "元旦")
    new_year = solar(Lunar.fromYmd(year, 1, 1).getSolar())          # 正月初一
    for offset in range(-1, 3):                                      # 除夕 (the day before) to 初三
        add(new_year + timedelta(days=offset), "春节")
    # the solar terms of the lunar year that holds June: its 清明 is in April of `year`
    qingming = solar(Solar.fromYmd(year, 6, 1).getLunar().getJieQiTable()["清明"])
    assert qingming.year == year and qingming.month == 4, qingming
    add(qingming, "清明节")
    for d in (1, 2):
        add(date(year, 5, d), "劳动节")
    add(solar(Lunar.fromYmd(year, 5, 5).getSolar()), "端午节")
    for d in (1, 2, 3):
        add(date(year, 10, d), "国庆节")
    add(solar(Lunar.fromYmd(year, 8, 15).getSolar()), "中秋节")
    return days


def statutory_workday(day: date) -> bool:
    """The provisional answer: Monday to Friday and not a statutory holiday."""
    return day.weekday() < 5 and day not in statutory_holidays(day.year)


class ProvisionalUse:
    """What a provisional_watch() saw: `value` is True once a provisional day was used,
    `years` the years it came from."""

    __slots__ = ("value", "years", "parent")

    def __init__(self, parent: "ProvisionalUse | None" = None) -> None:
        self.value = False
        self.years: set[int] = set()
        self.parent = parent

    def record(self, year: int) -> None:
        watch: ProvisionalUse | None = self
        while watch is not None:        # an enclosing watch sees it too
            watch.value = True
            watch.years.add(year)
            watch = watch.parent


_watch: ContextVar[ProvisionalUse | None] = ContextVar("qihu_calendar_provisional_watch", default=None)


@contextlib.contextmanager
def provisional_watch() -> Iterator[ProvisionalUse]:
    """Within this block, record whether any answer came from the provisional rules (per
    thread and task: a ContextVar)."""
    use = ProvisionalUse(_watch.get())
    token = _watch.set(use)
    try:
        yield use
    finally:
        _watch.reset(token)


@functools.lru_cache(maxsize=256)
def package_knows(year: int) -> bool:
    """Whether the chinesecalendar package has the official calendar of `year`."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


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
            f"{year} 年的法定节假日安排尚未公布或未导入 (calendar of {year}{where} is not announced/loaded: "
            "an administrator must load it)")


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
    def __init__(self, db, zone=ZoneInfo("Asia/Shanghai"), provisional: bool = False,
                 today: Callable[[], datetime] | None = None, refresh: float = 30.0,
                 monotonic: Callable[[], float] = _time.monotonic) -> None:
        """provisional: answer for unannounced years from the statutory holidays (the engine
        passes Settings.calendar_provisional; off here, so a bare calendar stays strict).
        today: the current moment (the engine's clock) for "this year" and "next year".
        refresh: seconds between checks for another process's writes; monotonic: the clock
        of those checks (a test advances its own)."""
        self.db = db
        self.zone = zone
        self.provisional = provisional
        self._today = today or (lambda: datetime.now(zone))
        self.refresh = refresh
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._cache = {}          # (region, year) -> _YearRows
        self._generation = 0      # bumped on every write: a read that raced a write is not cached
        self._stamp_lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._checked = float("-inf")
        # called after load_year(year, region, user) with those three; what they return is
        # what load_year returns (the engine re-plans provisional deadlines here)
        self.on_year_loaded: list[Callable[[int, str, str | None], list[Any]]] = []

    # -- reading ---------------------------------------------------------------------------
    def invalidate(self):
        """Forget the cached rows (after another process changed the calendar)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def _read_stamp(self) -> tuple[Any, ...]:
        """A cheap fingerprint of the calendar tables: any insert, delete or change of a day or
        a loaded year changes it (ids only grow on PostgreSQL; on SQLite a reused id still
        changes the sums of days and workdays, and a reloaded year its loaded_at)."""
        day_epoch = extract("epoch", CalendarDay.day)
        with self.db.read() as s:
            days = s.execute(select(
                func.count(CalendarDay.id), func.max(CalendarDay.id), func.sum(CalendarDay.id),
                func.sum(case((CalendarDay.is_workday, CalendarDay.id), else_=0)), func.sum(day_epoch))).one()
            years = s.execute(select(func.count(CalendarYear.id), func.sum(CalendarYear.id),
                                     func.max(CalendarYear.loaded_at))).one()
        return tuple(days) + tuple(years)

    def _fresh(self) -> None:
        """Drop the cache if another process changed the calendar (checked every `refresh` s)."""
        if self._monotonic() - self._checked < self.refresh:
            return
        if not self._stamp_lock.acquire(blocking=False):
            return            # another thread is checking right now
        try:
            if self._monotonic() - self._checked < self.refresh:
                return
            # read before the rows this check lets through: rows read earlier than a changed stamp
            # are dropped with the cache, so none older than the stamp survives it
            stamp = self._read_stamp()
            self._checked = self._monotonic()
            if stamp != self._stamp:
                self._stamp = stamp
                self.invalidate()
        finally:
            self._stamp_lock.release()

    def _rows(self, region, year):
        self._fresh()
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
        local = self._regional_day(day, region)
        if local is not None:
            return local
        national = self._rows(NATIONAL, day.year)
        if day in national.days:
            return national.days[day]
        try:
            return _official(day)
        except NotImplementedError:   # a year the package does not know
            pass
        if national.loaded or (region != NATIONAL and self._rows(region, day.year).loaded):
            return day.weekday() < 5
        if self._may_guess(day.year):
            watch = _watch.get()
            if watch is not None:
                watch.record(day.year)
            return statutory_workday(day)
        raise CalendarYearUnknown(day.year, region)

    def _may_guess(self, year: int) -> bool:
        return self.provisional and STATUTORY_SINCE <= year <= self._this_year() + PROVISIONAL_YEARS_AHEAD

    def _this_year(self) -> int:
        now = self._today()
        return (now.astimezone(self.zone) if now.tzinfo else now).year

    # -- provisional years ------------------------------------------------------------------
    provisional_watch = staticmethod(provisional_watch)

    def year_status(self, year: int, region: str | None = NATIONAL) -> YearSource:
        """Where the working days of `year` come from for `region` (national by default)."""
        year = operator.index(year)
        region = region or NATIONAL
        if self._rows(NATIONAL, year).loaded or (region != NATIONAL and self._rows(region, year).loaded):
            return YearSource.LOADED
        if package_knows(year):
            return YearSource.OFFICIAL
        return YearSource.PROVISIONAL if self._may_guess(year) else YearSource.UNKNOWN

    def is_provisional(self, day, region: str | None = NATIONAL) -> bool:
        """Whether the day's year is neither official (chinesecalendar) nor loaded: its
        working days are 暂定 until the State Council's notice is loaded (or refused, when
        provisional years are off or it is too far ahead: see year_status)."""
        day = self._local_date(day)
        return self.year_status(day.year, region) in (YearSource.PROVISIONAL, YearSource.UNKNOWN)

    def provisional_rule(self, day, region: str | None = NATIONAL) -> bool:
        """What the provisional rules say of `day`, whatever is loaded now: a regional override
        first, then the statutory holidays and weekends. Re-planning uses it to count the
        working days a provisional deadline was given before its year was loaded."""
        day = self._local_date(day)
        local = self._regional_day(day, region or NATIONAL)
        return statutory_workday(day) if local is None else local

    def _regional_day(self, day: date, region: str) -> bool | None:
        """A region's own override of `day` (a county's local holiday), if it has one."""
        if region == NATIONAL:
            return None
        return self._rows(region, day.year).days.get(day)

    def year_to_load(self, region: str | None = NATIONAL) -> YearToLoad | None:
        """From 1 November (engine clock, local), next year when its calendar is neither known
        nor loaded: what the administrator pages warn about. None otherwise."""
        now = self._today()
        local = now.astimezone(self.zone) if now.tzinfo else now
        if (local.month, local.day) < WARN_FROM:
            return None
        status = self.year_status(local.year + 1, region)
        if status in (YearSource.OFFICIAL, YearSource.LOADED):
            return None
        return {"year": local.year + 1, "source": status}

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
    def load_year(self, year, holidays, workdays, region: str = NATIONAL, user=None) -> list[Any]:
        """Load the official calendar of `year` (e.g. 2027 once the State Council announces it).

        `holidays` are days off (statutory holidays, including those on weekdays moved by
        调休), `workdays` the make-up working days (weekend days that are working days).
        Days not listed follow Monday-Friday. Replaces whatever was loaded or set for this
        (region, year) before, in one transaction; nothing is written when a date is not
        in `year` or is listed both as holiday and as working day (ValueError).
        Then calls the on_year_loaded hooks (the engine re-plans the provisional deadlines
        of that year: engine/runtime/replan.py) and returns what they returned.
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
        done: list[Any] = []
        for hook in self.on_year_loaded:
            done.extend(hook(year, region, user) or ())
        return done

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
