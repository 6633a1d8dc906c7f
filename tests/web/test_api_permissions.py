"""Who may call what on the REST API (web/api/routes.py), endpoint by endpoint, with real sign-ins
(session cookie + CSRF token, no trusted header): anonymous 401, not allowed 403 and nothing
changed, allowed 2xx. The table must name every route of the API blueprint, so a new endpoint
without a permission test fails here. Also: the listing filters, the refusal of the default
secret key, the demo's key file and the sign-in limit.
"""
import os
import re
import stat
from collections import namedtuple

import pytest
from click.testing import CliRunner
from flask import Flask

from qihu.engine.topics import HandlerRegistry
from qihu.web.api import routes as api
from qihu.web.app import DEFAULT_SECRET_KEY, InsecureSecretKey, create_app, local_secret_key, secret_key_from_env

from tests.bpmn_util import bpmn, chain
from tests.web_util import token

PASSWORD = "perm-pw-1"

FLOW = bpmn("perm_flow", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="workers" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="权限测试").replace(
    b'isExecutable="true"', b'isExecutable="true" camunda:candidateStarterGroups="starters"')

FAILING = bpmn("perm_fail", f"""
<bpmn:startEvent id="s" />
<bpmn:serviceTask id="svc" name="对接外部系统" camunda:type="external" camunda:topic="perm.down" />
<bpmn:userTask id="after" name="后续" camunda:candidateGroups="workers" />
<bpmn:endEvent id="e" />
{chain("s", "svc", "after", "e")}""")

BY_MESSAGE = bpmn("perm_msg", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
<bpmn:userTask id="check" name="核对" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "check", "e")}""", extra='<bpmn:message id="m" name="权限消息" />\n')

# who is who: boss an administrator account; starter may start perm_flow; worker and worker2
# are its task's candidates; clerk works on perm_msg; outsider is signed in and nothing else
GROUPS = {"boss": [], "starter": ["starters"], "worker": ["workers"], "worker2": ["workers"],
          "clerk": ["clerks"], "outsider": ["others"]}


def down(**_):
    raise ConnectionError("外部系统不可用")


class World:
    """An engine with one instance of each diagram, and the app over it."""

    def __init__(self, engine):
        self.engine = engine
        for name, groups in GROUPS.items():
            if groups:
                engine.tasks.add_member(name, *groups)
        self.iid = engine.runtime.start("perm_flow", business_key="P-1", user="starter")
        [task] = engine.tasks.list(instance_id=self.iid)
        self.tid = task["id"]
        self.fail_iid = engine.runtime.start("perm_fail", business_key="F-1", user="boss")
        [incident] = engine.runtime.incidents(self.fail_iid)
        self.inc = incident["id"]
        self.msg_iid = engine.runtime.correlate("权限消息", business_key="M-0", user="boss")["started"][0]
        self.app = create_app(engine=engine, config={"TESTING": True})
        self._accounts = set()

    def ids(self):
        return {"instance_id": self.iid, "task_id": self.tid, "incident_id": self.inc, "key": "perm_flow",
                "version": 1}

    def client(self, name=None):
        """A test client signed in as `name` through /login (anonymous for None), with a CSRF token."""
        c = self.app.test_client()
        c.csrf = None
        if name is None:
            return c
        if name not in self._accounts:
            self.engine.accounts.add_user(name, PASSWORD, groups=GROUPS[name], is_admin=name == "boss")
            self._accounts.add(name)
        page = c.get("/login").get_data(as_text=True)
        r = c.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token(page)})
        assert r.status_code == 302, r.get_data(as_text=True)
        c.csrf = token(c.get("/login").get_data(as_text=True))
        return c

    def state(self):
        """Everything a refused call must leave as it was."""
        e = self.engine
        return (sorted((i["id"], i["status"]) for i in e.runtime.instances(limit=500)),
                sorted((t["id"], t["status"], t["assignee"]) for t in e.tasks.list(status=None, limit=500)),
                sorted((i["id"], i["status"], i["retries_left"]) for i in e.runtime.incidents(status=None)),
                [(d["key"], d["version"]) for d in e.repository.definitions(latest_only=False)])


@pytest.fixture
def world(make_engine):
    registry = HandlerRegistry()
    registry.register("perm.down", down)
    e = make_engine(handlers=registry, handler_retries=0)
    e.repository.deploy([("perm_flow.bpmn", FLOW)])
    e.repository.deploy([("perm_fail.bpmn", FAILING)])
    e.repository.deploy([("perm_msg.bpmn", BY_MESSAGE)])
    return World(e)


def call(client, method, path, body=None):
    headers = {"X-CSRFToken": client.csrf} if client.csrf else {}
    return client.open(path, method=method, json=body, headers=headers)


# -- the table: every endpoint ----------------------------------------------------------------------
Row = namedtuple("Row", "method path rule allowed ok denied denied_query body prepare query",
                 defaults=(None, None, None, None, None))


def _suspend(w):
    w.engine.runtime.suspend(w.iid, user="boss")


def _claim(w):
    w.engine.tasks.claim(w.tid, "worker")


def _deploy_v2(w):
    """perm_flow v2 (the task renamed), for migrating its instance."""
    w.engine.repository.deploy([("perm_flow.bpmn", FLOW.replace('name="办理"'.encode(), 'name="办理（新）"'.encode()))])


def _unassigned(w):
    """A task naming nobody (待分派) becomes the row's {task_id}."""
    w.engine.repository.deploy([("perm_nobody.bpmn", bpmn("perm_nobody", f"""
<bpmn:startEvent id="s" /><bpmn:userTask id="open" name="待分派" /><bpmn:endEvent id="e" />
{chain("s", "open", "e")}"""))])
    iid = w.engine.runtime.start("perm_nobody", business_key="N-1", user="boss")
    [task] = w.engine.tasks.list(instance_id=iid)
    w.tid = task["id"]


