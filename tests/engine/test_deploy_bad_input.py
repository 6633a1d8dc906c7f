"""Bad input at deploy time: every problem names the file, the element (where there is
one) and the line; a refused bundle stores nothing at all.

Fixtures are in tests/data (written as Camunda Modeler 5 saves them for Camunda 7).
"""
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import func, select

from qihu.engine.errors import DeployError
from qihu.engine.topics import HandlerRegistry
from qihu.engine.storage.models import Definition, Deployment, MessageStart, Resource

DATA = Path(__file__).resolve().parents[1] / "data"
BPMN = Path(__file__).resolve().parents[2] / "bpmn"


# -- helpers -----------------------------------------------------------------------------

def text_of(name):
    return (DATA / name).read_text(encoding="utf-8")


def line_of(text, needle):
    """1-based line of the first occurrence of `needle` in `text`."""
    index = text.index(needle)
    return text.count("\n", 0, index) + 1


def span_of(text, element_id):
    """(first line, last line) of the element with this id: its start tag to its last descendant."""
    root = etree.fromstring(text.encode("utf-8"))
    el = root.xpath("//*[@id=$id]", id=element_id)[0]
    return el.sourceline, max(d.sourceline for d in el.iter() if isinstance(d.tag, str))


def counts(engine):
    with engine.db.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Deployment, Resource, Definition, MessageStart)}


def assert_nothing_stored(engine):
    assert engine.repository.definitions() == []
    assert engine.repository.definitions(latest_only=False) == []
    assert counts(engine) == {"deployment": 0, "resource": 0, "definition": 0, "message_start": 0}


def refused(engine, items):
    """Deploy `items`, expect DeployError, check nothing was stored; returns the error."""
    started = time.monotonic()
    with pytest.raises(DeployError) as info:
        engine.repository.deploy(items)
    info.value.elapsed = time.monotonic() - started
    assert_nothing_stored(engine)
    assert info.value.problems, "a DeployError must list at least one problem"
    return info.value


def only_problem(error):
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


def assert_at(problem, file, text, element):
    """The problem names the file, the element and a line inside that element."""
    assert problem.file == file, problem
    assert problem.element == element, problem
    first, last = span_of(text, element)
    assert problem.line is not None and first <= problem.line <= last, (problem, (first, last))
    assert str(problem).startswith(f"{file}:{problem.line} [{element}]: ")


def passwd_markers():
    try:
        first = Path("/etc/passwd").read_text().splitlines()[0]
    except (OSError, IndexError):
        first = "root:x:0:0:root"
    return [first, first.split(":")[0] + ":x:0:0", "/bin/bash", "/usr/sbin/nologin"]


def assert_no_passwd(*texts):
    for t in texts:
        for marker in passwd_markers():
            assert marker not in t, f"/etc/passwd content leaked: {marker!r} in {t!r}"


# -- XML level ---------------------------------------------------------------------------

def test_malformed_xml_unclosed_tag(engine):
    text = text_of("bad_malformed.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_malformed.bpmn")]))
    assert p.file == "bad_malformed.bpmn"
    assert "malformed XML" in p.message
    # libxml2 notices the unclosed <bpmn:userTask> when </bpmn:process> arrives, and names
    # the line where the unclosed tag opened.
    assert p.line == line_of(text, "</bpmn:process>")
    opened = line_of(text, 'id="Task_register"')
    assert f"userTask line {opened}" in p.message
    assert str(p).startswith(f"bad_malformed.bpmn:{p.line}: XML 格式错误（malformed XML")


def test_malformed_xml_mismatched_closing_tag(engine):
    text = text_of("bad_mismatched_tag.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_mismatched_tag.bpmn")]))
    assert p.file == "bad_mismatched_tag.bpmn"
    assert p.line == line_of(text, "</bpmn:userTsk>")
    assert "malformed XML" in p.message


def test_empty_file(engine):
    p = only_problem(refused(engine, [("empty.bpmn", b"")]))
    assert p.file == "empty.bpmn" and p.line == 1


