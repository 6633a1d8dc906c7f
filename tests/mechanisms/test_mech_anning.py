"""Anning (安宁市) 常态收集、分类交办、协调会商、跟踪督办: scenario tests.

Diagram: bpmn/an_four_ways.bpmn (process an_four_ways) with bpmn/an_handling_way.dmn (decision
Decision_an_way); BPMN/DMN only, no Python of its own. Seed 004 (安宁市“三个听取”行动健全完善政企联系
机制工作方案, 2023): 涉企部门 collect appeals (常态收集; 企业接待日 every half month) → by the
department's remit: answered on the spot (当场告知) / studied by the department (部门即办, 5 working
days) / transferred to the unit with authority, the enterprise told where it went (告知转送去向) /
reported to 市营商环境办 → 分类交办 (DMN: 一般问题分发交办, 复杂问题联合会商, 重点问题领导批办,
重大问题 → 重点问题清单 → 领导小组专题会办 with a 长效机制) → 交办函 → the unit handles and replies
(or returns it to the office) → 跟踪督办: SLA colours, red warning + 督办函 at the deadline, a 通报
every 7 days while overdue → 企业评价 (回访, 好差评) → 问题落实“回头看” 10 working days later (at once
after a bad rating) → 落实不到位: 通报 + 督办函 + redo; 落实到位: 销号 (诉求事项清单, 重点问题清单).

Candidate groups (demo users in appeals/demo.py):
    an_department     涉企部门（企业接待日、常态收集、部门即办）   an_bumen
    an_office         市营商环境办（市政务服务局）                 an_yingshang
    an_city_leader    市级分管领导                                 an_lingdao
    an_leading_group  市优化营商环境促进市场主体倍增领导小组       an_xiaozu
    an_unit_*         承办单位 (industry, development, land, market, agriculture, investment, park,
                      street)                                      an_chengban
The enterprise (enterprise_user) rates the handling (企业评价).
"""
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from qihu import appeals
from qihu.cli import main as cli
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Notification
from tests.scenario import ROOT, Scenario, iso
from tests.scenario import ledger_lines as lines, letter_texts as letters
from qihu.web.app import create_app

BPMN = "bpmn/an_four_ways.bpmn"
DMN = "bpmn/an_handling_way.dmn"
KEY = "an_four_ways"
OFFICE = "市营商环境办（市政务服务局）"
ISSUER = "安宁市营商环境办（市政务服务局）"
LANES = {"dept": "涉企部门（企业接待日、常态收集）", "office": "市营商环境办（市政务服务局）",
         "leader": "市级分管领导", "group": "市优化营商环境促进市场主体倍增领导小组", "unit": "承办单位",
         "enterprise": "企业"}
STAFF = {"bu": "an_department", "ying": "an_office", "ling": "an_city_leader", "zu": "an_leading_group",
         "gong": "an_unit_industry", "zi": "an_unit_land", "shi": "an_unit_market", "jie": "an_unit_street"}
ENT = "ent_an"

COLLECT = {"company": "安宁某新材料有限公司", "summary": "新建厂房用电增容报装迟迟未落实",
           "category": "land_energy", "channel": "reception_day", "dept_name": "市工科信局",
           "intake_reply": "已受理，将按规定办理并答复"}
CLASSIFY = {"scope": "single", "key_problem": False, "major": False, "work_type": "department",
            "demand_type": "individual", "policy_type": "procedure", "unit_name": "市工科信局",
            "classify_opinion": "属市工科信局职责，请协调供电部门办理增容报装"}
GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "办理及时"}
BASIC = {"rate_plan": "3", "rate_process": "3", "rate_result": "3"}
BAD = {"rate_plan": "4", "rate_process": "2", "rate_result": "3", "rate_comment": "仍未解决"}
DONE = {"handle_result": "done", "handle_reply": "已协调供电部门完成增容报装"}
IMPLEMENTED = {"followup_result": "implemented", "followup_note": "回访企业，已正常用电"}


# -- deployment through the public paths ---------------------------------------------------------
def deploy_over_rest(engine):
    """POST /api/deployments (multipart, the diagram and its decision table) as an administrator."""
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    files = [(open(ROOT / BPMN, "rb"), "an_four_ways.bpmn"), (open(ROOT / DMN, "rb"), "an_handling_way.dmn")]
    try:
        r = app.test_client().post("/api/deployments", data={"files": files}, content_type="multipart/form-data",
                                   headers={"X-Qihu-User": "admin"})
    finally:
        for f, _ in files:
            f.close()
    assert r.status_code == 201, r.get_json()
    return app, r.get_json()


