"""The OpenAPI document's schemas come from the engine's types, and real answers of the REST API
match them, on SQLite and PostgreSQL.

Answers are checked against the schema the document gives for their path, method and status,
made strict for the check (an object may hold no key its schema does not list), so a key the
engine adds without its type, or a type the document gets wrong, fails here.
"""
import copy
import io
import json

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from qihu.engine import types as T
from qihu.web.api import openapi
from qihu.web.api.schemas import components, schema_of
from qihu.web.app import create_app

from tests.bpmn_util import typed_flow

TYPED = typed_flow("typed_api", "typed_api.work", "接口类型")

ADMIN, CLERK = {"X-Qihu-User": "admin"}, {"X-Qihu-User": "li"}


def work(note, **_):
    if note == "fail":
        raise RuntimeError("故意失败 (failing on purpose)")
    return {"done": True}


@pytest.fixture
def client(engine):
    engine.accounts.add_user("admin", "admin-pw", display_name="管理员", is_admin=True)
    engine.tasks.add_member("li", "clerks")
    engine.handlers.register("typed_api.work", work)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    return app.test_client()


def _strict(node):
    """A copy where every object schema that lists its properties allows no other key."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class Document:
    def __init__(self, doc):
        validate(doc)
        self.doc = doc
        self.components = _strict(doc["components"])
        self.checked = set()

    def check(self, path, method, response):
        """The answer matches the schema of (path, method, its status); returns its JSON."""
        status = str(response.status_code)
        op = self.doc["paths"][path][method]
        assert status in op["responses"], f"{method} {path} answered {status}, which the document does not list"
        schema = op["responses"][status]["content"]["application/json"]["schema"]
        body = response.get_json()
        validator = OAS30Validator({**_strict(schema), "components": self.components},
                                   format_checker=OAS30Validator.FORMAT_CHECKER)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert errors == [], f"{method} {path} {status}: {errors}"
        self.checked.add((path, method, status))
        return body


def test_the_components_are_generated_from_the_types(client):
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)
    schemas = doc["components"]["schemas"]
    assert schemas == json.loads(json.dumps(components(openapi.COMPONENTS)))
    task = schemas["Task"]
    assert set(task["properties"]) == set(T.TaskInfo.__annotations__) and set(task["required"]) == set(task["properties"])
    assert task["properties"]["sla_colour"] == {"type": "string", "enum": [*T.SlaColour, None], "nullable": True}
    assert task["properties"]["status"]["enum"] == [s.value for s in T.TaskStatus]
    assert task["properties"]["due_at"] == {"type": "string", "format": "date-time", "nullable": True}
    assert schemas["Instance"]["properties"]["status"]["enum"] == [s.value for s in T.InstanceStatus]
    assert schemas["Incident"]["properties"]["status"]["enum"] == [s.value for s in T.IncidentStatus]
    assert set(schemas["TaskDetail"]["properties"]) == set(task["properties"]) | {"form"}
    assert schemas["TaskDetail"]["properties"]["form"] == {"$ref": "#/components/schemas/Form"}
    assert "options" not in schemas["FormField"]["required"]            # enum fields only
    assert schemas["DeployResult"]["required"] == ["deployment_id", "created", "definitions", "warnings"]
    assert schemas["VersionDiff"]["required"] == ["key", "from", "to", "added", "removed", "changed"]
    assert schemas["Unprocessable"]["required"] == ["error"]
    for name in ("Definition", "Version", "DeployedDefinition"):        # the region was missing by hand
        assert schemas[name]["properties"]["region"] == {"type": "string", "nullable": True}, name


def test_the_generator_states_each_kind_of_type():
    from typing import Any, Literal, NotRequired, TypedDict

    class Inner(TypedDict):
        n: int

    class Outer(TypedDict):
        a: str | None
        b: list[Inner]
        c: dict[str, float]
        d: Literal["x", "y"]
        e: T.IsoDateTime
        f: NotRequired[bool]
        g: Any
        h: dict[str, Any]
        i: Inner | None

    s = schema_of(Outer, {"Inner": Inner})
    assert s["required"] == ["a", "b", "c", "d", "e", "g", "h", "i"]
    p = s["properties"]
    assert p["a"] == {"type": "string", "nullable": True}
    assert p["b"] == {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}}
    assert p["c"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert p["d"] == {"type": "string", "enum": ["x", "y"]}
    assert p["e"] == {"type": "string", "format": "date-time"}
    assert p["f"] == {"type": "boolean"} and p["g"] == {"nullable": True}
    assert p["h"] == {"type": "object", "additionalProperties": True}
    assert p["i"] == {"allOf": [{"$ref": "#/components/schemas/Inner"}], "nullable": True}
    assert schema_of(Outer)["properties"]["b"]["items"]["properties"] == {"n": {"type": "integer"}}
    with pytest.raises(TypeError, match="a union other than"):
        schema_of(int | str)
    with pytest.raises(TypeError, match="no JSON schema"):
        schema_of(set[int])


def test_real_answers_match_their_schemas(client):
    doc = Document(client.get("/api/openapi.json").get_json())

    # deploy: new, then unchanged, then refused
    files = {"files": (io.BytesIO(TYPED), "typed.bpmn")}
    r = client.post("/api/deployments", data=files, content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 201 and doc.check("/api/deployments", "post", r)["definitions"][0]["region"] is None
    r = client.post("/api/deployments", data={"files": (io.BytesIO(TYPED), "typed.bpmn")},
                    content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 200 and doc.check("/api/deployments", "post", r)["created"] is False
    r = client.post("/api/deployments", data={"files": (io.BytesIO(b"<nope"), "bad.bpmn")},
                    content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 400 and doc.check("/api/deployments", "post", r)["problems"]

    # definitions, versions, diff
    defs = doc.check("/api/definitions", "get", client.get("/api/definitions", headers=CLERK))
    assert [d["key"] for d in defs] == ["typed_api"]
    doc.check("/api/definitions", "get", client.get("/api/definitions?all_versions=1", headers=CLERK))
    doc.check("/api/definitions/{key}/versions", "get", client.get("/api/definitions/typed_api/versions", headers=CLERK))
    doc.check("/api/definitions/{key}/diff", "get", client.get("/api/definitions/typed_api/diff?from=1&to=1",
                                                                headers=CLERK))
    doc.check("/api/definitions/{key}/activate", "post",
              client.post("/api/definitions/typed_api/activate", json={"version": 1}, headers=ADMIN))

    # start an instance; its task, with a colour and a form
    r = client.post("/api/instances", json={"key": "typed_api", "business_key": "T-1", "region": "湖州市"},
                    headers=CLERK)
    iid = doc.check("/api/instances", "post", r)["id"]
    tasks = doc.check("/api/tasks", "get", client.get(f"/api/tasks?instance={iid}", headers=ADMIN))
    [task] = tasks
    assert task["sla_colour"] in [c.value for c in T.SlaColour] and task["due_at"]
    doc.check("/api/tasks", "get", client.get("/api/tasks", headers=CLERK))
    detail = doc.check("/api/tasks/{task_id}", "get", client.get(f"/api/tasks/{task['id']}", headers=CLERK))
    assert detail["form"]["fields"][0]["options"] == [{"id": "a", "name": "甲"}]
    assert "options" not in detail["form"]["fields"][1]
    doc.check("/api/tasks/{task_id}", "get", client.get("/api/tasks/nope", headers=ADMIN))      # 404
    doc.check("/api/tasks/{task_id}/claim", "post", client.post(f"/api/tasks/{task['id']}/claim", headers=CLERK))
    doc.check("/api/tasks/{task_id}/unclaim", "post", client.post(f"/api/tasks/{task['id']}/unclaim", headers=CLERK))
    shown = doc.check("/api/instances/{instance_id}", "get", client.get(f"/api/instances/{iid}", headers=CLERK))
    assert shown["instance"]["status"] == "running" and shown["tasks"][0]["sla_colour"] == task["sla_colour"]
    doc.check("/api/instances", "get", client.get("/api/instances", headers=CLERK))

    # a form refused (422), then completed: the external task fails and leaves an incident
    r = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"kind": "a"}}, headers=CLERK)
    assert r.status_code == 422 and doc.check("/api/tasks/{task_id}/complete", "post", r)["errors"]
    r = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"kind": "a", "note": "fail"}}, headers=CLERK)
    assert doc.check("/api/tasks/{task_id}/complete", "post", r)["instance"]["status"] == "running"
    r = client.post(f"/api/tasks/{task['id']}/complete", json={"data": {"note": "x"}}, headers=CLERK)
    assert r.status_code == 409 and doc.check("/api/tasks/{task_id}/complete", "post", r)
    incidents = doc.check("/api/incidents", "get", client.get(f"/api/incidents?instance={iid}", headers=ADMIN))
    inc = [i for i in incidents if i["element_id"] == "work"][0]
    assert inc["status"] == "open" and inc["error_type"] == "RuntimeError"
    shown = doc.check("/api/instances/{instance_id}", "get", client.get(f"/api/instances/{iid}", headers=ADMIN))
    assert inc["id"] in [i["id"] for i in shown["incidents"]]
    doc.check("/api/incidents/{incident_id}/retry", "post",
              client.post(f"/api/incidents/{inc['id']}/retry", headers=ADMIN))
    resolved = doc.check("/api/incidents/{incident_id}/resolve", "post",
                         client.post(f"/api/incidents/{inc['id']}/resolve", json={"data": {"done": True}},
                                     headers=ADMIN))
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    doc.check("/api/incidents", "get", client.get("/api/incidents?status=all", headers=ADMIN))

    # history, suspend, resume, cancel
    events = doc.check("/api/instances/{instance_id}/history", "get",
                       client.get(f"/api/instances/{iid}/history", headers=ADMIN))
    assert {"instance_started", "task_created", "incident", "incident_resolved"} <= {e["type"] for e in events}
    for verb, status in (("suspend", "suspended"), ("resume", "running"), ("cancel", "cancelled")):
        r = client.post(f"/api/instances/{iid}/{verb}", headers=ADMIN, json={})
        assert doc.check(f"/api/instances/{{instance_id}}/{verb}", "post", r)["status"] == status
    r = client.post(f"/api/instances/{iid}/cancel", headers=ADMIN, json={})
    assert r.status_code == 409 and doc.check("/api/instances/{instance_id}/cancel", "post", r)
    r = client.get("/api/instances/nope", headers=ADMIN)
    assert r.status_code == 404 and doc.check("/api/instances/{instance_id}", "get", r)

    # the main answers were all checked
    assert {("/api/deployments", "post", "201"), ("/api/definitions", "get", "200"),
            ("/api/instances", "post", "201"), ("/api/tasks", "get", "200"), ("/api/tasks/{task_id}", "get", "200"),
            ("/api/instances/{instance_id}", "get", "200"), ("/api/incidents", "get", "200")} <= doc.checked


def test_the_strict_check_catches_a_key_the_document_lacks(client):
    """What the hand-written document missed (Task without sla_colour) would fail the check."""
    doc = client.get("/api/openapi.json").get_json()
    old = copy.deepcopy(doc)
    del old["components"]["schemas"]["Task"]["properties"]["sla_colour"]
    old["components"]["schemas"]["Task"]["required"].remove("sla_colour")
    client.post("/api/deployments", data={"files": (io.BytesIO(TYPED), "typed.bpmn")},
                content_type="multipart/form-data", headers=ADMIN)
    iid = client.post("/api/instances", json={"key": "typed_api"}, headers=CLERK).get_json()["id"]
    r = client.get(f"/api/tasks?instance={iid}", headers=ADMIN)
    Document(doc).check("/api/tasks", "get", r)
    with pytest.raises(AssertionError, match="sla_colour"):
        Document(old).check("/api/tasks", "get", r)
