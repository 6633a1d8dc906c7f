"""个人信息保护 in Chromium at desktop (1366 px) and phone (375 px) width (issue 18): the
department's task page with the contact masked and 显示完整信息, the same page after it (the
phone as a tel: link and the note that the read is logged), the instance page and the search of
a leader who reads masked, the 办理单, and the 个人信息查看记录 page per appeal and per user.
No page is wider than the phone. Screenshots: /tmp/shots/privacy/*.png (and tests/artifacts)."""
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS
from tests.domain.test_portal import BASIC
from tests.web_util import browser_sign_in, live_server

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
PW = "browser-pw"
STAFF = {"shouli": ("受理员 李敏", ["acceptor"], None, False), "bumen": ("政策法规科 王强", ["dept_policy"], None, False),
         "lingdao": ("湖州 市领导", ["dashboard"], "湖州市", False), "admin": ("系统管理员", [], None, True)}
DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 375, "height": 800}
SHOTS = Path("/tmp/shots/privacy")


@pytest.fixture
def site(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC], region="湖州市")
    for name, (display, groups, region, admin) in STAFF.items():
        engine.accounts.add_user(name, PW, display_name=display, groups=groups, region=region, is_admin=admin)
    engine.accounts.set_group_name("acceptor", "受理员")
    engine.accounts.set_group_name("dept_policy", "政策法规科")
    portal = appeals.install(engine).portal
    got = portal.submit("appeal_basic", company="湖州某新材料有限公司", credit_code="91330100799655058B",
                        contact_name="张经理", contact_phone="13812345678", category="policy",
                        summary="惠企政策兑现资金迟迟未到账，影响企业周转")
    [t] = engine.tasks.list(instance_id=got["instance_id"])
    engine.tasks.complete(t["id"], "shouli", {"category": "policy", "summary": "资金未到账"})
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-privacy"})
    with live_server(app) as base:
        yield base, engine, got
    engine.close()


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for folder in (SHOTS, ARTIFACTS):
        page.screenshot(path=str(folder / f"privacy_{name}.png"), full_page=True)


def both_widths(page, name):
    """Screenshots at desktop and phone width; at the phone nothing is wider than the screen."""
    page.set_viewport_size(DESKTOP)
    shoot(page, f"{name}_1366")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url
    shoot(page, f"{name}_375")
    page.set_viewport_size(DESKTOP)


def test_the_department_reads_masked_and_reveals(site, page):
    base, engine, got = site
    iid = got["instance_id"]
    browser_sign_in(page, base, "bumen", PW)
    [t] = engine.tasks.list(instance_id=iid)
    page.goto(f"{base}/tasks/{t['id']}")
    assert page.locator(".qh-case-contact").inner_text() == "张*"
    assert page.locator(".qh-case-phone").inner_text() == "138****5678"
    assert page.locator("a.qh-case-phone").count() == 0
    assert "13812345678" not in page.content()
    both_widths(page, "task_masked")
    page.click(".qh-reveal button")
    page.wait_for_selector("a.qh-case-phone")
    assert page.url.endswith(f"/tasks/{t['id']}")
    assert page.locator("a.qh-case-phone").get_attribute("href") == "tel:13812345678"
    assert page.locator(".qh-case-contact").inner_text() == "张经理"
    assert page.locator(".qh-full-note").is_visible()
    both_widths(page, "task_revealed")
    page.goto(f"{base}/instances/{iid}/print")
    assert "13812345678" in page.locator("body").inner_text()          # revealed in this session: logged
    both_widths(page, "print_revealed")


def test_a_leader_reads_masked_and_the_administrator_reads_the_log(site, page):
    base, engine, got = site
    iid = got["instance_id"]
    browser_sign_in(page, base, "lingdao", PW)
    page.goto(f"{base}/instances/{iid}")
    facts = page.locator(".qh-inst-facts").inner_text()
    assert "138****5678" in facts and "13812345678" not in facts and page.locator(".qh-reveal").count() == 0
    both_widths(page, "instance_leader")
    page.goto(f"{base}/search?q=新材料")
    assert page.locator(".qh-search-contact").inner_text() == "联系电话 138****5678"
    both_widths(page, "search_leader")

    browser_sign_in(page, base, "bumen", PW)       # the department reads the task page once
    [t] = engine.tasks.list(instance_id=iid)
    page.goto(f"{base}/tasks/{t['id']}")

    browser_sign_in(page, base, "admin", PW)
    page.goto(f"{base}/instances/{iid}")
    assert "13812345678" in page.locator(".qh-inst-facts").inner_text()     # administrators read in full
    page.click("text=个人信息查看记录")
    page.wait_for_selector("tr[data-read]")
    sources = page.locator("tr[data-read]").evaluate_all("rows => rows.map(r => r.dataset.source)")
    assert sources == ["instance", "task", "search", "instance"]
    assert page.locator('tr[data-full="true"]').count() == 1                  # the administrator's own
    both_widths(page, "reads_appeal")
    page.click("text=政策法规科 王强")
    page.wait_for_url(f"{base}/privacy/reads?user=bumen")
    assert page.locator("tr[data-read]").count() == 1
    both_widths(page, "reads_user")
