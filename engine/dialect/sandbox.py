"""Sandbox for the Python inside BPMN diagrams.

Script tasks, gateway conditions, timer expressions and input/output parameters are
Python. Deploying a diagram must never mean running arbitrary code, so all of it is
compiled with RestrictedPython, runs against a small whitelist of builtins and guards,
and is stopped when it runs longer than a time limit.
"""
import ast
import functools
import operator
import re
import sys
import time
import traceback
from datetime import date, datetime, timedelta, timezone

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence, guarded_unpack_sequence, raise_, safer_getattr)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

# Compiled code carries this filename: the time-limit tracer recognises sandbox frames
# by it, and error reporting finds the script's line in tracebacks by it.
SCRIPT_FILENAME = "<qihu-script>"
MAX_RANGE = 100_000

# Reported at check time. None of them is in the sandbox builtins, so they fail at
# run time anyway; naming them at deploy time gives the author a clear message.
DENIED_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
    "getattr", "setattr", "delattr", "input", "breakpoint", "help", "memoryview",
    "dir", "exit", "quit",
})


class SandboxError(Exception):
    """A script was refused or broke a sandbox limit; `problems` lists (line, message)."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)

    @property
    def lineno(self):
        return self.problems[0][0] if self.problems else None


class SandboxSyntaxError(SandboxError, SyntaxError):
    """A refused expression that does not even parse."""

    def __init__(self, message, problems=()):
        SandboxError.__init__(self, message, problems)


class ScriptTimeout(SandboxError):
    pass


class _Deadline(BaseException):
    """Raised inside sandboxed frames when time is up.

    Not an Exception subclass and not reachable by name from scripts, so `except
    Exception:` in a script cannot swallow it. That matters because CPython switches
    tracing off once a trace function raises: a swallowed timeout would run forever.
    """


def _bounded_range(*args):
    r = range(*args)
    try:
        size = len(r)
    except OverflowError:   # more items than sys.maxsize
        size = None
    if size is None or size > MAX_RANGE:
        raise SandboxError(f"range() of {size or 'too many'} items exceeds the limit of {MAX_RANGE}")
    return r


def _getattr(obj, name):
    # `mro` would hand out BaseException (see _Deadline); safer_getattr blocks the
    # underscore names and str.format. Its default of None would turn typos into None,
    # so missing attributes raise AttributeError as in plain Python.
    if name == "mro":
        raise AttributeError('"mro" is not allowed')
    return safer_getattr(obj, name, raise_)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}


def _inplacevar(op, x, y):
    return _INPLACE[op](x, y)


# Exceptions outside the Exception tree could stop a worker (SystemExit) or catch the
# timeout; classes could define __exit__ that swallows it. None are needed in diagrams.
_BUILTINS = {k: v for k, v in safe_builtins.items()
             if k not in {"__build_class__", "_getattr_", "BaseException", "SystemExit",
                          "KeyboardInterrupt", "GeneratorExit"}}
_BUILTINS.update(
    len=len, min=min, max=max, sum=sum, sorted=sorted, any=any, all=all, abs=abs,
    round=round, range=_bounded_range, enumerate=enumerate, zip=zip, list=list,
    dict=dict, set=set, tuple=tuple, str=str, int=int, float=float, bool=bool,
    isinstance=isinstance, reversed=reversed, map=map, filter=filter,
    # The classes, not the module: attribute access on them passes _getattr.
    datetime=datetime, date=date, timedelta=timedelta, timezone=timezone,
)

_GUARDS = {
    "__builtins__": _BUILTINS,
    "_getattr_": _getattr,
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": lambda ob: ob,   # scripts may change dicts and lists in task data
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,  # output is collected and dropped
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
}


def _extra_problems(tree):
    """Rules on top of RestrictedPython's: it allows imports (relying on a missing
    __import__ at run time) and does not know about the timeout's needs."""
    problems = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append((line, "import is not allowed"))
        elif isinstance(node, ast.Name) and node.id in DENIED_NAMES:
            problems.append((line, f"name {node.id} is not allowed"))
        elif isinstance(node, ast.ClassDef):
            problems.append((line, "class definitions are not allowed"))
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            problems.append((line, "bare 'except:' is not allowed, use 'except Exception:'"))
        elif isinstance(node, (ast.Try, ast.TryStar)) and node.finalbody:
            # Tracing is off while a timeout unwinds, so a finally block would run unbounded.
            problems.append((line, "'try ... finally' is not allowed"))
    return problems


_RP_LINE = re.compile(r"^Line (\d+): (.*)$", re.S)


