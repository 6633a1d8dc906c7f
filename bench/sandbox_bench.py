"""Sandbox cost per evaluation: the guarded path (issue 13) against the plain path it replaced.

The guarded path is engine/dialect/sandbox.py as it runs today: our RestrictedPython policy
turns `+ * ** << // %` and f-string format specs into guard calls, the attribute guard hands
out checked str/bytes/int methods, and the trace function also watches memory. The plain
path is the sandbox as it was before: RestrictedPython's stock policy, the same builtins
without the checked pow/divmod/round/sum, a `_write_` that lets everything through and a
trace function that only watches the clock. It is rebuilt here from RestrictedPython, so
the comparison does not depend on the git history.

What is measured are the bundled diagrams' own scripts, conditions and expressions, with the
task data they really see: the mechanisms' scenario tests (tests/mechanisms, SQLite) run
once in this process with every sandbox call recorded (source, mode, a copy of the data).
The helpers (workdays(), now() …) are replaced by stand-ins on both sides, since their cost
(the work calendar) is the same either way. Then each recorded call is replayed on both
paths, side by side, in turns (which path goes first alternates every round), so machine
noise hits both alike.

Run: .venv/bin/python bench/sandbox_bench.py [--rounds 20] [--tests tests/mechanisms/test_mech_huzhou.py]
Ends with: sandbox cost: guarded X µs/eval, plain Y µs/eval, ratio Z
"""
import argparse
import ast
import copy
import gc
import operator
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins  # noqa: E402
from RestrictedPython.Guards import (  # noqa: E402
    guarded_iter_unpack_sequence, guarded_unpack_sequence, raise_, safer_getattr)
from RestrictedPython.PrintCollector import PrintCollector  # noqa: E402

from qihu.engine.dialect import sandbox  # noqa: E402
from qihu.engine.dialect.sandbox import SCRIPT_FILENAME, SandboxEnvironment  # noqa: E402

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
SAMPLES_PER_SOURCE = 5      # distinct data contexts kept per (source, mode)


# --- the plain path: the sandbox before issue 13 ---------------------------------------------

class _Deadline(BaseException):
    pass


def _plain_getattr(obj, name):
    if name == "mro":
        raise AttributeError('"mro" is not allowed')
    return safer_getattr(obj, name, raise_)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}
_PLAIN_BUILTINS = {k: v for k, v in safe_builtins.items()
                   if k not in {"__build_class__", "_getattr_", "BaseException", "SystemExit",
                                "KeyboardInterrupt", "GeneratorExit"}}
_PLAIN_BUILTINS.update(
    len=len, min=min, max=max, sum=sum, sorted=sorted, any=any, all=all, abs=abs, round=round,
    range=sandbox._bounded_range, enumerate=enumerate, zip=zip, list=list, dict=dict, set=set, tuple=tuple,
    str=str, int=int, float=float, bool=bool, isinstance=isinstance, reversed=reversed, map=map,
    filter=filter, datetime=datetime, date=sandbox.date, timedelta=timedelta, timezone=timezone)
_PLAIN_GUARDS = {
    "__builtins__": _PLAIN_BUILTINS, "_getattr_": _plain_getattr, "_getitem_": operator.getitem,
    "_getiter_": iter, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence, "_write_": lambda ob: ob,
    "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y), "_print_": PrintCollector,
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
}
_PLAIN_CODE = {}


def _plain_compile(source, mode):
    key = (source, mode)
    code = _PLAIN_CODE.get(key)
    if code is None:
        tree = ast.parse(source, SCRIPT_FILENAME, mode)
        compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
        result = compiler(tree, filename=SCRIPT_FILENAME)
        if result.errors:
            raise SyntaxError("; ".join(result.errors))
        code = _PLAIN_CODE[key] = result.code
    return code


def _plain_run(code, namespace, time_limit):
    deadline = time.monotonic() + time_limit
    previous = sys.gettrace()

    def local(frame, event, arg):
        if time.monotonic() > deadline:
            raise _Deadline
        return local

    def global_trace(frame, event, arg):
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            return local(frame, event, arg)
        return previous(frame, event, arg) if previous else None

    sys.settrace(global_trace)
    try:
        return eval(code, namespace)
    finally:
        sys.settrace(previous)


class PlainEnvironment(SandboxEnvironment):
    """The same data semantics (SandboxEnvironment's), compiled and run the old way."""

    def _namespace(self, context, external_context):
        ns = dict(external_context or {})
        ns.update(context)
        ns.update(self.globals)
        ns.update(_PLAIN_GUARDS)
        return ns

    def evaluate(self, expression, context, external_context=None):
        self._check_overwrite(context, self.globals)
        return _plain_run(_plain_compile(expression, "eval"), self._namespace(context, external_context),
                          self.time_limit)

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self._check_overwrite(context, [*self.globals, *external_context])
        ns = self._namespace(context, external_context)
        try:
            _plain_run(_plain_compile(script, "exec"), ns, self.time_limit)
        finally:
            reserved = {*_PLAIN_GUARDS, *self.globals, *external_context}
            for k in [k for k in context if k not in ns]:
                del context[k]
            for k, v in ns.items():
                if k in reserved:
                    continue
                if callable(v):
                    context.pop(k, None)
                else:
                    context[k] = v
        return True


# --- recording the bundled diagrams' evaluations ---------------------------------------------

