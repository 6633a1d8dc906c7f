"""Deploy-time checks of a parsed bundle: topics, scripts, conditions, timers, expressions.

Everything that will run is compiled through the sandbox here, so an unsafe or broken
script is refused at deploy time with its element and line, not found at run time.
"""
import ast
from collections.abc import Collection
import re
from datetime import date, datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.defaults import ScriptTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from qihu.engine.errors import Problem, bilingual
from qihu.engine.listeners import Listeners
from qihu.engine.dialect.sandbox import _BUILTINS, SandboxEnvironment, check_source
from qihu.engine.dialect.specs import (ExternalTask, QihuUserTask, QihuMessageEventDefinition, expression_of,
                                       QihuCallActivity)
from qihu.engine.runtime import sla
from qihu.engine.dialect import timers
from qihu.engine.storage.limits import column_length
from qihu.engine.storage.models import Definition, MessageStart, Subscription, Task, TaskCandidate


def _all_specs(info):
    yield info.spec
    yield from info.subprocess_specs.values()


def _event_definitions(ts):
    d = getattr(ts, "event_definition", None)
    if d is None:
        return []
    return list(getattr(d, "event_definitions", None) or [d])


def check_bundle(bundle, handlers, listeners=None, functions=None):
    """Every problem of a parsed bundle; `listeners.definition_checked` add their own per process.

    `functions`: the names of the script engine's helpers (workdays, now …); given, an
    expression calling any other function (a JUEL bean call such as `${dateTime()}`) is refused."""
    problems = []
    seen = set()

    def problem(element, message, offset=None):
        file, line = bundle.where(element)
        if offset and line:
            message = f"line {offset} of the expression: {message}"
        problems.append(Problem(message, file=file, element=element, line=line))

    def checked(element, source, mode, what, idioms):
        if source is None or not str(source).strip():
            return
        found = check_source(str(source), mode)
        for line, msg in found:
            english = f"{what}: {msg}"
            if line and mode == "exec" and bundle.where(element)[1]:
                english = f"line {line} of the expression: {english}"
                problem(element, bilingual(f"{_what_zh(what)}第 {line} 行有误", english))
            else:
                problem(element, bilingual(f"{_what_zh(what)}有误", english))
        if idioms and not found:
            for msg in camunda_idioms(str(source), mode, functions):
                problem(element, bilingual(f"{_what_zh(what)}有误", f"{what}: {msg}"))

    def code(element, source, mode, what):
        # the diagram's own expressions and scripts: Python, and no Java/JUEL bean idioms
        checked(element, source, mode, what, True)

    def listener_code(element, source, mode, what):
        # what a listener checks (figure.* properties) has helpers of its own, such as var()
        checked(element, source, mode, what, False)

    problems.extend(check_dmn(bundle))
    problems.extend(check_returns(bundle))
    # ${...} in camunda:* attributes no other check reads (jobPriority, formKey …): element ids
    # repeat across files, so each problem keeps the file the attribute was found in
    for file, element, attr, expr in getattr(bundle, "attribute_expressions", ()):
        found = check_source(expr, "eval")
        messages = [m for _, m in found] or camunda_idioms(expr, "eval", functions)
        problems.extend(Problem(bilingual(f"{attr} 表达式有误", f"{attr}: {m}"), file=file, element=element, line=bundle.lines.get((file, element)))
                        for m in messages)
    for info in bundle.processes.values():
        try:
            steps = sla.scheme(info.properties)
            if not steps or any(c not in sla.COLOUR_NAMES for _, c in steps):
                raise ValueError(f"colours must be among {', '.join(sla.COLOUR_NAMES)}")
        except ValueError as e:
            problem(info.key, bilingual("时限颜色方案（slaScheme / slaThresholds 属性）有误",
                                        f"SLA colour scheme (slaScheme / slaThresholds property): {e}"))
        for what_zh, what, value, column in (("流程 id", "process id", info.key, Definition.key),
                                             ("流程名称", "process name", info.name, Definition.name)):
            _too_long(info.key, what_zh, what, value, column, problem)
        for m in [*info.message_starts, *info.signal_starts]:
            _too_long(info.key, "启动消息名称", "start message name", m, MessageStart.message_name, problem)
        if listeners is not None:
            # e.g. the 晾晒 figure.* properties
            Listeners.call(listeners.definition_checked, info, problem, listener_code)
        for spec in _all_specs(info):
            for ts in spec.task_specs.values():
                element = getattr(ts, "bpmn_id", None) or ts.name
                if (spec.name, ts.name) in seen:
                    continue
                seen.add((spec.name, ts.name))
                if isinstance(ts, ScriptTask):
                    code(element, ts.script, "exec", "script")
                for condition, target in getattr(ts, "cond_task_specs", None) or []:
                    source = condition.args[0] if hasattr(condition, "args") else condition
                    code(element, source, "eval", f"condition of the flow to {target}")
                for attr in ("condition", "cardinality"):
                    value = getattr(ts, attr, None)
                    if isinstance(value, str):
                        code(element, value, "eval", attr)
                if isinstance(ts, ExternalTask):
                    if ts.topic is not None and ts.topic not in handlers:   # None: refused by the parser
                        known = ", ".join(handlers.topics()) or "none"
                        problem(element, bilingual(f"主题 {ts.topic!r} 没有注册处理函数",
                                                   f"no handler is registered for topic {ts.topic!r} (known: {known})"))
                if isinstance(ts, (ExternalTask, QihuUserTask)):
                    for name, p in list(ts.in_params) + list(ts.out_params):
                        for expr in p.expressions():
                            code(element, expr, "eval", f"parameter {name}")
                if isinstance(ts, QihuCallActivity):
                    for what, expr in ts.expressions():
                        code(element, expr, "eval", what)
                if isinstance(ts, QihuUserTask):
                    # A user task naming nobody is not refused (Camunda runs it): it waits in the
                    # 待分派 queue, and bundle_warnings() says so in the deploy result.
                    for attr, raw in ts.assignment.items():
                        expr = expression_of(raw)
                        if expr is not None:
                            code(element, expr, "eval", f"camunda:{attr}")
                        elif attr == "priority":
                            try:
                                int(raw)
                            except ValueError:
                                problem(element, bilingual(f"camunda:priority {raw!r} 不是数字或 ${{表达式}}",
                                                           f"camunda:priority {raw!r} is not a number or ${{expression}}"))
                _check_lengths(ts, element, problem)
                for d in _event_definitions(ts):
                    if isinstance(d, TimerEventDefinition):
                        _check_timer(d, element, problem, code)
                    elif isinstance(d, QihuMessageEventDefinition) and d.expression:
                        code(element, d.expression, "eval", "message payload")
                    elif type(d).__name__ == "ConditionalEventDefinition":
                        code(element, d.expression, "eval", "condition")
    return problems


