"""The demo's first screen is not empty (issue 15): after the seed with its sample appeals, a board
clerk's inbox shows work in every colour, the 晾晒 dashboard figures and warnings, at desktop and
phone width. Screenshots: tests/artifacts/demo_samples_*.png."""
import pytest

from qihu.appeals.demo import DEMO_PASSWORD, seed
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app
from tests.conftest import ARTIFACTS, BPMN, START
from tests.web_util import live_server


@pytest.fixture
def seeded(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    list(seed(engine, BPMN, samples=True))
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-demo"})
    with live_server(app) as base:
        yield base
    engine.close()


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")


def test_the_seeded_demo_shows_work_at_once(seeded, page):
    base = seeded
    for width, height, tag in ((1366, 900, "desktop"), (375, 800, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.context.clear_cookies()
        sign_in(page, base, "hz_bankuai")
        rows = page.locator("tr[data-task]")
        assert rows.count() >= 4
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"demo_samples_inbox_{tag}.png"), full_page=True)
        page.context.clear_cookies()
        sign_in(page, base, "hz_lingdao")
        page.goto(f"{base}/dashboard")
        text = page.locator("body").inner_text()
        assert "湖州演示物流有限公司" in text or "冷链仓储" in text          # the red one on the warning board
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / f"demo_samples_dashboard_{tag}.png"), full_page=True)
