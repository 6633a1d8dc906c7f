"""What is shown to whom (issue 16, finding 6): the anonymous home page shows no counters;
diagram.json gives non-administrators only the drawing (the XML API is for administrators); the
portal's tracking token is never in a cookie."""
import base64
import json
import re
import zlib

import pytest

from qihu.web.app import create_app
from tests.bpmn_util import bpmn, chain
from tests.web_util import BASIC, PASSWORD, add_people, sign_in, token

SECRETS = bpmn("secrets", f"""
<bpmn:startEvent id="s" />
<bpmn:scriptTask id="calc" name="计算期限" scriptFormat="python"><bpmn:script>secret_rate = 42  # 内部规则</bpmn:script></bpmn:scriptTask>
<bpmn:serviceTask id="push" name="推送省平台" camunda:type="external" camunda:topic="internal.push.topic" />
<bpmn:userTask id="u" name="办理" camunda:candidateGroups="acceptor" camunda:assignee="${{internal_assignee_expr}}" />
<bpmn:endEvent id="e" />
{chain("s", "calc", "push", "u", "e")}""", name="含脚本的流程")


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.repository.deploy([BASIC])
    return create_app(engine=engine, config={"TESTING": True})


def signed(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def test_the_anonymous_home_page_shows_no_counters(app, engine):
    engine.runtime.start("appeal_basic", {"summary": "x"})
    html = app.test_client().get("/").get_data(as_text=True)
    assert "qh-num" not in html and "运行中的流程实例" not in html and "未处理的异常" not in html
    assert "appeal_basic" not in html
    staff = signed(app, "boss").get("/").get_data(as_text=True)
    assert "运行中的流程实例" in staff               # signed-in staff still see them


def test_diagram_json_follows_the_xml_rule(app, engine):
    from qihu import appeals  # noqa: F401 - the engine fixture has the domain installed
    def push(**_):
        return {}
    engine.handlers.register("internal.push.topic", push)
    engine.repository.deploy([("secrets.bpmn", SECRETS)])
    iid = engine.runtime.start("secrets", {"internal_assignee_expr": "li"}, user="li")
    # the XML API: administrators only
    li, boss = signed(app, "li"), signed(app, "boss")
    assert li.get("/api/definitions/secrets/versions/1/xml").status_code == 403
    full = boss.get(f"/instances/{iid}/diagram.json").get_json()["xml"]
    assert "secret_rate" in full and "internal.push.topic" in full
    r = li.get(f"/instances/{iid}/diagram.json")
    assert r.status_code == 200
    found = r.get_json()
    xml = found["xml"]
    for hidden in ("secret_rate", "internal.push.topic", "internal_assignee_expr", "camunda:", "scriptFormat"):
        assert hidden not in xml, hidden
    for kept in ('id="calc"', 'name="计算期限"', 'name="推送省平台"', "sequenceFlow"):
        assert kept in xml, kept
    assert found["completed"] == full_completed(boss, iid)
    # a drawn diagram keeps its drawing: every shape and edge the viewer needs
    basic = engine.runtime.start("appeal_basic", {"summary": "x"}, user="li")
    drawn = li.get(f"/instances/{basic}/diagram.json").get_json()
    whole = boss.get(f"/instances/{basic}/diagram.json").get_json()
    assert drawn["has_diagram"] and "camunda:" not in drawn["xml"] and "camunda:" in whole["xml"]
    assert drawn["xml"].count("<bpmndi:BPMNShape") == whole["xml"].count("<bpmndi:BPMNShape") > 3
    assert drawn["xml"].count("<dc:Bounds") == whole["xml"].count("<dc:Bounds")
    assert drawn["xml"].count("<di:waypoint") == whole["xml"].count("<di:waypoint")
    assert {k: v for k, v in drawn.items() if k != "xml"} == {k: v for k, v in whole.items() if k != "xml"}


def full_completed(client, iid):
    return client.get(f"/instances/{iid}/diagram.json").get_json()["completed"]


def _decoded(cookie_value):
    """A Flask session cookie's payload as text (it is signed, not encrypted: anyone can read it)."""
    payload = cookie_value.split(".")[1 if cookie_value.startswith(".") else 0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if cookie_value.startswith(".") else raw).decode("utf-8", "replace")


def test_the_tracking_token_is_never_in_a_cookie(app, engine):
    c = app.test_client()
    form = c.get("/appeal?d=appeal_basic")
    cookies = list(form.headers.getlist("Set-Cookie"))
    r = c.post("/appeal", data={"definition": "appeal_basic", "company": "湖州某新材料有限公司",
                                "credit_code": "91330100799655058B", "contact_name": "张经理",
                                "contact_phone": "13812345678", "category": "policy",
                                "summary": "新厂房用地指标迟迟未落实，影响投产", "csrf_token": token(form.get_data(as_text=True))})
    assert r.status_code == 302, r.get_data(as_text=True)
    cookies += r.headers.getlist("Set-Cookie")
    m = re.search(r"/track/([A-Za-z0-9_-]{16,})\?new=1$", r.headers["Location"])
    assert m, r.headers["Location"]
    secret = m.group(1)
    page = c.get(r.headers["Location"])
    assert page.status_code == 200
    cookies += page.headers.getlist("Set-Cookie")
    assert cookies, "the flow sets its CSRF session cookie at least"
    for header in cookies:
        value = header.split(";", 1)[0].split("=", 1)[1]
        assert secret not in header
        if value and "." in value:
            assert secret not in _decoded(value)
    # and the session as the server reads it
    with c.session_transaction() as s:
        assert secret not in json.dumps(dict(s), ensure_ascii=False, default=str)
