"""Saved filters, the region filter and notifications in a real browser (Playwright driving
Debian's Chromium): 受理员 李敏 filters her inbox by region, saves the filter, clears it, picks it
again, and reads and marks a reminder. The same features without a browser, on both databases:
tests/domain/test_inbox_filters.py and tests/web/test_notifications.py.
Screenshots: tests/artifacts/inbox_*.png.
"""
import pytest

from qihu.web.app import create_app

from tests.conftest import START
from tests.domain.test_inbox_filters import BJ, REVIEW
from tests.web_util import live_server


@pytest.fixture
def browser_server(tmp_path):
    """A served app with regional appeals for 受理员 李敏 and a reminder to her group."""
    from qihu.engine import Engine
    from qihu.engine.clock import ManualClock
    from tests.web.test_notifications import REMIND
    from tests.browser.test_browser import PASSWORD
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.repository.deploy([("review.bpmn", REVIEW)])
    engine.repository.deploy([("remind.bpmn", REMIND)])
    engine.accounts.add_user("shouli", PASSWORD, display_name="受理员 李敏", groups=["acceptor"])
    for n, (region, day, prio) in enumerate([("湖州市", 3, 80), ("湖州市", 9, 50), ("宁波市", 4, 50),
                                             ("温州市鹿城区", 20, 10), (None, 12, 50)], start=1):
        engine.runtime.start("review", {"groups": "acceptor", "due": f"2026-11-{day:02d}T09:00:00{BJ}", "prio": prio},
                             business_key=f"ZJ-2026-{n:03d}", region=region)
    engine.runtime.start("remind", {"groups": "acceptor", "users": "", "title": "催办：ZJ-2026-009 请于今日办结",
                                    "summary": "企业反映用地指标未落实"}, business_key="ZJ-2026-009", region="湖州市")
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-test"})
    with live_server(app) as base:
        yield base
    engine.close()


def test_region_saved_filter_and_notifications_in_a_browser(browser_server, page):
    from tests.browser.test_browser import ARTIFACTS, inbox_keys, sign_in as browser_sign_in
    base = browser_server
    browser_sign_in(page, base, "shouli")
    assert page.locator(".qh-nav .qh-badge").inner_text() == "1"
    page.select_option("select[name=region]", "湖州市")
    page.click("button:has-text('筛选')")
    page.wait_for_url("**region=**")
    assert inbox_keys(page) == ["ZJ-2026-001", "ZJ-2026-002", "ZJ-2026-009"]
    page.click(".qh-save-filter summary")
    page.fill(".qh-save-filter input[name=name]", "湖州件")
    page.click(".qh-save-filter button")
    assert "已保存筛选：湖州件" in page.locator(".qh-flash").first.inner_text()
    assert page.locator(".qh-saved-item.is-on a").inner_text() == "湖州件 3"
    page.click("text=清除")
    page.wait_for_url(f"{base}/inbox")
    assert len(inbox_keys(page)) == 6
    page.screenshot(path=str(ARTIFACTS / "inbox_saved.png"), full_page=True)
    page.click(".qh-saved-item a")
    page.wait_for_url("**region=**")
    assert inbox_keys(page) == ["ZJ-2026-001", "ZJ-2026-002", "ZJ-2026-009"]

    page.click(".qh-nav a:has-text('通知')")
    assert page.locator("h1").inner_text() == "我的通知"
    assert "催办：ZJ-2026-009 请于今日办结" in page.locator(".qh-note-item").inner_text()
    page.screenshot(path=str(ARTIFACTS / "inbox_notifications.png"), full_page=True)
    page.click(".qh-note-item button:has-text('标为已读')")
    assert page.locator(".qh-nav .qh-badge").count() == 0
    assert page.locator(".qh-note-item .qh-note-read").inner_text() == "已读"
    page.click(".qh-note-item a:has-text('查看诉求')")
    page.wait_for_url("**/instances/**")
    assert "ZJ-2026-009" in page.locator("body").inner_text()
