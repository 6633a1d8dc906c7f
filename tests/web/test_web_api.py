"""The REST API (web/api/routes.py) through Flask's test client, on SQLite and PostgreSQL.

Callers name themselves with the trusted X-Qihu-User header (the app trusts it in tests):
"admin" is an administrator account, li/wang/zhao are in the groups of appeal_basic (li, an
acceptor, may start it), and "portal" is a signed-in user in no group. Who may call what is tested endpoint by endpoint in
tests/web/test_api_permissions.py.
"""
import io
import json
import re
from pathlib import Path

import pytest
from flask import Flask, g, request
from openapi_spec_validator import validate

from qihu.web import Qihu
from qihu.web.app import create_app, start_worker, stop_worker

from tests.bpmn_util import bpmn, chain

BASIC = Path(__file__).resolve().parents[2] / "bpmn" / "appeal_basic.bpmn"

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_one" name="办理" camunda:candidateGroups="acceptor" />
    <bpmn:endEvent id="EndEvent_1" />
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Task_one" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_one" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def admin(engine):
    engine.accounts.add_user("admin", "admin-pw", display_name="管理员", is_admin=True)


@pytest.fixture
def app(engine, admin):
    return create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})


@pytest.fixture
def client(app):
    return app.test_client()


def as_(user):
    return {"X-Qihu-User": user}


ADMIN = as_("admin")


def deploy_basic(client):
    with open(BASIC, "rb") as f:
        return client.post("/api/deployments", data={"files": (f, "appeal_basic.bpmn")},
                           content_type="multipart/form-data", headers=ADMIN)


def start(client, data=None, business_key="QH-2026-001"):
    r = client.post("/api/instances", json={"key": "appeal_basic", "data": data or {}, "business_key": business_key},
                    headers=as_("li"))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def only_task(client, instance_id, element_id):
    tasks = client.get(f"/api/tasks?instance={instance_id}", headers=ADMIN).get_json()
    assert [t["element_id"] for t in tasks] == [element_id]
    return tasks[0]


def complete(client, task_id, user, data):
    return client.post(f"/api/tasks/{task_id}/complete", json={"data": data}, headers=as_(user))


@pytest.fixture
def people(engine):
    engine.tasks.add_member("li", "acceptor")
    engine.tasks.add_member("wang", "dept_policy", "dept_general")
    engine.tasks.add_member("zhao", "supervisor")


# -- deployments and definitions -----------------------------------------------------------------
def test_deploy_multipart_then_list_definitions(client):
    r = deploy_basic(client)
    assert r.status_code == 201
    body = r.get_json()
    assert body["created"] is True
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [("appeal_basic", 1, True)]
    assert "通用企业诉求办理".encode() in r.data          # Chinese is not \u-escaped

    again = deploy_basic(client)
    assert again.status_code == 200 and again.get_json()["created"] is False

    defs = client.get("/api/definitions", headers=as_("portal")).get_json()
    assert [(d["key"], d["version"], d["name"]) for d in defs] == [("appeal_basic", 1, "通用企业诉求办理")]


def test_deploy_json_files_and_versions(client):
    files = [{"name": "a.bpmn", "content": MINIMAL.format(key="proc_a", name="甲")}]
    assert client.post("/api/deployments", json={"files": files}, headers=ADMIN).status_code == 201
    files = [{"name": "a.bpmn", "content": MINIMAL.format(key="proc_a", name="甲（第二版）")},
             {"name": "b.bpmn", "content": MINIMAL.format(key="proc_b", name="乙")}]
    r = client.post("/api/deployments", json={"files": files, "name": "两个流程"}, headers=ADMIN)
    assert r.status_code == 201
    assert sorted((d["key"], d["version"]) for d in r.get_json()["definitions"]) == [("proc_a", 2), ("proc_b", 1)]

    latest = client.get("/api/definitions", headers=as_("portal")).get_json()
    assert [(d["key"], d["version"]) for d in latest] == [("proc_a", 2), ("proc_b", 1)]
    every = client.get("/api/definitions?key=proc_a&all_versions=1", headers=as_("portal")).get_json()
    assert [(d["version"], d["name"]) for d in every] == [(1, "甲"), (2, "甲（第二版）")]