@pytest.fixture
def sc(engine, clock):
    deploy_over_rest(engine)
    return Scenario(engine, clock, members=STAFF)




def notes(engine, iid, title=None):
    """[(recipient, title, body)] of an instance's notifications, in order."""
    with engine.db.read() as s:
        q = select(Notification).where(Notification.instance_id == iid).order_by(Notification.id)
        return [(f"{n.recipient_kind}:{n.recipient}", n.title, n.body) for n in s.scalars(q)
                if title is None or n.title == title]


def fired(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "timer_fired")]


def done_steps(sc, iid):
    return [e["element_id"] for e in sc.events(iid) if e["type"] in ("element_completed", "task_completed")]


def intake(sc, bk, remit, **changes):
    """A department registers an appeal (企业接待日) with its remit judgement."""
    iid = sc.start(KEY, {"enterprise_user": ENT}, business_key=bk, user="bu")
    t = sc.task(iid, "Task_collect")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["an_department"], LANES["dept"], iso(2026, 11, 3))
    sc.complete(iid, "Task_collect", "bu", dict(COLLECT, remit=remit, **changes))
    return iid


def classify(sc, iid, **changes):
    t = sc.task(iid, "Task_classify")
    assert (t["candidate_groups"], t["lane"]) == (["an_office"], LANES["office"])
    sc.complete(iid, "Task_classify", "ying", dict(CLASSIFY, **changes))


def rate(sc, iid, rating=GOOD):
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"], t["lane"], t["due_at"]) == (ENT, [], LANES["enterprise"], None)
    sc.complete(iid, "Task_rate", ENT, rating)


def handle(sc, iid, user, group, due, data=DONE):
    t = sc.task(iid, "Task_unit_handle")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == ([group], LANES["unit"], due)
    sc.complete(iid, "Task_unit_handle", user, data)


# -- deployment, start and the portal --------------------------------------------------------------
def test_deployed_over_rest_with_its_properties_and_only_starters_may_start(engine, clock):
    app, body = deploy_over_rest(engine)
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [(KEY, 1, True)]
    client = app.test_client()
    engine.tasks.add_member("bu", "an_department")
    engine.tasks.add_member("zi", "an_unit_land")
    with open(ROOT / BPMN, "rb") as f:             # only an administrator deploys
        r = client.post("/api/deployments", data={"files": (f, "an_four_ways.bpmn")},
                        content_type="multipart/form-data", headers={"X-Qihu-User": "bu"})
    assert r.status_code == 403
    r = client.post("/api/instances", json={"key": KEY, "data": {"enterprise_user": ENT}, "business_key": "AN-R1"},
                    headers={"X-Qihu-User": "zi"})
    assert r.status_code == 403                    # a unit does not take appeals in
    r = client.post("/api/instances", json={"key": KEY, "data": {"enterprise_user": ENT}, "business_key": "AN-R1"},
                    headers={"X-Qihu-User": "bu"})
    assert r.status_code == 201, r.get_json()
    [t] = engine.tasks.list(instance_id=r.get_json()["id"])
    assert t["element_id"] == "Task_collect" and t["name"] == "接待登记企业诉求"
    definition = engine.db_get_definition(engine.repository.definitions(key=KEY)[0]["id"])
    info = engine.repository.process(definition)
    assert info.properties["region"] == "安宁市"
    assert info.starter_groups == ["enterprise", "an_department"]
    [portal] = [d for d in appeals.of(engine).portal.portal_definitions() if d["key"] == KEY]
    assert portal["region"] == "安宁市" and portal["name"].startswith("安宁市企业诉求")
    assert [c["id"] for c in portal["categories"]] == ["planning", "industry", "approval", "land_energy", "policy",
                                                       "finance", "talent", "other"]


