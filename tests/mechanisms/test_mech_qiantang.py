"""Qiantang (杭州市钱塘区) target tracking, “标的物”跟踪机制: bpmn/qiantang_target_tracking.bpmn.

研判 → 服务板块统筹制定解决方案 → 企业方案满意评价 → 问题处置跟踪库 (半月一更新, 一月一通报,
三色预警 60% 黄/催办, 80% 橙/督办预警清单, 100% 红/兜底板块督办 + 督办函 + 模拟问责) → 办成 →
一事一评 (方案/过程/结果 好差评, 计入责任单位) → 销号. A board that finds it cannot be done throws say_no.

Groups (candidate groups) used by the diagram:
    qt_centre              钱塘区企业综合服务中心 (研判, 一月一通报)
    qt_board_tech          科创服务板块
    qt_board_project       项目建设板块
    qt_board_finance       金融服务板块
    qt_board_general       综合服务板块
    qt_board_fallback      兜底板块 (红色预警后的督办)
    qt_unit_police         区公安分局 (责任单位)
    qt_unit_planning       区规划和自然资源分局 (责任单位)
    qt_unit_construction   区建设局 (责任单位)
    qt_unit_economy        区经济信息化局 (责任单位)
The enterprise's tasks (方案满意评价, 一事一评) are assigned to ${enterprise_user}.

Times: the plan deadline (办成时限) is a date; the responsible unit's task is due at the end of
that day (24:00 Beijing). The standard plan here starts tracking on Monday 2026-11-02 09:00 with
办成时限 2026-11-23, so the task is due 2026-11-24 00:00: 15.625 working days (each working day's
24 hours count; 15 h of Nov 2, then Nov 3-6, 9-13, 16-20, 23). 60% = 9.375 working days →
Fri 2026-11-13 18:00 (yellow); 80% = 12.5 → Wed 2026-11-18 21:00 (orange); 100% → Tue 2026-11-24
00:00 (red). 半月一更新 fires every 15 days from the start (Nov 17 09:00, Dec 2 09:00, ...),
一月一通报 every 30 days (Dec 2 09:00, ...).
"""
import io
from datetime import datetime, timezone

import pytest
from docx import Document
from sqlalchemy import select

from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment
from tests.bpmn_util import bpmn, chain
from tests.scenario import Scenario, beijing, iso, timer_jobs, open_lines, bodies

PROCESS = "qiantang_target_tracking"
START_DATA = {"company": "玳能科技（杭州）有限公司", "enterprise_user": "daineng",
              "summary": "南侧土地回收后无货运出入口，需开设新的货运出入口",
              "channel": "企业码", "category": "项目建设"}
PLAN = {"plan_result": "feasible", "responsible_group": "qt_unit_police",
        "measures": "召开专题协调会，指导办理道路开口及交通组织审批",
        "milestones": "11月10日前完成方案审查；11月20日前完成出入口开设",
        "plan_deadline": "2026-11-23"}
RATING = {"plan_rating": "5", "process_rating": "4", "result_rating": "5"}   # 好差评, five levels


@pytest.fixture
def sc(engine, clock):
    return Scenario(engine, clock, "bpmn/qiantang_target_tracking.bpmn", members={
        "wang": "qt_centre",
        "zhao": "qt_board_project",
        "qian": "qt_board_tech",
        "sun": "qt_board_general",
        "police": "qt_unit_police",
        "planner": "qt_unit_planning",
        "dou": "qt_board_fallback",
    })


def start(sc, key="QT-2026-001"):
    return sc.start(PROCESS, dict(START_DATA), business_key=key)


def assess(sc, iid, board="qt_board_project", **flags):
    t = sc.task(iid, "Task_assess")
    assert t["candidate_groups"] == ["qt_centre"] and t["assignee"] is None and t["due_at"] is None
    assert t["lane"] == "企业综合服务中心"
    data = {"multi_handoff": True, "long_cycle": True, "wide_benefit": True, "board": board,
            "assess_opinion": "涉及公安、规划等多个部门审批，落地周期长"}
    data.update(flags)
    sc.complete(iid, "Task_assess", "wang", data)