def test_xxe_refused_and_passwd_never_read(engine):
    text = text_of("bad_xxe.bpmn")
    error = refused(engine, [str(DATA / "bad_xxe.bpmn")])
    p = only_problem(error)
    assert p.file == "bad_xxe.bpmn"
    assert p.line == line_of(text, "<!DOCTYPE")
    assert "DOCTYPE" in p.message or "entit" in p.message.lower()
    assert_no_passwd(str(error), *(q.message for q in error.problems))


def test_xxe_problem_line_is_the_doctype_line_after_a_comment(engine):
    text = text_of("bad_xxe.bpmn").replace("<!DOCTYPE", "<!-- 由 Camunda Modeler 导出 -->\n<!DOCTYPE", 1)
    error = refused(engine, [("commented_xxe.bpmn", text.encode("utf-8"))])
    p = only_problem(error)
    assert p.line == line_of(text, "<!DOCTYPE")
    assert_no_passwd(str(error))


@pytest.mark.parametrize("where", ["attribute", "text"])
def test_xxe_after_a_long_comment_is_refused_too(engine, where):
    """The DOCTYPE sniffing looks at the first 4 KiB; a DOCTYPE further down is still refused."""
    reference = 'name="&xxe;"' if where == "attribute" else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!--" + "填充" * 3000 + "-->\n"
        '<!DOCTYPE bpmn:definitions [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        + text_of("timer_intermediate.bpmn").split("\n", 1)[1]
    )
    if where == "attribute":
        body = body.replace('name="等待"', reference)
    else:
        body = body.replace('<bpmn:incoming>Flow_1</bpmn:incoming>\n      <bpmn:outgoing>Flow_2',
                            '<bpmn:documentation>&xxe;</bpmn:documentation>\n'
                            '      <bpmn:incoming>Flow_1</bpmn:incoming>\n      <bpmn:outgoing>Flow_2', 1)
    assert "&xxe;" in body
    error = refused(engine, [("padded_xxe.bpmn", body.encode("utf-8"))])
    assert all(q.file == "padded_xxe.bpmn" and q.line for q in error.problems), error.problems
    assert_no_passwd(str(error), *(q.message for q in error.problems))


def test_billion_laughs_refused_quickly(engine):
    text = text_of("bad_billion_laughs.bpmn")
    error = refused(engine, [str(DATA / "bad_billion_laughs.bpmn")])
    assert error.elapsed < 2.0
    p = only_problem(error)
    assert p.file == "bad_billion_laughs.bpmn"
    assert p.line == line_of(text, "<!DOCTYPE")
    assert "lollol" not in str(error)


def test_billion_laughs_after_a_long_comment_refused_quickly(engine):
    text = text_of("bad_billion_laughs.bpmn")
    head, rest = text.split("\n", 1)
    body = head + "\n<!--" + "x" * 6000 + "-->\n" + rest
    error = refused(engine, [("padded_lol.bpmn", body.encode("utf-8"))])
    assert error.elapsed < 2.0
    assert all(q.file == "padded_lol.bpmn" and q.line for q in error.problems), error.problems
    assert "lollol" not in str(error)


def test_no_executable_process(engine):
    p = only_problem(refused(engine, [str(DATA / "bad_not_executable.bpmn")]))
    assert p.file == "bad_not_executable.bpmn"
    assert "executable" in p.message


def test_no_executable_process_names_the_process_and_line(engine):
    text = text_of("bad_not_executable.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_not_executable.bpmn")]))
    assert p.element == "bad_not_executable"
    assert p.line == line_of(text, 'id="bad_not_executable"')


def test_not_a_bpmn_document(engine):
    page = "<html>\n  <body><p>企业诉求</p></body>\n</html>\n"
    p = only_problem(refused(engine, [("page.bpmn", page.encode("utf-8"))]))
    assert p.file == "page.bpmn" and p.line == 1
    assert "not a BPMN" in p.message and "html" in p.message


def test_bare_html_element(engine):
    p = only_problem(refused(engine, [("index.bpmn", b"<html/>")]))
    assert p.file == "index.bpmn" and p.line == 1


def test_wrong_extension(engine, tmp_path):
    content = (BPMN / "appeal_basic.bpmn").read_bytes()
    p = only_problem(refused(engine, [("appeal_basic.txt", content)]))
    assert p.file == "appeal_basic.txt"
    assert ".bpmn" in p.message
    # the same as a path on disk
    path = tmp_path / "流程.txt"
    path.write_bytes(content)
    p = only_problem(refused(engine, [str(path)]))
    assert p.file == "流程.txt"


