"""Issue 14, finding 9 (run-time part): call activities pass variables as Camunda 7 does, and a
multi-instance over `camunda:collection="${list}"` runs.

Camunda 7: without a camunda:in the called process gets no variables; `<camunda:in
variables="all"/>` gives it all of them, `source`/`target` one, `sourceExpression`/`target` a
computed one (a missing source gives null). camunda:out likewise back to the caller; without
a camunda:out nothing comes back. `<camunda:in businessKey="#{execution.processBusinessKey}"/>`
hands the caller's business key on: in qihu the called process runs inside the caller's
instance (a SpiffWorkflow subworkflow), so it has that key anyway.

The diagrams are written as Camunda Modeler 5 saves them (incoming/outgoing children, bpmndi,
exporter attributes): `modeler()` lays a straight line of elements out the way the Modeler does.
"""
import pytest
from SpiffWorkflow.util.task import TaskState

from qihu.engine.errors import DeployError
from qihu.engine.runtime.service import EngineStepError

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_{pid}" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')


def modeler(pid, *elements):
    """A process of elements in a line, as Camunda Modeler saves it. Each element is
    (tag, id, attributes, inner XML); flows link them in order."""
    ids = [e[1] for e in elements]
    flows = [(f"Flow_{a}_{b}", a, b) for a, b in zip(ids, ids[1:])]
    body, shapes = [], []
    for n, (tag, eid, attrs, inner) in enumerate(elements):
        links = "".join(f"\n      <bpmn:incoming>{f}</bpmn:incoming>" for f, _, b in flows if b == eid)
        links += "".join(f"\n      <bpmn:outgoing>{f}</bpmn:outgoing>" for f, a, _ in flows if a == eid)
        body.append(f'    <bpmn:{tag} id="{eid}"{attrs}>{inner}{links}\n    </bpmn:{tag}>')
        event = tag.endswith("Event")
        x, w, h = 180 + 160 * n, (36 if event else 100), (36 if event else 80)
        shapes.append(f'      <bpmndi:BPMNShape id="{eid}_di" bpmnElement="{eid}">\n'
                      f'        <dc:Bounds x="{x}" y="{100 if event else 78}" width="{w}" height="{h}" />\n'
                      '      </bpmndi:BPMNShape>')
    for f, a, b in flows:
        body.append(f'    <bpmn:sequenceFlow id="{f}" sourceRef="{a}" targetRef="{b}" />')
        shapes.append(f'      <bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}">\n'
                      '        <di:waypoint x="0" y="118" />\n        <di:waypoint x="10" y="118" />\n'
                      '      </bpmndi:BPMNEdge>')
    return (HEAD.format(pid=pid) + f'  <bpmn:process id="{pid}" isExecutable="true" camunda:historyTimeToLive="180">\n'
            + "\n".join(body) + '\n  </bpmn:process>\n  <bpmndi:BPMNDiagram id="BPMNDiagram_1">\n'
            f'    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{pid}">\n' + "\n".join(shapes)
            + "\n    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n</bpmn:definitions>\n").encode("utf-8")


CALLED = modeler("Process_review",
                 ("startEvent", "StartEvent_sub", "", ""),
                 ("userTask", "Task_review", ' name="审核" camunda:assignee="li"', ""),
                 ("endEvent", "Event_sub_end", "", ""))


def caller(mappings, call_attrs=""):
    ext = f"\n      <bpmn:extensionElements>{mappings}\n      </bpmn:extensionElements>" if mappings else ""
    return modeler("Process_caller",
                   ("startEvent", "StartEvent_1", "", ""),
                   ("callActivity", "Activity_call", f' name="调用审核" calledElement="Process_review"{call_attrs}', ext),
                   ("userTask", "Task_after", ' name="后续" camunda:assignee="li"', ""),
                   ("endEvent", "Event_end", "", ""))


def _ready(engine, element):
    tasks = [t for t in engine.tasks.list() if t["element_id"] == element]
    assert len(tasks) == 1, engine.tasks.list()
    return tasks[0]


def _called_data(engine, iid):
    """The variables the called process's user task sees."""
    wf = engine.runtime.workflow(iid)
    [task] = [t for t in wf.get_tasks() if t.task_spec.name == "Task_review" and t.state == TaskState.READY]
    return dict(task.data)


def _run(engine, mappings, start, review, call_attrs=""):
    engine.repository.deploy([("caller.bpmn", caller(mappings, call_attrs)), ("review.bpmn", CALLED)])
    iid = engine.runtime.start("Process_caller", start, business_key="CALL-1")
    inside = _called_data(engine, iid)
    engine.tasks.complete(_ready(engine, "Task_review")["id"], "li", review)
    after = engine.runtime.data(iid)
    assert _ready(engine, "Task_after")
    return inside, after


def test_without_camunda_in_and_out_no_variables_cross(engine):
    inside, after = _run(engine, "", {"company": "某某科技", "amount": 5}, {"verdict": "ok"})
    assert "company" not in inside and "amount" not in inside
    assert after["company"] == "某某科技" and "verdict" not in after


def test_variables_all_pass_everything_both_ways(engine):
    mappings = """
        <camunda:in businessKey="#{execution.processBusinessKey}" />
        <camunda:in variables="all" />
        <camunda:out variables="all" />"""
    inside, after = _run(engine, mappings, {"company": "某某科技", "amount": 5}, {"verdict": "ok"})
    assert inside["company"] == "某某科技" and inside["amount"] == 5
    assert after["verdict"] == "ok" and after["company"] == "某某科技"


