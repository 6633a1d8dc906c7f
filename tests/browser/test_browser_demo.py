"""The demo, walked by its own users in a real browser (issue 4's "done when"): the data `qihu
demo` seeds (every bundled diagram, one user per role, password qihu), an enterprise submits a
Huzhou appeal on the portal, each role signs in and does its step on the task page, and the
enterprise rates the result on its private link. Screenshots: tests/artifacts/demo_*.png.
"""
import re
from datetime import timedelta

import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.appeals.demo import DEMO_NAMES, DEMO_PASSWORD, DEMO_USERS, seed
from qihu.web.app import create_app

from tests.web_util import live_server
from tests.conftest import ARTIFACTS, BPMN, START
from tests.browser.test_browser_portal import choose_level
from tests.domain.test_portal import PDF


@pytest.fixture
def demo(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    lines = list(seed(engine, BPMN))
    assert any(line.startswith("deployed huzhou_joint_meeting") for line in lines)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-demo"})
    with live_server(app) as base:
        yield base, engine, clock
    engine.close()


def demo_user_of(group):
    return next(u for u, groups in DEMO_USERS.items() if group in groups)


def do_step(page, base, engine, iid, element, fields, shot=None):
    """The demo user of the step's group signs in, finds it in the inbox, claims it, fills the
    form (selects, yes/no radios, text) and submits; then signs out."""
    [t] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
    user = demo_user_of(t["candidate_groups"][0])
    page.goto(f"{base}/login")
    page.fill("input[name=name]", user)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")
    assert DEMO_NAMES[user] in page.locator("header").inner_text()
    page.click(f'tr[data-task="{t["id"]}"] a[href$="/tasks/{t["id"]}"]')
    page.click("button:has-text('认领')")
    for name, value in fields.items():
        el = page.locator(f'[name="{name}"]').first
        tag = el.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            page.select_option(f'select[name="{name}"]', value)
        elif tag == "input:radio":
            page.check(f'input[name="{name}"][value="{value}"]')
        else:
            el.fill(value)
    if shot:
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    page.click(".qh-task-form button[type=submit]")
    page.wait_for_url(f"{base}/inbox")
    assert "任务已办结" in page.locator("body").inner_text()
    page.click("button:has-text('退出')")
    page.wait_for_url(f"{base}/login")
    return user


def test_demo_roles_walk_a_portal_appeal_from_submission_to_rating(demo, page):
    base, engine, clock = demo

    # the enterprise submits on the portal, without an account
    page.goto(f"{base}/appeal")
    page.click(".pt-choice:has-text('湖州')")
    page.fill("#company", "湖州某新材料有限公司")
    page.fill("#credit_code", "91330100799655058B")
    page.fill("#contact_name", "张经理")
    page.fill("#contact_phone", "13812345678")
    if page.locator("select#category").count():
        page.select_option("#category", "innovation")
    else:
        page.fill("#category", "科技创新")
    page.fill("#summary", "研发中心申报省级重点实验室，需要科技部门指导材料准备。")
    page.set_input_files("#files", files=[{"name": "申报材料.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#submit-appeal")
    page.wait_for_url(re.compile(r".*/track/[^/?]+\?new=1$"))     # the success page is the tracking page
    number, link = page.get_attribute("#tracking-no", "data-copy"), page.input_value("#private-link")
    [instance] = engine.runtime.instances(key="huzhou_joint_meeting", business_key=number)
    iid = instance["id"]

    # 企服中心 registers it: the form shows what the enterprise typed
    page.goto(f"{base}/login")
    assert engine.tasks.list(instance_id=iid)[0]["element_id"] == "Task_register"
    clock.set(START + timedelta(hours=1))
    assert do_step(page, base, engine, iid, "Task_register",
                   {"category": "innovation", "channel": "企业自主提交"}, shot="demo_register.png") == "hz_qifu"
    assert engine.runtime.data(iid)["company"] == "湖州某新材料有限公司"

    # the board it was routed to solves it, the centre replies
    clock.set(START + timedelta(days=1))
    assert do_step(page, base, engine, iid, "Task_board_handle",
                   {"board_result": "solved", "board_reply": "已对接市科技局，指导完成申报材料"}) == "hz_bankuai"
    assert do_step(page, base, engine, iid, "Task_reply",
                   {"reply_text": "已协调市科技局上门指导，申报材料已按要求准备"}) == "hz_qifu"

    # the enterprise follows on its private link and rates well
    page.goto(link)
    assert page.get_attribute("h1 .pt-number", "data-copy") == number
    assert "已协调市科技局上门指导" in page.locator(".pt-timeline").inner_text()
    for field in ("rate_plan", "rate_process", "rate_result"):
        choose_level(page, field, "非常满意")
    page.screenshot(path=str(ARTIFACTS / "demo_rating.png"), full_page=True)
    page.click("button:has-text('提交评价')")
    page.wait_for_load_state()

    # the centre's review closes it; the enterprise sees it finished
    do_step(page, base, engine, iid, "Task_review", {"review_note": "同类申报可提前对接", "make_rule": "false"})
    assert engine.runtime.get(iid)["status"] == "completed"
    ledger = [e["kind"] for e in appeals.of(engine).records(iid)["ledger"]]
    assert "rating" in ledger
    page.goto(link)
    assert re.search("已办结|已完成|办结", page.locator("main").inner_text())
    page.screenshot(path=str(ARTIFACTS / "demo_closed.png"), full_page=True)
