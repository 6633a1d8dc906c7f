"""Camunda 7 dialect on SpiffWorkflow's CamundaParser, extended where it falls short.

Adds: external service tasks with topics, camunda:inputOutput parameters, user-task
assignment attributes, designer-style timer text (bare `PT5M`), Camunda message
semantics, refusal of elements qihu does not run, and one list of problems with
file, element id and line for a whole bundle.
"""
import keyword
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.event_parsers import (
    StartEventParser, EndEventParser, IntermediateCatchEventParser,
    IntermediateThrowEventParser, BoundaryEventParser, ReceiveTaskParser,
)
from SpiffWorkflow.bpmn.specs.defaults import (
    StartEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, BoundaryEvent, ReceiveTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import (CamundaTaskParser, UserTaskParser, CAMUNDA_MODEL_NS,
                                                    BusinessRuleTaskParser, CallActivityParser)
from SpiffWorkflow.bpmn.parser.task_parsers import SubprocessParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.bpmn.parser.event_parsers import (SendTaskParser, MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH,
                                                     TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                     ESCALATION_EVENT_XPATH)
from SpiffWorkflow.bpmn.specs.defaults import SendTask
from SpiffWorkflow.bpmn.parser.util import one
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from lxml import etree

from qihu.engine.errors import DeployError, Problem, bilingual
from qihu.engine.dialect.specs import (ExternalTask, QihuUserTask, QihuMessageEventDefinition, Param, PassThroughTask,
                                       expression_of, juel, CallMapping, QihuCallActivity, MULTI_INSTANCE)
from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.dialect import dmn
from qihu.engine.dialect import timers
from qihu.engine.dialect import event_subprocess
from qihu.engine.runtime.catching import QihuErrorEventDefinition, QihuEscalationEventDefinition

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
C = "{%s}" % CAMUNDA_MODEL_NS
B = "{%s}" % BPMN_NS

# Elements SpiffWorkflow would parse into something that does not behave as BPMN says,
# or not at all: refused at deploy time instead of silently running as something else.
UNSUPPORTED = {
    "compensateEventDefinition": "不支持补偿事件（compensation events are not supported）",
    "linkEventDefinition": "不支持链接事件（link events are not supported）",
    "complexGateway": "不支持复杂网关（complex gateways are not supported）",
}
# Children of a process that are not flow nodes, and are fine.
NON_FLOW = {
    "sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
    "textAnnotation", "association", "extensionElements", "documentation", "ioSpecification",
    "property", "group", "category", "dataInputAssociation", "dataOutputAssociation",
    # a sub-process's own flows and loop, as the Modeler writes them inside it
    "incoming", "outgoing", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
    "auditing", "monitoring", "categoryValueRef",
}
# camunda:asyncBefore / asyncAfter / exclusive / jobPriority are accepted and change nothing:
# every step qihu runs is already its own transaction (engine.runtime.transaction), committed
# before the next wait state, so there is no other save point to add.
TIMEZONE = timers.TIMEZONE

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", re.I)
_ISO_OTHER = re.compile(r"^(R\d*/\S*|P[0-9YMWDTHS.,]+|\d{4}-?W\d{2}\S*)$", re.I)
# Text a designer meant as a duration even if it is broken (P5X, PTabc, P): ISO, so the
# deploy check refuses it instead of reading it as a Python name.
_ISO_INTENT = re.compile(r"^(R\d*/)?P(\d|T|$)", re.I)


def timer_expression(text):
    """Turn a timer as a designer writes it into the Python expression SpiffWorkflow evaluates.

    `PT5M`, `R3/PT1H` and `2026-12-01T09:00:00` are ISO text (a naive date-time is read in
    the configured zone, Asia/Shanghai by default); `${expr}` and anything else is Python.
    """
    t = (text or "").strip()
    expr = expression_of(t)
    if expr is not None:
        return expr
    if _ISO_DATE.match(t):
        if not re.search(r"(Z|[+-]\d{2}:?\d{2})$", t, re.I) and "T" in t.upper():
            t = datetime.fromisoformat(t).replace(tzinfo=TIMEZONE).isoformat()
        elif "T" not in t.upper() and " " not in t:
            t = datetime.fromisoformat(t).replace(tzinfo=TIMEZONE).isoformat()
        return repr(t)
    if _ISO_OTHER.match(t) or _ISO_INTENT.match(t):
        return repr(t.upper())
    return t


def _param(node):
    """One camunda:inputParameter/outputParameter (or nested value) node -> Param."""
    kids = [k for k in node if isinstance(k.tag, str)]
    if kids:
        k = kids[0]
        if k.tag == C + "script":
            return Param("expression", (k.text or "").strip())
        if k.tag == C + "list":
            return Param("list", [_param(v) for v in k if isinstance(v.tag, str)])
        if k.tag == C + "map":
            return Param("map", {e.get("key"): _param(e) for e in k if e.tag == C + "entry"})
    text = node.text or ""
    expr = expression_of(text)
    return Param("expression", expr) if expr is not None else Param("constant", text)


def parse_io(node):
    inputs, outputs = [], []
    for io in node.findall(f"{B}extensionElements/{C}inputOutput"):
        for p in io:
            if p.tag == C + "inputParameter":
                inputs.append((p.get("name"), _param(p)))
            elif p.tag == C + "outputParameter":
                outputs.append((p.get("name"), _param(p)))
    return inputs, outputs


class ExternalTaskParser(CamundaTaskParser):
    def create_task(self):
        kind, topic = self.attribute("type", "camunda"), self.attribute("topic", "camunda")
        if kind != "external" or not topic:
            message = _not_external(self.node, kind)
            deferred = getattr(self.process_parser.parser, "deferred", None)
            if deferred is None:
                self.raise_validation_exception(message)
            # Reported with the bundle's other problems; the rest of the process is still read.
            deferred.append(Problem(message, file=self.filename, element=self.bpmn_id, line=self.node.sourceline))
            topic = None
        inputs, outputs = parse_io(self.node)
        return ExternalTask(self.spec, self.bpmn_id, topic=topic, inputs=inputs, outputs=outputs,
                            **self.bpmn_attributes)


_JAVA_ATTRS = ("class", "delegateExpression", "expression")


def _not_external(node, kind):
    """Why a service task is not run, in Chinese with the English in brackets."""
    english = 'a service task must be an external task: camunda:type="external" with a camunda:topic'
    java = next((a for a in _JAVA_ATTRS if node.get(C + a)), None)
    if java is not None:
        return (f'服务任务使用 Java（camunda:{java}="{node.get(C + java)}"），qihu 不运行 Java：请改为外部任务，'
                f'设 camunda:type="external" 并指定 camunda:topic，由 Python 处理函数完成（{english}; '
                f'camunda:{java} is Java and is not run）')
    if node.find(f"{B}extensionElements/{C}connector") is not None:
        return (f'服务任务使用 Camunda 连接器（camunda:connector），qihu 不运行连接器：请改为外部任务，'
                f'设 camunda:type="external" 并指定 camunda:topic（{english}; connectors are not run）')
    if kind == "external":
        return f"外部任务没有指定 camunda:topic（{english}）"
    return f'服务任务没有实现：请设 camunda:type="external" 并指定 camunda:topic（{english}）'


ASSIGNMENT_ATTRS = ("assignee", "candidateGroups", "candidateUsers", "dueDate", "followUpDate", "priority")


class QihuUserTaskParser(UserTaskParser):
    def create_task(self):
        assignment = {a: self.attribute(a, "camunda") for a in ASSIGNMENT_ATTRS}
        inputs, outputs = parse_io(self.node)
        return QihuUserTask(self.spec, self.bpmn_id, form=self.get_form(),
                            assignment={k: v for k, v in assignment.items() if v},
                            inputs=inputs, outputs=outputs, **self.bpmn_attributes)


class QihuEventDefinitionParser(CamundaEventDefinitionParser):
    # camunda:properties (e.g. correlationKeys) on events, as on tasks
    parse_extensions = CamundaTaskParser.parse_extensions

    def parse_timer_event(self, event):
        definition = timers.upgrade(super().parse_timer_event(event))
        definition.raw = definition.expression
        if isinstance(definition, CycleTimerEventDefinition) and timers.is_cron(definition.raw or ""):
            # Camunda 7 reads such a timeCycle as Quartz cron (engine/dialect/timers.py)
            definition.expression = repr(definition.raw.strip())
        else:
            definition.expression = timer_expression(definition.expression)
        return definition

    def parse_error_event(self, error_event):
        # camunda:errorCodeVariable / errorMessageVariable: where a catching event puts what
        # was thrown (a handler's BpmnError, engine/runtime/catching.py)
        plain = super().parse_error_event(error_event)
        # ours: thrown to ONE catcher, chosen as Camunda 7 does (engine/runtime/catching.py)
        definition = QihuErrorEventDefinition(plain.name, plain.code, description=plain.description)
        ref = error_event.get("errorRef")
        error = self.doc_xpath(f'.//bpmn:error[@id="{ref}"]') if ref else []
        definition.message = error[0].get(f"{C}errorMessage") if error else None
        definition.code_variable = self.attribute("errorCodeVariable", "camunda", error_event)
        definition.message_variable = self.attribute("errorMessageVariable", "camunda", error_event)
        return definition

    def parse_escalation_event(self, escalation_event):
        plain = super().parse_escalation_event(escalation_event)
        definition = QihuEscalationEventDefinition(plain.name, plain.code, description=plain.description)
        definition.code_variable = self.attribute("escalationCodeVariable", "camunda", escalation_event)
        return definition

    def parse_message_event(self, message_event):
        message_ref = message_event.get("messageRef")
        if message_ref:
            message = one(self.doc_xpath('.//bpmn:message[@id="%s"]' % message_ref))
            name = message.get("name")
            correlations = self.get_message_correlations(message_ref)
        else:
            name = message_event.getparent().get("name")
            correlations = {}
        payload = self.attribute("expression", "camunda", message_event)
        result_var = self.attribute("resultVariable", "camunda", message_event)
        return QihuMessageEventDefinition(name, correlations, payload, result_var)


def _event_parser(base):
    return type(f"Qihu{base.__name__}", (QihuEventDefinitionParser, base),
                {"create_task": lambda self: base.create_task(self)})


class QihuReceiveTaskParser(_event_parser(ReceiveTaskParser)):
    """A receive task waits for its message, correlated like a message catch event (with our
    message definition: SpiffWorkflow's own would never match a message delivered from outside).
    Without a message Camunda waits for a trigger by execution id, which qihu does not offer:
    refused instead of passing through."""

    def create_task(self):
        if self.node.get("messageRef") is None and not self.xpath(".//bpmn:messageEventDefinition"):
            self.raise_validation_exception("接收任务没有指定消息（messageRef），qihu 无法触发它；请为它选择一个消息"
                                            "（a receive task without a message cannot be triggered: choose its message）")
        return super().create_task()


JAVA_ATTRS = ("class", "delegateExpression", "expression")


def _external_task(parser, owner, what, end=False, java_attrs=JAVA_ATTRS):
    """An element Camunda implements as an external task (camunda:type="external" with a topic
    on `owner`: the element, or its messageEventDefinition), as our ExternalTask; None if it is
    not external. Java implementations are refused with the hint to use an external task."""
    kind, topic = parser.attribute("type", "camunda", owner), parser.attribute("topic", "camunda", owner)
    java = next((a for a in java_attrs if parser.attribute(a, "camunda", owner)), None)
    if java:
        parser.raise_validation_exception(
            f"{what}使用 Java 实现（camunda:{java}），qihu 不运行 Java；请改为外部任务"
            f'（camunda:type="external" 加 camunda:topic）({what} with camunda:{java}: use an external task)')
    if kind != "external":
        return None
    if not topic:
        parser.raise_validation_exception(f"{what}是外部任务但没有 camunda:topic（external {what} without a topic）")
    inputs, outputs = parse_io(parser.node)
    task = ExternalTask(parser.spec, parser.bpmn_id, topic=topic, inputs=inputs, outputs=outputs,
                        **parser.bpmn_attributes)
    if end:
        task.connect(parser.spec.end)
    return task


class ExternalSendTaskParser(_event_parser(SendTaskParser)):
    """bpmn:sendTask: Camunda 7 runs it exactly as a service task, so it needs an implementation;
    the one qihu runs is an external task, served by its topic. A messageRef alone is refused
    as Camunda refuses it (a message throw event sends a message)."""

    def create_task(self):
        task = _external_task(self, self.node, "发送任务")
        if task is None:
            self.raise_validation_exception('发送任务需要 camunda:type="external" 和 camunda:topic；要发出消息请用消息抛出事件'
                                            "（a send task needs an external implementation with a topic; "
                                            "to send a message use a message throw event）")
        return task


def _external_message_event_parser(base, end):
    """End / intermediate throw events whose messageEventDefinition is camunda:type="external":
    Camunda creates an external task for them; served by topic here as well."""
    plain = _event_parser(base)

    def create_task(self):
        for med in self.xpath("./bpmn:messageEventDefinition"):
            # camunda:expression is the message's payload here (engine/dialect/specs.py), as before
            task = _external_task(self, med, "消息事件", end=end, java_attrs=("class", "delegateExpression"))
            if task is not None:
                return task
        return base.create_task(self)
    return type(f"QihuExternal{base.__name__}", (plain,), {"create_task": create_task})


class QihuBusinessRuleTaskParser(BusinessRuleTaskParser):
    """bpmn:businessRuleTask: a DMN decision (camunda:decisionRef, evaluated with the decisions
    it requires, engine/dialect/dmn.py) or an external task served by topic."""

    def create_task(self):
        task = _external_task(self, self.node, "决策任务")
        if task is not None:
            return task
        if not self.get_decision_ref(self.node):
            self.raise_validation_exception('决策任务没有 camunda:decisionRef，也不是外部任务（camunda:type="external"）'
                                            "(a business rule task needs a camunda:decisionRef or an external topic)")
        return super().create_task()

    @staticmethod
    def get_decision_ref(node):
        # SpiffWorkflow reads the attribute with [] for every business rule task of a file
        # ("cannot read …decisionRef" for an external one)
        return node.attrib.get("{" + CAMUNDA_MODEL_NS + "}decisionRef")


class QihuStartEventParser(_event_parser(StartEventParser)):
    """Start events, with the error and escalation start events of event sub-processes: as
    SpiffWorkflow reads them they have no event, so the sub-process ran at process start."""

    def create_task(self):
        event_definition = self.get_event_definition(
            [MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH, CONDITIONAL_EVENT_XPATH,
             ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        task = self._create_task(event_definition)
        task.interrupting = self.node.get("isInterrupting", "true").lower() != "false"
        self.spec.start.connect(task)
        return task


_BUSINESS_KEY = re.compile(r"^[$#]\{\s*execution\.(processBusinessKey|getProcessBusinessKey\(\s*\))\s*\}$")


class QihuCallActivityParser(CallActivityParser):
    """bpmn:callActivity with its camunda:in / camunda:out mappings (engine/dialect/specs.py
    QihuCallActivity). What would run otherwise than in Camunda is refused, naming the element;
    the file's other problems are still reported in the same pass."""

    def _refuse(self, message):
        deferred = getattr(self.process_parser.parser, "deferred", None)
        if deferred is None:
            self.raise_validation_exception(message)
        deferred.append(Problem(message, file=self.filename, element=self.bpmn_id, line=self.node.sourceline))

    def _mapping(self, el, kind):
        if el.get("local", "false").strip().lower() == "true":
            self._refuse(f'{kind} 的 local="true" 不受支持：qihu 的变量没有局部作用域，请去掉 local'
                         f'（{kind} local="true" is not supported: qihu has no local variable scopes）')
            return None
        if el.get("variables") is not None:
            if el.get("variables").strip() != "all":
                self._refuse(f'{kind} 的 variables 只能是 "all"（{kind} variables must be "all"）')
                return None
            return CallMapping(all=True)
        source, expression, target = el.get("source"), el.get("sourceExpression"), el.get("target")
        if source is None and expression is None:
            self._refuse(f"{kind} 既没有 source 也没有 sourceExpression（{kind} names no source or sourceExpression）")
            return None
        if not (target or "").strip():
            self._refuse(f"{kind} 没有 target，不知道把值放进哪个变量（{kind} has no target variable）")
            return None
        if expression is not None:
            code = expression_of(expression)
            return CallMapping(expression=code if code is not None else expression.strip(), target=target.strip())
        return CallMapping(source=source.strip(), target=target.strip())

    def create_task(self):
        java = next((a for a in ("variableMappingClass", "variableMappingDelegateExpression")
                     if self.node.get(C + a)), None)
        if java is not None:
            self._refuse(f"调用活动使用 Java 变量映射（camunda:{java}），qihu 不运行 Java；请改用 camunda:in / camunda:out"
                         f"（call activity with camunda:{java} is Java: use camunda:in / camunda:out）")
        if self.node.find(f"{B}extensionElements/{C}inputOutput") is not None:
            self._refuse("调用活动上的输入/输出参数（camunda:inputOutput）未实现，请用 camunda:in / camunda:out 传递变量"
                         "（camunda:inputOutput on a call activity is not supported: use camunda:in / camunda:out）")
        ins, outs = [], []
        for el in self.node.findall(f"{B}extensionElements/*"):
            if el.tag not in (C + "in", C + "out"):
                continue
            kind = "camunda:" + el.tag[len(C):]
            key = el.get("businessKey")
            if key is not None:
                # The called process runs inside the caller's instance (a SpiffWorkflow
                # subworkflow), so it has the caller's business key and no other.
                if el.tag != C + "in" or not _BUSINESS_KEY.match(key.strip()):
                    self._refuse(f'{kind} businessKey="{key}" 不受支持：被调用的流程在调用者的实例中运行，业务编号就是调用者的；'
                                 '只接受 #{execution.processBusinessKey}（the called process runs inside the caller\'s '
                                 "instance and keeps its business key: only #{execution.processBusinessKey} is accepted）")
                continue
            mapping = self._mapping(el, kind)
            if mapping is not None:
                (ins if el.tag == C + "in" else outs).append(mapping)
        subworkflow_spec = SubprocessParser.get_call_activity_spec(self)
        return QihuCallActivity(self.spec, self.bpmn_id, subworkflow_spec=subworkflow_spec, ins=ins, outs=outs,
                                **self.bpmn_attributes)


def _collection_names(root, filename, problems):
    """camunda:collection as Camunda Modeler writes it, `${list}`, read as the variable `list`.
    SpiffWorkflow takes the attribute as a variable name (so `${list}` failed when the
    instance started); a computed collection it cannot read is refused, naming the element."""
    for loop in root.iter(B + "multiInstanceLoopCharacteristics"):
        raw = loop.get(C + "collection")
        owner = loop.getparent()
        if raw is None:
            continue
        name = raw.strip()
        expr = expression_of(name)
        if expr is not None:
            name = unicodedata.normalize("NFKC", expr)    # ${continue}: engine/dialect/specs.py _keyword_names
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append(Problem(
                f'多实例的 camunda:collection="{raw}" 不是一个变量：请先用脚本任务把集合算进一个变量，再写 ${{变量名}}'
                f'（multi-instance collection must name a variable, e.g. ${{list}}: compute it in a script task first）',
                file=filename, element=owner.get("id"), line=loop.sourceline))
            continue
        if not loop.get(C + "elementVariable"):
            problems.append(Problem(
                "多实例按集合执行时需要 camunda:elementVariable（每个实例的元素变量）"
                "（a multi-instance over a collection needs camunda:elementVariable）",
                file=filename, element=owner.get("id"), line=loop.sourceline))
            continue
        loop.set(C + "collection", name)


class QihuParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = dict(CamundaParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES.update({
        full_tag("serviceTask"): (ExternalTaskParser, ExternalTask),
        full_tag("userTask"): (QihuUserTaskParser, QihuUserTask),
        full_tag("startEvent"): (QihuStartEventParser, StartEvent),
        full_tag("endEvent"): (_external_message_event_parser(EndEventParser, end=True), EndEvent),
        full_tag("intermediateCatchEvent"): (_event_parser(IntermediateCatchEventParser), IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_external_message_event_parser(IntermediateThrowEventParser, end=False),
                                             IntermediateThrowEvent),
        full_tag("sendTask"): (ExternalSendTaskParser, SendTask),
        full_tag("businessRuleTask"): (QihuBusinessRuleTaskParser, BusinessRuleTask),
        full_tag("boundaryEvent"): (_event_parser(BoundaryEventParser), BoundaryEvent),
        # Camunda 7 passes through an abstract task and a manual task at once
        full_tag("task"): (CamundaTaskParser, PassThroughTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
        full_tag("receiveTask"): (QihuReceiveTaskParser, ReceiveTask),
        full_tag("callActivity"): (QihuCallActivityParser, QihuCallActivity),
    })

    def known_tag(self, tag):
        return tag in self.OVERRIDE_PARSER_CLASSES or tag in self.PARSER_CLASSES

    def get_spec(self, process_id, required=True):
        spec = super().get_spec(process_id, required)
        for ts in (spec.task_specs.values() if spec is not None else ()):
            if type(ts) in MULTI_INSTANCE:
                # the same task spec, checking its collection before it runs (specs._check_collection)
                ts.__class__ = MULTI_INSTANCE[type(ts)]
        return spec

    def add_bpmn_xml(self, bpmn, filename=None):
        deferred = getattr(self, "deferred", None)
        problems = [] if deferred is None else deferred
        _collection_names(bpmn.getroot() if hasattr(bpmn, "getroot") else bpmn, filename, problems)
        if deferred is None and problems:
            raise ValidationException(problems[0].message, file_name=filename)
        super().add_bpmn_xml(bpmn, filename)

    def add_dmn_xml(self, node, filename=None):
        # every decision of the file, not only its first (engine/dialect/dmn.py)
        dmn.add_dmn_xml(self, node, filename)

    def get_engine(self, decision_ref, node):
        return dmn.get_engine(self, decision_ref, node)


@dataclass
class ProcessInfo:
    key: str
    name: str | None
    filename: str
    spec: Any                          # SpiffWorkflow's BpmnProcessSpec
    subprocess_specs: dict[str, Any]
    message_starts: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)   # the process's camunda:properties (e.g. slaScheme)
    # camunda:candidateStarterGroups / -Users: who may start it ("enterprise": the public portal)
    starter_groups: list = field(default_factory=list)
    starter_users: list = field(default_factory=list)
    signal_starts: list[str] = field(default_factory=list)     # signals that start it (broadcast)
    initiator: str | None = None      # camunda:initiator of its start event: the variable for who started it


@dataclass
class ParsedBundle:
    processes: dict[str, ProcessInfo]           # key -> ProcessInfo (executable processes only)
    lines: dict[tuple[str | None, str], int]    # (filename, element id) -> line
    files: dict[str, str]                       # element id -> filename (first seen)
    dmn: dict = field(default_factory=dict)   # decision id -> SpiffWorkflow DMNParser
    # (file, element id, "camunda:attr", Python expression) of every ${...}/#{...} in a camunda:*
    # attribute no other check reads: engine/dialect/checks.py checks them like the other expressions
    attribute_expressions: list[tuple[str, str, str, str]] = field(default_factory=list)

    def where(self, element_id, file=None):
        """(file, line) of an element. Element ids are unique within a file only (three bundled
        diagrams have a Task_classify): give the file its process came from when known."""
        f = file if file is not None and (file, element_id) in self.lines else self.files.get(element_id)
        return f, self.lines.get((f, element_id))


def _names(value):
    """A comma-separated Camunda list ("a, b") as a list; expressions are not allowed here."""
    return [n.strip() for n in (value or "").split(",") if n.strip()]


# SpiffWorkflow names its own internal task specs so; an element with such an id breaks the spec.
RESERVED_IDS = {"Start", "End", "Root"}


def parent_is_process(el):
    parent = el.getparent()
    return parent is not None and parent.tag in (B + "process", B + "subProcess", B + "transaction")


def _scan(root, filename, parser, problems):
    """Refuse unsupported elements with their line, before SpiffWorkflow sees them.

    Every problem names an element: its own id, or the nearest enclosing element's. A refused
    element is then made harmless (see _neutralise), so SpiffWorkflow still reads the rest of
    the file and the deploy checks (topics, scripts) report their problems in the same pass.
    """
    found, harmless = [], []

    def refuse(el, message, neutralise=None):
        owner = _owner(el)
        found.append(Problem(message, file=filename, element=owner.get("id") if owner is not None else None,
                             line=el.sourceline))
        if neutralise is not None:
            harmless.append((neutralise, el))

    _accept_data_stores(root)
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith(C):
            _scan_camunda(el, refuse)
            continue
        if not el.tag.startswith(B):
            continue
        local = el.tag[len(B):]
        for attr in TENANT_ATTRS:
            if el.get(C + attr) is not None:
                refuse(el, f'camunda:{attr}="{el.get(C + attr)}"：qihu 不支持多租户，所有流程和决策同属一个租户，'
                           f"请删除此属性（multi-tenancy is not supported: remove camunda:{attr}）")
        if local in ("conditionExpression", "condition", "loopCardinality", "completionCondition"):
            language = (el.get("language") or "").strip()
            if language and language.lower() not in PYTHON_LANGUAGES:
                refuse(el, f"条件使用 {language} 语言，qihu 只运行 Python 表达式"
                           f"（condition language {language} is not supported: conditions are Python）", _true_text)
            elif el.get(C + "resource"):
                refuse(el, f"条件引用外部文件 {el.get(C + 'resource')}，qihu 只运行写在图中的 Python 表达式"
                           f"（external condition resource {el.get(C + 'resource')} is not supported）", _true_text)
            elif el.text:
                # `${...}` as Camunda Modeler writes it (JUEL idioms read as Python): engine/dialect/specs.py
                el.text = expression_of(el.text) or el.text
        if local == "scriptTask":
            language = (el.get("scriptFormat") or "").strip()
            if language and language.lower() not in PYTHON_LANGUAGES:
                refuse(el, f"脚本任务使用 {language} 语言，qihu 只运行 Python 脚本"
                           f"（script language {language} is not supported: scripts are Python）", _empty_script)
            elif el.get(C + "resource"):
                refuse(el, f"脚本任务引用外部脚本文件 {el.get(C + 'resource')}，请把 Python 脚本写在图中"
                           f"（external script resource {el.get(C + 'resource')} is not supported）", _empty_script)
        if local == "subProcess" and el.get("triggeredByEvent") == "true":
            for start, why in event_subprocess.refusals(el):      # issue 14 finding 3
                refuse(start, why)
        if local.endswith("Event") and len([d for d in el if isinstance(d.tag, str)
                                              and d.tag.startswith(B) and d.tag.endswith("EventDefinition")]) > 1:
            # BPMN's "multiple" event: Camunda 7 does not support it (its parser reads the first
            # definition only and silently drops the rest); refused rather than half-run
            refuse(el, "事件有多个事件定义（BPMN 多重事件），Camunda 7 不支持；请拆成多个事件，每个一个定义"
                       "（an event with several event definitions (BPMN multiple event) is not supported）",
                   _first_definition_only)
        reason = UNSUPPORTED.get(local)
        owner = el.getparent() if local.endswith("EventDefinition") else el
        if reason:
            refuse(owner, reason, _as_plain_task)
        elif el.get("isForCompensation") == "true":
            refuse(el, "不支持补偿活动（compensation activities are not supported）", _as_plain_task)
        if el.get("id") in RESERVED_IDS and parent_is_process(el):
            refuse(el, f"元素标识 {el.get('id')!r} 为引擎保留，请改名（如 StartEvent_1）"
                       f"（element id {el.get('id')!r} is reserved by the engine; rename it (e.g. StartEvent_1)）",
                   _rename_reserved)
        if local != "userTask" and el.find(f"{B}extensionElements/{C}properties/{C}property[@name='returnTo']") \
                is not None:   # 退单 (engine/tasks/handoff.py); the target is checked in engine/dialect/checks.py
            refuse(el, "camunda:property returnTo（退单）只能用在用户任务上"
                       "（camunda:property returnTo is only allowed on user tasks）")
        parent = el.getparent()
        if (parent is not None and parent.tag in (B + "process", B + "subProcess", B + "transaction")
                and local not in NON_FLOW and not parser.known_tag(el.tag) and not reason):
            refuse(el, f"不支持元素 bpmn:{local}（element bpmn:{local} is not supported）", _as_plain_task)
    for fix, el in harmless:
        fix(el, root)
    problems.extend(found)


# Script and expression languages qihu runs: Python only (scriptFormat / language attributes).
PYTHON_LANGUAGES = {"python", "python3", "py"}
_LISTENERS = {"executionListener": "执行监听器", "taskListener": "任务监听器"}


def _owner(el):
    """The element a problem is about: `el` if it has an id, else its nearest ancestor with one."""
    while el is not None and not el.get("id"):
        el = el.getparent()
    return el


def _scan_camunda(el, refuse):
    """camunda:* extension elements that would be accepted and then do nothing, or run another
    language: refused, naming what to use instead."""
    local = el.tag[len(C):]
    if local in _LISTENERS:
        kind = _LISTENERS[local]
        english = "execution listener" if local == "executionListener" else "task listener"
        java = next((a for a in ("class", "delegateExpression", "expression") if el.get(a)), None)
        if java is not None:
            refuse(el, f"{kind}使用 camunda:{java}=\"{el.get(java)}\"，qihu 不运行 Java 代码或 Java bean："
                       "请改用外部任务（camunda:type=\"external\" 和 camunda:topic，由 Python 处理函数完成）"
                       f"（{english} with camunda:{java} is Java and is not run: use an external task with a topic）",
                   _drop)
        else:
            refuse(el, f"{kind}不会被运行，请把它的工作放进脚本任务或外部任务"
                       f"（{english}s are not run: put the work in a script task or an external task）", _drop)
    elif local == "script" and _inside_listener(el) is None:
        language = (el.get("scriptFormat") or "").strip()
        if language and language.lower() not in PYTHON_LANGUAGES:
            refuse(el, f"脚本使用 {language} 语言，qihu 只运行 Python（script language {language} is not supported: "
                       "scripts are Python）", _none_text)
        elif el.get("resource"):
            refuse(el, f"脚本引用外部文件 {el.get('resource')}，请把 Python 表达式写在图中"
                       f"（external script resource {el.get('resource')} is not supported）", _none_text)


def _inside_listener(el):
    while el is not None:
        if isinstance(el.tag, str) and el.tag[len(C):] in _LISTENERS and el.tag.startswith(C):
            return el
        el = el.getparent()
    return None


def _accept_data_stores(root):
    """Data stores are documentation, as in Camunda 7: the definitions' bpmn:dataStore and the
    data associations that read or write a bpmn:dataStoreReference are dropped before
    SpiffWorkflow sees them (it wants an implementation for each store). The reference
    itself stays, as a data object reference does."""
    stores = {r.get("id") for r in root.iter(B + "dataStoreReference")}
    # data objects too: Camunda 7 runs no data association (variables are the process's), while
    # SpiffWorkflow's fails a task whose data lacks the object's variable (issue 14, the corpus's
    # spiff__conditional_event)
    stores |= {r.get("id") for r in root.iter(B + "dataObjectReference")}
    stores |= {r.get("id") for r in root.iter(B + "dataObject")}
    for store in list(root.iter(B + "dataStore")):
        store.getparent().remove(store)
    for tag, ref in (("dataInputAssociation", "sourceRef"), ("dataOutputAssociation", "targetRef")):
        for assoc in list(root.iter(B + tag)):
            if any((r.text or "").strip() in stores for r in assoc.findall(B + ref)):
                assoc.getparent().remove(assoc)


# How a refused element is made harmless so SpiffWorkflow can read the rest of its file. The
# bundle is refused anyway; this only lets the other problems be found in the same pass.

def _as_plain_task(el, root):
    keep = {"id", "name"}
    for k in [k for k in el.attrib if k not in keep]:
        del el.attrib[k]
    for child in [c for c in el if not (isinstance(c.tag, str) and c.tag in (B + "incoming", B + "outgoing"))]:
        el.remove(child)
    el.tag = B + "task"


def _first_definition_only(el, root):
    for extra in [d for d in el if isinstance(d.tag, str) and d.tag.endswith("EventDefinition")][1:]:
        el.remove(extra)


def _rename_reserved(el, root):
    old, new = el.get("id"), el.get("id") + "_reserved"
    el.set("id", new)
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        for attr in ("sourceRef", "targetRef", "attachedToRef"):
            if node.get(attr) == old:
                node.set(attr, new)
        if node.tag == B + "flowNodeRef" and (node.text or "").strip() == old:
            node.text = new


def _empty_script(el, root):
    for k in ("scriptFormat", C + "resource"):
        el.attrib.pop(k, None)
    script = el.find(B + "script")
    if script is None:
        script = etree.SubElement(el, B + "script")
    script.text = "pass"


def _true_text(el, root):
    for k in ("language", C + "resource"):
        el.attrib.pop(k, None)
    el.text = "True"


def _none_text(el, root):
    for k in ("scriptFormat", "resource"):
        el.attrib.pop(k, None)
    el.text = "None"


def _drop(el, root):
    el.getparent().remove(el)


def _problem_from(e, filename, lines, files, default=None):
    element = getattr(e, "id", None) or default
    fname = getattr(e, "file_name", None) or filename or files.get(element)
    line = lines.get((fname, element)) or (getattr(e, "line_number", None) or None)
    return Problem(spiff_message(str(e).split("\n")[0]), file=fname, element=element, line=line)


# SpiffWorkflow's own ValidationException texts (SpiffWorkflow/bpmn/parser/*.py, English): the
# common ones said in Chinese, the original kept in brackets for administrators.
_SPIFF_MESSAGES = [
    (re.compile(r"The process '(?P<p>[^']*)' was not found"), "找不到流程 {p}：被调用的流程不在本次部署中"),
    (re.compile(r"Duplicate process ID: (?P<p>.*)"), "流程标识 {p} 重复"),
    (re.compile(r"Process (?P<p>\S+) is not executable"), "流程 {p} 不可执行"),
    (re.compile(r"No start event found"), "流程没有开始事件"),
    (re.compile(r"There is no support implemented for this task type"), "不支持这种任务类型"),
    (re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
     "排他网关的非默认出口连线没有条件"),
    (re.compile(r"Multiple outgoing flows are not supported"), "此类任务不支持多条出口连线"),
    (re.compile(r"When looking for a task spec, we found two items"), "有两个元素使用同一个标识"),
    (re.compile(r"Cancel Events may only be used with transactions"), "取消事件只能用于事务子流程"),
    (re.compile(r"A loopMaximum or loopCondition must be specified"), "循环任务需要 loopMaximum 或 loopCondition"),
    (re.compile(r"A multiinstance task must specify a cardinality or a loop input"),
     "多实例任务需要指定实例数（loopCardinality）或集合"),
    (re.compile(r"A multiinstance task must specify exactly one of"), "多实例任务只能指定实例数或集合之一"),
    (re.compile(r"The loop (input|output) data reference is missing"), "多实例的输入或输出数据引用不在 IO 定义中"),
    (re.compile(r"Sequential ordering for ad hoc subprocesses not supported"), "不支持顺序执行的自由子流程"),
    (re.compile(r"Ad hoc subprocesses may not contain start or end events"), "自由子流程中不能有开始或结束事件"),
    (re.compile(r"(?P<w>Message|Signal|Error|Escalation|Correlation|Data Store) identifier is missing"),
     "{w} 定义缺少标识（id）"),
    (re.compile(r"Data Store name is missing"), "数据存储缺少名称"),
    (re.compile(r"Data Store with name (?P<p>.*) has no implementation"), "数据存储 {p} 没有实现"),
    (re.compile(r"Correlation is missing correlation property retrieval expressions"), "关联缺少取值表达式"),
    (re.compile(r"Could not find messageRef"), "找不到消息事件引用的消息（messageRef）"),
    (re.compile(r"Conditional event definition with missing condition"), "条件事件没有条件"),
    (re.compile(r"Expected an? (?P<w>error|Escalation|Message|Signal) node"), "事件引用的 {w} 定义不存在"),
    (re.compile(r"Unknown Time Specification"), "无法识别的定时器设置"),
    (re.compile(r"Time Specification Error"), "定时器设置有误"),
    (re.compile(r"Cannot resolve data(Input|Output)Association"), "无法解析数据关联"),
]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def spiff_message(text: str) -> str:
    """A SpiffWorkflow parser message in Chinese with the original in brackets; our own texts
    (raised through SpiffWorkflow's exception, already Chinese) pass unchanged."""
    if _CJK.search(text):
        return text
    for pattern, chinese in _SPIFF_MESSAGES:
        m = pattern.search(text)
        if m:
            return bilingual(chinese.format(**m.groupdict()), text)
    return bilingual("流程图无法解析", text)


def _first_id(root):
    """The element a whole-file problem is about: its first process (or decision), else the root."""
    for el in root.iter(B + "process", "{*}decision"):
        if el.get("id"):
            return el.get("id")
    return root.get("id")


# Multi-tenancy (Camunda 7's tenant ids): qihu has one tenant, so a call or decision "of tenant x"
# would silently take the only one; refused, constant or expression.
TENANT_ATTRS = ("calledElementTenantId", "decisionRefTenantId", "caseTenantId")
# camunda:* attributes whose expressions are read and checked elsewhere: the user-task assignment
# (checks.py, QihuUserTask.assignment), the multi-instance collection (_collection: a variable),
# camunda:expression (a message payload, checked; on a service task it is Java and refused, as
# are class and delegateExpression).
_CHECKED_ATTRS = frozenset(("collection", "expression", "class", "delegateExpression", *TENANT_ATTRS))
_EXPRESSION_START = re.compile(r"[$#]\{")


def _expressions_in(text: str) -> list[str]:
    """The ${...} / #{...} parts of an attribute's text, braces matched (formKey may hold
    "embedded:app:forms/${name}.html"); an unclosed one is returned to its end so the check
    reports it as broken instead of passing it by."""
    found, at = [], 0
    while (m := _EXPRESSION_START.search(text, at)) is not None:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found.append(text[m.end():i - 1] if depth == 0 else text[m.end():])
        at = i
    return found


def camunda_attribute_expressions(root, filename: str) -> list[tuple[str, str, str, str]]:
    """Every ${...}/#{...} a camunda:* attribute of a BPMN element holds and no other check
    reads, as (file, element id, "camunda:attr", Python expression): Camunda evaluates these
    (jobPriority, taskPriority, formKey, calledElementVersion …), so a bean call there is
    refused at deploy like one anywhere else, naming the element and the attribute."""
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(B):
            continue
        owner = _owner(el)
        for key, value in el.attrib.items():
            if not key.startswith(C) or owner is None:
                continue
            attr = key[len(C):]
            if attr in _CHECKED_ATTRS or (attr in ASSIGNMENT_ATTRS and el.tag == B + "userTask"):
                continue
            for source in _expressions_in(value):
                out.append((filename, owner.get("id"), f"camunda:{attr}", juel(source.strip())))
    return out


def _lone_dmn(dmn_docs, lines) -> Problem:
    """Camunda deploys a DMN file alone and binds a business rule task to the latest decision at
    run time; qihu deploys decisions with the process whose business rule task calls them (the
    version runs with the tables it was deployed with), so a bundle of DMN files only would store
    nothing that runs: refused, naming its decisions."""
    decisions = [(n, d.get("id")) for n, r in dmn_docs for d in r.iter("{*}decision") if d.get("id")]
    file, element = decisions[0] if decisions else (dmn_docs[0][0], _first_id(dmn_docs[0][1]))
    names = "、".join(i for _, i in decisions) or element
    return Problem(f"DMN 文件只含决策（{names}），不能单独部署：qihu 把决策与调用它的流程一起部署，"
                   "请把它和含业务规则任务（camunda:decisionRef）的 BPMN 文件放在同一次部署中"
                   f"（a DMN file deployed alone is not run: deploy it together with the BPMN file whose business "
                   f"rule task calls its decisions {', '.join(i for _, i in decisions)}）",
                   file=file, element=element, line=lines.get((file, element)))


def parse_bundle(resources, check=None) -> ParsedBundle:
    """Parse [(filename, bytes)] into a ParsedBundle, or raise DeployError with every problem.

    Every file is read as far as it can be, so one deployment attempt lists the problems
    of the whole bundle. `check(bundle) -> list[Problem]` runs the semantic checks
    (topics, scripts, timers, DMN entries).
    """
    problems, docs = [], []
    lines, files = {}, {}
    refused, scanned = set(), set()   # what _scan refused: SpiffWorkflow's word on those elements is not news
    attribute_expressions = []
    parser = QihuParser()
    parser.deferred = []   # problems the task parsers found without stopping (ExternalTaskParser)
    for name, content in resources:
        lower = name.lower()
        if not (lower.endswith(".bpmn") or lower.endswith(".dmn") or lower.endswith(".xml")):
            problems.append(Problem(bilingual("只能部署 .bpmn 和 .dmn 文件", "only .bpmn and .dmn files can be deployed"), file=name))
            continue
        try:
            root = load_xml(content, name)
        except DeployError as e:
            problems.extend(e.problems)
            continue
        for el in root.iter():
            if isinstance(el.tag, str) and el.get("id"):
                lines.setdefault((name, el.get("id")), el.sourceline)
                files.setdefault(el.get("id"), name)
        is_dmn = root.tag.endswith("}definitions") and "dmn" in (root.tag.split("}")[0].lower())
        if not is_dmn:
            if root.tag != B + "definitions":
                problems.append(Problem(bilingual(f"不是 BPMN 2.0 或 DMN 文档（根元素是 {root.tag.split('}')[-1]}）",
                                                  f"not a BPMN 2.0 or DMN document (root element is "
                                                  f"{root.tag.split('}')[-1]})"),
                                        file=name, line=root.sourceline))
                continue
            found = []
            _scan(root, name, parser, found)   # refused elements are made harmless: the rest is still read
            problems.extend(found)
            refused.update((name, p.element) for p in found)
            scanned.update(id(p) for p in found)
            attribute_expressions.extend(x for x in camunda_attribute_expressions(root, name)
                                         if (name, x[1]) not in refused)
        docs.append((name, root, is_dmn))

    # DMN first: business rule tasks look their decision up while the BPMN is parsed.
    added = []
    for name, root, is_dmn in sorted(docs, key=lambda d: not d[2]):
        try:
            if is_dmn:
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root.getroottree(), filename=name)
            added.append((name, root, is_dmn))
        except ValidationException as e:
            problems.append(_problem_from(e, name, lines, files, default=_first_id(root)))
        except Exception as e:  # SpiffWorkflow raises assorted errors on odd input
            problems.append(Problem(f"无法读取文件（cannot read: {e}）", file=name, element=_first_id(root),
                                    line=root.sourceline))

    processes, idle = {}, []
    for name, root, is_dmn in added:
        if is_dmn:
            continue
        for proc in root.iter(B + "process"):
            if proc.get("isExecutable", "false").lower() != "true":
                idle.append(Problem(bilingual(f'流程 {proc.get("id")} 不可执行：没有设置 isExecutable="true"',
                                              f'process {proc.get("id")} is not executable (isExecutable="true" is not set)'),
                                    file=name, element=proc.get("id"), line=proc.sourceline))
                continue
            key = proc.get("id")
            try:
                spec = parser.get_spec(key)
                subs = parser.get_subprocess_specs(key)
            except ValidationException as e:
                problems.append(_problem_from(e, name, lines, files, default=key))
                continue
            except Exception as e:
                problems.append(Problem(f"无法构建流程（cannot build process: {e}）", file=name, element=key,
                                        line=proc.sourceline))
                continue
            starts = [ts.event_definition.name for ts in spec.task_specs.values()
                      if isinstance(ts, StartEvent)
                      and isinstance(getattr(ts, "event_definition", None), QihuMessageEventDefinition)]
            props = {p.get("name"): p.get("value") for p in proc.findall(
                f"{B}extensionElements/{C}properties/{C}property")}
            processes[key] = ProcessInfo(key, proc.get("name"), name, spec, subs, starts, props,
                                         _names(proc.get(C + "candidateStarterGroups")),
                                         _names(proc.get(C + "candidateStarterUsers")),
                                         [ts.event_definition.name for ts in spec.task_specs.values()
                                          if isinstance(ts, StartEvent)
                                          and isinstance(getattr(ts, "event_definition", None), SignalEventDefinition)],
                                         next((e.get(C + "initiator") for e in proc.findall(f"{B}startEvent")
                                               if e.get(C + "initiator")), None))
    problems.extend(parser.deferred)
    if not processes and not problems:
        bpmn_files = [n for n, _, d in added if not d]
        dmn_docs = [(n, r) for n, r, d in added if d]
        if dmn_docs and not bpmn_files:
            problems.append(_lone_dmn(dmn_docs, lines))
        else:
            problems.extend(idle or [Problem(bilingual('没有可执行的流程：需要一个 isExecutable="true" 的 bpmn:process',
                                                       'no executable process (a bpmn:process with isExecutable="true")'),
                                             file=", ".join(bpmn_files) or None)])
    problems = [p for p in problems if id(p) in scanned or (p.file, p.element) not in refused]
    bundle = ParsedBundle(processes, lines, files, dict(parser.dmn_parsers), attribute_expressions)
    if check is not None and (processes or parser.dmn_parsers):
        problems.extend(check(bundle))
    if problems:
        raise DeployError(problems)
    return bundle
