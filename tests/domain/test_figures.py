"""The 晾晒 figures (appeals/figures.py): each rate against values worked out by hand on a small
fixed set of appeals driven through the engine, scopes, a reopened and a cancelled appeal, the
deploy checks of figure.* properties, and the summary table against a recount of the facts.

The diagram below is a small appeal mechanism: 受理 (sets the department) → 签收 (due in one day)
→ 办理 (due in five days; may be returned to 受理) → 企业评价 (a rating of 2 or less reopens it for
二次督办, which sends it back to 办理). Times are Beijing wall-clock times; November 2026 has no
public holidays, so a working day is Monday to Friday and counts 24 hours (engine/workcalendar.py).
"""
import pytest

from qihu import appeals
from qihu.appeals.scope import DashboardScope
from qihu.engine.errors import DeployError, Forbidden
from qihu.appeals.figures import DEFINITIONS
from qihu.engine.storage.models import Instance
from qihu.appeals.models import AppealFact
from qihu.engine.runtime.service import EngineStepError
from tests.bpmn_util import bpmn, chain, flow
from tests.scenario import ROOT, Scenario, beijing

KEY = "fig_test"
ALL = DashboardScope(None, None)

FORM = '''<bpmn:extensionElements><camunda:formData>{}</camunda:formData></bpmn:extensionElements>'''


def field(fid, type_="string"):
    return f'<camunda:formField id="{fid}" label="{fid}" type="{type_}" />'


def diagram(props=None, key=KEY):
    props = {
        "figure.department": "department",
        "figure.departmentName": '{"d_a": "甲局", "d_b": "乙局"}.get(department)',
        "figure.title": "summary",
        "figure.company": "company",
        "figure.solved": 'result == "solved"',
        "figure.closedAt": "Task_rate",
        "figure.signFor": "Task_sign",
        "figure.rating": "rating",
        "figure.satisfied": "5,4,3",
        **(props or {}),
    }
    from xml.sax.saxutils import quoteattr
    plist = "".join(f'<camunda:property name="{k}" value={quoteattr(v)} />' for k, v in props.items() if v is not None)
    body = f'''
    <bpmn:extensionElements><camunda:properties>{plist}</camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_accept" name="受理" camunda:candidateGroups="acceptor">
      {FORM.format(field("department") + field("summary") + field("company"))}</bpmn:userTask>
    <bpmn:userTask id="Task_sign" name="签收" camunda:candidateGroups="${{department}}" camunda:dueDate="P1D" />
    <bpmn:userTask id="Task_handle" name="办理" camunda:candidateGroups="${{department}}" camunda:dueDate="P5D">
      <bpmn:extensionElements><camunda:properties><camunda:property name="returnTo" value="Task_accept" />
      </camunda:properties><camunda:formData>{field("result")}</camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Task_rate" name="企业评价" camunda:candidateGroups="acceptor">
      {FORM.format(field("rating"))}</bpmn:userTask>
    <bpmn:exclusiveGateway id="Gw" default="f_good" />
    <bpmn:userTask id="Task_second" name="二次督办" camunda:candidateGroups="supervisor" />
    <bpmn:endEvent id="EndEvent_1" />
    {chain("StartEvent_1", "Task_accept", "Task_sign", "Task_handle", "Task_rate", "Gw")}
    {flow("f_good", "Gw", "EndEvent_1")}
    {flow("f_bad", "Gw", "Task_second", "int(rating) <= 2")}
    {flow("f_redo", "Task_second", "Task_handle")}'''
    return bpmn(key, body, name="测试机制")


@pytest.fixture
def sc(engine, clock):
    engine.repository.deploy([(f"{KEY}.bpmn", diagram())])
    return Scenario(engine, clock, members={"acc": "acceptor", "a": "d_a", "b": "d_b", "sup": "supervisor"})


def at(sc, *when):
    sc.clock.set(beijing(*when))


def start(sc, when, department, region="R1", result=None):
    at(sc, *when)
    iid = sc.engine.runtime.start(KEY, {}, business_key=f"B-{when[1]}-{when[2]}-{when[3]}", region=region)
    sc.complete(iid, "Task_accept", "acc", {"department": department, "summary": f"诉求 {department}",
                                            "company": "某某公司"})
    return iid


