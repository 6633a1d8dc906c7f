"""Display names instead of ids (issue 15): groups named by an administrator or by their diagram
(groupName.* properties, checked at deploy), people by their accounts, enterprises by their
tracking number, messages and signals by the events that throw and catch them, departments
in the 晾晒 figures and in the exports, ledger kinds. On SQLite and PostgreSQL."""
import io
import re
from pathlib import Path

import openpyxl
import pytest

from qihu import appeals
from qihu.appeals import reports
from qihu.appeals.ledgers import KIND_NAMES
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.errors import DeployError
from qihu.engine.identity.group_names import check, declared
from tests.bpmn_util import bpmn, chain
from tests.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "bpmn").glob("*.bpmn"))
PASSWORD = "pw-for-tests"


def names_diagram(key, names, groups="clerks", version_note=""):
    props = "".join(f'<camunda:property name="groupName.{g}" value="{n}" />' for g, n in names.items())
    return bpmn(key, name=f"命名测试{version_note}", body=f"""
    <bpmn:extensionElements><camunda:properties>{props}</camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="t" name="登记" camunda:candidateGroups="{groups}" />
    <bpmn:endEvent id="e" />
    {chain("s", "t", "e")}""")


# -- resolution: administrator > diagram > id --------------------------------------------------
def test_an_administrators_name_wins_over_the_diagrams_which_wins_over_the_id(engine):
    engine.repository.deploy([("a.bpmn", names_diagram("names_a", {"clerks": "综合窗口"}))])
    assert engine.accounts.group_names(["clerks", "nobody_names_me"]) == {
        "clerks": "综合窗口", "nobody_names_me": "nobody_names_me"}
    engine.accounts.set_group_name("clerks", "政务服务窗口", "admin")
    assert engine.accounts.group_names(["clerks"]) == {"clerks": "政务服务窗口"}
    engine.accounts.set_group_name("clerks", "", "admin")            # cleared: the diagram's again
    assert engine.accounts.group_names(["clerks"]) == {"clerks": "综合窗口"}
    assert engine.accounts.group_names()["clerks"] == "综合窗口"


def test_only_the_versions_new_instances_start_on_declare_names(engine):
    engine.repository.deploy([("a.bpmn", names_diagram("names_a", {"clerks": "旧名称"}))])
    engine.repository.deploy([("a.bpmn", names_diagram("names_a", {"clerks": "新名称"}, version_note="二"))],
                             activate=False)
    assert engine.accounts.group_names(["clerks"])["clerks"] == "旧名称"      # staged: not yet
    engine.repository.activate("names_a", 2)
    assert engine.accounts.group_names(["clerks"])["clerks"] == "新名称"
    # another process declaring the same group later: the latest deployed wins
    engine.repository.deploy([("b.bpmn", names_diagram("names_b", {"clerks": "乙流程的名称"}))])
    assert engine.accounts.group_names(["clerks"])["clerks"] == "乙流程的名称"


def test_the_groups_page_data_says_where_each_name_comes_from(engine):
    engine.repository.deploy([("a.bpmn", names_diagram("names_a", {"clerks": "综合窗口"}, groups="clerks,desk"))])
    engine.tasks.add_member("li", "clerks", "hall")
    engine.accounts.set_group_name("hall", "大厅", "admin")
    got = {g["name"]: g for g in engine.accounts.groups()}
    assert (got["clerks"]["display_name"], got["clerks"]["source"], got["clerks"]["declared_by"],
            got["clerks"]["members"], got["clerks"]["processes"]) == ("综合窗口", "diagram", "names_a", 1, ["names_a"])
    assert (got["desk"]["display_name"], got["desk"]["source"]) == ("desk", None)
    assert (got["hall"]["display_name"], got["hall"]["source"], got["hall"]["updated_by"]) == ("大厅", "admin", "admin")


