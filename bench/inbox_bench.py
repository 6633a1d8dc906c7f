"""Inbox speed at scale: engine.tasks.inbox() over 100,000 open and 1,000,000 completed tasks.

Fills a SQLite file and a schema of the PostgreSQL at QIHU_BENCH_PG_URL (default: the test
database of this machine) with 50 groups, 2,000 users, 300,000 instances and 1.1M task rows
plus their task_candidate rows, written with Core as the engine writes them (mixed SLA
colours, due dates, priorities, regions, claimed tasks, candidate users). Filling is not
timed. Then, through a real Engine on that database, it times inbox() — the page and its
colour counts — for users in 3 groups with several filter/sort combinations, interleaved,
and prints p50/p95 per combination and database. The last line is `inbox p95 ms: X`, the
worst p95 over both databases (goal: X <= 20).

江苏 scale (--scale S, PostgreSQL only): instead of its own fill, the bench fills (or reuses) the
shared scale schema of bench/benchlib.py — S million appeals with 5 task rows each (10: 10M
appeals, 50M task rows, with their task_candidate rows), written with COPY, not timed — and
times the same inbox calls there; open work stays at 100,000 tasks whatever S, since what grows
with the years is the closed history. With several scales it prints each combination's p95 at
each and whether the curve is flat; last line `inbox p95 ms: 1m X; 10m Y; flat: yes|no; goal
<= 50 at 10m: met|missed`.

Run:   .venv/bin/python bench/inbox_bench.py                 (both databases, ~10 minutes)
       .venv/bin/python bench/inbox_bench.py --db sqlite --sqlite-file /tmp/inbox.sqlite3
           (keeps the file and reuses it on the next run: only the timing is repeated)
       --keep-schema NAME does the same for PostgreSQL; --reps N sets the repetitions.
       .venv/bin/python bench/inbox_bench.py --scale 1,10 --keep-schema qihu_scale
           (the 江苏-scale run on the schemas qihu_scale_1m and qihu_scale_10m, filled once and
           shared with bench/dashboard_bench.py and bench/search_bench.py)
"""
import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qihu.engine import Engine  # noqa: E402
from qihu.engine.clock import ManualClock  # noqa: E402
from qihu.engine.config import Settings  # noqa: E402
from qihu.engine.storage.models import Definition, Instance, Membership, Task, TaskCandidate  # noqa: E402
from benchlib import add_database_args, add_scale_args, on_databases, on_scales, print_times, settle  # noqa: E402

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)     # Monday 09:00 in Beijing
OPEN, COMPLETED = 100_000, 1_000_000
RUNNING_INSTANCES = OPEN                                    # one open + 2 completed tasks each
DONE_PER_RUNNING = 2
DONE_PER_FINISHED = 4                                       # completed instances: 4 completed tasks
FINISHED_INSTANCES = (COMPLETED - RUNNING_INSTANCES * DONE_PER_RUNNING) // DONE_PER_FINISHED
GROUPS = [f"dept_{i:02d}" for i in range(50)]
USERS = [f"u{i:04d}" for i in range(2000)]
REGIONS = ["湖州市", "杭州市钱塘区", "温州市鹿城区", "台州市路桥区", "宁波市", "绍兴市", "嘉兴市",
           "金华市", "衢州市", "舟山市", "丽水市", None]
STEPS = [("Task_register", "受理登记"), ("Task_handle", "部门办理"), ("Task_supervise", "跟进督办落实情况"),
         ("Task_review", "复核办理结果"), ("Task_evaluate", "企业评价"), ("Task_board_handle", "一般问题板块办"),
         ("Task_collect", "汇总流转"), ("Task_verify", "核查落实情况")]
PRIORITIES = [10, 30, 50, 50, 50, 50, 70, 90]
BENCH_USERS = ["u0000", "u0001", "u0002"]                   # each in 3 groups (see memberships)
COMBOS = [("due, no filter", {}), ("colour=red", {"colour": "red"}), ("overdue", {"overdue": True}),
          ("priority=high", {"priority": "high"}), ("text 督办", {"text": "督办"}),
          ("region 湖州市", {"region": "湖州市"}), ("order=priority", {"order": "priority"}),
          ("page 3", {"offset": 40})]
