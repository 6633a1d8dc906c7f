"""Huzhou joint-meeting mechanism (湖州市 涉企问题解决联席会议机制): bpmn/huzhou_joint_meeting.bpmn
with bpmn/huzhou_boards.dmn, one scenario per path.

Tiers: 一般问题板块办 (the board of the appeal's category, 5 working days, overdue reminder) →
复杂问题协商办 (综合板块 collects → 兜底板块; cross-department: 企服中心主任 convenes) →
疑难问题会议办 (企服中心 prepares the 议题, a city leader convenes the 联席会议; decisions supervised
with a 督办函 and a supervision task; 长效机制) → 省营商环境专班 when the city cannot solve it →
答复企业 → 企业评价 (好差评: plan, process, result on five levels, each rating a ledger line) →
归档 → 复盘 (建章立制). A bad rating (any of the three 不满意/非常不满意) goes to 二次督办 by the
督查室: re-handled from 复杂问题协商办 and rated again, or closed after verification.
不能办 after the province throws `say_no`.

Groups (candidate groups) and their Chinese names:
    hz_centre             企服中心（企业综合服务中心）
    hz_centre_director    企服中心主任
    hz_board_innovation   科创板块
    hz_board_finance      金融板块
    hz_board_talent       人才板块
    hz_board_legal        法律服务板块
    hz_board_open         开放板块
    hz_board_general      综合板块
    hz_board_investment   企业项目投资专区
    hz_board_licensing    企业准入准营专区
    hz_board_policy       惠企政策兑现专区
    hz_board_fallback     兜底板块
    hz_city_leader        市领导（联席会议召集人）
    hz_supervision        市委督查室、市政府督查室、市纪委市监委
The enterprise works as the user named by `enterprise_user` (评价 is assigned to it).
"""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment
from tests.bpmn_util import bpmn, chain
from tests.scenario import Scenario, iso

BPMN = "bpmn/huzhou_joint_meeting.bpmn"
DMN = "bpmn/huzhou_boards.dmn"
KEY = "huzhou_joint_meeting"
REMIND = "一般问题板块办超期催办"

STAFF = {
    "zhou": ["hz_centre"], "wu": ["hz_centre_director"], "kc": ["hz_board_innovation"],
    "jr": ["hz_board_finance"], "zh": ["hz_board_general"], "dd": ["hz_board_fallback"],
    "shi": ["hz_city_leader"], "du": ["hz_supervision"],
}


@pytest.fixture
def sc(engine, clock):
    s = Scenario(engine, clock, BPMN, DMN)
    for user, groups in STAFF.items():
        s.member(user, *groups)
    return s


def register(sc, category="innovation", bk="HZ-2026-001", channel="hotline"):
    iid = sc.start(KEY, {"enterprise_user": "ent_a"}, business_key=bk)
    t = sc.task(iid, "Task_register")
    assert t["candidate_groups"] == ["hz_centre"] and t["lane"] == "企服中心" and t["due_at"] is None
    sc.complete(iid, "Task_register", "zhou", {
        "company": "湖州某新材料有限公司", "summary": "产业链上下游配套企业对接难", "category": category,
        "channel": channel})
    return iid


def thrown(sc, iid):
    return [e["data"]["message"] for e in sc.events(iid, "message_thrown")]


def completed_elements(sc, iid):
    """Automatic steps (element_completed) and user tasks (task_completed), in order."""
    return [e["element_id"] for e in sc.events(iid) if e["type"] in ("element_completed", "task_completed")]


GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5"}
BASIC = {"rate_plan": "3", "rate_process": "3", "rate_result": "3"}
BAD = {"rate_plan": "4", "rate_process": "4", "rate_result": "2"}     # one bottom-two level is enough
RATINGS = {"satisfied": GOOD, "basic": BASIC, "unsatisfied": BAD}


def reply_evaluate_review(sc, iid, evaluation="satisfied", make_rule=False, rule_title=None):
    t = sc.task(iid, "Task_reply")
    assert t["candidate_groups"] == ["hz_centre"]
    sc.complete(iid, "Task_reply", "zhou", {"reply_text": "已办理，答复企业"})
    t = sc.task(iid, "Task_evaluate")
    assert t["assignee"] == "ent_a" and t["candidate_groups"] == [] and t["lane"] == "企业"
    assert "Task_evaluate" in sc.inbox("ent_a")
    sc.complete(iid, "Task_evaluate", "ent_a", {**RATINGS[evaluation], "rate_comment": "评价"})
    if evaluation == "unsatisfied":
        return
    t = sc.task(iid, "Task_review")
    assert t["candidate_groups"] == ["hz_centre"]
    data = {"review_note": "复盘", "make_rule": make_rule}
    if rule_title:
        data["rule_title"] = rule_title
    sc.complete(iid, "Task_review", "zhou", data)


