"""The SpiffWorkflow 3.2.0 traps the design card lists, shown on plain SpiffWorkflow.

Each test pins the trap itself (so an upgrade that fixes it is noticed); the tests that
qihu avoids it are next to the code that does (test_runtime, test_dialect).
"""
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

from tests.bpmn_util import bpmn, chain

SERVICE = bpmn("svc", f"""<bpmn:startEvent id="s" />
<bpmn:serviceTask id="call" camunda:type="external" camunda:topic="x" />
<bpmn:userTask id="u" name="用户任务" />
<bpmn:endEvent id="e" />
{chain("s", "call", "u", "e")}""")


def spiff(doc, pid):
    p = CamundaParser()
    p.add_bpmn_xml(etree.fromstring(doc).getroottree(), f"{pid}.bpmn")
    return BpmnWorkflow(p.get_spec(pid))


def test_call_service_hides_the_handler_error_behind_a_name_error():
    class Env:
        def call_service(self, context, **kwargs):
            raise ValueError("the real error")
    engine = PythonScriptEngine(environment=Env())
    try:
        engine.call_service(type("T", (), {"data": {}})())
    except NameError as e:      # 'script' is not defined in its except branch
        assert "script" in str(e)
    else:
        raise AssertionError("SpiffWorkflow fixed call_service; revisit engine/runtime/service.py")


def test_service_task_under_camunda_parser_waits_started_and_does_nothing():
    wf = spiff(SERVICE, "svc")
    wf.do_engine_steps()
    [started] = wf.get_tasks(state=TaskState.STARTED)
    assert started.task_spec.name == "call"
    assert wf.get_tasks(state=TaskState.READY, manual=True) == []


def test_serialize_json_escapes_chinese_and_embeds_the_spec():
    wf = spiff(bpmn("plain", f"""<bpmn:startEvent id="s" /><bpmn:userTask id="u" name="受理" /><bpmn:endEvent id="e" />
{chain("s", "u", "e")}"""), "plain")
    wf.get_tasks()[0].data["诉求"] = "用地"
    text = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG)).serialize_json(wf)
    assert "用地" not in text and "\\u7528\\u5730" in text
    assert '"spec"' in text and '"task_specs"' in text


def test_bare_iso_timer_text_is_a_python_name_error_in_plain_spiffworkflow():
    doc = bpmn("t", f"""<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e" />
{chain("s", "w", "e")}""")
    wf = spiff(doc, "t")
    try:
        wf.do_engine_steps()
    except Exception as e:
        assert "PT5M" in str(e) or "NameError" in repr(e) or "not defined" in str(e)
    else:
        raise AssertionError("SpiffWorkflow now reads bare PT5M; engine/parser.timer_expression may be simplified")