def _too_long(element, what_zh, what, value, column, problem):
    """A problem naming the element when a name or id is longer than the column it is stored in
    (PostgreSQL refuses it at run time, every start of the process would fail)."""
    n = column_length(column)
    if isinstance(value, str) and n is not None and len(value) > n:
        problem(element, bilingual(f"{what_zh}过长（最多 {n} 个字，现 {len(value)} 个字）",
                                   f"{what} of {element[:80]!r} is longer than {n} characters: {len(value)}"))


def _check_lengths(ts, element, problem):
    """A task's id, name, lane and candidate lists against the task table's columns."""
    _too_long(element, "元素 id", "element id", getattr(ts, "bpmn_id", None), Task.element_id, problem)
    _too_long(element, "任务名称", "task name", getattr(ts, "bpmn_name", None), Task.name, problem)
    _too_long(element, "泳道名称", "lane name", getattr(ts, "lane", None), Task.lane, problem)
    if isinstance(ts, QihuUserTask):
        for attr, column in (("candidateGroups", Task.candidate_groups), ("candidateUsers", Task.candidate_users)):
            raw = ts.assignment.get(attr)
            if isinstance(raw, str) and expression_of(raw) is None:
                _too_long(element, f"camunda:{attr}", f"camunda:{attr}", raw, column, problem)
                for one in raw.split(","):
                    _too_long(element, f"camunda:{attr} 中的名称", f"a name in camunda:{attr}", one.strip(),
                              TaskCandidate.name, problem)
        assignee = ts.assignment.get("assignee")
        if isinstance(assignee, str) and expression_of(assignee) is None:
            _too_long(element, "camunda:assignee", "camunda:assignee", assignee, Task.assignee, problem)
    for d in _event_definitions(ts):
        name = getattr(d, "name", None)
        if isinstance(name, str) and "${" not in name:
            _too_long(element, "消息或信号名称", "message or signal name", name, Subscription.message_name, problem)


