"""Sessions in a real browser (issue 16): an idle session ends (the clock moves past
QIHU_SESSION_IDLE_MINUTES: the next page asks to sign in again, in Chinese), and an
administrator's 强制下线 on 用户账号 ends the sessions of the same person in two browsers.
Screenshots: tests/artifacts/sessions_*.png at 1366 and 375 px.
"""
import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, START
from tests.web_util import PASSWORD, live_server

WIDTHS = {1366: 900, 375: 760}


@pytest.fixture
def server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    engine.accounts.add_user("li", PASSWORD, display_name="李受理", groups=["acceptor"], region="湖州市")
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-sessions", "QIHU_SESSION_CLOCK": "engine"})
    with live_server(app) as base:
        yield base, engine, clock
    engine.close()


def sign_in(page, base, name):
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")


def test_an_idle_session_asks_to_sign_in_again(page, server):
    base, engine, clock = server
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, base, "li")
        clock.advance(minutes=20)
        page.goto(f"{base}/inbox")                       # still there: 20 minutes is not idle
        assert page.url == f"{base}/inbox"
        clock.advance(minutes=31)
        page.goto(f"{base}/inbox")
        page.wait_for_url(f"{base}/login?next=/inbox")
        assert "登录已超时，请重新登录" in page.locator("main").inner_text()
        assert page.locator("input[name=password]").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"sessions_idle_{width}.png"), full_page=True)


def test_sign_out_everywhere_ends_both_browsers(page, server):
    base, engine, clock = server
    browser = page.context.browser
    contexts = [browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN") for w, h in WIDTHS.items()]
    li_pages = [c.new_page() for c in contexts]
    for p in li_pages:
        sign_in(p, base, "li")
        assert "李受理" in p.locator("header").inner_text()

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, base, "admin")
    page.goto(f"{base}/admin/processes")
    page.click("a[data-accounts-link]")
    page.wait_for_url(f"{base}/admin/accounts")
    row = page.locator('tr[data-account="li"]')
    assert "李受理" in row.inner_text() and "湖州市" in row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "sessions_accounts_1366.png"), full_page=True)
    row.locator("button[data-signout]").click()
    page.wait_for_url(f"{base}/admin/accounts#a-li")
    assert "已强制下线「李受理」" in page.locator(".qh-flash-ok").inner_text()
    page.screenshot(path=str(ARTIFACTS / "sessions_signed_out_everywhere_1366.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 760})
    page.reload()
    page.screenshot(path=str(ARTIFACTS / "sessions_accounts_375.png"), full_page=True)

    for p, width in zip(li_pages, WIDTHS):
        p.goto(f"{base}/inbox")
        p.wait_for_url(f"{base}/login?next=/inbox")
        assert "登录已失效，请重新登录" in p.locator("main").inner_text()
        p.screenshot(path=str(ARTIFACTS / f"sessions_sent_to_sign_in_{width}.png"), full_page=True)
    page.goto(f"{base}/inbox")
    assert page.url == f"{base}/inbox"                    # the administrator's own session stays
    for c in contexts:
        c.close()
