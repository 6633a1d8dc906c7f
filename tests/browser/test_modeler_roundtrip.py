"""Issue 14: the diff between two versions compares elements by their meaning, not by their
XML. A diagram Camunda Modeler saved, opened in our bpmn-js page, one task renamed and saved:
only that task is changed (bpmn-js writes the XML anew - attribute and namespace order,
namespace declarations, whitespace), so migration does not refuse instances past untouched
tasks."""
import pytest
from playwright.sync_api import expect

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app
from tests.conftest import ROOT, START
from tests.web_util import PASSWORD, browser_sign_in, live_server

KEY = "huzhou_joint_meeting"


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    engine.repository.deploy([str(ROOT / "bpmn" / "huzhou_joint_meeting.bpmn"), str(ROOT / "bpmn" / "huzhou_boards.dmn")],
                             user="admin")
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-roundtrip"})
    with live_server(app) as base:
        yield base, engine
    engine.close()


def test_renaming_one_task_in_bpmn_js_changes_only_that_task(page, server):
    base, engine = server
    # an appeal already past two tasks the designer does not touch
    engine.tasks.add_member("zhou", "hz_centre")
    engine.tasks.add_member("kc", "hz_board_innovation")
    iid = engine.runtime.start(KEY, {"enterprise_user": "ent_a"}, business_key="HZ-RT-1")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "zhou", {"company": "湖州某公司", "summary": "用地", "category": "innovation",
                                            "channel": "hotline"})
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "kc", {"board_result": "solved", "board_reply": "已对接"})
    browser_sign_in(page, base, "admin")
    page.goto(f"{base}/admin/modeler/{KEY}")
    expect(page.locator('#qh-modeler-canvas[data-ready="1"]')).to_have_count(1)
    saved = page.evaluate("""async () => {
        const m = window.qihuModeler;
        const el = m.get('elementRegistry').get('Task_reply');
        m.get('modeling').updateProperties(el, {name: '答复企业（书面）'});
        return (await m.saveXML({format: true})).xml;
    }""")
    assert "答复企业（书面）" in saved
    engine.repository.deploy([("huzhou_joint_meeting.bpmn", saved.encode()),
                              ("huzhou_boards.dmn", (ROOT / "bpmn" / "huzhou_boards.dmn").read_bytes())], user="admin")
    d = engine.repository.diff(KEY, 1, 2)
    assert (d["added"], d["removed"]) == ([], [])
    assert [c["id"] for c in d["changed"]] == ["Task_reply"]
    # ... and migration moves the appeal past them onto the new version
    moved = engine.migrations.migrate(KEY, 1, 2)
    assert [m["id"] for m in moved["migrated"]] == [iid] and moved["refused"] == []