# -- semantic problems -------------------------------------------------------------------

def test_business_rule_task_without_dmn(engine):
    text = text_of("bad_missing_dmn.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_missing_dmn.bpmn")]))
    assert_at(p, "bad_missing_dmn.bpmn", text, "Task_decide_board")
    assert p.line == line_of(text, 'id="Task_decide_board"')
    assert "Decision_missing" in p.message


def test_external_task_with_unknown_topic(engine):
    text = text_of("bad_unknown_topic.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_unknown_topic.bpmn")]))
    assert_at(p, "bad_unknown_topic.bpmn", text, "Task_send_sms")
    assert p.line == line_of(text, 'id="Task_send_sms"')
    assert "appeal.sms_nobody_handles" in p.message


@pytest.mark.parametrize("implementation", [
    'camunda:class="cn.gov.appeal.NotifyDelegate"',           # Java class
    'camunda:expression="${notifier.send(execution)}"',       # expression
    'camunda:delegateExpression="${notifyDelegate}"',         # delegate expression
    'camunda:type="external"',                                # external, but no topic
    "",                                                       # no implementation at all
], ids=["class", "expression", "delegateExpression", "external-without-topic", "none"])
def test_service_task_that_is_not_external(engine, implementation):
    text = text_of("bad_service_not_external.bpmn").replace(
        'camunda:class="cn.gov.appeal.NotifyDelegate"', implementation)
    p = only_problem(refused(engine, [("bad_service_not_external.bpmn", text.encode("utf-8"))]))
    assert_at(p, "bad_service_not_external.bpmn", text, "Task_notify")
    assert p.line == line_of(text, 'id="Task_notify"')
    assert "external" in p.message


def remind_handlers():
    registry = HandlerRegistry()
    registry.register("test.remind", lambda **kw: {})   # the topic of timer_cycle.bpmn
    return registry


@pytest.mark.parametrize("fixture,good,bad,element", [
    pytest.param("timer_boundary.bpmn", "P2D", "P5X", "Timer_overdue", id="boundary-P5X"),
    pytest.param("timer_intermediate.bpmn", "PT5M", "P5X", "Timer_wait", id="intermediate-P5X"),
    pytest.param("timer_intermediate.bpmn", "PT5M", "PT5X", "Timer_wait", id="intermediate-PT5X"),
    pytest.param("timer_boundary.bpmn", "P2D", "PTabc", "Timer_overdue", id="boundary-PTabc"),
    pytest.param("timer_boundary.bpmn", "P2D", "PT", "Timer_overdue", id="boundary-PT"),
    pytest.param("timer_intermediate.bpmn", "PT5M", "PT", "Timer_wait", id="intermediate-PT"),
    pytest.param("timer_intermediate.bpmn", "PT5M", "PT5 分钟", "Timer_wait", id="intermediate-PT5-words"),
    pytest.param("timer_cycle.bpmn", "R3/PT1H", "R3/PT", "Timer_hourly", id="cycle-R3-PT"),
    pytest.param("timer_cycle.bpmn", "R3/PT1H", "R3/P1X", "Timer_hourly", id="cycle-R3-P1X"),
    pytest.param("timer_date.bpmn", "2026-12-01T09:00:00", "2026-13-01T09:00:00", "Timer_until", id="date-month-13"),
])
def test_bad_timer(make_engine, fixture, good, bad, element):
    engine = make_engine(handlers=remind_handlers())
    original = text_of(fixture)
    assert f">{good}<" in original
    text = original.replace(f">{good}<", f">{bad}<")
    p = only_problem(refused(engine, [(fixture, text.encode("utf-8"))]))
    assert_at(p, fixture, text, element)
    assert "timer" in p.message.lower() or "SyntaxError" in p.message or "month" in p.message


def test_good_timer_fixtures_deploy(make_engine):
    """The unmodified timer fixtures used above are fine: the refusals come from the bad text."""
    engine = make_engine(handlers=remind_handlers())
    names = ["timer_boundary.bpmn", "timer_intermediate.bpmn", "timer_cycle.bpmn", "timer_date.bpmn"]
    r = engine.repository.deploy([str(DATA / n) for n in names])
    assert sorted(d["key"] for d in r.definitions) == ["timer_boundary", "timer_cycle", "timer_date",
                                                        "timer_intermediate"]


