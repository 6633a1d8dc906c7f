"""Provisional (暂定) years: a deadline in a year the State Council has not announced yet is
counted on the statutory holidays (全国年节及纪念日放假办法, 2024 revision) and weekends
instead of stopping the appeal; the runtime can tell that a value used such a day."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from qihu.engine.config import Settings
from qihu.engine.workcalendar import (CalendarYearUnknown, WorkCalendar, YearSource, provisional_watch,
                                      statutory_holidays)
from tests.bpmn_util import bpmn, chain

BJ = ZoneInfo("Asia/Shanghai")


def bj(y, m, d, h=9, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=BJ)


def days(year):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


@pytest.fixture
def cal(engine, clock):
    """A calendar as the engine makes it: provisional years on, today from the test clock."""
    return WorkCalendar(engine.db, provisional=True, today=clock.now)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_day_is_a_holiday_in_the_official_calendar(year):
    """The rules, computed for years that were announced since the 2024 revision, against
    chinesecalendar's official data: every statutory day is a day off there too (the official
    calendar adds bridge days and moves weekends: those are the 调休 nobody can guess)."""
    statutory = statutory_holidays(year)
    assert len(statutory) == 13          # 1 + 4 + 1 + 2 + 1 + 1 + 3 days, none coinciding
    for day, name in statutory.items():
        assert not chinese_calendar.is_workday(day), (day, name)
        assert chinese_calendar.is_holiday(day), (day, name)
    names = sorted(set(statutory.values()))
    assert names == sorted(["元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"])


@pytest.mark.parametrize("year", [2025, 2026])
def test_provisional_differs_from_official_only_by_the_announced_adjustments(year):
    """Where the provisional and the official calendar of an announced year differ, it is
    the State Council's 调休: a weekend made a working day, or a weekday made a day off next
    to a holiday. The provisional one never invents a holiday."""
    from qihu.engine.workcalendar import statutory_workday
    statutory = statutory_holidays(year)
    for day in days(year):
        official, provisional = chinese_calendar.is_workday(day), statutory_workday(day)
        if official and not provisional:
            assert day.weekday() >= 5 and day not in statutory, day        # a make-up weekend day
        if provisional and not official:
            near = any(day + timedelta(days=k) in statutory for k in range(-6, 7))
            assert day.weekday() < 5 and near, day                          # a bridge day


def test_2027_by_the_rules():
    h = statutory_holidays(2027)
    assert h[date(2027, 1, 1)] == "元旦"
    # 正月初一 is Sat 6 Feb 2027: 除夕 Fri 5 Feb to 初三 Mon 8 Feb
    assert [d for d, n in sorted(h.items()) if n == "春节"] == [date(2027, 2, d) for d in (5, 6, 7, 8)]
    assert h[date(2027, 4, 5)] == "清明节"          # the 清明 solar term
    assert h[date(2027, 5, 1)] == h[date(2027, 5, 2)] == "劳动节"
    assert h[date(2027, 6, 9)] == "端午节"          # 五月初五
    assert h[date(2027, 9, 15)] == "中秋节"         # 八月十五
    assert [d for d, n in sorted(h.items()) if n == "国庆节"] == [date(2027, 10, d) for d in (1, 2, 3)]


def test_a_festival_on_national_day_is_named_for_both():
    # 2028: 中秋 falls on 3 October
    assert statutory_holidays(2028)[date(2028, 10, 3)] == "国庆节、中秋节"


def test_provisional_workdays_of_2027(cal):
    assert not cal.is_workday(date(2027, 1, 1))        # 元旦, a Friday
    assert cal.is_workday(date(2027, 1, 4))            # Monday
    assert not cal.is_workday(date(2027, 1, 2))        # Saturday: no 调休 guessed
    assert not cal.is_workday(date(2027, 2, 5)) and not cal.is_workday(date(2027, 2, 8))   # 除夕, 初三
    assert cal.is_workday(date(2027, 2, 9))
    assert not cal.is_workday(date(2027, 6, 9)) and not cal.is_workday(date(2027, 9, 15))
    # Wed 30 Dec 2026 + 5: Dec 31, (Jan 1 元旦, weekend), Jan 4, 5, 6, 7
    assert cal.add_workdays(bj(2026, 12, 30), 5) == bj(2027, 1, 7)
    assert cal.workdays_between(bj(2026, 12, 31), bj(2027, 1, 5)) == pytest.approx(2.0)


def test_watch_tells_whether_a_value_used_a_provisional_day(cal):
    with cal.provisional_watch() as used:
        cal.add_workdays(bj(2026, 12, 1), 5)
    assert used.value is False and used.years == set()
    with provisional_watch() as outer:
        with cal.provisional_watch() as inner:
            cal.add_workdays(bj(2026, 12, 30), 5)
        assert inner.value and inner.years == {2027}
        cal.is_workday(date(2026, 12, 1))
    assert outer.value and outer.years == {2027}        # an enclosing watch sees it too
    cal.is_workday(date(2027, 3, 1))                    # no watch: nothing to record, no error


def test_is_provisional_and_year_status(cal, clock):
    assert not cal.is_provisional(date(2026, 12, 31))
    assert cal.is_provisional(date(2027, 1, 4))
    assert cal.is_provisional(bj(2027, 1, 4, 23, 30))
    assert cal.year_status(2026) == YearSource.OFFICIAL
    assert cal.year_status(2027) == YearSource.PROVISIONAL
    assert cal.year_status(2028) == YearSource.PROVISIONAL
    # beyond this year + 2: a year too far ahead is refused, as before
    assert cal.year_status(2029) == YearSource.UNKNOWN
    with pytest.raises(CalendarYearUnknown):
        cal.is_workday(date(2029, 3, 1))
    clock.set(bj(2027, 2, 1))
    assert cal.year_status(2029) == YearSource.PROVISIONAL
    # before the 2024 revision took effect, the old rules applied: never guessed
    assert cal.year_status(2003) == YearSource.UNKNOWN
    with pytest.raises(CalendarYearUnknown):
        cal.is_workday(date(2003, 3, 3))

    cal.load_year(2027, [date(2027, 1, 1)], [])
    assert cal.year_status(2027) == YearSource.LOADED
    assert not cal.is_provisional(date(2027, 1, 4))
    with cal.provisional_watch() as used:
        assert cal.is_workday(date(2027, 2, 5))          # loaded: Mon-Fri, as listed
    assert not used.value


def test_a_regional_override_wins_in_a_provisional_year(cal):
    cal.set_day(date(2027, 3, 3), False, "庆元县", note="县庆")
    assert not cal.is_workday(date(2027, 3, 3), "庆元县")
    assert cal.is_workday(date(2027, 3, 3))
    assert cal.is_provisional(date(2027, 3, 3), "庆元县")
    cal.load_year(2027, [date(2027, 1, 1)], [], region="庆元县")
    assert cal.year_status(2027, "庆元县") == YearSource.LOADED
    assert cal.year_status(2027) == YearSource.PROVISIONAL


def test_a_bare_calendar_and_the_setting_refuse_as_before(engine, make_engine, clock):
    with pytest.raises(CalendarYearUnknown):
        WorkCalendar(engine.db).is_workday(date(2027, 1, 4))
    strict = make_engine(calendar_provisional=False)
    with pytest.raises(CalendarYearUnknown):
        strict.calendar.add_workdays(bj(2026, 12, 30), 5)
    assert strict.calendar.year_status(2027) == YearSource.UNKNOWN
    assert engine.calendar.add_workdays(bj(2026, 12, 30), 5) == bj(2027, 1, 7)   # on by default
    assert Settings.from_env({}).calendar_provisional is True
    assert Settings.from_env({"QIHU_CALENDAR_PROVISIONAL": "0"}).calendar_provisional is False
    assert Settings.from_env({"QIHU_CALENDAR_REFRESH": "5"}).calendar_refresh == 5.0
    with pytest.raises(ValueError, match="QIHU_CALENDAR_PROVISIONAL"):
        Settings.from_env({"QIHU_CALENDAR_PROVISIONAL": "maybe"})


def test_year_to_load_from_the_first_of_november(engine, make_engine, clock):
    cal = engine.calendar
    clock.set(bj(2026, 10, 31, 23, 59))
    assert cal.year_to_load() is None
    clock.set(bj(2026, 11, 1, 0, 0))
    assert cal.year_to_load() == {"year": 2027, "source": YearSource.PROVISIONAL}
    assert make_engine(calendar_provisional=False).calendar.year_to_load() == {"year": 2027,
                                                                               "source": YearSource.UNKNOWN}
    clock.set(bj(2025, 11, 20))                          # 2026 is in the package
    assert cal.year_to_load() is None
    clock.set(bj(2026, 12, 7))
    cal.load_year(2027, [date(2027, 1, 1)], [])
    assert cal.year_to_load() is None


STEP = bpmn("year_end", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="board" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "handle", "e")}""")


def test_a_december_deadline_into_2027_no_longer_stops_the_appeal(engine, clock):
    """Finding: with next year not loaded, a step whose deadline reached into it failed
    (CalendarYearUnknown) and the appeal stood still. Now it runs on a provisional due."""
    engine.repository.deploy([("year_end.bpmn", STEP)])
    clock.set(bj(2026, 12, 30))
    iid = engine.runtime.start("year_end")
    [t] = engine.tasks.list(instance_id=iid)
    assert t["due_at"] == bj(2027, 1, 7).astimezone(timezone.utc).isoformat()
    assert engine.calendar.is_provisional(datetime.fromisoformat(t["due_at"]))
    assert engine.runtime.incidents(iid) == []
    assert t["sla_colour"] == "green"