def to_meeting(sc, iid, invite=False):
    """Board, fallback board and centre director cannot solve it: the centre prepares the 议题."""
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "unsolved", "board_reply": "需多部门协调"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "汇总流转兜底板块"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "cross_department", "fallback_reply": "跨部门"})
    sc.complete(iid, "Task_director_convene", "wu", {
        "departments": "市经信局、市发改委", "study_result": "unsolved", "study_reply": "需市领导协调"})
    t = sc.task(iid, "Task_prepare_agenda")
    assert t["candidate_groups"] == ["hz_centre"]
    sc.complete(iid, "Task_prepare_agenda", "zhou", {
        "agenda_title": "新兴产业链上下游企业互动沟通机制不健全", "agenda_content": "板块、兜底板块、主任召集研究均未解决",
        "invite_enterprise": invite})
    return sc.task(iid, "Task_joint_meeting")


MEETING = {"decision": "由市经信局牵头建立产业链上下游对接机制", "responsible_unit": "市经信局",
           "city_can_solve": True, "implement_days": 10, "long_term_mechanism": False}


# -- tier 1 ----------------------------------------------------------------------------------

def test_tier1_the_board_solves_it(sc, clock):
    iid = register(sc, "innovation")
    t = sc.task(iid, "Task_board_handle")
    assert t["candidate_groups"] == ["hz_board_innovation"] and t["lane"] == "服务板块牵头部门"
    assert t["due_at"] == iso(2026, 11, 9, 9, 0)          # 5 working days from Mon 2026-11-02 09:00
    assert t["sla_colour"] == "green"
    assert sc.data(iid)["board_name"] == "科创板块"
    assert "Task_board_handle" in sc.inbox("kc") and "Task_board_handle" not in sc.inbox("jr")
    sc.wait_until(2026, 11, 4, 16, 0)                      # Wednesday: below 60 %, still green
    assert sc.task(iid, "Task_board_handle")["sla_colour"] == "green"
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved", "board_reply": "已对接科技局"})
    reply_evaluate_review(sc, iid, "satisfied")
    assert sc.status(iid) == "completed"
    assert sc.colours(iid) == []                           # solved in time: no colour change
    assert sc.notifications(iid) == []                      # no reminder
    assert [k for k, _, _ in sc.ledger(iid)] == ["rating"] and sc.letters(iid) == [] and thrown(sc, iid) == []
    done = completed_elements(sc, iid)
    assert "Task_archive" in done and "Task_collect" not in done and "EndEvent_closed" in done
    assert sc.data(iid)["channel"] == "hotline"


def test_tier1_overdue_reminder_and_sla_colours_on_working_days(sc, clock):
    iid = register(sc, "finance")
    t = sc.task(iid, "Task_board_handle")
    assert t["candidate_groups"] == ["hz_board_finance"] and t["due_at"] == iso(2026, 11, 9, 9, 0)
    sc.wait_until(2026, 11, 5, 8, 59)
    assert sc.colours(iid) == []
    sc.wait_until(2026, 11, 5, 9, 0)                        # 60 % of the working time: 3 working days
    assert sc.colours(iid) == ["yellow"] and sc.task(iid, "Task_board_handle")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 9, 0)                        # 80 %: 4 working days
    assert sc.colours(iid) == ["yellow", "orange"]
    sc.wait_until(2026, 11, 8, 18, 0)                       # Sunday: weekends do not count
    assert sc.colours(iid) == ["yellow", "orange"] and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 9, 9, 0)                        # 100 %: red and the reminder
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    assert sc.task(iid, "Task_board_handle")["sla_colour"] == "red"
    assert sc.notifications(iid) == [("group", "hz_board_finance", REMIND), ("group", "hz_centre", REMIND)]
    assert [e["element_id"] for e in sc.events(iid, "timer_fired")] == ["Event_board_overdue"]
    assert sc.ready(iid) == ["Task_board_handle"]           # non-interrupting: the board still handles it
    sc.wait_until(2026, 11, 12, 9, 0)
    assert len(sc.notifications(iid)) == 2                  # one reminder, not a repeat
    sc.complete(iid, "Task_board_handle", "jr", {"board_result": "solved", "board_reply": "已办结"})
    reply_evaluate_review(sc, iid, "basic")
    assert sc.status(iid) == "completed"