CHUNK = 20_000


def groups_of(i):
    """Users 0-999 are in 3 groups, 1000-1499 in 2, the rest in 1."""
    gs = [i % 50]
    if i < 1500:
        gs.append((i * 7 + 3) % 50)
    if i < 1000:
        gs.append((i * 13 + 11) % 50)
    return list(dict.fromkeys(GROUPS[g] for g in gs))


def memberships():
    return [{"user": u, "group": g} for i, u in enumerate(USERS) for g in groups_of(i)]


def open_due(rnd):
    """(due_at, sla_colour) of an open task: 10% none, 15% overdue, the rest on their way."""
    r = rnd.random()
    if r < 0.10:
        return None, None
    if r < 0.25:
        return NOW - timedelta(hours=rnd.uniform(1, 480)), "red"
    if r < 0.35:
        return NOW + timedelta(hours=rnd.uniform(4, 48)), "orange"
    if r < 0.50:
        return NOW + timedelta(hours=rnd.uniform(24, 96)), "yellow"
    return NOW + timedelta(hours=rnd.uniform(72, 720)), "green"


class Filler:
    def __init__(self, conn, definitions, members, seed=20261102):
        self.conn, self.defs, self.members = conn, definitions, members
        self.rnd = random.Random(seed)
        self.tasks, self.cands, self.instances = [], [], []
        self.counts = {"instance": 0, "task": 0, "task_candidate": 0}

    def flush(self, force=False):
        if not force and len(self.cands) < CHUNK:
            return
        for table, rows, name in ((Instance.__table__, self.instances, "instance"),     # rows referred to first
                                  (Task.__table__, self.tasks, "task"),
                                  (TaskCandidate.__table__, self.cands, "task_candidate")):
            if rows:
                self.conn.execute(insert(table), rows)
                self.counts[name] += len(rows)
                rows.clear()

    def task(self, inst, status, created):
        rnd = self.rnd
        element, name = rnd.choice(STEPS)
        groups = [rnd.choice(GROUPS)]
        if rnd.random() < 0.10:
            groups.append(rnd.choice(GROUPS))
        groups = list(dict.fromkeys(groups))
        users = [rnd.choice(self.members[groups[0]])] if rnd.random() < 0.05 else []
        tid = str(uuid.uuid4())
        row = {"id": tid, "instance_id": inst["id"], "definition_key": inst["definition_key"], "element_id": element,
               "name": name, "lane": None, "region": inst["region"], "candidate_groups": ",".join(groups),
               "candidate_users": ",".join(users) or None, "assignee": None, "priority": rnd.choice(PRIORITIES),
               "status": status, "created_at": created, "completed_at": None, "completed_by": None, "version": 1}
        if status == "ready":
            row["due_at"], row["sla_colour"] = open_due(rnd)
            if rnd.random() < 0.15:
                row["assignee"] = rnd.choice(self.members[groups[0]])
        else:
            row["due_at"] = created + timedelta(days=rnd.randint(3, 10)) if rnd.random() < 0.9 else None
            row["sla_colour"] = rnd.choice(["green", "green", "yellow", "red"]) if row["due_at"] else None
            who = rnd.choice(self.members[groups[0]])
            row["assignee"] = row["completed_by"] = who
            row["completed_at"] = created + timedelta(hours=rnd.uniform(1, 200))
            if rnd.random() < 0.03:
                row["status"], row["completed_by"] = "cancelled", None
        self.tasks.append(row)
        self.cands += [{"task_id": tid, "kind": "group", "name": g} for g in groups]
        self.cands += [{"task_id": tid, "kind": "user", "name": u} for u in users]

    def instance(self, n, running):
        rnd = self.rnd
        d = rnd.choice(self.defs)
        region = rnd.choice(REGIONS)
        started = NOW - timedelta(days=rnd.uniform(1, 60) if running else rnd.uniform(60, 700))
        inst = {"id": str(uuid.uuid4()), "definition_id": d.id, "definition_key": d.key,
                "business_key": f"{'QH' if region is None else 'ZJ'}-{started.year}-{n:06d}", "region": region,
                "status": "running" if running else "completed", "version": 1, "state": "",
                "started_by": rnd.choice(USERS), "started_at": started, "updated_at": started,
                "ended_at": None if running else started + timedelta(days=rnd.uniform(3, 40))}
        self.instances.append(inst)
        done = DONE_PER_RUNNING if running else DONE_PER_FINISHED
        for k in range(done):
            self.task(inst, "completed", started + timedelta(days=k * 2, hours=rnd.uniform(0, 8)))
        if running:
            self.task(inst, "ready", started + timedelta(days=done * 2, hours=rnd.uniform(0, 8)))
        self.flush()


