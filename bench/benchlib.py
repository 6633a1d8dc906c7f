"""What the large benchmarks share: percentiles, the timing table, and running one benchmark on
a SQLite file and on a PostgreSQL schema of its own (made and dropped unless kept)."""
import os
import statistics
import tempfile

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("QIHU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def print_times(label, title, column, times):
    """Print p50/p95/max per name of {name: [ms, ...]}; returns the worst p95."""
    print(f"[{label}] {title}:")
    print(f"  {column:<26} {'p50':>8} {'p95':>8} {'max':>8}")
    worst = 0.0
    for name, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        worst = max(worst, p95)
        print(f"  {name:<26} {p50:8.2f} {p95:8.2f} {max(values):8.2f}")
    print(f"[{label}] worst p95: {worst:.2f} ms", flush=True)
    return worst


def settle(engine):
    """After a bulk fill: what a database does on its own a little later (SQLite: fold the WAL
    back; PostgreSQL: autovacuum's statistics and visibility map), so timings see that state."""
    with engine.db.engine.connect() as conn:
        if engine.db.is_sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def add_database_args(ap):
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--sqlite-file", help="keep the SQLite database here and reuse it when filled")
    ap.add_argument("--keep-schema", help="PostgreSQL schema to keep and reuse (default: a fresh one, dropped)")


def on_databases(args, name, run):
    """{"sqlite": worst, "postgresql": worst} of run(label, url, reuse) on the databases asked for."""
    worst = {}
    if args.db in ("sqlite", "both"):
        tmp = None
        path = args.sqlite_file
        if not path:
            tmp = tempfile.TemporaryDirectory(prefix=f"qihu_{name}_")
            path = os.path.join(tmp.name, "bench.sqlite3")
        try:
            worst["sqlite"] = run("sqlite", f"sqlite:///{path}", bool(args.sqlite_file))
        finally:
            if tmp:
                tmp.cleanup()
    if args.db in ("postgresql", "both"):
        schema = args.keep_schema or f"qihu_{name}_{os.getpid()}"
        admin = create_engine(PG_URL)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        try:
            worst["postgresql"] = run("postgresql", f"{PG_URL}{sep}options=-csearch_path%3D{schema}",
                                      bool(args.keep_schema))
        finally:
            if not args.keep_schema:
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return worst