def step(sc, iid, element, user, when, data=None):
    at(sc, *when)
    sc.complete(iid, element, user, data or {})


def fact(engine, iid):
    with engine.db.read() as s:
        return s.get(AppealFact, iid)


def only(rows, **keys):
    found = [r for r in rows if all(r[k] == v for k, v in keys.items())]
    assert len(found) == 1, rows
    return found[0]


def test_rates_scope_reopen_cancel_and_recount(sc, engine):
    f = appeals.of(engine).figures
    # A1 (R1, 甲局): signed and solved in time; closed Tue 11-03 09:00, 1.0 working day; rated 5.
    a1 = start(sc, (2026, 11, 2, 9), "d_a")
    step(sc, a1, "Task_sign", "a", (2026, 11, 2, 10))              # due 11-03 09:00: on time
    step(sc, a1, "Task_handle", "a", (2026, 11, 3, 9), {"result": "solved"})   # due 11-07 10:00
    step(sc, a1, "Task_rate", "acc", (2026, 11, 3, 10), {"rating": "5"})
    # A2 (R1, 甲局): signed late, solved late; Wed 11-04 09:00 → Wed 11-11 09:00 = 15+24*4+9 h = 5.0 days.
    a2 = start(sc, (2026, 11, 4, 9), "d_a")
    step(sc, a2, "Task_sign", "a", (2026, 11, 5, 12))              # due 11-05 09:00: late
    step(sc, a2, "Task_handle", "a", (2026, 11, 11, 9), {"result": "solved"})  # due 11-10 12:00: late
    step(sc, a2, "Task_rate", "acc", (2026, 11, 11, 10), {"rating": "3"})
    # A3 (R1, 甲局): signed in time, "explained" (not solved), closed Fri 11-13 09:00, rated 2: reopened.
    a3 = start(sc, (2026, 11, 12, 9), "d_a")
    step(sc, a3, "Task_sign", "a", (2026, 11, 12, 10))
    step(sc, a3, "Task_handle", "a", (2026, 11, 13, 9), {"result": "explain"})
    closed_once = fact(engine, a3)
    assert (closed_once.outcome, closed_once.closed_at) == ("unsolved", beijing(2026, 11, 13, 9))
    step(sc, a3, "Task_rate", "acc", (2026, 11, 13, 10), {"rating": "2"})

    # Now 甲局 in November: accepted 3; closed 2 (A1, A2; A3 reopened); solved 2; solved late 1 (A2);
    # sign-for reached 3, on time 2 (A1, A3); rated 3 (5, 3, 2), satisfied 2; working days 1 + 5 = 6.
    mid = only(f.monthly(ALL, "2026-11", "2026-11", by=("department",)), department="d_a")
    assert (mid["accepted"], mid["closed"], mid["solved"], mid["solved_late"]) == (3, 2, 2, 1)
    assert (mid["sign_counted"], mid["signed_on_time"], mid["rated"], mid["satisfied"]) == (3, 2, 3, 2)
    assert mid["closed_rate"] == pytest.approx(2 / 3)          # 办结率 2/3
    assert mid["solved_rate"] == pytest.approx(2 / 3)          # 办成率 2/3 (of accepted)
    assert mid["late_rate"] == pytest.approx(1 / 2)            # 超时办成率 1 of 2 solved
    assert mid["sign_rate"] == pytest.approx(2 / 3)            # 签收率 2/3
    assert mid["satisfaction_rate"] == pytest.approx(2 / 3)    # 满意率 (5, 3) of (5, 3, 2)
    assert mid["avg_workdays"] == pytest.approx(6 / 2)         # (1.0 + 5.0) / 2
    reopened = fact(engine, a3)
    assert (reopened.outcome, reopened.closed_at, reopened.open_task) == (None, None, "二次督办")

    # A3 again: 二次督办 sends it back Mon 11-16 09:00, solved Tue 11-17 09:00 (new due 11-21 09:00: in
    # time); Thu 11-12 09:00 → Tue 11-17 09:00 = 15 + 24 + 24 + 9 h = 3.0 days; rated 4.
    step(sc, a3, "Task_second", "sup", (2026, 11, 16, 9))
    step(sc, a3, "Task_handle", "a", (2026, 11, 17, 9), {"result": "solved"})
    step(sc, a3, "Task_rate", "acc", (2026, 11, 17, 10), {"rating": "4"})
    # A4 (R1, 乙局): signed in time, then 办理 returned (退单) to 受理: open, no colour.
    a4 = start(sc, (2026, 11, 18, 9), "d_b")
    step(sc, a4, "Task_sign", "b", (2026, 11, 18, 10))
    at(sc, 2026, 11, 18, 11)
    engine.handoff.return_task(sc.task(a4, "Task_handle")["id"], "b", "不属于本部门职责")
    # A5 (R1, 乙局): cancelled (entered twice): counted nowhere, kept in the ledger.
    a5 = start(sc, (2026, 11, 18, 12), "d_b")
    at(sc, 2026, 11, 18, 13)
    engine.runtime.cancel(a5, user="admin")
    # A6 (R2, 乙局) in December: solved in time, Tue 12-01 09:00 → Wed 12-02 09:00 = 1.0 day; rated 5.
    a6 = start(sc, (2026, 12, 1, 9), "d_b", region="R2")
    step(sc, a6, "Task_sign", "b", (2026, 12, 1, 10))
    step(sc, a6, "Task_handle", "b", (2026, 12, 2, 9), {"result": "solved"})
    step(sc, a6, "Task_rate", "acc", (2026, 12, 2, 10), {"rating": "5"})
    # A7 (R1, 甲局) in December: signed in time, 办理 due Tue 12-08 10:00 left undone: red by 12-09.
    a7 = start(sc, (2026, 12, 3, 9), "d_a")
    step(sc, a7, "Task_sign", "a", (2026, 12, 3, 10))
    assert fact(engine, a7).colour == "green"
    sc.wait_until(2026, 12, 9, 9)          # the SLA jobs turn 办理 yellow, orange, red
    assert fact(engine, a7).colour == "red"

    # November, both departments: accepted 4 (A1-A4; A5 cancelled); closed 3, solved 3, late 1 (A2);
    # sign-for 4 reached, 3 on time (A2 late); returned 1 (A4); rated 3 (5, 3, 4), all satisfied;
    # working days 1 + 5 + 3 = 9.
    nov = f.monthly(ALL, "2026-11", "2026-11")
    assert len(nov) == 1
    n = nov[0]
    assert n["month"] == "2026-11"
    assert (n["accepted"], n["closed"], n["solved"], n["solved_late"], n["returned"]) == (4, 3, 3, 1, 1)
    assert n["closed_rate"] == pytest.approx(3 / 4)         # 办结率 = 3 / 4
    assert n["solved_rate"] == pytest.approx(3 / 4)         # 办成率 = 3 / 4
    assert n["late_rate"] == pytest.approx(1 / 3)           # 超时办成率 = 1 / 3
    assert n["sign_rate"] == pytest.approx(3 / 4)           # 签收率 = 3 / 4
    assert n["return_rate"] == pytest.approx(1 / 4)         # 退单率 = 1 / 4
    assert n["satisfaction_rate"] == pytest.approx(3 / 3)   # 满意率 = 3 / 3
    assert n["avg_workdays"] == pytest.approx(9 / 3)        # (1 + 5 + 3) / 3

    # By department and month: 乙局 in November is A4 only (open, returned, signed in time).
    rows = f.monthly(ALL, "2026-11", "2026-12", by=("month", "department"))
    b_nov = only(rows, month="2026-11", department="d_b")
    assert (b_nov["department_name"], b_nov["accepted"], b_nov["closed"]) == ("乙局", 1, 0)
    assert (b_nov["closed_rate"], b_nov["late_rate"], b_nov["satisfaction_rate"]) == (0.0, None, None)
    assert (b_nov["sign_rate"], b_nov["return_rate"], b_nov["avg_workdays"]) == (1.0, 1.0, None)
    a_dec = only(rows, month="2026-12", department="d_a")     # A7: open, red
    assert (a_dec["accepted"], a_dec["closed"], a_dec["sign_rate"]) == (1, 0, 1.0)
    by_region = f.monthly(ALL, "2026-11", "2026-12", by=("region", "mechanism"))
    assert {(r["region"], r["mechanism"], r["mechanism_name"], r["accepted"]) for r in by_region} == {
        ("R1", KEY, "测试机制", 5), ("R2", KEY, "测试机制", 1)}

    # Scopes narrow every query: region R1 leaves A6 out; 乙局 sees A4 and A6; R1 x 甲局: A1-A3, A7.
    def accepted(scope, **kw):
        return sum(r["accepted"] for r in f.monthly(scope, "2026-01", "2026-12", **kw))
    assert accepted(ALL) == 6
    assert accepted(DashboardScope("R1", None)) == 5
    assert accepted(DashboardScope(None, frozenset({"d_b"}))) == 2
    assert accepted(DashboardScope("R1", frozenset({"d_a"}))) == 4
    assert accepted(DashboardScope("R2", frozenset({"d_a"}))) == 0
    assert accepted(ALL, region="R2") == 1
    assert accepted(ALL, department="d_a", region="R1") == 4
    with pytest.raises(Forbidden):
        f.monthly(None, "2026-11", "2026-11")
    with pytest.raises(ValueError, match="YYYY-MM"):
        f.monthly(ALL, "2026-13", "2026-11")
    with pytest.raises(ValueError, match="group by"):
        f.monthly(ALL, "2026-11", "2026-11", by=("colour",))

    # Ranking of November in R1: 甲局 (办结率 3/3) before 乙局 (0/1).
    rank = f.ranking(DashboardScope("R1", None), "2026-11")
    assert [(r["rank"], r["department"]) for r in rank] == [(1, "d_a"), (2, "d_b")]

    # The warning board: A7 red, A4 without colour (受理 has no due date), worst first.
    assert f.colour_counts(ALL) == {"red": 1, "orange": 0, "yellow": 0, "green": 0, "blue": 0, "none": 1}
    assert f.colour_counts(DashboardScope(None, frozenset({"d_b"})))["red"] == 0
    items = f.open_items(ALL)
    assert [i["instance_id"] for i in items] == [a7, a4]
    assert (items[0]["colour"], items[0]["open_task"], items[0]["department_name"]) == ("red", "办理", "甲局")
    assert items[0]["deadline"] == beijing(2026, 12, 8, 10)
    assert [i["instance_id"] for i in f.open_items(ALL, colour="none")] == [a4]
    assert f.open_items(DashboardScope("R2", None)) == []

    # The ledger: every appeal of November, the cancelled one too, oldest first, with its stages.
    ledger = list(f.ledger(ALL, "2026-11", "2026-11", batch=2))
    assert [r["instance_id"] for r in ledger] == [a1, a2, a3, a4, a5]
    assert [r["status"] for r in ledger] == ["completed", "completed", "completed", "running", "cancelled"]
    l2 = ledger[1]
    assert (l2["outcome"], l2["solved_late"], l2["signed_on_time"], l2["rating"], l2["workdays"]) == \
        ("solved", True, False, "3", 5.0)
    assert [st["element"] for st in l2["stages"]] == ["Task_accept", "Task_sign", "Task_handle", "Task_rate"]
    assert (ledger[3]["returns"], ledger[3]["title"], ledger[3]["company"]) == (1, "诉求 d_b", "某某公司")
    assert [r["instance_id"] for r in f.ledger(DashboardScope(None, frozenset({"d_b"})), "2026-11", "2026-12")] \
        == [a4, a5, a6]

    assert f.months(ALL) == ["2026-12", "2026-11"]
    assert f.months(DashboardScope("R2", None)) == ["2026-12"]
    opts = f.options(DashboardScope("R1", None))
    assert opts == {"regions": ["R1"], "mechanisms": [(KEY, "测试机制")],
                    "departments": [("d_a", "甲局"), ("d_b", "乙局")]}

    # The summary table equals a recount from appeal_fact.
    assert _same(f.stored(), f.recount())
    assert {d["key"] for d in DEFINITIONS} >= {"closed_rate", "solved_rate", "late_rate", "sign_rate",
                                               "return_rate", "satisfaction_rate", "avg_workdays"}


