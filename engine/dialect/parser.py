"""Camunda 7 dialect on SpiffWorkflow's CamundaParser, extended where it falls short.

Adds: external service tasks with topics, camunda:inputOutput parameters, user-task
assignment attributes, designer-style timer text (bare `PT5M`), Camunda message
semantics, refusal of elements qihu does not run, and one list of problems with
file, element id and line for a whole bundle.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.event_parsers import (
    StartEventParser, EndEventParser, IntermediateCatchEventParser,
    IntermediateThrowEventParser, BoundaryEventParser,
)
from SpiffWorkflow.bpmn.specs.defaults import (
    StartEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent, BoundaryEvent,
)
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser, UserTaskParser, CAMUNDA_MODEL_NS
from SpiffWorkflow.bpmn.parser.util import one

from qihu.engine.errors import DeployError, Problem
from qihu.engine.dialect.specs import ExternalTask, QihuUserTask, QihuMessageEventDefinition, Param, expression_of
from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.dialect import timers

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
C = "{%s}" % CAMUNDA_MODEL_NS
B = "{%s}" % BPMN_NS

# Elements SpiffWorkflow would parse into something that does not behave as BPMN says,
# or not at all: refused at deploy time instead of silently running as something else.
UNSUPPORTED = {
    "compensateEventDefinition": "compensation events are not supported",
    "linkEventDefinition": "link events are not supported",
    "complexGateway": "complex gateways are not supported",
}
# Children of a process that are not flow nodes, and are fine.
NON_FLOW = {
    "sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference",
    "textAnnotation", "association", "extensionElements", "documentation", "ioSpecification",
    "property", "group", "category", "dataInputAssociation", "dataOutputAssociation",
}
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
            self.raise_validation_exception(
                'a service task must be an external task: camunda:type="external" with a camunda:topic')
        inputs, outputs = parse_io(self.node)
        return ExternalTask(self.spec, self.bpmn_id, topic=topic, inputs=inputs, outputs=outputs,
                            **self.bpmn_attributes)


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
        definition.expression = timer_expression(definition.expression)
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


class QihuParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = dict(CamundaParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES.update({
        full_tag("serviceTask"): (ExternalTaskParser, ExternalTask),
        full_tag("userTask"): (QihuUserTaskParser, QihuUserTask),
        full_tag("startEvent"): (_event_parser(StartEventParser), StartEvent),
        full_tag("endEvent"): (_event_parser(EndEventParser), EndEvent),
        full_tag("intermediateCatchEvent"): (_event_parser(IntermediateCatchEventParser), IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_event_parser(IntermediateThrowEventParser), IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_event_parser(BoundaryEventParser), BoundaryEvent),
    })

    def known_tag(self, tag):
        return tag in self.OVERRIDE_PARSER_CLASSES or tag in self.PARSER_CLASSES


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


@dataclass
class ParsedBundle:
    processes: dict[str, ProcessInfo]           # key -> ProcessInfo (executable processes only)
    lines: dict[tuple[str | None, str], int]    # (filename, element id) -> line
    files: dict[str, str]                       # element id -> filename (first seen)
    dmn: dict = field(default_factory=dict)   # decision id -> SpiffWorkflow DMNParser

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
    """Refuse unsupported elements with their line, before SpiffWorkflow sees them."""
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.startswith(B):
            continue
        local = el.tag[len(B):]
        if local in ("conditionExpression", "condition") and el.text:
            # `${...}` as Camunda Modeler writes it (JUEL idioms read as Python): engine/dialect/specs.py
            el.text = expression_of(el.text) or el.text
        reason = UNSUPPORTED.get(local)
        owner = el.getparent() if local.endswith("EventDefinition") else el
        if reason:
            problems.append(Problem(reason, file=filename, element=owner.get("id"), line=owner.sourceline))
        elif el.get("isForCompensation") == "true":
            problems.append(Problem("compensation activities are not supported", file=filename,
                                    element=el.get("id"), line=el.sourceline))
        if el.get("id") in RESERVED_IDS and parent_is_process(el):
            problems.append(Problem(f"element id {el.get('id')!r} is reserved by the engine; rename it "
                                    "(e.g. StartEvent_1)", file=filename, element=el.get("id"), line=el.sourceline))
        if local != "userTask" and el.find(f"{B}extensionElements/{C}properties/{C}property[@name='returnTo']") \
                is not None:   # 退单 (engine/tasks/handoff.py); the target is checked in engine/dialect/checks.py
            problems.append(Problem("camunda:property returnTo is only allowed on user tasks", file=filename,
                                    element=el.get("id"), line=el.sourceline))
        parent = el.getparent()
        if (parent is not None and parent.tag in (B + "process", B + "subProcess", B + "transaction")
                and local not in NON_FLOW and not parser.known_tag(el.tag) and not reason):
            problems.append(Problem(f"element bpmn:{local} is not supported", file=filename,
                                    element=el.get("id"), line=el.sourceline))


def _problem_from(e, filename, lines, files):
    element = getattr(e, "id", None) or None
    fname = getattr(e, "file_name", None) or filename or files.get(element)
    line = lines.get((fname, element)) or (getattr(e, "line_number", None) or None)
    msg = str(e).split("\n")[0]
    return Problem(msg, file=fname, element=element, line=line)


def parse_bundle(resources, check=None) -> ParsedBundle:
    """Parse [(filename, bytes)] into a ParsedBundle, or raise DeployError with every problem.

    Every file is read as far as it can be, so one deployment attempt lists the problems
    of the whole bundle. `check(bundle) -> list[Problem]` runs the semantic checks
    (topics, scripts, timers, DMN entries).
    """
    problems, docs = [], []
    lines, files = {}, {}
    parser = QihuParser()
    for name, content in resources:
        lower = name.lower()
        if not (lower.endswith(".bpmn") or lower.endswith(".dmn") or lower.endswith(".xml")):
            problems.append(Problem("only .bpmn and .dmn files can be deployed", file=name))
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
                problems.append(Problem("not a BPMN 2.0 or DMN document (root element is "
                                        f"{root.tag.split('}')[-1]})", file=name, line=root.sourceline))
                continue
            before = len(problems)
            _scan(root, name, parser, problems)
            if len(problems) > before:
                continue   # SpiffWorkflow would misread it; its other files are still checked
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
            problems.append(_problem_from(e, name, lines, files))
        except Exception as e:  # SpiffWorkflow raises assorted errors on odd input
            problems.append(Problem(f"cannot read: {e}", file=name))

    processes, idle = {}, []
    for name, root, is_dmn in added:
        if is_dmn:
            continue
        for proc in root.iter(B + "process"):
            if proc.get("isExecutable", "false").lower() != "true":
                idle.append(Problem(f'process {proc.get("id")} is not executable (isExecutable="true" is not set)',
                                    file=name, element=proc.get("id"), line=proc.sourceline))
                continue
            key = proc.get("id")
            try:
                spec = parser.get_spec(key)
                subs = parser.get_subprocess_specs(key)
            except ValidationException as e:
                problems.append(_problem_from(e, name, lines, files))
                continue
            except Exception as e:
                problems.append(Problem(f"cannot build process: {e}", file=name, element=key,
                                        line=proc.sourceline))
                continue
            starts = [ts.event_definition.name for ts in spec.task_specs.values()
                      if isinstance(ts, StartEvent)
                      and isinstance(getattr(ts, "event_definition", None), QihuMessageEventDefinition)]
            props = {p.get("name"): p.get("value") for p in proc.findall(
                f"{B}extensionElements/{C}properties/{C}property")}
            processes[key] = ProcessInfo(key, proc.get("name"), name, spec, subs, starts, props,
                                         _names(proc.get(C + "candidateStarterGroups")),
                                         _names(proc.get(C + "candidateStarterUsers")))
    if not processes and not problems:
        bpmn_files = [n for n, _, d in added if not d]
        problems.extend(idle or [Problem('no executable process (a bpmn:process with isExecutable="true")',
                                         file=", ".join(bpmn_files) or None)])
    bundle = ParsedBundle(processes, lines, files, dict(parser.dmn_parsers))
    if check is not None and (processes or parser.dmn_parsers):
        problems.extend(check(bundle))
    if problems:
        raise DeployError(problems)
    return bundle
