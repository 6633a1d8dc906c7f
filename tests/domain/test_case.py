"""The case in front of the clerk (appeals/case.py, AppealDomain.case): who the enterprise is and
how to reach it, what it asked, the history in plain words, and the earlier work the step at
hand builds on (二次督办: the ratings and complaint; a redo: the 督办意见; 督查: the meeting
decision). On SQLite and PostgreSQL.
"""
import pytest

from qihu import appeals
from tests.domain.test_portal import BASIC, PDF
from tests.mechanisms.test_mech_huzhou import BPMN as HZ_BPMN, DMN as HZ_DMN, MEETING, STAFF as HZ_STAFF, \
    register, to_meeting
from tests.scenario import Scenario

APPEAL = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
          "contact_phone": "13812345678", "category": "resource", "summary": "新厂房用地指标迟迟未落实，影响投产"}


@pytest.fixture
def basic(engine, clock):
    sc = Scenario(engine, clock, BASIC,
                  members={"shouli": "acceptor", "bumen": ["dept_resource"], "ducha": "supervisor"})
    domain = appeals.of(engine)
    got = domain.portal.submit("appeal_basic", files=[("用地申请.pdf", PDF)], **APPEAL)
    return sc, domain, got


def test_the_case_says_who_to_call_and_what_was_asked(basic):
    sc, domain, got = basic
    iid = got["instance_id"]
    case = domain.case(iid)
    assert case["company"] == "湖州某新材料有限公司" and case["credit_code"] == "91330100799655058B"
    assert case["contact_name"] == "张经理" and case["contact_phone"] == "13812345678"
    assert case["category_id"] == "resource" and case["category"] not in (None, "resource")
    assert case["channel"] == "企业自主提交"
    assert case["summary"] == APPEAL["summary"] and case["tracking_no"] == got["tracking_no"]
    assert [a["name"] for a in case["attachments"]] == ["用地申请.pdf"]
    assert case["trail"] and case["trail"][0]["text"].startswith("发起流程")
    assert case["prior"] == []


def test_the_category_is_said_by_its_name(basic):
    sc, domain, got = basic
    names = {o["id"]: o["name"] for o in domain.portal.portal_definitions()[0]["categories"]}
    assert domain.case(got["instance_id"])["category"] == names["resource"] != "resource"


def walk_to_second_supervision(sc, iid):
    sc.complete(iid, "Task_accept", "shouli", {"category": "resource", "summary": APPEAL["summary"]})
    sc.complete(iid, "Task_handle", "bumen", {"result": "solved", "reply": "已协调落实用地指标"})
    rate = sc.task(iid, "Task_rate")
    sc.engine.tasks.complete(rate["id"], rate["assignee"], {"rate_plan": "4", "rate_process": "2", "rate_result": "1",
                                                            "rate_comment": "指标仍未到位"})
    return sc.task(iid, "Task_second_supervision")


def test_second_supervision_shows_the_ratings_by_name_and_the_complaint(basic):
    sc, domain, got = basic
    iid = got["instance_id"]
    t = walk_to_second_supervision(sc, iid)
    prior = domain.case(iid, t["id"])["prior"]
    assert [p["name"] for p in prior] == ["企业评价", "部门办理", "受理登记"][:len(prior)]
    rating = {v["label"]: v["text"] for v in prior[0]["values"]}
    assert rating == {"对办理方案": "满意", "对办理过程": "不满意", "对办理结果": "非常不满意", "评价意见": "指标仍未到位"}
    handled = {v["label"]: v["text"] for v in prior[1]["values"]}
    assert handled["答复内容"] == "已协调落实用地指标" and handled["办理结果"] != "solved"
    # the header's fields (summary, category) are not repeated: 受理登记 submitted nothing else
    assert all(v["id"] not in ("summary", "category") for p in prior for v in p["values"])


def test_a_redo_shows_the_supervision_opinion_first(basic):
    sc, domain, got = basic
    iid = got["instance_id"]
    walk_to_second_supervision(sc, iid)
    sc.complete(iid, "Task_second_supervision", "ducha", {"second_result": "redo", "second_opinion": "请十日内落实指标"})
    redo = sc.task(iid, "Task_handle")
    prior = domain.case(iid, redo["id"])["prior"]
    assert prior[0]["name"] == "二次督办"
    assert {v["label"]: v["text"] for v in prior[0]["values"]} == {"督办结论": "责令承办部门重新办理",
                                                                   "督办意见": "请十日内落实指标"}
    # the earlier handling is there once, as it was last done
    assert [p["name"] for p in prior].count("部门办理") == 1


def test_supervision_shows_the_meeting_decision(engine, clock):
    sc = Scenario(engine, clock, HZ_BPMN, HZ_DMN)
    for user, groups in HZ_STAFF.items():
        sc.member(user, *groups)
    iid = register(sc, "innovation")
    to_meeting(sc, iid)
    sc.complete(iid, "Task_joint_meeting", "shi", MEETING)
    t = sc.task(iid, "Task_supervise")
    case = appeals.of(engine).case(iid, t["id"])
    assert case["company"] == "湖州某新材料有限公司" and case["channel"] not in (None, "hotline")
    meeting = case["prior"][0]
    assert meeting["name"] == "召开涉企问题联席会议研究决定"
    values = {v["label"]: v["text"] for v in meeting["values"]}
    assert values["会议议定事项"] == MEETING["decision"] and values["市级能否协调解决"] == "是"
    assert values["牵头责任单位"] == "市经信局"
