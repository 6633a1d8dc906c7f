"""Issue 14, finding 3: event sub-processes follow BPMN as Camunda 7 runs them.

- an interrupting event sub-process cancels the rest of its scope when it starts;
- a non-interrupting one runs alongside, and its scope ends once both have ended;
- when a scope's main flow ends, the scope ends: its event sub-processes' start timers are
  disarmed (no job is left) and the instance is completed;
- an escalation (or error) start event fires only when one is thrown in its scope.

The diagrams are written as Camunda Modeler 5 saves them: incoming/outgoing children,
isExpanded event sub-process shapes, exporter attributes.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from qihu.engine.errors import DeployError
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import Job
from tests.real_corpus import REAL

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_{pid}" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')


def modeler(pid: str, body: str, extra: str = "") -> bytes:
    """A one-process definitions document as the Modeler saves it: each sequence flow is also
    listed as incoming/outgoing of its ends, and every element has its diagram shape."""
    flows = re.findall(r'<bpmn:sequenceFlow id="([^"]+)" sourceRef="([^"]+)" targetRef="([^"]+)"', body)

    def add_refs(m: re.Match) -> str:
        tag, eid, rest, close = m.group(1), m.group(2), m.group(3), m.group(4)
        refs = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f, _, t in flows if t == eid)
        refs += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f, s, _ in flows if s == eid)
        if not refs:
            return m.group(0)
        if close == "/>":
            return f'<bpmn:{tag} id="{eid}"{rest}>{refs}</bpmn:{tag}>'
        return f'<bpmn:{tag} id="{eid}"{rest}>{refs}'
    body = re.sub(r'<bpmn:((?!sequenceFlow)\w+) id="([^"]+)"([^>]*?)\s*(/>|>)', add_refs, body)
    shapes, x = [], 100
    for eid in re.findall(r'<bpmn:(?!sequenceFlow|process|escalation|message|signal|error)\w+ id="([^"]+)"', body):
        expanded = ' isExpanded="true"' if f'id="{eid}" triggeredByEvent' in body else ""
        shapes.append(f'<bpmndi:BPMNShape id="{eid}_di" bpmnElement="{eid}"{expanded}>'
                      f'<dc:Bounds x="{x}" y="100" width="100" height="80" /></bpmndi:BPMNShape>')
        x += 150
    edges = [f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}"><di:waypoint x="0" y="0" /><di:waypoint x="10" y="0" />'
             f'</bpmndi:BPMNEdge>' for f, _, _ in flows]
    return (HEAD.format(pid=pid) + f'  <bpmn:process id="{pid}" isExecutable="true" camunda:historyTimeToLive="180">\n'
            + body + '\n  </bpmn:process>\n' + extra
            + f'  <bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{pid}">\n'
            + "\n".join(shapes + edges) + '\n  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n'
            ).encode("utf-8")


def flow(fid: str, src: str, dst: str) -> str:
    return f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}" />'


def timer_esp(pid: str, interrupting: bool) -> bytes:
    """受理 in the main flow; after one hour an event sub-process 超时处理 (interrupting or not)."""
    flag = "" if interrupting else ' isInterrupting="false"'
    return modeler(pid, f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_accept" name="受理" camunda:assignee="li" />
    <bpmn:endEvent id="Event_main_end" />
    {flow("Flow_1", "StartEvent_1", "Task_accept")}
    {flow("Flow_2", "Task_accept", "Event_main_end")}
    <bpmn:subProcess id="Activity_overdue" name="超时" triggeredByEvent="true">
      <bpmn:startEvent id="Event_timer_start" name="一小时"{flag}>
        <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:userTask id="Task_overdue" name="超时处理" camunda:assignee="li" />
      <bpmn:endEvent id="Event_overdue_end" />
      {flow("Flow_3", "Event_timer_start", "Task_overdue")}
      {flow("Flow_4", "Task_overdue", "Event_overdue_end")}
    </bpmn:subProcess>""")


