"""Display names in a real browser (Debian Chromium), at desktop (1366 px) and phone (375 px)
width: an administrator names a group on 用户组名称 and finds the name on the instance page,
待分派, 异常处理 and the 晾晒 dashboard; a department sees its scope line by name. No page
overflows at 375 px. Screenshots: tests/artifacts/names_*.png."""
import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.engine.config import Settings
from qihu.web.app import create_app
from tests.conftest import ARTIFACTS, START
from tests.web.test_names_pages import IDS, failing_handlers, ids_in, seed
from tests.web_util import browser_sign_in, live_server
from tests.conftest import RELAXED_PASSWORDS   # its accounts' test passwords

WIDTHS = {"desktop": 1366, "phone": 375}


@pytest.fixture
def server(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'qihu.sqlite3'}", **RELAXED_PASSWORDS, handler_retries=0)
    engine = Engine(settings=settings, handlers=failing_handlers(), clock=ManualClock(START))
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-names"})
    made = seed(engine)
    with live_server(app) as base:
        yield base, made
    engine.close()


def look(page, name, width):
    """Screenshot at `width`; at phone width nothing may overflow; no internal id is read."""
    page.set_viewport_size({"width": width, "height": 800})
    page.wait_for_timeout(150)
    page.screenshot(path=str(ARTIFACTS / f"names_{name}_{width}.png"), full_page=True)
    if width == WIDTHS["phone"]:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert ids_in(page.locator("body").inner_text()) == [], (name, IDS)


def test_an_administrator_names_a_group_and_every_page_reads_it(page, server):
    base, made = server
    browser_sign_in(page, base, "admin")
    page.goto(f"{base}/admin/processes")
    page.click("a[data-groups-link]")
    page.wait_for_url(f"{base}/admin/groups")
    card = page.locator('li[data-group="dept_policy"]')
    assert "政策咨询承办部门" in card.inner_text() and card.get_attribute("data-source") == "diagram"
    card.locator("input[name=display_name]").fill("市发改委政策法规处")
    card.locator("button:has-text('保存')").click()
    page.wait_for_url(f"{base}/admin/groups#g-dept_policy")
    assert "已保存用户组名称「市发改委政策法规处」" in page.locator(".qh-flash-ok").inner_text()
    card = page.locator('li[data-group="dept_policy"]')
    assert card.get_attribute("data-source") == "admin" and "流程图声明为「政策咨询承办部门」" in card.inner_text()
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(150)
        page.screenshot(path=str(ARTIFACTS / f"names_groups_{width}.png"), full_page=False)
        if width == WIDTHS["phone"]:
            assert page.evaluate("document.documentElement.scrollWidth") <= width
    pages = {"instance": f"/instances/{made['open']}", "trail": f"/instances/{made['appeal']}",
             "message": f"/instances/{made['receiver']}", "unassigned": "/inbox/unassigned",
             "incidents": "/admin/incidents", "dashboard": "/dashboard"}
    for name, url in pages.items():
        page.goto(f"{base}{url}")
        for width in WIDTHS.values():
            look(page, name, width)
    page.goto(f"{base}/instances/{made['open']}")
    assert "市发改委政策法规处" in page.locator(".qh-inst-tasks").inner_text()
    page.goto(f"{base}/dashboard")
    assert "市发改委政策法规处" in page.locator(".qh-dash-rank").inner_text()
    # the department's own scope line
    browser_sign_in(page, base, "bumen")
    page.goto(f"{base}/dashboard")
    assert "本部门（综合承办部门、市发改委政策法规处）" in page.locator("[data-scope]").inner_text()
    for width in WIDTHS.values():
        look(page, "dashboard_department", width)
