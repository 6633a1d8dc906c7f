"""The task page's actions in a real browser (Playwright driving Debian's Chromium): return (退单)
with an empty reason then with one, the dispatcher sees it back with the reason; a comment and
an attachment; reassign to a colleague who then finds it in the inbox.

Chromium must be at /usr/bin/chromium (.ci/run installs it): without it this test fails.
Screenshots go to tests/artifacts/task_*.png (git-ignored).
"""
from datetime import datetime, timezone

import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.web_util import browser_sign_in, live_server
from tests.conftest import ARTIFACTS
from tests.engine.test_handoff import PDF, basic_with_return

START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
PASSWORD = "browser-pw"


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    engine.accounts.add_user("shouli", PASSWORD, display_name="受理员 李敏", groups=["acceptor"])
    engine.accounts.add_user("bumen", PASSWORD, display_name="资源保障科 王强", groups=["dept_resource"])
    engine.accounts.add_user("zhangke", PASSWORD, display_name="资源保障科 张可", groups=["dept_resource"])
    for key, company, summary in [("HZ-2026-001", "湖州某新材料有限公司", "新厂房用地指标迟迟未落实，影响投产"),
                                  ("HZ-2026-002", "长兴某纺织有限公司", "排污许可证续期材料反复退回")]:
        iid = engine.runtime.start("appeal_basic", {"企业名称": company}, business_key=key)
        [accept] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(accept["id"], "shouli", {"category": "resource", "summary": summary})
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-test"})
    with live_server(app) as base:
        yield base
    engine.close()


def sign_in(page, base, name):
    browser_sign_in(page, base, name, PASSWORD)


def open_task(page, key):
    page.click(f"tr:has(code:text-is('{key}')) a.qh-task-link")
    page.wait_for_selector("h1")


def test_return_comment_attach_and_reassign(server, page, tmp_path):   # noqa: F811 - fixture
    base = server
    sign_in(page, base, "bumen")
    open_task(page, "HZ-2026-001")
    assert page.locator("h1").inner_text() == "部门办理"

    # a comment (with markup, shown as text) and an attachment
    page.fill("#comment-body", "已电话联系企业，<b>约定</b>周三现场核实")
    page.check("input[name=public]")
    page.click("button:has-text('发表意见')")
    assert "意见已保存" in page.locator(".qh-flash").first.inner_text()
    assert page.locator(".qh-comment-body").inner_text() == "已电话联系企业，<b>约定</b>周三现场核实"
    evidence = tmp_path / "现场照片说明.pdf"
    evidence.write_bytes(PDF)
    page.set_input_files("#upload-file", str(evidence))
    page.click("button:has-text('上传')")
    assert "附件已上传：现场照片说明.pdf" in page.locator(".qh-flash").first.inner_text()
    link = page.locator(".qh-files a.qh-file-name")
    assert link.inner_text() == "现场照片说明.pdf"
    # a renamed program is refused next to the field
    fake = tmp_path / "说明.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 300)
    page.set_input_files("#upload-file", str(fake))
    page.click("button:has-text('上传')")
    assert "内容与扩展名 .pdf 不符" in page.locator("#upload-file-err").inner_text()
    page.screenshot(path=str(ARTIFACTS / "task_actions.png"), full_page=True)

    # return: first without a reason, then with one
    page.click(".qh-return summary")
    page.click("button:has-text('确认退单')")
    error = page.locator("#return-reason-err")
    assert error.is_visible() and error.inner_text() == "请填写退单理由"
    assert page.locator(".qh-return").get_attribute("open") is not None
    page.screenshot(path=str(ARTIFACTS / "task_return_error.png"), full_page=True)
    page.fill("#return-reason", "该地块属开发区管委会职责，请改派开发区")
    page.click("button:has-text('确认退单')")
    page.wait_for_url(f"{base}/inbox")
    assert "已退单" in page.locator(".qh-flash").first.inner_text()
    assert page.locator("tr:has(code:text-is('HZ-2026-001'))").count() == 0

    # the dispatcher has it back, with the reason on top
    sign_in(page, base, "shouli")
    open_task(page, "HZ-2026-001")
    assert page.locator("h1").inner_text() == "受理登记"
    notice = page.locator(".qh-came-back")
    assert notice.is_visible() and "部门办理" in notice.inner_text() and "资源保障科 王强" in notice.inner_text()
    assert page.locator(".qh-came-back-reason").inner_text() == "该地块属开发区管委会职责，请改派开发区"
    assert "已退单 1 次" in page.locator(".qh-pagehead").inner_text()
    assert "已电话联系企业" in page.locator("#comments").inner_text()       # the comment travels with the appeal
    page.screenshot(path=str(ARTIFACTS / "task_came_back.png"), full_page=True)

    # reassign the other appeal to a colleague
    sign_in(page, base, "bumen")
    open_task(page, "HZ-2026-002")
    page.select_option("#reassign-to", "zhangke")
    page.fill("#reassign-note", "张可熟悉排污许可业务，请办理")
    page.screenshot(path=str(ARTIFACTS / "task_reassign.png"), full_page=True)
    page.click("button:has-text('转办')")
    page.wait_for_url(f"{base}/inbox")
    assert "转办给 资源保障科 张可" in page.locator(".qh-flash").first.inner_text()
    sign_in(page, base, "zhangke")
    row = page.locator("tr:has(code:text-is('HZ-2026-002'))")
    assert row.count() == 1
    open_task(page, "HZ-2026-002")
    assert page.locator("button:has-text('提交')").is_visible()          # assigned to zhangke: the form is open
    assert page.locator(".qh-handed-over").inner_text() == "资源保障科 王强 将此任务转办给您：张可熟悉排污许可业务，请办理"
    page.screenshot(path=str(ARTIFACTS / "task_reassigned.png"), full_page=True)
