"""The enterprise portal in a real browser (Playwright driving Debian's Chromium).

An enterprise submits an appeal with an attachment, keeps the private link, follows the
handling, rates it badly (二次督办 opens, the supervisor orders re-handling), and after the
second handling rates it well: closed. Staff work through the engine, as their own pages are
tested in tests/browser/test_browser.py. Screenshots: tests/artifacts/portal_*.png.
"""
import re
from datetime import datetime, timedelta, timezone

import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.web_util import live_server
from tests.conftest import ARTIFACTS
from tests.domain.test_portal import BASIC, HUZHOU, PDF

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
STAFF = {"shouli": ("受理员 李敏", ["acceptor"]), "bumen": ("资源保障科 王强", ["dept_policy", "dept_resource"]),
         "ducha": ("督查室 赵刚", ["supervisor"])}


@pytest.fixture
def portal_server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC])
    engine.repository.deploy(HUZHOU)
    for name, (display, groups) in STAFF.items():
        engine.accounts.add_user(name, "browser-pw", display_name=display, groups=groups)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-portal"})
    with live_server(app) as base:
        yield base, engine, clock
    engine.close()


def only_task(engine, iid):
    [t] = engine.tasks.list(instance_id=iid)
    return t


def staff_handle(engine, clock, iid, reply):
    """The department handles the appeal (after acceptance when it is new): the rating opens."""
    t = only_task(engine, iid)
    if t["element_id"] == "Task_accept":
        clock.set(clock.now() + timedelta(hours=2))
        engine.tasks.complete(t["id"], "shouli", {"category": "resource", "summary": "新厂房用地指标未落实"})
        t = only_task(engine, iid)
    assert t["element_id"] == "Task_handle" and t["candidate_groups"] == ["dept_resource"]
    clock.set(clock.now() + timedelta(days=1))
    engine.tasks.complete(t["id"], "bumen", {"result": "solved", "reply": reply})
    t = only_task(engine, iid)
    assert t["element_id"] == "Task_rate"
    return t


LEVELS = {"非常满意": "5", "满意": "4", "基本满意": "3", "不满意": "2", "非常不满意": "1"}


def choose_level(page, field, level_name):
    """Click the level's button (the radio itself is visually hidden behind its label)."""
    label = page.locator(f'fieldset[data-field="{field}"] input[value="{LEVELS[level_name]}"] + span')
    assert label.inner_text() == level_name
    label.click()