NEW_PROCESS = {"files": [{"name": "perm_new.bpmn", "content": bpmn("perm_new", f"""
<bpmn:startEvent id="s" /><bpmn:endEvent id="e" />{chain("s", "e")}""").decode()}]}

PUBLIC, SIGNED_IN, ADMIN = api.PUBLIC, api.SIGNED_IN, api.ADMIN
TABLE = [
    Row("POST", "/api/deployments", ADMIN, "boss", 201, "starter", body=NEW_PROCESS),
    Row("POST", "/api/deployments/check", ADMIN, "boss", 200, "starter", body=NEW_PROCESS),
    Row("GET", "/api/definitions", SIGNED_IN, "outsider", 200),
    Row("GET", "/api/definitions/{key}/versions", SIGNED_IN, "outsider", 200),
    Row("POST", "/api/definitions/{key}/activate", ADMIN, "boss", 200, "starter", body={"version": 1}),
    Row("GET", "/api/definitions/{key}/diff", SIGNED_IN, "outsider", 200, query="?from=1&to=1"),
    Row("GET", "/api/definitions/{key}/versions/{version}/xml", ADMIN, "boss", 200, "starter"),
    Row("POST", "/api/definitions/{key}/migrate", ADMIN, "boss", 200, "starter", body={"from": 1, "to": 2},
        prepare=_deploy_v2),
    Row("POST", "/api/instances", SIGNED_IN, "starter", 201, "outsider", body={"key": "perm_flow"}),
    Row("GET", "/api/instances", SIGNED_IN, "outsider", 200),                 # filtered, never refused
    Row("GET", "/api/instances/{instance_id}", SIGNED_IN, "worker", 200, "outsider"),
    Row("GET", "/api/instances/{instance_id}/history", SIGNED_IN, "worker", 200, "outsider"),
    Row("POST", "/api/instances/{instance_id}/cancel", ADMIN, "boss", 200, "starter", body={"reason": "撤回"}),
    Row("POST", "/api/instances/{instance_id}/suspend", ADMIN, "boss", 200, "worker"),
    Row("POST", "/api/instances/{instance_id}/resume", ADMIN, "boss", 200, "starter", prepare=_suspend),
    Row("POST", "/api/instances/{instance_id}/variables", ADMIN, "boss", 200, "worker", body={"data": {"note": "补充"}}),
    Row("GET", "/api/tasks", SIGNED_IN, "outsider", 200, "outsider", denied_query="?user=worker"),
    Row("GET", "/api/tasks/unassigned", SIGNED_IN, "boss", 200, "worker", prepare=_unassigned),
    Row("POST", "/api/tasks/{task_id}/assign", SIGNED_IN, "boss", 200, "worker", body={"user": "worker"},
        prepare=_unassigned),
    Row("POST", "/api/tasks/{task_id}/offer", SIGNED_IN, "boss", 200, "worker", body={"groups": ["workers"]},
        prepare=_unassigned),
    Row("GET", "/api/tasks/{task_id}", SIGNED_IN, "worker", 200, "outsider"),
    Row("POST", "/api/tasks/{task_id}/claim", SIGNED_IN, "worker", 200, "outsider"),
    Row("POST", "/api/tasks/{task_id}/unclaim", SIGNED_IN, "worker", 200, "worker2", prepare=_claim),
    Row("POST", "/api/tasks/{task_id}/complete", SIGNED_IN, "worker", 200, "starter", body={"data": {}}),
    Row("POST", "/api/messages", ADMIN, "boss", 200, "clerk", body={"name": "权限消息", "business_key": "M-1"}),
    Row("POST", "/api/signals", ADMIN, "boss", 200, "clerk", body={"name": "权限信号"}),
    Row("GET", "/api/incidents", ADMIN, "boss", 200, "worker"),
    Row("POST", "/api/incidents/{incident_id}/retry", ADMIN, "boss", 200, "worker"),
    Row("POST", "/api/incidents/{incident_id}/resolve", ADMIN, "boss", 200, "worker", body={"data": {}}),
    Row("GET", "/api/openapi.json", PUBLIC, None, 200),
]


