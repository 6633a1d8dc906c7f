"""What keeping the dashboard's figures costs an engine step, side by side.

The same loop process (bench/appeal_loop.bpmn) is deployed twice: as it is, and under another
key with `figure.*` properties, so every step that opens or closes a task also updates its
appeal_fact row and monthly counters (appeals/figures.py). Steps of the two instances are
interleaved in this one process, so machine noise hits both alike.
Run: .venv/bin/python bench/figures_upkeep_bench.py [--db URL]  (default: a temporary SQLite file)
"""
import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qihu import appeals  # noqa: E402
from qihu.engine import Engine  # noqa: E402
from qihu.engine.config import Settings  # noqa: E402
from qihu.engine.topics import HandlerRegistry  # noqa: E402

BPMN = Path(__file__).with_name("appeal_loop.bpmn")
CYCLES = 200
FIGURES = """<bpmn:extensionElements><camunda:properties>
      <camunda:property name="figure.department" value="var('department', 'department')" />
      <camunda:property name="figure.solved" value="True" />
      <camunda:property name="figure.signFor" value="Handle" />
    </camunda:properties></bpmn:extensionElements>
    """


def route(**_):
    return {"department": "department"}


def main():
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    url = args.parse_args().db or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    reg = HandlerRegistry()
    reg.register("bench.route", route)
    engine = Engine(settings=Settings(database_url=url), handlers=reg)
    appeals.install(engine)     # its step_saved listener keeps the figures
    plain = BPMN.read_text(encoding="utf-8")
    marker = 'isExecutable="true">'
    counted = plain.replace('id="bench_appeal"', 'id="bench_counted"').replace(marker, marker + "\n    " + FIGURES, 1)
    assert counted != plain and "figure.department" in counted
    engine.repository.deploy([("plain.bpmn", plain.encode()), ("counted.bpmn", counted.encode())])
    ids = {key: engine.runtime.start(key, {"cycles": CYCLES, "cycle": 0}) for key in ("bench_appeal", "bench_counted")}
    times = {key: [] for key in ids}
    gc.disable()
    for cycle in range(1, CYCLES + 1):
        for step in range(3):
            data = {"cycle": cycle} if step == 2 else {}
            for key, iid in ids.items():
                task = engine.tasks.list(instance_id=iid, limit=1)[0]
                t0 = time.perf_counter()
                engine.tasks.complete(task["id"], "bench", data, check=False)
                times[key].append(time.perf_counter() - t0)
        if cycle % 50 == 0:
            gc.collect()
    gc.enable()
    with engine.db.read() as s:
        from qihu.appeals.models import AppealFact
        assert s.get(AppealFact, ids["bench_counted"]) is not None, "the counted process kept no figures"
        assert s.get(AppealFact, ids["bench_appeal"]) is None
    print(f"database: {engine.db.engine.dialect.name}; {CYCLES} cycles of 3 steps each, interleaved")
    # An appeal has tens of steps; the upkeep reads the appeal's task rows, so a loop that
    # has run hundreds of steps costs more per step: both are shown.
    ratios = []
    for label, lo, hi in (("cycles 1-10 (an appeal's size: up to 30 task rows)", 0, 30),
                          (f"cycles {CYCLES - 9}-{CYCLES} (~{3 * CYCLES} task rows)", 3 * CYCLES - 30, 3 * CYCLES)):
        plain_ms, counted_ms = (statistics.median(times[k][lo:hi]) * 1e3 for k in ("bench_appeal", "bench_counted"))
        ratios.append(counted_ms / plain_ms)
        print(f"{label}: step median {plain_ms:.3f} ms without figure.* properties, {counted_ms:.3f} ms with; "
              f"ratio {counted_ms / plain_ms:.2f}")
    print(f"figures upkeep step ratio (with/without, appeal-sized): {ratios[0]:.2f}")
    engine.close()


if __name__ == "__main__":
    main()
