"""Working days on the official Chinese calendar: 调休, loaded years, regional overrides."""
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import func, select

from qihu.engine.errors import QihuError
from qihu.engine.storage.models import CalendarDay, CalendarYear
from qihu.engine.dialect.sandbox import SandboxEnvironment
from qihu.engine.workcalendar import CalendarYearUnknown, WorkCalendar

BJ = ZoneInfo("Asia/Shanghai")


def bj(y, m, d, h=9, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=BJ)


@pytest.fixture
def cal(engine):
    return WorkCalendar(engine.db)


def counts(db):
    with db.read() as s:
        return (s.scalar(select(func.count()).select_from(CalendarDay)),
                s.scalar(select(func.count()).select_from(CalendarYear)))


# A hypothetical 2027 calendar, as an administrator would load it once announced.
HOLIDAYS_2027 = [date(2027, 1, 1)] + [date(2027, 2, d) for d in range(8, 13)]   # Fri; Mon-Fri
WORKDAYS_2027 = [date(2027, 2, 7)]                                               # a Sunday


def test_reference_data_of_2026():
    """The facts the other tests rely on, straight from chinesecalendar."""
    assert chinese_calendar.is_workday(date(2026, 9, 20))      # Sunday, 调休 for National Day
    assert chinese_calendar.is_workday(date(2026, 10, 10))     # Saturday, 调休 for National Day
    assert chinese_calendar.is_workday(date(2026, 2, 14))      # Saturday, 调休 for Spring Festival
    assert chinese_calendar.is_workday(date(2026, 2, 28))      # Saturday, 调休 for Spring Festival
    assert not any(chinese_calendar.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert not any(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(15, 24))


def test_national_day_2026(cal):
    for d in range(1, 8):
        assert not cal.is_workday(date(2026, 10, d))
    assert cal.is_workday(date(2026, 9, 20))       # make-up Sunday
    assert cal.is_workday(date(2026, 10, 10))      # make-up Saturday
    assert not cal.is_workday(date(2026, 10, 11))  # an ordinary Sunday
    assert cal.is_workday(date(2026, 10, 8))
    # 5 working days from Wed 30 Sep 09:00: Oct 8, 9, 10 (Sat, 调休), 12, 13.
    assert cal.add_workdays(bj(2026, 9, 30), 5) == bj(2026, 10, 13)
    assert cal.add_workdays(bj(2026, 9, 30), 3) == bj(2026, 10, 10)
    # ... and back again.
    assert cal.add_workdays(bj(2026, 10, 13), -5) == bj(2026, 9, 30)
    assert cal.add_workdays(bj(2026, 10, 8), -1) == bj(2026, 9, 30)


def test_spring_festival_2026(cal):
    for d in range(15, 24):
        assert not cal.is_workday(date(2026, 2, d))
    assert cal.is_workday(date(2026, 2, 14)) and cal.is_workday(date(2026, 2, 28))
    # From Fri 13 Feb: Feb 14 (Sat, 调休), 24, 25, 26, 27.
    assert cal.add_workdays(bj(2026, 2, 13, 15, 30), 5) == bj(2026, 2, 27, 15, 30)
    # From the make-up Saturday itself, the eve of the holiday: Feb 24-27 and Sat Feb 28 (调休).
    assert cal.add_workdays(bj(2026, 2, 14, 10), 5) == bj(2026, 2, 28, 10)
    assert cal.add_workdays(bj(2026, 2, 14, 10), 4) == bj(2026, 2, 27, 10)


def test_weekends_and_start_on_a_day_off(cal):
    assert cal.add_workdays(bj(2026, 11, 6), 1) == bj(2026, 11, 9)     # Fri -> Mon
    assert cal.add_workdays(bj(2026, 11, 2), 5) == bj(2026, 11, 9)     # Mon -> next Mon
    # Submitted on a Saturday or Sunday: counted from that day, lands on the n-th next working day.
    assert cal.add_workdays(bj(2026, 11, 7, 10), 1) == bj(2026, 11, 9, 10)
    assert cal.add_workdays(bj(2026, 11, 8, 10), 5) == bj(2026, 11, 13, 10)
    # Submitted during the National Day holiday.
    assert cal.add_workdays(bj(2026, 10, 3, 14), 1) == bj(2026, 10, 8, 14)
    # n = 0 is start, whatever the day.
    assert cal.add_workdays(bj(2026, 11, 7, 10), 0) == bj(2026, 11, 7, 10)
    assert cal.add_workdays(bj(2026, 11, 9), -1) == bj(2026, 11, 6)


def test_local_time_of_day_is_kept_across_utc_midnight(cal):
    # 23:30 UTC on Fri 6 Nov is 07:30 Beijing on Sat 7 Nov: counted from the Saturday.
    start = datetime(2026, 11, 6, 23, 30, tzinfo=timezone.utc)
    end = cal.add_workdays(start, 1)
    assert end == bj(2026, 11, 9, 7, 30)
    assert end.tzinfo is timezone.utc          # in start's zone
    # A naive datetime is local time in the calendar's zone.
    assert cal.add_workdays(datetime(2026, 11, 6, 9), 1) == bj(2026, 11, 9)


def test_workdays_between(cal):
    assert cal.workdays_between(bj(2026, 11, 2), bj(2026, 11, 9)) == pytest.approx(5.0)
    assert cal.workdays_between(bj(2026, 11, 2, 9), bj(2026, 11, 2, 21)) == pytest.approx(0.5)
    assert cal.workdays_between(bj(2026, 11, 7), bj(2026, 11, 8, 23)) == 0.0   # a weekend
    assert cal.workdays_between(bj(2026, 11, 9), bj(2026, 11, 2)) == 0.0       # b <= a
    # Over the National Day week: rest of Sep 30 (15 h), nothing Oct 1-7, Oct 8, 9 h of Oct 9.
    assert cal.workdays_between(bj(2026, 9, 30), bj(2026, 10, 9)) == pytest.approx(2.0)
    # Consistent with add_workdays from a working day.
    start = bj(2026, 9, 30, 16, 45)
    for n in (1, 3, 5, 12):
        assert cal.workdays_between(start, cal.add_workdays(start, n)) == pytest.approx(n)
    # Spring Festival: Feb 13 (Fri) 09:00 to Feb 24 09:00 = 15 h + Sat 14th + 9 h.
    assert cal.workdays_between(bj(2026, 2, 13), bj(2026, 2, 24)) == pytest.approx(2.0)


def test_2027_unknown_until_loaded(cal, engine):
    with pytest.raises(CalendarYearUnknown) as info:
        cal.is_workday(date(2027, 1, 4))
    err = info.value
    assert isinstance(err, QihuError)
    assert err.year == 2027 and err.region == ""
    assert "2027 年" in str(err) and "calendar of 2027" in str(err)
    with pytest.raises(CalendarYearUnknown):
        cal.add_workdays(bj(2026, 12, 30), 5)           # crosses into 2027
    with pytest.raises(CalendarYearUnknown):
        cal.workdays_between(bj(2026, 12, 30), bj(2027, 1, 5))
    assert cal.add_workdays(bj(2026, 12, 30), 1) == bj(2026, 12, 31)   # 2026 still fine

    cal.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, user="admin")
    assert not cal.is_workday(date(2027, 1, 1))      # listed holiday
    assert not cal.is_workday(date(2027, 1, 2))      # Saturday
    assert not cal.is_workday(date(2027, 1, 3))      # Sunday
    assert cal.is_workday(date(2027, 1, 4))          # Monday
    assert cal.is_workday(date(2027, 3, 5))          # a Friday not listed
    assert not cal.is_workday(date(2027, 2, 10))     # listed holiday on a Wednesday
    assert cal.is_workday(date(2027, 2, 7))          # listed make-up Sunday
    # Dec 31 (Thu), Jan 4, 5, 6, 7.
    assert cal.add_workdays(bj(2026, 12, 30), 5) == bj(2027, 1, 7)
    # Fri 5 Feb: Sun 7 Feb (调休), then Feb 15.
    assert cal.add_workdays(bj(2027, 2, 5), 2) == bj(2027, 2, 15)
    assert cal.workdays_between(bj(2026, 12, 31), bj(2027, 1, 5)) == pytest.approx(2.0)
    with pytest.raises(CalendarYearUnknown) as info:
        cal.is_workday(date(2028, 1, 3))
    assert info.value.year == 2028

    with engine.db.read() as s:
        year = s.scalars(select(CalendarYear)).one()
        assert (year.region, year.year, year.loaded_by) == ("", 2027, "admin")
    assert counts(engine.db) == (len(HOLIDAYS_2027) + len(WORKDAYS_2027), 1)
    # Another calendar object (another process) reads the same data.
    assert WorkCalendar(engine.db).is_workday(date(2027, 2, 7))