def track(sc, iid, **plan):
    """研判 → 方案 → 企业满意: the appeal is in the tracking library, the unit's task is open."""
    assess(sc, iid)
    t = sc.task(iid, "Task_draft_plan")
    assert t["candidate_groups"] == ["qt_board_project"] and t["lane"] == "服务板块" and t["due_at"] is None
    sc.complete(iid, "Task_draft_plan", "zhao", {**PLAN, **plan})
    t = sc.task(iid, "Task_rate_plan")
    assert t["assignee"] == "daineng" and t["candidate_groups"] == [] and t["lane"] == "企业"
    sc.complete(iid, "Task_rate_plan", "daineng", {"plan_satisfied": "4"})


def at(text):
    """An ISO moment, comparable whatever its offset."""
    return datetime.fromisoformat(text)


def work_colours(sc, iid):
    return [e["data"]["colour"] for e in sc.events(iid, "sla_changed") if e["element_id"] == "Task_work"]


def fired_at(sc, iid, element):
    return [e["at"] for e in sc.events(iid, "timer_fired") if e["element_id"] == element]


def colour_changed_at(sc, iid, colour):
    return [e["at"] for e in sc.events(iid, "sla_changed")
            if e["element_id"] == "Task_work" and e["data"]["colour"] == colour]


def solve_and_rate(sc, iid, rating=RATING):
    sc.complete(iid, "Task_work", "police", {"solved_report": "物流车辆出入口已完成开设并投入使用",
                                             "solved_evidence": "现场照片、审批文件"})
    t = sc.task(iid, "Task_final_rating")
    assert t["assignee"] == "daineng" and t["name"] == "一事一评（好差评）"
    sc.complete(iid, "Task_final_rating", "daineng", dict(rating, rating_comment="协调有力"))


def assert_tracking_entered(sc, iid, deadline="2026-11-23"):
    [(kind, title, data)] = sc.ledger(iid, "tracking_library")
    assert title == START_DATA["summary"]
    assert data == {"company": START_DATA["company"], "board": "qt_board_project", "responsible_unit": "区公安分局",
                    "measures": PLAN["measures"], "milestones": PLAN["milestones"], "plan_deadline": deadline}


# -- 研判: not a target ------------------------------------------------------------------------

def test_an_appeal_without_the_three_features_goes_to_ordinary_handling(sc):
    iid = start(sc)
    assert sc.ready(iid) == ["Task_assess"]
    assess(sc, iid, multi_handoff=False, long_cycle=False, wide_benefit=False)
    assert sc.status(iid) == "completed"
    assert sc.ready(iid) == []
    assert [e["element_id"] for e in sc.events(iid, "element_completed")][-1] == "EndEvent_ordinary"
    assert sc.ledger(iid) == [] and sc.notifications(iid) == [] and sc.letters(iid) == []
    assert sc.events(iid, "message_thrown") == []
    assert "tracking" not in sc.data(iid)


# -- 方案满意评价: rejected, revised, accepted ---------------------------------------------------

