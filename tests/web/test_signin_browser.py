"""The sign-in lock in a real browser (Debian Chromium): five wrong passwords, then the page
says the account is locked and for how long, in Chinese; an administrator unlocks and the
right password signs in; a `next` with a tab lands in the inbox. Screenshots:
tests/artifacts/signin_locked_{1366,375}.png."""
import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, START
from tests.web_util import PASSWORD, live_server


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.accounts.add_user("li", PASSWORD, display_name="李受理", groups=["acceptor"])
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-signin-" + "x" * 20})
    with live_server(app) as base:
        yield base, engine
    engine.close()


def _try(page, base, password):
    page.goto(f"{base}/login")
    page.fill("#name", "li")
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_locked_then_unlocked(page, server):
    base, engine = server
    for n in range(5):
        _try(page, base, f"wrong-{n}")
        assert "用户名或密码不正确" in page.locator(".qh-flash-error").inner_text()
    _try(page, base, PASSWORD)
    said = page.locator(".qh-flash-error").inner_text()
    assert "账户已锁定，请 15 分钟后再试" in said and "(" not in said          # Chinese only
    for width, height in ((1366, 800), (375, 740)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"signin_locked_{width}.png"), full_page=True)
        box = page.locator(".qh-flash-error").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width   # fits the phone
    engine.accounts.unlock("li", user="admin")
    page.goto(f"{base}/login?next=/%09/evil.example")
    page.fill("#name", "li")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")
