"""The sandbox for Python in diagrams: deploy-time checks, run-time refusals, limits,
TaskDataEnvironment data semantics and use inside a real SpiffWorkflow run."""
import sys
import threading
import time

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from qihu.engine.dialect.sandbox import (
    SandboxEnvironment, SandboxError, SandboxScriptEngine, ScriptTimeout, check_source)


@pytest.fixture
def env():
    return SandboxEnvironment(helpers={"double": lambda x: 2 * x, "RATE": 3})


# --- data semantics -------------------------------------------------------------

def test_evaluate_arithmetic_and_conditions(env):
    data = {"a": 4, "b": 7, "tags": ["x", "y"]}
    assert env.evaluate("a * b + 1", data) == 29
    assert env.evaluate("a < b and 'y' in tags", data) is True
    assert env.evaluate("sum(x * x for x in range(4))", {}) == 14
    assert env.evaluate("max(a, b) if a > 10 else min(a, b)", data) == 4
    assert data == {"a": 4, "b": 7, "tags": ["x", "y"]}     # evaluate never writes


def test_chinese_strings(env):
    assert env.evaluate("category == '环保'", {"category": "环保"}) is True
    data = {"name": "张三"}
    env.execute("greeting = '您好，' + name", data)
    assert data["greeting"] == "您好，张三"


def test_execute_updates_creates_and_deletes(env):
    data = {"a": 1, "b": 2, "gone": "x"}
    assert env.execute("a = a + 10\nc = a + b\ndel gone", data) is True
    assert data == {"a": 11, "b": 2, "c": 13}


def test_execute_does_not_leak_helpers_builtins_or_functions(env):
    data = {"n": 2}
    env.execute(
        "def twice(v):\n    return double(v)\n"
        "m = twice(n) * RATE\n"
        "f = len\n"
        "print('collected, not written to data')\n", data)
    assert data == {"n": 2, "m": 12}


def test_mutate_list_and_dict_in_data(env):
    data = {"items": [], "info": {"a": 1}}
    env.execute("items.append(1)\ninfo['b'] = 2\ninfo['a'] = info['a'] + 1\nitems += [2]", data)
    assert data == {"items": [1, 2], "info": {"a": 2, "b": 2}}


def test_augmented_assignment_on_items_is_refused():
    # RestrictedPython only allows `+=` and friends on plain names.
    [(line, msg)] = check_source("info = {'a': 1}\ninfo['a'] += 1")
    assert line == 2 and "Augmented assignment" in msg


def test_unpacking_loops_and_datetime(env):
    data = {"pairs": [[1, 2], [3, 4]]}
    env.execute(
        "total = 0\n"
        "for x, y in pairs:\n    total += x * y\n"
        "first, second = pairs\n"
        "due = date(2026, 11, 2) + timedelta(days=3)\n"
        "stamp = datetime(2026, 1, 1, tzinfo=timezone.utc).year\n", data)
    assert data["total"] == 14
    assert data["first"] == [1, 2]
    assert data["due"].isoformat() == "2026-11-05"
    assert data["stamp"] == 2026


def test_helpers_cannot_be_overwritten_by_task_data(env):
    with pytest.raises(SandboxError, match="double"):
        env.execute("x = 1", {"double": 5})
    with pytest.raises(SandboxError, match="double"):
        env.evaluate("double", {"double": 5})
    data = {}
    env.execute("double = 1\nx = double", data)   # rebinding inside a script stays local
    assert data == {"x": 1}


def test_external_context_visible_but_not_written_back(env):
    data = {"a": 1}
    env.execute("b = a + obj['v']\nobj['seen'] = True", data, {"obj": {"v": 5}})
    assert data == {"a": 1, "b": 6}
    assert env.evaluate("a + obj['v']", {"a": 1}, {"obj": {"v": 5}}) == 6


def test_missing_attribute_is_an_error_not_none(env):
    # RestrictedPython's safer_getattr would return None for a missing attribute.
    with pytest.raises(AttributeError):
        env.evaluate("a.nosuch", {"a": 1})


