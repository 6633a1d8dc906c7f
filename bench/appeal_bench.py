"""One real appeal, three ways: plain SpiffWorkflow in memory vs. qihu on SQLite and on PostgreSQL.

An appeal is bpmn/appeal_basic.bpmn from start to end as a phone appeal goes (the walk of
tests/mechanisms/test_mech_appeal_basic.py): start (company), 受理登记 by an acceptor (category
政策咨询, summary, not urgent), 分派承办部门 (appeal.route), 部门办理 by the policy department
(已解决, reply), 答复企业 (appeal.notify), 确定评价人 (the diagram's script), 企业评价 by the
acceptor after a call back (5/4/3), 登记好差评 (ledger.record), 办结归档.

- memory: plain SpiffWorkflow 3 (CamundaParser, its default Python script engine); the
  service tasks are served by hand with what qihu's handlers give (qihu.handlers.appeal.route and
  .notify are called as plain functions; ledger.record's result is the id of the line it would
  write). One change to the diagram for this side only: SpiffWorkflow reads a timer's duration
  as a Python expression, so the 部门办理 boundary timer's Camunda literal P5D is quoted ("P5D").
- sqlite / postgresql: qihu as production composes it (handlers discovered, the appeal domain
  installed by qihu.appeals.install), each on a database of its own: a SQLite file in a temporary
  folder, a PostgreSQL schema made for the run and dropped at its end (QIHU_BENCH_PG_URL, default
  the test database of this machine). Each step goes through engine.runtime.start and
  engine.tasks.complete with the user checked and the form validated, as a request would.

Timed per appeal: the start and the three completions (each running until the instance waits
again: service tasks, script, gateways, notices, figures). Finding the ready task's id is an
inbox query, not a step, and is not timed (engine_bench does the same), but its cost is printed.
The three sides run interleaved appeal by appeal in one process (the order rotates), so machine
noise hits them alike; the first --warmup appeals of each side are not counted.

    .venv/bin/python bench/appeal_bench.py [--appeals 300] [--warmup 20]

Prints p50/p95 per appeal per side, the ratios of the medians, SQL statements per appeal on
each database (SQLAlchemy's before_cursor_execute, one appeal after the timed ones), and last
`appeal ratio sqlite: X.XX; appeal ratio postgresql: Y.YY` (qihu's median over plain
SpiffWorkflow's). Goal (issue 17): X <= 3.
"""
import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replaylib import BPMN, make_engine, ms_header, ms_row, pg_schema  # noqa: E402

DIAGRAM = BPMN / "appeal_basic.bpmn"
PROCESS = "appeal_basic"
START = {"company": "某科技公司"}                       # a phone appeal: rated by the acceptor
ACCEPT = {"category": "policy", "summary": "厂房用地审批慢", "urgent": False}
HANDLE = {"result": "solved", "reply": "已协调办结"}
RATE = {"rate_plan": "5", "rate_process": "4", "rate_result": "3"}
STEPS = [("Task_accept", "li", ACCEPT), ("Task_handle", "zheng", HANDLE), ("Task_rate", "li", RATE)]
MEMBERS = {"li": ["acceptor"], "zheng": ["dept_policy"]}


# -- plain SpiffWorkflow ----------------------------------------------------------------------
def spiff_spec():
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    xml = DIAGRAM.read_text(encoding="utf-8").replace(">P5D</bpmn:timeDuration>", '>"P5D"</bpmn:timeDuration>')
    with tempfile.NamedTemporaryFile("w", suffix=".bpmn", encoding="utf-8", delete=False) as f:
        f.write(xml)
    parser = CamundaParser()
    parser.add_bpmn_file(f.name)
    Path(f.name).unlink()
    return parser.get_spec(PROCESS)


def spiff_handlers():
    """What each service task's handler gives, keyed by element id (served by hand)."""
    from qihu.handlers import appeal
    lines = iter(range(1, 10 ** 9))
    return {
        "Task_route": lambda d: appeal.route(category=d["category"]),
        "Task_notify": lambda d: appeal.notify(summary=d["summary"], reply=d["reply"]),
        "Task_record_rating": lambda d: {"ledger_entry": next(lines)},
    }


