"""The instance page in a real browser (Playwright driving Debian's Chromium, fixtures as in
tests/browser/test_browser.py): every diagram of bpmn/ imports into the vendored bpmn-js viewer without
an error or a warning, and the highlight moves with the appeal.

Screenshots go to tests/artifacts/instance_*.png (git-ignored).
"""
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.web_util import browser_sign_in, live_server
from tests.conftest import ARTIFACTS
from tests.browser.test_browser import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))
START = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 Beijing
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DRAWN = ("participant", "lane", "sequenceFlow", "startEvent", "endEvent", "intermediateCatchEvent",
         "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
         "eventBasedGateway", "userTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
         "receiveTask", "manualTask", "task", "callActivity", "subProcess")

# Imports one diagram into a fresh viewer off to the side; returns what went wrong and which ids got drawn.
IMPORT_JS = """async (xml) => {
  const box = document.createElement("div");
  box.style.cssText = "position:absolute;left:-5000px;top:0;width:1200px;height:800px";
  document.body.appendChild(box);
  const viewer = new window.BpmnJS({container: box});
  try {
    const result = await viewer.importXML(xml);
    const ids = viewer.get("elementRegistry").getAll().map(e => e.id);
    return {error: null, warnings: (result.warnings || []).map(w => String(w.message || w)), ids};
  } catch (err) {
    return {error: String(err.message || err), warnings: (err.warnings || []).map(w => String(w.message || w)),
            ids: []};
  } finally {
    viewer.destroy();
    box.remove();
  }
}"""


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.repository.deploy([ROOT / "bpmn"])
    for name, display, groups in [("shouli", "受理员 李敏", ["acceptor"]),
                                  ("bumen", "资源保障科 王强", ["dept_policy", "dept_resource"]),
                                  ("hz_qifu", "企服中心 周洁", ["hz_centre"]),
                                  ("hz_bankuai", "科创板块 陈涛", ["hz_board_innovation"])]:
        engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-test"})
    with live_server(app) as base:
        yield base, engine
    engine.close()


def sign_in(page, base, name):
    browser_sign_in(page, base, name, PASSWORD)


def open_instance(page, base, iid):
    page.goto(f"{base}/instances/{iid}")
    page.wait_for_selector("#qh-diagram[data-state=ready], #qh-diagram[data-state=error]")
    assert page.get_attribute("#qh-diagram", "data-state") == "ready", page.evaluate("window.qihuDiagram")
    assert page.evaluate("window.qihuDiagram.warnings") == []


def markers(page, element_id):
    """The classes bpmn-js put on an element's SVG group (our markers among them)."""
    cls = page.get_attribute(f'#qh-diagram g.djs-element[data-element-id="{element_id}"]', "class")
    return set(cls.split())


def drawn_ids(path):
    root = etree.parse(str(path)).getroot()
    return {el.get("id") for el in root.iter(f"{{{BPMN_NS}}}*")
            if etree.QName(el).localname in DRAWN and el.get("id")}


def test_every_bundled_diagram_imports_without_warnings(server, page):
    base, engine = server
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-2026-001")
    sign_in(page, base, "shouli")
    open_instance(page, base, iid)                        # the page that loads the vendored viewer
    assert len(DIAGRAMS) >= 5
    for path in DIAGRAMS:
        result = page.evaluate(IMPORT_JS, path.read_text(encoding="utf-8"))
        assert result["error"] is None, f"{path.name}: {result['error']}"
        assert result["warnings"] == [], f"{path.name}: {result['warnings']}"
        missing = drawn_ids(path) - set(result["ids"])
        assert not missing, f"{path.name}: not drawn: {sorted(missing)}"


def test_each_mechanism_draws_on_its_instance_page(server, page):
    base, engine = server
    engine.accounts.add_user("chief", PASSWORD, display_name="管理员", is_admin=True)
    from tests.mechanisms.test_mech_lucheng import OBSERVED
    from tests.mechanisms.test_mech_qiantang import START_DATA
    data = {"lucheng_mock_accountability": OBSERVED, "qiantang_target_tracking": START_DATA}
    keys = {d["key"]: engine.runtime.start(d["key"], dict(data.get(d["key"], {"enterprise_user": "qiye"})),
                                           business_key=f"T-{d['key']}")
            for d in engine.repository.definitions()}
    assert sorted(keys) == sorted(p.stem for p in DIAGRAMS)
    sign_in(page, base, "chief")                          # an administrator sees every instance
    for key, iid in keys.items():
        open_instance(page, base, iid)
        active = engine.history.diagram(iid)["active"]
        assert active, key
        for element in active:
            assert "qh-active" in markers(page, element), (key, element)


