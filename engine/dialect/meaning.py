"""What a BPMN element says, as a value to compare: the same element saved by another tool
(or by bpmn-js after an unrelated edit) means the same thing.

Camunda Modeler and bpmn-js write the XML anew on every save: namespace declarations come
and go, prefixes may differ, attributes and the children of an element are written in the
order of their schema (bpmn-js puts a form field's camunda:validation before its
camunda:value entries), whitespace changes. None of that changes behaviour. An element's
meaning is its tag and attributes by namespace URI (not prefix), its trimmed text and the
meanings of its children, sorted by tag - stably, so the order of siblings of one kind (the
values of an enum, the parameters of camunda:inputOutput, the lines of a form) still counts.
Children that are BPMN elements of their own (a sub-process's steps, a lane set's lanes) and a
flow node's incoming/outgoing references are left out: they are compared on their own, and
re-routing a flow is a change of that flow. Parts of the element keep counting even when the
Modeler gave them an id: its event definition (a timer's duration), loop characteristics,
condition, and every Camunda extension (form fields and enum values have ids too).
"""
from __future__ import annotations

from typing import Any

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_FLOW_REFS = {f"{{{BPMN_NS}}}incoming", f"{{{BPMN_NS}}}outgoing"}
_PARTS = {"timeDuration", "timeDate", "timeCycle", "condition", "script", "documentation", "extensionElements",
          "ioSpecification", "dataInput", "dataOutput", "inputSet", "outputSet", "loopCardinality"}

Meaning = tuple[Any, ...]


def _value(el: Any, name: str, value: str) -> str:
    if name == XSI_TYPE and ":" in value:          # "bpmn:tFormalExpression": by namespace, not prefix
        prefix, local = value.split(":", 1)
        return f"{{{el.nsmap.get(prefix, prefix)}}}{local}"
    return value


def is_part(el: Any) -> bool:
    """Whether an element with an id belongs to its parent's meaning rather than being compared
    on its own: anything outside the BPMN namespace, an event definition, loop characteristics,
    a condition, the data associations and timer expressions."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag.startswith(f"{{{BPMN_NS}}}"):
        return True
    local = tag.split("}", 1)[1]
    return local.endswith(("EventDefinition", "LoopCharacteristics", "Association", "Expression")) or local in _PARTS


def _own(child: Any) -> bool:
    """A child that is compared on its own, not as part of its parent."""
    return bool(child.get("id")) and not is_part(child)


def meaning(el: Any, top: bool = True) -> Meaning:
    """The element's meaning (see the module docstring); its own id is not part of it."""
    attrs = tuple(sorted((k, _value(el, k, v)) for k, v in el.attrib.items() if not (top and k == "id")))
    children = [c for c in el if isinstance(c.tag, str) and not _own(c) and c.tag not in _FLOW_REFS]
    inner = tuple(meaning(c, top=False) for c in sorted(children, key=lambda c: c.tag))
    return (el.tag, attrs, (el.text or "").strip(), inner)
