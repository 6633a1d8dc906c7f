"""Issue 17, operating it: /healthz, /readyz, /metrics and the request id (web/ops.py)."""
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from qihu.engine.config import Settings
from qihu.engine.runtime import health, heartbeats, telemetry
from qihu.engine.storage.models import ProcessHeartbeat
from qihu.web.app import create_app

from tests.web_util import BASIC, add_people

HEX32 = re.compile(r"[0-9a-f]{32}")
ELSEWHERE = {"REMOTE_ADDR": "10.0.0.5"}
ACCEPT = {"category": "policy", "summary": "用地指标"}       # the form of appeal_basic's 受理登记


@pytest.fixture
def app(engine):
    return create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(autouse=True)
def _no_operator_settings(monkeypatch):
    for key in ("QIHU_METRICS_TOKEN", "QIHU_READY_REQUIRE_WORKERS"):
        monkeypatch.delenv(key, raising=False)


def lines(stream, logger):
    return [r for r in (json.loads(x) for x in stream.getvalue().splitlines() if x.strip()) if r["logger"] == logger]


def test_the_ops_endpoints_need_no_sign_in(engine):
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_LOGIN_URL": "/sso"})
    c = app.test_client()
    for url in ("/healthz", "/readyz", "/metrics"):
        r = c.get(url)
        assert r.status_code in (200, 503) and "Location" not in r.headers, url     # never sent to /login
        assert r.headers["Cache-Control"] == "no-store"
    r = c.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert c.get("/inbox").status_code == 302                                     # the pages still are


def test_readyz_needs_a_worker_heartbeat(client, engine):
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] and body["checks"]["schema"]["ok"]
    workers = body["checks"]["workers"]
    assert not workers["ok"] and workers["alive"] == 0 and "qihu worker" in workers["message"]
    assert "后台进程" in workers["message"] and "worker" in workers["message_en"]

    with engine.db.write() as s:      # a worker that stopped beating longer ago than heartbeat_stale
        old = datetime.now(timezone.utc) - timedelta(seconds=engine.settings.heartbeat_stale + 5)
        s.add(ProcessHeartbeat(name="h:1:worker", kind="worker", host="h", pid=1, started_at=old, beat_at=old, steps=0))
    assert client.get("/readyz").status_code == 503

    heartbeats.beat(engine, "web")                # a web process is no worker
    assert client.get("/readyz").status_code == 503
    heartbeats.beat(engine, "worker")
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    assert r.get_json()["checks"]["workers"] == {
        "ok": True, "message": "1 个后台进程在运行", "message_en": "1 worker(s) alive", "alive": 1, "required": True,
        "within_seconds": engine.settings.heartbeat_stale}


def test_a_web_only_deployment_may_be_ready_without_workers(engine, monkeypatch):
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_READY_REQUIRE_WORKERS": False})
    r = app.test_client().get("/readyz")
    assert r.status_code == 200 and r.get_json()["checks"]["workers"]["required"] is False
    monkeypatch.setenv("QIHU_READY_REQUIRE_WORKERS", "0")
    assert create_app(engine=engine, config={"TESTING": True}).test_client().get("/readyz").status_code == 200
    monkeypatch.setenv("QIHU_READY_REQUIRE_WORKERS", "sometimes")      # a typo stops the app, not a guess
    with pytest.raises(ValueError, match="QIHU_READY_REQUIRE_WORKERS"):
        create_app(engine=engine, config={"TESTING": True})


def test_readyz_is_503_when_the_schema_is_behind_the_code(client, engine, db_url):
    heartbeats.beat(engine, "worker")
    assert client.get("/readyz").status_code == 200
    [head] = health.code_heads()
    behind = f"{int(head) - 1:04d}"
    with engine.db.write() as s:          # as a database migrated by the previous release
        s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": behind})
    try:
        r = client.get("/readyz")
        body = r.get_data(as_text=True)
        schema = r.get_json()["checks"]["schema"]
        assert r.status_code == 503 and not schema["ok"]
        assert schema["database_revision"] == behind and schema["code_revision"] == head
        assert "qihu db-upgrade" in schema["message"] and "qihu db-upgrade" in schema["message_en"]
        assert "Traceback" not in body and "postgres" not in body and "sqlite" not in body
    finally:                              # the PostgreSQL schema is shared by the tests of this process
        with engine.db.write() as s:
            s.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert client.get("/readyz").status_code == 200


def test_readyz_when_the_database_does_not_answer_names_no_address():
    from qihu.engine import Engine
    url = "postgresql+psycopg://postgres:s3cret@127.0.0.1:5397/nothing?connect_timeout=2"
    engine = Engine(url, settings=Settings(), migrate=False)
    try:
        c = create_app(engine=engine, config={"TESTING": True}).test_client()
        assert c.get("/healthz").status_code == 200             # alive: liveness asks nothing of the database
        r = c.get("/readyz")
    finally:
        engine.close()
    body = r.get_data(as_text=True)
    assert r.status_code == 503 and not r.get_json()["checks"]["database"]["ok"]
    assert "数据库无法连接" in r.get_json()["checks"]["database"]["message"]
    assert "5397" not in body and "s3cret" not in body and "127.0.0.1" not in body and "Traceback" not in body


