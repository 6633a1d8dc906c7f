"""Sandbox for the Python inside BPMN diagrams.

Script tasks, gateway conditions, timer expressions and input/output parameters are
Python. Deploying a diagram must never mean running arbitrary code, so all of it is
compiled with RestrictedPython, runs against a small whitelist of builtins and guards,
and is stopped when it runs longer than a time limit or grows the process's memory past a
memory limit.

Limits one C-level operation cannot escape
------------------------------------------
The time limit is a trace function: it runs between Python lines, so it cannot interrupt
one long operation done in C (`10**10**8`, `'a' * 10**10`, `1 << 10**10`,
`'%0999999999d' % 1`). Such an operation holds the GIL, and every other thread of the
server (every request) waits until it is done: minutes, or until the machine runs out of
memory. Two ways to bound it were weighed:

- a pool of worker processes with resource limits (RLIMIT_CPU / RLIMIT_AS) that runs every
  script and is killed when it overruns. Complete, but every condition of every step would
  cross a process boundary (pickling the task data there and back, some 50-100 µs against a
  few µs for the evaluation itself), and the helpers (`workdays(5)` reads the work calendar
  from the database) would have to run in, or call back from, the other process.
- guards that refuse a dangerous operation *before* it runs, from the sizes of its operands.
  Our RestrictedPython policy (`_Policy`) rewrites `+ * ** << // %` and f-string format
  specifications into calls of guard functions, the attribute guard hands out checked
  versions of the str/bytes/int methods that build big results in C (join, replace,
  ljust/rjust/center/zfill, expandtabs, translate, to_bytes), and the builtins pow, divmod,
  round and sum are replaced by checked ones. Each guard estimates the size of the result
  (an integer's bits, a sequence's items, a format's width) and raises ScriptLimitError
  when it is over the limit; otherwise it runs the plain operation. Cost: one Python call
  per guarded operator (about a microsecond under the trace function; a chain `a + b + c`
  is one call). bench/sandbox_bench.py replays the bundled diagrams' own scripts and
  conditions with their real task data: 10.7 µs per evaluation guarded against 7.5 µs
  plain (ratio 1.43), about 10 evaluations and 30 µs per engine step, next to the
  milliseconds of a step's database work. The helpers stay in-process.

We use the guards. The limits (Settings, engine/config.py):

- script_max_int_bits (15,000 bits, about 4,500 decimal digits): just above Python's own
  limit on turning an int into text (4,300 digits), so every integer a script may build can
  still be shown and stored as JSON; it bounds `*`, `**`, `<<` and pow(). Divisions of two
  big integers are quadratic in CPython and are refused when both operands together exceed
  it squared; pow(a, b, m) is refused when its modular multiplications would take more than
  about half a second.
- script_max_items (10**7): the items of a list or tuple, the characters of a str or the
  bytes of a bytes a single operation may build (80 MB for a list): `*`, `+`, join,
  replace, padding, %-formatting and f-string widths and precisions. A repetition also
  counts what each item holds (`[s] * n` counts n times len(s)), so a repeated big string
  cannot be turned into a list that sorted() or max() would compare for hours.
- script_memory_limit (256 MB): a backstop for Python-level accumulation (a loop appending
  1 MB strings). The trace function reads the process's resident memory
  (/proc/self/statm) at most once a millisecond, and every guarded operation whose result
  is big reads it before building the result; past the limit above the script's starting
  point the script stops. Resident memory is the process's, so memory other threads take
  meanwhile counts too: the limit is generous for that reason.

A refusal is a ScriptLimitError (a SandboxError) with a Chinese message naming the
operation and the limit; time and memory overruns are raised from the trace function as
BaseExceptions a script's `except Exception:` cannot swallow, and turned into
ScriptTimeout / ScriptMemoryError when they leave the sandbox.

What stays open: Python-level loops that build a list of a million references to one big
object are bounded by the time limit, not by size, and C-level consumers of such a list
(sorted, max, `==`) then do work proportional to both. Closing that completely needs a
process boundary; the repetition weight above closes the one-line way to build it.

Helpers and state
-----------------
Nothing passes from one instance to another: attribute assignment is refused at deploy
time, `_write_` lets a script change only the dicts, lists and sets of its own task data,
setattr/delattr are not builtins, helper values that are containers are frozen
(MappingProxyType / tuple / frozenset) when the environment is built, and the namespace,
the guards' partial objects and the script's own functions (default arguments included)
are new in every run.
"""
import ast
import functools
import math
import operator
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence, guarded_unpack_sequence, raise_, safer_getattr)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

