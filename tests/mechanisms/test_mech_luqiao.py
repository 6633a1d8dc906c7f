"""Scenarios of the Luqiao "say no" review (路桥区说“不”评议机制), bpmn/luqiao_say_no_review.bpmn.

The loop 调研-评议-落实-评价: a case where a department refused to accept (拒绝受理), replied
"cannot be done" (不能办) or passed the buck (推诿扯皮) enters the candidate pool (说“不”问题备选库),
either from any other diagram (message `say_no`) or registered by hand on the 1187 platform;
deputies research it; the review panel meets the enterprise and the department and gives one of
three results (确实不能办 / 应该办 / 能办); the enterprise evaluates; the pool line is closed;
common problems become policy suggestions to the district government.

Candidate groups (demo users are needed for each):
    lq_centre       1187平台工作人员（说“不”评议数字化场景）
    lq_deputy       区、镇人大代表
    lq_panel        评议团（人大常委会领导、人大代表、企业代表、专家）
    lq_department   被评议部门
    lq_npc_office   区人大常委会办公室
    lq_enterprise   企业（评价任务另按 enterprise_user 指派）

Time limits (the seed gives only "two months" for 应该办; the others are assumptions):
调研 10 working days (reminder at 80%), 评议 15, 替补服务 10, 工作计划 5 ("立即"), 核查 5,
企业评价 5, 登记 1; 应该办: two calendar months, reminder 5 working days before, red warning
when they run out; 能办: red warning when the department's own plan deadline passes.
"""
from datetime import date

import pytest
from sqlalchemy import select

from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Job
from qihu.appeals.models import LedgerEntry
from tests.scenario import Scenario, iso

BPMN = "bpmn/luqiao_say_no_review.bpmn"
KEY = "luqiao_say_no_review"

PAYLOAD = {
    "company": "路桥巨东公司", "enterprise_user": "judong", "summary": "原承诺的扩产政策无法兑现",
    "department": "区发改局", "say_no_kind": "cannot", "say_no_reason": "上位政策调整，政策无法兑现",
    "channel": "1187平台",
}


@pytest.fixture
def sc(engine, clock):
    return Scenario(engine, clock, BPMN, members={
        "clerk_lin": "lq_centre",
        "deputy_wang": "lq_deputy",
        "panel_li": "lq_panel",
        "dept_zhao": "lq_department",
        "npc_chen": "lq_npc_office",
        "judong": "lq_enterprise",
        "other_co": "lq_enterprise",
    })


def by_message(sc, business_key, **changes):
    out = sc.engine.runtime.correlate("say_no", business_key=business_key, payload={**PAYLOAD, **changes})
    assert out["delivered"] == []
    [iid] = out["started"]
    return iid


def pool(sc, iid):
    """The say-no pool lines of an instance: [(title, data, closed?)]."""
    with sc.engine.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == iid, LedgerEntry.kind == "say_no_pool")
                         .order_by(LedgerEntry.id)).all()
        return [(r.title, r.data, r.closed_at is not None) for r in rows]


def ends(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "element_completed") if e["element_id"].startswith("EndEvent")]


def jobs(sc, iid):
    with sc.engine.db.read() as s:
        return s.scalars(select(Job).where(Job.instance_id == iid)).all()


def to_review(sc, iid):
    sc.complete(iid, "Task_research", "deputy_wang", {"research_findings": "赴企业现场调研，问题典型", "selected": True,
                                                      "select_reason": "重要性、典型性强"})


def evaluate_and_close(sc, iid, common=False):
    sc.complete(iid, "Task_evaluate", "judong", {"satisfaction": "4", "evaluation_comment": "满意"})
    t = sc.task(iid, "Task_mark_common")
    assert t["candidate_groups"] == ["lq_npc_office"] and t["due_at"] is None
    sc.complete(iid, "Task_mark_common", "npc_chen", {"common_problem": common})