ESCALATION = modeler("esp_escalation", f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_accept" name="受理" camunda:assignee="li" />
    <bpmn:exclusiveGateway id="Gateway_escalate" default="Flow_normal" />
    <bpmn:intermediateThrowEvent id="Event_throw" name="上报">
      <bpmn:escalationEventDefinition id="EscalationEventDefinition_1" escalationRef="Escalation_up" />
    </bpmn:intermediateThrowEvent>
    <bpmn:userTask id="Task_wait" name="等待" camunda:assignee="li" />
    <bpmn:endEvent id="Event_main_end" />
    <bpmn:endEvent id="Event_after_throw" />
    {flow("Flow_1", "StartEvent_1", "Task_accept")}
    {flow("Flow_2", "Task_accept", "Gateway_escalate")}
    <bpmn:sequenceFlow id="Flow_up" sourceRef="Gateway_escalate" targetRef="Event_throw"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${{up}}</bpmn:conditionExpression></bpmn:sequenceFlow>
    {flow("Flow_normal", "Gateway_escalate", "Event_main_end")}
    {flow("Flow_5", "Event_throw", "Task_wait")}
    {flow("Flow_6", "Task_wait", "Event_after_throw")}
    <bpmn:subProcess id="Activity_escalated" name="上报处理" triggeredByEvent="true">
      <bpmn:startEvent id="Event_esc_start" name="收到上报">
        <bpmn:escalationEventDefinition id="EscalationEventDefinition_2" escalationRef="Escalation_up" />
      </bpmn:startEvent>
      <bpmn:userTask id="Task_escalated" name="领导督办" camunda:assignee="li" />
      <bpmn:endEvent id="Event_esc_end" />
      {flow("Flow_3", "Event_esc_start", "Task_escalated")}
      {flow("Flow_4", "Task_escalated", "Event_esc_end")}
    </bpmn:subProcess>""",
    extra='  <bpmn:escalation id="Escalation_up" name="上报" escalationCode="UP" />\n')


def open_elements(engine, iid):
    return sorted(t["element_id"] for t in engine.tasks.list(instance_id=iid))


def complete(engine, iid, element, **data):
    [task] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
    engine.tasks.complete(task["id"], "li", data, check=False)


def jobs(engine, iid):
    with engine.db.read() as s:
        return [(j.element_id, j.kind) for j in s.scalars(select(Job).where(Job.instance_id == iid))]


def later(engine, clock, hours):
    clock.set(clock.now() + timedelta(hours=hours))
    worker = Worker(engine)
    while worker.run_once():
        pass


def test_an_interrupting_timer_event_subprocess_cancels_the_main_flow(engine, clock):
    engine.repository.deploy([("esp_timer.bpmn", timer_esp("esp_timer", True))])
    iid = engine.runtime.start("esp_timer", {})
    assert open_elements(engine, iid) == ["Task_accept"]
    assert [e for e, kind in jobs(engine, iid) if kind == "timer"] == ["Event_timer_start"]
    later(engine, clock, 2)
    assert open_elements(engine, iid) == ["Task_overdue"]        # 受理 is cancelled
    complete(engine, iid, "Task_overdue")
    assert engine.runtime.get(iid)["status"] == "completed"
    done = engine.history.completed_elements(iid)
    assert "Task_overdue" in done and "Task_accept" not in done and "Event_main_end" not in done
    assert jobs(engine, iid) == []


def test_a_non_interrupting_timer_event_subprocess_runs_alongside(engine, clock):
    engine.repository.deploy([("esp_timer_ni.bpmn", timer_esp("esp_timer_ni", False))])
    iid = engine.runtime.start("esp_timer_ni", {})
    later(engine, clock, 2)
    assert open_elements(engine, iid) == ["Task_accept", "Task_overdue"]
    complete(engine, iid, "Task_accept")
    # the scope waits for the event sub-process that has started
    assert engine.runtime.get(iid)["status"] == "running"
    assert open_elements(engine, iid) == ["Task_overdue"]
    complete(engine, iid, "Task_overdue")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert jobs(engine, iid) == []


@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_when_the_main_flow_ends_the_start_timer_is_disarmed(engine, clock, interrupting):
    pid = "esp_disarm_" + ("i" if interrupting else "n")
    engine.repository.deploy([(pid + ".bpmn", timer_esp(pid, interrupting))])
    iid = engine.runtime.start(pid, {})
    complete(engine, iid, "Task_accept")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert jobs(engine, iid) == []
    later(engine, clock, 2)                                       # nothing fires later
    assert open_elements(engine, iid) == []
    assert "Event_timer_start" not in engine.history.completed_elements(iid)


def test_an_escalation_event_subprocess_waits_for_its_escalation(engine, clock):
    engine.repository.deploy([("esp_escalation.bpmn", ESCALATION)])
    iid = engine.runtime.start("esp_escalation", {})
    assert open_elements(engine, iid) == ["Task_accept"]          # not fired at process start
    complete(engine, iid, "Task_accept", up=False)
    assert engine.runtime.get(iid)["status"] == "completed"
    assert "Task_escalated" not in engine.history.completed_elements(iid)


def test_an_escalation_thrown_in_scope_starts_the_interrupting_event_subprocess(engine, clock):
    engine.repository.deploy([("esp_escalation.bpmn", ESCALATION)])
    iid = engine.runtime.start("esp_escalation", {})
    complete(engine, iid, "Task_accept", up=True)
    # interrupting (the default): the main flow's token after the throw event is cancelled
    assert open_elements(engine, iid) == ["Task_escalated"]
    complete(engine, iid, "Task_escalated")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert "Task_wait" not in engine.history.completed_elements(iid)


def test_spiffworkflow_own_event_subprocess_diagram(engine):
    """SpiffWorkflow's tests/SpiffWorkflow/bpmn/data/event-subprocess.bpmn: a signal thrown by the
    main flow starts the (interrupting) signal event sub-process."""
    engine.repository.deploy([REAL / "spiff__event-subprocess.bpmn"])
    iid = engine.runtime.start("main", {})
    assert engine.runtime.get(iid)["status"] == "completed"
    done = engine.history.completed_elements(iid)
    assert {"set_data", "Event_1o52hta", "Event_0rfrdxr", "task"} <= set(done)
    # interrupting: the main flow's token at the throw event is cancelled, as in Camunda
    assert "Event_03f19jy" not in done



def nested_timer_esp(pid: str) -> bytes:
    """An embedded sub-process 办理 holding 受理 and an interrupting one-hour timer event
    sub-process 超时处理; after the sub-process, 归档."""
    return modeler(pid, f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:subProcess id="Activity_handle" name="办理">
      <bpmn:startEvent id="Event_sub_start" />
      <bpmn:userTask id="Task_accept" name="受理" camunda:assignee="li" />
      <bpmn:endEvent id="Event_sub_end" />
      {flow("Flow_s1", "Event_sub_start", "Task_accept")}
      {flow("Flow_s2", "Task_accept", "Event_sub_end")}
      <bpmn:subProcess id="Activity_overdue" name="超时" triggeredByEvent="true">
        <bpmn:startEvent id="Event_timer_start" name="一小时">
          <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
        </bpmn:startEvent>
        <bpmn:userTask id="Task_overdue" name="超时处理" camunda:assignee="li" />
        <bpmn:endEvent id="Event_overdue_end" />
        {flow("Flow_3", "Event_timer_start", "Task_overdue")}
        {flow("Flow_4", "Task_overdue", "Event_overdue_end")}
      </bpmn:subProcess>
    </bpmn:subProcess>
    <bpmn:userTask id="Task_archive" name="归档" camunda:assignee="li" />
    <bpmn:endEvent id="Event_main_end" />
    {flow("Flow_1", "StartEvent_1", "Activity_handle")}
    {flow("Flow_2", "Activity_handle", "Task_archive")}
    {flow("Flow_5", "Task_archive", "Event_main_end")}""")


