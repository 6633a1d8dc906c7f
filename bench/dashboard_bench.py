"""Dashboard speed at scale: the 晾晒 figures (appeals/figures.py) over 1,100,000 appeals.

Fills a SQLite file and a schema of the PostgreSQL at QIHU_BENCH_PG_URL (default: the test
database of this machine) with 1,000,000 closed and 100,000 open appeal_fact rows spread over
6 regions, 10 mechanisms, 60 departments (10 per region) and 24 months, and the figure_month
counters they add up to (summed with Figures.contribution, the rule the engine maintains them
by). Facts are written with the driver's bulk path (COPY on PostgreSQL, executemany on SQLite);
the ledger's `stages` column is left empty (no query below reads it). Filling is not timed.
Then, through a real Engine on that database, it times the dashboard's queries as a region's
leader, an administrator and a department see them, interleaved, N runs each, and prints p50/p95
per query and database. The last line is `dashboard p95 ms: X`, the worst p95 on PostgreSQL
(goal: X <= 200); the SQLite figures are printed above it.

江苏 scale (--scale S, PostgreSQL only): instead of its own fill, the bench fills (or reuses) the
shared scale schema of bench/benchlib.py — S million appeals (instances, appeal_fact,
appeal_ticket) with 5 task rows each, over the same 6 regions, 10 mechanisms, 60 departments
and 24 months, written with COPY, not timed; figure_month is derived from appeal_fact with
Figures.recount — and times the same queries there. --scale means the same in the three
benches: millions of appeals (it used to be a fraction of this bench's own 1.1M; --scale 0.01
is now 10,000 appeals of the shared fill). With several scales it prints each query's p95 at
each and whether the curve is flat; last line `dashboard p95 ms: 1m X; 10m Y; flat: yes|no;
goal <= 50 at 10m: met|missed`.

Run:   .venv/bin/python bench/dashboard_bench.py                  (both databases, ~6 minutes)
       .venv/bin/python bench/dashboard_bench.py --db sqlite --sqlite-file /tmp/dash.sqlite3
           (keeps the file and reuses it on the next run: only the timing is repeated)
       --keep-schema NAME does the same for PostgreSQL; --reps N sets the runs per query (default 25).
       .venv/bin/python bench/dashboard_bench.py --scale 1,10 --keep-schema qihu_scale
           (the 江苏-scale run on the schemas qihu_scale_1m and qihu_scale_10m, filled once and
           shared with bench/inbox_bench.py and bench/search_bench.py)
"""
import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qihu import appeals  # noqa: E402
from qihu.engine import Engine  # noqa: E402
from qihu.appeals.scope import DashboardScope  # noqa: E402
from qihu.engine.clock import ManualClock  # noqa: E402
from qihu.engine.config import Settings  # noqa: E402
from qihu.appeals.figures import CLOSED_RANK, COLOURS, NO_COLOUR, COUNTERS, Figures, month_of  # noqa: E402
from qihu.appeals.models import AppealFact, FigureMonth  # noqa: E402
from benchlib import add_database_args, add_scale_args, on_databases, on_scales, print_times, settle  # noqa: E402

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
CLOSED, OPEN = 1_000_000, 100_000
REGIONS = ["湖州市", "杭州市钱塘区", "温州市鹿城区", "台州市路桥区", "舟山市定海区", "徐州市"]
MECHANISMS = [(f"mech_{i}", f"机制{i}", REGIONS[i % len(REGIONS)]) for i in range(10)]
DEPARTMENTS = {r: [(f"dept_{j}_{k}", f"{r}第{k}部门") for k in range(10)] for j, r in enumerate(REGIONS)}
MONTHS = 24
FIRST = datetime(2024, 12, 1, tzinfo=timezone.utc)
COLOUR_WEIGHTS = [("red", 5), ("orange", 10), ("yellow", 20), ("green", 55), (None, 10)]
CHUNK = 50_000
COLUMNS = [c.name for c in AppealFact.__table__.columns]

LEADER = DashboardScope(REGIONS[0], None)
ADMIN = DashboardScope(None, None)
DEPARTMENT = DashboardScope(REGIONS[0], frozenset({DEPARTMENTS[REGIONS[0]][3][0]}))
MONTH = "2026-10"
YEAR_AGO = "2025-11"


