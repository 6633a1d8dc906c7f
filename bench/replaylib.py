"""What appeal_bench, replay_bench and http_bench share: a PostgreSQL schema of their own (made,
then dropped at the end), an engine composed as production composes it (handlers discovered,
the appeal domain installed), the resident memory of a process, and the milliseconds table.

Percentiles and the PostgreSQL address come from benchlib (QIHU_BENCH_PG_URL overrides it).
"""
import os
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path

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


def ms_row(label, seconds):
    """`label  n  p50  p95  p99  max` in ms of a list of seconds."""
    ms = [x * 1e3 for x in seconds]
    return (f"  {label:<34} {len(ms):6d} {statistics.median(ms):9.2f} {percentile(ms, 95):9.2f} "
            f"{percentile(ms, 99):9.2f} {max(ms):9.2f}")


def ms_header(column):
    return f"  {column:<34} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}"