def test_deployed_with_the_cli_and_an_appeal_answered_on_the_spot(engine, clock, db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["deploy", str(ROOT / BPMN), str(ROOT / DMN)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "an_four_ways v1" in result.output
    again = CliRunner().invoke(cli, ["deploy", str(ROOT / BPMN), str(ROOT / DMN)], catch_exceptions=False)
    assert "unchanged" in again.output
    sc = Scenario(engine, clock, members=STAFF)
    iid = intake(sc, "AN-CLI-1", "spot", intake_reply="属本局职责：增容报装可在政务服务中心供电窗口一次办理")
    data = sc.data(iid)
    assert (data["way_name"], data["unit_group"], data["unit_name"]) == ("部门即办（当场告知）", "an_department", "市工科信局")
    rate(sc, iid, GOOD)
    assert sc.status(iid) == "completed"


def test_a_portal_appeal_transferred_shows_the_enterprise_where_it_went(sc, engine):
    ticket = appeals.of(engine).portal.submit(KEY, "安宁某食品有限公司", "91330100799655058B", "李经理", "13812345678",
                                   "land_energy", "新厂区用地规划条件调整，需要办理规划许可变更")
    iid = ticket["instance_id"]
    assert sc.data(iid)["channel"] == "企业自主提交"
    user = sc.data(iid)["enterprise_user"]
    sc.complete(iid, "Task_collect", "bu", dict(COLLECT, company="安宁某食品有限公司", summary="用地规划条件调整",
                                               channel="企业自主提交", remit="transfer",
                                               intake_reply="已收到，正在确定承办单位"))
    t = sc.task(iid, "Task_transfer")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["an_department"], LANES["dept"], iso(2026, 11, 3))
    sc.complete(iid, "Task_transfer", "bu", {"reply_transfer_to": "市自然资源局",
                                             "transfer_reply": "规划条件调整属市自然资源局职权，联系电话0871-68686868"})
    [(to, title, body)] = notes(engine, iid)
    assert (to, title) == (f"user:{user}", "诉求转送去向告知")
    assert body == ("安宁某食品有限公司：您反映的“用地规划条件调整”不属于市工科信局职权范围，已转送市自然资源局办理。"
                    "规划条件调整属市自然资源局职权，联系电话0871-68686868")
    progress = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(ticket["token"]))
    step = [s for s in progress["steps"] if s["name"] == "转送有权处理的单位并告知企业转送去向"][0]
    assert step["replies"] == [{"label": "转送去向（有权处理的单位）", "text": "市自然资源局"},
                               {"label": "告知企业", "text": "规划条件调整属市自然资源局职权，联系电话0871-68686868"}]
    assert [c["name"] for c in progress["current"]] == ["承办单位办理并答复企业"]
    handle(sc, iid, "zi", "an_unit_land", iso(2026, 11, 16),
           {"handle_result": "done", "handle_reply": "已办理规划条件变更"})
    assert letters(engine, iid) == []              # a transfer is not a 交办函
    progress = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(ticket["token"]))
    assert progress["steps"][-1]["replies"] == [{"label": "答复企业（退回的写明理由）", "text": "已办理规划条件变更"}]
    assert [t["id"] for t in progress["my_tasks"]] == [sc.task(iid, "Task_rate")["id"]]


# -- the department's remit (企业接待日) --------------------------------------------------------------
def test_answered_on_the_spot_and_satisfied_is_closed_without_a_followup(sc, engine):
    iid = intake(sc, "AN-1", "spot", intake_reply="当场答复：增容报装可在政务服务中心供电窗口一次办理")
    assert sc.ready(iid) == ["Task_rate"]
    [(title, data, closed)] = lines(engine, iid, "an_demand_list")
    assert (title, closed) == (COLLECT["summary"], False)
    assert data == {"kind_name": "企业诉求事项清单", "company": COLLECT["company"], "category": "land_energy",
                    "channel": "reception_day", "dept_name": "市工科信局", "remit": "spot"}
    rate(sc, iid, BASIC)                           # 基本满意 is not a bad rating
    assert sc.status(iid) == "completed"
    assert lines(engine, iid, "an_demand_list")[0][2] is True          # 销号
    [(title, data, _)] = lines(engine, iid, "rating")
    assert title == "企业评价：方案3，过程3，结果3"
    assert (data["unit"], data["way"], data["bad"]) == ("市工科信局", "部门即办（当场告知）", False)
    steps = done_steps(sc, iid)
    assert "Task_followup" not in steps and "Task_unit_handle" not in steps and "Task_classify" not in steps
    assert letters(engine, iid) == [] and notes(engine, iid) == []
    assert sc.data(iid)["archived_at"].startswith("2026-11-02T")