def test_unsafe_script_tasks(engine):
    text = text_of("bad_unsafe_scripts.bpmn")
    error = refused(engine, [str(DATA / "bad_unsafe_scripts.bpmn")])
    by_element = {}
    for p in error.problems:
        by_element.setdefault(p.element, []).append(p)
    assert set(by_element) == {"Script_import_os", "Script_open_file", "Script_dunder"}
    for element, problems in by_element.items():
        for p in problems:
            assert_at(p, "bad_unsafe_scripts.bpmn", text, element)
            assert p.line == line_of(text, f'id="{element}"')
    (imp,) = by_element["Script_import_os"]
    assert "import" in imp.message and "line 2" in imp.message     # `import os` is line 2 of the script
    assert any("open" in p.message for p in by_element["Script_open_file"])
    assert any("__class__" in p.message or "__bases__" in p.message for p in by_element["Script_dunder"])


def test_unsafe_gateway_condition(engine):
    text = text_of("bad_unsafe_condition.bpmn")
    error = refused(engine, [str(DATA / "bad_unsafe_condition.bpmn")])
    for p in error.problems:
        # the engine reports conditions on the gateway that evaluates them (naming the flow's target)
        assert p.element in ("Gateway_check", "Flow_yes"), p
        assert_at(p, "bad_unsafe_condition.bpmn", text, p.element)
        assert p.line == line_of(text, f'id="{p.element}"')
    assert any("__class__" in p.message or "__subclasses__" in p.message or "__base__" in p.message
               for p in error.problems)


@pytest.mark.parametrize("fixture,old,new,element", [
    ("external_io.bpmn", "${a + 1}", "${().__class__.__bases__}", "Task_io"),
    ("external_io.bpmn", "a * 3</camunda:script>", "__import__('os').getcwd()</camunda:script>", "Task_io"),
    ("timer_intermediate.bpmn", ">PT5M<", ">${__import__('os').system('id')}<", "Timer_wait"),
    ("form_register.bpmn", 'camunda:candidateGroups="acceptor"', 'camunda:candidateGroups="${open(\'/etc/passwd\')}"',
     "Task_register"),
], ids=["input-parameter", "input-script", "timer-expression", "candidate-groups"])
def test_unsafe_expressions_elsewhere(make_engine, fixture, old, new, element):
    registry = HandlerRegistry()
    registry.register("test.io", lambda **kw: {})
    registry.register("test.all", lambda **kw: {})
    engine = make_engine(handlers=registry)
    text = text_of(fixture)
    assert old in text
    text = text.replace(old, new, 1)
    error = refused(engine, [(fixture, text.encode("utf-8"))])
    for p in error.problems:
        assert_at(p, fixture, text, element)
        assert p.line == line_of(text, f'id="{element}"')


DMN_UNSAFE = "().__class__.__bases__[0].__subclasses__()"


def test_unsafe_dmn_expression_refused_at_deploy(engine):
    dmn = text_of("dmn_board.dmn").replace('<text>"税务局"</text>', f"<text>{DMN_UNSAFE}</text>")
    error = refused(engine, [str(DATA / "dmn_board.bpmn"), ("dmn_board.dmn", dmn.encode("utf-8"))])
    p = only_problem(error)
    assert p.file == "dmn_board.dmn" and p.element in ("LiteralExpression_tax", "DecisionRule_tax")
    assert p.line == line_of(dmn, f'id="{p.element}"')


def test_unsafe_dmn_expression_still_refused_by_the_sandbox_at_run_time(engine):
    from qihu.engine.runtime.service import EngineStepError
    dmn = text_of("dmn_board.dmn").replace('<text>"税务局"</text>', f"<text>{DMN_UNSAFE}</text>")
    try:
        engine.repository.deploy([str(DATA / "dmn_board.bpmn"), ("dmn_board.dmn", dmn.encode("utf-8"))])
    except DeployError:
        return   # refused at deploy time: even better
    with pytest.raises(EngineStepError, match=r"\[Rule_board\]"):
        engine.runtime.start("dmn_board", {"category": "税务"})
    assert engine.runtime.instances() == []


