"""Lucheng (温州市鹿城区) mock accountability, three lists (模拟问责三张清单): scenario tests.

Diagram: bpmn/lucheng_mock_accountability.bpmn (process lucheng_mock_accountability).
Two ways in: a direct start (问题清单: a problem found by an observation point 观测点/观察员)
and the message start `mock_accountability` (a red warning passed on by Qiantang).
区企服中心 files the written application (书面申请) → 模拟问责办 accepts (or declines) and
investigates: responsibility down to the section (科、所、队) with the measures for unit and
person and the basis (问责依据), report within 5 working days (责任清单) → 交办函 to the
unit → written rectification report within 5 working days → 回访: 销号清零, or once more
with a 督办函 and a new 5-working-day deadline; late (boundary timer at the deadline) or
still not cleared after the second visit → 追究纪律责任 (移送纪委监委) → 经验清单 (分类,
固化制度, 案例库, 揭榜挂帅). A unit answering 不能办 throws `say_no`.

Candidate groups (lead: demo users):
    lc_observer       观测点观察员 (starts the direct way in; no task of its own)
    lc_centre         区企业服务中心
    lc_office         区委模拟问责工作领导小组办公室（模拟问责办）
    lc_unit_market    区市场监管局            (责任单位)
    lc_unit_planning  区自然资源和规划分局    (责任单位)
    lc_unit_housing   区住房和城乡建设局      (责任单位)
    lc_unit_economy   区经济和信息化局        (责任单位)
    lc_unit_town      街道（镇）              (责任单位)
    lc_discipline     区纪委监委 (notified of discipline referrals)
"""

import pytest

from qihu.engine.errors import Forbidden, ValidationFailed
from tests.bpmn_util import bpmn, chain
from tests.scenario import Scenario, beijing, iso
from tests.scenario import ledger_lines as lines, letter_texts as letters

BPMN = "bpmn/lucheng_mock_accountability.bpmn"
KEY = "lucheng_mock_accountability"

OBSERVED = {
    "company": "温州市鹿城区某鞋业有限公司", "enterprise_user": "ent_xieye", "channel": "观测点",
    "summary": "个体工商户转企业后变更登记迟迟未办结", "category": "审批服务",
    "problem": "个转企变更登记受理后超过承诺时限未办结",
    "checklist_class": "slow", "checklist_kind": "审批事项超承诺时限办理", "stalled_stage": "handle",
    "observation_point": "鹿城区鞋革行业协会观测点", "observer": "周观察员",
}
APPLY = {
    "problem": "个转企变更登记受理后超过承诺时限未办结", "responsible_unit": "区市场监管局",
    "unit_group": "lc_unit_market", "checklist_class": "slow", "checklist_kind": "审批事项超承诺时限办理",
    "stalled_stage": "handle", "application": "该问题办理迟滞，申请启动模拟问责",
}
INVESTIGATE = {
    "responsible_section": "登记注册科", "responsible_person": "登记注册科科长",
    "unit_measure": "约谈部门主要负责人", "person_measure": "诫勉谈话",
    "accountability_basis": "《鹿城区模拟问责实施办法（试行）》",
    "report": "登记注册科未按承诺时限办理变更登记，责任在科室",
    "rectify_requirement": "限期办结变更登记并建立超时预警",
}
EXPERIENCE_PLAIN = {"experience_class": "slow", "experience": "变更登记设超时预警",
                    "make_rule": False, "good_case": False, "promote": False}




@pytest.fixture
def sc(engine, clock):
    return Scenario(engine, clock, BPMN, members={
        "chen": "lc_centre",
        "wang": "lc_office",
        "li": "lc_unit_market",
        "zhao": "lc_unit_planning",
        "ji": "lc_discipline",
    })


def start_observed(sc, key="LC-2026-001"):
    return sc.start(KEY, dict(OBSERVED), business_key=key, user="zhou")


def apply_and_accept(sc, iid, apply=APPLY):
    t = sc.task(iid, "Task_apply")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["lc_centre"], "区企业服务中心", None)
    sc.complete(iid, "Task_apply", "chen", apply)
    t = sc.task(iid, "Task_accept")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["lc_office"], "模拟问责办", None)
    sc.complete(iid, "Task_accept", "wang", {"accepted": True, "accept_opinion": "属处理迟滞涉企问题，予以受理"})