def test_a_bad_rating_of_a_spot_answer_brings_the_followup_at_once_and_a_redo(sc, engine, clock):
    iid = intake(sc, "AN-2", "spot")
    rate(sc, iid, BAD)
    assert sc.ready(iid) == ["Task_followup"]      # no 10-day wait after a bad rating
    t = sc.task(iid, "Task_followup")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["an_office"], LANES["office"], iso(2026, 11, 5))
    sc.complete(iid, "Task_followup", "ying", {"followup_result": "lagging", "followup_note": "当场答复未解决实际问题"})
    [(title, data, _)] = lines(engine, iid, "an_lagging_notice")
    assert title == "回头看落实不到位：市工科信局：" + COLLECT["summary"]
    assert (data["source"], data["kind_name"], data["note"]) == ("问题落实“回头看”", "办理滞后单位通报", "当场答复未解决实际问题")
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("督办函", "市工科信局", "2026年11月9日")     # redo: 5 working days
    assert "问题落实“回头看”督办：" + COLLECT["summary"] in text and "当场答复未解决实际问题" in text and ISSUER in text
    handle(sc, iid, "bu", "an_department", iso(2026, 11, 9))   # the department itself redoes it
    rate(sc, iid, GOOD)
    assert sc.ready(iid) == []                     # handled again: the 回头看 comes 10 working days later
    assert sc.wait_until(2026, 11, 13, 9, 0) == 0
    sc.wait_until(2026, 11, 16, 9, 0)
    assert fired(sc, iid) == ["Event_followup_wait"] and sc.ready(iid) == ["Task_followup"]
    sc.complete(iid, "Task_followup", "ying", IMPLEMENTED)
    assert sc.status(iid) == "completed"
    data = sc.data(iid)
    assert (data["handle_round"], data["followup_round"]) == (1, 1)
    assert [d["bad"] for _, d, _ in lines(engine, iid, "rating")] == [True, False]


def test_the_department_studies_it_overdue_warning_supervision_and_weekly_notices(sc, engine, clock):
    iid = intake(sc, "AN-3", "study")
    t = sc.task(iid, "Task_unit_handle")           # 部门即办: the department itself, 5 working days
    assert (t["candidate_groups"], t["lane"], t["due_at"], t["sla_colour"]) == \
        (["an_department"], LANES["unit"], iso(2026, 11, 9), "green")
    assert letters(engine, iid) == []              # no 交办函 to itself
    sc.wait_until(2026, 11, 5, 8, 59)
    assert sc.colours(iid) == []
    sc.wait_until(2026, 11, 5, 9, 0)               # 60 %: 3 of 5 working days
    assert sc.colours(iid) == ["yellow"]
    sc.wait_until(2026, 11, 6, 9, 0)               # 80 %
    assert sc.colours(iid) == ["yellow", "orange"]
    sc.wait_until(2026, 11, 8, 23, 0)              # the weekend does not count
    assert sc.colours(iid) == ["yellow", "orange"] and fired(sc, iid) == []
    sc.wait_until(2026, 11, 9, 9, 0)               # the deadline: red, the warning list and a 督办函
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    assert fired(sc, iid) == ["Event_unit_overdue"]
    [(title, data, _)] = lines(engine, iid, "warning_list")
    assert title == f"红色预警：超过办理时限未办结：{COLLECT['summary']}（市工科信局，部门即办）"
    assert data["level"] == "red"
    assert [(to, title) for to, title, _ in notes(engine, iid)] == [("group:an_office", "红色预警"),
                                                                   ("group:an_department", "红色预警")]
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("督办函", "市工科信局", "2026年11月12日")     # 3 working days
    assert "办理滞后督办：" + COLLECT["summary"] in text and "已超过办理时限仍未办结" in text
    assert sc.ready(iid) == ["Task_unit_handle"]   # non-interrupting: still the department's
    assert lines(engine, iid, "an_lagging_notice") == []
    sc.wait_until(2026, 11, 16, 8, 59)
    assert lines(engine, iid, "an_lagging_notice") == []
    sc.wait_until(2026, 11, 16, 9, 0)              # 7 days overdue: the first 通报
    [(title, data, _)] = lines(engine, iid, "an_lagging_notice")
    assert title == "超期未办结：市工科信局：" + COLLECT["summary"] and data["source"] == "超期定期通报"
    assert [to for to, title, _ in notes(engine, iid, "办理滞后通报")] == [
        "group:an_office", "group:an_leading_group", "group:an_department"]
    sc.wait_until(2026, 11, 23, 9, 0)              # and every 7 days while it stays open
    assert len(lines(engine, iid, "an_lagging_notice")) == 2
    assert [t for _, t, _ in notes(engine, iid)].count("办理滞后通报") == 6      # a cycle timer keeps waiting
    handle(sc, iid, "bu", "an_department", iso(2026, 11, 9))
    sc.wait_until(2026, 12, 7, 9, 0)               # closed: no more notices
    assert len(lines(engine, iid, "an_lagging_notice")) == 2 and len(letters(engine, iid)) == 1
    rate(sc, iid, GOOD)
    sc.wait_until(2026, 12, 21, 8, 59)             # 10 working days after the rating (Mon Dec 7 → Dec 21)
    assert sc.ready(iid) == []
    sc.wait_until(2026, 12, 21, 9, 0)
    assert sc.ready(iid) == ["Task_followup"]
    sc.complete(iid, "Task_followup", "ying", IMPLEMENTED)
    assert sc.status(iid) == "completed"
    assert lines(engine, iid, "an_demand_list")[0][2] is True