# -- 1. message start → pool → research (reminded) → review → a. 确实不能办 → 评价 → 销号 ------------------
def test_say_no_message_puts_the_case_in_the_pool_and_a_cannot_is_upheld_with_a_substitute_service(sc):
    iid = by_message(sc, "LQ-2026-001")
    [started] = sc.events(iid, "instance_started")
    assert started["data"]["message"] == "say_no" and started["data"]["business_key"] == "LQ-2026-001"
    data = sc.data(iid)
    assert data["say_no_kind_name"] == "回复不能办" and data["company"] == "路桥巨东公司"
    # automatic entry into the candidate pool (说“不”问题备选库), still open
    assert pool(sc, iid) == [("路桥巨东公司：原承诺的扩产政策无法兑现",
                              {"department": "区发改局", "reason": "回复不能办：上位政策调整，政策无法兑现"}, False)]
    t = sc.task(iid, "Task_research")
    assert (t["candidate_groups"], t["lane"], t["name"]) == (["lq_deputy"], "区、镇人大代表", "深入一线调研论证")
    assert t["due_at"] == iso(2026, 11, 16) and t["sla_colour"] == "green"        # 10 working days
    assert sc.inbox("deputy_wang") == ["Task_research"] and sc.inbox("panel_li") == []

    sc.wait_until(2026, 11, 10, 8, 59)
    assert sc.task(iid, "Task_research")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 10, 9, 0)                      # 60%: 6 working days
    assert sc.task(iid, "Task_research")["sla_colour"] == "yellow" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 12, 9, 0)                      # 80%: 8 working days → 催办 to the deputies
    assert sc.task(iid, "Task_research")["sla_colour"] == "orange"
    assert sc.notifications(iid) == [("group", "lq_deputy", "说“不”问题调研催办")]
    assert sc.colours(iid) == ["yellow", "orange"]

    sc.wait_until(2026, 11, 12, 10, 0)
    to_review(sc, iid)
    t = sc.task(iid, "Task_review")
    assert (t["candidate_groups"], t["lane"]) == (["lq_panel"], "评议团（人大常委会领导、人大代表、企业代表、专家）")
    assert t["due_at"] == iso(2026, 12, 3, 10, 0)                                  # 15 working days
    assert pool(sc, iid)[0][2] is False                    # under review: still in the pool

    sc.wait_until(2026, 11, 13, 10, 0)
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "cannot", "review_opinion": "与现行政策冲突，支持部门说“不”",
                                                  "panel_members": "人大常委会副主任、人大代表、企业代表、专家"})
    t = sc.task(iid, "Task_substitute_service")
    assert (t["candidate_groups"], t["lane"]) == (["lq_department"], "被评议部门")
    assert t["due_at"] == iso(2026, 11, 27, 10, 0)                                 # 10 working days
    sc.wait_until(2026, 11, 16, 10, 0)
    sc.complete(iid, "Task_substitute_service", "dept_zhao", {"substitute_service": "统筹全区能耗指标适当倾斜，支持扩大产能"})

    t = sc.task(iid, "Task_evaluate")
    assert (t["assignee"], t["candidate_groups"], t["lane"]) == ("judong", ["lq_enterprise"], "企业")
    assert t["due_at"] == iso(2026, 11, 23, 10, 0)
    assert sc.inbox("judong") == ["Task_evaluate"] and sc.inbox("other_co") == []
    evaluate_and_close(sc, iid, common=False)

    assert sc.data(iid)["leave_reason"] == "评议办结（确实不能办），企业评价：满意"
    assert [line[2] for line in pool(sc, iid)] == [True]     # 销号
    assert sc.letters(iid) == [] and sc.ledger(iid, "discipline_referral") == []
    assert sc.ledger(iid, "policy_suggestion") == []
    assert sc.notifications(iid) == [("group", "lq_deputy", "说“不”问题调研催办")]
    assert ends(sc, iid) == ["EndEvent_research_reminded", "EndEvent_closed"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 2. direct start: the platform registers the case by hand; not selected → leaves the pool ----------
def test_direct_registration_validated_then_not_selected_leaves_the_pool(sc):
    iid = sc.start(KEY, {}, business_key="LQ-2026-002", user="clerk_lin")
    t = sc.task(iid, "Task_register")
    assert (t["candidate_groups"], t["lane"]) == (["lq_centre"], "说“不”评议数字化场景（1187平台）")
    assert t["due_at"] == iso(2026, 11, 3)                                          # 1 working day
    form = {"company": "路桥某机械公司", "enterprise_user": "jixie", "summary": "厂房扩建审批无人受理",
            "department": "区住建局", "say_no_kind": "buck_passing", "say_no_reason": "称应由镇街办理"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_register", "deputy_wang", form)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "clerk_lin", {**form, "say_no_reason": ""})
    assert set(e.value.errors) == {"say_no_reason"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "clerk_lin", {**form, "say_no_kind": "ignored"})
    assert set(e.value.errors) == {"say_no_kind"}
    assert pool(sc, iid) == []
    sc.complete(iid, "Task_register", "clerk_lin", form)

    assert pool(sc, iid) == [("路桥某机械公司：厂房扩建审批无人受理",
                              {"department": "区住建局", "reason": "推诿扯皮：称应由镇街办理"}, False)]
    t = sc.task(iid, "Task_research")
    assert t["candidate_groups"] == ["lq_deputy"] and t["due_at"] == iso(2026, 11, 16)
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_research", "deputy_wang", {"research_findings": "镇街已说明，不具典型性", "selected": False})

    assert pool(sc, iid) == [("路桥某机械公司：厂房扩建审批无人受理",
                              {"department": "区住建局", "reason": "推诿扯皮：称应由镇街办理"}, True)]
    assert sc.data(iid)["leave_reason"] == "调研后未选取评议"
    assert ends(sc, iid) == ["EndEvent_unselected"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []
    sc.wait_until(2026, 11, 20)                         # the research reminder went with the task
    assert sc.notifications(iid) == [] and sc.letters(iid) == []


# -- 3. solved by the department while researched: say_no_solved takes it out of the pool -------------
def test_department_solves_the_case_in_the_pool_during_research(sc):
    iid = by_message(sc, "LQ-2026-003", say_no_kind="refused", say_no_reason="材料不全不予受理")
    assert pool(sc, iid)[0][1]["reason"] == "拒绝受理：材料不全不予受理"
    sc.wait_until(2026, 11, 5, 9, 0)
    out = sc.engine.runtime.correlate("say_no_solved", business_key="LQ-2026-003",
                                      payload={"solution": "部门主动上门补办受理"})
    assert out == {"delivered": [iid], "started": []}
    assert [line[2] for line in pool(sc, iid)] == [True]
    data = sc.data(iid)
    assert data["leave_reason"] == "纳入备选库后部门主动作为，评议前解决" and data["left_pool"] is True
    assert ends(sc, iid) == ["EndEvent_solved"]
    assert [e["element_id"] for e in sc.events(iid, "task_cancelled")] == ["Task_research"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []
    sc.wait_until(2026, 11, 20)
    assert sc.notifications(iid) == [] and sc.colours(iid) == []


# -- 4. solved after selection, before the review meeting ---------------------------------------------
def test_department_solves_the_case_before_the_review(sc):
    iid = by_message(sc, "LQ-2026-004")
    to_review(sc, iid)
    assert sc.ready(iid) == ["Task_review"]
    sc.wait_until(2026, 11, 10, 9, 0)
    out = sc.engine.runtime.correlate("say_no_solved", business_key="LQ-2026-004", payload={})
    assert out["delivered"] == [iid]
    assert [line[2] for line in pool(sc, iid)] == [True]
    assert ends(sc, iid) == ["EndEvent_solved"]
    assert [e["element_id"] for e in sc.events(iid, "task_cancelled")] == ["Task_review"]
    assert sc.letters(iid) == [] and sc.status(iid) == "completed"
    # once closed, nobody waits for it any more
    from qihu.engine.errors import NotFound
    with pytest.raises(NotFound):
        sc.engine.runtime.correlate("say_no_solved", business_key="LQ-2026-004", payload={})


# -- 5. b. 应该办: two months to create the conditions, 督办函, reminder, red warning, check ------------
def test_should_be_done_gets_two_months_a_supervision_letter_and_a_check(sc):
    sc.engine.calendar.load_year(2027, holidays=[date(2027, 1, 1)], workdays=[])   # the deadline is in 2027
    iid = by_message(sc, "LQ-2026-005", company="路桥某制造企业", summary="厂区用地定位偏差无法验收",
                     department="区自然资源和规划分局", say_no_reason="历史遗留，无办理先例")
    to_review(sc, iid)
    sc.wait_until(2026, 11, 11, 9, 0)
    assert sc.task(iid, "Task_review")["sla_colour"] == "green"
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "should", "review_opinion": "合情合理，应创造条件办理临时验收"})

    assert sc.letters(iid) == [("督办函", "区自然资源和规划分局")]
    with sc.engine.db.read() as s:
        from qihu.engine.storage.models import Attachment
        [letter] = s.scalars(select(Attachment).where(Attachment.instance_id == iid)).all()
        assert letter.meta["deadline"] == "2027年1月11日"
    t = sc.task(iid, "Task_create_conditions")
    assert (t["candidate_groups"], t["name"]) == (["lq_department"], "攻坚克难、创造条件办理")
    assert t["due_at"] == iso(2027, 1, 11)                  # two calendar months after the review
    assert sc.notifications(iid) == []

    # 42 working days (24h each) from Wed Nov 11 09:00 to Mon Jan 11 09:00: 60% = 25.2, 80% = 33.6
    sc.wait_until(2026, 12, 16, 13, 47)
    assert sc.task(iid, "Task_create_conditions")["sla_colour"] == "green"
    sc.wait_until(2026, 12, 16, 13, 48)
    assert sc.task(iid, "Task_create_conditions")["sla_colour"] == "yellow"
    sc.wait_until(2026, 12, 28, 23, 24)
    assert sc.task(iid, "Task_create_conditions")["sla_colour"] == "orange"
    sc.wait_until(2027, 1, 1, 9, 0)
    assert sc.notifications(iid) == []
    sc.wait_until(2027, 1, 4, 9, 0)                        # 5 working days before the deadline
    assert sc.notifications(iid) == [("group", "lq_department", "创造条件办理到期提醒")]
    sc.wait_until(2027, 1, 11, 9, 0)                       # two months are up: red warning list line
    assert sc.task(iid, "Task_create_conditions")["sla_colour"] == "red"
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    [(kind, title, wdata)] = sc.ledger(iid, "warning_list")
    assert title == "红色预警：两个月内未创造条件办理：区自然资源和规划分局，厂区用地定位偏差无法验收"
    assert wdata["level"] == "red"
    assert sc.notifications(iid)[1:] == [("group", "lq_npc_office", "红色预警"), ("group", "lq_panel", "红色预警")]

    sc.wait_until(2027, 1, 12, 9, 0)
    sc.complete(iid, "Task_create_conditions", "dept_zhao", {"conditions_actions": "已为企业办理临时验收"})
    t = sc.task(iid, "Task_verify")
    assert (t["candidate_groups"], t["due_at"]) == (["lq_npc_office"], iso(2027, 1, 19))
    sc.complete(iid, "Task_verify", "npc_chen", {"verified": True, "verify_note": "临时验收已办结"})
    assert sc.task(iid, "Task_evaluate")["assignee"] == "judong"
    evaluate_and_close(sc, iid, common=False)
    assert sc.data(iid)["leave_reason"] == "评议办结（应该办），企业评价：满意"
    assert [line[2] for line in pool(sc, iid)] == [True]
    assert sorted(ends(sc, iid)) == ["EndEvent_closed", "EndEvent_conditions_reminded", "EndEvent_conditions_warned"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 6. c. 能办: work plan at once, 纪委监委 referral, red warning on the plan deadline, re-check ----------
def test_can_be_done_is_referred_to_the_discipline_commission_and_pushed_through(sc):
    iid = by_message(sc, "LQ-2026-006", say_no_kind="buck_passing", say_no_reason="未经研究称不属本部门职责",
                     department="区市场监管局")
    to_review(sc, iid)
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "can", "review_opinion": "部门未经研究敷衍回复，应当能办"})

    [(kind, title, rdata)] = sc.ledger(iid, "discipline_referral")
    assert title == "敷衍说“不”：区市场监管局，原承诺的扩产政策无法兑现"
    assert rdata == {"department": "区市场监管局", "company": "路桥巨东公司", "say_no_kind": "buck_passing",
                     "review_opinion": "部门未经研究敷衍回复，应当能办", "to_unit": "路桥区纪委监委"}
    assert sc.letters(iid) == [("提示函", "路桥区纪委监委"), ("督办函", "区市场监管局")]
    t = sc.task(iid, "Task_work_plan")
    assert (t["candidate_groups"], t["due_at"]) == (["lq_department"], iso(2026, 11, 9))   # 5 working days
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_work_plan", "dept_zhao", {"work_plan": "三步走", "plan_deadline": "下周"})
    assert set(e.value.errors) == {"plan_deadline"}
    sc.wait_until(2026, 11, 3, 9, 0)
    sc.complete(iid, "Task_work_plan", "dept_zhao", {"work_plan": "现场核查、联合会商、出具结论", "plan_deadline": "2026-11-20"})

    t = sc.task(iid, "Task_implement")
    assert (t["candidate_groups"], t["due_at"]) == (["lq_department"], iso(2026, 11, 20, 18, 0))
    sc.wait_until(2026, 11, 20, 17, 59)
    assert sc.ledger(iid, "warning_list") == [] and sc.task(iid, "Task_implement")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 20, 18, 0)                     # the department's own deadline passed
    assert sc.task(iid, "Task_implement")["sla_colour"] == "red"
    [(kind, title, wdata)] = sc.ledger(iid, "warning_list")
    assert title == "红色预警：超过工作计划完成时限：区市场监管局，原承诺的扩产政策无法兑现"
    assert sc.notifications(iid) == [("group", "lq_npc_office", "红色预警"), ("group", "lq_panel", "红色预警")]

    sc.wait_until(2026, 11, 23, 9, 0)
    sc.complete(iid, "Task_implement", "dept_zhao", {"implement_result": "已出具结论"})
    t = sc.task(iid, "Task_verify")
    assert (t["candidate_groups"], t["due_at"]) == (["lq_npc_office"], iso(2026, 11, 30))
    sc.complete(iid, "Task_verify", "npc_chen", {"verified": False, "verify_note": "企业诉求尚未真正解决"})
    assert sc.ready(iid) == ["Task_implement"]             # back to the department
    # sent back after its deadline: red at once, and a second line in the warning list
    t = sc.task(iid, "Task_implement")
    assert (t["due_at"], t["sla_colour"]) == (iso(2026, 11, 20, 18, 0), "red")
    assert [line[1] for line in sc.ledger(iid, "warning_list")] == [title, title]
    assert len(sc.notifications(iid)) == 4
    sc.wait_until(2026, 11, 24, 9, 0)
    sc.complete(iid, "Task_implement", "dept_zhao", {"implement_result": "已为企业办结"})
    sc.complete(iid, "Task_verify", "npc_chen", {"verified": True, "verify_note": "已办结"})
    evaluate_and_close(sc, iid, common=False)
    assert sc.data(iid)["leave_reason"] == "评议办结（能办），企业评价：满意"
    assert [line[2] for line in pool(sc, iid)] == [True]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 7. a common problem becomes a policy suggestion to the district government ------------------------
