"""Issue 14, finding 6: a handler throws a BPMN error or an escalation, as Camunda's external-task
workers do (`handleBpmnError`), and the diagram's error / escalation events catch it.

The diagrams are written as Camunda Modeler saves them (incoming/outgoing children, errors and
escalations declared on the definitions, exporter attributes). A technical failure stays an
incident (tests/engine/test_runtime.py); a BPMN error is a business outcome and opens none.
"""
import pytest

from qihu import BpmnError, Escalation, topic
from qihu.engine.topics import HandlerRegistry

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_0err14" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')
DECLARED = ('  <bpmn:error id="Error_invalid" name="材料不全" errorCode="INVALID" />\n'
            '  <bpmn:error id="Error_other" name="其他" errorCode="OTHER" />\n'
            '  <bpmn:escalation id="Escalation_overdue" name="超期" escalationCode="OVERDUE" />\n')


def diagram(key, body):
    return (HEAD + f'  <bpmn:process id="{key}" name="核验" isExecutable="true">\n{body}\n  </bpmn:process>\n'
            + DECLARED + '</bpmn:definitions>\n').encode("utf-8")


def flows(*pairs):
    return "\n".join(f'    <bpmn:sequenceFlow id="Flow_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


def user(tid, name, incoming, outgoing):
    return (f'    <bpmn:userTask id="{tid}" name="{name}" camunda:candidateGroups="clerks">\n'
            f'      <bpmn:incoming>Flow_{incoming}_{tid}</bpmn:incoming>\n'
            f'      <bpmn:outgoing>Flow_{tid}_{outgoing}</bpmn:outgoing>\n    </bpmn:userTask>')


def end(eid, incoming):
    return f'    <bpmn:endEvent id="{eid}">\n      <bpmn:incoming>Flow_{incoming}_{eid}</bpmn:incoming>\n    </bpmn:endEvent>'


SERVICE = ('    <bpmn:serviceTask id="Task_check" name="核验材料" camunda:type="external" camunda:topic="t.check">\n'
           '      <bpmn:incoming>Flow_StartEvent_1_Task_check</bpmn:incoming>\n'
           '      <bpmn:outgoing>Flow_Task_check_Task_next</bpmn:outgoing>\n    </bpmn:serviceTask>')
START = '    <bpmn:startEvent id="StartEvent_1">\n      <bpmn:outgoing>Flow_StartEvent_1_Task_check</bpmn:outgoing>\n    </bpmn:startEvent>'
MAIN = "\n".join([START, SERVICE, user("Task_next", "后续办理", "Task_check", "End_ok"), end("End_ok", "Task_next"),
                  flows(("StartEvent_1", "Task_check"), ("Task_check", "Task_next"), ("Task_next", "End_ok"))])


def boundary(bid, definition, attached="Task_check", cancel=True):
    extra = "" if cancel else ' cancelActivity="false"'
    return (f'    <bpmn:boundaryEvent id="{bid}" name="异常" attachedToRef="{attached}"{extra}>\n'
            f'      <bpmn:outgoing>Flow_{bid}_Task_fix</bpmn:outgoing>\n      {definition}\n    </bpmn:boundaryEvent>\n'
            + user("Task_fix", "补正材料", bid, "End_fix") + "\n" + end("End_fix", "Task_fix") + "\n"
            + flows((bid, "Task_fix"), ("Task_fix", "End_fix")))


ERROR_BOUNDARY = diagram("err_boundary", MAIN + "\n" + boundary(
    "Boundary_invalid", '<bpmn:errorEventDefinition id="Def_1" errorRef="Error_invalid" '
                        'camunda:errorCodeVariable="error_code" camunda:errorMessageVariable="error_message" />'))
CATCH_ALL = diagram("err_catch_all", MAIN + "\n" + boundary("Boundary_any", '<bpmn:errorEventDefinition id="Def_2" />'))
NOT_CAUGHT = diagram("err_other", MAIN + "\n" + boundary(
    "Boundary_other", '<bpmn:errorEventDefinition id="Def_3" errorRef="Error_other" />'))
ESCALATION_SOFT = diagram("esc_soft", MAIN + "\n" + boundary(
    "Boundary_overdue", '<bpmn:escalationEventDefinition id="Def_4" escalationRef="Escalation_overdue" '
                        'camunda:escalationCodeVariable="escalated" />', cancel=False))
ESCALATION_HARD = diagram("esc_hard", MAIN + "\n" + boundary(
    "Boundary_overdue", '<bpmn:escalationEventDefinition id="Def_5" escalationRef="Escalation_overdue" />'))

# the external task inside an embedded sub-process; the error boundary is on the sub-process
IN_SUBPROCESS = diagram("err_scope", "\n".join([
    '    <bpmn:startEvent id="StartEvent_1">\n      <bpmn:outgoing>Flow_StartEvent_1_Sub_1</bpmn:outgoing>\n'
    '    </bpmn:startEvent>',
    '    <bpmn:subProcess id="Sub_1" name="核验">\n      <bpmn:incoming>Flow_StartEvent_1_Sub_1</bpmn:incoming>\n'
    '      <bpmn:outgoing>Flow_Sub_1_Task_next</bpmn:outgoing>\n'
    '      <bpmn:startEvent id="Sub_start">\n        <bpmn:outgoing>Flow_Sub_start_Task_check</bpmn:outgoing>\n'
    '      </bpmn:startEvent>\n'
    '      <bpmn:serviceTask id="Task_check" name="核验材料" camunda:type="external" camunda:topic="t.check">\n'
    '        <bpmn:incoming>Flow_Sub_start_Task_check</bpmn:incoming>\n'
    '        <bpmn:outgoing>Flow_Task_check_Sub_end</bpmn:outgoing>\n      </bpmn:serviceTask>\n'
    '      <bpmn:endEvent id="Sub_end">\n        <bpmn:incoming>Flow_Task_check_Sub_end</bpmn:incoming>\n'
    '      </bpmn:endEvent>\n'
    + flows(("Sub_start", "Task_check"), ("Task_check", "Sub_end")) + '\n    </bpmn:subProcess>',
    user("Task_next", "后续办理", "Sub_1", "End_ok"), end("End_ok", "Task_next"),
    flows(("StartEvent_1", "Sub_1"), ("Sub_1", "Task_next"), ("Task_next", "End_ok")),
    boundary("Boundary_scope", '<bpmn:errorEventDefinition id="Def_6" errorRef="Error_invalid" />', attached="Sub_1"),
]))

# an error event sub-process of the process catches what no boundary does
EVENT_SUBPROCESS = diagram("err_event_sub", MAIN + "\n" + """
    <bpmn:subProcess id="Sub_on_error" name="错误处理" triggeredByEvent="true">
      <bpmn:startEvent id="Start_on_error" name="材料不全">
        <bpmn:outgoing>Flow_Start_on_error_Task_fix</bpmn:outgoing>
        <bpmn:errorEventDefinition id="Def_7" errorRef="Error_invalid" camunda:errorCodeVariable="error_code" />
      </bpmn:startEvent>
""" + user("Task_fix", "补正材料", "Start_on_error", "End_fix") + "\n" + end("End_fix", "Task_fix") + "\n"
    + flows(("Start_on_error", "Task_fix"), ("Task_fix", "End_fix")) + "\n    </bpmn:subProcess>")


def registry(check):
    r = HandlerRegistry()
    r.register("t.check", check)
    return r


def invalid(**_):
    raise BpmnError("INVALID", "缺少营业执照", variables={"missing": ["营业执照"]})


def open_names(e, iid):
    return sorted(t["name"] for t in e.tasks.list(instance_id=iid))


def events(e, iid, kind):
    return [ev for ev in e.history.events(iid) if ev["type"] == kind]


def test_front_door_exports_them():
    import qihu
    assert {"BpmnError", "Escalation", "topic"} <= set(qihu.__all__)
    assert issubclass(BpmnError, Exception) and issubclass(Escalation, Exception)
    with pytest.raises(ValueError):
        BpmnError("")


def test_an_error_boundary_with_the_code_catches_it_and_no_incident_opens(make_engine):
    e = make_engine(handlers=registry(invalid))
    e.tasks.add_member("li", "clerks")
    e.repository.deploy([("err.bpmn", ERROR_BOUNDARY)])
    iid = e.runtime.start("err_boundary", {"company": "某某科技"})
    assert e.runtime.incidents(iid) == []
    assert open_names(e, iid) == ["补正材料"]                       # the error path, not 后续办理
    data = e.runtime.data(iid)
    assert data["missing"] == ["营业执照"] and data["company"] == "某某科技"
    assert data["error_code"] == "INVALID" and data["error_message"] == "缺少营业执照"
    [ev] = events(e, iid, "bpmn_error")
    assert ev["element_id"] == "Task_check"
    assert ev["data"]["code"] == "INVALID" and ev["data"]["caught_by"] == "Boundary_invalid"
    assert events(e, iid, "handler_called") == [] and events(e, iid, "incident") == []
    [t] = e.tasks.list(instance_id=iid)
    e.tasks.complete(t["id"], "li", {})
    assert e.runtime.get(iid)["status"] == "completed"


def test_a_boundary_without_error_ref_catches_every_code(make_engine):
    @topic("t.check")
    def other(**_):
        raise BpmnError("ANYTHING")
    e = make_engine(handlers=registry(other))
    e.repository.deploy([("all.bpmn", CATCH_ALL)])
    iid = e.runtime.start("err_catch_all")
    assert open_names(e, iid) == ["补正材料"]
    assert events(e, iid, "bpmn_error")[0]["data"]["caught_by"] == "Boundary_any"


def test_an_uncaught_error_ends_the_path_as_camunda_7_does_and_the_trail_says_so(make_engine):
    # Camunda 7 (BpmnBehaviorLogger ENGINE-02001): "throws an error event ... but no catching boundary
    # event was defined. Execution is ended (none end event semantics)": no incident.
    e = make_engine(handlers=registry(invalid))
    e.repository.deploy([("other.bpmn", NOT_CAUGHT)])
    iid = e.runtime.start("err_other")
    assert e.runtime.incidents(iid) == []
    assert e.tasks.list(instance_id=iid) == []
    assert e.runtime.get(iid)["status"] == "completed"
    [ev] = events(e, iid, "bpmn_error")
    assert ev["data"]["caught_by"] is None and ev["data"]["message"] == "缺少营业执照"


def test_an_error_boundary_on_the_enclosing_sub_process_catches_it(make_engine):
    e = make_engine(handlers=registry(invalid))
    e.repository.deploy([("scope.bpmn", IN_SUBPROCESS)])
    iid = e.runtime.start("err_scope")
    assert open_names(e, iid) == ["补正材料"]
    assert e.runtime.data(iid)["missing"] == ["营业执照"]
    assert events(e, iid, "bpmn_error")[0]["data"]["caught_by"] == "Boundary_scope"


def test_an_error_event_sub_process_catches_it(make_engine):
    e = make_engine(handlers=registry(invalid))
    e.tasks.add_member("li", "clerks")
    e.repository.deploy([("esp.bpmn", EVENT_SUBPROCESS)])
    iid = e.runtime.start("err_event_sub")
    assert open_names(e, iid) == ["补正材料"]
    assert events(e, iid, "bpmn_error")[0]["data"]["caught_by"] == "Start_on_error"
    [t] = e.tasks.list(instance_id=iid)
    wf = e.runtime.workflow(iid)                  # the event sub-process's own path sees what was thrown
    from qihu.engine.dialect.state import find_task
    data = find_task(wf, t["id"]).data
    assert data["error_code"] == "INVALID" and data["missing"] == ["营业执照"]
    e.tasks.complete(t["id"], "li", {})
    assert e.runtime.get(iid)["status"] == "completed"


def test_a_non_interrupting_escalation_starts_its_path_and_the_task_completes(make_engine):
    def overdue(**_):
        raise Escalation("OVERDUE", "超期未办", variables={"late_days": 3})
    e = make_engine(handlers=registry(overdue))
    e.repository.deploy([("soft.bpmn", ESCALATION_SOFT)])
    iid = e.runtime.start("esc_soft")
    assert open_names(e, iid) == ["后续办理", "补正材料"]
    assert e.runtime.incidents(iid) == []
    [ev] = events(e, iid, "escalation")
    assert ev["data"]["caught_by"] == "Boundary_overdue" and ev["data"]["code"] == "OVERDUE"
    assert e.runtime.data(iid)["late_days"] == 3


def test_an_interrupting_escalation_takes_the_task_off_its_path(make_engine):
    def overdue(**_):
        raise Escalation("OVERDUE")
    e = make_engine(handlers=registry(overdue))
    e.repository.deploy([("hard.bpmn", ESCALATION_HARD)])
    iid = e.runtime.start("esc_hard")
    assert open_names(e, iid) == ["补正材料"]


def test_an_uncaught_escalation_is_not_critical_the_task_completes(make_engine):
    def overdue(**_):
        raise Escalation("SOMETHING_ELSE", variables={"noted": True})
    e = make_engine(handlers=registry(overdue))
    e.repository.deploy([("soft.bpmn", ESCALATION_SOFT)])
    iid = e.runtime.start("esc_soft")
    assert open_names(e, iid) == ["后续办理"]
    assert e.runtime.data(iid)["noted"] is True
    assert events(e, iid, "escalation")[0]["data"]["caught_by"] is None


def test_a_technical_failure_is_still_an_incident(make_engine):
    def broken(**_):
        raise RuntimeError("下游系统不可用")
    e = make_engine(handlers=registry(broken), handler_retries=0)
    e.repository.deploy([("err.bpmn", ERROR_BOUNDARY)])
    iid = e.runtime.start("err_boundary")
    [inc] = e.runtime.incidents(iid)
    assert inc["error_type"] == "RuntimeError"
    assert e.tasks.list(instance_id=iid) == []


def test_a_retried_handler_that_now_reports_a_bpmn_error_resolves_its_incident(make_engine, clock):
    calls = []

    def flaky(**_):
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("接口超时")
        raise BpmnError("INVALID", "缺少营业执照")
    e = make_engine(handlers=registry(flaky), handler_retries=1, handler_retry_backoff=10.0)
    e.repository.deploy([("err.bpmn", ERROR_BOUNDARY)])
    iid = e.runtime.start("err_boundary")
    assert len(e.runtime.incidents(iid)) == 1
    from qihu.engine.runtime.worker import Worker
    clock.advance(seconds=11)
    assert Worker(e).run_once() == 1
    assert e.runtime.incidents(iid) == []
    assert open_names(e, iid) == ["补正材料"]