def investigate(sc, iid, data=INVESTIGATE):
    sc.complete(iid, "Task_investigate", "wang", data)


def finish_plain(sc, iid):
    t = sc.task(iid, "Task_experience")
    assert t["candidate_groups"] == ["lc_office"] and t["due_at"] is None
    sc.complete(iid, "Task_experience", "wang", EXPERIENCE_PLAIN)


# -- 1. direct start, cleared at the first return visit ------------------------------------------
def test_observed_problem_is_cleared_at_the_first_return_visit(sc, engine):
    iid = start_observed(sc)                      # Monday 2026-11-02 09:00
    apply_and_accept(sc, iid)
    [(title, data, closed)] = lines(engine, iid, "problem_list")
    assert title == "问题清单：个转企变更登记受理后超过承诺时限未办结" and not closed
    assert (data["source"], data["found_by"]) == ("observation_point", "鹿城区鞋革行业协会观测点（观察员：周观察员）")
    assert (data["checklist_class_name"], data["checklist_kind"], data["stalled_stage_name"]) == \
        ("慢作为", "审批事项超承诺时限办理", "办理")
    assert data["responsible_unit"] == "区市场监管局" and data["company"] == OBSERVED["company"]

    t = sc.task(iid, "Task_investigate")         # report within 5 working days of acceptance
    assert t["candidate_groups"] == ["lc_office"] and t["due_at"] == iso(2026, 11, 9, 9, 0)
    assert t["sla_colour"] == "green"
    sc.wait_until(2026, 11, 5, 8, 59)
    assert sc.task(iid, "Task_investigate")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 5, 9, 0)              # 60% of the working time
    assert sc.task(iid, "Task_investigate")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 9, 0)              # 80%
    assert sc.task(iid, "Task_investigate")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 6, 10, 0)
    investigate(sc, iid)

    [(title, data, closed)] = lines(engine, iid, "responsibility_list")
    assert title == "责任清单：区市场监管局登记注册科" and not closed
    assert data == {"problem": APPLY["problem"], "responsible_unit": "区市场监管局", "responsible_section": "登记注册科",
                    "responsible_person": "登记注册科科长", "unit_measure": "约谈部门主要负责人", "person_measure": "诫勉谈话",
                    "accountability_basis": "《鹿城区模拟问责实施办法（试行）》", "report": INVESTIGATE["report"]}
    [(ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("交办函", "区市场监管局", "2026年11月13日")
    assert "登记注册科" in text and "诫勉谈话" in text and "《鹿城区模拟问责实施办法（试行）》" in text
    assert "鹿城区企业服务中心" in text and "LC-2026-001" in text

    t = sc.task(iid, "Task_rectify")              # 5 working days from the letter: Fri 11-06 10:00 → Fri 11-13 10:00
    assert (t["candidate_groups"], t["lane"]) == (["lc_unit_market"], "责任单位")
    assert t["due_at"] == iso(2026, 11, 13, 10, 0) and t["sla_colour"] == "green"
    assert sc.inbox("li") == ["Task_rectify"] and sc.inbox("zhao") == []
    sc.wait_until(2026, 11, 11, 10, 0)
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 12, 9, 59)
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 11, 12, 10, 0)           # 80%: the centre urges the unit (督促)
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "orange"
    assert sc.notifications(iid) == [("group", "lc_unit_market", "督促呈报整改情况")]
    assert sc.colours(iid) == ["yellow", "orange", "yellow", "orange"]

    sc.wait_until(2026, 11, 12, 14, 0)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已办结变更登记，建立超时预警"})
    t = sc.task(iid, "Task_visit")
    assert t["candidate_groups"] == ["lc_office"] and t["due_at"] is None
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "企业确认已办结"})
    assert lines(engine, iid, "responsibility_list")[0][2] is True          # 销号清零
    assert sc.data(iid)["ledger_closed"] == 1
    finish_plain(sc, iid)

    [(title, data, closed)] = lines(engine, iid, "experience_list")
    assert title == "经验清单：个转企变更登记受理后超过承诺时限未办结"
    assert data["experience_class"] == "slow" and data["experience"] == "变更登记设超时预警"
    assert lines(engine, iid, "case_library") == [] and lines(engine, iid, "discipline_referral") == []
    assert lines(engine, iid, "rule_library") == []
    assert sc.notifications(iid) == [("group", "lc_unit_market", "督促呈报整改情况")]
    assert sc.events(iid, "message_thrown") == []
    assert sc.status(iid) == "completed"