def _same(stored, recount):
    assert stored.keys() == recount.keys()
    for k in stored:
        for c, v in stored[k].items():
            assert v == pytest.approx(recount[k][c]), (k, c)
    return True


def test_cancelling_a_closed_appeal_withdraws_it(sc, engine):
    iid = start(sc, (2026, 11, 2, 9), "d_a")
    step(sc, iid, "Task_sign", "a", (2026, 11, 2, 10))
    assert appeals.of(engine).figures.monthly(ALL, "2026-11", "2026-11")[0]["accepted"] == 1
    at(sc, 2026, 11, 2, 11)
    engine.runtime.cancel(iid, user="admin")
    assert appeals.of(engine).figures.monthly(ALL, "2026-11", "2026-11") == []
    assert appeals.of(engine).figures.colour_counts(ALL)["green"] == 0
    assert fact(engine, iid).status == "cancelled"
    _same(appeals.of(engine).figures.stored(), appeals.of(engine).figures.recount())
    # the check sees a counter that went astray
    from qihu.appeals.models import FigureMonth
    from sqlalchemy import update
    with engine.db.write() as s:
        s.execute(update(FigureMonth).values(closed=FigureMonth.closed + 1))
    with pytest.raises(AssertionError):
        _same(appeals.of(engine).figures.stored(), appeals.of(engine).figures.recount())