def api_routes(app):
    """(path as written in the table, method, view name) of every route of the API blueprint."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("qihu_api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out.add((path, method, rule.endpoint.split(".", 1)[1]))
    return out


def test_the_table_names_every_endpoint_with_its_rule(engine):
    app = create_app(engine=engine, config={"TESTING": True})
    routes = api_routes(app)
    assert {(p, m) for p, m, _ in routes} == {(r.path, r.method) for r in TABLE}
    assert len(TABLE) == len(routes) == 30
    rules = {(r.path, r.method): r.rule for r in TABLE}
    for path, method, view in routes:
        assert api.RULES.get(view) == rules[(path, method)], (path, method, view)
    # the OpenAPI document states the same rule, and the 401/403 answers, for each operation
    doc = app.test_client().get("/api/openapi.json").get_json()
    for row in TABLE:
        op = doc["paths"][row.path][row.method.lower()]
        assert op["x-qihu-access"] == row.rule, row.path
        if row.rule == PUBLIC:
            assert op["security"] == [] and "401" not in op["responses"]
        else:
            assert op["security"] and "401" in op["responses"], row.path
            assert ("权限：仅管理员" if row.rule == ADMIN else "权限：需登录") in op["description"], row.path
        assert ("403" in op["responses"]) == (row.denied is not None), row.path
    assert set(doc["components"]["securitySchemes"]) == {"qihuSession", "qihuUserHeader"}


@pytest.mark.parametrize("row", TABLE, ids=[f"{r.method} {r.path}" for r in TABLE])
def test_endpoint_permissions(world, row):
    if row.prepare:
        row.prepare(world)
    path = row.path.format(**world.ids()) + (row.query or "")
    before = world.state()

    r = call(world.client(), row.method, path, row.body)                      # anonymous
    if row.rule == PUBLIC:
        assert r.status_code == row.ok and r.is_json
        return
    assert r.status_code == 401, r.get_json()
    assert "需要登录" in r.get_json()["error"] and "sign in" in r.get_json()["error"]
    assert world.state() == before

    if row.denied:
        r = call(world.client(row.denied), row.method, path + (row.denied_query or ""), row.body)
        assert r.status_code == 403, r.get_json()
        message = r.get_json()["error"]
        assert re.search(r"[\u4e00-\u9fff]", message) and re.search(r"\(.*[a-z]{3}.*\)", message), message
        assert world.state() == before

    r = call(world.client(row.allowed), row.method, path, row.body)
    assert r.status_code == row.ok, r.get_json()
    assert r.is_json


def test_the_user_query_parameter_names_nobody_without_the_trusted_header(world):
    """With qihu's own sign-in, ?user= and X-Qihu-User are not identities: no impersonation."""
    c = world.client()
    assert c.get("/api/tasks?user=worker").status_code == 401
    assert c.get("/api/tasks", headers={"X-Qihu-User": "boss"}).status_code == 401
    assert c.post("/api/deployments?user=boss", json=NEW_PROCESS).status_code == 401
    outsider = world.client("outsider")
    r = call(outsider, "POST", "/api/deployments", NEW_PROCESS)
    assert r.status_code == 403 and "仅管理员" in r.get_json()["error"]


