"""Issue 14, finding 7: external send tasks, message end / throw events and business rule tasks are
served by topic like service tasks; DMN files with several decisions (decision requirements graphs)
are read, required decisions evaluated first and their results given to the decision that needs them.

The DRG is Camunda's own example, tests/data/real/camex__dinnerDecisions.dmn (SOURCES.md), checked
against the results of its project's DrgDecisionTest.
"""
import pytest

from qihu.engine.errors import DeployError
from qihu.engine.topics import HandlerRegistry
from tests.conftest import DATA

REAL = DATA / "real"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
        'xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_1send" '
        'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
        'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')


def diagram(key, *elements, extra=""):
    """A process of elements in a row, each as Camunda Modeler writes it: (tag, id, attrs, inner)."""
    ids = [e[1] for e in elements]
    body = []
    for i, (tag, eid, attrs, inner) in enumerate(elements):
        kids = []
        if i:
            kids.append(f"      <bpmn:incoming>Flow_{ids[i - 1]}</bpmn:incoming>")
        if i < len(elements) - 1:
            kids.append(f"      <bpmn:outgoing>Flow_{eid}</bpmn:outgoing>")
        if inner:
            kids.append(f"      {inner}")
        body.append(f'    <bpmn:{tag} id="{eid}" {attrs}>\n' + "\n".join(kids) + f"\n    </bpmn:{tag}>")
    body += [f'    <bpmn:sequenceFlow id="Flow_{a}" sourceRef="{a}" targetRef="{b}" />' for a, b in zip(ids, ids[1:])]
    return (HEAD + f'  <bpmn:process id="{key}" isExecutable="true">\n' + "\n".join(body)
            + "\n  </bpmn:process>\n" + extra + "</bpmn:definitions>\n").encode("utf-8")


START = ("startEvent", "StartEvent_1", 'name="开始"', "")
WAIT = ("userTask", "Task_look", 'name="查看" camunda:candidateGroups="clerks"', "")
END = ("endEvent", "EndEvent_1", 'name="结束"', "")
MESSAGE = '  <bpmn:message id="Message_notice" name="notice" />\n'

SEND_TASK = diagram("send_ext", START, ("sendTask", "Task_send", 'name="发送通知" camunda:type="external" '
                                        'camunda:topic="t.send"', ""), WAIT, END)
MESSAGE_END = diagram("msg_end_ext", START, ("endEvent", "End_notify", 'name="通知企业"',
                                             '<bpmn:messageEventDefinition id="Med_1" messageRef="Message_notice" '
                                             'camunda:type="external" camunda:topic="t.send" />'), extra=MESSAGE)
MESSAGE_THROW = diagram("msg_throw_ext", START, ("intermediateThrowEvent", "Throw_notify", 'name="通知企业"',
                                                 '<bpmn:messageEventDefinition id="Med_2" messageRef="Message_notice" '
                                                 'camunda:type="external" camunda:topic="t.send" />'), WAIT, END,
                        extra=MESSAGE)
RULE_EXT = diagram("rule_ext", START, ("businessRuleTask", "Task_rule", 'name="判定等级" camunda:type="external" '
                                       'camunda:topic="t.rule"', ""), WAIT, END)
RULE_JAVA = diagram("rule_java", START, ("businessRuleTask", "Task_rule", 'name="判定等级" '
                                         'camunda:class="org.example.Rule"', ""), END)
RULE_NOTHING = diagram("rule_none", START, ("businessRuleTask", "Task_rule", 'name="判定等级"', ""), END)


def dinner(ref="beverages"):
    return diagram("dinner", START, ("businessRuleTask", "Task_decide", f'name="决定" camunda:decisionRef="{ref}"',
                                     ""), WAIT, END)


def registry(**funcs):
    r = HandlerRegistry()
    for name, f in funcs.items():
        r.register(name.replace("_", "."), f)
    return r


def names(e, iid):
    return sorted(t["name"] for t in e.tasks.list(instance_id=iid))


def refused(e, files):
    with pytest.raises(DeployError) as err:
        e.repository.deploy(files)
    return err.value.problems


