"""通知记录 (/admin/notices, web/pages/notices.py): the notices as they landed, newest first, with
Chinese labels, filters by channel, status and case, an administrator bound to a region seeing
its own; and in the browser at desktop and phone width."""
import re

import pytest

from qihu.web.app import create_app
from tests.bpmn_util import bpmn, chain
from tests.conftest import ARTIFACTS
from tests.web_util import PASSWORD, browser_sign_in, live_server, sign_in

HZ, LS = "湖州市", "丽水市"
STEP = bpmn("nt_step", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="部门办理" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="办理")


@pytest.fixture
def world(engine):
    for name, display, groups, region, admin in (
            ("boss", "系统管理员", ["admin"], None, True), ("hz_admin", "湖州管理员", ["admin"], HZ, False),
            ("clerk", "王科员", ["dept"], HZ, False), ("zhangsan", "张三", ["dept"], HZ, False)):
        engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups, region=region, is_admin=admin)
    engine.repository.deploy([("nt_step.bpmn", STEP)])
    hz = engine.runtime.start("nt_step", business_key="QH20261102-HZ0001", region=HZ)
    ls = engine.runtime.start("nt_step", business_key="QH20261102-LS0001", region=LS)
    rt = engine.runtime
    rt.send_notice(channel="sms", to="13812345678", text="您反映的诉求已受理，受理编号 QH20261102-HZ0001。",
                   business_id=f"{hz}:accepted", instance_id=hz)
    engine.clock.advance(minutes=5)
    rt.send_notice(channel="dingtalk", to="zhangsan", title="督办提醒", text="请于今日办结",
                   business_id=f"{hz}:n1", instance_id=hz)
    rt.send_notice(channel="dingtalk", to="zhangsan", title="督办提醒", text="请于今日办结",
                   business_id=f"{hz}:n2", instance_id=hz)            # the same text today: held back
    engine.clock.advance(minutes=5)
    rt.send_notice(channel="sms", to="13900000000", text="丽水的答复", business_id=f"{ls}:reply", instance_id=ls)
    app = create_app(engine=engine, config={"TESTING": True})
    return app


def client(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def rows(html):
    return re.findall(r'data-notice="\d+" data-channel="(\w+)" data-status="(\w+)"', html)


def test_administrators_see_every_notice_newest_first_in_chinese(world):
    html = client(world, "boss").get("/admin/notices").get_data(as_text=True)
    assert rows(html) == [("sms", "sent"), ("dingtalk", "same_today"), ("dingtalk", "sent"), ("sms", "sent")]
    assert "通知记录" in html and 'data-total="4"' in html
    assert "短信" in html and "浙政钉" in html and "已发送" in html and "当日已发同样内容，未再发" in html
    assert "您反映的诉求已受理，受理编号 QH20261102-HZ0001。" in html and "13812345678" in html
    assert "张三" in html and ">zhangsan<" not in html                # staff by their names
    assert ">QH20261102-HZ0001</a>" in html                             # the case by its number


def test_filters_by_channel_status_and_case(world):
    c = client(world, "boss")
    assert rows(c.get("/admin/notices?channel=dingtalk").get_data(as_text=True)) == [
        ("dingtalk", "same_today"), ("dingtalk", "sent")]
    assert rows(c.get("/admin/notices?status=same_today").get_data(as_text=True)) == [("dingtalk", "same_today")]
    assert rows(c.get("/admin/notices?instance=QH20261102-LS0001").get_data(as_text=True)) == [("sms", "sent")]
    empty = c.get("/admin/notices?channel=wecom").get_data(as_text=True)
    assert rows(empty) == [] and "没有符合条件的通知。" in empty
    assert c.get("/admin/notices?channel=pigeon").status_code == 400


def test_a_regional_administrator_sees_its_region_only_and_staff_none(world):
    html = client(world, "hz_admin").get("/admin/notices").get_data(as_text=True)
    assert len(rows(html)) == 3 and "丽水的答复" not in html
    r = client(world, "clerk").get("/admin/notices")
    assert r.status_code == 403 and "通知记录仅限管理员查看。" in r.get_data(as_text=True)


def test_in_english(world):
    html = client(world, "boss").get("/admin/notices?lang=en").get_data(as_text=True)
    assert "Notices sent" in html and "SMS" in html and "Held back: the same text was sent today" in html


def test_the_page_at_desktop_and_phone_width(world, page):
    with live_server(world) as base:
        browser_sign_in(page, base, "boss")
        for width in (1366, 375):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"{base}/admin/notices")
            assert page.locator("tr[data-notice]").count() == 4
            assert page.get_by_text("13812345678").is_visible() and page.get_by_text("张三").first.is_visible()
            page.screenshot(path=str(ARTIFACTS / f"notices_{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