@functools.lru_cache(maxsize=4096)
def _compile(source, mode):
    """(code or None, problems). Cached: gateway conditions are evaluated very often."""
    try:
        tree = ast.parse(source, SCRIPT_FILENAME, mode)
    except SyntaxError as e:
        return None, ((e.lineno or 0, f"SyntaxError: {e.msg}"),)
    problems = _extra_problems(tree)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(tree, filename=SCRIPT_FILENAME)   # RestrictedPython changes tree
    for err in result.errors:
        m = _RP_LINE.match(err)
        problems.append((int(m.group(1)), m.group(2)) if m and m.group(1).isdigit() else (0, err))
    problems = tuple(sorted(set(problems)))
    return (None if problems else result.code), problems


def check_source(source: str, mode: str = "exec") -> list[tuple[int, str]]:
    """Deploy-time check: (line, message) for every problem, [] when the code is fine."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    return list(_compile(source, mode)[1])


def _compiled(source, mode):
    code, problems = _compile(source, mode)
    if problems:
        detail = "; ".join(f"line {n}: {msg}" for n, msg in problems)
        raise SandboxError(f"script refused: {detail}", problems)
    return code


def _run(code, namespace, time_limit):
    """eval() the code with a deadline, tracing only sandbox frames."""
    deadline = time.monotonic() + time_limit
    previous = sys.gettrace()

    def local(frame, event, arg):
        if time.monotonic() > deadline:
            raise _Deadline
        return local

    def global_trace(frame, event, arg):
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            return local(frame, event, arg)
        # Other frames (helpers, library code) stay with whoever traced before us.
        return previous(frame, event, arg) if previous else None

    # sys.settrace is per thread, so this works in worker threads; signals would not.
    sys.settrace(global_trace)
    try:
        return eval(code, namespace)   # eval() runs exec-mode code too (returns None)
    except _Deadline as e:
        timeout = ScriptTimeout(f"script ran longer than the time limit of {time_limit:g} s")
        raise timeout.with_traceback(e.__traceback__) from None
    finally:
        sys.settrace(previous)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment semantics, but compiled and run inside the sandbox."""

    def __init__(self, helpers: dict | None = None, time_limit: float = 2.0):
        super().__init__(dict(helpers or {}))
        self.time_limit = time_limit

    def _check_overwrite(self, context, protected):
        clash = set(protected).intersection(context)
        if clash:
            raise SandboxError(
                "Task data overwrites predefined function(s); rename these variables "
                f"or fields: {sorted(clash)}")

    def _namespace(self, context, external_context):
        ns = dict(external_context or {})
        ns.update(context)
        ns.update(self.globals)
        ns.update(_GUARDS)   # last: task data must never replace a guard
        return ns

    def evaluate(self, expression, context, external_context=None):
        # As in TaskDataEnvironment, task data may shadow external context (data
        # objects are copied into task data), but never a helper.
        self._check_overwrite(context, self.globals)
        code = _compiled(expression, "eval")
        return _run(code, self._namespace(context, external_context), self.time_limit)

    def execute(self, script, context, external_context=None):
        external_context = external_context or {}
        self._check_overwrite(context, [*self.globals, *external_context])
        code = _compiled(script, "exec")
        ns = self._namespace(context, external_context)
        try:
            _run(code, ns, self.time_limit)
        finally:
            # Like exec() into the task data: what ran before an error stays.
            reserved = {*_GUARDS, *self.globals, *external_context}
            for k in [k for k in context if k not in ns]:   # `del x` in the script
                del context[k]
            for k, v in ns.items():
                if k in reserved:
                    continue
                if callable(v):
                    context.pop(k, None)   # functions defined by scripts are not data
                else:
                    context[k] = v
        return True


class SandboxScriptEngine(PythonScriptEngine):

    def __init__(self, helpers=None, time_limit=2.0):
        super().__init__(environment=SandboxEnvironment(helpers, time_limit))

    def validate(self, expression):
        problems = check_source(expression, "eval")
        if problems:
            detail = "; ".join(f"line {n}: {msg}" for n, msg in problems)
            if any(msg.startswith("SyntaxError") for _, msg in problems):
                # SpiffWorkflow's DMN engine tells unary tests ("< 5") apart by catching SyntaxError.
                raise SandboxSyntaxError(f"expression refused: {detail}", problems)
            raise SandboxError(f"expression refused: {detail}", problems)

    def get_error_line_number_and_content(self, script, err):
        # SpiffWorkflow looks for '<string>' frames; ours are named SCRIPT_FILENAME.
        line_number = err.lineno if isinstance(err, (SyntaxError, SandboxError)) else None
        if not line_number:
            line_number = 0
            for frame in traceback.extract_tb(err.__traceback__):
                if frame.filename == SCRIPT_FILENAME:
                    line_number = frame.lineno
        lines = script.splitlines()
        error_line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
        return line_number, error_line
