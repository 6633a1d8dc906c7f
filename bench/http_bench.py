"""Complete-task over HTTP: C concurrent clients against `qihu serve` (production server, P web
processes, PostgreSQL).

Set-up (not timed), on a PostgreSQL schema made for the run and dropped at its end
(QIHU_BENCH_PG_URL, default the test database of this machine):
- the CLI, as an operator would: `qihu db-upgrade`, `qihu deploy bpmn/appeal_basic.bpmn`, and
  one account per client in the acceptor group (`qihu user add bench01 acceptor --password …`);
- `qihu serve --host 127.0.0.1 --port PORT --processes P --threads T --no-worker` with
  QIHU_DATABASE_URL, QIHU_SECRET_KEY (random) and QIHU_SECURE_COOKIES=0 (plain HTTP here), on
  the first free port of 5400-5449, in a process group of its own: it and its web processes
  are ended when the bench ends, Ctrl-C and errors included;
- --appeals appeals started through the engine (engine.runtime.start), each waiting at 受理登记,
  dealt out to the clients in turn (the server is idle meanwhile);
- each client signs in as a person does: GET /login → its hidden csrf_token → POST /login (name,
  password) → the session cookie; then GET / for the signed-in page's csrf_token (sign-in starts
  a new session), sent as X-CSRFToken with the cookie on every REST call.

Timed: POST /api/tasks/<id>/complete with the 受理登记 form ({"data": {"category", "summary",
"urgent"}}), each client its own share of the waiting tasks, one call after another on a
keep-alive connection (http.client of the standard library: no dependency for the bench), for
--seconds after two untimed calls per client. The response is the endpoint's own (the task,
the instance, its next tasks). A call that is not 200 is counted as an error and printed.
The clients are threads of this process, on the same machine as the server: they take some of
its CPU.

    .venv/bin/python bench/http_bench.py [--clients 16] [--seconds 60] [--processes 2] [--threads 4]

Prints completes/s, p50/p95/p99 ms, errors, the RSS of the server's processes after the
warm-up and at the end; last line `http complete per s: R; p99 ms: Q`. Goal (issue 17):
R >= 150 and Q < 100.
"""
import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replaylib import (BPMN, HOST, PASSWORD, Client as Person, Service, free_port, make_engine,  # noqa: E402
                       percentile, pg_schema, qihu_cli, qihu_run, rss_mb)

PORTS = range(5400, 5450)
ACCEPT = {"category": "policy", "summary": "厂房用地审批慢", "urgent": False}


# -- the server ------------------------------------------------------------------------------------
class Server(Service):
    """`qihu serve --no-worker` in a process group of its own (replaylib.Service)."""

    def __init__(self, args, env, log_path):
        super().__init__(["serve", "--host", HOST, "--port", str(args.port), "--processes", str(args.processes),
                          "--threads", str(args.threads), "--no-worker"], env, log_path)

    def wait_ready(self, port, timeout=90):
        self.wait_http(port, "/login", timeout)


# -- a client --------------------------------------------------------------------------------------
class Client(Person):
    """A signed-in acceptor (replaylib.Client) who completes 受理登记."""

    def complete(self, task_id):
        return self.request("POST", f"/api/tasks/{task_id}/complete", json.dumps({"data": ACCEPT}),
                            {"Content-Type": "application/json", "X-CSRFToken": self.token,
                             "Accept": "application/json"})


def run_client(client, tasks, warmup, start, stop_at, out):
    """Sign in, complete `warmup` tasks untimed, wait for the start, then complete until stop_at."""
    times, errors = [], []
    try:
        client.sign_in()
        for _ in range(warmup):
            if tasks:
                client.complete(tasks.pop())
    except Exception as exc:
        out.append({"name": client.name, "error": f"{type(exc).__name__}: {exc}"})
        start.abort()
        return
    try:
        start.wait()
    except threading.BrokenBarrierError:
        return
    while tasks and time.perf_counter() < stop_at[0]:
        tid = tasks.pop()
        t0 = time.perf_counter()
        try:
            status, _, body = client.complete(tid)
        except Exception as exc:             # counted, not hidden
            status, body = 0, f"{type(exc).__name__}: {exc}".encode()
        spent = time.perf_counter() - t0
        if status == 200:
            times.append(spent)
        else:
            errors.append((status, body[:300]))
    out.append({"name": client.name, "times": times, "errors": errors, "left": len(tasks)})


def setup(url, env, args):
    def run(*words):
        return qihu_run(env, *words)

    run("db-upgrade")
    print("  " + run("deploy", str(BPMN / "appeal_basic.bpmn"), "--name", "http bench").strip().splitlines()[-1])
    names = [f"bench{k + 1:02d}" for k in range(args.clients)]
    for name in names:
        run("user", "add", name, "acceptor", "--password", PASSWORD, "--display-name", f"受理员{name[5:]}")
    print(f"  {len(names)} accounts in acceptor (qihu user add)", flush=True)
    return names


