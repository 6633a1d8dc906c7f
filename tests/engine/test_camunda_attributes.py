"""Issue 14 finding 5: every camunda:* attribute that holds a ${...} / #{...} expression is
checked at deploy like the diagram's other expressions (Python, no Java bean calls), naming the
element and the attribute; multi-tenancy attributes are refused; a DMN file deployed alone is
refused clearly (qihu deploys decisions with the process that calls them).

The diagrams are real (tests/data/real/, SOURCES.md); where an attribute is needed that no real
diagram carries, it is added to a real one's element as Camunda Modeler writes it.
"""
from __future__ import annotations

import pytest

from qihu.engine.errors import DeployError
from tests.real_corpus import REAL

JUNIT = "camex__junit5-testProcess.bpmn"     # one user task, UserTask_1, as the Modeler saved it


def with_attribute(attribute: str, element: str = "UserTask_1", file: str = JUNIT) -> tuple[str, bytes]:
    """The real diagram with `attribute` (e.g. camunda:jobPriority="${x}") added to `element`."""
    text = (REAL / file).read_text(encoding="utf-8")
    needle = f'id="{element}"'
    assert text.count(needle) == 1
    return file, text.replace(needle, f"{needle} {attribute}").encode("utf-8")


def refused(engine, items) -> list:
    with pytest.raises(DeployError) as e:
        engine.repository.deploy(items)
    return e.value.problems


def test_tenant_bean_expression_is_refused_naming_element_attribute_and_expression(engine):
    problems = refused(engine, [REAL / "camex__tenant-mainProcess.bpmn", REAL / "camex__tenant-subProcess.bpmn"])
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.element == "CallActivity_0ahffuc" and p.file == "camex__tenant-mainProcess.bpmn" and p.line == 9
    assert "camunda:calledElementTenantId" in p.message
    assert "calledElementTenantIdProvider.resolveTenantId(execution)" in p.message
    assert "多租户" in p.message and "multi-tenancy" in p.message


def test_a_constant_tenant_id_is_refused_too(engine):
    # qihu has one tenant: calling "the definition of tenant x" would silently call the only one
    main = (REAL / "camex__tenant-mainProcess.bpmn").read_text(encoding="utf-8").replace(
        "${ calledElementTenantIdProvider.resolveTenantId(execution) }", "tenant1")
    problems = refused(engine, [("main.bpmn", main.encode("utf-8")), REAL / "camex__tenant-subProcess.bpmn"])
    assert [(p.element, "多租户" in p.message) for p in problems] == [("CallActivity_0ahffuc", True)]


@pytest.mark.parametrize("attribute, named", [
    ('camunda:jobPriority="${priorityProvider.resolve(order)}"', "priorityProvider.resolve"),
    ('camunda:taskPriority="#{dateTime()}"', "dateTime()"),
    ('camunda:formKey="embedded:app:forms/${formBean.name()}.html"', "formBean.name"),
])
def test_bean_call_in_any_camunda_attribute_is_refused(engine, attribute, named):
    problems = refused(engine, [with_attribute(attribute)])
    name = attribute.split("=")[0]
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.element == "UserTask_1" and p.file == JUNIT and p.line == 8
    assert name in p.message and named in p.message, p.message
    assert "bean" in p.message


@pytest.mark.parametrize("attribute", [
    'camunda:jobPriority="${5}"', 'camunda:asyncBefore="true"', 'camunda:taskPriority="#{urgent and 10 or 1}"',
    'camunda:formKey="embedded:app:forms/${form}.html"',
])
def test_python_expressions_in_camunda_attributes_deploy(engine, attribute):
    result = engine.repository.deploy([with_attribute(attribute)])
    assert [d["key"] for d in result.definitions] == ["testProcess"]


def test_broken_expression_in_a_camunda_attribute_is_refused(engine):
    problems = refused(engine, [with_attribute('camunda:jobPriority="${1 +}"')])
    assert [(p.element, "camunda:jobPriority" in p.message) for p in problems] == [("UserTask_1", True)]


def test_a_dmn_file_alone_is_refused_in_chinese_naming_its_decisions(engine):
    problems = refused(engine, [REAL / "camex__dinnerDecisions.dmn"])
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.file == "camex__dinnerDecisions.dmn" and p.element == "beverages" and p.line == 4
    assert "单独部署" in p.message and "beverages" in p.message and "dish" in p.message
    assert "业务规则任务" in p.message and "DMN file deployed alone" in p.message


def test_the_dmn_file_deploys_with_a_process_that_calls_it(engine):
    # the lone-DMN refusal is about the bundle, not the file: with its process it deploys
    bpmn = (REAL / "spiff__ExclusiveGatewayIfElseAndDecision.bpmn")
    result = engine.repository.deploy([bpmn, REAL / "spiff__test_integer_decision.dmn"])
    assert result.definitions