def test_tier1_deadline_skips_the_national_day_holiday(sc, clock):
    clock.set(datetime(2026, 9, 30, 1, 0, tzinfo=timezone.utc))   # Wed 2026-09-30 09:00 Beijing
    iid = register(sc, "talent")
    t = sc.task(iid, "Task_board_handle")
    assert t["candidate_groups"] == ["hz_board_talent"]
    # Oct 1-7 off; Oct 8, 9, Sat Oct 10 (make-up day), Oct 12, Oct 13
    assert t["due_at"] == iso(2026, 10, 13, 9, 0)
    sc.wait_until(2026, 10, 13, 9, 0)
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    assert sc.notifications(iid) == [("group", "hz_board_talent", REMIND), ("group", "hz_centre", REMIND)]


# -- tier 2 ----------------------------------------------------------------------------------

def test_tier2_the_fallback_board_solves_it(sc, clock):
    iid = register(sc, "investment")
    assert sc.task(iid, "Task_board_handle")["candidate_groups"] == ["hz_board_investment"]
    clock.set(datetime(2026, 11, 3, 2, 0, tzinfo=timezone.utc))   # Tue 10:00
    sc.member("tz", "hz_board_investment")
    sc.complete(iid, "Task_board_handle", "tz", {"board_result": "unsolved", "board_reply": "牵头部门无法协调"})
    t = sc.task(iid, "Task_collect")
    assert t["candidate_groups"] == ["hz_board_general"] and t["lane"] == "综合板块" and t["due_at"] is None
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "收集汇总后流转兜底板块"})
    t = sc.task(iid, "Task_fallback_handle")
    assert t["candidate_groups"] == ["hz_board_fallback"] and t["lane"] == "兜底板块"
    assert t["due_at"] == iso(2026, 11, 10, 10, 0)          # 5 working days from Tue 10:00
    sc.wait_until(2026, 11, 6, 10, 0)                       # 60 %: yellow
    assert sc.colours(iid) == ["yellow"]
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "solved", "fallback_reply": "兜底处置完成"})
    reply_evaluate_review(sc, iid, "satisfied", make_rule=True, rule_title="项目投资类问题兜底处置规则")
    assert sc.status(iid) == "completed"
    [(kind, title, data)] = sc.ledger(iid, "rule_library")
    assert (kind, title) == ("rule_library", "项目投资类问题兜底处置规则")
    assert data["source"] == "复盘" and data["category"] == "investment" and data["note"] == "复盘"
    assert sc.letters(iid) == [] and thrown(sc, iid) == [] and sc.notifications(iid) == []
    assert "Task_director_convene" not in completed_elements(sc, iid)


def test_tier2_cross_department_issue_convened_by_the_centre_director(sc, clock):
    iid = register(sc, "policy")
    sc.member("zc", "hz_board_policy")
    assert sc.task(iid, "Task_board_handle")["candidate_groups"] == ["hz_board_policy"]
    sc.complete(iid, "Task_board_handle", "zc", {"board_result": "unsolved", "board_reply": "涉及多个部门"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "汇总"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "cross_department", "fallback_reply": "跨部门"})
    t = sc.task(iid, "Task_director_convene")
    assert t["candidate_groups"] == ["hz_centre_director"] and t["lane"] == "企服中心主任"
    assert t["due_at"] == iso(2026, 11, 9, 9, 0)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_director_convene", "dd", {"departments": "x", "study_result": "solved",
                                                          "study_reply": "x"})
    sc.complete(iid, "Task_director_convene", "wu", {
        "departments": "惠企政策兑现专区、市财政局、市税务局", "study_result": "solved", "study_reply": "联合研究后兑现"})
    reply_evaluate_review(sc, iid, "satisfied")
    assert sc.status(iid) == "completed"
    assert sc.data(iid)["departments"] == "惠企政策兑现专区、市财政局、市税务局"
    assert [k for k, _, _ in sc.ledger(iid)] == ["rating"] and thrown(sc, iid) == []
    assert "Task_joint_meeting" not in completed_elements(sc, iid)


