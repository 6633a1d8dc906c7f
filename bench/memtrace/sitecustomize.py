"""bench/memory_bench.py --tracemalloc only: put on PYTHONPATH with QIHU_BENCH_TRACE_DIR set,
it makes every Python process started so trace its allocations (tracemalloc) and dump a
snapshot, `<dir>/<pid>-<label>.snap`, when the bench touches `<dir>/request-<label>`.

A thread watches the directory; gunicorn's web processes are forked from its master after
this has run, and a fork keeps only the forking thread, so each child starts its own watcher.
Without QIHU_BENCH_TRACE_DIR nothing happens.
"""
import os

TRACE_DIR = os.environ.get("QIHU_BENCH_TRACE_DIR")

if TRACE_DIR:
    import threading
    import time
    import tracemalloc

    tracemalloc.start(int(os.environ.get("QIHU_BENCH_TRACE_FRAMES", "25")))

    def _watch():
        pid, done = os.getpid(), set()
        while True:
            try:
                for name in sorted(os.listdir(TRACE_DIR)):
                    if name.startswith("request-") and name not in done:
                        done.add(name)
                        label = name[len("request-"):]
                        part = os.path.join(TRACE_DIR, f".{pid}-{label}.part")
                        tracemalloc.take_snapshot().dump(part)
                        os.replace(part, os.path.join(TRACE_DIR, f"{pid}-{label}.snap"))
            except OSError:         # the bench removed the directory: it has ended
                return
            time.sleep(1)

    def _start_watcher():
        threading.Thread(target=_watch, name="bench-memtrace", daemon=True).start()

    _start_watcher()
    os.register_at_fork(after_in_child=_start_watcher)