# -- 2. message start from Qiantang's red warning, rule made of the experience -------------------
def test_qiantang_red_warning_opens_an_application_by_message(sc, engine):
    out = engine.runtime.correlate("mock_accountability", business_key="QT-2026-007", payload={
        "responsible_unit": "区自然资源和规划分局", "problem": "企业用地红线调整超期未答复", "source": "qiantang_red"})
    [iid] = out["started"]
    assert out["delivered"] == []
    assert sc.events(iid, "instance_started")[0]["data"]["message"] == "mock_accountability"
    data = sc.data(iid)
    assert (data["source"], data["found_by"]) == ("qiantang_red", "钱塘区“标的物”跟踪红色预警")
    assert (data["company"], data["summary"]) == ("", "企业用地红线调整超期未答复")   # defaults for a bare payload
    assert sc.ready(iid) == ["Task_apply"]
    apply = dict(APPLY, problem="企业用地红线调整超期未答复", responsible_unit="区自然资源和规划分局",
                 unit_group="lc_unit_planning", checklist_class="inaction", checklist_kind="答复超期不作为")
    apply_and_accept(sc, iid, apply)
    [(_, pdata, _)] = lines(engine, iid, "problem_list")
    assert (pdata["source"], pdata["source_name"], pdata["checklist_class_name"]) == \
        ("qiantang_red", "钱塘红色预警转入", "不作为")
    assert sc.task(iid, "Task_investigate")["due_at"] == iso(2026, 11, 9, 9, 0)
    investigate(sc, iid, dict(INVESTIGATE, responsible_section="耕地保护科"))
    [(ltype, unit, deadline, _)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("交办函", "区自然资源和规划分局", "2026年11月9日")
    t = sc.task(iid, "Task_rectify")
    assert t["candidate_groups"] == ["lc_unit_planning"] and t["due_at"] == iso(2026, 11, 9, 9, 0)
    assert sc.inbox("zhao") == ["Task_rectify"] and sc.inbox("li") == []
    sc.wait_until(2026, 11, 3, 15, 0)
    sc.complete(iid, "Task_rectify", "zhao", {"rectify_result": "done", "rectify_report": "已答复并调整红线"})
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "已销号"})
    sc.complete(iid, "Task_experience", "wang", dict(EXPERIENCE_PLAIN, experience_class="inaction",
                                                     experience="红线调整限时答复", make_rule=True))
    [(title, rdata, _)] = lines(engine, iid, "rule_library")                  # 固化为制度成果
    assert title == "制度成果：红线调整限时答复" and rdata["experience_class"] == "inaction"
    assert [l[0] for l in lines(engine, iid, "experience_list")] == ["经验清单：企业用地红线调整超期未答复"]
    assert lines(engine, iid, "responsibility_list")[0][2] is True
    assert sc.colours(iid) == [] and sc.notifications(iid) == []
    assert sc.instances(KEY)[0]["business_key"] == "QT-2026-007"
    assert sc.status(iid) == "completed"


# -- 3. the office declines the application --------------------------------------------------------
def test_office_declines_the_application_with_a_reason(sc, engine):
    iid = start_observed(sc, "LC-2026-003")
    sc.complete(iid, "Task_apply", "chen", APPLY)
    sc.complete(iid, "Task_accept", "wang", {"accepted": False, "accept_opinion": "尚在承诺时限内，不属处理迟滞问题"})
    assert sc.notifications(iid) == [("group", "lc_centre", "模拟问责申请不予受理")]
    assert sc.data(iid)["accept_opinion"] == "尚在承诺时限内，不属处理迟滞问题"
    assert len(lines(engine, iid, "problem_list")) == 1
    assert lines(engine, iid, "responsibility_list") == [] and letters(engine, iid) == []
    assert sc.ready(iid) == [] and sc.status(iid) == "completed"