# -- tier 3 ----------------------------------------------------------------------------------

def _letter_deadlines(engine, iid):
    with engine.db.read() as s:
        return [a.meta["deadline"] for a in s.scalars(select(Attachment).where(
            Attachment.instance_id == iid, Attachment.kind == "letter").order_by(Attachment.id))]


def test_tier3_joint_meeting_decides_with_a_long_term_mechanism_and_supervision(sc, engine, clock):
    iid = register(sc, "innovation")
    t = to_meeting(sc, iid, invite=True)
    assert t["candidate_groups"] == ["hz_city_leader"] and t["lane"] == "市领导（联席会议）"
    [(kind, title, data)] = sc.ledger(iid, "joint_meeting_agenda")
    assert title == "新兴产业链上下游企业互动沟通机制不健全"
    assert data["company"] == "湖州某新材料有限公司" and data["board"] == "科创板块"
    assert sc.notifications(iid) == [("user", "ent_a", "联席会议参会邀请")]
    sc.complete(iid, "Task_joint_meeting", "shi", {
        **MEETING, "long_term_mechanism": True,
        "mechanism_title": "关于加强产业链上下游协作配套做优做强重点产业链若干措施"})
    [(_, mtitle, mdata)] = sc.ledger(iid, "rule_library")
    assert mtitle == "关于加强产业链上下游协作配套做优做强重点产业链若干措施"
    assert mdata["source"] == "联席会议" and mdata["decision"] == MEETING["decision"]
    assert sc.letters(iid) == [("督办函", "市经信局")]
    assert _letter_deadlines(engine, iid) == ["2026年11月16日"]    # 10 working days
    t = sc.task(iid, "Task_supervise")
    assert t["candidate_groups"] == ["hz_supervision"] and t["due_at"] == iso(2026, 11, 16, 9, 0)
    assert t["lane"] == "市委市政府督查室、市纪委市监委"
    sc.wait_until(2026, 11, 10, 9, 0)                       # 60 % of 10 working days
    assert sc.colours(iid) == ["yellow"]
    # not yet implemented: a second 督办函 and a new supervision deadline
    sc.complete(iid, "Task_supervise", "du", {"implemented": False, "supervision_note": "尚未落实"})
    assert sc.letters(iid) == [("督办函", "市经信局"), ("督办函", "市经信局")]
    assert _letter_deadlines(engine, iid) == ["2026年11月16日", "2026年11月24日"]
    assert sc.task(iid, "Task_supervise")["due_at"] == iso(2026, 11, 24, 9, 0)
    sc.complete(iid, "Task_supervise", "du", {"implemented": True, "supervision_note": "已落实"})
    reply_evaluate_review(sc, iid, "satisfied")
    assert sc.status(iid) == "completed"
    assert [k for k, _, _ in sc.ledger(iid)] == ["joint_meeting_agenda", "rule_library", "rating"]
    assert thrown(sc, iid) == [] and "Task_escalate_province" not in completed_elements(sc, iid)


def test_tier3_without_mechanism_and_without_inviting_the_enterprise(sc, clock):
    iid = register(sc, "legal")
    sc.member("fl", "hz_board_legal")
    sc.complete(iid, "Task_board_handle", "fl", {"board_result": "unsolved", "board_reply": "x"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "x"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "unsolved", "fallback_reply": "疑难"})
    sc.complete(iid, "Task_prepare_agenda", "zhou", {"agenda_title": "议题", "agenda_content": "内容",
                                                     "invite_enterprise": False})
    assert sc.notifications(iid) == []
    sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "responsible_unit": "市司法局", "implement_days": 5})
    assert sc.ledger(iid, "rule_library") == []
    assert sc.letters(iid) == [("督办函", "市司法局")]
    assert sc.task(iid, "Task_supervise")["due_at"] == iso(2026, 11, 9, 9, 0)
    sc.complete(iid, "Task_supervise", "du", {"implemented": True, "supervision_note": "已落实"})
    reply_evaluate_review(sc, iid, "satisfied")
    assert sc.status(iid) == "completed"


# -- tier 4 ----------------------------------------------------------------------------------

