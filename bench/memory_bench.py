"""Memory over a long replay (issue 17): does a web process and a worker hold steady while
appeals are walked over HTTP for --minutes (default 30)?

Set-up, on a PostgreSQL schema made for the run and dropped at its end (QIHU_BENCH_PG_URL,
default the test database of this machine), through the CLI as an operator would:
- `qihu db-upgrade`; `qihu deploy bpmn/appeal_basic.bpmn bench/diagrams/memory_timer.bpmn`;
  `qihu user add` for one acceptor (受理员), one person of each department group the
  appeal.route handler routes to (政策咨询, 要素保障, 审批服务, 综合) and an administrator;
- `qihu serve --processes 1 --threads 4 --no-worker` (gunicorn: its master and one web process)
  and, separately, `qihu worker --metrics-port M`, each in a process group of its own, on the
  first free ports of 5450-5469; both are ended when the bench ends, Ctrl-C and errors included.

The load, until the end:
- --clients threads (default 4) walk whole appeal_basic appeals as the people do, each its own
  sessions (signed in through /login as a person does, the CSRF token sent as X-CSRFToken):
  the acceptor registers a phone appeal (POST /api/instances: appeal_basic names acceptor among
  its camunda:candidateStarterGroups; the portal is for enterprises without an account), then
  each ready task is found in its person's inbox (GET /api/tasks?instance=…) and completed
  over REST by a user of its group: 受理登记 (acceptor; the category in turn, 10% urgent),
  部门办理 (the department person the category routes to; 已解决 or 已解释说明), 企业评价
  (the acceptor records the rating after a call back). The appeal must then be completed.
- the administrator starts --timer-batch instances of bench/diagrams/memory_timer.bpmn every
  --timer-every seconds (REST): each waits on a 2-second timer that `qihu worker` fires, then
  runs a script and the bundled ledger.record handler in the worker, and ends. So the worker
  fires timers and serves handlers the whole run, not only polls; the bench checks in the
  database that those instances complete (and that the worker's heartbeat counts its steps).

RSS (replaylib.rss_mb; and its anonymous part, what the process allocated as opposed to the
code and files paged in) of the gunicorn master, its web process and the `qihu worker` process is
sampled after a warm-up (--warmup minutes, default 1, not counted in --minutes), every
--sample-every minutes (default 5) and at the end. Printed: the table (with the appeals and
timer instances completed so far, the worker's heartbeat steps, and the calls' p50/p99 in
the interval before each sample, the warm-up's at the first), appeals completed,
timer instances started/completed, errors, open incidents; last line
`memory MB: web start X end Y; worker start A end B` (the gunicorn web process and the qihu
worker process, at the first and the last sample).

Fails loudly (exit 1, a message saying what, the process's log tail): the server, its web
process (gunicorn would replace a dead one: its RSS would start again) or the worker exits; a
client's calls fail 5 times in a row; timer instances stop completing; any call failed or any
incident was opened (reported after the last line).

--tracemalloc (to find out why memory grows, not for the figures: tracing slows the processes
and adds to their RSS): the server and the worker run with tracemalloc (bench/memtrace, a
sitecustomize on PYTHONPATH), each process dumps a snapshot at each sample, and the biggest
growths between the first and the last sample are printed per process.

    .venv/bin/python bench/memory_bench.py [--minutes 30] [--clients 4]
    .venv/bin/python bench/memory_bench.py --minutes 1       # a short try
"""
import argparse
import glob
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replaylib import (BPMN, HOST, PASSWORD, Client, Service, free_port, percentile,  # noqa: E402
                       pg_schema, qihu_run, rss_mb, rss_parts_mb)

BENCH = Path(__file__).resolve().parent
TIMER_BPMN = BENCH / "diagrams" / "memory_timer.bpmn"
MEMTRACE = BENCH / "memtrace"
PORTS = range(5450, 5470)
CATEGORIES = ["policy", "resource", "approval", "other"]
# the department group appeal.route gives each category (handlers/appeal.py), and its person
PEOPLE = {"acceptor": ("mb_shouli", "受理员"), "dept_policy": ("mb_zhengce", "政策咨询承办人"),
          "dept_resource": ("mb_yaosu", "要素保障承办人"), "dept_approval": ("mb_shenpi", "审批服务承办人"),
          "dept_general": ("mb_zonghe", "综合承办人")}
DEPARTMENT = {"policy": "dept_policy", "resource": "dept_resource", "approval": "dept_approval",
              "other": "dept_general"}
ADMIN = "mb_admin"
FAIL_IN_A_ROW = 5           # a client whose calls fail this many times in a row stops the bench
LATE_TIMERS = 50            # timer instances running a minute after their start: the worker is not keeping up