def test_load_year_replaces(cal, engine):
    cal.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027)
    cal.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027)          # idempotent
    assert counts(engine.db) == (len(HOLIDAYS_2027) + len(WORKDAYS_2027), 1)
    # A corrected announcement: Feb 12 is a working day after all, Feb 7 an ordinary Sunday.
    cal.load_year(2027, HOLIDAYS_2027[:-1], [], user="admin2")
    assert counts(engine.db) == (len(HOLIDAYS_2027) - 1, 1)
    assert cal.is_workday(date(2027, 2, 12))
    assert not cal.is_workday(date(2027, 2, 7))
    assert not cal.is_workday(date(2027, 2, 11))


@pytest.mark.parametrize("holidays, workdays, message", [
    ([date(2027, 1, 1), date(2026, 12, 31)], [], "2026-12-31"),
    ([date(2027, 1, 1)], [date(2028, 1, 2)], "2028-01-02"),
    ([date(2027, 1, 1)], [date(2027, 1, 1)], "2027-01-01"),
])
def test_load_year_rejects_bad_dates_and_writes_nothing(cal, engine, holidays, workdays, message):
    with pytest.raises(ValueError, match=message):
        cal.load_year(2027, holidays, workdays)
    assert counts(engine.db) == (0, 0)
    with pytest.raises(CalendarYearUnknown):
        cal.is_workday(date(2027, 1, 4))
    # A failed reload leaves the earlier load alone.
    cal.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027)
    with pytest.raises(ValueError, match=message):
        cal.load_year(2027, holidays, workdays)
    assert counts(engine.db) == (len(HOLIDAYS_2027) + len(WORKDAYS_2027), 1)
    assert cal.is_workday(date(2027, 2, 7))