def test_compensation_refused(engine):
    text = text_of("bad_compensation.bpmn")
    error = refused(engine, [str(DATA / "bad_compensation.bpmn")])
    by_element = {p.element: p for p in error.problems}
    assert set(by_element) == {"Event_compensate_book", "Task_cancel_booking"}, error.problems
    for element, p in by_element.items():
        assert_at(p, "bad_compensation.bpmn", text, element)
        assert "compensation" in p.message
    assert by_element["Task_cancel_booking"].line == line_of(text, 'id="Task_cancel_booking"')


def test_link_events_refused(engine):
    text = text_of("bad_link_event.bpmn")
    error = refused(engine, [str(DATA / "bad_link_event.bpmn")])
    by_element = {p.element: p for p in error.problems}
    assert set(by_element) == {"Event_link_throw", "Event_link_catch"}, error.problems
    for element, p in by_element.items():
        assert_at(p, "bad_link_event.bpmn", text, element)
        assert "link" in p.message


def test_complex_gateway_refused(engine):
    text = text_of("bad_complex_gateway.bpmn")
    p = only_problem(refused(engine, [str(DATA / "bad_complex_gateway.bpmn")]))
    assert_at(p, "bad_complex_gateway.bpmn", text, "Gateway_complex")
    assert p.line == line_of(text, 'id="Gateway_complex"')
    assert "complex" in p.message


# -- bundles -----------------------------------------------------------------------------

@pytest.mark.parametrize("good", ["timer_intermediate.bpmn", "appeal_basic.bpmn"])
def test_bundle_with_bad_second_file_deploys_nothing(engine, good):
    good_path = BPMN / good if good == "appeal_basic.bpmn" else DATA / good
    error = refused(engine, [str(good_path), str(DATA / "bad_unknown_topic.bpmn")])
    p = only_problem(error)
    assert p.file == "bad_unknown_topic.bpmn" and p.element == "Task_send_sms"
    # the good file alone deploys as version 1: the refused bundle left no trace
    r = engine.repository.deploy([str(good_path)])
    assert r.created and [d["version"] for d in r.definitions] == [1]


def test_all_problems_of_a_file_are_listed_at_once(engine):
    text = text_of("bad_two_problems.bpmn")
    error = refused(engine, [str(DATA / "bad_two_problems.bpmn")])
    assert len(error.problems) == 2, error.problems
    topic, script = sorted(error.problems, key=lambda p: p.line)
    assert_at(topic, "bad_two_problems.bpmn", text, "Task_archive")
    assert "appeal.archive_nobody_handles" in topic.message
    assert_at(script, "bad_two_problems.bpmn", text, "Script_cleanup")
    assert "import" in script.message
    assert "(and 1 more)" in str(error)


def test_structural_and_semantic_problems_of_a_bundle_are_listed_at_once(engine):
    error = refused(engine, [str(DATA / "bad_complex_gateway.bpmn"), str(DATA / "bad_unknown_topic.bpmn")])
    where = {(p.file, p.element) for p in error.problems}
    assert where == {("bad_complex_gateway.bpmn", "Gateway_complex"), ("bad_unknown_topic.bpmn", "Task_send_sms")}


def test_all_semantic_problems_of_a_bundle_are_listed_at_once(engine):
    error = refused(engine, [str(DATA / "bad_unknown_topic.bpmn"), str(DATA / "bad_two_problems.bpmn"),
                             str(DATA / "bad_unsafe_condition.bpmn")])
    where = {(p.file, p.element) for p in error.problems}
    assert {("bad_unknown_topic.bpmn", "Task_send_sms"), ("bad_two_problems.bpmn", "Task_archive"),
            ("bad_two_problems.bpmn", "Script_cleanup")} <= where
    assert any(f == "bad_unsafe_condition.bpmn" for f, _ in where)
    assert all(p.file and p.line and p.element for p in error.problems), error.problems


# A user task naming nobody is accepted with a warning (issue 14): tests/engine/test_unassigned.py


# -- command line ----------------------------------------------------------------------------

def cli(db_url, *args):
    from qihu.cli import main
    return CliRunner().invoke(main, list(args), env={"QIHU_DATABASE_URL": db_url}, catch_exceptions=False)