def test_common_problem_becomes_a_policy_suggestion_to_the_district_government(sc):
    iid = by_message(sc, "LQ-2026-007", summary="低效用地整治中对非低效企业加收电费", department="区经信局")
    to_review(sc, iid)
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "cannot", "review_opinion": "现行政策无差别加收"})
    sc.complete(iid, "Task_substitute_service", "dept_zhao", {"substitute_service": "协调供电部门先行核对"})
    evaluate_and_close(sc, iid, common=True)
    assert [line[2] for line in pool(sc, iid)] == [True]  # closed before the policy step
    t = sc.task(iid, "Task_draft_policy")
    assert (t["candidate_groups"], t["name"]) == (["lq_npc_office"], "形成政策意见建议")
    with pytest.raises(ValidationFailed):
        sc.complete(iid, "Task_draft_policy", "npc_chen", {})
    sc.complete(iid, "Task_draft_policy", "npc_chen", {"policy_suggestion": "建立电费返还机制，返还向非低效企业多收的电费"})
    assert sc.ledger(iid, "policy_suggestion") == [(
        "policy_suggestion", "共性问题：低效用地整治中对非低效企业加收电费",
        {"to_unit": "路桥区人民政府", "suggestion": "建立电费返还机制，返还向非低效企业多收的电费", "department": "区经信局"})]
    assert ends(sc, iid) == ["EndEvent_policy"]
    assert sc.status(iid) == "completed"


