"""Engine step cost: plain SpiffWorkflow in memory vs. qihu persisted on SQLite, side by side.

A step = complete one user task and run until the instance waits again. The process
(bench/appeal_loop.bpmn) has three user tasks, an external service task and a gateway
that loops back. Both sides run in this one process, interleaved, so machine noise
hits both alike. Run: .venv/bin/python bench/engine_bench.py
"""
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.util.task import TaskState

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qihu.engine import Engine  # noqa: E402
from qihu.engine.config import Settings  # noqa: E402
from qihu.engine.topics import HandlerRegistry  # noqa: E402

BPMN = Path(__file__).with_name("appeal_loop.bpmn")
CYCLES = 520


def route(**_):
    return {"department": "department"}


def spiff_step(wf, data):
    """Plain SpiffWorkflow: complete the ready user task, serve the service task by hand."""
    task = wf.get_next_task(state=TaskState.READY, manual=True)
    if task is None:
        return False     # the depth-1000 trap: SpiffWorkflow no longer finds the ready task
    task.data.update(data)
    task.run()
    wf.do_engine_steps()
    for t in wf.get_tasks(state=TaskState.STARTED):
        if isinstance(t.task_spec, ServiceTask):
            t.data.update(route())
            t.complete()
            wf.do_engine_steps()
    return True


def main():
    parser = CamundaParser()
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("bench_appeal")
    reg = HandlerRegistry()
    reg.register("bench.route", route)
    tmp = tempfile.mkdtemp()
    engine = Engine(settings=Settings(database_url=f"sqlite:///{tmp}/bench.sqlite3"), handlers=reg)
    engine.repository.deploy([BPMN])

    wf = BpmnWorkflow(spec)
    wf.get_tasks(state=TaskState.READY)[0].data.update({"cycles": CYCLES, "cycle": 0})
    wf.do_engine_steps()
    iid = engine.runtime.start("bench_appeal", {"cycles": CYCLES, "cycle": 0})

    mem, per = {}, {}   # cycle -> list of step seconds
    stalled = None
    blob = {}
    config = dict(CAMUNDA_CONFIG)
    config[ServiceTask] = BpmnTaskSpecConverter   # SpiffWorkflow ships no converter for it
    ser = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    gc.disable()
    for cycle in range(1, CYCLES + 1):
        for step in range(3):
            data = {"cycle": cycle} if step == 2 else {}
            t0 = time.perf_counter()
            if stalled is None and not spiff_step(wf, data):
                stalled = cycle
            t1 = time.perf_counter()
            task = engine.tasks.list(instance_id=iid, limit=1)[0]   # the inbox query is not the step
            t1 = time.perf_counter()
            engine.tasks.complete(task["id"], "bench", data, check=False)
            t2 = time.perf_counter()
            if stalled is None:
                mem.setdefault(cycle, []).append(t1 - t0)
            per.setdefault(cycle, []).append(t2 - t1)
        if cycle in (10, 100) and stalled is None:
            t0 = time.perf_counter()
            for _ in range(5):
                ser.serialize_json(wf)
            blob[cycle] = (time.perf_counter() - t0) / 5
        if cycle % 50 == 0:
            gc.collect()
    gc.enable()

    def med(d, lo, hi):
        return statistics.median(x for c in range(lo, hi) for x in d[c])

    mem_early, per_early = med(mem, 5, 16), med(per, 5, 16)
    per_late = med(per, 495, 506)
    last = max(mem)
    print(f"in-memory SpiffWorkflow step median: {mem_early * 1e3:.3f} ms (cycles 5-15), "
          f"{med(mem, last - 10, last + 1) * 1e3:.3f} ms (cycles {last - 10}-{last})")
    if stalled:
        print(f"in-memory SpiffWorkflow stalled at cycle {stalled}: its task iteration stops at depth 1000 "
              "and the ready task is no longer found")
    print(f"qihu persisted (SQLite) step median: {per_early * 1e3:.3f} ms (cycles 5-15), "
          f"{per_late * 1e3:.3f} ms (cycles 495-505)")
    print(f"plain SpiffWorkflow serialize_json of the whole tree: {blob[10] * 1e3:.2f} ms at 10 cycles, "
          f"{blob[100] * 1e3:.2f} ms at 100 cycles")
    state_len = len(engine.db.engine.connect().exec_driver_sql(
        "select state from instance where id = ?", (iid,)).scalar())
    print(f"stored state of the qihu instance after {CYCLES} cycles: {state_len} characters")
    print(f"persisted/in-memory step ratio: {per_early / mem_early:.2f}; "
          f"step cost 500/10 cycles: {per_late / per_early:.2f}")


if __name__ == "__main__":
    main()