def test_an_unsatisfied_enterprise_sends_the_plan_back_for_revision(sc):
    iid = start(sc)
    assess(sc, iid, long_cycle=False, wide_benefit=False)            # 流转环节多 is enough
    sc.complete(iid, "Task_draft_plan", "zhao", {**PLAN, "plan_deadline": "2026-12-18"})
    sc.complete(iid, "Task_rate_plan", "daineng", {"plan_satisfied": "2",
                                                   "plan_comment": "时限太长，年底前物流受影响"})
    assert sc.ready(iid) == ["Task_draft_plan"]                       # back to the same board
    t = sc.task(iid, "Task_draft_plan")
    assert t["candidate_groups"] == ["qt_board_project"]
    data = sc.data(iid)
    assert data["plan_comment"] == "时限太长，年底前物流受影响" and data["plan_round"] == 1
    assert sc.ledger(iid) == []                                       # not tracked before the plan is accepted
    sc.complete(iid, "Task_draft_plan", "zhao", PLAN)                 # revised: 2026-11-23
    assert sc.data(iid)["plan_round"] == 2
    sc.complete(iid, "Task_rate_plan", "daineng", {"plan_satisfied": "4"})
    assert_tracking_entered(sc, iid)
    t = sc.task(iid, "Task_work")
    assert t["candidate_groups"] == ["qt_unit_police"] and t["lane"] == "责任单位"
    assert t["due_at"] == iso(2026, 11, 24, 0, 0) and t["sla_colour"] == "green"
    solve_and_rate(sc, iid)
    assert sc.status(iid) == "completed"
    [(_, title, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert title == "一事一评：区公安分局（好评3，差评0）" and ev["solved_late"] is False


# -- 办成 before 60% --------------------------------------------------------------------------

def test_solved_before_sixty_percent_no_warning_and_one_case_one_evaluation(sc):
    iid = start(sc)
    track(sc, iid)
    assert_tracking_entered(sc, iid)
    assert open_lines(sc, iid, "tracking_library") == [START_DATA["summary"]]
    t = sc.task(iid, "Task_work")
    assert t["due_at"] == iso(2026, 11, 24, 0, 0) and t["sla_colour"] == "green"
    data = sc.data(iid)
    assert (data["yellow_at"], data["orange_at"], data["red_at"]) == (
        beijing(2026, 11, 13, 18, 0).astimezone(timezone.utc).isoformat(),
        beijing(2026, 11, 18, 21, 0).astimezone(timezone.utc).isoformat(),
        "2026-11-24T00:00:00+08:00")
    assert timer_jobs(sc, iid) == sorted([
        ("Event_yellow", iso(2026, 11, 13, 18, 0)), ("Event_orange", iso(2026, 11, 18, 21, 0)),
        ("Event_red", iso(2026, 11, 24, 0, 0)), ("Event_half_month", iso(2026, 11, 17, 9, 0)),
        ("Event_monthly", iso(2026, 12, 2, 9, 0))])
    assert sc.wait_until(2026, 11, 13, 17, 59) == 0
    assert sc.task(iid, "Task_work")["sla_colour"] == "green"
    solve_and_rate(sc, iid, {"plan_rating": "5", "process_rating": "2", "result_rating": "3"})
    assert sc.status(iid) == "completed"
    assert timer_jobs(sc, iid) == []
    assert sc.colours(iid) == [] and sc.notifications(iid) == [] and sc.letters(iid) == []
    assert sc.ledger(iid, "warning_list") == []
    [(_, title, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert title == "一事一评：区公安分局（好评2，差评1）"
    assert (ev["方案评价"], ev["过程评价"], ev["结果评价"]) == ("5（非常满意）", "2（不满意）", "3（基本满意）")
    assert ev["responsible_unit"] == "区公安分局" and ev["good"] == 2 and ev["bad"] == 1
    assert at(ev["solved_at"]) == at(iso(2026, 11, 13, 17, 59)) and ev["solved_late"] is False
    assert open_lines(sc, iid, "tracking_library") == []                # 办成销号
    assert sc.data(iid)["ledger_closed"] == 1
    assert sc.events(iid, "message_thrown") == []


# -- 60%: yellow, the system reminds by itself ------------------------------------------------

def test_sixty_percent_turns_yellow_and_the_system_sends_a_reminder(sc):
    iid = start(sc)
    track(sc, iid)
    sc.wait_until(2026, 11, 13, 17, 59)
    assert sc.task(iid, "Task_work")["sla_colour"] == "green" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 13, 18, 0)
    assert sc.task(iid, "Task_work")["sla_colour"] == "yellow"
    assert sc.notifications(iid) == [("group", "qt_unit_police", "催办通知（黄色预警）")]
    [(title, body)] = bodies(sc, iid, "qt_unit_police")
    assert body == f"时间进度已达60%尚未办成，请加快推进：{START_DATA['summary']}（办成时限2026-11-23）"
    # the engine's colour and the mechanism's reminder move at the same moment
    assert fired_at(sc, iid, "Event_yellow") == colour_changed_at(sc, iid, "yellow") == [iso(2026, 11, 13, 18, 0)]
    assert sc.ledger(iid, "warning_list") == []
    sc.wait_until(2026, 11, 16, 9, 0)                                   # Monday, before 80%
    solve_and_rate(sc, iid)
    assert sc.status(iid) == "completed"
    assert work_colours(sc, iid) == ["yellow"]
    assert sc.ledger(iid, "warning_list") == [] and sc.letters(iid) == []
    [(_, _, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert ev["solved_late"] is False and at(ev["solved_at"]) == at(iso(2026, 11, 16, 9, 0))


# -- 80%: orange, on the supervision warning list, with the half-month update on the way -------

def test_eighty_percent_turns_orange_and_enters_the_warning_list(sc):
    iid = start(sc)
    track(sc, iid)
    sc.wait_until(2026, 11, 13, 18, 0)
    sc.wait_until(2026, 11, 17, 9, 0)                                   # 半月一更新
    assert sc.ready(iid) == ["Task_progress_update", "Task_work"]
    t = sc.task(iid, "Task_progress_update")
    assert t["candidate_groups"] == ["qt_board_project"] and t["lane"] == "服务板块"
    sc.complete(iid, "Task_progress_update", "zhao", {"progress": "道路开口审批已受理，正在现场踏勘"})
    assert bodies(sc, iid, "daineng") == [("办理进度反馈", "道路开口审批已受理，正在现场踏勘")]
    sc.wait_until(2026, 11, 18, 20, 59)
    assert sc.task(iid, "Task_work")["sla_colour"] == "yellow" and sc.ledger(iid, "warning_list") == []
    sc.wait_until(2026, 11, 18, 21, 0)
    assert sc.task(iid, "Task_work")["sla_colour"] == "orange"
    reason = f"时间进度已达80%尚未办成：{START_DATA['summary']}（责任单位区公安分局）"
    assert sc.ledger(iid, "warning_list") == [("warning_list", f"橙色预警：{reason}",
                                               {"level": "orange", "reason": reason})]
    assert fired_at(sc, iid, "Event_orange") == colour_changed_at(sc, iid, "orange") == [iso(2026, 11, 18, 21, 0)]
    assert sc.notifications(iid) == [("group", "qt_unit_police", "催办通知（黄色预警）"),
                                     ("user", "daineng", "办理进度反馈"),
                                     ("group", "qt_unit_police", "橙色预警")]
    sc.wait_until(2026, 11, 20, 10, 0)
    solve_and_rate(sc, iid)
    assert sc.status(iid) == "completed"
    assert work_colours(sc, iid) == ["yellow", "orange"]
    assert sc.letters(iid) == [] and sc.events(iid, "message_thrown") == []
    [(_, _, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert ev["solved_late"] is False


# -- 100%: red, supervision by the fallback board, 督办函, mock accountability -------------------

LUCHENG_STUB = bpmn("qt_test_lucheng_stub", f"""
<bpmn:startEvent id="s_mock"><bpmn:messageEventDefinition messageRef="m_mock" /></bpmn:startEvent>
<bpmn:userTask id="apply" name="模拟问责申请" camunda:candidateGroups="lc_office" />
<bpmn:endEvent id="e" />
{chain("s_mock", "apply", "e")}""", extra='<bpmn:message id="m_mock" name="mock_accountability" />\n')
LUQIAO_STUB = bpmn("qt_test_luqiao_stub", f"""
<bpmn:startEvent id="s_say_no"><bpmn:messageEventDefinition messageRef="m_say_no" /></bpmn:startEvent>
<bpmn:userTask id="pool" name="说不备选库" camunda:candidateGroups="lq_office" />
<bpmn:endEvent id="e" />
{chain("s_say_no", "pool", "e")}""", extra='<bpmn:message id="m_say_no" name="say_no" />\n')


def test_one_hundred_percent_turns_red_supervision_letter_and_mock_accountability(sc, engine):
    engine.repository.deploy([("lucheng_stub.bpmn", LUCHENG_STUB)])   # a stand-in for Lucheng
    iid = start(sc)
    track(sc, iid)
    for moment in ((2026, 11, 13, 18, 0), (2026, 11, 17, 9, 0), (2026, 11, 18, 21, 0), (2026, 11, 23, 23, 59)):
        sc.wait_until(*moment)
    assert sc.task(iid, "Task_work")["sla_colour"] == "orange" and sc.letters(iid) == []
    sc.wait_until(2026, 11, 24, 0, 0)
    assert sc.task(iid, "Task_work")["sla_colour"] == "red"            # still the unit's to get done
    assert fired_at(sc, iid, "Event_red") == colour_changed_at(sc, iid, "red") == [iso(2026, 11, 24, 0, 0)]
    reason = f"超过办成时限仍未办成：{START_DATA['summary']}（责任单位区公安分局）"
    assert [(t, d["level"]) for _, t, d in sc.ledger(iid, "warning_list")] == [
        (f"橙色预警：时间进度已达80%尚未办成：{START_DATA['summary']}（责任单位区公安分局）", "orange"),
        (f"红色预警：{reason}", "red")]
    assert sc.letters(iid) == [("督办函", "区公安分局")]
    with engine.db.read() as s:
        [letter] = s.scalars(select(Attachment).where(Attachment.instance_id == iid)).all()
        text = "\n".join(p.text for p in Document(io.BytesIO(letter.content)).paragraphs)
    assert letter.meta["deadline"] == "2026年12月1日"                   # 5 working days on
    assert "钱塘区企业综合服务中心（兜底板块）" in text and START_DATA["company"] in text and "QT-2026-001" in text
    t = sc.task(iid, "Task_supervise")
    assert t["candidate_groups"] == ["qt_board_fallback"] and t["lane"] == "兜底板块（督办）"
    assert t["due_at"] == iso(2026, 12, 1, 0, 0) and t["sla_colour"] == "green"
    assert sorted(sc.inbox("dou")) == ["Task_supervise"]
    assert sc.notifications(iid)[-2:] == [("group", "qt_board_fallback", "红色预警"), ("group", "qt_centre", "红色预警")]
    # the mock-accountability application goes to Lucheng with the same business key
    assert [e["data"]["message"] for e in sc.events(iid, "message_thrown")] == ["mock_accountability"]
    data = sc.data(iid)
    assert data["source"] == "qiantang_red" and data["responsible_unit"] == "区公安分局"
    assert data["problem"] == f"标的物跟踪事项超过办成时限（2026-11-23）仍未办成：{START_DATA['summary']}"
    [lucheng] = sc.instances("qt_test_lucheng_stub")
    assert lucheng["business_key"] == "QT-2026-001"
    got = sc.data(lucheng["id"])
    assert (got["responsible_unit"], got["source"], got["problem"]) == ("区公安分局", "qiantang_red", data["problem"])
    # the fallback board supervises; the unit gets it done late
    sc.wait_until(2026, 11, 25, 10, 0)
    sc.complete(iid, "Task_supervise", "dou", {"supervise_result": "已约谈区公安分局，承诺11月26日前开设"})
    sc.wait_until(2026, 11, 26, 15, 0)
    assert sc.ready(iid) == ["Task_progress_update", "Task_work"]
    solve_and_rate(sc, iid, {"plan_rating": "5", "process_rating": "2", "result_rating": "3"})
    assert sc.status(iid) == "completed"
    assert sc.ready(iid) == []                                          # the open progress update went with it
    assert work_colours(sc, iid) == ["yellow", "orange", "red"]
    [(_, title, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert title == "一事一评：区公安分局（好评2，差评1）"
    assert ev["solved_late"] is True and at(ev["solved_at"]) == at(iso(2026, 11, 26, 15, 0))   # 超时办成
    assert open_lines(sc, iid, "tracking_library") == []


# -- 半月一更新, 一月一通报 --------------------------------------------------------------------

def test_progress_is_updated_every_half_month_and_reported_every_month(sc):
    iid = start(sc)
    track(sc, iid, plan_deadline="2026-12-30")
    assert sc.task(iid, "Task_work")["due_at"] == iso(2026, 12, 31, 0, 0)
    # 42.625 working days: 60% after 25.575 → Mon Dec 7 22:48, 80% after 34.1 → Fri Dec 18 11:24
    assert timer_jobs(sc, iid) == sorted([
        ("Event_yellow", iso(2026, 12, 7, 22, 48)), ("Event_orange", iso(2026, 12, 18, 11, 24)),
        ("Event_red", iso(2026, 12, 31, 0, 0)), ("Event_half_month", iso(2026, 11, 17, 9, 0)),
        ("Event_monthly", iso(2026, 12, 2, 9, 0))])
    assert sc.wait_until(2026, 11, 17, 8, 59) == 0
    sc.wait_until(2026, 11, 17, 9, 0)
    t = sc.task(iid, "Task_progress_update")
    assert t["candidate_groups"] == ["qt_board_project"] and t["created_at"] == iso(2026, 11, 17, 9, 0)
    assert ("Event_half_month", iso(2026, 12, 2, 9, 0)) in timer_jobs(sc, iid)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_progress_update", "police", {"progress": "x"})
    sc.complete(iid, "Task_progress_update", "zhao", {"progress": "第一期：协调会已召开，审批材料已提交"})
    assert sc.wait_until(2026, 12, 2, 8, 59) == 0
    sc.wait_until(2026, 12, 2, 9, 0)
    assert sc.ready(iid) == ["Task_progress_update", "Task_work"]
    assert sc.task(iid, "Task_progress_update")["created_at"] == iso(2026, 12, 2, 9, 0)
    [(title, body)] = bodies(sc, iid, "qt_centre")                     # 一月一通报
    assert title == "一月一通报：标的物跟踪事项"
    assert body == f"{START_DATA['company']}：{START_DATA['summary']}；责任单位：区公安分局；办成时限：2026-12-30"
    sc.complete(iid, "Task_progress_update", "zhao", {"progress": "第二期：审批已通过，正在施工"})
    assert bodies(sc, iid, "daineng") == [("办理进度反馈", "第一期：协调会已召开，审批材料已提交"),
                                          ("办理进度反馈", "第二期：审批已通过，正在施工")]
    assert ("Event_half_month", iso(2026, 12, 17, 9, 0)) in timer_jobs(sc, iid)
    assert ("Event_monthly", iso(2027, 1, 1, 9, 0)) in timer_jobs(sc, iid)
    sc.wait_until(2026, 12, 3, 9, 0)
    solve_and_rate(sc, iid)
    assert sc.status(iid) == "completed" and timer_jobs(sc, iid) == []
    assert work_colours(sc, iid) == [] and sc.ledger(iid, "warning_list") == []
    assert sc.notifications(iid) == [("user", "daineng", "办理进度反馈"),
                                     ("group", "qt_centre", "一月一通报：标的物跟踪事项"),
                                     ("user", "daineng", "办理进度反馈")]


# -- 不能办 → say_no ---------------------------------------------------------------------------

def test_a_target_that_cannot_be_done_throws_say_no(sc, engine):
    engine.repository.deploy([("luqiao_stub.bpmn", LUQIAO_STUB)])     # a stand-in for Luqiao
    iid = start(sc, "QT-2026-002")
    assess(sc, iid, board="qt_board_general", multi_handoff=False, long_cycle=False)   # 成效普惠广 only
    assert sc.task(iid, "Task_draft_plan")["candidate_groups"] == ["qt_board_general"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_draft_plan", "zhao", {"plan_result": "cannot", "responsible_group": "qt_unit_planning"})
    # 不能办 without a reason is sent back to the board
    sc.complete(iid, "Task_draft_plan", "sun", {"plan_result": "cannot", "responsible_group": "qt_unit_planning"})
    assert sc.ready(iid) == ["Task_draft_plan"] and sc.events(iid, "message_thrown") == []
    sc.complete(iid, "Task_draft_plan", "sun", {"plan_result": "cannot", "responsible_group": "qt_unit_planning",
                                                "cannot_reason": "该地块用地性质不允许开设货运出入口"})
    assert sc.status(iid) == "completed" and sc.ready(iid) == []
    assert [e["data"]["message"] for e in sc.events(iid, "message_thrown")] == ["say_no"]
    data = sc.data(iid)
    assert (data["department"], data["say_no_kind"], data["say_no_reason"]) == (
        "区规划和自然资源分局", "cannot", "该地块用地性质不允许开设货运出入口")
    [luqiao] = sc.instances("qt_test_luqiao_stub")
    assert luqiao["business_key"] == "QT-2026-002"
    got = sc.data(luqiao["id"])
    assert (got["department"], got["say_no_kind"], got["company"]) == ("区规划和自然资源分局", "cannot",
                                                                       START_DATA["company"])
    assert sc.ledger(iid) == [] and sc.letters(iid) == [] and sc.notifications(iid) == []


# -- forms and rights ---------------------------------------------------------------------------

def test_forms_refuse_missing_fields_and_strangers_are_forbidden(sc):
    iid = start(sc)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_assess", "wang", {"multi_handoff": True, "long_cycle": False, "wide_benefit": False,
                                                 "board": "qt_board_project"})
    assert set(e.value.errors) == {"assess_opinion"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_assess", "zhao", {"multi_handoff": True, "long_cycle": False, "wide_benefit": False,
                                                 "board": "qt_board_project", "assess_opinion": "x"})
    assess(sc, iid)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_draft_plan", "zhao", {**PLAN, "plan_deadline": "2026-11-31"})
    assert set(e.value.errors) == {"plan_deadline"}
    with pytest.raises(Forbidden):                                      # another board
        sc.complete(iid, "Task_draft_plan", "qian", PLAN)
    # a plan without 节点时效, or with a deadline already past, goes back to the board
    sc.complete(iid, "Task_draft_plan", "zhao", {**PLAN, "milestones": ""})
    assert sc.ready(iid) == ["Task_draft_plan"]
    sc.complete(iid, "Task_draft_plan", "zhao", {**PLAN, "plan_deadline": "2026-11-01"})
    assert sc.ready(iid) == ["Task_draft_plan"] and sc.data(iid)["plan_round"] == 2
    sc.complete(iid, "Task_draft_plan", "zhao", PLAN)
    with pytest.raises(Forbidden):                                      # the enterprise's own rating
        sc.complete(iid, "Task_rate_plan", "zhao", {"plan_satisfied": "4"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_rate_plan", "daineng", {"plan_comment": "还行"})
    assert set(e.value.errors) == {"plan_satisfied"}
    sc.complete(iid, "Task_rate_plan", "daineng", {"plan_satisfied": "4"})
    assert sc.inbox("police") == ["Task_work"] and sc.inbox("planner") == []
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_work", "planner", {"solved_report": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_work", "police", {"solved_evidence": "照片"})
    assert set(e.value.errors) == {"solved_report"}
    sc.complete(iid, "Task_work", "police", {"solved_report": "已开设"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_final_rating", "daineng", {"plan_rating": "5", "process_rating": "good"})
    assert set(e.value.errors) == {"process_rating", "result_rating"}
    sc.complete(iid, "Task_final_rating", "daineng", {"plan_rating": "1", "process_rating": "2",
                                                      "result_rating": "1"})
    assert sc.status(iid) == "completed"
    [(_, title, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert title == "一事一评：区公安分局（好评0，差评3）" and ev["comment"] == ""


# -- the one 好差评 scale; a case without an enterprise account -------------------------------

def test_basically_satisfied_accepts_the_plan_and_the_ledger_names_the_levels(sc):
    iid = start(sc)
    assess(sc, iid)
    sc.complete(iid, "Task_draft_plan", "zhao", PLAN)
    sc.complete(iid, "Task_rate_plan", "daineng", {"plan_satisfied": "3"})     # 基本满意 counts as satisfied
    assert_tracking_entered(sc, iid)
    sc.complete(iid, "Task_work", "police", {"solved_report": "已开设"})
    with pytest.raises(ValidationFailed) as e:                                 # the old two-level values are gone
        sc.complete(iid, "Task_final_rating", "daineng",
                    {"plan_rating": "good", "process_rating": "bad", "result_rating": "good"})
    assert set(e.value.errors) == {"plan_rating", "process_rating", "result_rating"}
    sc.complete(iid, "Task_final_rating", "daineng", {"plan_rating": "3", "process_rating": "1", "result_rating": "4"})
    [(_, title, ev)] = sc.ledger(iid, "qiantang_evaluation")
    assert title == "一事一评：区公安分局（好评2，差评1）"
    assert (ev["方案评价"], ev["过程评价"], ev["结果评价"]) == ("3（基本满意）", "1（非常不满意）", "4（满意）")


def test_without_an_enterprise_account_the_centre_records_the_ratings(sc):
    data = {k: v for k, v in START_DATA.items() if k != "enterprise_user"}        # registered by phone
    iid = sc.start(PROCESS, data, business_key="QT-2026-009")
    assess(sc, iid)
    sc.complete(iid, "Task_draft_plan", "zhao", PLAN)
    t = sc.task(iid, "Task_rate_plan")
    assert t["assignee"] is None and t["candidate_groups"] == ["qt_centre"]
    assert sc.inbox("wang") == ["Task_rate_plan"]
    sc.complete(iid, "Task_rate_plan", "wang", {"plan_satisfied": "4"})
    sc.complete(iid, "Task_work", "police", {"solved_report": "已开设"})
    t = sc.task(iid, "Task_final_rating")
    assert t["assignee"] is None and t["candidate_groups"] == ["qt_centre"]
    sc.complete(iid, "Task_final_rating", "wang", RATING)
    assert sc.status(iid) == "completed"