class Recorder:
    """A pytest plugin: every SandboxEnvironment.evaluate/execute call, with a copy of its data."""

    def __init__(self):
        self.calls = defaultdict(list)    # (mode, source) -> [(context, external_context)]
        self.count = 0                    # sandbox calls
        self.steps = 0                    # engine steps (runtime.transaction calls)

    def pytest_configure(self, config):
        recorder = self
        original_evaluate, original_execute = SandboxEnvironment.evaluate, SandboxEnvironment.execute

        def keep(mode, source, context, external):
            recorder.count += 1
            samples = recorder.calls[(mode, source)]
            if len(samples) < SAMPLES_PER_SOURCE:
                try:
                    samples.append((copy.deepcopy(context), copy.deepcopy(external or {})))
                except Exception:   # noqa: BLE001 - a context that cannot be copied is not replayed
                    pass

        def evaluate(env, expression, context, external_context=None):
            keep("eval", expression, context, external_context)
            return original_evaluate(env, expression, context, external_context)

        def execute(env, script, context, external_context=None):
            keep("exec", script, context, external_context)
            return original_execute(env, script, context, external_context)

        SandboxEnvironment.evaluate, SandboxEnvironment.execute = evaluate, execute
        self._restore = (original_evaluate, original_execute)
        from qihu.engine.runtime.service import Runtime
        original_transaction = Runtime.transaction

        def transaction(runtime, *args, **kwargs):
            recorder.steps += 1
            return original_transaction(runtime, *args, **kwargs)

        Runtime.transaction = transaction
        self._restore_transaction = (Runtime, original_transaction)

    def pytest_unconfigure(self, config):
        SandboxEnvironment.evaluate, SandboxEnvironment.execute = self._restore
        runtime, original = self._restore_transaction
        runtime.transaction = original


def record(test_paths):
    import pytest
    recorder = Recorder()
    started = time.monotonic()
    code = pytest.main(["-q", "-p", "no:xdist", "-p", "no:cacheprovider", "-m", "not postgresql and not browser",
                        "--no-header", "-o", "console_output_style=classic", *test_paths], plugins=[recorder])
    print(f"recorded {recorder.count} sandbox calls in {recorder.steps} engine steps, {len(recorder.calls)} distinct "
          f"scripts and expressions, in {time.monotonic() - started:.0f} s (pytest exit code {int(code)})")
    return recorder.calls, recorder.count / max(recorder.steps, 1)


# --- helpers on both sides --------------------------------------------------------------------

def stand_in_helpers():
    """What the engine's helpers return, without the work calendar behind them."""
    def workdays(n, start=None):
        return (start or NOW) + timedelta(days=n * 7 / 5)

    def workdays_between(a, b=None):
        return ((b or NOW) - a).total_seconds() / 86400 * 5 / 7

    def is_workday(d=None):
        return True

    def workday_share(start, due, share):
        return start + (due - start) * share

    return {"now": lambda: NOW, "workdays": workdays, "workdays_between": workdays_between,
            "is_workday": is_workday, "workday_share": workday_share}


def replay(env, mode, source, context, external):
    """One call; the data is copied before the clock starts. Returns seconds (None on error)."""
    data, ext = copy.deepcopy(context), copy.deepcopy(external)
    started = time.perf_counter()
    try:
        if mode == "eval":
            env.evaluate(source, data, ext)
        else:
            env.execute(source, data, ext)
    except Exception:   # noqa: BLE001 - a call that failed when recorded fails alike on both paths
        return None
    return time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--tests", nargs="*", default=[str(ROOT / "tests" / "mechanisms")])
    args = ap.parse_args()

    calls, per_step = record(args.tests)
    helpers = stand_in_helpers()
    guarded, plain = SandboxEnvironment(helpers=helpers), PlainEnvironment(helpers=helpers)
    work = []
    for (mode, source), samples in calls.items():
        for context, external in samples:
            # the recorded data may carry the real helpers' names: they are the stand-ins here
            context = {k: v for k, v in context.items() if k not in helpers}
            if replay(guarded, mode, source, context, external) is None or \
                    replay(plain, mode, source, context, external) is None:
                continue
            work.append((mode, source, context, external))
    print(f"replaying {len(work)} calls ({sum(1 for w in work if w[0] == 'eval')} expressions, "
          f"{sum(1 for w in work if w[0] == 'exec')} scripts) for {args.rounds} rounds, both paths in turns")

    totals = {"guarded": defaultdict(list), "plain": defaultdict(list)}
    gc.disable()
    try:
        for r in range(args.rounds):
            order = (("guarded", guarded), ("plain", plain)) if r % 2 == 0 else (("plain", plain), ("guarded", guarded))
            for mode, source, context, external in work:
                for name, env in order:
                    seconds = replay(env, mode, source, context, external)
                    if seconds is not None:
                        totals[name][mode].append(seconds * 1e6)
            gc.collect()
    finally:
        gc.enable()

    print(f"  {'kind':<22} {'guarded µs':>11} {'plain µs':>9} {'ratio':>6}   (median per call; mean)")
    for mode, label in (("eval", "conditions/expressions"), ("exec", "scripts")):
        g, p = totals["guarded"][mode], totals["plain"][mode]
        if g and p:
            print(f"  {label:<22} {statistics.median(g):11.2f} {statistics.median(p):9.2f} "
                  f"{statistics.median(g) / statistics.median(p):6.2f}   "
                  f"(mean {statistics.mean(g):.2f} vs {statistics.mean(p):.2f})")
    g_all = [v for vs in totals["guarded"].values() for v in vs]
    p_all = [v for vs in totals["plain"].values() for v in vs]
    g_mean, p_mean = statistics.mean(g_all), statistics.mean(p_all)
    print(f"  extra per call: {g_mean - p_mean:.2f} µs on average; {per_step:.1f} calls per engine step: "
          f"about {(g_mean - p_mean) * per_step:.0f} µs more per step (a step's database work takes milliseconds)")
    print(f"sandbox cost: guarded {g_mean:.2f} µs/eval, plain {p_mean:.2f} µs/eval, ratio {g_mean / p_mean:.2f}")


if __name__ == "__main__":
    main()