# -- refusal messages and 404 first ------------------------------------------------------------
def test_refusals_name_what_and_who(world):
    outsider, starter = world.client("outsider"), world.client("starter")
    r = call(outsider, "POST", "/api/instances", {"key": "perm_flow"})
    assert r.status_code == 403
    assert r.get_json()["error"].startswith("无权发起流程 perm_flow，只有 starters 可以发起")
    assert "starter groups starters" in r.get_json()["error"]
    r = call(outsider, "POST", "/api/instances", {"key": "no_such_process"})
    assert r.status_code == 404 and "no_such_process" in r.get_json()["error"]
    r = call(outsider, "GET", f"/api/instances/{world.iid}")
    assert r.status_code == 403 and "无权查看流程实例" in r.get_json()["error"]
    for path in ("/api/instances/no-such-id", "/api/instances/no-such-id/history", "/api/tasks/no-such-task"):
        assert call(outsider, "GET", path).status_code == 404, path
    r = call(outsider, "GET", f"/api/tasks/{world.tid}")
    assert r.status_code == 403 and r.get_json()["error"].startswith("没有权限")
    r = call(outsider, "GET", "/api/tasks?user=worker")
    assert r.status_code == 403 and "只能查看本人的待办" in r.get_json()["error"]
    r = call(starter, "POST", f"/api/instances/{world.iid}/cancel")
    assert r.status_code == 403 and "仅管理员可以执行此操作" in r.get_json()["error"]
    r = call(outsider, "POST", f"/api/tasks/{world.tid}/claim")
    assert r.status_code == 403 and "not a candidate" in r.get_json()["error"]


def test_a_disabled_administrator_is_no_administrator(world):
    boss = world.client("boss")
    assert call(boss, "GET", "/api/incidents").status_code == 200
    world.engine.accounts.set_active("boss", False)
    assert call(boss, "GET", "/api/incidents").status_code == 401              # signed out at once
    assert world.engine.access.is_admin("boss") is False
    world.engine.tasks.add_member("boss", "admin")
    assert world.engine.access.is_admin("boss") is False                        # nor by the admin group
    world.engine.tasks.add_member("gateway_admin", "admin")                     # no account: the group counts
    assert world.engine.access.is_admin("gateway_admin") is True


