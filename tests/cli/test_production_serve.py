"""Production serving on PostgreSQL (issue 17, Serve and operate): `qihu serve` under gunicorn
with two web processes and no embedded worker, and a separate `qihu worker`, both real
processes on one PostgreSQL schema. Diagrams and people come from the command line; an appeal
walks through appeal_basic over HTTP (sign-in page, session cookie, REST with X-CSRFToken),
and a PT2S timer is fired by the separate worker. Both web processes served steps (their
heartbeat rows count them), and SIGTERM ends the server and the worker cleanly: exit code 0,
heartbeat rows gone."""
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from qihu.cli import main
from qihu.engine.storage.models import ProcessHeartbeat
from tests.conftest import BPMN, DATA
from tests.web_util import token

pytestmark = pytest.mark.postgresql          # `make test-quick` (no PostgreSQL) leaves it out

QIHU = Path(sys.executable).with_name("qihu")        # the console script pip installed
PORTS = range(5310, 5350)                             # this test's share of H1's range 5300-5349
PASSWORD = "pw-for-tests"
WAIT = 90.0        # the most a test waits for a process to come up or go down on a busy machine
PEOPLE = {"li": ["acceptor"], "wang": ["dept_policy", "dept_general"], "zhao": ["supervisor"]}


def free_port():
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def wait_until(predicate, what, limit=WAIT, pause=0.1, proc=None):
    """Polls predicate() until it is true; fails naming what did not happen (and saying so
    at once when a process it depends on has ended)."""
    done = threading.Event()
    for _ in range(int(limit / pause)):
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process ended with {proc.returncode}")
        done.wait(pause)
    raise AssertionError(f"not within {limit}s: {what}")


class Browser:
    """A cookie-keeping HTTP client (urllib: each request on a connection of its own, so the
    kernel hands requests to whichever web process is free)."""

    def __init__(self, base):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.csrf = None

    def request(self, method, path, body=None, headers=None, form=None):
        data, hdrs = None, dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if self.csrf and method != "GET":
            hdrs["X-CSRFToken"] = self.csrf
        req = urllib.request.Request(self.base + path, data=data, headers=hdrs, method=method)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    def sign_in(self, name):
        status, page, _ = self.request("GET", "/login")
        assert status == 200, page
        self.csrf = token(page)
        status, page, _ = self.request("POST", "/login", form={"name": name, "password": PASSWORD,
                                                               "csrf_token": self.csrf, "next": ""})
        # signed in: redirected to the inbox, which asks for no password
        assert status == 200 and 'name="password"' not in page, page[:300]
        self.csrf = token(page)       # the session's token now (signing in starts a new session)

    def api(self, method, path, body=None):
        status, text_, _ = self.request(method, "/api" + path, body=body if body is not None else
                                        ({} if method == "POST" else None))
        return status, (json.loads(text_) if text_ else None)


def cli(*args):
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def heartbeat_rows(db):
    with db.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(ProcessHeartbeat.__table__))]


def only_task(browser, iid, element):
    status, tasks = browser.api("GET", f"/tasks?instance={iid}")
    assert status == 200, tasks
    found = [t for t in tasks if t["element_id"] == element]
    assert len(found) == 1, (element, tasks)
    return found[0]


def complete(browser, task_id, data):
    status, body = browser.api("POST", f"/tasks/{task_id}/complete", {"data": data})
    assert status == 200, body
    return body


@pytest.fixture
def schema_url(pg_schema_url, pg_wipe, monkeypatch, tmp_path):
    """This test process's PostgreSQL schema, emptied, as the environment of every command."""
    pg_wipe()
    monkeypatch.setenv("QIHU_DATABASE_URL", pg_schema_url)
    monkeypatch.setenv("QIHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QIHU_SECRET_KEY", "production-serve-test-" + "s" * 30)
    monkeypatch.setenv("QIHU_SECURE_COOKIES", "0")          # plain HTTP on loopback
    monkeypatch.setenv("QIHU_HEARTBEAT_INTERVAL", "0.2")
    monkeypatch.setenv("QIHU_WORKER_POLL_INTERVAL", "0.2")
    # the web processes' metrics files in the test's folder (nothing is left in /tmp, even
    # when a failing test has to kill the server)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for name in ("QIHU_NOW", "QIHU_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    return pg_schema_url


def start(args, tmp_path, name):
    out = open(tmp_path / f"{name}.log", "wb")
    try:
        return subprocess.Popen([str(QIHU), *args], stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                                env=dict(os.environ))
    finally:
        out.close()


