"""Deadlines and working days as staff say them, in the reader's language (issue 15): not
"2026-12-19 00:00" and "超期 0.4 个工作日" but "12月18日（当日24时）" and "超期 10 小时"."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from qihu.web.app import create_app
from qihu.web.pages.filters import deadline_text, workdays_text

BJ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app(engine, clock):
    clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=BJ))
    return create_app(engine=engine, config={"TESTING": True})


# a working day counts its 24 local hours (the SLA measure), so 1/24 is an hour of it
@pytest.mark.parametrize("left,zh,en", [
    (None, "—", "—"),
    (3.9, "剩余 3.9 个工作日", "3.9 working days left"),
    (2.0, "剩余 2 个工作日", "2 working days left"),
    (1.0, "剩余 1 个工作日", "1 working day left"),
    (0.99, "剩余 1 个工作日", "1 working day left"),          # 23.8 h: rounds to a day, not "24 小时"
    (0.5, "剩余半天", "half a day left"),
    (11 / 24, "剩余半天", "half a day left"),
    (13 / 24, "剩余半天", "half a day left"),
    (14 / 24, "剩余 14 小时", "14 hours left"),
    (7 / 24, "剩余 7 小时", "7 hours left"),
    (1 / 24, "剩余 1 小时", "1 hour left"),
    (0.5 / 24, "剩余不足 1 小时", "under an hour left"),
    (0.0, "剩余不足 1 小时", "under an hour left"),
    (-0.4, "超期 10 小时", "10 hours overdue"),               # was "超期 0.4 个工作日"
    (-2 / 24, "超期 2 小时", "2 hours overdue"),
    (-0.5, "超期半天", "half a day overdue"),
    (-0.01, "超期不足 1 小时", "under an hour overdue"),
    (-1.0, "超期 1 个工作日", "1 working day overdue"),
    (-2.46, "超期 2.5 个工作日", "2.5 working days overdue"),
])
def test_working_days_read_as_hours_or_half_a_day_under_a_day(app, left, zh, en):
    with app.test_request_context("/"):
        assert workdays_text(left) == zh
    with app.test_request_context("/?lang=en"):
        assert workdays_text(left) == en


@pytest.mark.parametrize("due,zh,en", [
    ("2026-12-18T16:00:00+00:00", "12月18日（当日24时）", "18 Dec (end of day)"),
    ("2026-12-18T09:30:00+00:00", "12月18日 17:30", "18 Dec 17:30"),
    ("2027-01-05T16:00:00+00:00", "2027年1月5日（当日24时）", "5 Jan 2027 (end of day)"),
])
def test_the_deadline_filter_uses_the_engine_clock_and_the_readers_language(app, due, zh, en):
    with app.test_request_context("/"):
        assert deadline_text(due) == zh
        assert app.jinja_env.filters["qihu_deadline"](due) == zh
    with app.test_request_context("/?lang=en"):
        assert deadline_text(due) == en


def test_the_year_is_the_engine_clocks(app, clock):
    clock.set(datetime(2027, 1, 2, 10, 0, tzinfo=BJ))
    with app.test_request_context("/"):
        assert deadline_text("2027-01-05T16:00:00+00:00") == "1月5日（当日24时）"
        assert deadline_text("2026-12-18T09:30:00+00:00") == "2026年12月18日 17:30"