# What a checked piece of code is, as a designer reads it (the English `what` stays in brackets).
_WHAT = {"script": "脚本", "condition": "条件", "cardinality": "多实例的实例数", "message payload": "消息内容",
         "timer expression": "定时器表达式"}
_DMN_WHAT = {"input expression": "输入表达式", "input entry": "输入条件", "output entry": "输出值"}


def _what_zh(what: str) -> str:
    if what in _WHAT:
        return _WHAT[what]
    if what.startswith("condition of the flow to "):
        return f"通往 {what[len('condition of the flow to '):]} 的连线条件"
    if what.startswith("parameter "):
        return f"参数 {what[len('parameter '):]} "
    return f"{what} 表达式"


def names_nobody(ts) -> bool:
    """A user task with no assignee, candidate group or candidate user and in no lane: at run
    time it waits unassigned (待分派) until an administrator or dispatcher assigns or offers it."""
    return isinstance(ts, QihuUserTask) and not ts.lane and \
        not any((ts.assignment.get(a) or "").strip() for a in ("assignee", "candidateGroups", "candidateUsers"))


def bundle_warnings(bundle) -> list[Problem]:
    """What a deploy accepts but the administrator should know (DeployResult.warnings): today
    the user tasks that name nobody, with file, line and element."""
    warnings = []
    seen = set()
    for info in bundle.processes.values():
        for spec in _all_specs(info):
            for ts in spec.task_specs.values():
                if (spec.name, ts.name) in seen or not names_nobody(ts):
                    continue
                seen.add((spec.name, ts.name))
                element = getattr(ts, "bpmn_id", None) or ts.name
                file, line = bundle.where(element)
                name = " ".join((getattr(ts, "bpmn_name", None) or "").split())   # a Modeler name may hold line breaks
                label = f"「{name}」" if name else element
                warnings.append(Problem(
                    f"用户任务{label}没有指定办理人、候选组或候选人，也不在泳道中：运行时进入待分派队列，"
                    "由管理员或分派员指派或分派"
                    f"（user task {element} names no assignee, candidate group or candidate user and is in no "
                    "lane: it waits in the unassigned queue until an administrator or dispatcher assigns it）",
                    file=file, element=element, line=line))
    return warnings


# Every attribute and method of the values process data and helpers hold (text, numbers,
# lists, dicts, dates): any other `.name` in an expression is a Java bean or method.
_PYTHON_ATTRIBUTES = frozenset(
    n for t in (str, int, float, bool, list, dict, set, tuple, datetime, date, timedelta, timezone)
    for n in dir(t) if not n.startswith("_"))
_BEAN_HINT = "qihu 不运行 Java bean 和 JUEL 方法调用，请用 Python 写，或改用外部任务"