def test_a_timer_event_subprocess_inside_a_subprocess_interrupts_that_subprocess_only(engine, clock):
    engine.repository.deploy([("esp_nested.bpmn", nested_timer_esp("esp_nested"))])
    iid = engine.runtime.start("esp_nested", {})
    assert open_elements(engine, iid) == ["Task_accept"]
    later(engine, clock, 2)
    assert open_elements(engine, iid) == ["Task_overdue"]
    complete(engine, iid, "Task_overdue")
    assert open_elements(engine, iid) == ["Task_archive"]        # the sub-process ended, the process goes on
    complete(engine, iid, "Task_archive")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert "Task_accept" not in engine.history.completed_elements(iid)


def test_a_timer_event_subprocess_inside_a_subprocess_is_disarmed_when_it_ends(engine, clock):
    engine.repository.deploy([("esp_nested.bpmn", nested_timer_esp("esp_nested"))])
    iid = engine.runtime.start("esp_nested", {})
    complete(engine, iid, "Task_accept")
    assert open_elements(engine, iid) == ["Task_archive"]
    assert jobs(engine, iid) == []
    later(engine, clock, 2)
    assert open_elements(engine, iid) == ["Task_archive"]
    complete(engine, iid, "Task_archive")
    assert engine.runtime.get(iid)["status"] == "completed"


