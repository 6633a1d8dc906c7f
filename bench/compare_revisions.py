"""Before/after: run the benchmarks of another revision and of this tree side by side, in turns.

A refactoring that must not change speed is measured here: the revision given (e.g. the
commit before it) is checked out in a temporary git worktree, and each benchmark runs
there and here alternately, ROUNDS times each, in this one run, so the machine's noise
falls on both alike. The figure of each run is the number on the benchmark's own fixed
last line. The filled databases of inbox_bench and dashboard_bench are shared by both
sides (same schema), so only the queries are timed twice.

    .venv/bin/python bench/compare_revisions.py 636cbcf            # every benchmark, 2 rounds
    .venv/bin/python bench/compare_revisions.py 636cbcf --only engine,figures --rounds 3

Last line: `revisions compared: <name> <after/before ratio>, …` (1.00 = same speed; above 1,
this tree is slower).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)")


def benches(tmp):
    """name -> (script, arguments, what its last line measures). Scaled so that one round of
    all of them takes minutes, not an hour; the fills are made once and reused."""
    return {
        "engine": ("engine_bench.py", [], "persisted/in-memory step ratio"),
        "figures": ("figures_upkeep_bench.py", [], "figures upkeep step ratio"),
        "timer": ("timer_bench.py", ["--waiting", "20000", "--due", "100"], "timer sweep ms"),
        "inbox": ("inbox_bench.py", ["--db", "sqlite", "--sqlite-file", str(tmp / "inbox.sqlite3"), "--reps", "20"],
                  "inbox p95 ms"),
        "dashboard": ("dashboard_bench.py", ["--db", "sqlite", "--sqlite-file", str(tmp / "dashboard.sqlite3"),
                                             "--scale", "0.05", "--reps", "20"], "dashboard p95 ms"),
    }


# Both sides find their handlers in their own tree: the installed package's `qihu.handlers`
# entry point would hand the older tree this tree's handlers too, so it is hidden from both.
RUN = """import importlib.metadata as m, os, runpy, sys
_entry_points = m.entry_points
m.entry_points = lambda **kw: [] if kw.get("group") == "qihu.handlers" else _entry_points(**kw)
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))     # as `python script.py` would: its folder first
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_one(tree, script, args):
    """The number on the last line of one benchmark run in `tree`, and its wall time."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, str(tree / "bench" / script), *args], cwd=tree, env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{script} failed in {tree}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    last = done.stdout.strip().splitlines()[-1]
    found = NUMBER.search(last.split(":", 1)[1] if ":" in last else last)
    if found is None:
        raise SystemExit(f"{script}: no figure on its last line {last!r}")
    return float(found.group(1)), took


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revision", help="the revision to compare with (e.g. the commit before a change)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", help="comma-separated benchmark names (default: all)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qihu_compare_") as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), args.revision], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            table = benches(tmp)
            names = args.only.split(",") if args.only else list(table)
            load = os.getloadavg()
            print(f"comparing {args.revision} (before) with this tree (after); load average "
                  f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores", flush=True)
            ratios = {}
            for name in names:
                script, bench_args, what = table[name]
                figures = {"before": [], "after": []}
                for r in range(args.rounds):
                    # alternate who goes first, so a warming disk or cache favours neither
                    order = [("before", before), ("after", ROOT)]
                    for side, tree in (order if r % 2 == 0 else order[::-1]):
                        value, took = run_one(tree, script, bench_args)
                        figures[side].append(value)
                        print(f"  {name} [{side}] round {r + 1}: {what} {value:g} ({took:.0f} s)", flush=True)
                b, a = statistics.median(figures["before"]), statistics.median(figures["after"])
                ratios[name] = a / b if b else float("nan")
                print(f"{name}: {what}: before {b:g}, after {a:g}, after/before {ratios[name]:.2f}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, capture_output=True)
    print("revisions compared: " + ", ".join(f"{n} {r:.2f}" for n, r in ratios.items()))


if __name__ == "__main__":
    main()