# Compiled code carries this filename: the time-limit tracer recognises sandbox frames
# by it, and error reporting finds the script's line in tracebacks by it.
SCRIPT_FILENAME = "<qihu-script>"
MAX_RANGE = 100_000

# Default limits (Settings carries the configured ones; see the module docstring).
MAX_ITEMS = 10**7
MAX_INT_BITS = 15_000
MEMORY_LIMIT = 256 * 2**20
# Seconds of the engine's own helpers' time (workdays() waiting for the database, …) one run may
# have given back to its deadline (_credited): a script's limit is for its own work.
HELPER_TIME_LIMIT = 30.0
# pow(a, b, m) costs about b.bit_length() * (limbs of m) ** 1.6 operations of ~20 ns each.
POW_MOD_BUDGET = 2 * 10**7
# Results at least this long are built only after a time and memory check.
BIG_RESULT = 1 << 16
MEMORY_CHECK_INTERVAL = 0.001   # seconds between two reads of the resident memory

# Reported at check time. None of them is in the sandbox builtins, so they fail at
# run time anyway; naming them at deploy time gives the author a clear message.
DENIED_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
    "getattr", "setattr", "delattr", "input", "breakpoint", "help", "memoryview",
    "dir", "exit", "quit",
})


class SandboxError(Exception):
    """A script was refused or broke a sandbox limit; `problems` lists (line, message)."""

    def __init__(self, message: str, problems: Iterable[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)

    @property
    def lineno(self) -> int | None:
        return self.problems[0][0] if self.problems else None


class SandboxSyntaxError(SandboxError, SyntaxError):
    """A refused expression that does not even parse."""

    def __init__(self, message: str, problems: Iterable[tuple[int, str]] = ()) -> None:
        SandboxError.__init__(self, message, problems)


class ScriptTimeout(SandboxError):
    pass


class ScriptLimitError(SandboxError):
    """An operation was refused before it ran because its result would be too big."""


class ScriptMemoryError(ScriptLimitError):
    """The script grew the process's memory past the memory limit."""


class _Deadline(BaseException):
    """Raised inside sandboxed frames when time is up.

    Not an Exception subclass and not reachable by name from scripts, so `except
    Exception:` in a script cannot swallow it. That matters because CPython switches
    tracing off once a trace function raises: a swallowed timeout would run forever.
    """


class _MemoryExceeded(BaseException):
    """As _Deadline, for the memory limit."""


# --- limits of the running script -------------------------------------------------------------

class _RunState:
    """The limits of the script running in this thread (what its guards read), its deadline,
    and the resident memory when it started (read lazily: most evaluations end long before
    the first memory check, and a read costs some 15 µs)."""
    __slots__ = ("time", "memory", "items", "int_bits", "deadline", "mem_base", "helper_credit")

    def __init__(self, time_limit: float, memory: int, items: int, int_bits: int, deadline: float,
                 helper_credit: float = 0.0) -> None:
        self.time, self.memory, self.items, self.int_bits = time_limit, memory, items, int_bits
        self.deadline, self.mem_base = deadline, -1
        # seconds spent inside the engine's own helpers that may still be given back to the
        # deadline (see _credited)
        self.helper_credit = helper_credit


# Outside a run (a guard called by a test directly): the default limits, no deadline.
_DEFAULT_LIMITS = _RunState(2.0, MEMORY_LIMIT, MAX_ITEMS, MAX_INT_BITS, float("inf"))
_local = threading.local()   # .run: the _RunState of the script running in this thread
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident() -> int:
    """The process's resident memory in bytes."""
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        try:
            return int(os.read(fd, 128).split()[1]) * _PAGE
        finally:
            os.close(fd)
    except (OSError, IndexError, ValueError):   # no /proc: the peak is the best we have
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _memory_over(state: _RunState, extra: int = 0) -> bool:
    now = _resident()
    if state.mem_base < 0:
        state.mem_base = now
    return now + extra - state.mem_base > state.memory


def _limits() -> _RunState:
    return getattr(_local, "run", None) or _DEFAULT_LIMITS


def _checkpoint(extra_bytes: int) -> None:
    """Before a big result is built: stop if time is up or the result would break the memory limit."""
    state = getattr(_local, "run", None)
    if state is None:
        return
    if time.monotonic() > state.deadline:
        raise _Deadline
    if _memory_over(state, extra_bytes):
        raise _MemoryExceeded


def _amount(n: int) -> str:
    # str() of a huge int is itself refused by Python (4,300 digits)
    return str(n) if n < 10**15 else f"2^{n.bit_length() - 1} 以上"


def _too_big(what: str, bits: int, limit: int) -> ScriptLimitError:
    return ScriptLimitError(f"{what}结果过大（约 {_amount(bits)} 位），超过脚本上限 {limit} 位")


def _unit(value: Any) -> str:
    return "个字符" if isinstance(value, str) else "字节" if isinstance(value, (bytes, bytearray)) else "项"


def _too_long(what: str, n: int, limit: int, unit: str = "项") -> ScriptLimitError:
    return ScriptLimitError(f"{what}的结果过长（约 {_amount(n)} {unit}），超过脚本上限 {limit} {unit}")


def _bytes_of(value: Any, n: int) -> int:
    return n if isinstance(value, (bytes, bytearray)) else n * (1 if isinstance(value, str) else 8)


def _check_size(what: str, value: Any, n: int) -> None:
    limits = _limits()
    if n > limits.items:
        raise _too_long(what, n, limits.items, _unit(value))
    if n >= BIG_RESULT:
        _checkpoint(_bytes_of(value, n))


# --- operator guards (the policy below turns operators into calls of these) --------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple)
_WEIGHED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)