def start_appeals(url, names, args):
    """--appeals appeals waiting at 受理登记, dealt out to the clients in turn: {name: [task id]}."""
    e = make_engine(url)
    try:
        shares = {name: [] for name in names}
        t0 = time.perf_counter()
        for i in range(args.appeals):
            iid = e.runtime.start("appeal_basic", {"company": f"某科技公司{i}"}, business_key=f"H-{i}")
            [task] = e.tasks.list(instance_id=iid)
            shares[names[i % len(names)]].append(task["id"])
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1} appeals started ({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        e.close()
    return shares


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    ap.add_argument("--seconds", type=float, default=60, help="timed window (default 60)")
    ap.add_argument("--appeals", type=int, default=6000,
                    help="appeals waiting at 受理登记 before the run (default 6000); the run ends early when used up")
    ap.add_argument("--processes", type=int, default=2, help="web processes of qihu serve (default 2)")
    ap.add_argument("--threads", type=int, default=4, help="threads per web process (default 4)")
    ap.add_argument("--port", type=int, help="default: the first free port of 5400-5449")
    args = ap.parse_args()

    helptext = subprocess.run(qihu_cli() + ["serve", "--help"], capture_output=True, text=True).stdout
    if "--processes" not in helptext:
        raise SystemExit("qihu serve 还没有 --processes 选项 (qihu serve has no --processes option yet)")
    args.port = args.port or free_port(PORTS)

    tmp = tempfile.mkdtemp(prefix="qihu_http_bench_")
    try:
        with pg_schema("http_bench") as (schema, url):
            server = None
            try:                # the server ends before its schema is dropped, whatever happens
                env = dict(os.environ, QIHU_DATABASE_URL=url, QIHU_SECRET_KEY=secrets.token_hex(32),
                           QIHU_SECURE_COOKIES="0", QIHU_DATA_DIR=tmp)
                print(f"http_bench: set-up on PostgreSQL schema {schema}", flush=True)
                names = setup(url, env, args)
                server = Server(args, env, os.path.join(tmp, "serve.log"))
                server.wait_ready(args.port)            # fail fast: before the appeals are started
                shares = start_appeals(url, names, args)
                print(f"qihu serve --processes {args.processes} --threads {args.threads} --no-worker on "
                      f"http://{HOST}:{args.port}/ (pid {server.proc.pid}); {args.clients} clients", flush=True)

                start, stop_at, out = threading.Barrier(args.clients + 1), [float("inf")], []
                threads = [threading.Thread(target=run_client, daemon=True, name=name,
                                            args=(Client(args.port, name), tasks, 2, start, stop_at, out))
                           for name, tasks in shares.items()]
                for t in threads:
                    t.start()
                try:
                    start.wait(timeout=300)
                except threading.BrokenBarrierError:
                    pass
                rss_start = server.tree()
                t0 = time.perf_counter()
                stop_at[0] = t0 + args.seconds
                for t in threads:
                    t.join(timeout=args.seconds + 120)
                wall = time.perf_counter() - t0
                rss_end = server.tree()
                log_tail = server.tail(15)
            finally:
                if server is not None:
                    server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    failed = [r for r in out if "error" in r]
    for r in failed:
        print(f"client {r['name']} failed: {r['error']}")
    if failed or len(out) < args.clients:
        print(f"server log (last lines):\n{log_tail}")
        sys.exit(1)
    times = [t for r in out for t in r["times"]]
    errors = [e for r in out for e in r["errors"]]
    used_up = sum(1 for r in out if r["left"] == 0)
    if not times:
        print(f"no complete call succeeded; errors: {errors[:3]}\nserver log:\n{log_tail}")
        sys.exit(1)
    ms = [t * 1e3 for t in times]
    rate = len(times) / wall
    print(f"complete calls: {len(times)} in {wall:.1f} s, {len(errors)} not 200"
          + (f" (first: {errors[0][0]} {errors[0][1]!r})" if errors else "")
          + (f"; {used_up} clients used up their tasks (raise --appeals)" if used_up else ""))
    print(f"p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms")
    ends = dict(rss_end)
    for n, (pid, rss) in enumerate(rss_start):
        role = "qihu serve (parent)" if n == 0 else "web process"
        end = ends.get(pid, float("nan"))
        print(f"  {role} {pid}: RSS after warm-up {rss:.1f} MB, at end {end:.1f} MB ({end - rss:+.1f} MB)")
    print(f"  this process (the {args.clients} clients): RSS {rss_mb():.1f} MB")
    print(f"http complete per s: {rate:.1f}; p99 ms: {percentile(ms, 99):.1f}")


if __name__ == "__main__":
    main()
