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


def typed_flow(key, topic, name):
    """A form step (enum and required text, due in 3 days), an external task of `topic`, a
    second step: what the typed-result and OpenAPI tests walk through."""
    return bpmn(key, f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="fill" name="填写" camunda:candidateGroups="clerks" camunda:dueDate="P3D">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="kind" label="类别" type="enum"><camunda:value id="a" name="甲" /></camunda:formField>
    <camunda:formField id="note" label="说明" type="string">
      <camunda:validation><camunda:constraint name="required" /></camunda:validation>
    </camunda:formField>
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:serviceTask id="work" name="对接" camunda:type="external" camunda:topic="{topic}" />
<bpmn:userTask id="check" name="核对" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "fill", "work", "check", "e")}""", name=name)