def test_metrics_from_this_machine_or_with_the_token(client, app, monkeypatch):
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    assert "# TYPE qihu_steps_total counter" in r.get_data(as_text=True)
    assert "qihu_database_up 1.0" in r.get_data(as_text=True)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200

    refused = client.get("/metrics", environ_base=ELSEWHERE)
    assert refused.status_code == 403 and "QIHU_METRICS_TOKEN" in refused.get_json()["error"]
    # through a reverse proxy on this machine: local address, but someone else's request
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 403

    app.config["QIHU_METRICS_TOKEN"] = "tok-1234567890"
    assert client.get("/metrics").status_code == 403                       # a token is asked of everyone
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Basic tok-1234567890"}).status_code == 403
    ok = client.get("/metrics", headers={"Authorization": "Bearer tok-1234567890"}, environ_base=ELSEWHERE)
    assert ok.status_code == 200 and "qihu_steps_total" in ok.get_data(as_text=True)

    del app.config["QIHU_METRICS_TOKEN"]
    monkeypatch.setenv("QIHU_METRICS_TOKEN", "env-token-0987654321")       # or from the environment
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer env-token-0987654321"},
                      environ_base=ELSEWHERE).status_code == 200


def test_metrics_count_the_steps_this_app_runs(client, engine):
    add_people(engine)
    engine.repository.deploy([BASIC])
    iid = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="HZ-OPS")
    before = telemetry.metrics_text(engine)[0].decode()
    [t] = engine.tasks.list(instance_id=iid)
    assert client.post(f"/api/tasks/{t['id']}/complete", json={"data": ACCEPT}, headers={"X-Qihu-User": "li"}).status_code == 200

    def ok_steps(page):
        m = re.search(r'^qihu_steps_total\{definition="appeal_basic",outcome="ok"\} ([0-9.e+]+)$', page, re.M)
        return float(m.group(1)) if m else 0.0
    assert ok_steps(client.get("/metrics").get_data(as_text=True)) == ok_steps(before) + 1


def test_the_request_id_is_echoed_or_made(client):
    r = client.get("/healthz", headers={"X-Request-Id": "nginx-7f3a.2:b_c"})
    assert r.headers["X-Request-Id"] == "nginx-7f3a.2:b_c"
    for bad in ("<script>", "a b", "x" * 65, "-starts-with-dash", "中文", "id;x=1", ""):
        r = client.get("/healthz", headers={"X-Request-Id": bad})
        assert HEX32.fullmatch(r.headers["X-Request-Id"]), bad                 # refused: a new one instead
    made = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(made) == 3 and all(HEX32.fullmatch(m) for m in made)
    assert client.get("/no-such-page").headers["X-Request-Id"]                   # on every answer, 404 too
    assert telemetry.request_id.get() is None                                    # nothing stays with the thread


def test_one_json_line_per_request_and_the_step_carries_its_id(client, engine, logs):
    add_people(engine)
    engine.repository.deploy([BASIC])
    iid = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="HZ-LOG")
    [t] = engine.tasks.list(instance_id=iid)
    r = client.post(f"/api/tasks/{t['id']}/complete", json={"data": ACCEPT},
                    headers={"X-Qihu-User": "li", "X-Request-Id": "req-complete-1"})
    assert r.status_code == 200
    start, step = lines(logs, "qihu.step")     # the start (no request), then the completion
    assert start["request_id"] is None and start["instance"] == iid
    assert step["request_id"] == "req-complete-1" and step["instance"] == iid and step["outcome"] == "ok"
    [request] = lines(logs, "qihu.request")
    assert request["request_id"] == "req-complete-1" and request["method"] == "POST"
    assert request["path"] == f"/api/tasks/{t['id']}/complete" and request["status"] == 200
    assert request["user"] == "li" and request["client"] == "127.0.0.1" and request["ms"] >= 0

    client.get("/healthz", environ_base=ELSEWHERE)
    last = lines(logs, "qihu.request")[-1]
    assert last["path"] == "/healthz" and last["user"] is None and last["client"] == "10.0.0.5"
    assert HEX32.fullmatch(last["request_id"])
    client.get("/track/private-link-token-abc")       # the portal's private link is no log material
    last = lines(logs, "qihu.request")[-1]
    assert last["path"] == "/track/***" and "private-link-token-abc" not in logs.getvalue()


def test_the_client_address_is_the_one_proxyfix_gives(engine, logs):
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUSTED_PROXIES": 1})
    c = app.test_client()
    c.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert lines(logs, "qihu.request")[-1]["client"] == "203.0.113.9"
    # and a proxied request is no local one for /metrics, whatever address the proxy has
    assert c.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
