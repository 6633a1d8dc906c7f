"""Timer sweep at scale: 100,000 instances waiting on timers, 100 of them due.

Fills the database by cloning one real waiting instance (its state, its job row) in
bulk, then times one worker sweep: the indexed claim of the due jobs, and separately
the firing of what it claimed. Run:
    .venv/bin/python bench/timer_bench.py              # SQLite file
    .venv/bin/python bench/timer_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""
import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qihu.engine import Engine, ManualClock  # noqa: E402
from qihu.engine.config import Settings  # noqa: E402
from qihu.engine.topics import HandlerRegistry  # noqa: E402
from qihu.engine.storage.models import Instance, Job  # noqa: E402
from qihu.engine.runtime.worker import Worker  # noqa: E402

DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="bench_timer" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>
"""


def fill(engine, clock, waiting, due):
    iid = engine.runtime.start("bench_timer")
    with engine.db.read() as s:
        inst = s.execute(select(Instance.__table__).where(Instance.id == iid)).mappings().one()
        job = s.execute(select(Job.__table__).where(Job.instance_id == iid)).mappings().one()
    base_due = job["due_at"]
    batch_i, batch_j = [], []
    for n in range(waiting - 1):
        new = str(uuid.uuid4())
        batch_i.append({**inst, "id": new})
        # the first `due` clones are due an hour before the sweep; the rest days later
        when = clock.now() - timedelta(hours=1) if n < due else base_due + timedelta(seconds=n)
        batch_j.append({k: v for k, v in job.items() if k != "id"} | {"instance_id": new, "due_at": when})
        if len(batch_i) == 5000 or n == waiting - 2:
            with engine.db.write() as s:
                s.execute(insert(Instance.__table__), batch_i)
                s.execute(insert(Job.__table__), batch_j)
            batch_i, batch_j = [], []
    with engine.db.write() as s:
        if not engine.db.is_sqlite:
            s.execute(text("ANALYZE job; ANALYZE instance"))
        else:
            s.execute(text("ANALYZE"))


def run(url, waiting, due):
    clock = ManualClock(datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc))
    engine = Engine(settings=Settings(database_url=url), handlers=HandlerRegistry(), clock=clock)
    engine.repository.deploy([("bench_timer.bpmn", DOC)])
    fill(engine, clock, waiting, due)
    w = Worker(engine, batch=due * 2)
    t0 = time.perf_counter()
    claimed = w.sweep()
    t1 = time.perf_counter()
    fired = sum(1 for j in claimed if engine.runtime.fire_job(j, worker=w.name))
    t2 = time.perf_counter()
    assert len(claimed) == due and fired == due, (len(claimed), fired)
    # an empty sweep over the same table: the cost of polling when nothing is due
    empties = []
    for _ in range(20):
        t = time.perf_counter()
        assert w.sweep() == []
        empties.append(time.perf_counter() - t)
    engine.close()
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, statistics.median(empties) * 1e3


def fresh_url(url, tag):
    if url:
        # a private schema per run, dropped afterwards
        from sqlalchemy import create_engine
        schema = f"qihu_bench_{tag}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(url)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}options=-csearch_path%3D{schema}", (admin, schema)
    return f"sqlite:///{tempfile.mkdtemp()}/timers.sqlite3", None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    ap.add_argument("--waiting", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=100)
    args = ap.parse_args()
    results = {}
    for waiting, due in [(args.waiting // 10, args.due), (args.waiting, args.due), (args.waiting, args.due * 10)]:
        url, cleanup = fresh_url(args.database_url, f"{waiting}_{due}")
        try:
            results[(waiting, due)] = run(url, waiting, due)
        finally:
            if cleanup:
                admin, schema = cleanup
                with admin.begin() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        claim, fire, empty = results[(waiting, due)]
        print(f"waiting {waiting:>7}, due {due:>5}: claim sweep {claim:7.2f} ms, firing {fire:8.1f} ms "
              f"({fire / due:.2f} ms per timer), empty sweep {empty:.2f} ms")
    claim, fire, empty = results[(args.waiting, args.due)]
    print(f"timer sweep ms: {claim:.2f} (waiting {args.waiting}, due {args.due})")


if __name__ == "__main__":
    main()