# -- 8. forms and authorisation ---------------------------------------------------------------------
def test_review_form_is_validated_and_only_the_panel_and_the_enterprise_act(sc):
    iid = by_message(sc, "LQ-2026-008")
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_research", "panel_li", {"research_findings": "x", "selected": True})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_research", "deputy_wang", {"research_findings": "x"})
    assert set(e.value.errors) == {"selected"}
    to_review(sc, iid)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_review", "dept_zhao", {"review_result": "cannot", "review_opinion": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_review", "panel_li", {"review_result": "maybe"})
    assert set(e.value.errors) == {"review_result", "review_opinion"}
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "cannot", "review_opinion": "依法不能办"})
    sc.complete(iid, "Task_substitute_service", "dept_zhao", {"substitute_service": "提供增值服务"})
    with pytest.raises(Forbidden):                         # another enterprise cannot evaluate this case
        sc.complete(iid, "Task_evaluate", "other_co", {"satisfaction": "2"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_evaluate", "judong", {})
    assert set(e.value.errors) == {"satisfaction"}
    assert sc.ready(iid) == ["Task_evaluate"] and sc.status(iid) == "running"
    assert [line[2] for line in pool(sc, iid)] == [False]


# -- the one 好差评 scale; a case with no enterprise account is rated by the platform's clerk ------
def test_without_an_enterprise_account_the_platform_records_the_rating_on_the_five_level_scale(sc):
    iid = by_message(sc, "LQ-2026-031", enterprise_user="")
    to_review(sc, iid)
    sc.complete(iid, "Task_review", "panel_li", {"review_result": "cannot", "review_opinion": "支持部门说“不”",
                                                  "panel_members": "人大代表、专家"})
    sc.complete(iid, "Task_substitute_service", "dept_zhao", {"substitute_service": "协调能耗指标"})
    t = sc.task(iid, "Task_evaluate")
    assert (t["assignee"], t["candidate_groups"]) == (None, ["lq_centre"])
    assert sc.inbox("clerk_lin") == ["Task_evaluate"] and sc.inbox("judong") == []
    with pytest.raises(ValidationFailed) as e:                       # the old three-level values are gone
        sc.complete(iid, "Task_evaluate", "clerk_lin", {"satisfaction": "basic"})
    assert set(e.value.errors) == {"satisfaction"}
    sc.complete(iid, "Task_evaluate", "clerk_lin", {"satisfaction": "3"})
    assert sc.data(iid)["leave_reason"] == "评议办结（确实不能办），企业评价：基本满意"