def test_an_enterprise_submits_follows_and_rates(portal_server, page):  # noqa: F811
    base, engine, clock = portal_server

    # the start page leads anonymous visitors to the portal
    page.goto(f"{base}/")
    page.click("#portal-entry a")
    page.wait_for_url(f"{base}/appeal")
    assert page.locator("h1").inner_text() == "在线提交诉求"
    assert page.locator(".pt-choice").count() == 2
    page.screenshot(path=str(ARTIFACTS / "portal_choose.png"), full_page=True)
    page.click(".pt-choice:has-text('企业诉求受理（通用）')")

    page.fill("#company", "湖州某新材料有限公司")
    page.fill("#credit_code", "91330100799655058B")
    page.fill("#contact_name", "张经理")
    page.fill("#contact_phone", "138 1234 5678")
    page.select_option("#category", "resource")
    page.fill("#summary", "新厂房已建成，但用地指标迟迟未落实，无法办理不动产登记，影响投产。请协调落实。")
    attach = [{"name": "用地申请材料.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    page.set_input_files("#files", files=attach)
    page.screenshot(path=str(ARTIFACTS / "portal_submit.png"), full_page=True)

    # a wrong check character: the error stands next to the field, the rest is kept
    page.fill("#credit_code", "91330100799655058a")
    page.click("#submit-appeal")
    assert page.locator("#credit_code-err").inner_text() == "第18位校验码不正确，请核对是否抄错"
    assert page.locator(".pt-summary").is_visible() and "请重新选择附件" in page.locator(".pt-summary").inner_text()
    assert page.input_value("#summary").startswith("新厂房已建成") and page.input_value("#company") == "湖州某新材料有限公司"
    assert page.locator("#category").input_value() == "resource"
    page.screenshot(path=str(ARTIFACTS / "portal_submit_errors.png"), full_page=True)
    page.fill("#credit_code", "91330100799655058B")
    page.set_input_files("#files", files=attach)
    page.click("#submit-appeal")

    # the number and the private link: the success page is the tracking page, kept by a reload
    page.wait_for_url(re.compile(rf"{re.escape(base)}/track/[A-Za-z0-9]{{43}}\?new=1"))
    number = page.locator("#tracking-no").get_attribute("data-copy")
    link = page.input_value("#private-link")
    assert re.fullmatch(r"QH20261102-[0-9A-Z]{6}", number)
    assert re.fullmatch(rf"{re.escape(base)}/track/[A-Za-z0-9]{{43}}", link)
    assert "书签" in page.locator(".pt-warning").inner_text()
    page.screenshot(path=str(ARTIFACTS / "portal_done.png"), full_page=True)
    page.reload()
    assert page.input_value("#private-link") == link

    [instance] = engine.runtime.instances(business_key=number)
    iid = instance["id"]
    assert [a["name"] for a in engine.uploads.list(iid)] == ["用地申请材料.pdf"]

    # staff handle it; the enterprise follows on its link
    staff_handle(engine, clock, iid, "已协调市自然资源和规划局，用地指标将于本月下达")
    page.goto(link)
    assert page.locator("#tracking-no").get_attribute("data-copy") == number
    steps = page.locator(".pt-timeline").inner_text()
    assert "受理登记" in steps and "部门办理" in steps and "用地指标将于本月下达" in steps
    assert "王强" not in page.content() and "dept_resource" not in page.content()
    rating = page.locator(".pt-rate")
    assert rating.is_visible() and rating.locator("input[type=radio]").count() == 15
    page.screenshot(path=str(ARTIFACTS / "portal_track.png"), full_page=True)

    # a bad rating without a reason is refused; with one it reopens the appeal for 二次督办
    choose_level(page, "rate_plan", "满意")
    choose_level(page, "rate_process", "基本满意")
    choose_level(page, "rate_result", "非常不满意")
    rating.screenshot(path=str(ARTIFACTS / "portal_rating.png"))
    page.click("button:has-text('提交评价')")
    assert "请写明原因" in page.locator('[data-field="rate_comment"] .pt-error').inner_text()
    assert page.locator('input[name="rate_result"][value="1"]').is_checked()       # the choice is kept
    page.fill("textarea[name=rate_comment]", "指标至今未下达，问题没有解决")
    page.click("button:has-text('提交评价')")
    page.wait_for_url(link)
    assert "二次督办" in page.locator(".pt-flash").inner_text()
    assert page.locator(".pt-banner-warn").is_visible()
    assert "二次督办" in page.locator(".pt-stages").inner_text()
    page.screenshot(path=str(ARTIFACTS / "portal_reopened.png"), full_page=True)

    t = only_task(engine, iid)
    assert (t["element_id"], t["candidate_groups"]) == ("Task_second_supervision", ["supervisor"])
    assert [x["element_id"] for x in engine.tasks.list(user="ducha")] == ["Task_second_supervision"]
    engine.tasks.complete(t["id"], "ducha", {"second_result": "redo", "second_opinion": "责令三日内落实用地指标"})
    staff_handle(engine, clock, iid, "用地指标已下达，可办理不动产登记")

    # rated again, well: closed
    page.reload()
    assert page.locator(".pt-rate").is_visible()
    for field in ("rate_plan", "rate_process", "rate_result"):
        choose_level(page, field, "非常满意")
    page.click("button:has-text('提交评价')")
    page.wait_for_url(link)
    assert "感谢您的评价" in page.locator(".pt-flash").inner_text()
    assert page.locator(".pt-status").first.inner_text() == "已办结"
    assert page.locator(".pt-rate").count() == 0
    assert "用地指标已下达" in page.locator(".pt-timeline").inner_text()
    assert "责令三日内落实用地指标" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "portal_closed.png"), full_page=True)
    assert engine.runtime.get(iid)["status"] == "completed"
    assert [line["data"]["bad"] for line in appeals.of(engine).records(iid)["ledger"]] == [True, False]

    # an unknown link says nothing
    page.goto(f"{base}/track/{'A' * 43}")
    assert page.locator("h1").inner_text() == "链接无效" and number not in page.content()
