"""Deadlines, time left and priority in the 通用 mechanism's inbox, as people say them (issue 15),
in Chinese and with the English switch, at desktop and phone width. Screenshots:
tests/artifacts/wording_inbox_*.png."""
from datetime import datetime, timedelta, timezone

import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.engine.runtime.worker import Worker
from qihu.web.app import create_app
from tests.conftest import ARTIFACTS
from tests.web_util import BASIC, live_server

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
PW = "browser-pw"


@pytest.fixture
def server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC])
    engine.accounts.add_user("shouli", PW, display_name="受理员 李敏", groups=["acceptor"])
    engine.accounts.add_user("zhengce", PW, display_name="政策科 周文", groups=["dept_policy"])
    for n, (company, urgent) in enumerate([("德清某机械有限公司", True), ("湖州某纺织有限公司", False)]):
        iid = engine.runtime.start("appeal_basic", {"company": company}, business_key=f"QH-{n + 1}")
        [t] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(t["id"], "shouli", {"category": "policy", "summary": "政策兑现咨询", "urgent": urgent})
        clock.set(clock.now() + timedelta(hours=30))
    # Thursday 08:00: QH-1 was due Thursday 09:00 (1 hour left), QH-2 Friday 15:00
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-wording"})
    with live_server(app) as base:
        yield base, engine, clock
    engine.close()


def shots(page, name):
    for width, tag in ((1366, "desktop"), (375, "phone")):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(ARTIFACTS / f"wording_{name}_{tag}.png"), full_page=True)
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.set_viewport_size({"width": 1366, "height": 800})


def at(engine, clock, moment):
    """Move the clock; the worker moves the SLA colours on."""
    clock.set(moment)
    while Worker(engine).run_once():
        pass


def test_the_inbox_says_deadlines_and_time_left_in_words(server, page):
    base, engine, clock = server
    at(engine, clock, datetime(2026, 11, 5, 0, 0, tzinfo=timezone.utc))             # Thursday 08:00 Beijing
    page.goto(f"{base}/login")
    page.fill("#name", "zhengce")
    page.fill("#password", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")
    text = page.locator("main").inner_text()
    assert "11月5日 09:00" in text and "剩余 1 小时" in text                        # QH-1, urgent: first by deadline
    assert "11月6日 15:00" in text and "剩余 1.3 个工作日" in text                  # QH-2
    assert "2026-11-05" not in text and "个工作日" in text
    assert page.locator('tr:has-text("QH-1")').inner_text().count("橙") == 1      # 71 of 72 hours used
    assert page.locator('tr:has-text("QH-2")').inner_text().count("绿") == 1      # 41 of 72
    shots(page, "inbox_zh")
    at(engine, clock, datetime(2026, 11, 5, 5, 0, tzinfo=timezone.utc))             # 13:00: 4 hours late
    page.goto(f"{base}/inbox?lang=en")
    text = page.locator("main").inner_text()
    assert "5 Nov 09:00" in text and "4 hours overdue" in text
    assert "6 Nov 15:00" in text and "Red" in page.locator('tr:has-text("QH-1")').inner_text()
    shots(page, "inbox_en")