def _weight(seq: Any) -> int:
    """What a repetition of `seq` holds per round: its items, and for a short list or tuple
    also what each item holds (a string's characters, an int's 64-bit words)."""
    n = len(seq)
    if n > 1000 or not isinstance(seq, (list, tuple)):
        return n
    for item in seq:
        if isinstance(item, _WEIGHED):
            n += len(item)
        elif isinstance(item, int):
            n += item.bit_length() >> 6
    return n


def _repeat(seq: Any, times: int) -> Any:
    if times > 1 and seq:
        limits = _limits()
        total = _weight(seq) * times
        if total > limits.items:
            raise _too_long("重复（*）", total, limits.items, _unit(seq))
        if len(seq) * times >= BIG_RESULT:
            _checkpoint(_bytes_of(seq, len(seq) * times))
    return seq * times


def _int_mul(a: int, b: int) -> int:
    bits = a.bit_length() + b.bit_length()
    limit = _limits().int_bits
    if bits > limit:
        raise _too_big("乘法", bits, limit)
    return a * b


def _mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is float or tb is float:
        return a * b
    if ta is int and tb is int:
        return _int_mul(a, b)
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        return _repeat(a, b)
    if isinstance(b, _SEQUENCES) and isinstance(a, int):
        return _repeat(b, a)
    if isinstance(a, int) and isinstance(b, int):
        return _int_mul(a, b)
    return a * b