def _problems(engine, **props):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("bad.bpmn", diagram(props, key="fig_bad"))])
    return e.value.problems


@pytest.mark.parametrize("props, says", [
    ({"figure.department": "department +"}, "figure.department: SyntaxError"),
    ({"figure.solved": "__import__('os')"}, "figure.solved"),
    ({"figure.signFor": "Task_nope"}, "figure.signFor: 'Task_nope' is not a user task"),
    ({"figure.closedAt": "Gw"}, "figure.closedAt: 'Gw' is not a user task"),
    ({"figure.satisfied": None}, "figure.rating needs figure.satisfied"),
    ({"figure.solved": None}, "figure.solved is required"),
    ({"figure.colour": "x"}, "unknown property figure.colour"),
])
def test_bad_figure_properties_are_refused_at_deploy(engine, props, says):
    problems = _problems(engine, **props)
    assert any(says in p.message for p in problems), problems
    p = next(p for p in problems if says in p.message)
    assert (p.element, p.file) == ("fig_bad", "bad.bpmn")
    assert p.line == 3          # the line of the bpmn:process element that owns the figure.* properties


def test_an_expression_failing_at_run_time_leaves_nothing(engine, clock):
    engine.repository.deploy([(f"{KEY}.bpmn", diagram({"figure.title": "summary + 1"}))])
    engine.tasks.add_member("acc", "acceptor")
    iid = engine.runtime.start(KEY, {})
    t = engine.tasks.list(instance_id=iid)[0]
    with pytest.raises(EngineStepError, match="figure.title of process fig_test: TypeError"):
        engine.tasks.complete(t["id"], "acc", {"department": "d_a", "summary": "摘要"})
    assert engine.tasks.list(instance_id=iid)[0]["element_id"] == "Task_accept"
    with engine.db.read() as s:
        assert s.get(AppealFact, iid).department is None
        assert s.get(Instance, iid).status == "running"