def fill(engine):
    """Deploy the bundled diagrams and write the rows; returns seconds taken."""
    t0 = time.perf_counter()
    engine.repository.deploy([ROOT / "bpmn"])
    with engine.db.read() as s:
        defs = list(s.scalars(select(Definition)))
        for d in defs:
            s.expunge(d)
    member_rows = memberships()
    members = {}
    for m in member_rows:
        members.setdefault(m["group"], []).append(m["user"])
    with engine.db.engine.begin() as conn:
        conn.execute(insert(Membership.__table__), member_rows)
        f = Filler(conn, defs, members)
        for n in range(RUNNING_INSTANCES + FINISHED_INSTANCES):
            f.instance(n, running=n < RUNNING_INSTANCES)
            if n and n % 50_000 == 0:
                print(f"  … {n} instances, {f.counts['task']} tasks ({time.perf_counter() - t0:.0f} s)", flush=True)
        f.flush(force=True)
    settle(engine)
    return time.perf_counter() - t0


def filled(engine):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(Task)) >= OPEN + COMPLETED


def time_inbox(engine, reps):
    """{combo: [ms, ...]}, combos and users interleaved so that noise hits all alike."""
    for user in BENCH_USERS:                       # warm the caches (pages, calendar, statements)
        for _, kw in COMBOS:
            engine.tasks.inbox(user, **kw)
    times = {name: [] for name, _ in COMBOS}
    for _ in range(reps):
        for name, kw in COMBOS:
            for user in BENCH_USERS:
                t0 = time.perf_counter()
                engine.tasks.inbox(user, **kw)
                times[name].append((time.perf_counter() - t0) * 1000)
    return times


def run(label, url, reps, reuse):
    engine = Engine(settings=Settings(database_url=url), clock=ManualClock(NOW))
    try:
        if reuse and filled(engine):
            print(f"[{label}] reusing the filled database")
        else:
            print(f"[{label}] filling: {OPEN:,} open + {COMPLETED:,} completed tasks, {len(GROUPS)} groups, "
                  f"{len(USERS):,} users …", flush=True)
            print(f"[{label}] filled in {fill(engine):.0f} s")
        for user in BENCH_USERS:
            r = engine.tasks.inbox(user)
            print(f"[{label}] {user}: groups {', '.join(r['groups'])}; {r['total']} open tasks visible; "
                  f"counts {dict(sorted(r['counts'].items()))}")
        times = time_inbox(engine, reps)
    finally:
        engine.close()
    return print_times(label, f"inbox() per call, ms ({reps * len(BENCH_USERS)} calls each)", "combination", times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_args(ap)
    ap.add_argument("--reps", type=int, default=40, help="repetitions per combination and user")
    add_scale_args(ap)
    ap.add_argument("--goal", type=float, default=50.0, help="p95 goal in ms at the largest --scale")
    args = ap.parse_args()
    if args.scale:
        print(on_scales(args, "inbox_bench", lambda engine: time_inbox(engine, args.reps)))
        return
    worst = on_databases(args, "inbox_bench", lambda label, url, reuse: run(label, url, args.reps, reuse))
    print(f"inbox p95 ms: {max(worst.values()):.2f}")


if __name__ == "__main__":
    main()