# -- 4. not cleared at the first visit: a 督办函 and a second round --------------------------------
def test_two_rectification_rounds_then_cleared(sc, engine):
    iid = start_observed(sc, "LC-2026-004")
    apply_and_accept(sc, iid)
    investigate(sc, iid)                             # Mon 11-02 09:00 → rectify due Mon 11-09 09:00
    assert sc.task(iid, "Task_rectify")["due_at"] == iso(2026, 11, 9, 9, 0)
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已受理变更"})
    sc.wait_until(2026, 11, 5, 9, 0)
    sc.complete(iid, "Task_visit", "wang", {"cleared": False, "visit_note": "企业反映营业执照仍未换发"})
    assert sc.data(iid)["rectify_round"] == 2
    assert [(l[0], l[1], l[2]) for l in letters(engine, iid)] == [
        ("交办函", "区市场监管局", "2026年11月9日"), ("督办函", "区市场监管局", "2026年11月12日")]
    assert "企业反映营业执照仍未换发" in letters(engine, iid)[1][3]
    t = sc.task(iid, "Task_rectify")                 # Thu 11-05 09:00 + 5 working days
    assert t["candidate_groups"] == ["lc_unit_market"] and t["due_at"] == iso(2026, 11, 12, 9, 0)
    assert t["sla_colour"] == "green"
    sc.wait_until(2026, 11, 10, 9, 0)               # 60% of the second deadline
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "yellow"
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "营业执照已换发"})
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "已销号"})
    assert lines(engine, iid, "responsibility_list")[0][2] is True
    finish_plain(sc, iid)
    assert sc.colours(iid) == ["yellow"] and sc.notifications(iid) == []
    assert lines(engine, iid, "discipline_referral") == []
    assert sc.status(iid) == "completed"


# -- 5. late with the rectification report: boundary timer at the 5th working day -----------------
def test_late_rectification_is_referred_for_discipline_at_the_fifth_working_day(sc, engine):
    iid = start_observed(sc, "LC-2026-005")
    apply_and_accept(sc, iid)
    investigate(sc, iid)                             # letter Mon 11-02 09:00 → deadline Mon 11-09 09:00
    sc.wait_until(2026, 11, 5, 9, 0)                 # 60% (3 working days)
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "yellow" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 6, 9, 0)                 # 80% (4 working days): urged
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "orange"
    assert sc.notifications(iid) == [("group", "lc_unit_market", "督促呈报整改情况")]
    sc.wait_until(2026, 11, 7, 9, 0)                 # five calendar days: nothing, it is Saturday
    assert sc.ready(iid) == ["Task_rectify"]
    sc.wait_until(2026, 11, 9, 8, 59)
    assert sc.ready(iid) == ["Task_rectify"] and lines(engine, iid, "discipline_referral") == []
    sc.wait_until(2026, 11, 9, 9, 0)                 # the 5th working day
    assert sc.ready(iid) == ["Task_experience"]
    assert "Event_rectify_overdue" in [e["element_id"] for e in sc.events(iid, "timer_fired")]
    [(title, data, closed)] = lines(engine, iid, "discipline_referral")
    assert title == "追究纪律责任：区市场监管局登记注册科" and not closed
    assert (data["reason"], data["responsible_person"], data["person_measure"]) == \
        ("逾期未书面呈报整改情况", "登记注册科科长", "诫勉谈话")
    assert sc.notifications(iid) == [("group", "lc_unit_market", "督促呈报整改情况"),
                                     ("group", "lc_discipline", "追究纪律责任")]
    # the red SLA job and the boundary timer fall due at the same instant: the colour goes first
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    finish_plain(sc, iid)
    assert lines(engine, iid, "responsibility_list")[0][2] is False        # not cleared: handed to discipline
    assert len(lines(engine, iid, "experience_list")) == 1
    assert sc.status(iid) == "completed"