# --- deploy-time checks ---------------------------------------------------------

def test_clean_code_passes():
    assert check_source("x = 1\nif x:\n    y = [i for i in range(3)]\n") == []
    assert check_source("total > 10 and category == '环保'", "eval") == []


def test_import_reported_with_line():
    assert check_source("a = 1\nb = 2\nimport os\n") == [(3, "import is not allowed")]
    assert (3, "import is not allowed") in check_source("a = 1\n\nfrom os import path\n")


@pytest.mark.parametrize("source", ["().__class__.__bases__", "x._secret", "_hidden"])
def test_underscore_access_rejected(source):
    problems = check_source("ok = 1\nv = " + source)
    assert problems and all(line == 2 for line, _ in problems)
    assert any("_" in msg for _, msg in problems)


@pytest.mark.parametrize("name, call", [
    ("open", "open('/etc/passwd')"),
    ("eval", "eval('1')"),
    ("exec", "exec('x = 1')"),
    ("__import__", "__import__('os')"),
    ("getattr", "getattr(x, 'y')"),
    ("globals", "globals()"),
    ("compile", "compile('1', 'f', 'eval')"),
    ("memoryview", "memoryview(b'')"),
])
def test_denied_names_reported(name, call):
    problems = check_source(f"x = 1\n\n{call}\n")
    assert (3, f"name {name} is not allowed") in problems
    assert (1, f"name {name} is not allowed") in check_source(call, "eval")


def test_syntax_error_reported_with_line():
    [(line, msg)] = check_source("a = 1\nb = (\n")
    assert line == 2 and "SyntaxError" in msg


@pytest.mark.parametrize("source, message", [
    ("class A:\n    pass", "class definitions are not allowed"),
    ("try:\n    x = 1\nexcept:\n    pass", "bare 'except:' is not allowed"),
    ("try:\n    x = 1\nfinally:\n    pass", "'try ... finally' is not allowed"),
])
def test_constructs_that_could_defeat_the_time_limit(source, message):
    assert any(message in msg for _, msg in check_source(source))


# --- run-time refusal when the check was bypassed --------------------------------

@pytest.mark.parametrize("source", [
    "import os", "from os import path", "().__class__.__bases__", "x._secret",
    "open('/etc/passwd')", "eval('1')", "exec('1')", "__import__('os')", "getattr(x, 'y')",
])
def test_execute_and_evaluate_refuse(env, source):
    with pytest.raises(SandboxError) as err:
        env.execute("x = 1\n" + source, {"x": 1})
    assert err.value.lineno == 2
    if not source.startswith(("import", "from")):
        with pytest.raises(SandboxError):
            env.evaluate(source, {"x": 1})


def test_run_time_guards(env):
    with pytest.raises(NameError):
        env.evaluate("type(1)", {})                # not in the builtins
    with pytest.raises(AttributeError):
        env.evaluate("Exception.mro()", {})        # would reach BaseException
    with pytest.raises(NotImplementedError):
        env.evaluate("'{}'.format(1)", {})          # str.format can reach attributes
    with pytest.raises(NameError):
        env.execute("raise SystemExit", {})         # could stop a worker


def test_range_is_bounded(env):
    assert env.evaluate("len(range(100000))", {}) == 100000
    with pytest.raises(SandboxError, match="range"):
        env.evaluate("range(10**9)", {})
    with pytest.raises(SandboxError, match="range"):
        env.evaluate("range(10**30)", {})
    with pytest.raises(SandboxError, match="range"):
        env.execute("for i in range(10**9):\n    pass", {})


# --- time limit -----------------------------------------------------------------

def test_infinite_loop_times_out_and_trace_is_restored():
    env = SandboxEnvironment(time_limit=0.3)
    before = sys.gettrace()
    started = time.monotonic()
    with pytest.raises(ScriptTimeout, match="0.3"):
        env.execute("x = 1\nwhile True:\n    pass\n", {})
    assert time.monotonic() - started < 1.5
    assert sys.gettrace() is before


