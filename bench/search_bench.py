"""The clerk's search (appeals/search.py, /search) at 江苏 scale, on PostgreSQL.

Fills (or reuses) the shared scale schema of bench/benchlib.py — S million appeals, each an
instance, an appeal_fact and an appeal_ticket row, with 5 task rows and their task_candidate
rows, written with COPY and not timed — then, through a real Engine on it, times search() as
the people who use it search: an administrator, a staff member of three department groups (who
sees the appeals their groups take part in) and a region leader (湖州市's dashboard group, who
reads the whole region), by company name, 统一社会信用代码, phone, 受理编号 (whole and its
start), the enterprise's text, and with the inbox's filters; interleaved, N runs each. The
values searched for are read from the filled rows (an appeal in the middle of the history).

With several scales (--scale 1,10) it prints each query's p95 at each scale and whether the
curve is flat (p95 at the largest scale at most 1.5 x the smallest's + 2 ms). The last line is
`search p95 ms: 1m X; 10m Y; flat: yes|no; goal <= 50 at 10m: met|missed`.

Run:   .venv/bin/python bench/search_bench.py --scale 0.01            (a quick try, ~1 minute)
       .venv/bin/python bench/search_bench.py --scale 1,10 --keep-schema qihu_scale
           (fills qihu_scale_1m and qihu_scale_10m once — the 10M fill takes about an hour on
           two cores — and keeps them; the inbox and dashboard benches reuse the same schemas)
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from qihu.appeals.search import search  # noqa: E402
from benchlib import PG_URL, SCALE_REGIONS, add_scale_args, on_scales  # noqa: E402

ADMIN, STAFF, LEADER = "scale_admin", "u0000", "scale_leader"


def queries(engine):
    """(name, user, keyword arguments) of the searches timed, with values read from the fill."""
    with engine.db.engine.connect() as c:
        n = c.exec_driver_sql("SELECT max(id) FROM appeal_ticket").scalar()
        company, code, phone, track = c.exec_driver_sql(
            "SELECT company, credit_code, contact_phone, tracking_no FROM appeal_ticket WHERE id = %s",
            (n // 2,)).one()
        key = c.exec_driver_sql("SELECT definition_key FROM instance WHERE region = %s LIMIT 1",
                                (SCALE_REGIONS[0],)).scalar()
    return [
        ("newest, admin", ADMIN, {}),
        ("company, admin", ADMIN, {"text": company}),
        ("credit code, admin", ADMIN, {"text": code}),
        ("phone, admin", ADMIN, {"text": phone}),
        ("tracking no, admin", ADMIN, {"text": track}),
        ("tracking no start, admin", ADMIN, {"text": track[:12]}),
        ("text 用地指标, admin", ADMIN, {"text": "用地指标"}),
        ("colour red, admin", ADMIN, {"colour": "red"}),
        ("newest, staff", STAFF, {}),
        ("company, staff", STAFF, {"text": company}),
        ("running, leader", LEADER, {"status": "running"}),
        ("mechanism, leader", LEADER, {"definition_key": key}),
    ]


def time_search(engine, reps):
    qs = queries(engine)
    for name, user, kw in qs:          # warm the caches; show what each finds
        r = search(engine, user, **kw)
        print(f"  {name:<26} total {r['total']:>9,}  first {r['items'][0]['business_key'] if r['items'] else '-'}",
              flush=True)
    times = {name: [] for name, _, _ in qs}
    for _ in range(reps):
        for name, user, kw in qs:
            t0 = time.perf_counter()
            search(engine, user, **kw)
            times[name].append((time.perf_counter() - t0) * 1000)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_scale_args(ap)
    ap.add_argument("--keep-schema", help="keep the filled schemas as NAME_1m, NAME_10m … and reuse them")
    ap.add_argument("--reps", type=int, default=21, help="runs per query (at least 20 for a p95)")
    ap.add_argument("--goal", type=float, default=50.0, help="p95 goal in ms at the largest scale")
    args = ap.parse_args()
    if not args.scale:
        ap.error("--scale is required (millions of appeals, e.g. --scale 1,10)")
    print(f"PostgreSQL: {PG_URL}")
    print(on_scales(args, "search_bench", lambda engine: time_search(engine, args.reps)))


if __name__ == "__main__":
    main()
