"""Task specs qihu adds to SpiffWorkflow's Camunda flavour."""
import re
from copy import deepcopy

import keyword

from collections.abc import Iterable

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException, WorkflowTaskException
from SpiffWorkflow.camunda.specs.multiinstance_task import (ParallelMultiInstanceTask, SequentialMultiInstanceTask,
                                                            update_task_spec)
from SpiffWorkflow.bpmn.specs.defaults import CallActivity
from SpiffWorkflow.exceptions import SpiffWorkflowException

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask, NoneTask
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition


class ExternalTask(ServiceTask):
    """A Camunda external task (camunda:type="external").

    Running it only marks it STARTED; the engine then serves it by calling the handler
    registered for `topic` and completing it (or recording an incident).
    """

    def __init__(self, wf_spec, bpmn_id, topic, inputs=None, outputs=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.in_params = inputs or []    # [(name, Param)]
        self.out_params = outputs or []  # [(name, Param)]

    def _run_hook(self, my_task):
        return None


class PassThroughTask(NoneTask):
    """bpmn:task and bpmn:manualTask as Camunda 7 runs them: completed the moment they are
    reached. SpiffWorkflow makes them manual (waiting for someone to complete them), and
    an inbox row with no assignee would wait for nobody."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class QihuUserTask(UserTask):
    """A user task with the Camunda assignment attributes kept (raw text, evaluated at run time)."""

    def __init__(self, wf_spec, bpmn_id, form, assignment=None, inputs=None, outputs=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, form=form, **kwargs)
        self.assignment = assignment or {}
        self.in_params = inputs or []
        self.out_params = outputs or []


class CallMapping:
    """One camunda:in / camunda:out of a call activity: every variable (`all`), one variable
    (`source` -> `target`) or an expression's value (`expression` -> `target`)."""

    __slots__ = ("all", "source", "expression", "target")

    def __init__(self, all: bool = False, source: str | None = None, expression: str | None = None,
                 target: str | None = None) -> None:
        self.all, self.source, self.expression, self.target = all, source, expression, target


class QihuCallActivity(CallActivity):
    """A call activity passing variables as Camunda 7 does: the called process gets only what
    a camunda:in names (nothing without one), the caller gets back only what a camunda:out
    names. SpiffWorkflow's own CallActivity copies everything both ways."""

    def __init__(self, wf_spec, bpmn_id, subworkflow_spec, ins=None, outs=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.ins: list[CallMapping] = ins or []
        self.outs: list[CallMapping] = outs or []

    def expressions(self):
        """(what, expression) of every sourceExpression, for the deploy check."""
        for what, mappings in (("camunda:in", self.ins), ("camunda:out", self.outs)):
            for m in mappings:
                if m.expression is not None:
                    yield f"{what} target={m.target}", m.expression

    def _mapped(self, my_task, mappings, data):
        """The variables `mappings` take from `data`, copied: Camunda hands values over, so
        the other instance never changes the caller's (or callee's) own objects."""
        out = {}
        for m in mappings:
            if m.all:
                out.update(data)
            elif m.expression is not None:
                try:
                    out[m.target] = my_task.workflow.script_engine.environment.evaluate(m.expression, dict(data))
                except SpiffWorkflowException:
                    raise
                except Exception as e:
                    raise WorkflowTaskException(f"Error evaluating expression '{m.expression}' "
                                                f"(target {m.target})", task=my_task, exception=e)
            else:
                out[m.target] = data.get(m.source)     # Camunda: a missing source gives null
        return deepcopy(out)

    def copy_data(self, my_task, subworkflow):
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**self._mapped(my_task, self.ins, my_task.data))

    def update_data(self, my_task, subworkflow):
        # The caller keeps its own variables as they were when the call began, plus the outs.
        my_task.data.update(self._mapped(my_task, self.outs, subworkflow.last_task.data))


def _check_collection(task_spec, my_task):
    """A multi-instance over camunda:collection whose variable is missing or not a collection
    fails naming the element (SpiffWorkflow raised a bare TypeError: a traceback from
    `qihu start`). Camunda refuses it at run time too."""
    update_task_spec(my_task)          # SpiffWorkflow's own: inherits the data, sets data_input
    ref = task_spec.data_input if task_spec.cardinality is None else None
    if ref is None:
        return
    value = ref.get(my_task)
    if value is None or isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise WorkflowDataException(
            f"多实例的集合变量 {ref.bpmn_id} 不存在或不是列表（multi-instance collection {ref.bpmn_id!r} is "
            f"{'missing' if value is None else type(value).__name__}, not a list）", task=my_task)


class _CamundaInstances:
    """Camunda 7's multi-instance data: the element variable belongs to its instance (it is not
    written back into the collection, which stays as it was), and what an instance sets goes
    to the process, as any variable does (the last instance to finish wins). SpiffWorkflow's
    Camunda flavour writes the element variable back into the collection and drops the rest."""

    def _update_hook(self, my_task):
        _check_collection(self, my_task)
        return super()._update_hook(my_task)

    def merge_child(self, workflow, child):
        if self.cardinality is not None or self.output_item is None:
            return super().merge_child(workflow, child)
        my_task = child.parent
        element = self.output_item.bpmn_id
        for k, v in child.data.items():
            if k != element and (k not in my_task.data or my_task.data[k] != v):
                my_task.data[k] = v          # before the next sequential instance copies the data
        kept = self.output_item, self.data_output, child.data
        self.output_item = self.data_output = None
        child.data = {}                      # SpiffWorkflow's bookkeeping only: nothing to write back
        try:
            return super().merge_child(workflow, child)
        finally:
            self.output_item, self.data_output, child.data = kept


class QihuSequentialMultiInstanceTask(_CamundaInstances, SequentialMultiInstanceTask):
    pass


class QihuParallelMultiInstanceTask(_CamundaInstances, ParallelMultiInstanceTask):
    pass


MULTI_INSTANCE = {SequentialMultiInstanceTask: QihuSequentialMultiInstanceTask,
                  ParallelMultiInstanceTask: QihuParallelMultiInstanceTask}


class QihuMessageEventDefinition(MessageEventDefinition):
    """Camunda message semantics: a delivered dict payload becomes process variables.

    SpiffWorkflow's Camunda flavour stores the payload under `<task>_Response`; a Camunda
    designer expects `correlate(..., variables)` to set variables, so a dict payload sent
    without an explicit result variable is merged into the task data instead.
    """

    def update_task_data(self, my_task):
        event_data = my_task.internal_data.get(self.name) or {}
        payload, result_var = event_data.get("payload"), event_data.get("result_var")
        if result_var is None and self.result_var is None and isinstance(payload, dict):
            my_task.data.update(payload)
        else:
            my_task.data[result_var or self.result_var or f"{my_task.task_spec.name}_Response"] = payload

    def update_internal_data(self, my_task, event):
        # Keep the sender's choice of result variable (None means: merge).
        my_task.internal_data[self.name] = event.payload

    def throw(self, my_task):
        # Without camunda:expression the whole task data is sent (Camunda Modeler leaves it empty).
        if self.expression:
            result = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        else:
            result = {k: v for k, v in my_task.data.items() if not k.startswith("_")}
        from SpiffWorkflow.bpmn import BpmnEvent
        event = BpmnEvent(self, payload={"payload": result, "result_var": self.result_var})
        my_task.workflow.top_workflow.catch(event)


class Param:
    """A camunda:inputParameter / outputParameter value.

    Camunda semantics: plain text is a string constant, `${...}` is an expression (Python
    here), camunda:script is an expression, camunda:list / camunda:map nest parameters.
    """

    __slots__ = ("kind", "value")

    def __init__(self, kind, value):
        self.kind, self.value = kind, value  # constant|expression|list|map

    def expressions(self):
        """Every expression inside, for deploy-time checking."""
        if self.kind == "expression":
            yield self.value
        elif self.kind == "list":
            for p in self.value:
                yield from p.expressions()
        elif self.kind == "map":
            for p in self.value.values():
                yield from p.expressions()

    def evaluate(self, script_engine, context):
        if self.kind == "constant":
            return self.value
        if self.kind == "expression":
            return script_engine.environment.evaluate(self.value, context)
        if self.kind == "list":
            return [p.evaluate(script_engine, context) for p in self.value]
        return {k: p.evaluate(script_engine, context) for k, p in self.value.items()}


def expression_of(text):
    """`${expr}` or `#{expr}` -> `expr` as Python; anything else -> None (a constant).

    Designers coming from Camunda write the JUEL idioms inside `${...}`; the common ones are
    read as Python (see `juel`), so `${approved == true && !late}` works as they expect.
    """
    if text is None:
        return None
    t = text.strip()
    if len(t) > 3 and t[0] in "$#" and t[1] == "{" and t.endswith("}"):
        return juel(t[2:-1].strip())
    return None


_STRING = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_MASKED = re.compile("\x00(\\d+)\x00")
_JUEL = [(re.compile(r"&&"), " and "), (re.compile(r"\|\|"), " or "), (re.compile(r"!(?!=)"), " not "),
         (re.compile(r"\btrue\b"), "True"), (re.compile(r"\bfalse\b"), "False"), (re.compile(r"\bnull\b"), "None"),
         (re.compile(r"\beq\b"), "=="), (re.compile(r"\bne\b"), "!="), (re.compile(r"\blt\b"), "<"),
         (re.compile(r"\bgt\b"), ">"), (re.compile(r"\ble\b"), "<="), (re.compile(r"\bge\b"), ">="),
         (re.compile(r"\bdiv\b"), "/"), (re.compile(r"\bmod\b"), "%"),
         # `empty x`: null, an empty string or an empty collection (Python's falsiness, so 0 too)
         (re.compile(r"\bempty\b\s*"), " not ")]
_OPEN, _CLOSE = "([{", ")]}"


def juel(expr):
    """The JUEL operators and literals Camunda designers use, as Python, outside string literals:
    && || ! true false null eq ne lt gt le ge div mod empty, and the conditional
    `a ? b : c` (as `(b if a else c)`). Anything else is taken as Python already."""
    literals = []

    def mask(m):
        literals.append(m.group(0))
        return f"\x00{len(literals) - 1}\x00"
    code = _STRING.sub(mask, expr)
    for pattern, repl in _JUEL:
        code = pattern.sub(repl, code)
    code = _keyword_names(code)
    if "?" in code:
        code = _conditional(code)
    return _MASKED.sub(lambda m: literals[int(m.group(1))], code).strip()


# Python keywords that can never stand in a Python expression: in `${...}` they can only be
# JUEL variable names (`${continue}`, `${pass}`, `${class}`).
_STATEMENT_KEYWORDS = frozenset(keyword.kwlist) - {"True", "False", "None", "and", "or", "not", "in", "is",
                                                    "if", "else", "for", "lambda"}
# Keywords that are Python operators here (`x in y`, `a if b else c`, `[x for x in y]`) but
# JUEL names when they stand where an operand goes (`${in}`, `${x == if}`).
_OPERAND_KEYWORDS = frozenset({"in", "is", "if", "else", "for", "lambda"})
_WORD = re.compile(r"(?<![\w.\x00])([A-Za-z_]\w*)")
_BEFORE_OPERAND = tuple("([{,+-*/%<>=&|^~?:")
_AFTER_OPERAND = tuple(")]},.+-*/%<>=&|^?:")


def _keyword_names(code):
    """JUEL variables named like a Python keyword, read as that variable.

    The name's first letter is written in its fullwidth form (ｃontinue): Python's tokenizer
    does not take that for the keyword, and the parser then normalises every identifier to
    NFKC (PEP 3131), so the compiled code looks up exactly `continue` in the task data. No
    helper or sandbox change is needed, and a missing variable is the usual NameError."""
    def name_of(word):
        return chr(ord(word[0]) - ord("a") + 0xFF41) + word[1:]

    out, last = [], 0
    for m in _WORD.finditer(code):
        word = m.group(1)
        if word in _STATEMENT_KEYWORDS:
            is_name = True
        elif word in _OPERAND_KEYWORDS:
            before = code[:m.start()].rstrip()
            after = code[m.end():].lstrip()
            prev_word = re.search(r"([A-Za-z_]\w*)$", before)
            operand_before = (not before or before.endswith(_BEFORE_OPERAND)
                              or (prev_word is not None and prev_word.group(1) in ("and", "or", "not", "in", "is",
                                                                                     "if", "else")))
            after_ok = _AFTER_OPERAND if word != "lambda" else _AFTER_OPERAND[:-1]   # `lambda: 1` is Python
            is_name = operand_before and (not after or after.startswith(after_ok))
        else:
            is_name = False
        if is_name:
            out.append(code[last:m.start(1)] + name_of(word))
            last = m.end(1)
    out.append(code[last:])
    return "".join(out)


def _top_level(text, chars):
    """Positions of `chars` in text outside brackets."""
    depth = 0
    for i, c in enumerate(text):
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0 and c in chars:
            yield i, c


def _conditional(text):
    """JUEL's `cond ? a : b` (lowest precedence, right-associative) as Python's
    `(a if cond else b)`, inside brackets too. Without its `:` it is left as is, so Python
    reports the syntax error at deploy."""
    for i, c in _top_level(text, "?"):
        nested = 0
        for j, d in _top_level(text[i + 1:], "?:"):
            if d == "?":
                nested += 1
            elif nested:
                nested -= 1
            else:
                cond, a, b = text[:i], text[i + 1:i + 1 + j], text[i + 2 + j:]
                return f"({_conditional(a).strip()} if {_conditional(cond).strip()} else {_conditional(b).strip()})"
        return text
    # no conditional at this level: look inside each bracket, one comma-separated part at a time
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in _OPEN:
            if depth == 0:
                out.append(text[start:i + 1])
                start = i + 1
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                inner = text[start:i]
                parts, last = [], 0
                for k, _ in _top_level(inner, ","):
                    parts.append(inner[last:k])
                    last = k + 1
                parts.append(inner[last:])
                out.append(",".join(_conditional(p) if "?" in p else p for p in parts))
                start = i
    out.append(text[start:])
    return "".join(out)
