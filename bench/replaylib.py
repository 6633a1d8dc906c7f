"""What appeal_bench, replay_bench, http_bench and memory_bench share: a PostgreSQL schema of their
own (made, then dropped at the end), an engine composed as production composes it (handlers
discovered, the appeal domain installed), the resident memory of a process (and of its
descendants), the milliseconds table; and for the benches that drive qihu as an operator and
its users do: the `qihu` command line, a qihu process in a process group of its own (ended with
the bench), and a signed-in HTTP client of the web app.

Percentiles and the PostgreSQL address come from benchlib (QIHU_BENCH_PG_URL overrides it).
"""
import atexit
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bpmn"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import PG_URL, percentile  # noqa: E402,F401

# The days of work a year of appeals is spread over does not matter here: the figure asked for
# is the wall time to walk Zhejiang's 2025 volume of 企呼我应 appeals end to end (issue 17).
YEAR_APPEALS = 140_200


def schema_url(schema):
    """The bench's PostgreSQL URL with `schema` as the connection's search_path."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema(name):
    """A fresh PostgreSQL schema `qihu_<name>_<pid>`; yields (schema, url) and drops it after,
    whatever happened (Ctrl-C included)."""
    schema = f"qihu_{name}_{os.getpid()}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield schema, schema_url(schema)
    finally:
        try:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()


def make_engine(url, migrate=False, **settings):
    """An engine as `qihu serve` / `qihu worker` compose it: the handlers of the installed
    packages, the appeal domain installed (figures, notices, ledgers)."""
    from qihu import appeals
    from qihu.engine import Engine
    from qihu.engine.config import Settings
    s = Settings(database_url=url)
    for k, v in settings.items():
        setattr(s, k, v)
    e = Engine(settings=s, migrate=migrate)
    appeals.install(e)
    return e


def rss_mb(pid=None):
    """Resident memory of a process (this one by default) in MB, from /proc (Linux)."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def rss_parts_mb(pid=None):
    """(anonymous, file-backed) resident MB of a process, from /proc (Linux): growth of the
    first is memory the process allocated; of the second, code and data files paged in."""
    parts = {}
    try:
        with open(f"/proc/{pid or 'self'}/status") as f:
            for line in f:
                if line.startswith(("RssAnon:", "RssFile:")):
                    parts[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return parts.get("RssAnon", float("nan")), parts.get("RssFile", float("nan"))


def ms_row(label, seconds):
    """`label  n  p50  p95  p99  max` in ms of a list of seconds."""
    ms = [x * 1e3 for x in seconds]
    return (f"  {label:<34} {len(ms):6d} {statistics.median(ms):9.2f} {percentile(ms, 95):9.2f} "
            f"{percentile(ms, 99):9.2f} {max(ms):9.2f}")


def ms_header(column):
    return f"  {column:<34} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}"


# -- qihu as an operator runs it -------------------------------------------------------------------
HOST = "127.0.0.1"
# the password of every bench account: 10+ characters of 4 classes, not a common one
PASSWORD = "Bench-Pass-2026!q"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def qihu_cli():
    """The `qihu` command of this Python (the venv's script, else `python -m qihu.cli`)."""
    exe = Path(sys.executable).with_name("qihu")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "qihu.cli"]


def qihu_run(env, *words):
    """Run `qihu WORDS...` to its end; its standard output, or SystemExit with its output."""
    r = subprocess.run(qihu_cli() + list(words), env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"`qihu {' '.join(words)}` 失败 (failed, {r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def free_port(ports, taken=()):
    """The first port of `ports` (not in `taken`) that nothing listens on."""
    for port in ports:
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
                return port
            except OSError:
                continue
    raise SystemExit(f"端口 {ports[0]}-{ports[-1]} 均被占用 (no free port in {ports[0]}-{ports[-1]})")


def process_tree(pid):
    """[(pid, RSS MB)] of a process and its descendants, parents first, from /proc (Linux)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        out.append((p, rss_mb(p)))
        todo.extend(sorted(children.get(p, [])))
    return out


class Service:
    """`qihu WORDS...` (serve, worker) in a process group of its own, its output in `log_path`;
    stop() ends the group (TERM, then KILL), and so does the end of this process (atexit), so
    nothing outlives the bench (Ctrl-C and errors included)."""

    def __init__(self, words, env, log_path, title=None):
        self.title = title or f"qihu {words[0]}"
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(qihu_cli() + list(words), env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        atexit.register(self.stop)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def tree(self):
        """[(pid, RSS MB)] of the process and its descendants."""
        return process_tree(self.proc.pid)

    def wait_http(self, port, path="/login", timeout=90):
        """Until GET http://HOST:port/path answers 200; SystemExit (with the log's tail) when the
        process exits or `timeout` seconds pass first."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.title} 已退出 (exited {self.proc.returncode}):\n{self.tail()}")
            try:
                c = http.client.HTTPConnection(HOST, port, timeout=5)
                c.request("GET", path)
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.title} 未在 {timeout} 秒内就绪 (not ready):\n{self.tail()}")

    def tail(self, n=30):
        if not self.log.closed:
            self.log.flush()
        return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        try:                           # children left behind by a dead parent, same group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if not self.log.closed:
            self.log.close()


class Client:
    """One person's browser-less session: a keep-alive connection, its cookies and CSRF token."""

    def __init__(self, port, name, password=PASSWORD):
        self.port, self.name, self.password = port, name, password
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.cookies, self.token = {}, None

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
                self.conn.close()              # the server closed a kept-alive connection: reconnect
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        for cookie in r.headers.get_all("Set-Cookie") or []:
            k, _, v = cookie.split(";", 1)[0].partition("=")
            self.cookies[k.strip()] = v.strip()
        return r.status, r.headers, data

    def _token(self, html):
        m = TOKEN.search(html.decode("utf-8", "replace"))
        if not m:
            raise RuntimeError(f"{self.name}: 页面中没有 csrf_token (no csrf_token on the page)")
        return m.group(1) or m.group(2)

    def sign_in(self):
        """As a person does: GET /login → its hidden csrf_token → POST /login → the session
        cookie; then GET / for the signed-in page's csrf_token (sign-in starts a new session)."""
        self.cookies = {}
        status, _, html = self.request("GET", "/login")
        form = urlencode({"csrf_token": self._token(html), "name": self.name, "password": self.password, "next": ""})
        status, headers, body = self.request("POST", "/login", form,
                                             {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"{self.name}: 登录失败 (sign-in answered {status}): {body[:300]!r}")
        status, _, html = self.request("GET", "/")
        self.token = self._token(html)

    def api(self, method, path, payload=None):
        """A REST call with the session cookie and X-CSRFToken: (status, body as JSON or bytes)."""
        body = None if payload is None else json.dumps(payload)
        status, _, data = self.request(method, path, body, {"Content-Type": "application/json",
                                                            "X-CSRFToken": self.token or "",
                                                            "Accept": "application/json"})
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data