# -- the listings: what each one sees ------------------------------------------------------------
def listed(client, path):
    r = call(client, "GET", path)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_instances_list_shows_only_those_the_caller_takes_part_in(world):
    w = world
    ids = lambda c, q="": sorted(i["id"] for i in listed(c, "/api/instances" + q))   # noqa: E731
    assert ids(w.client("boss")) == sorted([w.iid, w.fail_iid, w.msg_iid])
    assert ids(w.client("starter")) == [w.iid]                                  # started it
    worker = w.client("worker")
    assert ids(worker) == [w.iid]              # perm_fail's task for workers comes after its incident
    assert ids(w.client("clerk")) == [w.msg_iid]
    assert ids(w.client("outsider")) == []
    assert ids(worker, "?key=perm_flow") == [w.iid] and ids(worker, "?business_key=M-0") == []
    assert ids(worker, "?status=completed") == []

    w.engine.tasks.complete(w.tid, "worker", {})
    assert ids(worker, "?status=completed") == [w.iid]                          # done: still theirs to see
    assert call(worker, "GET", f"/api/instances/{w.iid}/history").status_code == 200
    w.engine.tasks.add_member("outsider", "clerks")
    assert ids(w.client("outsider")) == [w.msg_iid]                             # joined the group


def test_fail_instance_is_seen_through_its_pending_task(world):
    """perm_fail waits on an incident before its task exists: the workers see it only once the
    task is offered to them; the administrator always does."""
    w = world
    worker = w.client("worker")
    assert {i["id"] for i in listed(worker, "/api/instances")} == {w.iid}
    assert call(worker, "GET", f"/api/instances/{w.fail_iid}").status_code == 403
    w.engine.runtime.resolve_incident(w.inc, {}, user="boss")
    assert {i["id"] for i in listed(worker, "/api/instances")} == {w.iid, w.fail_iid}
    assert call(worker, "GET", f"/api/instances/{w.fail_iid}").status_code == 200


def test_tasks_list_is_the_callers_own_inbox(world):
    w = world
    worker, worker2, boss = w.client("worker"), w.client("worker2"), w.client("boss")
    tasks = lambda c, q="": sorted(t["element_id"] for t in listed(c, "/api/tasks" + q))   # noqa: E731
    assert tasks(worker) == ["work"] and tasks(worker2) == ["work"]
    assert tasks(w.client("clerk")) == ["check"]
    assert tasks(w.client("outsider")) == [] and tasks(w.client("starter")) == []
    assert tasks(boss) == ["check", "work"]                                     # everyone's, unless named
    assert tasks(boss, "?user=clerk") == ["check"]
    assert tasks(worker, "?user=worker") == ["work"]                            # naming oneself is fine
    assert call(worker, "GET", "/api/tasks?user=boss").status_code == 403

    call(worker, "POST", f"/api/tasks/{w.tid}/claim")
    assert tasks(worker) == ["work"] and tasks(worker2) == []                  # claimed: off her inbox
    r = call(worker2, "GET", f"/api/tasks/{w.tid}")                             # still visible, read-only
    assert r.status_code == 200 and r.get_json()["assignee"] == "worker"
    assert call(worker2, "POST", f"/api/tasks/{w.tid}/complete", {"data": {}}).status_code == 403
    assert call(worker2, "POST", f"/api/tasks/{w.tid}/unclaim").status_code == 403
    assert call(boss, "GET", f"/api/tasks/{w.tid}").status_code == 200         # admins see any task
    assert call(worker, "POST", f"/api/tasks/{w.tid}/complete", {"data": {}}).status_code == 200
    assert tasks(worker) == [] and tasks(worker, "?status=completed") == ["work"]
    assert tasks(worker2, "?status=completed") == []


def test_session_api_calls_need_the_csrf_token(world):
    worker = world.client("worker")
    r = worker.post(f"/api/tasks/{world.tid}/claim")
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]
    assert world.engine.tasks.get(world.tid)["assignee"] is None