def test_tier4_the_city_cannot_solve_it_and_the_province_does(sc, clock):
    iid = register(sc, "innovation")
    to_meeting(sc, iid)
    sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "city_can_solve": False,
                                                   "decision": "涉及省级事权，报省营商环境专班"})
    [(kind, title, data)] = sc.ledger(iid, "provincial_escalation")
    assert title == "产业链上下游配套企业对接难"
    assert data == {"reason": "市级无法协调解决：涉及省级事权，报省营商环境专班", "to": "省营商环境专班"}
    assert sc.data(iid)["escalated_to"] == "省营商环境专班"
    assert sc.letters(iid) == []                            # no 督办函: the city did not decide a solution
    t = sc.task(iid, "Task_province_answer")
    assert t["candidate_groups"] == ["hz_centre"]
    sc.complete(iid, "Task_province_answer", "zhou", {"province_result": "solved", "province_reply": "省级协调解决"})
    reply_evaluate_review(sc, iid, "satisfied")
    assert sc.status(iid) == "completed"
    assert thrown(sc, iid) == []


SAY_NO_LISTENER = bpmn("hz_test_say_no_listener", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="Message_hz_test_say_no" /></bpmn:startEvent>
<bpmn:userTask id="review" name="说不复核" camunda:candidateGroups="lq_test" />
<bpmn:endEvent id="e" />
{chain("s", "review", "e")}""", extra='  <bpmn:message id="Message_hz_test_say_no" name="say_no" />\n')


def test_say_no_is_thrown_when_city_and_province_cannot(sc, engine, clock):
    iid = register(sc, "innovation", bk="HZ-2026-007")
    to_meeting(sc, iid)
    sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "city_can_solve": False, "responsible_unit": "市交通运输局",
                                                   "decision": "水上加油点营业执照经营范围变更，报省"})
    sc.complete(iid, "Task_province_answer", "zhou", {"province_result": "cannot",
                                                      "province_reply": "现行法规不允许变更经营范围"})
    assert thrown(sc, iid) == ["say_no"]
    data = sc.data(iid)
    assert (data["department"], data["say_no_kind"], data["say_no_reason"], data["final_result"]) == \
        ("市交通运输局", "cannot", "现行法规不允许变更经营范围", "cannot")
    assert [e["element_id"] for e in sc.events(iid, "element_completed")].count("Event_say_no") == 1
    # nobody listens in this bundle: recorded and dropped, the appeal goes on
    assert [i["id"] for i in sc.instances(KEY)] == [iid]
    reply_evaluate_review(sc, iid, "unsatisfied")
    t = sc.task(iid, "Task_second_supervision")           # 二次督办 verifies: the "cannot" stands
    assert t["candidate_groups"] == ["hz_supervision"]
    sc.complete(iid, "Task_second_supervision", "du", {"second_result": "close",
                                                         "second_opinion": "经核实属省级法规限制，已解释政策依据"})
    sc.complete(iid, "Task_review", "zhou", {"review_note": "形成政策建议", "make_rule": False})
    assert sc.status(iid) == "completed"
    assert thrown(sc, iid) == ["say_no"]


def test_say_no_starts_a_listener_with_the_same_business_key(sc, engine, clock):
    engine.repository.deploy([("listener.bpmn", SAY_NO_LISTENER)])
    iid = register(sc, "innovation", bk="HZ-2026-008")
    to_meeting(sc, iid)
    sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "city_can_solve": False})
    sc.complete(iid, "Task_province_answer", "zhou", {"province_result": "cannot", "province_reply": "不能办"})
    started = [i for i in engine.runtime.instances(business_key="HZ-2026-008")
               if i["definition_key"] == "hz_test_say_no_listener"]
    assert len(started) == 1
    payload = engine.runtime.data(started[0]["id"])
    assert (payload["department"], payload["say_no_kind"], payload["company"]) == \
        ("市经信局", "cannot", "湖州某新材料有限公司")


# -- 好差评 and 二次督办 -------------------------------------------------------------------------

def ratings(sc, iid):
    """[(plan, process, result, bad)] of the rating lines of the ledger, in order."""
    return [(d["rate_plan"], d["rate_process"], d["rate_result"], d["bad"]) for _, _, d in sc.ledger(iid, "rating")]


def test_every_rating_is_a_ledger_line(sc, clock):
    iid = register(sc, "innovation")
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved", "board_reply": "已对接科技局"})
    reply_evaluate_review(sc, iid, "basic")                  # 基本满意 (3) is not a bad rating
    assert sc.status(iid) == "completed"
    [(kind, title, data)] = sc.ledger(iid)
    assert (kind, title) == ("rating", "企业评价：方案3，过程3，结果3")
    assert data == {"company": "湖州某新材料有限公司", "rate_plan": 3, "rate_process": 3, "rate_result": 3,
                    "comment": "评价", "bad": False}
    assert "Task_second_supervision" not in completed_elements(sc, iid)


def test_a_bad_rating_reopens_the_appeal_for_second_supervision(sc, clock):
    iid = register(sc, "innovation")
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved", "board_reply": "已答复"})
    reply_evaluate_review(sc, iid, "unsatisfied")
    assert sc.ready(iid) == ["Task_second_supervision"]
    t = sc.task(iid, "Task_second_supervision")
    assert t["candidate_groups"] == ["hz_supervision"] and t["lane"] == "市委市政府督查室、市纪委市监委"
    assert "Task_second_supervision" in sc.inbox("du") and "Task_second_supervision" not in sc.inbox("zhou")
    with pytest.raises(Forbidden):                           # the centre cannot close its own bad rating
        sc.complete(iid, "Task_second_supervision", "zhou", {"second_result": "close", "second_opinion": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_second_supervision", "du", {"second_result": "redo"})
    assert set(e.value.errors) == {"second_opinion"}
    sc.complete(iid, "Task_second_supervision", "du", {"second_result": "redo",
                                                        "second_opinion": "企业反映问题未实质解决，责令重新协商办理"})
    t = sc.task(iid, "Task_collect")                          # back to 复杂问题协商办
    assert t["candidate_groups"] == ["hz_board_general"]
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "重新流转"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "solved", "fallback_reply": "实质解决"})
    reply_evaluate_review(sc, iid, "satisfied")               # rated again, now well: closed
    assert sc.status(iid) == "completed"
    assert sc.data(iid)["rate_result"] == "5"
    assert completed_elements(sc, iid).count("Task_evaluate") == 2
    assert ratings(sc, iid) == [(4, 4, 2, True), (5, 4, 5, False)]
    assert [e["element_id"] for e in sc.events(iid, "task_completed")] == [
        "Task_register", "Task_board_handle", "Task_reply", "Task_evaluate", "Task_second_supervision",
        "Task_collect", "Task_fallback_handle", "Task_reply", "Task_evaluate", "Task_review"]


@pytest.mark.parametrize("level", ["1", "2"])
@pytest.mark.parametrize("field", ["rate_plan", "rate_process", "rate_result"])
def test_any_dimension_at_the_bottom_two_levels_is_a_bad_rating(sc, clock, field, level):
    iid = register(sc, "finance")
    sc.complete(iid, "Task_board_handle", "jr", {"board_result": "solved", "board_reply": "已办结"})
    sc.complete(iid, "Task_reply", "zhou", {"reply_text": "已办理"})
    sc.complete(iid, "Task_evaluate", "ent_a", {**GOOD, field: level})
    assert sc.ready(iid) == ["Task_second_supervision"]
    assert ratings(sc, iid)[0][3] is True


def test_second_supervision_may_close_after_verification(sc, clock):
    iid = register(sc, "innovation")
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved", "board_reply": "已答复"})
    reply_evaluate_review(sc, iid, "unsatisfied")
    sc.complete(iid, "Task_second_supervision", "du", {"second_result": "close",
                                                        "second_opinion": "诉求超出政策范围，已当面解释"})
    assert sc.ready(iid) == ["Task_review"]
    sc.complete(iid, "Task_review", "zhou", {"review_note": "复盘", "make_rule": False})
    assert sc.status(iid) == "completed"
    assert sc.data(iid)["second_opinion"] == "诉求超出政策范围，已当面解释"
    assert ratings(sc, iid) == [(4, 4, 2, True)]


def test_the_rating_form_is_the_five_level_scale(sc, clock):
    iid = register(sc, "innovation")
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved", "board_reply": "已答复"})
    sc.complete(iid, "Task_reply", "zhou", {"reply_text": "已办理"})
    form = sc.engine.tasks.get(sc.task(iid, "Task_evaluate")["id"])["form"]
    fields = {f["id"]: f for f in form["fields"]}
    assert list(fields) == ["rate_plan", "rate_process", "rate_result", "rate_comment"]
    assert [fields[f]["label"] for f in fields] == ["对办理方案", "对办理过程", "对办理结果", "评价意见"]
    for f in ("rate_plan", "rate_process", "rate_result"):
        assert [(o["id"], o["name"]) for o in fields[f]["options"]] == [
            ("5", "非常满意"), ("4", "满意"), ("3", "基本满意"), ("2", "不满意"), ("1", "非常不满意")]
        assert "required" in fields[f]["validation"]
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_evaluate", "ent_a", {"rate_plan": "6", "rate_process": "满意"})
    assert set(e.value.errors) == {"rate_plan", "rate_process", "rate_result"}


def test_a_portal_appeal_is_registered_from_the_enterprise_channel(sc, clock):
    iid = sc.start(KEY, {"enterprise_user": "qiye:QH1", "company": "某公司", "channel": "企业自主提交"},
                   business_key="QH1")
    sc.complete(iid, "Task_register", "zhou", {"company": "某公司", "summary": "s", "category": "innovation",
                                               "channel": "企业自主提交"})
    assert sc.data(iid)["channel"] == "企业自主提交"
    assert sc.engine.runtime.get(iid)["status"] == "running"


def test_board_handling_names_the_dispatch_step_for_a_return(sc, engine):
    definition = engine.db_get_definition(engine.repository.definitions(key=KEY)[0]["id"])
    info = engine.repository.process(definition)
    assert info.spec.task_specs["Task_board_handle"].extensions["returnTo"] == "Task_register"
    assert info.properties["region"] == "湖州市"
    assert info.starter_groups == ["enterprise", "hz_centre"]


# -- forms and authority ---------------------------------------------------------------------

def test_forms_refuse_missing_or_bad_fields_and_outsiders_are_forbidden(sc, clock):
    iid = sc.start(KEY, {"enterprise_user": "ent_a"}, business_key="HZ-2026-009")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "zhou", {"company": "某公司", "category": "innovation", "channel": "talks"})
    assert set(e.value.errors) == {"summary"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "zhou", {"company": "某公司", "summary": "s", "category": "数据",
                                                   "channel": "微信"})
    assert set(e.value.errors) == {"category", "channel"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_register", "kc", {"company": "某公司", "summary": "s", "category": "innovation",
                                                 "channel": "talks"})
    sc.complete(iid, "Task_register", "zhou", {"company": "某公司", "summary": "s", "category": "innovation",
                                               "channel": "online"})
    with pytest.raises(Forbidden):                          # another board's staff
        sc.complete(iid, "Task_board_handle", "jr", {"board_result": "solved", "board_reply": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_board_handle", "kc", {"board_result": "solved"})
    assert set(e.value.errors) == {"board_reply"}
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "unsolved", "board_reply": "x"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "x"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "unsolved", "fallback_reply": "x"})
    sc.complete(iid, "Task_prepare_agenda", "zhou", {"agenda_title": "议题", "agenda_content": "x",
                                                     "invite_enterprise": False})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_joint_meeting", "wu", MEETING)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "implement_days": 0})
    assert set(e.value.errors) == {"implement_days"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_joint_meeting", "shi", {k: v for k, v in MEETING.items() if k != "city_can_solve"})
    assert set(e.value.errors) == {"city_can_solve"}
    sc.complete(iid, "Task_joint_meeting", "shi", MEETING)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_supervise", "zhou", {"implemented": True, "supervision_note": "x"})
    sc.complete(iid, "Task_supervise", "du", {"implemented": True, "supervision_note": "x"})
    sc.complete(iid, "Task_reply", "zhou", {"reply_text": "x"})
    with pytest.raises(Forbidden):                          # only the enterprise evaluates
        sc.complete(iid, "Task_evaluate", "zhou", GOOD)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_evaluate", "ent_a", {**GOOD, "rate_result": "很好"})
    assert set(e.value.errors) == {"rate_result"}
    sc.complete(iid, "Task_evaluate", "ent_a", BASIC)
    sc.complete(iid, "Task_review", "zhou", {"review_note": "x", "make_rule": False})
    assert sc.status(iid) == "completed"


# -- the "9+1" boards (DMN) ------------------------------------------------------------------

BOARDS = [("innovation", "hz_board_innovation", "科创板块"), ("finance", "hz_board_finance", "金融板块"),
          ("talent", "hz_board_talent", "人才板块"), ("legal", "hz_board_legal", "法律服务板块"),
          ("trade", "hz_board_open", "开放板块"), ("general", "hz_board_general", "综合板块"),
          ("investment", "hz_board_investment", "企业项目投资专区"),
          ("licensing", "hz_board_licensing", "企业准入准营专区"), ("policy", "hz_board_policy", "惠企政策兑现专区"),
          ("other", "hz_board_fallback", "兜底板块")]


@pytest.mark.parametrize("category,group,name", BOARDS)
def test_each_category_goes_to_its_board(sc, category, group, name):
    iid = register(sc, category)
    data = sc.data(iid)
    assert (data["board"], data["board_name"]) == (group, name)
    t = sc.task(iid, "Task_board_handle")
    assert t["candidate_groups"] == [group] and t["due_at"] == iso(2026, 11, 9, 9, 0)


PROBE = bpmn("hz_test_board_probe", f"""
<bpmn:startEvent id="s" />
<bpmn:businessRuleTask id="pick" name="确定承办板块" camunda:decisionRef="Decision_hz_board" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="${{board}}" />
<bpmn:endEvent id="e" />
{chain("s", "pick", "handle", "e")}""")


@pytest.mark.parametrize("category", ["数据要素", "", "Innovation"])
def test_an_unknown_category_goes_to_the_fallback_board(engine, clock, category):
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    engine.repository.deploy([root / DMN, ("probe.bpmn", PROBE)])
    iid = engine.runtime.start("hz_test_board_probe", {"category": category})
    data = engine.runtime.data(iid)
    assert (data["board"], data["board_name"]) == ("hz_board_fallback", "兜底板块")
    [t] = engine.tasks.list(instance_id=iid)
    assert t["candidate_groups"] == ["hz_board_fallback"]


def test_nine_boards_plus_the_fallback_board():
    from lxml import etree
    from pathlib import Path
    root = etree.parse(str(Path(__file__).resolve().parents[2] / DMN)).getroot()
    ns = {"d": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
    table = root.find("d:decision/d:decisionTable", ns)
    assert table.get("hitPolicy") == "FIRST"
    names = [r.findall("d:outputEntry/d:text", ns)[1].text.strip('"') for r in table.findall("d:rule", ns)]
    assert len(names) == 10 and names[-1] == "兜底板块"
    assert {"科创板块", "金融板块", "综合板块", "企业项目投资专区"} <= set(names)   # named in the seed
    assert sum(n.endswith("专区") for n in names) == 3 and sum(n.endswith("板块") for n in names[:-1]) == 6


def test_say_no_that_cannot_be_delivered_is_an_incident_and_resumes_when_the_year_is_loaded(make_engine, clock):
    """Issue 13, finding 2: late in December with next year's calendar not loaded (and
    provisional calendars switched off), 不能办 used to show an error naming another diagram
    while the Huzhou step went on and no 说"不" review was created. Now the Huzhou step is
    done, the hand-off waits in the outbox, becomes an incident naming the Luqiao process and
    the calendar, and is delivered once the year is loaded."""
    from qihu.engine.runtime.worker import Worker
    e = make_engine(calendar_provisional=False, delivery_retries=2)
    sc = Scenario(e, clock, BPMN, DMN, "bpmn/luqiao_say_no_review.bpmn")
    for user, groups in STAFF.items():
        sc.member(user, *groups)
    clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc))
    iid = register(sc, "innovation", bk="HZ-2026-099")
    to_meeting(sc, iid)
    sc.complete(iid, "Task_joint_meeting", "shi", {**MEETING, "city_can_solve": False})
    clock.set(datetime(2026, 12, 28, 1, 0, tzinfo=timezone.utc))
    sc.complete(iid, "Task_province_answer", "zhou", {"province_result": "cannot", "province_reply": "不能办"})
    assert sc.ready(iid) == ["Task_reply"]                                  # the Huzhou step is done
    assert [i for i in sc.instances("luqiao_say_no_review")] == []          # not delivered yet ...
    clock.advance(seconds=11)
    Worker(e).run_once()
    [inc] = e.runtime.incidents(iid)                                        # ... and visible
    assert inc["kind"] == "delivery" and "路桥" in inc["message"] and "2027" in inc["message"]
    assert "an_four_ways" not in inc["message"]
    e.calendar.load_year(2027, holidays=[datetime(2027, 1, 1).date()], workdays=[], user="admin")
    clock.advance(seconds=400)
    Worker(e).run_once()
    [review] = sc.instances("luqiao_say_no_review")
    assert review["business_key"] == "HZ-2026-099"
    assert e.runtime.incidents(iid) == []