def test_transferred_to_the_office_it_is_classified_there(sc, engine):
    iid = intake(sc, "AN-4", "transfer")
    sc.complete(iid, "Task_transfer", "bu", {"reply_transfer_to": OFFICE, "transfer_reply": "涉及多个部门，已转市营商环境办"})
    [(to, _, body)] = notes(engine, iid)
    assert to == f"user:{ENT}" and f"已转送{OFFICE}办理" in body
    assert sc.ready(iid) == ["Task_classify"]
    classify(sc, iid, unit_name="市市场监管局")
    handle(sc, iid, "shi", "an_unit_market", iso(2026, 11, 16))
    assert [(k, u) for k, u, _, _ in letters(engine, iid)] == [("交办函", "市市场监管局")]


# -- 分类交办 ------------------------------------------------------------------------------------------
def test_a_general_problem_is_assigned_with_a_letter_and_followed_up(sc, engine, clock):
    iid = intake(sc, "AN-5", "report")
    t = sc.task(iid, "Task_classify")
    assert t["due_at"] == iso(2026, 11, 5)        # 3 working days
    clock.set(datetime(2026, 11, 4, 6, 30, tzinfo=timezone.utc))     # Wed 14:30
    classify(sc, iid)
    data = sc.data(iid)
    assert (data["way"], data["way_name"], data["handle_days"]) == ("assign", "分发交办", 10)
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("交办函", "市工科信局", "2026年11月18日")     # 10 working days from Wed
    assert "分发交办：" + COLLECT["summary"] in text and CLASSIFY["classify_opinion"] in text
    assert ISSUER in text and "AN-5" in text
    assert "Task_unit_handle" in sc.inbox("gong") and "Task_unit_handle" not in sc.inbox("zi")
    with pytest.raises(Forbidden):                 # another unit
        sc.complete(iid, "Task_unit_handle", "zi", DONE)
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 18, 14, 30))
    rate(sc, iid, GOOD)
    assert sc.ready(iid) == []
    sc.wait_until(2026, 11, 18, 14, 30)            # 10 working days after the rating
    sc.complete(iid, "Task_followup", "ying", IMPLEMENTED)
    assert sc.status(iid) == "completed"
    assert [(t, c) for t, _, c in lines(engine, iid, "an_demand_list")] == [(COLLECT["summary"], True)]
    assert lines(engine, iid, "an_key_problem_list") == [] and lines(engine, iid, "an_lagging_notice") == []
    assert "Task_close_key" not in done_steps(sc, iid)


def test_a_complex_problem_is_consulted_jointly(sc, engine):
    iid = intake(sc, "AN-6", "report")
    classify(sc, iid, scope="multi")
    t = sc.task(iid, "Task_consult")
    assert (t["candidate_groups"], t["due_at"]) == (["an_office"], iso(2026, 11, 9))
    sc.complete(iid, "Task_consult", "ying", {"consult_units": "市工科信局、市自然资源局、属地街道", "consult_result": "agreed",
                                              "unit_name": "属地街道办事处", "handle_days": 15,
                                              "consult_opinion": "由属地街道牵头协调管线迁改"})
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("交办函", "属地街道办事处", "2026年11月23日")   # 15 working days
    assert "联合会商意见（市工科信局、市自然资源局、属地街道）：由属地街道牵头协调管线迁改" in text
    handle(sc, iid, "jie", "an_unit_street", iso(2026, 11, 23))
    assert sc.data(iid)["way_name"] == "联合会商"