def camunda_idioms(source: str, mode: str, functions: Collection[str] | None = None) -> list[str]:
    """What a Camunda designer writes that compiles as Python but cannot run in qihu, found
    at deploy instead of failing with NameError / AttributeError at run time: Camunda's
    `execution` object, calls of functions that are neither Python builtins nor the engine's
    helpers (`${dateTime()}`, `${myBean.method()}`), and Java methods or bean properties
    (`${order.getAmount()}`, `${list.size()}`). Each message is Chinese with the English
    in brackets. Scripts (exec) are only checked for `execution`: they may define functions."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return []
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in n.posonlyargs + n.args + n.kwonlyargs + [x for x in (n.vararg, n.kwarg) if x]}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    out = []

    def say(msg):
        if msg not in out:
            out.append(msg)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "execution" and "execution" not in bound:
            say("Camunda 的 execution 对象在 qihu 中不存在：直接读写流程变量，例如 amount 或 amount = 1"
                "（Camunda's execution object does not exist in qihu: read and set process variables by name）")
        if mode != "eval":
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            if functions is not None and name not in bound and name not in _BUILTINS and name not in functions \
                    and name != "execution":
                say(f"调用了未知函数 {name}()：{_BEAN_HINT}"
                    f"（{name}() is neither a Python builtin nor an engine helper: bean calls are not run）")
        elif isinstance(node, ast.Attribute) and node.attr not in _PYTHON_ATTRIBUTES \
                and not (isinstance(node.value, ast.Name) and node.value.id == "execution"):
            target = ast.unparse(node)
            say(f"{target} 不是 Python 的方法或属性：{_BEAN_HINT}；读取字典中的值请写 x[\"key\"]"
                f"（{target} is a Java method or bean property, not Python: bean calls are not run）")
    return out


SUPPORTED_HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")


def check_dmn(bundle):
    """DMN input expressions, input entries (unary tests such as `< 5` too) and output entries."""
    problems = []

    def problem(element, message):
        file, line = bundle.where(element)
        problems.append(Problem(message, file=file, element=element, line=line))

    def report(element, what, text, found):
        if found:   # one problem per cell, all its reasons together
            problem(element, bilingual(f"决策表的{_DMN_WHAT.get(what, what)} {text!r} 有误",
                                       f"{what} {text!r}: " + "; ".join(msg for _, msg in found)))

    def refused(text):
        # `?` is SpiffWorkflow's placeholder for the input (FEEL lists and intervals are read so,
        # engine/dialect/dmn.py): checked as a name, as the DMN engine replaces it outside strings
        text = re.sub(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""", "v", text)
        found = check_source(text, "eval")
        if any(msg.startswith("SyntaxError") for _, msg in found):
            found = check_source(f"v {text}", "eval")   # a unary test: the engine puts the input on the left
        return found

    for decision_id, dmn_parser in bundle.dmn.items():
        for table in dmn_parser.node.iter("{*}decisionTable"):
            policy = (table.get("hitPolicy") or "UNIQUE").upper()
            if policy not in SUPPORTED_HIT_POLICIES or table.get("aggregation"):
                what = f"{policy} with aggregation {table.get('aggregation')}" if table.get("aggregation") else policy
                problem(table.get("id") or decision_id, bilingual(
                        f"不支持命中策略 {what}：只支持 UNIQUE、FIRST、ANY、COLLECT",
                        f"hit policy {what} is not supported (SpiffWorkflow evaluates UNIQUE, FIRST, ANY as the "
                        "first matching rule and COLLECT as the list of all matches)"))
        try:
            dmn_parser.parse()
        except Exception as e:
            problem(decision_id, bilingual("无法读取决策", f"cannot read decision: {e}"))
            continue
        for table in dmn_parser.decision.decisionTables:
            for inp in table.inputs:
                if (inp.expression or "").strip():
                    report(inp.id, "input expression", inp.expression, check_source(inp.expression, "eval"))
            for rule in table.rules:
                for entry in rule.inputEntries:
                    for text in entry.lhs:
                        if text and text.strip() not in ("", "-"):
                            report(entry.id, "input entry", text, refused(text))
                for entry in rule.outputEntries:
                    if entry.text and entry.text.strip():
                        report(entry.id, "output entry", entry.text, check_source(entry.text, "eval"))
    return problems