MESSAGE = modeler("esp_message", f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_accept" name="受理" camunda:assignee="li" />
    <bpmn:endEvent id="Event_main_end" />
    {flow("Flow_1", "StartEvent_1", "Task_accept")}
    {flow("Flow_2", "Task_accept", "Event_main_end")}
    <bpmn:subProcess id="Activity_withdrawn" name="撤回" triggeredByEvent="true">
      <bpmn:startEvent id="Event_withdraw" name="企业撤回">
        <bpmn:messageEventDefinition id="MessageEventDefinition_1" messageRef="Message_withdraw" />
      </bpmn:startEvent>
      <bpmn:userTask id="Task_withdrawn" name="撤回登记" camunda:assignee="li" />
      <bpmn:endEvent id="Event_withdrawn_end" />
      {flow("Flow_3", "Event_withdraw", "Task_withdrawn")}
      {flow("Flow_4", "Task_withdrawn", "Event_withdrawn_end")}
    </bpmn:subProcess>""",
    extra='  <bpmn:message id="Message_withdraw" name="withdraw" />\n')


def test_an_interrupting_message_event_subprocess_cancels_the_main_flow(engine, clock):
    engine.repository.deploy([("esp_message.bpmn", MESSAGE)])
    iid = engine.runtime.start("esp_message", {}, business_key="Q-1")
    engine.runtime.correlate("withdraw", business_key="Q-1", payload={})
    assert open_elements(engine, iid) == ["Task_withdrawn"]
    complete(engine, iid, "Task_withdrawn")
    assert engine.runtime.get(iid)["status"] == "completed"


NESTED_ESCALATION = modeler("esp_nested_escalation", f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:subProcess id="Activity_handle" name="办理">
      <bpmn:startEvent id="Event_sub_start" />
      <bpmn:userTask id="Task_accept" name="受理" camunda:assignee="li" />
      <bpmn:endEvent id="Event_sub_end" />
      {flow("Flow_s1", "Event_sub_start", "Task_accept")}
      {flow("Flow_s2", "Task_accept", "Event_sub_end")}
      <bpmn:subProcess id="Activity_escalated" name="上报处理" triggeredByEvent="true">
        <bpmn:startEvent id="Event_esc_start" name="收到上报">
          <bpmn:escalationEventDefinition id="EscalationEventDefinition_2" escalationRef="Escalation_up" />
        </bpmn:startEvent>
        <bpmn:endEvent id="Event_esc_end" />
        {flow("Flow_3", "Event_esc_start", "Event_esc_end")}
      </bpmn:subProcess>
    </bpmn:subProcess>
    <bpmn:endEvent id="Event_main_end" />
    {flow("Flow_1", "StartEvent_1", "Activity_handle")}
    {flow("Flow_2", "Activity_handle", "Event_main_end")}""",
    extra='  <bpmn:escalation id="Escalation_up" name="上报" escalationCode="UP" />\n')


def test_an_escalation_event_subprocess_inside_a_subprocess_is_refused_naming_it(engine):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("esp_nested_escalation.bpmn", NESTED_ESCALATION)])
    [p] = [p for p in e.value.problems if p.element == "Event_esc_start"]
    assert "事件子流程 Activity_escalated" in p.message and "升级" in p.message and "escalation" in p.message
    assert p.line and p.file == "esp_nested_escalation.bpmn"


ERROR_END = modeler("esp_error_end", f"""
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:parallelGateway id="Gateway_split" />
    <bpmn:userTask id="Task_other" name="并行办理" camunda:assignee="li" />
    <bpmn:endEvent id="Event_other_end" />
    <bpmn:endEvent id="Event_fail" name="办理失败">
      <bpmn:errorEventDefinition id="ErrorEventDefinition_1" errorRef="Error_fail" />
    </bpmn:endEvent>
    {flow("Flow_1", "StartEvent_1", "Gateway_split")}
    {flow("Flow_2", "Gateway_split", "Task_other")}
    {flow("Flow_3", "Task_other", "Event_other_end")}
    <bpmn:userTask id="Task_check" name="核查" camunda:assignee="li" />
    {flow("Flow_4", "Gateway_split", "Task_check")}
    {flow("Flow_5", "Task_check", "Event_fail")}
    <bpmn:subProcess id="Activity_failed" name="失败处理" triggeredByEvent="true">
      <bpmn:startEvent id="Event_err_start">
        <bpmn:errorEventDefinition id="ErrorEventDefinition_2" errorRef="Error_fail" />
      </bpmn:startEvent>
      <bpmn:userTask id="Task_failed" name="失败登记" camunda:assignee="li" />
      <bpmn:endEvent id="Event_err_end" />
      {flow("Flow_6", "Event_err_start", "Task_failed")}
      {flow("Flow_7", "Task_failed", "Event_err_end")}
    </bpmn:subProcess>""",
    extra='  <bpmn:error id="Error_fail" name="办理失败" errorCode="FAIL" />\n')


def test_an_error_end_event_starts_the_error_event_subprocess_which_cancels_the_scope(engine):
    engine.repository.deploy([("esp_error_end.bpmn", ERROR_END)])
    iid = engine.runtime.start("esp_error_end", {})
    assert open_elements(engine, iid) == ["Task_check", "Task_other"]
    complete(engine, iid, "Task_check")
    assert open_elements(engine, iid) == ["Task_failed"]          # the parallel 并行办理 is cancelled
    complete(engine, iid, "Task_failed")
    assert engine.runtime.get(iid)["status"] == "completed"
    assert "Task_other" not in engine.history.completed_elements(iid)