def facts(rnd):
    """The appeal_fact rows, as dicts, in chunks."""
    span = (NOW - FIRST).total_seconds()
    colours = [c for c, w in COLOUR_WEIGHTS for _ in range(w)]
    chunk = []
    for n in range(CLOSED + OPEN):
        is_open = n >= CLOSED
        key, mname, region = rnd.choice(MECHANISMS)
        dept, dname = rnd.choice(DEPARTMENTS[region])
        if is_open:    # open appeals are mostly recent
            started = NOW - timedelta(seconds=rnd.expovariate(1 / (45 * 86400)) % span)
        else:
            started = FIRST + timedelta(seconds=rnd.uniform(0, span - 20 * 86400))
        deadline = started + timedelta(days=rnd.choice([5, 7, 10, 15, 30]))
        sign_due = started + timedelta(days=1)
        signed = started + timedelta(hours=rnd.uniform(1, 40))
        row = {"instance_id": f"{n:08d}-0000-4000-8000-000000000000", "definition_key": key,
               "mechanism_name": mname, "region": region, "department": dept, "department_name": dname,
               "business_key": f"B-{n}", "title": f"企业诉求 {n}", "company": f"企业{n % 5000}",
               "started_at": started, "month": month_of(started), "deadline": deadline,
               "sign_due_at": sign_due, "signed_at": signed, "signed_on_time": signed <= sign_due,
               "returns": 1 if rnd.random() < 0.06 else 0, "stages": None, "updated_at": NOW}
        if is_open:
            colour = rnd.choice(colours)
            row.update(status="running", closed_at=None, close_month=None, outcome=None, solved_late=False,
                       rating=None, satisfied=None, colour=colour,
                       colour_rank=COLOURS.index(colour) if colour else NO_COLOUR, open_task="部门办理",
                       workdays=None)
        else:
            closed = started + timedelta(days=rnd.uniform(0.5, 25))
            solved = rnd.random() < 0.93
            rating = rnd.choice("5554443321") if rnd.random() < 0.8 else None
            row.update(status="completed", closed_at=closed, close_month=month_of(closed),
                       outcome="solved" if solved else "unsolved", solved_late=solved and closed > deadline,
                       rating=rating, satisfied=None if rating is None else rating in "543", colour=None,
                       colour_rank=CLOSED_RANK, open_task=None,
                       workdays=round((closed - started).total_seconds() / 86400 * 5 / 7, 4))
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _naive(v):
    return v.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(v, datetime) else v


def fill(engine):
    """Write the facts and their monthly counters; returns seconds taken."""
    t0 = time.perf_counter()
    rnd = random.Random(20261125)
    summary = {}
    names = {}
    done = 0
    with engine.db.engine.begin() as conn:
        raw = conn.connection.driver_connection
        for rows in facts(rnd):
            for r in rows:
                key, c = Figures.contribution(r)
                d = summary.setdefault(key, dict.fromkeys(COUNTERS, 0))
                for k, v in c.items():
                    d[k] += v
                names[key] = (r["mechanism_name"], r["department_name"])
            tuples = [tuple(_naive(r[c]) for c in COLUMNS) for r in rows]
            if engine.db.is_sqlite:
                tuples = [tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in t)
                          for t in tuples]
                raw.executemany(f"INSERT INTO appeal_fact ({', '.join(COLUMNS)}) VALUES "
                                f"({', '.join('?' for _ in COLUMNS)})", tuples)
            else:
                with raw.cursor() as cur:
                    with cur.copy(f"COPY appeal_fact ({', '.join(COLUMNS)}) FROM STDIN") as cp:
                        for t in tuples:
                            cp.write_row(t)
            done += len(rows)
            if done % 200_000 == 0:
                print(f"  … {done:,} appeals ({time.perf_counter() - t0:.0f} s)", flush=True)
        conn.execute(insert(FigureMonth.__table__), [
            {"month": k[0], "region": k[1], "definition_key": k[2], "department": k[3],
             "mechanism_name": names[k][0], "department_name": names[k][1], **d} for k, d in summary.items()])
    if engine.db.is_sqlite:
        with engine.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")      # the planner's statistics, as after a while in production
    settle(engine)
    return time.perf_counter() - t0


def filled(engine):
    with engine.db.read() as s:
        return s.scalar(select(func.count()).select_from(AppealFact)) >= CLOSED + OPEN