class Failure(Exception):
    """A call that did not answer as a person's client expects."""


class Run:
    """What the threads share: the stop flag, the first fatal reason, counters, call times."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.fatal = None
        self.appeals = 0
        self.timers_started = 0
        self.resignins = 0
        self.errors = []            # (who, what)
        self.times = []             # seconds of each call since the last sample

    def fail(self, reason):
        with self.lock:
            if self.fatal is None:
                self.fatal = reason
        self.stop.set()

    def error(self, who, what):
        with self.lock:
            self.errors.append((who, what))

    def took(self, seconds):
        with self.lock:
            self.times.append(seconds)

    def take_times(self):
        with self.lock:
            out, self.times = self.times, []
        return out


class Person(Client):
    """A signed-in person whose REST calls are timed, and who signs in again once if the
    session has ended (401)."""

    def __init__(self, port, name, run):
        super().__init__(port, name)
        self.run = run

    def call(self, method, path, payload=None, expect=200):
        for attempt in range(2):
            t0 = time.perf_counter()
            try:
                status, body = self.api(method, path, payload)
            except Exception as exc:
                raise Failure(f"{method} {path}: {type(exc).__name__}: {exc}") from None
            self.run.took(time.perf_counter() - t0)
            if status == 401 and not attempt:
                with self.run.lock:
                    self.run.resignins += 1
                self.sign_in()
                continue
            if status != expect:
                raise Failure(f"{method} {path} answered {status}: {str(body)[:300]}")
            return body

    def only_task(self, iid, element_id):
        """The one ready task of the instance in this person's inbox, which must be `element_id`."""
        tasks = self.call("GET", f"/api/tasks?instance={iid}")
        if [t["element_id"] for t in tasks] != [element_id]:
            raise Failure(f"{self.name}: instance {iid} expected {element_id} in the inbox, found "
                          f"{[t['element_id'] for t in tasks]}")
        return tasks[0]["id"]

    def complete(self, task_id, data):
        return self.call("POST", f"/api/tasks/{task_id}/complete", {"data": data})


def walk(people, client_no, n):
    """One appeal_basic appeal, start to end, as its people do."""
    category = CATEGORIES[n % len(CATEGORIES)]
    acceptor, department = people["acceptor"], people[DEPARTMENT[category]]
    iid = acceptor.call("POST", "/api/instances", {
        "key": "appeal_basic", "business_key": f"MB-{client_no}-{n}",
        "data": {"company": f"某制造企业{client_no}-{n}", "contact_phone": "13800000000"}}, expect=201)["id"]
    acceptor.complete(acceptor.only_task(iid, "Task_accept"),
                      {"category": category, "summary": f"厂房扩建审批进度咨询（第{n}件）", "urgent": n % 10 == 0})
    result = "explain" if n % 5 == 0 else "solved"
    department.complete(department.only_task(iid, "Task_handle"),
                        {"result": result, "reply": "已协调相关科室，按程序办理并电话告知企业"})
    out = acceptor.complete(acceptor.only_task(iid, "Task_rate"),
                            {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "回访记录"})
    if out["instance"]["status"] != "completed":
        raise Failure(f"instance {iid} is {out['instance']['status']} after 企业评价, expected completed")


def run_client(port, client_no, run):
    people = {}
    try:
        for group, (name, _) in PEOPLE.items():
            people[group] = Person(port, name, run)
            people[group].sign_in()
    except Exception as exc:
        run.fail(f"客户端 {client_no} 登录失败 (client {client_no} could not sign in): {exc}")
        return
    n, in_a_row = 0, 0
    while not run.stop.is_set():
        n += 1
        try:
            walk(people, client_no, n)
        except Exception as exc:            # Failure, or an answer of an unexpected shape
            run.error(f"client {client_no}", f"{type(exc).__name__}: {exc}")
            in_a_row += 1
            if in_a_row >= FAIL_IN_A_ROW:
                run.fail(f"客户端 {client_no} 连续 {in_a_row} 件失败 (client {client_no} failed {in_a_row} "
                         f"appeals in a row); last: {exc}")
            continue
        in_a_row = 0
        with run.lock:
            run.appeals += 1