def test_bundled_appeal_basic_declares_its_figures(engine, clock):
    sc = Scenario(engine, clock, "bpmn/appeal_basic.bpmn", members={"acc": "acceptor", "p": "dept_policy"})
    iid = sc.start("appeal_basic", {}, business_key="A-1")
    sc.complete(iid, "Task_accept", "acc", {"category": "policy", "summary": "申请政策兑现的诉求"})
    sc.complete(iid, "Task_handle", "p", {"result": "solved", "reply": "已兑现"})
    sc.complete(iid, "Task_rate", "acc", {"rate_plan": "5", "rate_process": "4", "rate_result": "4"})
    row = only(appeals.of(engine).figures.monthly(ALL, "2026-11", "2026-11", by=("department",)), department="dept_policy")
    assert (row["accepted"], row["closed"], row["solved"], row["rated"], row["satisfied"]) == (1, 1, 1, 1, 1)
    assert fact(engine, iid).rating == "4"


def test_every_bundled_diagram_declares_its_figures(engine):
    from qihu.engine.storage.models import Definition
    from sqlalchemy import select
    engine.repository.deploy([ROOT / "bpmn"], name="bpmn/")
    with engine.db.read() as s:
        defs = list(s.execute(select(Definition.id, Definition.key)))
    assert len(defs) == 11
    for did, key in defs:
        spec = appeals.of(engine).figures.spec_of(did)
        assert spec is not None, key
        assert {"department", "solved"} <= spec.expressions.keys(), key
        assert spec.closed_at, key
