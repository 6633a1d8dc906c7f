"""The clerk's search (appeals/search.py, /search) at 江苏 scale, on PostgreSQL.

Fills (or reuses) the shared scale schema of bench/benchlib.py — S million appeals, each an
instance, an appeal_fact and an appeal_ticket row, with 5 task rows and their task_candidate
rows, written with COPY and not timed — then, through a real Engine on it, times search() as
the people who use it search: an administrator, a staff member of three department groups (who
sees the appeals their groups take part in) and a region leader (湖州市's dashboard group, who
reads the whole region), by company name, 统一社会信用代码, phone, 受理编号 (whole and its
start, and a day's numbers a year back), the phone's last 4 digits, two characters (found and
not found), the enterprise's text, and with the inbox's filters; interleaved, N runs each. The
values searched for are read from the filled rows (an appeal in the middle of the history).

With several scales (--scale 1,10) it prints each query's p95 at each scale and whether the
curve is flat (p95 at the largest scale at most 1.5 x the smallest's + 2 ms). The last line is
`search p95 ms: 1m X; 10m Y; flat: yes|no; goal <= 50 at 10m: met|missed`.

Run:   .venv/bin/python bench/search_bench.py --scale 0.01            (a quick try, ~1 minute)
       .venv/bin/python bench/search_bench.py --scale 1 --keep-schema qihu_scale --buffers
           (also each search's shared buffers from EXPLAIN (ANALYZE, BUFFERS): its work, which the
           machine's load does not change, where the timings on a shared machine do)
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
        # a 受理编号 of a day about a year back: its day's numbers, not the appeals since
        old_day = c.exec_driver_sql("SELECT tracking_no FROM appeal_ticket WHERE id = %s", (n // 4,)).scalar()[:10]
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
        ("tracking no old day, admin", ADMIN, {"text": old_day}),
        ("phone last 4, admin", ADMIN, {"text": phone[-4:]}),
        ("2 chars, admin", ADMIN, {"text": company[2:4]}),
        ("2 chars none, admin", ADMIN, {"text": "德清"}),
        ("newest, staff", STAFF, {}),
        ("company, staff", STAFF, {"text": company}),
        ("有限公司, staff", STAFF, {"text": "有限公司"}),
        ("colour red, staff", STAFF, {"colour": "red"}),
        ("running, leader", LEADER, {"status": "running"}),
        ("mechanism, leader", LEADER, {"definition_key": key}),
    ]


def buffers(engine, qs):
    """Print each search's work as the database counts it, whatever the machine's load: the
    shared buffers (hit + read) and execution time of its statements, from EXPLAIN (ANALYZE,
    BUFFERS) of what search() sent (run again, with the same parameters)."""
    from sqlalchemy import event
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))
    event.listen(engine.db.engine, "before_cursor_execute", record)
    try:
        print("  query                       statements   buffers    db ms")
        for name, user, kw in qs:
            sent.clear()
            search(engine, user, **kw)
            statements = [(st, p) for st, p in sent if not st.startswith("SET")]
            pages = ms = 0.0
            with engine.db.engine.connect() as c, c.connection.driver_connection.cursor() as cur:
                cur.execute("SET jit = off")
                for st, p in statements:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + st, p)
                    plan = cur.fetchone()[0][0]
                    pages += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
                    ms += plan["Execution Time"]
                c.rollback()
            print(f"  {name:<28} {len(statements):>9} {int(pages):>9,} {ms:8.1f}", flush=True)
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", record)


def time_search(engine, reps, show_buffers=False):
    qs = queries(engine)
    if show_buffers:
        buffers(engine, qs)
    for name, user, kw in qs:          # warm the caches; show what each finds
        r = search(engine, user, **kw)
        total = f"{r['total']:,}" + ("+" if r.get("total_capped") else "")
        print(f"  {name:<26} total {total:>9}  first {r['items'][0]['business_key'] if r['items'] else '-'}",
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
    ap.add_argument("--buffers", action="store_true", help="also print each search's shared buffers and "
                    "database time from EXPLAIN (ANALYZE, BUFFERS): its work, whatever the load")
    args = ap.parse_args()
    if not args.scale:
        ap.error("--scale is required (millions of appeals, e.g. --scale 1,10)")
    print(f"PostgreSQL: {PG_URL}")
    print(on_scales(args, "search_bench", lambda engine: time_search(engine, args.reps, args.buffers)))


if __name__ == "__main__":
    main()