def test_a_consultation_that_fails_goes_to_the_city_leader(sc, engine):
    iid = intake(sc, "AN-7", "report")
    classify(sc, iid, scope="multi")
    sc.complete(iid, "Task_consult", "ying", {"consult_units": "市发改局、市工科信局", "consult_result": "leader",
                                              "unit_name": "市发改局", "consult_opinion": "部门意见不一致"})
    t = sc.task(iid, "Task_leader")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["an_city_leader"], LANES["leader"], iso(2026, 11, 5))
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_leader", "ying", {"leader_instruction": "x", "unit_name": "市发改局"})
    sc.complete(iid, "Task_leader", "ling", {"leader_instruction": "请市工科信局牵头，10个工作日内解决",
                                             "unit_name": "市工科信局"})
    data = sc.data(iid)
    assert (data["way"], data["way_name"], data["handle_days"]) == ("leader", "领导批办", 10)
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("交办函", "市工科信局", "2026年11月16日")
    assert "领导批办：" in text and "市级分管领导批办意见：请市工科信局牵头" in text
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 16))


def test_a_key_problem_goes_to_the_city_leader_directly(sc, engine):
    iid = intake(sc, "AN-8", "report")
    classify(sc, iid, key_problem=True)
    assert sc.ready(iid) == ["Task_leader"]
    sc.complete(iid, "Task_leader", "ling", {"leader_instruction": "市市场监管局牵头", "unit_name": "市市场监管局",
                                             "handle_days": 5})
    [(kind, unit, deadline, _)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("交办函", "市市场监管局", "2026年11月9日")
    assert "Task_consult" not in done_steps(sc, iid)


def test_a_major_common_problem_goes_to_the_leading_group_and_its_lists_are_closed(sc, engine, clock):
    iid = intake(sc, "AN-9", "report", summary="园区企业普遍反映用能指标不足")
    classify(sc, iid, scope="multi", major=True, demand_type="common", work_type="global", policy_type="policy",
             classify_opinion="企业普遍反映，事关重大")
    [(title, data, closed)] = lines(engine, iid, "an_key_problem_list")
    assert (title, closed, data["kind_name"], data["opinion"]) == ("园区企业普遍反映用能指标不足", False, "重点问题清单",
                                                                  "企业普遍反映，事关重大")
    t = sc.task(iid, "Task_special_meeting")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["an_leading_group"], LANES["group"], iso(2026, 11, 16))
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_special_meeting", "zu", {"meeting_decision": "x", "unit_name": "市工科信局"})
    assert set(e.value.errors) == {"long_term"}
    sc.complete(iid, "Task_special_meeting", "zu", {
        "meeting_decision": "由市工科信局牵头统筹园区用能指标", "unit_name": "市工科信局", "long_term": True,
        "mechanism_title": "安宁产业园区用能指标统筹保障机制"})
    [(title, data, _)] = lines(engine, iid, "rule_library")
    assert title == "安宁产业园区用能指标统筹保障机制"
    assert (data["source"], data["decision"]) == ("领导小组专题会办", "由市工科信局牵头统筹园区用能指标")
    [(kind, unit, deadline, text)] = letters(engine, iid)
    assert (kind, unit, deadline) == ("交办函", "市工科信局", "2026年11月30日")     # 20 working days
    assert "专题会办：园区企业普遍反映用能指标不足" in text
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 30))
    rate(sc, iid, GOOD)
    sc.wait_until(2026, 11, 16, 9, 0)
    sc.complete(iid, "Task_followup", "ying", IMPLEMENTED)
    assert sc.status(iid) == "completed"
    assert lines(engine, iid, "an_key_problem_list")[0][2] is True and lines(engine, iid, "an_demand_list")[0][2] is True


def test_without_a_long_term_mechanism_nothing_is_recorded(sc, engine):
    iid = intake(sc, "AN-10", "report")
    classify(sc, iid, major=True, demand_type="common")
    sc.complete(iid, "Task_special_meeting", "zu", {"meeting_decision": "统筹解决", "unit_name": "安宁产业园区",
                                                    "long_term": False})
    assert lines(engine, iid, "rule_library") == []
    assert sc.task(iid, "Task_unit_handle")["candidate_groups"] == ["an_unit_park"]