def _bad_timer(raw) -> str:
    return bilingual(f"定时器 {raw!r} 不是有效的 ISO 8601 日期、时长或循环（如 PT5M、P3D、R3/PT1H、2026-12-01T09:00:00）",
                     f"timer {raw!r} is not a valid ISO 8601 date, duration or cycle "
                     "(e.g. PT5M, P3D, R3/PT1H, 2026-12-01T09:00:00)")


def _check_timer(d, element, problem, code):
    try:
        literal = ast.literal_eval(d.expression)
    except (ValueError, SyntaxError):
        literal = _constant_text(d.expression)
    if isinstance(literal, str):
        try:
            timers.validate_literal(d, literal)
        except timers.CycleTooShort as e:
            problem(element, str(e))
        except ValueError as e:
            if timers.is_cron(literal):   # Quartz cron: cron_of says which field is wrong, in Chinese
                problem(element, str(e))
            else:
                problem(element, _bad_timer(getattr(d, 'raw', literal)))
        except Exception:
            problem(element, _bad_timer(getattr(d, 'raw', literal)))
    else:
        code(element, d.expression, "eval", "timer expression")


# Nodes of an expression that reads nothing but its own constants ("R/" + "PT0S").
_CONSTANT_NODES = (ast.Expression, ast.Constant, ast.BinOp, ast.Add, ast.Mult, ast.UnaryOp, ast.USub,
                   ast.JoinedStr, ast.FormattedValue)


def _constant_text(expression):
    """The text a constant timer expression gives, evaluated in the sandbox; None otherwise."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return None
    if not all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(tree)) or check_source(expression, "eval"):
        return None
    try:
        value = SandboxEnvironment(time_limit=0.5).evaluate(expression, {})
    except Exception:   # noqa: BLE001 - the run-time error will say it; the check only looks for text
        return None
    return value if isinstance(value, str) else None


def check_returns(bundle):
    """camunda:property returnTo (退单, engine/tasks/handoff.py) names another user task of the same
    (sub)process that comes before it (engine/dialect/parser.py refuses it on anything but a user task)."""
    from qihu.engine.dialect.state import RETURN_TO, return_target
    problems = []

    def problem(element, message):
        file, line = bundle.where(element)
        problems.append(Problem(message, file=file, element=element, line=line))

    for info in bundle.processes.values():
        scopes = list(_all_specs(info))
        for spec in scopes:
            for ts in spec.task_specs.values():
                target = return_target(ts)
                if target is None:
                    continue
                element = getattr(ts, "bpmn_id", None) or ts.name
                dest = spec.task_specs.get(target)
                if not isinstance(dest, QihuUserTask):
                    elsewhere = any(target in other.task_specs for other in scopes if other is not spec)
                    names = ", ".join(sorted(t.bpmn_id for t in spec.task_specs.values()
                                             if isinstance(t, QihuUserTask) and t is not ts)) or "none"
                    why = "is in another (sub)process" if elsewhere else "is not a user task of this (sub)process"
                    why_zh = "在另一个（子）流程中" if elsewhere else "不是本（子）流程的用户任务"
                    problem(element, bilingual(f"退单目标 {target!r} {why_zh}",
                                               f"{RETURN_TO} {target!r} {why} (user tasks here: {names})"))
                elif dest is ts:
                    problem(element, bilingual(f"退单目标 {target!r} 是任务自己：不能退回给自己",
                                               f"{RETURN_TO} {target!r}: a task cannot be returned to itself"))
                elif not _reaches(dest, ts):
                    problem(element, bilingual(f"退单目标 {target!r} 不在 {element} 之前（没有从它到此任务的连线路径）",
                                               f"{RETURN_TO} {target!r} does not come before {element} "
                                               f"(no sequence flow path from {target} to {element})"))
    return problems


def _reaches(start, goal):
    seen, todo = set(), [start]
    while todo:
        t = todo.pop()
        for nxt in t.outputs:
            if nxt is goal:
                return True
            if nxt.name not in seen:
                seen.add(nxt.name)
                todo.append(nxt)
    return False