def test_an_external_send_task_is_served_by_its_topic(make_engine):
    sent = []
    e = make_engine(handlers=registry(t_send=lambda company: sent.append(company) or {"sent": True}))
    e.repository.deploy([("send.bpmn", SEND_TASK)])
    iid = e.runtime.start("send_ext", {"company": "某某科技"})
    assert sent == ["某某科技"] and e.runtime.data(iid)["sent"] is True
    assert names(e, iid) == ["查看"]
    assert [ev["element_id"] for ev in e.history.events(iid) if ev["type"] == "handler_called"] == ["Task_send"]


def test_an_external_message_end_event_is_served_and_ends_the_instance(make_engine):
    sent = []
    e = make_engine(handlers=registry(t_send=lambda **d: sent.append(d) or {}))
    e.repository.deploy([("end.bpmn", MESSAGE_END)])
    iid = e.runtime.start("msg_end_ext", {"n": 1})
    assert sent == [{"n": 1}]
    assert e.runtime.get(iid)["status"] == "completed"


def test_an_external_message_throw_event_is_served_and_the_flow_goes_on(make_engine):
    e = make_engine(handlers=registry(t_send=lambda **_: {"notified": 1}))
    e.repository.deploy([("throw.bpmn", MESSAGE_THROW)])
    iid = e.runtime.start("msg_throw_ext")
    assert names(e, iid) == ["查看"] and e.runtime.data(iid)["notified"] == 1


def test_an_external_business_rule_task_is_served_by_its_topic(make_engine):
    e = make_engine(handlers=registry(t_rule=lambda amount: {"level": "市级" if amount >= 100 else "区级"}))
    e.repository.deploy([("rule.bpmn", RULE_EXT)])
    iid = e.runtime.start("rule_ext", {"amount": 500})
    assert e.runtime.data(iid)["level"] == "市级" and names(e, iid) == ["查看"]


def test_a_missing_topic_handler_on_a_send_task_is_refused_at_deploy(engine):
    [p] = refused(engine, [("send.bpmn", SEND_TASK)])
    assert p.element == "Task_send" and "t.send" in p.message


def test_a_send_task_with_only_a_message_is_refused_as_camunda_refuses_it(engine):
    doc = diagram("send_msg", START, ("sendTask", "Task_send", 'name="发送" messageRef="Message_notice"', ""), END,
                  extra=MESSAGE)
    [p] = refused(engine, [("send.bpmn", doc)])
    assert p.element == "Task_send" and "发送任务" in p.message and "camunda:topic" in p.message


@pytest.mark.parametrize("doc, says", [(RULE_JAVA, "Java"), (RULE_NOTHING, "decisionRef")])
def test_a_business_rule_task_qihu_cannot_run_is_refused_naming_it(engine, doc, says):
    [p] = refused(engine, [("rule.bpmn", doc)])
    line = doc.decode().splitlines().index(next(x for x in doc.decode().splitlines() if 'id="Task_rule"' in x)) + 1
    assert p.file == "rule.bpmn" and p.element == "Task_rule" and p.line == line
    assert says in p.message and "决策任务" in p.message


@pytest.mark.parametrize("season, guests, children, beverages", [
    ("Spring", 10, False, ["Guiness", "Water"]),
    ("Winter", 7, True, ["Bordeaux", "Apple Juice", "Water"]),
    ("Summer", 14, False, ["Pinot Noir", "Water"]),
])
def test_camundas_dinner_drg_runs_the_required_decision_first(make_engine, season, guests, children, beverages):
    # the expectations of camunda-bpm-examples' DrgDecisionTest (dmn-engine/dmn-engine-drg)
    e = make_engine()
    e.repository.deploy([("dinner.bpmn", dinner()), str(REAL / "camex__dinnerDecisions.dmn")])
    iid = e.runtime.start("dinner", {"season": season, "guestCount": guests, "guestsWithChildren": children})
    data = e.runtime.data(iid)
    assert sorted(data["beverages"]) == sorted(beverages)
    assert "desiredDish" not in data      # a required decision's result is the decision's input, not a variable