@pytest.mark.parametrize("prop, value, said", [
    ("groupName.", "无名", "后应为用户组标识"),
    ("groupName.two words", "名称", "后应为用户组标识"),
    ("groupName.a,b", "名称", "后应为用户组标识"),
    ("groupName.clerks", "", "没有填写名称"),
    ("groupName.clerks", "长" * 201, "超过 200 个字"),
])
def test_a_malformed_declaration_is_refused_at_deploy_in_chinese(engine, prop, value, said):
    xml = bpmn("names_bad", body=f"""
    <bpmn:extensionElements><camunda:properties><camunda:property name="{prop}" value="{value}" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="s" /><bpmn:endEvent id="e" />{chain("s", "e")}""")
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("bad.bpmn", xml)])
    [p] = e.value.problems
    assert said in p.message and "用户组名称属性" in p.message and p.element == "names_bad" and p.line
    assert engine.repository.definitions() == []


def test_the_check_reads_well_formed_declarations_only():
    assert declared({"groupName.a": " 甲 ", "groupName.": "x", "groupName.b c": "y", "region": "湖州市"}) == {"a": "甲"}
    seen = []
    check(type("Info", (), {"key": "p", "properties": {"groupName.ok": "好"}})(), lambda *a: seen.append(a))
    assert seen == []


# -- the bundled diagrams ------------------------------------------------------------------------
def test_every_group_the_bundled_diagrams_and_demo_users_name_has_a_name(engine):
    from qihu.appeals.demo import DEMO_USERS
    engine.repository.deploy([ROOT / "bpmn"])
    known = engine.repository.group_names()
    unnamed = sorted(g for g, (name, _by, _keys) in known.items() if not name)
    assert unnamed == [], f"groups the bundled diagrams name without a groupName.* declaration: {unnamed}"
    demo_groups = {g for groups in DEMO_USERS.values() for g in groups if re.match(r"^[a-z_]+$", g)}
    names = engine.accounts.group_names(demo_groups)
    # admin and dashboard are roles of this application, not groups of a diagram
    assert sorted(g for g, n in names.items() if n == g) == ["admin", "dashboard"]


def test_every_ledger_kind_a_bundled_diagram_writes_has_a_chinese_name():
    record = re.compile(r'camunda:topic="ledger\.record">(.*?)</bpmn:serviceTask>', re.S)
    missing = []
    for path in BUNDLED:
        for block in record.findall(path.read_text()):
            kind = re.search(r'name="kind">([^<]+)<', block).group(1)
            if kind not in KIND_NAMES and 'name="kind_name"' not in block:
                missing.append((path.name, kind))
    assert missing == []
    assert all(re.search(r"[\u4e00-\u9fff]", n) for n in KIND_NAMES.values())


# -- the audit trail -----------------------------------------------------------------------------
SENDER = bpmn("names_sender", name="转办测试", extra="""
  <bpmn:message id="Message_names" name="names_case_moved" />
  <bpmn:signal id="Signal_names" name="names_broadcast" />""", body=f"""
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="groupName.names_desk" value="综合受理窗口" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="t" name="登记" camunda:candidateGroups="names_desk" />
    <bpmn:intermediateThrowEvent id="send" name="转说“不”评议">
      <bpmn:messageEventDefinition id="md" messageRef="Message_names" />
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateThrowEvent id="shout" name="全区通报">
      <bpmn:signalEventDefinition id="sd" signalRef="Signal_names" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="e" />
    {chain("s", "t", "send", "shout", "e")}""")
RECEIVER = bpmn("names_receiver", name="说不评议测试", extra="""
  <bpmn:message id="Message_names_in" name="names_case_moved" />""", body=f"""
    <bpmn:startEvent id="s" name="自动转入评议">
      <bpmn:messageEventDefinition id="mi" messageRef="Message_names_in" />
    </bpmn:startEvent>
    <bpmn:userTask id="t" name="评议" camunda:candidateGroups="names_panel" />
    <bpmn:endEvent id="e" />
    {chain("s", "t", "e")}""")