def spiff_appeal(spec, served):
    from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    def run_on(wf):
        wf.do_engine_steps()
        while True:
            started = [t for t in wf.get_tasks(state=TaskState.STARTED) if isinstance(t.task_spec, ServiceTask)]
            if not started:
                return
            for t in started:
                t.data.update(served[t.task_spec.bpmn_id](t.data))
                t.complete()
            wf.do_engine_steps()

    wf = BpmnWorkflow(spec)
    wf.get_tasks(state=TaskState.READY)[0].data.update(START)
    run_on(wf)
    for element, _user, data in STEPS:
        task = wf.get_next_task(state=TaskState.READY, manual=True)
        assert task.task_spec.bpmn_id == element, (task.task_spec.bpmn_id, element)
        task.data.update(data)
        task.run()
        run_on(wf)
    assert wf.completed, "plain SpiffWorkflow: the appeal did not end"


# -- qihu ---------------------------------------------------------------------------------------
def qihu_side(url):
    e = make_engine(url, migrate=True)
    e.repository.deploy([DIAGRAM])
    for user, groups in MEMBERS.items():
        e.tasks.add_member(user, *groups)
    statements = [0]

    @event.listens_for(e.db.engine, "before_cursor_execute")
    def count(*_):
        statements[0] += 1
    return e, statements


def qihu_appeal(e, n, lookups):
    """Start and walk one appeal; returns seconds spent in the steps (lookups go to `lookups`)."""
    t0 = time.perf_counter()
    iid = e.runtime.start(PROCESS, dict(START), business_key=f"BENCH-{n}")
    spent = time.perf_counter() - t0
    for element, user, data in STEPS:
        t0 = time.perf_counter()
        [task] = e.tasks.list(instance_id=iid)
        t1 = time.perf_counter()
        assert task["element_id"] == element, (task["element_id"], element)
        e.tasks.complete(task["id"], user, dict(data))
        spent += time.perf_counter() - t1
        lookups.append(t1 - t0)
    return iid, spent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--appeals", type=int, default=300, help="appeals counted per side (default 300)")
    ap.add_argument("--warmup", type=int, default=20, help="appeals per side run first and not counted")
    args = ap.parse_args()

    spec, served = spiff_spec(), spiff_handlers()
    times = {"memory": [], "sqlite": [], "postgresql": []}
    lookups = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory(prefix="qihu_appeal_bench_") as tmp, pg_schema("appeal_bench") as (schema, pg):
        engines = {"sqlite": qihu_side(f"sqlite:///{tmp}/bench.sqlite3"), "postgresql": qihu_side(pg)}
        try:
            sides = list(times)
            total = args.warmup + args.appeals
            print(f"appeal_basic, {args.appeals} appeals per side after {args.warmup} warm-up, "
                  f"interleaved (PostgreSQL schema {schema})", flush=True)
            gc.collect()
            gc.disable()        # collections run between appeals, not inside one side's timing
            for n in range(total):
                order = sides[n % 3:] + sides[:n % 3]
                for side in order:
                    if side == "memory":
                        t0 = time.perf_counter()
                        spiff_appeal(spec, served)
                        spent = time.perf_counter() - t0
                        iid = None
                    else:
                        e, _ = engines[side]
                        look = []
                        iid, spent = qihu_appeal(e, n, look)
                        if n >= args.warmup:
                            lookups[side].extend(look)
                    if n >= args.warmup:
                        times[side].append(spent)
                    if iid is not None and n == 0:
                        status = engines[side][0].runtime.get(iid)["status"]
                        assert status == "completed", f"{side}: the appeal ended {status}"
                if n % 25 == 24:
                    gc.collect()
            gc.enable()

            per_appeal = {}
            for side in ("sqlite", "postgresql"):      # one more appeal, counted, not timed
                e, statements = engines[side]
                before = statements[0]
                qihu_appeal(e, total, [])
                per_appeal[side] = statements[0] - before
        finally:
            for e, _ in engines.values():
                e.close()

    print(ms_header("per appeal (start + 3 completions)"))
    for side, values in times.items():
        print(ms_row(side, values))
    print(ms_header("not timed above: the task lookup"))
    for side, values in lookups.items():
        print(ms_row(f"{side} tasks.list(instance_id)", values))
    for side, n in per_appeal.items():
        print(f"  SQL statements per appeal on {side}: {n} (cursor executions, an executemany or a pipeline "
              "counted once; start + 3 lookups + 3 completions)")
    mem = statistics.median(times["memory"])
    ratio = {side: statistics.median(times[side]) / mem for side in ("sqlite", "postgresql")}
    print(f"medians: memory {mem * 1e3:.2f} ms, sqlite {statistics.median(times['sqlite']) * 1e3:.2f} ms, "
          f"postgresql {statistics.median(times['postgresql']) * 1e3:.2f} ms")
    print(f"appeal ratio sqlite: {ratio['sqlite']:.2f}; appeal ratio postgresql: {ratio['postgresql']:.2f}")


if __name__ == "__main__":
    main()
