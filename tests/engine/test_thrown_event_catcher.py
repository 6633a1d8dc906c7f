"""Issue 14, finding 12: an error or escalation thrown by an EVENT (error end event,
intermediate escalation throw event) reaches one catcher, chosen as Camunda 7 chooses it.

SpiffWorkflow 3.2.0 tells every matching catch event of the nearest level, so with a boundary
naming the code and a catch-all one (no errorRef / escalationRef) on the same sub-process both
paths ran. Camunda takes the one naming the code; the catch-all only when none names it
(engine/runtime/catching.py, the same walk as a handler's BpmnError). The real diagram of
this is tests/data/real/spiff__transaction.bpmn; these are the smaller cases around it, written
as Camunda Modeler saves them.
"""
import pytest

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_0thr12" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')
DECLARED = ('  <bpmn:error id="Error_invalid" name="材料不全" errorCode="INVALID" camunda:errorMessage="材料不全，请补正" />\n'
            '  <bpmn:error id="Error_other" name="其他" errorCode="OTHER" />\n'
            '  <bpmn:escalation id="Escalation_overdue" name="超期" escalationCode="OVERDUE" />\n'
            '  <bpmn:escalation id="Escalation_other" name="其他" escalationCode="ELSE" />\n')


def diagram(key: str, thrown: str, catch_kind: str, interrupting: bool = True) -> bytes:
    """Start → sub-process (start → user task → the throwing event [→ user task → end]) → end,
    with two boundaries on the sub-process: one naming the code (Boundary_named) and a
    catch-all (Boundary_any), each leading to its own end event."""
    ref = "errorRef" if catch_kind == "error" else "escalationRef"
    named = "Error_invalid" if catch_kind == "error" else "Escalation_overdue"
    if catch_kind == "error":
        throw = (f'      <bpmn:endEvent id="Throw_1" name="抛出">\n        <bpmn:incoming>Flow_fill_throw</bpmn:incoming>\n'
                 f'        <bpmn:errorEventDefinition id="Def_throw" errorRef="{thrown}" />\n      </bpmn:endEvent>\n')
    else:
        throw = (f'      <bpmn:intermediateThrowEvent id="Throw_1" name="抛出">\n'
                 f'        <bpmn:incoming>Flow_fill_throw</bpmn:incoming>\n'
                 f'        <bpmn:outgoing>Flow_throw_after</bpmn:outgoing>\n'
                 f'        <bpmn:escalationEventDefinition id="Def_throw" escalationRef="{thrown}" />\n'
                 f'      </bpmn:intermediateThrowEvent>\n'
                 f'      <bpmn:userTask id="Task_after" name="继续办理" camunda:candidateGroups="clerks">\n'
                 f'        <bpmn:incoming>Flow_throw_after</bpmn:incoming>\n'
                 f'        <bpmn:outgoing>Flow_after_subend</bpmn:outgoing>\n      </bpmn:userTask>\n'
                 f'      <bpmn:endEvent id="Sub_end">\n        <bpmn:incoming>Flow_after_subend</bpmn:incoming>\n'
                 f'      </bpmn:endEvent>\n'
                 f'      <bpmn:sequenceFlow id="Flow_throw_after" sourceRef="Throw_1" targetRef="Task_after" />\n'
                 f'      <bpmn:sequenceFlow id="Flow_after_subend" sourceRef="Task_after" targetRef="Sub_end" />\n')
    cancel = "" if interrupting else ' cancelActivity="false"'
    extra = ' camunda:errorCodeVariable="error_code" camunda:errorMessageVariable="error_message"' \
        if catch_kind == "error" else ' camunda:escalationCodeVariable="escalation_code"'

    def boundary(bid: str, definition_ref: str) -> str:
        return (f'    <bpmn:boundaryEvent id="{bid}" attachedToRef="Sub_1"{cancel}>\n'
                f'      <bpmn:outgoing>Flow_{bid}</bpmn:outgoing>\n'
                f'      <bpmn:{catch_kind}EventDefinition id="Def_{bid}"{definition_ref}{extra} />\n'
                f'    </bpmn:boundaryEvent>\n'
                f'    <bpmn:endEvent id="End_{bid}">\n      <bpmn:incoming>Flow_{bid}</bpmn:incoming>\n    </bpmn:endEvent>\n'
                f'    <bpmn:sequenceFlow id="Flow_{bid}" sourceRef="{bid}" targetRef="End_{bid}" />\n')

    body = (
        '    <bpmn:startEvent id="StartEvent_1">\n      <bpmn:outgoing>Flow_start_sub</bpmn:outgoing>\n'
        '    </bpmn:startEvent>\n'
        '    <bpmn:subProcess id="Sub_1" name="核验">\n      <bpmn:incoming>Flow_start_sub</bpmn:incoming>\n'
        '      <bpmn:outgoing>Flow_sub_end</bpmn:outgoing>\n'
        '      <bpmn:startEvent id="Sub_start">\n        <bpmn:outgoing>Flow_substart_fill</bpmn:outgoing>\n'
        '      </bpmn:startEvent>\n'
        '      <bpmn:userTask id="Task_fill" name="填写" camunda:candidateGroups="clerks">\n'
        '        <bpmn:incoming>Flow_substart_fill</bpmn:incoming>\n'
        '        <bpmn:outgoing>Flow_fill_throw</bpmn:outgoing>\n      </bpmn:userTask>\n'
        + throw +
        '      <bpmn:sequenceFlow id="Flow_substart_fill" sourceRef="Sub_start" targetRef="Task_fill" />\n'
        '      <bpmn:sequenceFlow id="Flow_fill_throw" sourceRef="Task_fill" targetRef="Throw_1" />\n'
        '    </bpmn:subProcess>\n'
        '    <bpmn:endEvent id="End_ok">\n      <bpmn:incoming>Flow_sub_end</bpmn:incoming>\n    </bpmn:endEvent>\n'
        '    <bpmn:sequenceFlow id="Flow_start_sub" sourceRef="StartEvent_1" targetRef="Sub_1" />\n'
        '    <bpmn:sequenceFlow id="Flow_sub_end" sourceRef="Sub_1" targetRef="End_ok" />\n'
        # the catch-all first in the file: the choice must not depend on the order
        + boundary("Boundary_any", "") + boundary("Boundary_named", f' {ref}="{named}"'))
    return (HEAD + f'  <bpmn:process id="{key}" name="核验" isExecutable="true">\n{body}  </bpmn:process>\n'
            + DECLARED + '</bpmn:definitions>\n').encode("utf-8")