def test_the_trail_names_people_groups_enterprises_messages_and_signals(engine, clock):
    engine.repository.deploy([("sender.bpmn", SENDER), ("receiver.bpmn", RECEIVER)])
    engine.accounts.add_user("li", PASSWORD, display_name="李受理", groups=["names_desk"])
    engine.accounts.set_group_name("names_panel", "评议团", "admin")
    sc = Scenario(engine, clock)
    iid = engine.runtime.start("names_sender", {}, business_key="QH-N-1", user="qiye:QH20261207-ACDEF3")
    sc.complete(iid, "t", "li")
    lines = [e["line"] for e in appeals.of(engine).trail(iid)]
    text = "\n".join(lines)
    assert "企业（QH20261207-ACDEF3） 发起流程" in text
    assert "「登记」待综合受理窗口办理" in text and "李受理 办结「登记」" in text
    assert "发出消息「转说“不”评议」" in text and "发出信号「全区通报」" in text
    for raw in ("names_desk", "names_case_moved", "names_broadcast", "qiye:", " li "):
        assert raw not in text, (raw, text)
    [other] = [i for i in engine.runtime.instances(business_key="QH-N-1") if i["id"] != iid]
    theirs = "\n".join(e["line"] for e in appeals.of(engine).trail(other["id"]))
    assert "由「自动转入评议」启动流程" in theirs and "「评议」待评议团办理" in theirs, theirs
    assert "names_case_moved" not in theirs and "names_panel" not in theirs


# -- 晾晒 departments and the exports ----------------------------------------------------------------
FIGURES = bpmn("names_fig", name="命名指标测试", body=f"""
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="figure.department" value="department" />
      <camunda:property name="figure.title" value="summary" />
      <camunda:property name="figure.solved" value="True" />
      <camunda:property name="groupName.names_dept_a" value="审批科" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="t" name="部门办理" camunda:candidateGroups="${{department}}" />
    <bpmn:endEvent id="e" />
    {chain("s", "t", "e")}""")


def test_departments_read_by_their_group_names_in_ranking_options_board_and_exports(engine, clock):
    engine.repository.deploy([("fig.bpmn", FIGURES)])
    engine.accounts.add_user("wang", PASSWORD, display_name="王办理", groups=["names_dept_a", "names_dept_b"])
    sc = Scenario(engine, clock)
    done = engine.runtime.start("names_fig", {"department": "names_dept_a", "summary": "用电增容"}, business_key="F-1")
    sc.complete(done, "t", "wang")
    engine.runtime.start("names_fig", {"department": "names_dept_b", "summary": "消防验收"}, business_key="F-2")
    figures = appeals.of(engine).figures
    scope = appeals.of(engine).dashboard_scope("wang")
    month = clock.now().astimezone(TIMEZONE).strftime("%Y-%m")
    names = {r["department"]: r["department_name"] for r in figures.ranking(scope, month)}
    assert names == {"names_dept_a": "审批科", "names_dept_b": "names_dept_b"}
    engine.accounts.set_group_name("names_dept_b", "消防科", "admin")
    engine.accounts.set_group_name("names_dept_a", "行政审批科", "admin")     # the administrator's name wins
    names = {r["department"]: r["department_name"] for r in figures.ranking(scope, month)}
    assert names == {"names_dept_a": "行政审批科", "names_dept_b": "消防科"}
    assert dict(figures.options(scope)["departments"]) == names
    assert [i["department_name"] for i in figures.open_items(scope)] == ["消防科"]

    rows = list(figures.ledger(scope, month, month))
    people = engine.accounts.person_names(["wang"])
    book = openpyxl.load_workbook(io.BytesIO(reports.ledger_workbook(rows, now=clock.now(),
                                                                     person=lambda n: people.get(n, n))))
    cells = "\n".join(str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None)
    assert "行政审批科" in cells and "消防科" in cells and "王办理" in cells
    assert not re.search(r"names_dept|\bwang\b", cells), cells
    monthly = figures.monthly(scope, month, month, by=("month", "department"))
    book = openpyxl.load_workbook(io.BytesIO(reports.figures_workbook(monthly, figures.DEFINITIONS)))
    cells = "\n".join(str(c.value) for c in book["月度指标"]["D"] if c.value is not None) + \
        "\n".join(str(c.value) for c in book["月度指标"]["B"] if c.value is not None)
    assert "行政审批科" in cells and "names_dept" not in cells
