"""Issue 15's way back in, in Chromium: a 受理员 registers a phone appeal (and a 鹿城 case with its
start fields), the enterprise opens the link the SMS carried, the success page survives the
language switch and a reload, a lost link is found again by number and code, and the enterprise
rates on its page. Every portal page is checked at 375 px for horizontal overflow.
Screenshots: tests/artifacts/h2_*.png at 1366 and 375 px.
"""
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.engine.storage.models import NoticeSent
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, ROOT
from tests.domain.test_portal import BASIC
from tests.web_util import browser_sign_in, live_server

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
STAFF = {"shouli": ("受理员 李敏", ["acceptor", "lc_centre"]),            # lc_centre: may start 鹿城 cases
         "bumen": ("资源保障科 王强", ["dept_policy", "dept_resource"])}
PW = "pw-for-tests"


@pytest.fixture
def server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    engine.repository.deploy([BASIC])
    engine.repository.deploy([ROOT / "bpmn" / "lucheng_mock_accountability.bpmn"])
    for name, (display, groups) in STAFF.items():
        engine.accounts.add_user(name, PW, display_name=display, groups=groups)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-h2"})
    with live_server(app) as base:
        yield base, engine, clock
    engine.close()


def last_sms(engine):
    with engine.db.read() as s:
        return s.scalars(select(NoticeSent).where(NoticeSent.channel == "sms").order_by(NoticeSent.id.desc())).first().text