# -- the secret key ------------------------------------------------------------------------------
def test_the_default_secret_key_is_refused_outside_testing_and_debug(engine, monkeypatch):
    monkeypatch.delenv("QIHU_SECRET_KEY", raising=False)
    assert secret_key_from_env() == DEFAULT_SECRET_KEY
    with pytest.raises(InsecureSecretKey, match="QIHU_SECRET_KEY is not set") as e:
        create_app(engine=engine)
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(RuntimeError, match="QIHU_SECRET_KEY"):
        create_app(engine=engine, config={"SECRET_KEY": DEFAULT_SECRET_KEY})
    for config in ({"TESTING": True}, {"DEBUG": True}, {"QIHU_ALLOW_DEFAULT_SECRET": True},
                   {"SECRET_KEY": "a-real-secret-" + "k" * 30}):
        assert create_app(engine=engine, config=config).config["SECRET_KEY"], config
    monkeypatch.setenv("QIHU_SECRET_KEY", "from-QIHU_SECRET_KEY-" + "s" * 30)
    assert create_app(engine=engine).config["SECRET_KEY"] == "from-QIHU_SECRET_KEY-" + "s" * 30


@pytest.fixture
def no_serving(monkeypatch):
    """`qihu serve`/`demo` up to app.run: the apps they would serve, and no worker thread."""
    served = []
    monkeypatch.setattr(Flask, "run", lambda app, **kw: served.append(app))                      # qihu demo
    monkeypatch.setattr("qihu.serving.serve", lambda factory, **options: served.append(factory()))  # qihu serve
    monkeypatch.setattr("qihu.web.app.start_worker", lambda engine: None)
    monkeypatch.setattr("qihu.appeals.demo.seed", lambda engine, folder, **options: iter(["seeded"]))
    monkeypatch.delenv("QIHU_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return served


def test_serve_needs_a_secret_key(db_url, monkeypatch, no_serving):
    from qihu.cli import main
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    r = CliRunner().invoke(main, ["serve", "--no-worker"])
    assert r.exit_code == 1 and no_serving == []
    assert r.output.startswith("error: QIHU_SECRET_KEY is not set") and "Traceback" not in r.output
    monkeypatch.setenv("QIHU_SECRET_KEY", "serve-secret-" + "x" * 30)
    r = CliRunner().invoke(main, ["serve", "--no-worker"])
    assert r.exit_code == 0, r.output
    [app] = no_serving
    assert app.config["SECRET_KEY"] == "serve-secret-" + "x" * 30
    app.extensions["qihu"].engine.close()


def test_demo_makes_a_random_key_once_and_keeps_it(db_url, monkeypatch, tmp_path, no_serving):
    from qihu.cli import main
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.setenv("QIHU_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    r = runner.invoke(main, ["demo"])
    assert r.exit_code == 0, r.output
    key_file = tmp_path / "data" / "secret_key"
    key = key_file.read_text().strip()
    assert len(key) >= 32 and key != DEFAULT_SECRET_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert no_serving[0].config["SECRET_KEY"] == key
    assert runner.invoke(main, ["demo"]).exit_code == 0                        # a restart keeps the key
    assert no_serving[1].config["SECRET_KEY"] == key and key_file.read_text().strip() == key

    monkeypatch.setenv("QIHU_SECRET_KEY", "operator-secret-" + "y" * 30)        # the operator's key wins
    assert runner.invoke(main, ["demo"]).exit_code == 0
    assert no_serving[2].config["SECRET_KEY"] == "operator-secret-" + "y" * 30
    for app in no_serving:
        app.extensions["qihu"].engine.close()


def test_local_secret_key_file(tmp_path):
    folder = tmp_path / "new" / "data"
    key = local_secret_key(folder)
    assert local_secret_key(folder) == key and local_secret_key(tmp_path / "other") != key
    path = folder / "secret_key"
    os.chmod(path, 0o644)                                  # made readable by others: tightened again
    assert local_secret_key(folder) == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(InsecureSecretKey, match="no usable secret key"):
        local_secret_key(folder)


# The sign-in limit (issue 16: counted in the database, per name and per real client address) is
# tested in tests/web/test_signin.py.