def run_timers(port, run, every, batch):
    admin = Person(port, ADMIN, run)
    try:
        admin.sign_in()
    except Exception as exc:
        run.fail(f"管理员登录失败 (the administrator could not sign in): {exc}")
        return
    n, in_a_row = 0, 0
    while not run.stop.wait(every):
        for _ in range(batch):
            n += 1
            try:
                admin.call("POST", "/api/instances", {"key": "memory_timer", "business_key": f"MT-{n}",
                                                      "data": {"batch": n}}, expect=201)
            except Exception as exc:
                run.error("timers", f"{type(exc).__name__}: {exc}")
                in_a_row += 1
                if in_a_row >= FAIL_IN_A_ROW:
                    run.fail(f"定时流程连续 {in_a_row} 次启动失败 (timer starts failed {in_a_row} times in a row); "
                             f"last: {exc}")
                continue
            in_a_row = 0
            with run.lock:
                run.timers_started += 1


# -- reading the database and the worker ----------------------------------------------------------
def timer_counts(db):
    """{status: n} of the memory_timer instances, and how many run a minute after their start."""
    with db.connect() as c:
        by = dict(c.execute(text("SELECT status, count(*) FROM instance WHERE definition_key = 'memory_timer' "
                                 "GROUP BY status")).all())
        late = c.execute(text("SELECT count(*) FROM instance WHERE definition_key = 'memory_timer' "
                              "AND status = 'running' AND started_at < (now() AT TIME ZONE 'UTC') - interval '60 seconds'")).scalar()
    return by, late


def worker_beat(db, pid):
    """The worker's heartbeat steps (jobs fired, rows delivered), None without a row."""
    with db.connect() as c:
        return c.execute(text("SELECT steps FROM process_heartbeat WHERE kind = 'worker' AND pid = :pid"),
                         {"pid": pid}).scalar()


def open_incidents(db):
    with db.connect() as c:
        return c.execute(text("SELECT kind, element_id, message FROM incident WHERE status = 'open' "
                              "ORDER BY id LIMIT 5")).all(), \
            c.execute(text("SELECT count(*) FROM incident WHERE status = 'open'")).scalar()


