"""流程管理 in a real browser (Debian Chromium): an administrator signs in, deploys the six
regional variants through the upload form, stages a changed version of one, compares it with
the active one and activates it. Screenshots: tests/artifacts/admin_*.png.
"""
import pytest

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, BPMN, START
from tests.web_util import PASSWORD, live_server

VARIANTS = [
    ("dh_zero_distance", ["dh_zero_distance.bpmn"]),
    ("qy_three_ones", ["qy_three_ones.bpmn", "qy_must_review.dmn"]),
    ("ja_talks", ["ja_talks.bpmn"]),
    ("gt_scan_and_do", ["gt_scan_and_do.bpmn", "gt_item_class.dmn"]),
    ("xz_two_supervisions", ["xz_two_supervisions.bpmn"]),
    ("an_four_ways", ["an_four_ways.bpmn", "an_handling_way.dmn"]),
]


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-admin"})
    with live_server(app) as base:
        yield base, engine
    engine.close()


def test_admin_deploys_the_variants_stages_compares_and_activates(page, server, tmp_path):
    base, engine = server
    page.goto(f"{base}/login")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")
    page.click("header a:has-text('流程管理')")
    page.wait_for_url(f"{base}/admin/processes")

    for key, files in VARIANTS:
        page.set_input_files("input[name=files]", [str(BPMN / f) for f in files])
        page.click(".qh-admin-deploy button[type=submit]")
        page.wait_for_url(f"{base}/admin/processes")
        assert f"{key} v1" in page.locator(".qh-flash-ok").inner_text()
        assert page.locator(f'tr[data-key="{key}"]').count() == 1
    for region in ("舟山市定海区", "庆元县", "吉安市", "馆陶县", "徐州市", "安宁市"):
        assert region in page.locator(".qh-admin-list").inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin_processes.png"), full_page=True)

    # a refused bundle: every problem listed, nothing stored
    bad = tmp_path / "broken.bpmn"
    bad.write_text("<bpmn:definitions>", encoding="utf-8")
    page.set_input_files("input[name=files]", [str(bad)])
    page.click(".qh-admin-deploy button[type=submit]")
    assert "broken.bpmn" in page.locator(".qh-admin-problems").inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin_problems.png"), full_page=True)

    # a changed 徐州 diagram, staged
    xml = (BPMN / "xz_two_supervisions.bpmn").read_text(encoding="utf-8")
    assert 'name="受理登记研判"' in xml
    changed = tmp_path / "xz_two_supervisions.bpmn"
    changed.write_text(xml.replace('name="受理登记研判"', 'name="受理登记与研判"'), encoding="utf-8")
    page.set_input_files("input[name=files]", [str(changed)])
    page.fill("input[name=name]", "徐州 改名")
    page.uncheck("input[name=activate]")
    page.click(".qh-admin-deploy button[type=submit]")
    page.wait_for_url(f"{base}/admin/processes")
    assert "xz_two_supervisions v2" in page.locator(".qh-flash-ok").inner_text()
    assert page.locator('tr[data-key="xz_two_supervisions"]').inner_text().count("v1") == 1   # still v1

    page.click('tr[data-key="xz_two_supervisions"] a:has-text("版本管理")')
    page.wait_for_url(f"{base}/admin/processes/xz_two_supervisions")
    assert "✔" in page.locator('tr[data-version="1"]').inner_text()
    assert page.locator('tr[data-version="2"] button:has-text("启用")').count() == 1
    page.screenshot(path=str(ARTIFACTS / "admin_versions_staged.png"), full_page=True)

    page.select_option("select[name=from]", "1")
    page.select_option("select[name=to]", "2")
    page.click(".qh-admin-diffform button[type=submit]")
    page.wait_for_url("**/admin/processes/xz_two_supervisions/diff?from=1&to=2")
    changed_rows = page.locator('[data-diff="changed"]').inner_text()
    assert "Task_register" in changed_rows and "受理登记与研判" in changed_rows
    page.screenshot(path=str(ARTIFACTS / "admin_diff.png"), full_page=True)

    page.click("a:has-text('返回版本列表')")
    page.click('tr[data-version="2"] button:has-text("启用")')
    page.wait_for_url(f"{base}/admin/processes/xz_two_supervisions")
    assert "已启用 xz_two_supervisions v2" in page.locator(".qh-flash-ok").inner_text()
    assert "✔" in page.locator('tr[data-version="2"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin_versions_activated.png"), full_page=True)
    assert [(v["version"], v["active"]) for v in engine.repository.versions("xz_two_supervisions")] == \
        [(1, False), (2, True)]