def test_source_target_and_expressions_map_single_variables(engine):
    mappings = """
        <camunda:in source="company" target="enterprise" />
        <camunda:in sourceExpression="${amount * 2}" target="double" />
        <camunda:in source="not_set" target="nothing" />
        <camunda:out source="verdict" target="review_result" />
        <camunda:out sourceExpression="${verdict == 'ok' &amp;&amp; score &gt; 3}" target="passed" />"""
    inside, after = _run(engine, mappings, {"company": "某某科技", "amount": 5},
                         {"verdict": "ok", "score": 4, "note": "内部备注"})
    assert inside == {"enterprise": "某某科技", "double": 10, "nothing": None}
    assert after["review_result"] == "ok" and after["passed"] is True
    assert "verdict" not in after and "note" not in after and "score" not in after
    assert after["company"] == "某某科技" and "enterprise" not in after


def test_the_called_process_cannot_change_the_callers_objects(engine):
    """Camunda copies values into the called instance: a list changed there stays unchanged
    in the caller unless a camunda:out brings it back."""
    sub = modeler("Process_review",
                  ("startEvent", "StartEvent_sub", "", ""),
                  ("scriptTask", "Task_append", ' scriptFormat="python"',
                   "\n      <bpmn:script>items.append(3)</bpmn:script>"),
                  ("userTask", "Task_review", ' camunda:assignee="li"', ""),
                  ("endEvent", "Event_sub_end", "", ""))
    engine.repository.deploy([("caller.bpmn", caller('\n        <camunda:in variables="all" />')),
                              ("review.bpmn", sub)])
    iid = engine.runtime.start("Process_caller", {"items": [1, 2]})
    assert _called_data(engine, iid)["items"] == [1, 2, 3]
    engine.tasks.complete(_ready(engine, "Task_review")["id"], "li", {})
    assert engine.runtime.data(iid)["items"] == [1, 2]


@pytest.mark.parametrize("mappings, element, words", [
    ('<camunda:in businessKey="${order_no}" />', "Activity_call", "businessKey"),
    ('<camunda:in source="a" />', "Activity_call", "target"),
    ('<camunda:out variables="all" local="true" />', "Activity_call", "local"),
    ('<camunda:in sourceExpression="${a +}" target="b" />', "Activity_call", "camunda:in"),
    ('<camunda:out sourceExpression="${order.getAmount()}" target="b" />', "Activity_call", "camunda:out"),
], ids=["other-business-key", "no-target", "local", "broken-expression", "bean-call"])
def test_what_qihu_cannot_run_as_camunda_does_is_refused_naming_the_element(engine, mappings, element, words):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("caller.bpmn", caller("\n        " + mappings)), ("review.bpmn", CALLED)])
    problems = [p for p in e.value.problems if p.element == element]
    assert problems and any(words in p.message for p in problems), "\n".join(map(str, e.value.problems))
    assert all(p.file == "caller.bpmn" and p.line for p in problems)


def test_java_variable_mapping_is_refused(engine):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("caller.bpmn", caller("", ' camunda:variableMappingClass="org.example.Mapping"')),
                                  ("review.bpmn", CALLED)])
    assert any(p.element == "Activity_call" and "Java" in p.message for p in e.value.problems), e.value.problems


# --- multi-instance over camunda:collection ----------------------------------------------------------

def _reviews(collection, element_variable=' camunda:elementVariable="reviewer"'):
    loop = (f'\n      <bpmn:multiInstanceLoopCharacteristics camunda:collection="{collection}"'
            f'{element_variable} />')
    return modeler("Process_reviews",
                   ("startEvent", "StartEvent_1", "", ""),
                   ("userTask", "Task_review", ' name="会审" camunda:assignee="${reviewer}"', loop),
                   ("userTask", "Task_after", ' camunda:assignee="li"', ""),
                   ("endEvent", "Event_end", "", ""))


@pytest.mark.parametrize("collection", ["${reviewers}", "#{reviewers}", "reviewers"])
def test_a_multi_instance_runs_one_instance_per_item_with_the_item_in_its_variable(engine, collection):
    engine.repository.deploy([("reviews.bpmn", _reviews(collection))])
    iid = engine.runtime.start("Process_reviews", {"reviewers": ["zhang", "wang"]})
    tasks = [t for t in engine.tasks.list() if t["element_id"] == "Task_review"]
    assert sorted(t["assignee"] for t in tasks) == ["wang", "zhang"]
    for t in tasks:       # an instance changing its element variable changes only its own copy
        engine.tasks.complete(t["id"], t["assignee"], {"opinion": f"{t['assignee']} 同意", "reviewer": "?"})
    assert _ready(engine, "Task_after")
    data = engine.runtime.data(iid)
    # Camunda: the collection is left as it was; what an instance set reaches the process (last wins)
    assert data["reviewers"] == ["zhang", "wang"] and "reviewer" not in data
    assert data["opinion"] == f"{tasks[-1]['assignee']} 同意"


def test_a_missing_collection_names_the_element(engine):
    engine.repository.deploy([("reviews.bpmn", _reviews("${reviewers}"))])
    with pytest.raises(EngineStepError) as e:
        engine.runtime.start("Process_reviews", {})
    assert e.value.element == "Task_review"


@pytest.mark.parametrize("collection, element_variable, words", [
    ("${order.reviewers}", ' camunda:elementVariable="reviewer"', "collection"),
    ("${reviewers}", "", "elementVariable"),
], ids=["expression", "no-element-variable"])
def test_a_collection_qihu_cannot_read_is_refused_naming_the_element(engine, collection, element_variable, words):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("reviews.bpmn", _reviews(collection, element_variable))])
    assert any(p.element == "Task_review" and words in p.message and p.line for p in e.value.problems), \
        "\n".join(map(str, e.value.problems))