def queries(f):
    """(name, call) of what the dashboard page and its exports ask."""
    return [
        ("monthly by dept, leader", lambda: f.monthly(LEADER, MONTH, MONTH, by=("department",))),
        ("monthly by dept, admin", lambda: f.monthly(ADMIN, MONTH, MONTH, by=("department",))),
        ("monthly by dept, dept", lambda: f.monthly(DEPARTMENT, MONTH, MONTH, by=("department",))),
        ("ranking, leader", lambda: f.ranking(LEADER, MONTH)),
        ("ranking, admin region", lambda: f.ranking(ADMIN, MONTH, region=REGIONS[2])),
        ("trend 12 months, leader", lambda: f.monthly(LEADER, YEAR_AGO, MONTH, by=("month",))),
        ("trend 12 m x mech, admin", lambda: f.monthly(ADMIN, YEAR_AGO, MONTH, by=("month", "mechanism"))),
        ("colour counts, leader", lambda: f.colour_counts(LEADER)),
        ("colour counts, admin", lambda: f.colour_counts(ADMIN)),
        ("colour counts, dept", lambda: f.colour_counts(DEPARTMENT)),
        ("open items, leader", lambda: f.open_items(LEADER, limit=50)),
        ("open items red, admin", lambda: f.open_items(ADMIN, colour="red", limit=50)),
        ("open items, dept", lambda: f.open_items(DEPARTMENT, limit=50)),
        ("months, leader", lambda: f.months(LEADER)),
        ("options, leader", lambda: f.options(LEADER)),
        ("options, admin", lambda: f.options(ADMIN)),
    ]


def time_queries(engine, reps):
    qs = queries(appeals.of(engine).figures)
    for _, call in qs:      # warm the caches
        call()
    times = {name: [] for name, _ in qs}
    for _ in range(reps):
        for name, call in qs:
            t0 = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - t0) * 1000)
    return times


def run(label, url, reps, reuse):
    engine = Engine(settings=Settings(database_url=url), clock=ManualClock(NOW))
    appeals.install(engine)
    try:
        if reuse and filled(engine):
            print(f"[{label}] reusing the filled database")
        else:
            print(f"[{label}] filling: {CLOSED:,} closed + {OPEN:,} open appeals, {len(REGIONS)} regions, "
                  f"{len(MECHANISMS)} mechanisms, {sum(map(len, DEPARTMENTS.values()))} departments, "
                  f"{MONTHS} months …", flush=True)
            print(f"[{label}] filled in {fill(engine):.0f} s")
        f = appeals.of(engine).figures
        t0 = time.perf_counter()
        stored, recount = f.stored(), f.recount()
        same = stored.keys() == recount.keys() and all(
            abs(stored[k][c] - recount[k][c]) < 1e-6 * max(1.0, abs(recount[k][c])) for k in stored for c in COUNTERS)
        print(f"[{label}] figure_month ({len(stored):,} rows) equals the recount from appeal_fact: {same} "
              f"({time.perf_counter() - t0:.1f} s)")
        if not same:
            raise SystemExit(f"[{label}] figure_month differs from the recount")
        rank = f.ranking(LEADER, MONTH)
        print(f"[{label}] {MONTH} in {REGIONS[0]}: {sum(r['accepted'] for r in rank):,} accepted, best "
              f"{rank[0]['department_name']} 办结率 {rank[0]['closed_rate']:.3f}; open {f.colour_counts(ADMIN)}")
        times = time_queries(engine, reps)
    finally:
        engine.close()
    return print_times(label, f"per call, ms ({reps} calls each)", "query", times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_database_args(ap)
    ap.add_argument("--reps", type=int, default=25, help="runs per query (at least 20 for a p95)")
    add_scale_args(ap)
    ap.add_argument("--goal", type=float, default=50.0, help="p95 goal in ms at the largest --scale")
    args = ap.parse_args()
    if args.scale:
        print(on_scales(args, "dashboard_bench", lambda engine: time_queries(engine, args.reps)))
        return
    worst = on_databases(args, "dashboard_bench", lambda label, url, reuse: run(label, url, args.reps, reuse))
    if "sqlite" in worst:
        print(f"sqlite worst p95 ms: {worst['sqlite']:.2f}")
    print(f"dashboard p95 ms: {worst.get('postgresql', max(worst.values())):.2f}")


if __name__ == "__main__":
    main()
