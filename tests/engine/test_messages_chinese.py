"""Deploy refusals and run-time step errors say what is wrong in Chinese first, with the
engine's English text kept in brackets for administrators (issue 14, "Also": messages in
Chinese, the technical detail kept). Each refusal still names an element or a line."""
import re
from pathlib import Path

import pytest

from qihu.engine.dialect.parser import spiff_message
from qihu.engine.errors import DeployError
from qihu.engine.runtime.service import EngineStepError
from qihu.engine.topics import HandlerRegistry
from tests.bpmn_util import bpmn, chain, flow
from tests.engine.test_real_corpus import CASES, _files, _topics_of
from tests.real_corpus import Refused, registry

DATA = Path(__file__).resolve().parents[1] / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")

# refused fixtures of tests/engine/test_deploy_bad_input.py, as saved
BAD_FIXTURES = ["bad_malformed.bpmn", "bad_mismatched_tag.bpmn", "bad_xxe.bpmn", "bad_compensation.bpmn",
                "bad_complex_gateway.bpmn", "bad_link_event.bpmn", "bad_missing_dmn.bpmn",
                "bad_not_executable.bpmn", "bad_service_not_external.bpmn", "bad_two_problems.bpmn",
                "bad_unknown_topic.bpmn", "bad_unsafe_condition.bpmn", "bad_unsafe_scripts.bpmn"]

# the corpus entries refused today (not those held back by an open finding)
REFUSED_REAL = [pytest.param(*c.values, id=c.id) for c in CASES
                if isinstance(c.values[1], Refused) and not c.marks]


def _problems(engine, items):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy(items)
    assert e.value.problems
    return e.value.problems


def _assert_chinese(problems):
    for p in problems:
        assert CJK.search(p.message), f"not in Chinese: {p}"
        assert p.element or p.line, f"names neither an element nor a line: {p}"


@pytest.mark.parametrize("name", BAD_FIXTURES)
def test_bad_fixtures_are_refused_in_chinese(engine, name):
    _assert_chinese(_problems(engine, [DATA / name]))


@pytest.mark.parametrize("files, expect", REFUSED_REAL)
def test_refused_real_diagrams_are_refused_in_chinese(make_engine, files, expect):
    engine = make_engine(handlers=registry(_topics_of(files)))
    _assert_chinese(_problems(engine, _files(files)))


def _gateway(cond):
    return bpmn("gw", f"""
<bpmn:startEvent id="s" />
<bpmn:exclusiveGateway id="g" default="f_no" />
<bpmn:endEvent id="yes" /><bpmn:endEvent id="no" />
{chain("s", "g")}
{flow("f_yes", "g", "yes", cond)}
{flow("f_no", "g", "no")}""")


MODELER_INPUTS = {
    "bean call": _gateway("${myBean.check(x)}"),
    "syntax error": _gateway("${x >}"),
    "reserved id": bpmn("p", '<bpmn:startEvent id="Start" /><bpmn:endEvent id="e" />' + chain("Start", "e")),
    "unsupported element": bpmn("p", '<bpmn:startEvent id="s" /><bpmn:endEvent id="e" />'
                                     '<bpmn:choreographyTask id="c" />' + chain("s", "e")),
    "bad due priority": bpmn("p", '<bpmn:startEvent id="s" /><bpmn:userTask id="u" camunda:assignee="a" '
                                  'camunda:priority="high" /><bpmn:endEvent id="e" />' + chain("s", "u", "e")),
    "bad timer": bpmn("p", '<bpmn:startEvent id="s" /><bpmn:intermediateCatchEvent id="t">'
                           '<bpmn:timerEventDefinition><bpmn:timeDuration>P3X</bpmn:timeDuration>'
                           '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="e" />'
                      + chain("s", "t", "e")),
    "missing called process": bpmn("p", '<bpmn:startEvent id="s" /><bpmn:callActivity id="c" calledElement="nope" />'
                                        '<bpmn:endEvent id="e" />' + chain("s", "c", "e")),
}


@pytest.mark.parametrize("name", MODELER_INPUTS)
def test_modeler_inputs_are_refused_in_chinese(engine, name):
    _assert_chinese(_problems(engine, [(f"{name.replace(' ', '_')}.bpmn", MODELER_INPUTS[name])]))


def test_the_english_stays_in_brackets(engine):
    problems = _problems(engine, [DATA / "bad_unknown_topic.bpmn"])
    assert any(re.search(r"[\u4e00-\u9fff].*（no handler is registered for topic", p.message) for p in problems)


def test_several_problems_are_counted_in_chinese_and_english(engine):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([DATA / "bad_two_problems.bpmn"])
    assert "另有" in str(e.value) and "more)" in str(e.value)


@pytest.mark.parametrize("english, chinese", [
    ("The process 'Billing' was not found. Did you mean one of the following: ", "找不到流程 Billing"),
    ("Duplicate process ID: p1", "流程标识 p1 重复"),
    ("No start event found", "流程没有开始事件"),
    ("Something SpiffWorkflow never said before", "流程图无法解析"),
])
def test_spiffworkflow_messages_are_said_in_chinese(english, chinese):
    said = spiff_message(english)
    assert said.startswith(chinese) and said.endswith(f"（{english}）")


def test_chinese_messages_raised_through_spiffworkflow_pass_unchanged():
    assert spiff_message("决策表有误（bad table）") == "决策表有误（bad table）"


# -- run time -------------------------------------------------------------------------------

def test_a_bad_due_date_fails_in_chinese(engine):
    engine.repository.deploy([("due.bpmn", bpmn("due", '<bpmn:startEvent id="s" />'
                                                       '<bpmn:userTask id="u" name="核实" camunda:assignee="a" '
                                                       'camunda:dueDate="${due}" /><bpmn:endEvent id="e" />'
                                               + chain("s", "u", "e")))])
    with pytest.raises(EngineStepError) as e:
        engine.runtime.start("due", {"due": "next week"})
    assert CJK.search(str(e.value)) and "camunda:dueDate of u is not a date or duration" in str(e.value)


def test_a_failing_condition_fails_in_chinese(engine):
    engine.repository.deploy([("gw.bpmn", _gateway("${amount > 5}"))])
    with pytest.raises(EngineStepError) as e:
        engine.runtime.start("gw", {})
    assert CJK.search(str(e.value)) and e.value.element == "g"


def test_a_failing_script_keeps_its_english_detail(engine):
    engine.repository.deploy([("div.bpmn", bpmn("div", '<bpmn:startEvent id="s" /><bpmn:scriptTask id="t" name="计算">'
                                                       '<bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>'
                                                       '<bpmn:endEvent id="e" />' + chain("s", "t", "e")))])
    with pytest.raises(EngineStepError) as e:
        engine.runtime.start("div", {})
    assert "计算运行出错" in str(e.value) and "division by zero" in str(e.value)
