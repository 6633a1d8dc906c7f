"""Issue 13 finding 3, the enterprise's side: an appeal held up by an incident must not read
"正在流转中" for ever on its tracking page. It says the handling met a problem that the
administrators are handling, in plain Chinese without internal codes, and goes back to the
ordinary view once the incident is retried away.
"""
import re
from pathlib import Path

import pytest

from qihu import appeals
from qihu.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
HELD = "处理中，遇到问题已通知管理员"


@pytest.fixture
def stalled(make_engine):
    """A portal appeal of appeal_basic whose 答复企业 step (appeal.notify) fails: an open incident
    and no open task."""
    engine = make_engine(handler_retries=0)
    engine.repository.deploy([ROOT / "bpmn" / "appeal_basic.bpmn"])
    engine.tasks.add_member("li", "acceptor")
    engine.tasks.add_member("wang", "dept_policy")
    original = engine.handlers.get("appeal.notify")

    def unreachable(**_):
        raise ConnectionError("短信平台无响应")
    engine.handlers.register("appeal.notify", unreachable, replace=True)
    made = appeals.of(engine).portal.submit("appeal_basic", "某新材料有限公司", "91330100799655058B", "吴经理",
                                            "13905780000", "policy", "用地指标迟迟未落实，影响项目开工")
    iid = made["instance_id"]
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "用地指标未落实"})
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "wang", {"result": "solved", "reply": "已协调落实用地指标"})
    assert engine.tasks.list(instance_id=iid) == []
    [incident] = engine.runtime.incidents(instance_id=iid)
    return engine, made, incident, original


def test_the_tracking_page_says_the_appeal_is_held_up_not_moving(stalled):
    engine, made, incident, original = stalled
    portal = appeals.of(engine).portal
    progress = portal.progress(portal.by_token(made["token"]))
    assert progress["held_up"] is True and progress["current"] == [] and progress["status"] == "running"

    client = create_app(engine=engine, config={"TESTING": True}).test_client()
    html = client.get(f"/track/{made['token']}").get_data(as_text=True)
    assert HELD in html and 'id="held-up-current"' in html and "pt-status-held" in html
    assert "正在流转中" not in html
    text = re.sub(r"<[^>]+>", " ", html)
    for internal in ("Task_notify", "appeal.notify", "ConnectionError", "短信平台无响应", "incident"):
        assert internal not in text

    # fixed and retried: the appeal moves on and the page is the ordinary one again
    engine.handlers.register("appeal.notify", original, replace=True)
    engine.runtime.retry_incident(incident["id"])
    progress = portal.progress(portal.by_token(made["token"]))
    assert progress["held_up"] is False and [c["name"] for c in progress["current"]] == ["企业评价"]
    html = client.get(f"/track/{made['token']}").get_data(as_text=True)
    assert HELD not in html


def test_a_finished_or_moving_appeal_is_not_held_up(make_engine):
    engine = make_engine()
    engine.repository.deploy([ROOT / "bpmn" / "appeal_basic.bpmn"])
    made = appeals.of(engine).portal.submit("appeal_basic", "某新材料有限公司", "91330100799655058B", "吴经理",
                                            "13905780000", "policy", "用地指标迟迟未落实，影响项目开工")
    portal = appeals.of(engine).portal
    assert portal.progress(portal.by_token(made["token"]))["held_up"] is False
