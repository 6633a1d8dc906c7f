"""Small BPMN documents for tests, written in the Camunda Modeler dialect (no diagram)."""

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'id="Definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn" '
        'exporter="Camunda Modeler" exporterVersion="5.17.0">\n')


def bpmn(pid, body, name=None, extra=""):
    """A definitions document with one executable process `pid` holding `body`."""
    label = f' name="{name}"' if name else ""
    return (HEAD.format(pid=pid) + extra +
            f'  <bpmn:process id="{pid}"{label} isExecutable="true">\n{body}\n  </bpmn:process>\n'
            '</bpmn:definitions>\n').encode("utf-8")


def flow(fid, src, dst, cond=None):
    if cond is None:
        return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}" />'
    from xml.sax.saxutils import escape
    return (f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}">'
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(cond)}</bpmn:conditionExpression>'
            '</bpmn:sequenceFlow>')


def chain(*ids):
    """Sequence flows linking the given element ids in order."""
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in zip(ids, ids[1:]))
