"""Deadlines as people say them (issue 15): "12月18日（当日24时）", not "2026-12-19 00:00"."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from qihu.engine.dialect.timers import deadline_text

BJ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=BJ)


@pytest.mark.parametrize("due,zh,en", [
    # a limit in working days ends at 24:00 of its last day, stored as 00:00 of the next
    (datetime(2026, 12, 19, 0, 0, tzinfo=BJ), "12月18日（当日24时）", "18 Dec (end of day)"),
    (datetime(2026, 12, 18, 17, 30, tzinfo=BJ), "12月18日 17:30", "18 Dec 17:30"),
    (datetime(2026, 12, 18, 0, 0, 30, tzinfo=BJ), "12月18日 00:00", "18 Dec 00:00"),     # not quite midnight
    # stored in UTC: 16:00 UTC is Beijing's midnight
    (datetime(2026, 12, 18, 16, 0, tzinfo=timezone.utc), "12月18日（当日24时）", "18 Dec (end of day)"),
    ("2026-12-18T01:30:00+00:00", "12月18日 09:30", "18 Dec 09:30"),
    # the year when it is not this year's; 24:00 of 31 Dec is still this year
    (datetime(2027, 1, 1, 0, 0, tzinfo=BJ), "12月31日（当日24时）", "31 Dec (end of day)"),
    (datetime(2027, 1, 4, 9, 0, tzinfo=BJ), "2027年1月4日 09:00", "4 Jan 2027 09:00"),
    (datetime(2027, 1, 5, 0, 0, tzinfo=BJ), "2027年1月4日（当日24时）", "4 Jan 2027 (end of day)"),
    (datetime(2025, 12, 30, 14, 0, tzinfo=BJ), "2025年12月30日 14:00", "30 Dec 2025 14:00"),
])
def test_deadlines_read_as_people_say_them(due, zh, en):
    assert deadline_text(due, now=NOW) == zh
    assert deadline_text(due, now=NOW, lang="en") == en


def test_the_current_year_is_the_engine_clocks_not_the_wall_clocks():
    due = datetime(2031, 3, 2, 0, 0, tzinfo=BJ)
    assert deadline_text(due, now=datetime(2031, 1, 1, tzinfo=BJ)) == "3月1日（当日24时）"
    assert deadline_text(due, now="2030-12-31T15:59:00+00:00") == "2031年3月1日（当日24时）"   # 23:59 in Beijing


def test_no_deadline_is_empty():
    assert deadline_text(None) == "" and deadline_text("") == ""