# -- 6. still not cleared after the second visit ---------------------------------------------------
def test_not_cleared_after_two_visits_is_referred_for_discipline(sc, engine):
    iid = start_observed(sc, "LC-2026-006")
    apply_and_accept(sc, iid)
    investigate(sc, iid)
    for day, note in ((3, "未见实质整改"), (5, "仍未整改到位")):
        sc.wait_until(2026, 11, day, 9, 0)
        sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "正在整改"})
        sc.complete(iid, "Task_visit", "wang", {"cleared": False, "visit_note": note})
    assert sc.ready(iid) == ["Task_experience"]
    [(title, data, _)] = lines(engine, iid, "discipline_referral")
    assert title == "追究纪律责任：区市场监管局登记注册科" and data["reason"] == "经2次回访仍未销号清零"
    assert sc.notifications(iid) == [("group", "lc_discipline", "追究纪律责任")]
    assert [l[0] for l in letters(engine, iid)] == ["交办函", "督办函"]
    assert lines(engine, iid, "responsibility_list")[0][2] is False
    finish_plain(sc, iid)
    assert sc.status(iid) == "completed"


# -- 7. a good case goes to the case library and is promoted (揭榜挂帅) ----------------------------
def test_good_case_goes_to_the_case_library_and_is_promoted(sc, engine):
    iid = start_observed(sc, "LC-2026-007")
    apply_and_accept(sc, iid)
    investigate(sc, iid)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已办结"})
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "已销号"})
    sc.complete(iid, "Task_experience", "wang", {"experience_class": "slow", "experience": "个转企一件事联办",
                                                 "make_rule": False, "good_case": True, "promote": True})
    [(title, data, _)] = lines(engine, iid, "case_library")
    assert title == "典型案例：个转企变更登记受理后超过承诺时限未办结"
    assert data == {"experience": "个转企一件事联办", "experience_class": "slow", "promoted": True}
    assert lines(engine, iid, "rule_library") == []
    promoted = [n for n in sc.notifications(iid) if n[2] == "“揭榜挂帅”优秀案例推广"]
    assert [n[1] for n in promoted] == ["lc_centre", "lc_unit_market", "lc_unit_planning", "lc_unit_housing",
                                        "lc_unit_economy", "lc_unit_town"]
    assert sc.status(iid) == "completed"


def test_good_case_without_promotion_only_enters_the_library(sc, engine):
    iid = start_observed(sc, "LC-2026-008")
    apply_and_accept(sc, iid)
    investigate(sc, iid)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已办结"})
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "已销号"})
    sc.complete(iid, "Task_experience", "wang", dict(EXPERIENCE_PLAIN, good_case=True, make_rule=True))
    assert lines(engine, iid, "case_library")[0][1]["promoted"] is False
    assert len(lines(engine, iid, "rule_library")) == 1
    assert sc.notifications(iid) == [] and sc.status(iid) == "completed"


