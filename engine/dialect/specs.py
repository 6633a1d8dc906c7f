"""Task specs qihu adds to SpiffWorkflow's Camunda flavour."""
import re

from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
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


class QihuUserTask(UserTask):
    """A user task with the Camunda assignment attributes kept (raw text, evaluated at run time)."""

    def __init__(self, wf_spec, bpmn_id, form, assignment=None, inputs=None, outputs=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, form=form, **kwargs)
        self.assignment = assignment or {}
        self.in_params = inputs or []
        self.out_params = outputs or []


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
    if "?" in code:
        code = _conditional(code)
    return _MASKED.sub(lambda m: literals[int(m.group(1))], code).strip()


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