def _complete(engine, iid: str, element: str) -> set[str]:
    ready = [t for t in engine.tasks.list() if t["element_id"] == element]
    assert len(ready) == 1, [t["element_id"] for t in engine.tasks.list()]
    engine.tasks.complete(ready[0]["id"], "demo", {}, check=False)
    return set(engine.history.completed_elements(iid))


def _run(engine, xml: bytes, key: str, task: str) -> tuple[str, set[str]]:
    engine.repository.deploy([(f"{key}.bpmn", xml)])
    iid = engine.runtime.start(key, {"applicant": "张三"})
    return iid, _complete(engine, iid, task)


def test_an_error_end_event_is_caught_by_the_boundary_naming_its_code_only(engine):
    iid, done = _run(engine, diagram("err_named", "Error_invalid", "error"), "err_named", "Task_fill")
    assert {"Throw_1", "Boundary_named", "End_Boundary_named"} <= done
    assert not {"Boundary_any", "End_Boundary_any", "End_ok"} & done
    assert engine.runtime.get(iid)["status"] == "completed"
    data = engine.runtime.data(iid)
    # camunda:errorCodeVariable / errorMessageVariable get the thrown error's code and message
    assert data["error_code"] == "INVALID"
    assert data["error_message"] == "材料不全，请补正"
    assert data["applicant"] == "张三"


def test_an_error_no_boundary_names_goes_to_the_catch_all(engine):
    iid, done = _run(engine, diagram("err_any", "Error_other", "error"), "err_any", "Task_fill")
    assert {"Throw_1", "Boundary_any", "End_Boundary_any"} <= done
    assert not {"Boundary_named", "End_Boundary_named", "End_ok"} & done
    assert engine.runtime.data(iid)["error_code"] == "OTHER"


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_an_escalation_throw_event_is_caught_by_the_boundary_naming_its_code_only(engine, interrupting):
    key = "esc_named" if interrupting else "esc_named_soft"
    iid, done = _run(engine, diagram(key, "Escalation_overdue", "escalation", interrupting), key, "Task_fill")
    assert {"Throw_1", "Boundary_named", "End_Boundary_named"} <= done
    assert not {"Boundary_any", "End_Boundary_any"} & done
    ready = [t["element_id"] for t in engine.tasks.list()]
    if interrupting:
        # the sub-process is interrupted: its path after the throw never runs
        assert ready == [] and engine.runtime.get(iid)["status"] == "completed"
        assert "End_ok" not in done
    else:
        # the sub-process goes on after the throw, and the process ends through it
        assert ready == ["Task_after"]
        done = _complete(engine, iid, "Task_after")
        assert {"Sub_end", "End_ok"} <= done and engine.runtime.get(iid)["status"] == "completed"
        assert not {"Boundary_any", "End_Boundary_any"} & done
    assert engine.runtime.data(iid)["escalation_code"] == "OVERDUE"


def test_an_escalation_no_boundary_names_goes_to_the_catch_all(engine):
    iid, done = _run(engine, diagram("esc_any", "Escalation_other", "escalation"), "esc_any", "Task_fill")
    assert {"Throw_1", "Boundary_any", "End_Boundary_any"} <= done
    assert not {"Boundary_named", "End_Boundary_named"} & done