def _power_bits(base: int, exponent: int) -> int:
    """The bits of base ** exponent (exponent > 0, |base| > 1), without computing it."""
    if exponent.bit_length() <= 52:
        return math.ceil(exponent * math.log2(abs(base)))
    return exponent * (abs(base).bit_length() - 1)


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    # the builtin's parameter names: pow(base=2, exp=10) works as in Python
    a, b, m = base, exp, mod
    if m is not None:
        if isinstance(a, int) and isinstance(b, int) and isinstance(m, int):
            cost = abs(b).bit_length() * (abs(m).bit_length() // 30 + 1) ** 1.6
            if cost > POW_MOD_BUDGET:
                raise ScriptLimitError(f"模幂运算 pow(a, b, m) 的计算量过大（指数约 {abs(b).bit_length()} 位、模数约 "
                                       f"{abs(m).bit_length()} 位，约 {int(cost) // 10_000} 万次运算），"
                                       f"超过脚本上限 {POW_MOD_BUDGET // 10_000} 万次")
        return pow(a, b, m)
    if type(a) is float or type(b) is float:
        return a ** b
    if isinstance(a, int) and isinstance(b, int) and b > 1 and a not in (0, 1, -1):
        bits = _power_bits(a, b)
        limit = _limits().int_bits
        if bits > limit:
            raise _too_big("乘方", bits, limit)
    return a ** b


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a:
        bits = a.bit_length() + b
        limit = _limits().int_bits
        if bits > limit:
            raise _too_big("左移（<<）", bits, limit)
    return a << b


def _add(first: Any, *rest: Any) -> Any:
    """`a + b + c …`: a chain of additions is one guard call (the policy flattens it), since
    under the trace function every Python call costs about a microsecond. The usual cases
    (numbers, short text) cost a type test each."""
    total = first
    for item in rest:
        ta = type(total)
        if ta is int or ta is float:
            pass
        elif ta is str and type(item) is str:
            if len(total) + len(item) >= BIG_RESULT:
                _check_size("连接（+）", total, len(total) + len(item))
        elif isinstance(total, _SEQUENCES) and isinstance(item, _SEQUENCES):
            if len(total) + len(item) >= BIG_RESULT:
                _check_size("连接（+）", total, len(total) + len(item))
        total = total + item
    return total


def _division(a: Any, b: Any) -> None:
    """CPython divides big integers in quadratic time: refuse two big operands."""
    if isinstance(a, int) and isinstance(b, int):
        abits, bbits = a.bit_length(), b.bit_length()
        if bbits > 64 and abits > 64:
            limit = _limits().int_bits
            if abits * bbits > limit * limit:
                raise ScriptLimitError(f"整数除法的操作数过大（约 {abits} 位除以 {bbits} 位），超过脚本上限 "
                                       f"{limit} 位")


def _floordiv(a: Any, b: Any) -> Any:
    if type(a) is not float:
        _division(a, b)
    return a // b


def _divmod(a: Any, b: Any) -> Any:
    _division(a, b)
    return divmod(a, b)


# %-conversions: %(key)flags width .precision length type
_PERCENT = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)?", re.S)
# format spec mini-language: [[fill]align][sign][z][#][0][width][grouping][.precision][type]
_SPEC = re.compile(r"(?:.?[<>=^])?[+\- ]?z?#?0?(\d*)[,_]?(?:\.(\d*))?[a-zA-Z%]?", re.S)


def _number(digits: str | None) -> int:
    if not digits:
        return 0
    return int(digits) if len(digits) <= 18 else 10**18


def _check_width(total: int) -> None:
    limit = _limits().items
    if total > limit:
        raise ScriptLimitError(f"格式宽度或精度过大（{_amount(total)} 个字符），超过脚本上限 {limit} 个字符")


def _check_percent(fmt: str | bytes, args: Any) -> None:
    text = fmt.decode("latin-1") if isinstance(fmt, (bytes, bytearray)) else fmt
    if "%" not in text:
        return
    values = args if type(args) is tuple else (args,)
    index, total = 0, 0
    for m in _PERCENT.finditer(text):
        if m.group(4) == "%":
            continue
        for part in (m.group(2), m.group(3)):
            if part == "*":
                star = values[index] if index < len(values) else 0
                index += 1
                total += abs(star) if isinstance(star, int) else 0
            else:
                total += _number(part)
        if m.group(1) is None:
            index += 1
    _check_width(total)