WAYS = [
    ({}, "assign", "Task_unit_handle"),
    ({"scope": "multi"}, "consult", "Task_consult"),
    ({"key_problem": True}, "leader", "Task_leader"),
    ({"scope": "multi", "key_problem": True}, "leader", "Task_leader"),
    ({"major": True, "demand_type": "common"}, "meeting", "Task_special_meeting"),
    ({"major": True, "demand_type": "common", "key_problem": True, "scope": "multi"}, "meeting", "Task_special_meeting"),
    ({"major": True, "demand_type": "individual"}, "assign", "Task_unit_handle"),      # 个性诉求: the unit handles it
    ({"major": True, "demand_type": "individual", "scope": "multi"}, "consult", "Task_consult"),
]


@pytest.mark.parametrize("changes,way,step", WAYS)
def test_the_decision_table_chooses_the_way(sc, changes, way, step):
    iid = intake(sc, "AN-W", "report")
    classify(sc, iid, **changes)
    assert sc.data(iid)["way"] == way
    assert sc.ready(iid) == [step]


# -- 跟踪督办 -------------------------------------------------------------------------------------------
def test_a_unit_returns_what_is_not_its_remit_to_the_office(sc, engine, clock):
    iid = intake(sc, "AN-11", "report")
    classify(sc, iid, unit_name="市自然资源局")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_unit_handle", "zi", {"handle_result": "not_mine"})
    assert set(e.value.errors) == {"handle_reply"}
    sc.complete(iid, "Task_unit_handle", "zi", {"handle_result": "not_mine", "handle_reply": "用电增容不属于本局职权"})
    assert sc.ready(iid) == ["Task_classify"]
    clock.set(datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc))
    classify(sc, iid, unit_name="市工科信局")
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 17))
    assert [u for _, u, _, _ in letters(engine, iid)] == ["市自然资源局", "市工科信局"]
    assert sc.data(iid)["handle_round"] == 2


def test_a_lagging_followup_is_notified_supervised_and_redone(sc, engine, clock):
    iid = intake(sc, "AN-12", "report")
    classify(sc, iid)
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 16))
    rate(sc, iid, GOOD)
    sc.wait_until(2026, 11, 16, 9, 0)
    t = sc.task(iid, "Task_followup")
    assert t["due_at"] == iso(2026, 11, 19)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_followup", "gong", IMPLEMENTED)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_followup", "ying", {"followup_result": "半落实", "followup_note": "x", "redo_days": 0})
    assert set(e.value.errors) == {"followup_result", "redo_days"}
    sc.complete(iid, "Task_followup", "ying", {"followup_result": "lagging", "followup_note": "增容未通电",
                                               "redo_days": 3})
    assert [title for title, _, _ in lines(engine, iid, "an_lagging_notice")] == [
        "回头看落实不到位：市工科信局：" + COLLECT["summary"]]
    assert [(k, u, d) for k, u, d, _ in letters(engine, iid)] == [
        ("交办函", "市工科信局", "2026年11月16日"), ("督办函", "市工科信局", "2026年11月19日")]
    handle(sc, iid, "gong", "an_unit_industry", iso(2026, 11, 19))
    rate(sc, iid, BAD)                              # still unhappy: looked at again at once
    sc.complete(iid, "Task_followup", "ying", IMPLEMENTED)
    assert sc.status(iid) == "completed"
    data = sc.data(iid)
    assert (data["handle_round"], data["followup_round"]) == (2, 1)
    assert [e["element_id"] for e in sc.events(iid, "task_completed")] == [
        "Task_collect", "Task_classify", "Task_unit_handle", "Task_rate", "Task_followup", "Task_unit_handle",
        "Task_rate", "Task_followup"]