def both_widths(page, name):
    """Screenshots at 1366 and 375 px; at 375 nothing may be wider than the screen."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(ARTIFACTS / f"h2_{name}_1366.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
    page.screenshot(path=str(ARTIFACTS / f"h2_{name}_375.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_registration_link_lookup_and_rating(server, page):
    base, engine, clock = server

    # 受理员 registers a phone appeal
    browser_sign_in(page, base, "shouli", PW)
    page.click("nav a:has-text('登记诉求')")
    page.wait_for_url(f"{base}/register")
    page.fill("#company", "湖州某新材料有限公司")
    page.fill("#credit_code", "91330100799655058B")
    page.fill("#contact_name", "张经理")
    page.fill("#contact_phone", "13812345678")
    page.select_option("#channel", "电话")
    page.select_option("#category", "resource")
    page.fill("#summary", "短")
    page.click("#register-submit")
    assert "至少" in page.locator("#summary-err").inner_text()
    assert page.input_value("#company") == "湖州某新材料有限公司"
    both_widths(page, "register_errors")
    page.fill("#summary", "企业来电：新厂房用地指标迟迟未落实，无法办理不动产登记，影响投产。")
    page.click("#register-submit")
    page.wait_for_selector("#registered")
    number = page.locator("#registered-no").inner_text()
    assert re.fullmatch(r"QH20261102-[0-9A-Z]{6}", number) and "138****5678" in page.locator("#registered").inner_text()
    both_widths(page, "register_done")

    # a 鹿城 case: its start fields are on the form and it starts without an incident
    page.goto(f"{base}/register?d=lucheng_mock_accountability")
    for field, value in {"#company": "温州市鹿城区某鞋业有限公司", "#credit_code": "91330100799655058B",
                         "#contact_name": "周经理", "#contact_phone": "13912345678", "#category": "审批服务",
                         "#summary": "个转企变更登记受理后超过承诺时限未办结",
                         "#start-observation_point": "鹿城区鞋革行业协会观测点", "#start-observer": "周观察员"}.items():
        page.fill(field, value)
    page.select_option("#channel", "观察员")
    page.click("#register-submit")
    page.wait_for_selector("#registered")
    lucheng = page.locator("#registered-no").inner_text()
    [iid] = [i["id"] for i in engine.runtime.instances(business_key=lucheng)]
    assert engine.runtime.incidents(instance_id=iid) == []
    assert engine.runtime.data(iid)["found_by"] == "鹿城区鞋革行业协会观测点（观察员：周观察员）"

    # the enterprise opens the link from its SMS
    [instance] = engine.runtime.instances(business_key=number)
    with engine.db.read() as s:
        texts = [n.text for n in s.scalars(select(NoticeSent).where(NoticeSent.channel == "sms"))]
    link = re.search(r"(http://\S+/track/[A-Za-z0-9]{43})", next(t for t in texts if number in t)).group(1)
    page.context.clear_cookies()
    page.goto(link)
    assert page.locator("#tracking-no").get_attribute("data-copy") == number
    assert "诉求登记（电话）" in page.locator(".pt-timeline").inner_text()
    assert "新厂房用地指标" in page.locator("#submitted").inner_text()
    assert page.locator(".pt-bar li.is-current").inner_text().strip().endswith("受理")
    both_widths(page, "track_registered")

    # staff handle it; the enterprise has lost the link and finds it again by number and code
    t = engine.tasks.list(instance_id=instance["id"])[0]
    engine.tasks.complete(t["id"], "shouli", {"category": "resource", "summary": "用地指标未落实"})
    [t] = engine.tasks.list(instance_id=instance["id"])
    clock.set(clock.now() + timedelta(days=1))
    engine.tasks.complete(t["id"], "bumen", {"result": "solved", "reply": "已协调市自然资源和规划局，指标本月下达"})
    page.goto(f"{base}/appeal")
    page.click(".pt-nav-find")
    page.wait_for_url(f"{base}/appeal/find")
    page.fill("#number", number.lower().replace("-", " "))
    both_widths(page, "find")
    page.click("#send-code")
    page.wait_for_url(f"{base}/appeal/find/code")
    assert "138****5678" in page.locator("#code-sent").inner_text()
    code = re.search(r"验证码 (\d{6})", last_sms(engine)).group(1)
    page.fill("#code", "000000" if code != "000000" else "111111")
    page.click("#verify-code")
    assert "还可再试 4 次" in page.locator("#code-err").inner_text()
    both_widths(page, "find_code")
    page.fill("#code", code)
    page.click("#verify-code")
    page.wait_for_url(re.compile(r".*/track/[A-Za-z0-9]{43}\?new=found"))
    assert page.locator("h1").first.inner_text() == "已找回您的诉求"
    new_link = page.input_value("#private-link")
    assert new_link != link

    # the language switch and a reload keep the page (and its link)
    page.click("text=English")
    assert page.input_value("#private-link") == new_link and "Your appeal is found" in page.content()
    page.reload()
    assert page.input_value("#private-link") == new_link
    page.click("text=中文")
    both_widths(page, "track_found")

    # the enterprise rates on its page
    assert page.locator(".pt-bar li.is-current").inner_text().strip().endswith("评价")
    for field in ("rate_plan", "rate_process", "rate_result"):
        page.locator(f'fieldset[data-field="{field}"] input[value="5"] + span').click()
    both_widths(page, "rating")
    page.click("button:has-text('提交评价')")
    page.wait_for_url(new_link)
    assert "感谢您的评价" in page.locator(".pt-flash").inner_text()
    assert engine.runtime.get(instance["id"])["status"] == "completed"
    assert {b.get_attribute("class") for b in page.locator(".pt-bar li").all()} == {"is-done"}
    both_widths(page, "track_closed")


def test_the_portal_success_page_fits_a_phone(server, page):
    base, engine, clock = server
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/appeal")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.fill("#company", "湖州某新材料有限公司")
    page.fill("#credit_code", "91330100799655058B")
    page.fill("#contact_name", "张经理")
    page.fill("#contact_phone", "13812345678")
    page.select_option("#category", "resource")
    page.fill("#summary", "新厂房已建成，但用地指标迟迟未落实，无法办理不动产登记。")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "h2_portal_form_375.png"), full_page=True)
    page.click("#submit-appeal")
    page.wait_for_url(re.compile(r".*/track/[A-Za-z0-9]{43}\?new=1"))
    both_widths(page, "success")
    link = page.input_value("#private-link")
    page.click("text=English")
    assert page.input_value("#private-link") == link and "Keep the tracking link" in page.content()
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "h2_success_en_375.png"), full_page=True)
    page.goto(f"{base}/appeal/done")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