def test_timeout_cannot_be_swallowed_by_except_exception():
    env = SandboxEnvironment(time_limit=0.3)
    script = "while True:\n    try:\n        while True:\n            pass\n    except Exception:\n        pass\n"
    with pytest.raises(ScriptTimeout):
        env.execute(script, {})


def test_timeout_in_expression_and_nested_function():
    env = SandboxEnvironment(time_limit=0.3)
    with pytest.raises(ScriptTimeout):
        env.evaluate("sum(1 for i in range(100000) for j in range(100000))", {})
    with pytest.raises(ScriptTimeout):
        env.execute("def spin():\n    while True:\n        pass\nspin()", {})


def test_previous_trace_function_is_kept_and_restored():
    seen = []

    def tracer(frame, event, arg):
        seen.append(frame.f_code.co_name)
        return None

    env = SandboxEnvironment(helpers={"helper": lambda: 1}, time_limit=0.3)
    sys_before = sys.gettrace()
    sys.settrace(tracer)
    try:
        assert env.evaluate("helper() + 1", {}) == 2
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(sys_before)
    assert "<lambda>" in seen        # non-sandbox frames still reach the old tracer


def test_timeout_works_in_a_worker_thread():
    env = SandboxEnvironment(time_limit=0.3)
    result = {}

    def work():
        try:
            env.execute("while True:\n    pass", {})
        except ScriptTimeout as e:
            result["error"] = e

    t = threading.Thread(target=work)
    t.start()
    t.join(5)
    assert not t.is_alive() and isinstance(result.get("error"), ScriptTimeout)


def test_errors_keep_script_line_numbers(env):
    with pytest.raises(ZeroDivisionError) as err:
        env.execute("a = 1\nb = 2\nc = a / 0\n", {})
    frames = [f for f in err.traceback if str(f.path) == "<qihu-script>"]
    assert frames and frames[-1].lineno + 1 == 3     # pytest line numbers are 0-based


# --- inside SpiffWorkflow -------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:scriptTask id="calc" scriptFormat="python">
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw"/>
    <bpmn:sequenceFlow id="big" sourceRef="gw" targetRef="end_big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">total &gt; 10</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="gw" targetRef="end_small">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">total &lt;= 10</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="end_big"/>
    <bpmn:endEvent id="end_small"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _workflow(script, data):
    parser = CamundaParser()
    parser.add_bpmn_str(BPMN.replace("SCRIPT", script).encode(), "inline.bpmn")
    wf = BpmnWorkflow(parser.get_spec("proc"), script_engine=SandboxScriptEngine())
    wf.get_tasks(spec_name="start")[0].data.update(data)
    return wf


def _finished_at(wf):
    return {t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.name.startswith("end_")}


@pytest.mark.parametrize("a, b, end", [(7, 8, "end_big"), (2, 3, "end_small")])
def test_workflow_run(a, b, end):
    wf = _workflow("total = a + b", {"a": a, "b": b})
    wf.do_engine_steps()
    assert wf.completed
    assert wf.data["total"] == a + b
    assert _finished_at(wf) == {end}


def test_workflow_script_error_has_line_number():
    wf = _workflow("x = a\ny = 2\ntotal = x / 0", {"a": 1, "b": 2})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert err.value.line_number == 3
    assert err.value.error_line == "total = x / 0"


def test_workflow_refused_script_has_line_number():
    wf = _workflow("x = a\nimport os\ntotal = 1", {"a": 1, "b": 2})
    with pytest.raises(WorkflowTaskException) as err:
        wf.do_engine_steps()
    assert err.value.error_type == "SandboxError"
    assert err.value.line_number == 2
    assert err.value.error_line == "import os"


def test_engine_validate():
    engine = SandboxScriptEngine()
    engine.validate("total > 10")
    with pytest.raises(SandboxError, match="open"):
        engine.validate("open('/etc/passwd')")