# -- forms and authority -----------------------------------------------------------------------------
def test_forms_refuse_missing_or_bad_fields_and_outsiders_are_forbidden(sc, engine):
    iid = sc.start(KEY, {"enterprise_user": ENT}, business_key="AN-13", user="bu")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_collect", "bu", {k: v for k, v in COLLECT.items() if k != "dept_name"})
    assert set(e.value.errors) == {"dept_name", "remit"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_collect", "bu", dict(COLLECT, remit="自办", channel="微信"))
    assert set(e.value.errors) == {"remit", "channel"}
    with pytest.raises(Forbidden):                  # the office does not register for the department
        sc.complete(iid, "Task_collect", "ying", dict(COLLECT, remit="report"))
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_collect", ENT, dict(COLLECT, remit="report"))
    sc.complete(iid, "Task_collect", "bu", dict(COLLECT, remit="transfer"))
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_transfer", "bu", {"reply_transfer_to": "市税务局", "transfer_reply": "x"})
    assert set(e.value.errors) == {"reply_transfer_to"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_transfer", "bu", {"reply_transfer_to": "市市场监管局"})
    assert set(e.value.errors) == {"transfer_reply"}
    sc.complete(iid, "Task_transfer", "bu", {"reply_transfer_to": OFFICE, "transfer_reply": "转营商环境办"})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_classify", "bu", CLASSIFY)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_classify", "ying", {k: v for k, v in CLASSIFY.items() if k not in ("major", "unit_name")})
    assert set(e.value.errors) == {"major", "unit_name"}
    sc.complete(iid, "Task_classify", "ying", dict(CLASSIFY, scope="multi"))
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_consult", "ying", {"consult_units": "x", "consult_result": "agreed",
                                                  "unit_name": "市工科信局", "consult_opinion": "x", "handle_days": 61})
    assert set(e.value.errors) == {"handle_days"}
    sc.complete(iid, "Task_consult", "ying", {"consult_units": "x", "consult_result": "agreed",
                                              "unit_name": "市工科信局", "consult_opinion": "x"})
    sc.complete(iid, "Task_unit_handle", "gong", DONE)
    with pytest.raises(Forbidden):                  # only the enterprise rates
        sc.complete(iid, "Task_rate", "ying", GOOD)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_rate", ENT, {"rate_plan": "6", "rate_process": "满意"})
    assert set(e.value.errors) == {"rate_plan", "rate_process", "rate_result"}
    rate(sc, iid, GOOD)
    assert sc.status(iid) == "running" and sc.ready(iid) == []


def test_the_rating_form_is_the_five_level_scale(sc, engine):
    iid = intake(sc, "AN-14", "spot")
    form = engine.tasks.get(sc.task(iid, "Task_rate")["id"])["form"]
    fields = {f["id"]: f for f in form["fields"]}
    assert list(fields) == ["rate_plan", "rate_process", "rate_result", "rate_comment"]
    assert [fields[f]["label"] for f in fields] == ["对办理方案", "对办理过程", "对办理结果", "评价意见"]
    for f in ("rate_plan", "rate_process", "rate_result"):
        assert [(o["id"], o["name"]) for o in fields[f]["options"]] == [
            ("5", "非常满意"), ("4", "满意"), ("3", "基本满意"), ("2", "不满意"), ("1", "非常不满意")]


# -- the units ---------------------------------------------------------------------------------------
def _units():
    """{unit name: group} from the diagram's 确定承办单位和办理时限 script."""
    import re
    from lxml import etree
    tree = etree.parse(str(ROOT / BPMN))
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    [script] = tree.xpath("//bpmn:scriptTask[@id='Script_prepare']/bpmn:script/text()", namespaces=ns)
    units = dict(re.findall(r'"([^"]+)": "(an_unit_[a-z]+)"', script))
    camunda = "{http://camunda.org/schema/1.0/bpmn}"
    choices = {f.get("id") + "@" + f.getparent().getparent().getparent().get("id"):
               [v.get("id") for v in f.iter(camunda + "value")]
               for f in tree.iter(camunda + "formField") if f.get("id") in ("unit_name", "reply_transfer_to")}
    return units, choices


def test_every_unit_choice_has_a_group_and_a_demo_user():
    from qihu.appeals.demo import DEMO_USERS
    units, choices = _units()
    assert len(units) == 8
    assert set(choices) == {"unit_name@Task_classify", "unit_name@Task_consult", "unit_name@Task_leader",
                            "unit_name@Task_special_meeting", "reply_transfer_to@Task_transfer"}
    for where, options in choices.items():
        assert options == list(units) + ([OFFICE] if where.startswith("reply_transfer_to") else []), where
    held = {g for groups in DEMO_USERS.values() for g in groups}
    assert set(units.values()) | {"an_department", "an_office", "an_city_leader", "an_leading_group"} <= held
    assert set(DEMO_USERS["an_chengban"]) == set(units.values())


@pytest.mark.parametrize("unit,group", list(_units()[0].items()))
def test_each_unit_gets_the_appeal_in_its_own_inbox(sc, unit, group):
    iid = intake(sc, "AN-U", "report")
    classify(sc, iid, unit_name=unit)
    t = sc.task(iid, "Task_unit_handle")
    assert t["candidate_groups"] == [group] and sc.data(iid)["unit_group"] == group