def test_regional_override(cal):
    d = date(2026, 11, 11)                 # a Wednesday
    assert cal.is_workday(d, "庆元县")
    cal.set_day(d, False, "庆元县", note="县庆")
    assert not cal.is_workday(d, "庆元县")
    assert cal.is_workday(d)               # national
    assert cal.is_workday(d, "景宁县")      # another county
    assert cal.add_workdays(bj(2026, 11, 10), 1, "庆元县") == bj(2026, 11, 12)
    assert cal.add_workdays(bj(2026, 11, 10), 1) == bj(2026, 11, 11)
    assert cal.workdays_between(bj(2026, 11, 10), bj(2026, 11, 12), "庆元县") == pytest.approx(1.0)
    # Regions fall back to the national calendar, 调休 included.
    assert cal.is_workday(date(2026, 10, 10), "庆元县")
    assert not cal.is_workday(date(2026, 10, 2), "庆元县")
    # An override the other way: a county working Saturday; set_day replaces.
    cal.set_day(date(2026, 11, 14), True, "庆元县")
    assert cal.is_workday(date(2026, 11, 14), "庆元县")
    cal.set_day(d, True, "庆元县")
    assert cal.is_workday(d, "庆元县")
    cal.set_day(d, False, "庆元县")
    assert WorkCalendar(cal.db).is_workday(d, "庆元县") is False
    assert cal.clear_day(d, "庆元县") is True
    assert cal.clear_day(d, "庆元县") is False
    assert cal.is_workday(d, "庆元县")
    # A regional override of a day in an unknown year answers for that day only.
    cal.set_day(date(2027, 1, 4), False, "庆元县")
    assert not cal.is_workday(date(2027, 1, 4), "庆元县")
    with pytest.raises(CalendarYearUnknown) as info:
        cal.is_workday(date(2027, 1, 5), "庆元县")
    assert info.value.region == "庆元县"