def stop(proc):
    """SIGTERM, then the exit code (killed, and failing, if it does not end in time)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"pid {proc.pid} did not end within {WAIT}s of SIGTERM")


def end(*procs):
    """SIGTERM to those still running, then kill any that has not ended in time."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def logs(tmp_path):
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(tmp_path.glob("*.log")))


def test_two_web_processes_and_a_separate_worker_walk_an_appeal_and_a_timer(schema_url, tmp_path, monkeypatch):
    # as an operator runs it: no PROMETHEUS_MULTIPROC_DIR, so `qihu serve` makes its own (it
    # once refused to start then: the app it builds before forking had imported prometheus_client)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert QIHU.exists(), f"{QIHU} is missing: pip install -e . puts the qihu command there"
    cli("deploy", str(BPMN / "appeal_basic.bpmn"), str(DATA / "serve_timer.bpmn"))
    for person, groups in PEOPLE.items():
        cli("user", "add", person, *groups, "--password", PASSWORD)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = create_engine(schema_url)
    processes = []
    try:
        server = start(["serve", "--port", str(port), "--processes", "2", "--threads", "4", "--no-worker"],
                       tmp_path, "serve")
        processes.append(server)
        worker = start(["worker"], tmp_path, "worker")
        processes.append(worker)

        def up():
            try:
                with urllib.request.urlopen(base + "/login", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(up, "qihu serve answers /login", proc=server)
        wait_until(lambda: sorted(r["kind"] for r in heartbeat_rows(db)) == ["web", "web", "worker"],
                   "two web processes and one worker beat", proc=worker)
        assert {r["pid"] for r in heartbeat_rows(db)} >= {worker.pid}

        # gunicorn trusts no forwarding header: a client's X-Forwarded-Proto makes nothing secure
        status, _, headers = Browser(base).request("GET", "/login", headers={"X-Forwarded-Proto": "https"})
        assert status == 200 and "secure" not in (headers.get("Set-Cookie") or "").lower()

        li, wang, zhao = Browser(base), Browser(base), Browser(base)
        for browser, name in ((li, "li"), (wang, "wang"), (zhao, "zhao")):
            browser.sign_in(name)

        # appeal_basic over REST, to its end (the department cannot; review sends it back)
        status, body = li.api("POST", "/instances", {"key": "appeal_basic", "business_key": "QH-SERVE-1",
                                                     "data": {"enterprise": "某某科技有限公司"}})
        assert status == 201, body
        iid = body["id"]
        accept = only_task(li, iid, "Task_accept")
        assert li.api("POST", f"/tasks/{accept['id']}/claim")[0] == 200
        complete(li, accept["id"], {"category": "policy", "summary": "厂房用地审批慢", "urgent": "是"})
        handle = only_task(wang, iid, "Task_handle")
        complete(wang, handle["id"], {"result": "cannot", "reply": "超出权限"})
        complete(zhao, only_task(zhao, iid, "Task_review")["id"], {"approved": "false", "opinion": "请再协调"})
        complete(wang, only_task(wang, iid, "Task_handle")["id"], {"result": "solved", "reply": "已协调加快审批"})
        done = complete(li, only_task(li, iid, "Task_rate")["id"],
                        {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "满意"})
        assert done["instance"]["status"] == "completed" and done["tasks"] == []

        # the timer: only the separate worker fires timers here (the server runs none)
        status, body = li.api("POST", "/instances", {"key": "serve_timer", "business_key": "QH-SERVE-T"})
        assert status == 201, body
        tid = body["id"]
        complete(li, only_task(li, tid, "Task_register")["id"], {})
        review = wait_until(lambda: [t for t in li.api("GET", f"/tasks?instance={tid}")[1]
                                     if t["element_id"] == "Task_review"], "the worker fires the PT2S timer",
                            pause=0.2, proc=worker)
        complete(li, review[0]["id"], {})
        status, history = li.api("GET", f"/instances/{tid}/history")
        types = [e["type"] for e in history]
        assert "timer_fired" in types and types[-1] == "instance_completed", types

        # both web processes served steps: each one's heartbeat counts the steps it ran
        def both_served():
            webs = [r for r in heartbeat_rows(db) if r["kind"] == "web"]
            return len(webs) == 2 and all(r["steps"] >= 1 for r in webs)
        for n in range(40):
            if both_served():
                break
            starts = [threading.Thread(target=li.api, args=("POST", "/instances",
                                                            {"key": "serve_timer", "business_key": f"QH-MORE-{n}-{i}"}))
                      for i in range(4)]
            for t in starts:
                t.start()
            for t in starts:
                t.join(60)
            try:
                wait_until(both_served, "both web processes counted a step", limit=1.0, pause=0.1)
            except AssertionError:
                pass             # not yet: another round of concurrent requests
        webs = [r for r in heartbeat_rows(db) if r["kind"] == "web"]
        assert len({r["pid"] for r in webs}) == 2 and all(r["steps"] >= 1 for r in webs), webs
        # /metrics (from this machine) adds up the steps of both web processes, whichever answers
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            page = r.read().decode()
        counted = sum(float(n) for n in re.findall(r'^qihu_steps_total\{[^}]*outcome="ok"[^}]*\} (\S+)$', page, re.M))
        assert counted >= sum(r["steps"] for r in webs), page[-2000:]
        [beat] = [r for r in heartbeat_rows(db) if r["kind"] == "worker"]
        assert beat["pid"] == worker.pid and beat["steps"] >= 1     # it fired the timer

        # SIGTERM: both end cleanly and take their heartbeat rows with them
        assert stop(server) == 0, logs(tmp_path)
        assert stop(worker) == 0, logs(tmp_path)
        assert heartbeat_rows(db) == [], logs(tmp_path)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{logs(tmp_path)}") from None
    finally:
        end(*processes)                 # whatever happened above, no process outlives the test
        db.dispose()


def test_pool_sizes_and_statement_timeout_come_from_the_settings(schema_url):
    from sqlalchemy.exc import OperationalError
    from qihu.engine.config import Settings
    from qihu.engine.core import Engine
    settings = Settings(database_url=schema_url, db_pool_size=3, db_max_overflow=1, db_statement_timeout=0.2)
    e = Engine(settings=settings)              # migrates (without the timeout), then serves with it
    try:
        assert (e.db.engine.pool.size(), e.db.engine.pool._max_overflow) == (3, 1)
        with e.db.read() as s:
            assert s.execute(text("SHOW statement_timeout")).scalar() == "200ms"
            assert s.execute(text("SELECT count(*) FROM process_heartbeat")).scalar() == 0   # the URL's schema
        with pytest.raises(OperationalError, match="statement timeout"):
            with e.db.read() as s:
                s.execute(text("SELECT pg_sleep(2)"))
    finally:
        e.close()
    plain = Engine(settings=Settings(database_url=schema_url), migrate=False)
    try:
        with plain.db.read() as s:
            assert s.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        plain.close()


def parent_of(pid):
    """The parent process id of pid, from /proc (Linux), or None when pid has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_serve_runs_one_embedded_worker_and_stops_it_with_itself(schema_url, tmp_path):
    """Without --no-worker, gunicorn's arbiter starts exactly one `qihu worker` as its child:
    it fires timers, and SIGTERM to `qihu serve` ends it too (heartbeat rows gone, exit 0)."""
    cli("deploy", str(DATA / "serve_timer.bpmn"))
    cli("user", "add", "li", "acceptor", "--password", PASSWORD)
    port = free_port()
    db = create_engine(schema_url)
    server = start(["serve", "--port", str(port), "--processes", "1", "--threads", "2"], tmp_path, "serve")
    try:
        wait_until(lambda: sorted(r["kind"] for r in heartbeat_rows(db)) == ["web", "worker"],
                   "one web process and one embedded worker beat", proc=server)
        [worker] = [r for r in heartbeat_rows(db) if r["kind"] == "worker"]
        assert parent_of(worker["pid"]) == server.pid               # the arbiter's child
        li = Browser(f"http://127.0.0.1:{port}")
        li.sign_in("li")
        status, body = li.api("POST", "/instances", {"key": "serve_timer"})
        assert status == 201, body
        complete(li, only_task(li, body["id"], "Task_register")["id"], {})
        wait_until(lambda: [t for t in li.api("GET", f"/tasks?instance={body['id']}")[1]
                            if t["element_id"] == "Task_review"], "the embedded worker fires the timer",
                   pause=0.2, proc=server)
        assert stop(server) == 0
        assert parent_of(worker["pid"]) is None                     # it ended with the server
        assert heartbeat_rows(db) == []
    except AssertionError as e:
        raise AssertionError(f"{e}\n{logs(tmp_path)}") from None
    finally:
        end(server)
        db.dispose()