def test_the_highlight_moves_when_a_step_is_done(server, page):
    base, engine = server
    iid = engine.runtime.start("appeal_basic", {"企业名称": "湖州某新材料有限公司"}, business_key="HZ-2026-001",
                               user="shouli", region="湖州市")
    sign_in(page, base, "shouli")
    page.click("table.qh-inbox a.qh-bkey-link")           # the inbox row's business key opens the instance
    page.wait_for_url(f"{base}/instances/{iid}")
    open_instance(page, base, iid)
    assert "qh-active" in markers(page, "Task_accept")
    assert "qh-done" in markers(page, "StartEvent_submit") and "qh-done" in markers(page, "Flow_submit_accept")
    assert "qh-done" not in markers(page, "Task_accept") and "qh-active" not in markers(page, "Task_handle")
    assert "受理登记" in page.locator(".qh-inst-tasks").inner_text()
    page.screenshot(path=str(ARTIFACTS / "instance_start.png"), full_page=True)

    page.click(".qh-inst-tasks a.qh-task-link")            # to the task page, claim and complete it
    page.click("button:has-text('认领')")
    page.select_option("#f-category", "resource")
    page.fill("#f-summary", "新厂房用地指标迟迟未落实，影响投产")
    page.click("button:has-text('提交')")
    page.wait_for_url(f"{base}/inbox")

    open_instance(page, base, iid)
    assert "qh-done" in markers(page, "Task_accept") and "qh-active" not in markers(page, "Task_accept")
    assert "qh-done" in markers(page, "Task_route") and "qh-done" in markers(page, "Flow_accept_route")
    assert "qh-active" in markers(page, "Task_handle")
    assert "qh-waiting" in markers(page, "Event_handle_overdue")
    assert "qh-done" not in markers(page, "Flow_result_other")
    trail = page.locator(".qh-trail").inner_text()
    assert "受理员 李敏" in trail and "办结「受理登记」" in trail and "「部门办理」待承办部门办理" in trail
    page.screenshot(path=str(ARTIFACTS / "instance_next.png"), full_page=True)

    page.click("[data-zoom=in]")                          # the zoom buttons work
    zoom = page.evaluate("window.qihuDiagram.viewer.get('canvas').zoom()")
    page.click("[data-zoom=fit]")
    assert page.evaluate("window.qihuDiagram.viewer.get('canvas').zoom()") < zoom


def test_huzhou_instance_page(server, page):
    base, engine = server
    iid = engine.runtime.start("huzhou_joint_meeting", {"enterprise_user": "qiye"}, business_key="HZ-2026-002",
                               user="hz_qifu", region="湖州市")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "hz_qifu", {"company": "湖州某新材料有限公司", "summary": "新厂房用地指标迟迟未落实",
                                               "category": "innovation", "channel": "talks"})
    sign_in(page, base, "hz_bankuai")
    open_instance(page, base, iid)
    assert "qh-active" in markers(page, "Task_board_handle")
    assert "qh-waiting" in markers(page, "Event_board_overdue")
    assert {"qh-done"} <= markers(page, "Task_pick_board") and "qh-done" in markers(page, "Task_register")
    page.screenshot(path=str(ARTIFACTS / "instance_huzhou.png"), full_page=True)
    fitted = page.evaluate("window.qihuDiagram.viewer.get('canvas').zoom()")
    page.click("[data-zoom=focus]")                       # a wide diagram: centre the current step, readable
    assert page.evaluate("window.qihuDiagram.viewer.get('canvas').zoom()") > 2 * fitted
    assert page.locator('#qh-diagram g.djs-element[data-element-id="Task_board_handle"]').is_visible()
    page.locator(".qh-diagram-panel").screenshot(path=str(ARTIFACTS / "instance_huzhou_focus.png"))

    # on to the joint meeting: a 督办函 is attached, ledger lines and a notification written
    for element, data in [
            ("Task_board_handle", {"board_result": "unsolved", "board_reply": "涉及规划调整，专区无法单独解决"}),
            ("Task_collect", {"collect_note": "汇总后流转兜底板块"}),
            ("Task_fallback_handle", {"fallback_result": "unsolved", "fallback_reply": "需提请联席会议研究"}),
            ("Task_prepare_agenda", {"agenda_title": "新材料项目用地指标保障", "agenda_content": "用地指标与规划调整",
                                     "invite_enterprise": True}),
            ("Task_joint_meeting", {"decision": "市自然资源和规划局10个工作日内落实用地指标",
                                    "responsible_unit": "市自然资源和规划局", "city_can_solve": True,
                                    "implement_days": 10, "long_term_mechanism": True,
                                    "mechanism_title": "重点项目用地指标统筹保障办法"})]:
        [t] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
        engine.tasks.complete(t["id"], None, data, check=False)
    open_instance(page, base, iid)
    assert "qh-active" in markers(page, "Task_supervise")
    assert "qh-done" in markers(page, "Task_supervision_letter") and "qh-done" in markers(page, "Flow_invite_yes")
    assert "qh-done" not in markers(page, "Flow_invite_no")
    assert "qh-done" not in markers(page, "Task_director_convene")
    assert "联席会议议题" in page.locator(".qh-ledger").inner_text()
    assert "联席会议参会邀请" in page.locator(".qh-notes").inner_text()
    letter = page.locator(".qh-files a").first
    assert letter.inner_text().endswith(".docx")
    with page.expect_download() as info:
        letter.click()
    download = info.value
    assert download.suggested_filename == letter.inner_text()
    assert Path(download.path()).read_bytes()[:2] == b"PK"                # a .docx is a zip
    page.screenshot(path=str(ARTIFACTS / "instance_huzhou_letters.png"), full_page=True)

    page.goto(f"{base}/instances/{iid}?lang=en")
    page.wait_for_selector("#qh-diagram[data-state=ready]")
    assert "Process diagram" in page.locator(".qh-diagram-head").inner_text()
    assert "Letters and attachments" in page.locator(".qh-inst-side").inner_text()
