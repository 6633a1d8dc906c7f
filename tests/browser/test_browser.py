"""A real browser (Playwright driving Debian's Chromium) against a real server: sign in, filter,
claim, a form with an error then right, and the next step in the next person's inbox.

Chromium must be at /usr/bin/chromium (.ci/run installs it): without it this test fails.
Screenshots of the main pages go to tests/artifacts/ (git-ignored).
"""
from datetime import datetime, timedelta, timezone

import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.engine.runtime.worker import Worker
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.conftest import ARTIFACTS
from tests.web_util import BASIC, live_server

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
PASSWORD = "browser-pw"

DEADLINES = bpmn("deadline_check", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="check" name="限期核查" camunda:candidateGroups="acceptor" camunda:dueDate="${{workdays(days)}}"
    camunda:priority="${{prio}}" />
<bpmn:endEvent id="e" />
{chain("s", "check", "e")}""", name="限期核查")


@pytest.fixture
def server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC])
    engine.repository.deploy([("deadline_check.bpmn", DEADLINES)])
    engine.accounts.add_user("shouli", PASSWORD, display_name="受理员 李敏", groups=["acceptor"])
    engine.accounts.add_user("bumen", PASSWORD, display_name="资源保障科 王强",
                             groups=["dept_policy", "dept_resource", "dept_approval", "dept_general"])
    engine.runtime.start("appeal_basic", {"企业名称": "湖州某新材料有限公司"}, business_key="HZ-2026-001")
    engine.runtime.start("appeal_basic", {"企业名称": "长兴某纺织有限公司"}, business_key="HZ-2026-002")
    for n, (days, prio) in enumerate([(2, 80), (4, 50), (6, 50), (10, 20)], start=3):
        engine.runtime.start("deadline_check", {"days": days, "prio": prio}, business_key=f"HZ-2026-00{n}")
    clock.set(START + timedelta(days=2, hours=6))           # Wednesday 15:00: some deadlines near or past
    Worker(engine).run_once()                                # the SLA jobs turn the colours
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-test"})
    with live_server(app) as base:
        yield base
    engine.close()


def sign_in(page, base, name):
    page.goto(f"{base}/inbox")
    assert page.url.startswith(f"{base}/login?next=")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")


def inbox_keys(page):
    return page.locator("table.qh-inbox tbody tr td:nth-child(2) code").all_inner_texts()


def test_sign_in_filter_claim_and_complete(server, page):
    base = server
    page.goto(f"{base}/")
    page.click("text=登录")
    assert page.locator("h1").inner_text() == "工作人员登录"
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)

    sign_in(page, base, "shouli")
    assert page.locator("h1").inner_text() == "我的待办"
    assert "受理员 李敏" in page.locator(".qh-account").inner_text()
    assert len(inbox_keys(page)) == 6
    assert page.locator("table.qh-inbox .qh-sla-red").count() >= 1          # the 2-day deadline has passed
    page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

    page.click('.qh-chips a[data-colour="red"]')                           # filter by colour chip
    assert set(inbox_keys(page)) == {"HZ-2026-001", "HZ-2026-002", "HZ-2026-003"}   # 受理登记: 1 working day
    page.click("text=清除")
    page.fill("input[name=q]", "HZ-2026-001")
    page.select_option("select[name=definition]", "appeal_basic")
    page.click("button:has-text('筛选')")
    assert inbox_keys(page) == ["HZ-2026-001"]

    page.click("a.qh-task-link")
    assert page.locator("h1").inner_text() == "受理登记"
    assert "湖州某新材料有限公司" in page.locator(".qh-appeal").inner_text()
    page.click("button:has-text('认领')")
    assert "任务已认领" in page.locator(".qh-flash").first.inner_text()

    page.select_option("#f-category", "resource")
    page.check("input[name=urgent][value=true]")
    page.click("button:has-text('提交')")                                   # summary is required and empty
    error = page.locator('[data-field="summary"] .qh-field-error')
    assert error.is_visible() and "必填" in error.inner_text()
    assert page.locator("#f-category").input_value() == "resource"
    assert page.locator("input[name=urgent][value=true]").is_checked()
    page.screenshot(path=str(ARTIFACTS / "task.png"), full_page=True)

    page.fill("#f-summary", "新厂房用地指标迟迟未落实，影响投产")
    page.click("button:has-text('提交')")
    page.wait_for_url(f"{base}/inbox")
    assert "任务已办结：受理登记" in page.locator(".qh-flash").first.inner_text()
    assert "HZ-2026-001" not in inbox_keys(page) and len(inbox_keys(page)) == 5

    page.click("button:has-text('退出')")
    page.wait_for_url(f"{base}/login")
    sign_in(page, base, "bumen")
    assert inbox_keys(page) == ["HZ-2026-001"]
    assert page.locator("a.qh-task-link").inner_text() == "部门办理"
    page.click("a.qh-task-link")
    assert "新厂房用地指标迟迟未落实" in page.locator(".qh-appeal").inner_text()

    page.goto(f"{base}/inbox?lang=en")
    assert page.locator("h1").inner_text() == "My inbox"