def worker_metrics(port):
    """The worker's qihu_steps_total lines (from its --metrics-port)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as r:
            body = r.read().decode()
    except OSError as exc:
        return [f"(metrics unavailable: {exc})"]
    return [line for line in body.splitlines() if line.startswith("qihu_steps_total{")]


# -- tracemalloc in the served processes (--tracemalloc) -------------------------------------------
def request_snapshots(trace_dir, label, pids, timeout=120):
    """Ask each traced process for a snapshot (bench/memtrace/sitecustomize.py); wait for them."""
    Path(trace_dir, f"request-{label}").touch()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(os.path.exists(os.path.join(trace_dir, f"{pid}-{label}.snap")) for pid in pids):
            return
        time.sleep(0.5)
    print(f"  (tracemalloc: no snapshot {label} from some of {pids} within {timeout} s)")


def print_growth(trace_dir, pid, role, first, last, top=15):
    a, b = (os.path.join(trace_dir, f"{pid}-{x}.snap") for x in (first, last))
    if not (os.path.exists(a) and os.path.exists(b)):
        return
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    old = tracemalloc.Snapshot.load(a).filter_traces(skip)
    new = tracemalloc.Snapshot.load(b).filter_traces(skip)
    total = sum(s.size for s in new.statistics("filename")) - sum(s.size for s in old.statistics("filename"))
    print(f"\ntracemalloc {role} (pid {pid}), samples {first} → {last}: traced {total / 2**20:+.2f} MB; "
          f"biggest growths (by the allocating call's stack):")
    for stat in new.compare_to(old, "traceback")[:top]:
        if stat.size_diff <= 0:
            break
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
        frames = list(stat.traceback)               # oldest call first
        # the project's own calls (where the allocation comes from), then the innermost two
        shown = [f for f in frames[:-2] if "site-packages" not in f.filename][-6:] + frames[-2:]
        for frame in shown:
            print(f"      {frame.filename}:{frame.lineno}")


# -- the run --------------------------------------------------------------------------------------
def fmt(x):
    return f"{x:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30, help="measured minutes after the warm-up (default 30)")
    ap.add_argument("--warmup", type=float, default=1, help="warm-up minutes before the first sample (default 1)")
    ap.add_argument("--sample-every", type=float, default=5, help="minutes between samples (default 5)")
    ap.add_argument("--clients", type=int, default=4, help="client threads walking appeals (default 4)")
    ap.add_argument("--threads", type=int, default=4, help="threads of the web process (default 4)")
    ap.add_argument("--timer-every", type=float, default=2, help="seconds between timer starts (default 2)")
    ap.add_argument("--timer-batch", type=int, default=2, help="timer instances started each time (default 2)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="trace the server's and the worker's allocations and print what grew (slow)")
    args = ap.parse_args()
    # SIGTERM ends the bench as Ctrl-C does: through the finally blocks that stop the server and
    # the worker and drop the schema (the default action would skip them)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    web_port = free_port(PORTS)
    metrics_port = free_port(PORTS, taken={web_port})

    tmp = tempfile.mkdtemp(prefix="qihu_memory_bench_")
    trace_dir = os.path.join(tmp, "trace") if args.tracemalloc else None
    run, samples, services = Run(), [], []
    server = worker = db = None
    try:
        with pg_schema("memory_bench") as (schema, url):
            try:                # the processes end before their schema is dropped, whatever happens
                env = dict(os.environ, QIHU_DATABASE_URL=url, QIHU_SECRET_KEY=secrets.token_hex(32),
                           QIHU_SECURE_COOKIES="0", QIHU_DATA_DIR=tmp)
                served_env = dict(env)          # only the server and the worker are traced, not the set-up
                if trace_dir:
                    os.makedirs(trace_dir)
                    served_env.update(QIHU_BENCH_TRACE_DIR=trace_dir, PYTHONPATH=os.pathsep.join(
                        filter(None, [str(MEMTRACE), env.get("PYTHONPATH")])))
                print(f"memory_bench: set-up on PostgreSQL schema {schema}", flush=True)
                qihu_run(env, "db-upgrade")
                print("  " + qihu_run(env, "deploy", str(BPMN / "appeal_basic.bpmn"), str(TIMER_BPMN),
                                      "--name", "memory bench").strip().splitlines()[-1])
                for group, (name, display) in PEOPLE.items():
                    qihu_run(env, "user", "add", name, group, "--password", PASSWORD, "--display-name", display)
                qihu_run(env, "user", "add", ADMIN, "--admin", "--password", PASSWORD, "--display-name", "压测管理员")
                print(f"  {len(PEOPLE) + 1} accounts (qihu user add)", flush=True)

                server = Service(["serve", "--host", HOST, "--port", str(web_port), "--processes", "1",
                                  "--threads", str(args.threads), "--no-worker"], served_env,
                                 os.path.join(tmp, "serve.log"), "qihu serve")
                services.append(server)
                worker = Service(["worker", "--metrics-port", str(metrics_port)], served_env,
                                 os.path.join(tmp, "worker.log"), "qihu worker")
                services.append(worker)
                ready = 600 if trace_dir else 120         # tracing slows start-up (every import) a lot
                server.wait_http(web_port, "/login", ready)
                worker.wait_http(metrics_port, "/metrics", ready)
                web_pids = [pid for pid, _ in server.tree()[1:]]
                if len(web_pids) != 1:
                    raise SystemExit(f"qihu serve --processes 1 has {len(web_pids)} child processes: {web_pids}")
                db = create_engine(url, pool_size=1)
                print(f"qihu serve --processes 1 --threads {args.threads} --no-worker on http://{HOST}:{web_port}/ "
                      f"(master {server.pid}, web process {web_pids[0]}); qihu worker {worker.pid} "
                      f"(metrics :{metrics_port}); {args.clients} clients; {args.timer_batch} timer instances "
                      f"every {args.timer_every:g} s; warm-up {args.warmup:g} min, then {args.minutes:g} min",
                      flush=True)

                threads = [threading.Thread(target=run_client, args=(web_port, k + 1, run), daemon=True,
                                            name=f"client{k + 1}") for k in range(args.clients)]
                threads.append(threading.Thread(target=run_timers, daemon=True, name="timers",
                                                args=(web_port, run, args.timer_every, args.timer_batch)))
                for t in threads:
                    t.start()

                def sample(label, minute):
                    tree = dict(server.tree())
                    by, late = timer_counts(db)
                    with run.lock:
                        appeals, errors = run.appeals, len(run.errors)
                    ms = [t * 1e3 for t in run.take_times()]
                    row = {"label": label, "minute": minute, "master": tree.get(server.pid, float("nan")),
                           "web": tree.get(web_pids[0], float("nan")), "worker": rss_mb(worker.pid),
                           "web_anon": rss_parts_mb(web_pids[0])[0], "worker_anon": rss_parts_mb(worker.pid)[0],
                           "appeals": appeals, "timers": by.get("completed", 0), "late": late,
                           "steps": worker_beat(db, worker.pid), "errors": errors,
                           "p50": percentile(ms, 50) if ms else float("nan"),
                           "p99": percentile(ms, 99) if ms else float("nan"), "calls": len(ms)}
                    samples.append(row)
                    if trace_dir:
                        request_snapshots(trace_dir, label, [web_pids[0], worker.pid])
                    print(f"  [{label}] minute {minute:5.1f}: web {fmt(row['web'])} MB, worker {fmt(row['worker'])} MB, "
                          f"master {fmt(row['master'])} MB; appeals {appeals}, timer instances done "
                          f"{row['timers']}, worker steps {row['steps']}, errors {errors}", flush=True)
                    if late > LATE_TIMERS:
                        run.fail(f"{late} 个定时流程启动一分钟后仍未完成 ({late} timer instances still running a "
                                 "minute after their start): the worker is not firing them")

                def watch(until):
                    """Check the processes every second until `until` (monotonic) or a failure."""
                    while time.monotonic() < until and not run.stop.is_set():
                        for s in (server, worker):
                            if not s.alive():
                                run.fail(f"{s.title} 已退出 (exited {s.proc.returncode})")
                        now_web = [pid for pid, _ in server.tree()[1:]]
                        if server.alive() and now_web != web_pids:
                            run.fail(f"web 进程已被替换 (gunicorn replaced the web process {web_pids} → {now_web}: "
                                     "it died or timed out)")
                        run.stop.wait(1)

                t0 = time.monotonic()
                watch(t0 + args.warmup * 60)
                if not run.stop.is_set():
                    start = time.monotonic()
                    sample("start", 0.0)
                    k, end = 1, start + args.minutes * 60
                    while not run.stop.is_set():
                        at = min(start + k * args.sample_every * 60, end)
                        watch(at)
                        if run.stop.is_set():
                            break
                        minute = (time.monotonic() - start) / 60
                        if at >= end:
                            sample("end", minute)
                            break
                        sample(f"{round(minute, 1):g}min", minute)
                        k += 1
                run.stop.set()
                for t in threads:
                    t.join(timeout=90)
                # the timer instances started last need their two seconds and a sweep
                deadline = time.monotonic() + 30
                while timer_counts(db)[0].get("running", 0) and time.monotonic() < deadline and worker.alive():
                    time.sleep(1)
                by, _ = timer_counts(db)
                incidents, n_incidents = open_incidents(db)
                metrics = worker_metrics(metrics_port)
                tails = {s.title: s.tail(20) for s in services}
            finally:
                for s in services:
                    s.stop()
                if db is not None:
                    db.dispose()
        if trace_dir and len(samples) >= 2:
            print_growth(trace_dir, web_pids[0], "web process", samples[0]["label"], samples[-1]["label"])
            print_growth(trace_dir, worker.pid, "qihu worker", samples[0]["label"], samples[-1]["label"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if run.fatal:
        print(f"\n失败 (FAILED): {run.fatal}")
        for title, tail in tails.items():
            print(f"--- {title} log (last lines):\n{tail}")
        for who, what in run.errors[:5]:
            print(f"  error ({who}): {what}")
        sys.exit(1)

    print(f"\n{'sample':>8} {'minute':>6} {'web MB':>8} {'(anon)':>7} {'worker MB':>9} {'(anon)':>7} {'master MB':>9} "
          f"{'appeals':>8} "
          f"{'timers':>7} {'w.steps':>8} {'calls':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for r in samples:
        print(f"{r['label']:>8} {r['minute']:6.1f} {r['web']:8.1f} {r['web_anon']:7.1f} {r['worker']:9.1f} "
              f"{r['worker_anon']:7.1f} {r['master']:9.1f} "
              f"{r['appeals']:8d} {r['timers']:7d} {str(r['steps']):>8} {r['calls']:7d} {r['p50']:7.1f} "
              f"{r['p99']:7.1f}")
    first, last = samples[0], samples[-1]
    span = max(last["minute"] - first["minute"], 1e-9)
    print(f"appeals completed: {run.appeals} ({(last['appeals'] - first['appeals']) / span:.1f}/min measured); "
          f"timer instances started {run.timers_started}, completed {by.get('completed', 0)}, "
          f"still running {by.get('running', 0)}; errors {len(run.errors)}; sessions renewed {run.resignins}; "
          f"open incidents {n_incidents}")
    for line in metrics:
        print(f"  worker {line}")
    for who, what in run.errors[:5]:
        print(f"  error ({who}): {what}")
    for inc in incidents:
        print(f"  incident: {tuple(inc)}")
    print(f"growth per 10 min, start → end: web {(last['web'] - first['web']) / span * 10:+.1f} MB, "
          f"worker {(last['worker'] - first['worker']) / span * 10:+.1f} MB")
    print(f"memory MB: web start {first['web']:.1f} end {last['web']:.1f}; "
          f"worker start {first['worker']:.1f} end {last['worker']:.1f}")
    if run.errors or n_incidents or by.get("running", 0) or not by.get("completed"):
        sys.exit(1)


if __name__ == "__main__":
    main()
