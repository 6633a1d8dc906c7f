"""The clerk's desk in Chromium, at desktop (1366 px) and phone (375 px) width: the inbox with
bulk actions, the task page with the case and the earlier work (二次督办 shows the ratings), 已办,
the search, the 办理单 printed to an A4 PDF, and the anonymous start page. No page is wider than
the phone. Screenshots: tests/artifacts/desk_*.png.
"""
import re
from datetime import datetime, timedelta, timezone

import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS
from tests.domain.test_portal import BASIC, PDF
from tests.web_util import browser_sign_in, live_server

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
PW = "browser-pw"
STAFF = {"shouli": ("受理员 李敏", ["acceptor"]), "bumen": ("政策法规科 王强", ["dept_policy"]),
         "bumen2": ("政策法规科 张华", ["dept_policy"]), "ducha": ("督查室 赵刚", ["supervisor"])}
COMPANIES = ["湖州某新材料有限公司", "德清绿能科技有限公司", "长兴智造装备股份有限公司"]
DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 375, "height": 800}


@pytest.fixture
def desk(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC])
    for name, (display, groups) in STAFF.items():
        engine.accounts.add_user(name, PW, display_name=display, groups=groups)
    engine.accounts.set_group_name("acceptor", "受理员")
    engine.accounts.set_group_name("dept_policy", "政策法规科")
    engine.accounts.set_group_name("supervisor", "督查室")
    portal = appeals.install(engine).portal
    made = []
    for i, company in enumerate(COMPANIES):
        got = portal.submit("appeal_basic", company=company, credit_code="91330100799655058B", contact_name="张经理",
                            contact_phone=f"1381234567{i}", category="policy",
                            summary=f"惠企政策兑现资金迟迟未到账（第{i + 1}件），影响企业周转",
                            files=[("政策兑现申请.pdf", PDF)] if i == 0 else ())
        [t] = engine.tasks.list(instance_id=got["instance_id"])
        engine.tasks.complete(t["id"], "shouli", {"category": "policy", "summary": "资金未到账"})
        made.append(got)
        clock.set(clock.now() + timedelta(minutes=30))
    # the first: handled, rated badly by the enterprise -> 二次督办
    iid = made[0]["instance_id"]
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "bumen", {"result": "solved", "reply": "已协调财政局兑现第一批资金"})
    [rate] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(rate["id"], rate["assignee"], {"rate_plan": "3", "rate_process": "2", "rate_result": "1",
                                                         "rate_comment": "第二批资金仍未到账"})
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-desk"})
    with live_server(app) as base:
        yield base, engine, made
    engine.close()


def shoot(page, name, full=True):
    page.screenshot(path=str(ARTIFACTS / f"desk_{name}.png"), full_page=full)


def fits_phone(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, page.url


def both_widths(page, name):
    """Screenshots at desktop and phone width; at the phone nothing is wider than the screen."""
    page.set_viewport_size(DESKTOP)
    shoot(page, f"{name}_1366")
    page.set_viewport_size(PHONE)
    fits_phone(page)
    shoot(page, f"{name}_375")
    page.set_viewport_size(DESKTOP)


def test_the_supervisor_sees_the_case_and_the_ratings_at_both_widths(desk, page):
    base, engine, made = desk
    browser_sign_in(page, base, "ducha", PW)
    link = page.locator("a.qh-task-link", has_text="二次督办")
    both_widths(page, "inbox_supervisor")
    # at the phone the task's name stands on one line, not one character a line
    page.set_viewport_size(PHONE)
    box = link.bounding_box()
    assert box["width"] > box["height"] * 2, box
    page.set_viewport_size(DESKTOP)
    link.click()
    page.wait_for_selector("#prior-title")
    assert page.locator(".qh-case-company").inner_text() == COMPANIES[0]
    # 督查室 reads the contact masked (issue 18), with 显示完整信息 beside it
    assert page.locator(".qh-case-phone").inner_text() == "138****5670"
    assert page.locator(".qh-reveal button").is_visible()
    assert page.locator(".qh-case-category").inner_text() == "政策咨询"
    latest = page.locator(".qh-prior-step.is-latest")
    assert latest.locator("h3").inner_text().startswith("企业评价")
    assert latest.locator('dd[data-field="rate_process"]').inner_text() == "不满意"
    assert latest.locator('dd[data-field="rate_comment"]').inner_text() == "第二批资金仍未到账"
    assert page.locator(".qh-facts").inner_text().count("督查室") >= 1
    page.click("#history summary")
    both_widths(page, "task_second_supervision")


def test_bulk_claim_done_and_search(desk, page):
    base, engine, made = desk
    browser_sign_in(page, base, "bumen", PW)
    boxes = page.locator('input[name="task"]')
    assert boxes.count() == 2
    both_widths(page, "inbox_department")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-action", "claim")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-summary")
    assert page.locator("#bulk-summary").inner_text() == "完成 2 项，未完成 0 项"
    both_widths(page, "bulk_claim")

    # 转办 both to a colleague in one go; 催办 afterwards reaches him
    page.goto(f"{base}/inbox")
    for i in range(2):
        page.locator('input[name="task"]').nth(i).check()
    page.select_option("#bulk-action", "reassign")
    page.select_option("#bulk-to", "bumen2")
    page.fill("#bulk-note", "请张华跟进")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-summary")
    assert page.locator("#bulk-summary").inner_text() == "完成 2 项，未完成 0 项"
    assert "已转办给 政策法规科 张华" in page.locator(".qh-bulk-results").inner_text()

    page.goto(f"{base}/done")
    assert page.locator("tr[data-task]").count() >= 1 and "部门办理" in page.locator(".qh-done").inner_text()
    both_widths(page, "done")

    page.goto(f"{base}/search")
    page.fill("#search-q", "德清")
    page.press("#search-q", "Enter")
    page.wait_for_selector("tr[data-instance]")
    assert page.locator("tr[data-instance]").count() == 1
    assert COMPANIES[1] in page.locator(".qh-search").inner_text()
    both_widths(page, "search")
    page.goto(f"{base}/search?q={made[2]['tracking_no']}")
    assert page.locator("tr[data-instance]").count() == 1


def test_the_handling_sheet_prints_on_a4(desk, page):
    base, engine, made = desk
    browser_sign_in(page, base, "ducha", PW)
    page.goto(f"{base}/instances/{made[0]['instance_id']}/print")
    assert page.locator("h1").inner_text().replace(" ", "") == "涉企诉求办理单"
    assert page.locator("#print-company").inner_text() == COMPANIES[0]
    sheet = page.locator(".qp-sheet").inner_text()
    assert "企业评价" in sheet and "非常不满意" in sheet and "已协调财政局兑现第一批资金" in sheet
    both_widths(page, "print_screen")
    page.emulate_media(media="print")
    assert not page.locator(".qp-toolbar").is_visible()
    shoot(page, "print_view")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= 1
    (ARTIFACTS / "desk_print.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")


def test_the_anonymous_start_page_shows_no_counters(desk, page):
    base, engine, made = desk
    page.goto(f"{base}/")
    assert page.locator(".qh-num").count() == 0 and page.locator("#portal-entry").is_visible()
    both_widths(page, "home_anonymous")