# -- 8. the unit answers 不能办: say_no is thrown ---------------------------------------------------
SAY_NO_PROBE = bpmn("lc_say_no_probe", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m_probe" /></bpmn:startEvent>
<bpmn:userTask id="review" name="说不评议" camunda:candidateGroups="probe" />
<bpmn:endEvent id="e" />
{chain("s", "review", "e")}""", extra='<bpmn:message id="m_probe" name="say_no" />\n')


def test_unit_answering_cannot_throws_say_no(sc, engine):
    engine.repository.deploy([("probe.bpmn", SAY_NO_PROBE)])
    iid = start_observed(sc, "LC-2026-009")
    apply_and_accept(sc, iid)
    investigate(sc, iid)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "cannot", "rectify_report": "涉及上级审批权限，本级不能办"})
    assert [e["data"]["message"] for e in sc.events(iid, "message_thrown")] == ["say_no"]
    data = sc.data(iid)
    assert (data["department"], data["say_no_kind"], data["say_no_reason"]) == \
        ("区市场监管局", "cannot", "涉及上级审批权限，本级不能办")
    assert sc.status(iid) == "completed" and sc.ready(iid) == []
    [probe] = sc.instances("lc_say_no_probe")            # Luqiao would start on it, same business key
    assert probe["business_key"] == "LC-2026-009"
    pdata = sc.data(probe["id"])
    assert (pdata["department"], pdata["say_no_kind"], pdata["company"]) == \
        ("区市场监管局", "cannot", OBSERVED["company"])
    assert lines(engine, iid, "responsibility_list")[0][2] is False
    assert lines(engine, iid, "experience_list") == [] and lines(engine, iid, "discipline_referral") == []


# -- 9. deadlines across the 2026 National Day holiday ---------------------------------------------
def test_deadlines_cross_national_day_and_the_make_up_saturday(sc, engine, clock):
    clock.set(beijing(2026, 9, 29, 9, 0))              # Tuesday; Oct 1–7 off, Sat Oct 10 a working day
    iid = start_observed(sc, "LC-2026-010")
    apply_and_accept(sc, iid)
    # Sep 30, Oct 8, Oct 9, Sat Oct 10, Mon Oct 12
    assert sc.task(iid, "Task_investigate")["due_at"] == iso(2026, 10, 12, 9, 0)
    sc.wait_until(2026, 9, 30, 9, 0)
    investigate(sc, iid)
    # Oct 8, 9, Sat 10, Mon 12, Tue 13
    t = sc.task(iid, "Task_rectify")
    assert t["due_at"] == iso(2026, 10, 13, 9, 0) and t["sla_colour"] == "green"
    assert letters(engine, iid)[0][2] == "2026年10月13日"
    sc.wait_until(2026, 10, 7, 23, 59)                 # the whole holiday: no working time used
    assert sc.colours(iid) == [] and sc.ready(iid) == ["Task_rectify"]
    sc.wait_until(2026, 10, 10, 9, 0)                  # 60% falls on the make-up Saturday
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "yellow"
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 10, 12, 9, 0)                  # 80%: urged on Monday
    assert sc.task(iid, "Task_rectify")["sla_colour"] == "orange"
    assert sc.notifications(iid) == [("group", "lc_unit_market", "督促呈报整改情况")]
    sc.wait_until(2026, 10, 12, 16, 0)
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已办结"})
    sc.complete(iid, "Task_visit", "wang", {"cleared": True, "visit_note": "已销号"})
    finish_plain(sc, iid)
    assert sc.colours(iid) == ["yellow", "orange"]
    assert sc.status(iid) == "completed"


# -- 10. forms and authorisation -------------------------------------------------------------------
def test_forms_refuse_missing_fields_and_outsiders_are_forbidden(sc, engine):
    iid = start_observed(sc, "LC-2026-011")
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_apply", "chen", {k: v for k, v in APPLY.items() if k != "unit_group"})
    assert list(err.value.errors) == ["unit_group"]
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_apply", "chen", dict(APPLY, checklist_class="unknown"))
    assert list(err.value.errors) == ["checklist_class"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_apply", "wang", APPLY)            # the office does not file applications
    assert sc.ready(iid) == ["Task_apply"]
    apply_and_accept(sc, iid)
    with pytest.raises(ValidationFailed):                        # no 问责依据
        sc.complete(iid, "Task_investigate", "wang", {k: v for k, v in INVESTIGATE.items()
                                                      if k != "accountability_basis"})
    investigate(sc, iid)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rectify", "zhao", {"rectify_result": "done", "rectify_report": "x"})   # another unit
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rectify", "chen", {"rectify_result": "done", "rectify_report": "x"})
    with pytest.raises(ValidationFailed):
        sc.complete(iid, "Task_rectify", "li", {"rectify_result": "maybe", "rectify_report": "x"})
    with pytest.raises(ValidationFailed):
        sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done"})
    assert sc.ready(iid) == ["Task_rectify"]
    sc.complete(iid, "Task_rectify", "li", {"rectify_result": "done", "rectify_report": "已办结"})
    with pytest.raises(ValidationFailed):
        sc.complete(iid, "Task_visit", "wang", {"visit_note": "已销号"})   # 是否销号清零 is required
    sc.complete(iid, "Task_visit", "wang", {"cleared": "是", "visit_note": "已销号"})
    finish_plain(sc, iid)
    assert sc.status(iid) == "completed"