def test_the_required_decision_alone_is_a_decision_too(make_engine):
    e = make_engine()
    e.repository.deploy([("dinner.bpmn", dinner("dish")), str(REAL / "camex__dinnerDecisions.dmn")])
    iid = e.runtime.start("dinner", {"season": "Spring", "guestCount": 6})
    assert e.runtime.data(iid)["desiredDish"] == "Steak"        # [5..8]


DRG = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Definitions_drg" name="办理层级"
    namespace="http://camunda.org/schema/1.0/dmn" exporter="Camunda Modeler" exporterVersion="5.17.0">
  <decision id="Decision_level" name="层级">
    <informationRequirement id="Req_1">
      <requiredDecision href="#{required}" />
    </informationRequirement>
    <decisionTable id="Table_level">
      <input id="Input_1" label="金额级别"><inputExpression id="Expr_1" typeRef="string"><text>size</text></inputExpression></input>
      <output id="Output_1" name="level" typeRef="string" />
      <rule id="Rule_1"><inputEntry id="In_1"><text>"大"</text></inputEntry><outputEntry id="Out_1"><text>"市级"</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <decision id="Decision_size" name="规模">
    {size_logic}
  </decision>
</definitions>
"""
SIZE_TABLE = ('<decisionTable id="Table_size"><input id="Input_2"><inputExpression id="Expr_2" typeRef="long">'
              '<text>amount</text></inputExpression></input><output id="Output_2" name="size" typeRef="string" />'
              '<rule id="Rule_2"><inputEntry id="In_2"><text>&gt;= 100</text></inputEntry>'
              '<outputEntry id="Out_2"><text>"大"</text></outputEntry></rule></decisionTable>')


def test_a_literal_expression_decision_is_refused_with_file_element_line(engine):
    dmn = DRG.format(required="Decision_size", size_logic='<variable id="Var_1" name="size" />'
                     '<literalExpression id="Lit_1"><text>"大"</text></literalExpression>')
    problems = refused(engine, [("lvl.bpmn", dinner("Decision_level")), ("lvl.dmn", dmn.encode())])
    p = next(p for p in problems if p.element == "Decision_size")
    assert p.file == "lvl.dmn" and p.line == dmn.splitlines().index('  <decision id="Decision_size" name="规模">') + 1
    assert "决策表" in p.message and "literalExpression" in p.message


def test_a_required_decision_that_is_missing_is_refused(engine):
    dmn = DRG.format(required="Decision_nowhere", size_logic=SIZE_TABLE)
    problems = refused(engine, [("lvl.bpmn", dinner("Decision_level")), ("lvl.dmn", dmn.encode())])
    p = next(p for p in problems if p.element == "Decision_level")
    assert p.file == "lvl.dmn" and "Decision_nowhere" in p.message and "不存在" in p.message


def test_a_drg_of_our_own_runs(make_engine):
    dmn = DRG.format(required="Decision_size", size_logic=SIZE_TABLE)
    e = make_engine()
    e.repository.deploy([("lvl.bpmn", dinner("Decision_level")), ("lvl.dmn", dmn.encode())])
    iid = e.runtime.start("dinner", {"amount": 500})
    assert e.runtime.data(iid)["level"] == "市级"


@pytest.mark.parametrize("text, value, matches", [
    ('"Fall","Winter","Spring"', "Winter", True), ('"Fall","Winter","Spring"', "Summer", False),
    ("[5..8]", 8, True), ("[5..8[", 8, False), ("]5..8]", 5, False), ("not(\"a\", \"b\")", "c", True),
    ("true", True, True), ("< 5, > 10", 11, True), ("< 5, > 10", 7, False), ('"a,b"', "a,b", True),
])
def test_feel_unary_tests_read_as_camunda_reads_them(text, value, matches):
    from qihu.engine.dialect.dmn import feel_unary_tests
    from qihu.engine.dialect.sandbox import SandboxEnvironment
    expr = feel_unary_tests(text)
    if "?" in expr:
        code = expr.replace("?", "x")
    elif expr.lstrip()[:1] in "<>!=":
        code = "x " + expr
    else:
        code = f"x == ({expr})"
    assert SandboxEnvironment().evaluate(code, {"x": value}) is matches
