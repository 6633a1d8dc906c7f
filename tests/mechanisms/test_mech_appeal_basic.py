"""The 通用 mechanism (bpmn/appeal_basic.bpmn) has deadlines like the named ones (issue 15):
受理登记 1 working day; 部门办理 by category (政策咨询 3, 审批服务 5, 要素保障 10, 其他 5);
督查复核 3; 企业评价 5; 二次督办 5. Its tasks turn yellow at 60% of the working time, orange
at 80%, red at 100%; "是否紧急" at 受理 raises the later steps' priority (80, the inbox's 高).
The rating is the enterprise's own task when the appeal has an enterprise account, else the
受理员's (a phone appeal, rated by a call back).

Start: Monday 2026-11-02 09:00 Beijing. 受理登记 is due Tuesday 09:00: 24 working hours
(15 of Monday, 9 of Tuesday); 60% = 14.4 h → Monday 23:24, 80% = 19.2 h → Tuesday 04:12.
"""
import pytest

from tests.scenario import Scenario, iso

PROCESS = "appeal_basic"


@pytest.fixture
def sc(engine, clock):
    return Scenario(engine, clock, "bpmn/appeal_basic.bpmn", members={
        "li": "acceptor", "zheng": "dept_policy", "ziyuan": "dept_resource", "shenpi": "dept_approval",
        "zonghe": "dept_general", "du": "supervisor", "qiye": "enterprise"})


DEPT_USER = {"policy": "zheng", "resource": "ziyuan", "approval": "shenpi", "other": "zonghe"}


def accept(sc, iid, category="policy", urgent=False):
    sc.complete(iid, "Task_accept", "li", {"category": category, "summary": "厂房用地审批慢", "urgent": urgent})


def handle(sc, iid, category="policy", result="solved"):
    sc.complete(iid, "Task_handle", DEPT_USER[category], {"result": result, "reply": "已协调办结"})


def test_the_accept_step_turns_yellow_orange_and_red_over_its_working_day(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司"}, business_key="QH-1")
    t = sc.task(iid, "Task_accept")
    assert (t["due_at"], t["sla_colour"], t["priority"]) == (iso(2026, 11, 3), "green", 50)
    for when, colour in [((2026, 11, 2, 23, 23), "green"), ((2026, 11, 2, 23, 25), "yellow"),
                         ((2026, 11, 3, 4, 11), "yellow"), ((2026, 11, 3, 4, 13), "orange"),
                         ((2026, 11, 3, 8, 59), "orange"), ((2026, 11, 3, 9, 1), "red")]:
        sc.wait_until(*when)
        assert sc.task(iid, "Task_accept")["sla_colour"] == colour, when
    assert sc.colours(iid) == ["yellow", "orange", "red"]


@pytest.mark.parametrize("category,due", [
    ("policy", iso(2026, 11, 5)),        # 3 working days
    ("approval", iso(2026, 11, 9)),      # 5: Tue–Fri, Mon
    ("other", iso(2026, 11, 9)),         # 5
    ("resource", iso(2026, 11, 16)),     # 10
])
def test_the_handling_limit_follows_the_category(sc, category, due):
    iid = sc.start(PROCESS, {"company": "某科技公司"}, business_key=f"QH-{category}")
    accept(sc, iid, category)
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == [f"dept_{'general' if category == 'other' else category}"]
    assert (t["due_at"], t["sla_colour"], t["priority"]) == (due, "green", 50)


def test_handling_turns_red_at_its_deadline_and_is_overdue_in_the_inbox(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司"}, business_key="QH-2")
    accept(sc, iid, "policy")                                  # due Thursday 09:00, 3 working days
    sc.wait_until(2026, 11, 4, 3, 0)                           # 42 of 72 h: 58%
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 4, 13, 0)                          # 52 h: 72%
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 4, 23, 0)                          # 62 h: 86%
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 5, 9, 30)
    t = sc.task(iid, "Task_handle")
    assert t["sla_colour"] == "red"
    overdue = sc.engine.tasks.inbox("zheng", overdue=True)["tasks"]
    assert [x["instance_id"] for x in overdue] == [iid] and overdue[0]["workdays_left"] < 0


def test_an_urgent_appeal_is_high_priority_at_every_later_step(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司", "enterprise_user": "qiye"}, business_key="QH-3")
    accept(sc, iid, "resource", urgent=True)
    t = sc.task(iid, "Task_handle")
    assert t["priority"] == 80 and t["due_at"] == iso(2026, 11, 16)
    high = sc.engine.tasks.inbox("ziyuan", priority="high")["tasks"]
    assert [x["instance_id"] for x in high] == [iid]
    handle(sc, iid, "resource", result="cannot")
    t = sc.task(iid, "Task_review")
    assert (t["priority"], t["due_at"]) == (80, iso(2026, 11, 5))            # 督查复核: 3 working days
    sc.complete(iid, "Task_review", "du", {"approved": True, "opinion": "确无政策依据"})
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"], t["priority"]) == ("qiye", [], 80)
    assert t["due_at"] == iso(2026, 11, 9)                                   # 企业评价: 5 working days
    sc.complete(iid, "Task_rate", "qiye", {"rate_plan": "2", "rate_process": "3", "rate_result": "1"})
    t = sc.task(iid, "Task_second_supervision")
    assert (t["priority"], t["due_at"], t["sla_colour"]) == (80, iso(2026, 11, 9), "green")   # 二次督办: 5


def test_an_ordinary_appeal_stays_normal_priority(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司"}, business_key="QH-4")
    accept(sc, iid, "approval", urgent=False)
    assert sc.task(iid, "Task_handle")["priority"] == 50
    assert sc.engine.tasks.inbox("shenpi", priority="high")["tasks"] == []


def test_the_rating_is_the_enterprises_own_task_when_it_has_an_account(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司", "enterprise_user": "qiye"}, business_key="QH-5")
    accept(sc, iid, "policy")
    handle(sc, iid, "policy")
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"]) == ("qiye", [])
    assert sc.inbox("qiye") == ["Task_rate"] and sc.inbox("li") == []


def test_a_phone_appeal_is_rated_by_the_acceptor_after_a_call_back(sc):
    iid = sc.start(PROCESS, {"company": "某科技公司"}, business_key="QH-6")      # no enterprise account
    accept(sc, iid, "policy")
    handle(sc, iid, "policy")
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"]) == (None, ["acceptor"])
    assert sc.inbox("li") == ["Task_rate"] and sc.inbox("qiye") == []
    sc.complete(iid, "Task_rate", "li", {"rate_plan": "5", "rate_process": "4", "rate_result": "3"})
    assert sc.status(iid) == "completed"