def test_national_row_wins_over_package(cal):
    d = date(2026, 11, 3)
    assert cal.is_workday(d)
    cal.set_day(d, False, "", note="correction")
    assert not cal.is_workday(d) and not cal.is_workday(d, "庆元县")
    cal.clear_day(d, "")
    assert cal.is_workday(d)


def test_threads_share_one_calendar(cal):
    errors, results = [], []

    def work():
        try:
            results.append(cal.add_workdays(bj(2026, 9, 30), 5))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [bj(2026, 10, 13)] * 8


def test_helpers_in_the_sandbox(cal, clock):
    env = SandboxEnvironment(helpers=cal.helpers(clock.now))
    now = clock.now()                                   # Mon 2 Nov 2026, 09:00 Beijing
    due = env.evaluate("workdays(5)", {})
    assert due == bj(2026, 11, 9) and due.tzinfo is timezone.utc
    assert env.evaluate("workdays(n, start)", {"n": 5, "start": bj(2026, 9, 30)}) == bj(2026, 10, 13)
    assert env.evaluate("workdays(-1)", {}) == bj(2026, 10, 30)
    assert env.evaluate("workdays_between(a, b)",
                        {"a": bj(2026, 9, 30), "b": bj(2026, 10, 9)}) == pytest.approx(2.0)
    assert env.evaluate("workdays_between(a)", {"a": now - timedelta(days=3)}) == pytest.approx(1.0)
    assert env.evaluate("is_workday()", {}) is True
    assert env.evaluate("is_workday(d)", {"d": date(2026, 10, 10)}) is True
    assert env.evaluate("is_workday(date(2026, 10, 1))", {}) is False
    # Task data holds dates as ISO strings.
    assert env.evaluate("workdays(5, s)", {"s": "2026-09-30T09:00:00+08:00"}) == bj(2026, 10, 13)
    # A gateway-style condition using the share of working time.
    assert env.evaluate("workdays_between(created) / workdays_between(created, due) >= 0.6",
                        {"created": bj(2026, 10, 27), "due": bj(2026, 11, 3)}) is True
    clock.advance(days=5)                               # Sat 7 Nov
    assert env.evaluate("is_workday()", {}) is False
    assert env.evaluate("workdays(1)", {}) == bj(2026, 11, 9)
    # An unknown year surfaces as the engine error, not a guess.
    with pytest.raises(CalendarYearUnknown):
        env.evaluate("workdays(1, date(2027, 3, 1))", {})


def test_workday_share_places_warning_moments_on_working_time(engine):
    cal = engine.calendar
    start = datetime(2026, 11, 2, 9, 0, tzinfo=BJ)          # Monday
    due = cal.add_workdays(start, 5)                              # Monday 2026-11-09 09:00
    assert cal.share_moment(start, due, 0.6) == datetime(2026, 11, 5, 9, 0, tzinfo=BJ)
    assert cal.share_moment(start, due, 0.8) == datetime(2026, 11, 6, 9, 0, tzinfo=BJ)
    assert cal.share_moment(start, due, 1) == due
    # National Day week: Sep 30 (Wed) 09:00 + 5 working days skips Oct 1-7, counts Saturday Oct 10
    start = datetime(2026, 9, 30, 9, 0, tzinfo=BJ)
    due = cal.add_workdays(start, 5)
    assert due == datetime(2026, 10, 13, 9, 0, tzinfo=BJ)    # Oct 8, 9, 10 (调休), 12, 13
    assert cal.share_moment(start, due, 0.6) == datetime(2026, 10, 10, 9, 0, tzinfo=BJ)   # the make-up Saturday
    helper = cal.helpers(lambda: start)["workday_share"]
    assert helper(start.isoformat(), due.isoformat(), 0.8) == datetime(2026, 10, 12, 9, 0, tzinfo=BJ)