def test_cli_deploy_bad_file(engine, db_url):
    text = text_of("bad_unknown_topic.bpmn")
    result = cli(db_url, "deploy", str(DATA / "bad_unknown_topic.bpmn"))
    assert result.exit_code != 0
    first = result.stderr.splitlines()[0]
    line = line_of(text, 'id="Task_send_sms"')
    assert re.fullmatch(rf"error: bad_unknown_topic\.bpmn:{line} \[Task_send_sms\]: .+", first), first
    assert "appeal.sms_nobody_handles" in first
    assert "Traceback" not in result.output
    assert_nothing_stored(engine)


def test_cli_deploy_file_with_two_problems(engine, db_url):
    result = cli(db_url, "deploy", str(DATA / "bad_two_problems.bpmn"))
    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert re.fullmatch(r"error: bad_two_problems\.bpmn:\d+ \[Task_archive\]: .+ \(and 1 more\)", lines[0]), lines
    assert any(re.fullmatch(r"\s+bad_two_problems\.bpmn:\d+ \[Script_cleanup\]: .*import.*", x) for x in lines[1:]), lines
    assert_nothing_stored(engine)


def test_cli_deploy_malformed_file(engine, db_url):
    text = text_of("bad_mismatched_tag.bpmn")
    result = cli(db_url, "deploy", str(DATA / "bad_mismatched_tag.bpmn"))
    assert result.exit_code != 0
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: bad_mismatched_tag.bpmn:{line_of(text, '</bpmn:userTsk>')}: XML 格式错误（malformed XML")
    assert_nothing_stored(engine)


def test_cli_deploy_good_file_then_unchanged(engine, db_url):
    path = str(BPMN / "appeal_basic.bpmn")
    result = cli(db_url, "deploy", path)
    assert result.exit_code == 0, result.output
    assert "appeal_basic v1" in result.stdout.splitlines()
    again = cli(db_url, "deploy", path)
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.stdout
    assert "appeal_basic v2" not in again.stdout
    assert [(d["key"], d["version"]) for d in engine.repository.definitions(latest_only=False)] == [("appeal_basic", 1)]
    assert counts(engine)["deployment"] == 1 and counts(engine)["definition"] == 1


@pytest.mark.parametrize("prop, says", [
    ('name="slaScheme" value="fivee"', "slaScheme 'fivee' is not one of three, five"),
    ('name="slaThresholds" value="green:0,purple:60"', "colours must be among"),
    ('name="slaThresholds" value="green:zero"', "could not convert string to float"),
])
def test_a_bad_sla_scheme_is_refused_at_deploy(engine, prop, says):
    from tests.bpmn_util import bpmn, chain
    text = bpmn("sla_bad", f"""<bpmn:extensionElements><camunda:properties><camunda:property {prop} />
</camunda:properties></bpmn:extensionElements>
<bpmn:startEvent id="s" />
<bpmn:userTask id="u" name="办理" camunda:candidateGroups="acceptor" camunda:dueDate="${{workdays(2)}}" />
<bpmn:endEvent id="e" />
{chain("s", "u", "e")}""")
    problem = only_problem(refused(engine, [("sla_bad.bpmn", text)]))
    assert problem.element == "sla_bad" and says in problem.message and problem.line == 3


@pytest.mark.parametrize("attrs, says", [
    ('hitPolicy="RULE ORDER"', "hit policy RULE ORDER is not supported"),
    ('hitPolicy="PRIORITY"', "hit policy PRIORITY is not supported"),
    ('hitPolicy="COLLECT" aggregation="SUM"', "hit policy COLLECT with aggregation SUM is not supported"),
])
def test_an_unsupported_dmn_hit_policy_is_refused_at_deploy(engine, attrs, says):
    dmn = re.sub(r'<decisionTable id="([^"]+)"[^>]*>', lambda m: f'<decisionTable id="{m.group(1)}" {attrs}>',
                 text_of("dmn_board.dmn"), count=1)
    p = only_problem(refused(engine, [str(DATA / "dmn_board.bpmn"), ("dmn_board.dmn", dmn.encode("utf-8"))]))
    assert p.file == "dmn_board.dmn" and says in p.message
    assert p.line == line_of(dmn, "<decisionTable ")