def _mod(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is str or ta is bytes or isinstance(a, (str, bytes, bytearray)):
        _check_percent(a, b)
    elif ta is not float:
        _division(a, b)
    return a % b


def check_format_spec(spec: str) -> None:
    """Raise ScriptLimitError for a format spec whose width or precision is over the limit."""
    m = _SPEC.fullmatch(spec)
    if m:
        _check_width(_number(m.group(1)) + _number(m.group(2)))


_CONVERSIONS = {-1: None, 115: str, 114: repr, 97: ascii}


def _format(value: Any, conversion: int, spec: str) -> str:
    """An f-string field with a format spec: `f'{v!r:>{w}}'`."""
    convert = _CONVERSIONS.get(conversion)
    if convert is not None:
        value = convert(value)
    check_format_spec(spec)
    return format(value, spec)


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "<<=": operator.ilshift, ">>=": operator.irshift, "&=": operator.iand,
    "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    # `x op= y` on a plain name (RestrictedPython refuses it on items and attributes). A list
    # changes in place (`items += [1]` is seen by another name of the same list), so the
    # size is checked first and the in-place operator then runs.
    if op == "+=":
        if isinstance(x, _SEQUENCES) and isinstance(y, _SEQUENCES):
            _check_size("连接（+=）", x, len(x) + len(y))
        return operator.iadd(x, y)
    if op == "*=":
        if isinstance(x, list) and isinstance(y, int):
            if y > 1 and x:
                limits = _limits()
                total = _weight(x) * y
                if total > limits.items:
                    raise _too_long("重复（*=）", total, limits.items)
            return operator.imul(x, y)
        return _mul(x, y)
    if op == "**=":
        return _pow(x, y)
    if op == "<<=":
        return _lshift(x, y)
    if op == "//=":
        return _floordiv(x, y)
    if op == "%=":
        return _mod(x, y)
    return _INPLACE[op](x, y)


# --- builtins that build big results or run long in C ---------------------------------------

def _bounded_range(*args: int) -> range:
    r = range(*args)
    try:
        size = len(r)
    except OverflowError:   # more items than sys.maxsize
        size = None
    if size is None or size > MAX_RANGE:
        raise SandboxError(f"range() of {size or 'too many'} items exceeds the limit of {MAX_RANGE}")
    return r


def _round(number: Any, ndigits: Any = None) -> Any:
    # round(5, -10**8) computes 10**(10**8) first
    if ndigits is None:
        return round(number)
    if isinstance(number, int) and isinstance(ndigits, int) and ndigits < 0:
        limit = _limits().int_bits
        if -ndigits * 3.33 > limit:
            raise ScriptLimitError(f"round() 的位数过大（{ndigits}），超过脚本上限 {limit} 位")
    return round(number, ndigits)


_START = object()


def _sum(iterable: Iterable[Any], start: Any = _START) -> Any:
    # CPython adds lists and tuples pairwise: sum(lists, []) is quadratic. Build it once.
    if start is _START:
        return sum(iterable)
    if type(start) is list or type(start) is tuple:
        out = list(start)
        limit = _limits().items
        for item in iterable:
            if type(item) is not type(start):
                raise TypeError(f'can only concatenate {type(start).__name__} (not "{type(item).__name__}") '
                                f'to {type(start).__name__}')
            out.extend(item)
            if len(out) > limit:
                raise _too_long("sum() 连接", len(out), limit)
        return out if type(start) is list else tuple(out)
    return sum(iterable, start)


# --- methods that build big results in C, handed out by the attribute guard -------------------

def _text(value: Any) -> bool:
    return isinstance(value, (str, bytes, bytearray))


def _join(method: Callable[..., Any], self: Any, iterable: Iterable[Any]) -> Any:
    items = iterable if type(iterable) in (list, tuple) else list(iterable)
    if _text(self):
        try:
            total = sum(map(len, items)) + len(self) * max(len(items) - 1, 0)
        except TypeError:      # not all text: join says so in its own words
            return method(self, items)
        if total >= BIG_RESULT:
            _check_size("拼接（join）", self, total)
    return method(self, items)


def _replace(method: Callable[..., Any], self: Any, old: Any, new: Any, count: int = -1) -> Any:
    if _text(self) and _text(old) and _text(new) and len(new) > len(old):
        found = self.count(old) if old else len(self) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        total = len(self) + found * (len(new) - len(old))
        if total >= BIG_RESULT:
            _check_size("替换（replace）", self, total)
    return method(self, old, new, count)


def _padding(what: str) -> Callable[..., Any]:
    def pad(method: Callable[..., Any], self: Any, width: Any, *rest: Any, **kw: Any) -> Any:
        if _text(self) and isinstance(width, int) and width >= BIG_RESULT:
            _check_size(what, self, width)
        return method(self, width, *rest, **kw)
    return pad


def _expandtabs(method: Callable[..., Any], self: Any, tabsize: Any = 8) -> Any:
    if _text(self) and isinstance(tabsize, int) and tabsize > 1:
        total = len(self) + self.count("\t" if isinstance(self, str) else b"\t") * tabsize
        if total >= BIG_RESULT:
            _check_size("展开制表符（expandtabs）", self, total)
    return method(self, tabsize)


def _translate(method: Callable[..., Any], self: Any, table: Any, *rest: Any, **kw: Any) -> Any:
    if isinstance(self, str) and isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        total = len(self) * max(longest, 1)
        if total >= BIG_RESULT:
            _check_size("字符替换（translate）", self, total)
    return method(self, table, *rest, **kw)


def _to_bytes(method: Callable[..., Any], self: Any, length: Any = 1, *rest: Any, **kw: Any) -> Any:
    if isinstance(length, int) and length >= BIG_RESULT:
        _check_size("to_bytes ", b"", length)
    return method(self, length, *rest, **kw)


_TEXT_METHODS: dict[str, Callable[..., Any]] = {
    "join": _join, "replace": _replace, "ljust": _padding("左对齐填充（ljust）"),
    "rjust": _padding("右对齐填充（rjust）"), "center": _padding("居中填充（center）"),
    "zfill": _padding("补零（zfill）"), "expandtabs": _expandtabs, "translate": _translate,
}
_GUARDED_METHODS = frozenset(_TEXT_METHODS) | {"to_bytes"}
_TEXT_TYPES = (str, bytes, bytearray)


def _guarded_method(obj: Any, name: str) -> Any:
    """A checked stand-in for `obj.name`, or None when obj's `name` needs none. A new partial
    each time: nothing a script could change is shared."""
    if name == "to_bytes":
        if isinstance(obj, int):
            return functools.partial(_to_bytes, type(obj).to_bytes, obj)
        if isinstance(obj, type) and issubclass(obj, int):
            return functools.partial(_to_bytes, obj.to_bytes)
        return None
    if isinstance(obj, _TEXT_TYPES):
        return functools.partial(_TEXT_METHODS[name], getattr(type(obj), name), obj)
    if isinstance(obj, type) and issubclass(obj, _TEXT_TYPES):
        return functools.partial(_TEXT_METHODS[name], getattr(obj, name))
    return None


def _getattr(obj: Any, name: str) -> Any:
    # `mro` would hand out BaseException (see _Deadline); safer_getattr blocks the
    # underscore names and str.format. Its default of None would turn typos into None,
    # so missing attributes raise AttributeError as in plain Python.
    if name in _GUARDED_METHODS:
        guarded = _guarded_method(obj, name)
        if guarded is not None:
            return guarded
    if name == "mro":
        raise AttributeError('"mro" is not allowed')
    return safer_getattr(obj, name, raise_)


_WRITABLE = (dict, list, set)


def _describe(ob: Any) -> str:
    if isinstance(ob, type):
        return f"类型 {ob.__name__}"
    if callable(ob):
        return f"函数 {getattr(ob, '__name__', type(ob).__name__)}"
    return f"{type(ob).__name__} 类型的值"


def _write(ob: Any) -> Any:
    """`x[k] = v` and `del x[k]`: only the dicts, lists and sets of the task data may change.
    Helpers, builtins, classes and anything else are shared by every instance."""
    if type(ob) in _WRITABLE:
        return ob
    raise SandboxError(f"脚本不能修改{_describe(ob)}：只能修改流程数据中的字典、列表和集合")


# Exceptions outside the Exception tree could stop a worker (SystemExit) or catch the
# timeout; classes could define __exit__ that swallows it. None are needed in diagrams.
# setattr/delattr would reach helpers and classes (see _write).
_BUILTINS = {k: v for k, v in safe_builtins.items()
             if k not in {"__build_class__", "_getattr_", "BaseException", "SystemExit",
                          "KeyboardInterrupt", "GeneratorExit", "setattr", "delattr"}}
_BUILTINS.update(
    len=len, min=min, max=max, sum=_sum, sorted=sorted, any=any, all=all, abs=abs,
    round=_round, range=_bounded_range, enumerate=enumerate, zip=zip, list=list,
    dict=dict, set=set, tuple=tuple, str=str, int=int, float=float, bool=bool,
    isinstance=isinstance, reversed=reversed, map=map, filter=filter, pow=_pow, divmod=_divmod,
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
    "_write_": _write,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,  # output is collected and dropped
    "_apply_": lambda f, *a, **kw: f(*a, **kw),
    # operators, see _Policy
    "_add_": _add, "_mul_": _mul, "_pow_": _pow, "_lshift_": _lshift, "_floordiv_": _floordiv,
    "_mod_": _mod, "_format_": _format,
}


# --- compiling ---------------------------------------------------------------------------------

class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the operator guards and our refusals.

    The guard calls are made after a node's children are visited, so RestrictedPython never
    sees (and refuses) their underscore names, as with its own _getattr_ and _write_.
    """
    _OPERATORS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_",
                  ast.FloorDiv: "_floordiv_", ast.Mod: "_mod_"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if isinstance(node.op, ast.Add):
            # a + b + c is ((a + b) + c): one _add_(a, b, c). The operands are all evaluated
            # before the first addition, which differs from Python only in which error comes
            # first when an operand raises after a failed addition.
            operands = [node.right]
            left = node.left
            while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
                operands.append(left.right)
                left = left.left
            operands.append(left)
            operands.reverse()
            call = ast.Call(func=ast.Name("_add_", ast.Load()), args=[self.visit(o) for o in operands],
                            keywords=[])
            copy_locations(call, node)
            return call
        node = self.node_contents_visit(node)
        guard = self._OPERATORS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        spec = node.format_spec
        if spec is None:
            return node
        if isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values):
            try:   # a constant spec is checked now, so the author hears of it at deploy time
                check_format_spec("".join(str(v.value) for v in spec.values))
            except ScriptLimitError as e:
                self.error(node, str(e))
        call = ast.Call(func=ast.Name("_format_", ast.Load()),
                        args=[node.value, ast.Constant(node.conversion), spec], keywords=[])
        copy_locations(call, node)
        node.value, node.conversion, node.format_spec = call, -1, None
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            # helpers and builtins are shared by every instance; task data has no attributes
            self.error(node, f"不允许给属性赋值或删除属性（.{node.attr}）：脚本只能改变流程变量")
        return super().visit_Attribute(node)


def _extra_problems(tree: ast.AST) -> list[tuple[int, str]]:
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
def _compile(source: str, mode: str) -> tuple[Any, tuple[tuple[int, str], ...]]:
    """(code or None, problems). Cached: gateway conditions are evaluated very often."""
    try:
        tree = ast.parse(source, SCRIPT_FILENAME, mode)
    except SyntaxError as e:
        return None, ((e.lineno or 0, f"SyntaxError: {e.msg}"),)
    problems = _extra_problems(tree)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(tree, filename=SCRIPT_FILENAME, policy=_Policy)   # the policy changes tree
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


def _compiled(source: str, mode: str) -> Any:
    code, problems = _compile(source, mode)
    if problems:
        detail = "; ".join(f"line {n}: {msg}" for n, msg in problems)
        raise SandboxError(f"script refused: {detail}", problems)
    return code


def _run(code: Any, namespace: dict[str, Any], time_limit: float, memory_limit: int, max_items: int,
         max_int_bits: int, helper_time_limit: float = 0.0) -> Any:
    """eval() the code with a deadline and a memory limit, tracing only sandbox frames."""
    started = time.monotonic()
    next_memory_check = started + MEMORY_CHECK_INTERVAL
    state = _RunState(time_limit, memory_limit, max_items, max_int_bits, started + time_limit, helper_time_limit)
    outer = getattr(_local, "run", None)
    previous = sys.gettrace()

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal next_memory_check
        now = time.monotonic()
        if now > state.deadline:   # moved on by the time spent in the engine's helpers
            raise _Deadline
        if now >= next_memory_check:
            next_memory_check = now + MEMORY_CHECK_INTERVAL
            if _memory_over(state):
                raise _MemoryExceeded
        return local

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            return local(frame, event, arg)
        # Other frames (helpers, library code) stay with whoever traced before us.
        return previous(frame, event, arg) if previous else None

    # sys.settrace is per thread, so this works in worker threads; signals would not.
    _local.run = state
    sys.settrace(global_trace)
    try:
        return eval(code, namespace)   # eval() runs exec-mode code too (returns None)
    except _Deadline as e:
        timeout = ScriptTimeout(f"脚本运行超过时间上限 {time_limit:g} 秒 "
                                f"(script ran longer than the time limit of {time_limit:g} s)")
        raise timeout.with_traceback(e.__traceback__) from None
    except _MemoryExceeded as e:
        grown = max(_resident() - state.mem_base, 0) // 2**20 if state.mem_base >= 0 else 0
        memory = ScriptMemoryError(f"脚本占用内存超过上限 {memory_limit // 2**20} MB（已增加约 {grown} MB）")
        raise memory.with_traceback(e.__traceback__) from None
    finally:
        sys.settrace(previous)
        _local.run = outer


def _frozen(value: Any) -> Any:
    """A helper's value as every instance may share it: containers cannot be changed."""
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    return value


def _credited(helper: Callable[..., Any]) -> Callable[..., Any]:
    """An engine helper (workdays, …) whose running time is given back to the calling script's
    deadline: the time limit is for the script's own work, and a helper may wait for the
    database (a cold working-day calendar) on a busy machine, which once timed out a plain
    `${workdays(1)}` in CI. The credit is bounded per run (helper_time_limit), so a script
    that calls a slow helper in a loop still ends."""
    def call(*args: Any, **kwargs: Any) -> Any:
        state = getattr(_local, "run", None)
        if state is None:
            return helper(*args, **kwargs)
        began = time.monotonic()
        try:
            return helper(*args, **kwargs)
        finally:
            spent = min(time.monotonic() - began, state.helper_credit)
            state.helper_credit -= spent
            state.deadline += spent
    # its name for error messages, but nothing in __dict__ (functools.wraps would put __wrapped__
    # there, a way back to the bare helper): a helper carries no state a script could reach
    call.__name__ = call.__qualname__ = getattr(helper, "__name__", "helper")
    call.__doc__ = getattr(helper, "__doc__", None)
    return call


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment semantics, but compiled and run inside the sandbox."""

    def __init__(self, helpers: dict[str, Any] | None = None, time_limit: float = 2.0,
                 memory_limit: int = MEMORY_LIMIT, max_items: int = MAX_ITEMS,
                 max_int_bits: int = MAX_INT_BITS, helper_time_limit: float = HELPER_TIME_LIMIT) -> None:
        super().__init__({k: _credited(v) if callable(v) else _frozen(v) for k, v in (helpers or {}).items()})
        self.helper_time_limit = helper_time_limit
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.max_items = max_items
        self.max_int_bits = max_int_bits

    def _check_overwrite(self, context: dict[str, Any], protected: Iterable[str]) -> None:
        clash = set(protected).intersection(context)
        if clash:
            raise SandboxError(
                "Task data overwrites predefined function(s); rename these variables "
                f"or fields: {sorted(clash)}")

    def _namespace(self, context: dict[str, Any], external_context: dict[str, Any] | None) -> dict[str, Any]:
        ns = dict(external_context or {})
        ns.update(context)
        ns.update(self.globals)
        ns.update(_GUARDS)   # last: task data must never replace a guard
        return ns

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        # As in TaskDataEnvironment, task data may shadow external context (data
        # objects are copied into task data), but never a helper.
        self._check_overwrite(context, self.globals)
        code = _compiled(expression, "eval")
        return _run(code, self._namespace(context, external_context), self.time_limit, self.memory_limit,
                    self.max_items, self.max_int_bits, self.helper_time_limit)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        external_context = external_context or {}
        self._check_overwrite(context, [*self.globals, *external_context])
        code = _compiled(script, "exec")
        ns = self._namespace(context, external_context)
        try:
            _run(code, ns, self.time_limit, self.memory_limit, self.max_items, self.max_int_bits,
                 self.helper_time_limit)
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

    def __init__(self, helpers: dict[str, Any] | None = None, time_limit: float = 2.0,
                 memory_limit: int = MEMORY_LIMIT, max_items: int = MAX_ITEMS,
                 max_int_bits: int = MAX_INT_BITS) -> None:
        super().__init__(environment=SandboxEnvironment(helpers, time_limit, memory_limit, max_items, max_int_bits))

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as e:
            # SpiffWorkflow's message for a failed expression drops the cause; a refusal by
            # the sandbox is the whole story ("乘方结果过大 …"), so it is kept in the message.
            cause = e.__context__
            if isinstance(cause, SandboxError) and str(cause) not in str(e):
                e.args = (f"{e.args[0]}: {cause}",) + e.args[1:]
            raise

    def validate(self, expression: str) -> None:
        problems = check_source(expression, "eval")
        if problems:
            detail = "; ".join(f"line {n}: {msg}" for n, msg in problems)
            if any(msg.startswith("SyntaxError") for _, msg in problems):
                # SpiffWorkflow's DMN engine tells unary tests ("< 5") apart by catching SyntaxError.
                raise SandboxSyntaxError(f"expression refused: {detail}", problems)
            raise SandboxError(f"expression refused: {detail}", problems)

    def get_error_line_number_and_content(self, script: str, err: BaseException) -> tuple[int, str]:
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