def test_deploy_several_multipart_files(client):
    data = {"files": [(io.BytesIO(MINIMAL.format(key=k, name=k).encode()), f"{k}.bpmn") for k in ("p1", "p2")]}
    r = client.post("/api/deployments", data=data, content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 201
    assert sorted(d["key"] for d in r.get_json()["definitions"]) == ["p1", "p2"]


def test_bad_deploy_names_file_and_line(client):
    broken = b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n  <bpmn:process id="p">\n</bpmn:definitions>\n'
    r = client.post("/api/deployments", data={"files": (io.BytesIO(broken), "坏文件.bpmn")},
                    content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 400
    body = r.get_json()
    assert "malformed XML" in body["error"]
    [p] = body["problems"]
    assert p["file"] == "坏文件.bpmn" and p["line"] == 4 and "malformed XML" in p["message"]
    assert client.get("/api/definitions", headers=ADMIN).get_json() == []


def test_deploy_refusals(client):
    r = client.post("/api/deployments", json={}, headers=ADMIN)
    assert r.status_code == 400 and "files" in r.get_json()["error"]
    r = client.post("/api/deployments", json={"files": [{"name": "x.bpmn"}]}, headers=ADMIN)
    assert r.status_code == 400 and "files[0]" in r.get_json()["error"]
    r = client.post("/api/deployments", data={"files": (io.BytesIO(b"hello"), "notes.txt")},
                    content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 400
    assert r.get_json()["problems"][0]["file"] == "notes.txt"
    # a path in the uploaded name is cut to the file name
    r = client.post("/api/deployments", data={"files": (io.BytesIO(b"<x"), "../../etc/evil.bpmn")},
                    content_type="multipart/form-data", headers=ADMIN)
    assert r.get_json()["problems"][0]["file"] == "evil.bpmn"


# -- the appeal, end to end -----------------------------------------------------------------------
def test_region_given_at_start_filters_the_task_list(client, people):
    deploy_basic(client)
    r = client.post("/api/instances", json={"key": "appeal_basic", "business_key": "HZ-1", "region": "湖州市"},
                    headers=as_("li"))
    assert r.status_code == 201
    iid = r.get_json()["id"]
    start(client, business_key="NB-1")
    assert client.get(f"/api/instances/{iid}", headers=as_("li")).get_json()["instance"]["region"] == "湖州市"
    rows = client.get("/api/tasks?region=湖州市", headers=as_("li")).get_json()
    assert [(t["instance_id"], t["region"]) for t in rows] == [(iid, "湖州市")]
    assert client.get("/api/tasks?region=宁波市", headers=as_("li")).get_json() == []
    bad = client.post("/api/instances", json={"key": "appeal_basic", "region": 5}, headers=as_("li"))
    assert bad.status_code == 400 and "region" in bad.get_json()["error"]


def test_walk_the_appeal_to_the_end(client, people):
    deploy_basic(client)
    iid = start(client, {"enterprise": "某某科技有限公司"})

    inbox = client.get("/api/tasks?user=li").get_json()
    assert [t["element_id"] for t in inbox] == ["Task_accept"]
    assert client.get("/api/tasks?user=wang").get_json() == []
    accept = inbox[0]
    detail = client.get(f"/api/tasks/{accept['id']}", headers=as_("li")).get_json()
    assert [f["id"] for f in detail["form"]["fields"]] == ["category", "summary", "urgent"]
    assert detail["form"]["fields"][0]["options"][0] == {"id": "policy", "name": "政策咨询"}

    r = client.post(f"/api/tasks/{accept['id']}/claim", headers=as_("li"))
    assert r.status_code == 200 and r.get_json()["assignee"] == "li"

    bad = complete(client, accept["id"], "li", {"category": "policy"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"summary"}
    assert bad.get_json()["error"]
    bad = complete(client, accept["id"], "li", {"category": "天气", "summary": "用地审批"})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"category"}

    r = complete(client, accept["id"], "li", {"category": "policy", "summary": "厂房用地审批慢", "urgent": "是"})
    assert r.status_code == 200
    assert [t["element_id"] for t in r.get_json()["tasks"]] == ["Task_handle"]
    handle = only_task(client, iid, "Task_handle")
    assert handle["candidate_groups"] == ["dept_policy"]
    assert client.get(f"/api/instances/{iid}", headers=as_("li")).get_json()["data"]["department"] == "dept_policy"

    # the department cannot; the supervisor sends it back; then it is solved
    assert complete(client, handle["id"], "wang", {"result": "cannot", "reply": "超出权限"}).status_code == 200
    review = only_task(client, iid, "Task_review")
    assert complete(client, review["id"], "zhao", {"approved": "false", "opinion": "请再协调"}).status_code == 200
    handle = only_task(client, iid, "Task_handle")
    assert complete(client, handle["id"], "wang", {"result": "solved", "reply": "已协调加快审批"}).status_code == 200

    rate = only_task(client, iid, "Task_rate")
    detail = client.get(f"/api/instances/{iid}", headers=as_("wang")).get_json()
    assert detail["data"]["notice"].startswith("您反映的诉求“厂房用地审批慢”已办理完毕")
    r = complete(client, rate["id"], "li", {"rate_plan": "5", "rate_process": "4", "rate_result": "5",
                                            "rate_comment": "满意"})
    assert r.status_code == 200
    assert r.get_json()["instance"]["status"] == "completed" and r.get_json()["tasks"] == []

    detail = client.get(f"/api/instances/{iid}", headers=as_("zhao")).get_json()
    assert detail["instance"]["status"] == "completed" and detail["instance"]["business_key"] == "QH-2026-001"
    history = client.get(f"/api/instances/{iid}/history", headers=as_("zhao")).get_json()
    types = [e["type"] for e in history]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert [e["user"] for e in history if e["type"] == "task_completed"] == ["li", "wang", "zhao", "wang", "li"]
    only = client.get(f"/api/instances/{iid}/history?types=task_claimed", headers=as_("li")).get_json()
    assert [(e["type"], e["user"]) for e in only] == [("task_claimed", "li")]

    for who in ("li", "wang", "zhao", "admin"):                 # each took part (li started it)
        listed = client.get("/api/instances?key=appeal_basic&status=completed", headers=as_(who)).get_json()
        assert [i["id"] for i in listed] == [iid], who
    assert client.get("/api/instances", headers=as_("portal")).get_json() == []   # took no part
    assert client.get("/api/instances?business_key=nope", headers=ADMIN).get_json() == []
    done = client.get("/api/tasks?status=completed&instance=" + iid, headers=ADMIN).get_json()
    assert len(done) == 5 and {t["status"] for t in done} == {"completed"}
    mine = client.get("/api/tasks?status=completed&instance=" + iid, headers=as_("wang")).get_json()
    assert [t["element_id"] for t in mine] == ["Task_handle", "Task_handle"]


def test_task_identity_and_permissions(client, people):
    deploy_basic(client)
    iid = start(client)
    task = only_task(client, iid, "Task_accept")
    tid = task["id"]

    r = client.post(f"/api/tasks/{tid}/claim")
    assert r.status_code == 401 and "X-Qihu-User" in r.get_json()["error"]
    assert client.post(f"/api/tasks/{tid}/complete", json={"data": {}}).status_code == 401
    assert client.post(f"/api/tasks/{tid}/claim", headers=as_("wang")).status_code == 403
    assert client.post(f"/api/tasks/{tid}/claim?user=li").status_code == 200      # ?user= works too
    assert client.post(f"/api/tasks/{tid}/claim", headers=as_("wang")).status_code == 409
    r = complete(client, tid, "wang", {"summary": "x"})
    assert r.status_code == 403 and "assigned to li" in r.get_json()["error"]
    assert client.post(f"/api/tasks/{tid}/unclaim", headers=as_("wang")).status_code == 403
    r = client.post(f"/api/tasks/{tid}/unclaim", headers=as_("li"))
    assert r.status_code == 200 and r.get_json()["assignee"] is None

    assert complete(client, tid, "li", {"category": "other", "summary": "咨询"}).status_code == 200
    r = complete(client, tid, "li", {"category": "other", "summary": "咨询"})
    assert r.status_code == 409 and "already completed" in r.get_json()["error"]
    assert client.get("/api/tasks/no-such-task", headers=as_("li")).status_code == 404
    assert client.post("/api/tasks/no-such-task/claim", headers=as_("li")).status_code == 404


def test_task_list_filters_and_paging(client, people):
    deploy_basic(client)
    ids = [start(client, business_key=f"QH-{n}") for n in range(3)]
    assert len(client.get("/api/tasks", headers=ADMIN).get_json()) == 3
    assert len(client.get("/api/tasks?user=li&definition_key=appeal_basic").get_json()) == 3
    assert len(client.get("/api/tasks", headers=as_("li")).get_json()) == 3
    assert client.get("/api/tasks", headers=as_("wang")).get_json() == []
    assert client.get("/api/tasks?definition_key=other", headers=ADMIN).get_json() == []
    page = client.get("/api/tasks?order=-created&limit=2&offset=1", headers=ADMIN).get_json()
    assert len(page) == 2
    listed = client.get(f"/api/tasks?instance={ids[1]}", headers=ADMIN).get_json()
    assert [t["instance_id"] for t in listed] == [ids[1]]
    for query in ("order=bogus", "limit=abc", "limit=0", "limit=100000", "offset=-1"):
        r = client.get(f"/api/tasks?{query}", headers=as_("li"))
        assert r.status_code == 400 and r.get_json()["error"], query


def test_cancel_suspend_resume(client, people):
    deploy_basic(client)
    iid = start(client)
    tid = only_task(client, iid, "Task_accept")["id"]

    r = client.post(f"/api/instances/{iid}/suspend", headers=as_("admin"))
    assert r.status_code == 200 and r.get_json()["status"] == "suspended"
    r = complete(client, tid, "li", {"summary": "挂起时办理"})
    assert r.status_code == 409 and "suspended" in r.get_json()["error"]
    assert client.post(f"/api/instances/{iid}/suspend", headers=ADMIN).status_code == 409
    r = client.post(f"/api/instances/{iid}/resume", headers=ADMIN)
    assert r.status_code == 200 and r.get_json()["status"] == "running"
    assert client.post(f"/api/instances/{iid}/resume", headers=ADMIN).status_code == 409

    r = client.post(f"/api/instances/{iid}/cancel", json={"reason": "企业撤回诉求"}, headers=as_("admin"))
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert client.get(f"/api/tasks?instance={iid}", headers=ADMIN).get_json() == []
    history = client.get(f"/api/instances/{iid}/history", headers=ADMIN).get_json()
    cancelled = [e for e in history if e["type"] == "instance_cancelled"]
    assert cancelled[0]["data"] == {"reason": "企业撤回诉求"} and cancelled[0]["user"] == "admin"
    assert client.post(f"/api/instances/{iid}/resume", headers=ADMIN).status_code == 409

    for path in ("", "/history"):
        r = client.get(f"/api/instances/no-such-instance{path}", headers=as_("li"))
        assert r.status_code == 404 and "no-such-instance" in r.get_json()["error"]
    for op in ("cancel", "suspend", "resume"):
        assert client.post(f"/api/instances/no-such-instance/{op}", headers=ADMIN).status_code == 404


def test_start_refusals(client):
    deploy_basic(client)
    cases = [
        (b"not json", "JSON"),
        (b"[1, 2]", "JSON"),
        (b'{"data": {}}', "key"),
        (b'{"key": "appeal_basic", "data": [1]}', "data"),
        (b'{"key": "appeal_basic", "version": "1"}', "version"),
        (b'{"key": "appeal_basic", "business_key": 7}', "business_key"),
    ]
    for body, word in cases:
        r = client.post("/api/instances", data=body, content_type="application/json", headers=as_("li"))
        assert r.status_code == 400, body
        assert word in r.get_json()["error"], body
    r = client.post("/api/instances", data='{"key": "appeal_basic"}', content_type="text/plain",
                    headers=as_("li"))
    assert r.status_code == 415 and "application/json" in r.get_json()["error"]
    r = client.post("/api/instances", json={"key": "no_such_process"}, headers=as_("li"))
    assert r.status_code == 404 and "no_such_process" in r.get_json()["error"]
    r = client.post("/api/instances", json={"key": "appeal_basic", "version": 9}, headers=as_("li"))
    assert r.status_code == 404
    assert client.get("/api/instances?limit=x", headers=as_("li")).status_code == 400


SUPPLEMENT = bpmn("supplement", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m_start" /></bpmn:startEvent>
<bpmn:intermediateCatchEvent id="wait" name="等待企业补充材料"><bpmn:messageEventDefinition messageRef="m_docs" />
</bpmn:intermediateCatchEvent>
<bpmn:userTask id="check" name="审核材料" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "wait", "check", "e")}""", name="补充材料",
                  extra='<bpmn:message id="m_start" name="诉求登记" /><bpmn:message id="m_docs" name="补充材料" />\n')


DIVIDE = bpmn("divide", f"""
<bpmn:startEvent id="s" />
<bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:script>share = total / parts</bpmn:script>
</bpmn:scriptTask>
<bpmn:userTask id="u" name="复核" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "calc", "u", "e")}""")


def test_script_failure_is_422_naming_where_and_saves_nothing(client):
    assert client.post("/api/deployments", json={"files": [{"name": "divide.bpmn", "content": DIVIDE.decode()}]},
                       headers=ADMIN).status_code == 201
    r = client.post("/api/instances", json={"key": "divide", "data": {"total": 10, "parts": 0}}, headers=as_("li"))
    assert r.status_code == 422
    body = r.get_json()
    assert "ZeroDivisionError" in body["error"] and "Traceback" not in body["error"]
    assert body["element"] == "calc" and body["file"] == "divide.bpmn"
    assert body["line"] == next(n for n, text in enumerate(DIVIDE.decode().splitlines(), 1) if 'id="calc"' in text)
    assert client.get("/api/instances", headers=ADMIN).get_json() == []
    assert client.post("/api/instances", json={"key": "divide", "data": {"total": 10, "parts": 2}},
                       headers=as_("li")).status_code == 201


def test_messages_start_and_correlate(client):
    files = [{"name": "supplement.bpmn", "content": SUPPLEMENT.decode()}]
    assert client.post("/api/deployments", json={"files": files}, headers=ADMIN).status_code == 201
    r = client.post("/api/messages", json={"name": "诉求登记", "business_key": "QH-9", "data": {"企业": "甲公司"}},
                    headers=ADMIN)
    assert r.status_code == 200
    [iid] = r.get_json()["started"]
    assert r.get_json()["delivered"] == []
    other = client.post("/api/messages", json={"name": "诉求登记", "business_key": "QH-10"},
                        headers=ADMIN).get_json()["started"][0]

    r = client.post("/api/messages", json={"name": "补充材料", "data": {"材料": "营业执照"}}, headers=ADMIN)
    assert r.status_code == 409 and "2 instances" in r.get_json()["error"]
    r = client.post("/api/messages", json={"name": "补充材料", "business_key": "QH-9", "data": {"材料": "营业执照"}},
                    headers=ADMIN)
    assert r.status_code == 200 and r.get_json() == {"delivered": [iid], "started": []}
    detail = client.get(f"/api/instances/{iid}", headers=ADMIN).get_json()
    assert detail["data"]["材料"] == "营业执照" and detail["data"]["企业"] == "甲公司"
    assert [t["element_id"] for t in detail["tasks"]] == ["check"]
    r = client.post("/api/messages", json={"name": "补充材料", "all": True}, headers=ADMIN)
    assert r.status_code == 200 and r.get_json()["delivered"] == [other]


def test_messages(client):
    deploy_basic(client)
    r = client.post("/api/messages", json={"name": "无人等待的消息", "business_key": "QH-1"}, headers=ADMIN)
    assert r.status_code == 404
    assert "无人等待的消息" in r.get_json()["error"]
    assert client.post("/api/messages", json={}, headers=ADMIN).status_code == 400
    assert client.post("/api/messages", json={"name": "m", "all": "yes"}, headers=ADMIN).status_code == 400
    assert client.post("/api/messages", json={"name": "m", "correlation": "x"}, headers=ADMIN).status_code == 400


def test_incidents_retry_and_resolve(client, people):
    deploy_basic(client)
    iid = start(client)
    tid = only_task(client, iid, "Task_accept")["id"]
    # no category: the routing handler fails and the appeal waits on an incident
    assert complete(client, tid, "li", {"summary": "没有选择类别"}).status_code == 200
    [inc] = client.get("/api/incidents", headers=ADMIN).get_json()
    assert inc["instance_id"] == iid and inc["element_id"] == "Task_route" and inc["status"] == "open"
    assert client.get(f"/api/instances/{iid}", headers=as_("li")).get_json()["incidents"][0]["id"] == inc["id"]
    assert client.get("/api/incidents?instance=other", headers=ADMIN).get_json() == []

    r = client.post(f"/api/incidents/{inc['id']}/retry", headers=as_("admin"))
    assert r.status_code == 200
    assert r.get_json()["status"] == "open" and r.get_json()["id"] == inc["id"]

    r = client.post(f"/api/incidents/{inc['id']}/resolve", json={"data": {"department": "dept_general"}},
                    headers=as_("admin"))
    assert r.status_code == 200 and r.get_json()["status"] == "resolved"
    assert client.get("/api/incidents", headers=ADMIN).get_json() == []
    assert len(client.get("/api/incidents?status=all", headers=ADMIN).get_json()) == 1
    assert only_task(client, iid, "Task_handle")
    assert client.post(f"/api/incidents/{inc['id']}/retry", headers=ADMIN).status_code == 404
    assert client.post("/api/incidents/999/resolve", json={}, headers=ADMIN).status_code == 404
    assert client.post(f"/api/incidents/{inc['id']}/resolve", json={"data": 1}, headers=ADMIN).status_code == 400


# -- errors -------------------------------------------------------------------------------------
def test_http_errors_under_api_are_json(client):
    r = client.get("/api/no-such-endpoint")
    assert r.status_code == 404 and r.is_json and r.get_json()["error"]
    r = client.delete("/api/definitions")
    assert r.status_code == 405 and r.is_json and r.get_json()["error"]
    r = client.delete("/api/definitions", headers=ADMIN)
    assert r.status_code == 405 and r.is_json
    r = client.get("/api/incidents/abc/retry")
    assert r.status_code in (404, 405) and r.is_json
    r = client.get("/no-such-page")            # outside the API: Flask's own page
    assert r.status_code == 404 and not r.is_json


def test_unexpected_error_is_json_without_traceback(client, engine, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals at /srv/qihu")
    monkeypatch.setattr(engine.repository, "definitions", boom)
    r = client.get("/api/definitions", headers=as_("li"))
    assert r.status_code == 500 and r.is_json
    assert set(r.get_json()) == {"error"}
    assert "secret" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)


# -- OpenAPI --------------------------------------------------------------------------------------
def _routes(app, prefix=""):
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("qihu_api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            assert path.startswith(prefix)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out.add((path[len(prefix):], method.lower()))
    return out


def test_openapi_document_is_valid_and_complete(client, app):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.data)
    validate(doc)
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert documented == _routes(app)
    assert len(documented) == 30
    assert doc["servers"] == [{"url": "/"}]


# -- mounting in a host application ---------------------------------------------------------------
def test_mounted_under_a_prefix_with_the_host_login(engine, people, admin):
    host = Flask("host")
    host.config["TESTING"] = True

    @host.before_request
    def login():                       # the host's own login: here, a session cookie stand-in
        g.login = request.cookies.get("host_session")

    @host.get("/")
    def home():
        return "host home"

    qihu = Qihu(host, engine=engine, url_prefix="/qihu/", current_user=lambda: g.login)
    assert host.extensions["qihu"] is qihu
    c = host.test_client()
    assert c.get("/").get_data(as_text=True) == "host home"
    assert c.get("/api/definitions").status_code == 404
    assert c.get("/qihu/api/definitions").status_code == 401               # nobody signed in at the host
    c.set_cookie("host_session", "admin")
    with open(BASIC, "rb") as f:
        assert c.post("/qihu/api/deployments", data={"files": (f, "appeal_basic.bpmn")}).status_code == 201
    assert [d["key"] for d in c.get("/qihu/api/definitions").get_json()] == ["appeal_basic"]

    iid = c.post("/qihu/api/instances", json={"key": "appeal_basic"}).get_json()["id"]
    tid = c.get(f"/qihu/api/tasks?instance={iid}").get_json()[0]["id"]
    # the default header identity is off: only the host's login counts
    c.delete_cookie("host_session")
    assert c.post(f"/qihu/api/tasks/{tid}/claim", headers=as_("li")).status_code == 401
    c.set_cookie("host_session", "wang")
    assert c.post("/qihu/api/deployments", json={"files": []}).status_code == 403
    c.set_cookie("host_session", "li")
    r = c.post(f"/qihu/api/tasks/{tid}/claim")
    assert r.status_code == 200 and r.get_json()["assignee"] == "li"

    doc = c.get("/qihu/api/openapi.json").get_json()
    validate(doc)
    assert doc["servers"] == [{"url": "/qihu"}]
    assert {(p, m) for p, ops in doc["paths"].items() for m in ops} == _routes(host, "/qihu")
    assert c.get("/qihu/api/nope").is_json
    assert c.get("/nope").status_code == 404 and not c.get("/nope").is_json


def test_factory_style_and_lazy_engine_from_config(db_url):
    qihu = Qihu()
    app = Flask("host")
    app.config.update(TESTING=True, QIHU_DATABASE_URL=db_url, QIHU_TRUST_USER_HEADER=True)
    qihu.init_app(app)
    assert qihu._engine is None                 # nothing created before the first use
    try:
        assert app.test_client().get("/api/definitions").status_code == 401
        assert qihu._engine is None             # refusing an anonymous caller needs no engine
        r = app.test_client().get("/api/definitions", headers=as_("li"))
        assert r.status_code == 200 and r.get_json() == []
        assert qihu.engine.settings.database_url == db_url
    finally:
        if qihu._engine is not None:
            qihu._engine.close()


def test_create_app_settings_and_one_embedded_worker(engine, monkeypatch):
    monkeypatch.setenv("QIHU_SECRET_KEY", "a-key-from-QIHU_SECRET_KEY-" + "x" * 20)
    app = create_app(engine=engine, embedded_worker=True)
    try:
        assert app.config["SECRET_KEY"] == "a-key-from-QIHU_SECRET_KEY-" + "x" * 20
        worker = app.extensions["qihu"].worker
        assert worker is not None and worker.thread.is_alive()
        again = create_app(engine=engine, embedded_worker=True)
        assert again.extensions["qihu"].worker is worker           # started once per engine
        assert start_worker(engine) is worker
    finally:
        stop_worker(engine)
    assert not worker.thread.is_alive()
    assert create_app(engine=engine, config={"SECRET_KEY": "host-secret"}).config["SECRET_KEY"] == "host-secret"
    assert create_app(engine=engine).extensions["qihu"].worker is None
