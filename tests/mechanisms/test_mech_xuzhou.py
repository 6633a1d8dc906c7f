"""Xuzhou (徐州市) "one supervision, then a second" (一次督办、二次督办): scenario tests.

Diagram: bpmn/xz_two_supervisions.bpmn (process xz_two_supervisions), BPMN only: no Python of its own.
Seed 002 (《徐州市2019营商环境提升年工作方案》): the comprehensive enterprise service centre
(企业综合服务中心) takes the enterprise's problem (受理登记研判, also from the portal). A general
problem (一般问题): the centre supervises once with a deadline (一次督办、限期解决: 督办函, 5
working days by default, a 催办 at 80%) → the unit reports (退单 back to the centre if it is not
its remit) → the centre checks (核查, 回访企业): rectified → 对单销号 and the result told; not
rectified, or the deadline passed → the city business-environment office (市营商办) supervises a
second time (二次督办: 督办函, 3 working days by default, orange warning at 80%) → rectified →
销号; still not, or late → red warning and 严肃问责 (督查问责组: 一案双查 → 移送市纪委监委 →
快查快处, a typical case goes on the quarterly list). A major problem (重大问题): the office's
coordination group holds a 会商会办 (议定事项, 交办函 to the lead unit, 10 working days by
default); not implemented (late or checked short) → 二次督办 as above.

Candidate groups (demo users in appeals/demo.py):
    xz_centre          市企业综合服务中心              xz_zhongxin
    xz_office          市优化营商环境办公室（二次督办）  xz_yingshang
    xz_coordination    市营商办综合协调组                xz_xietiao
    xz_accountability  市营商办督查问责组                xz_wenze
    xz_discipline      市纪委监委                        xz_jiwei
    xz_unit_planning, xz_unit_housing, xz_unit_market, xz_unit_approval, xz_unit_hrss,
    xz_unit_district   责任单位                          xz_danwei
"""

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from qihu import appeals
from qihu.cli import main as cli
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Notification
from tests.scenario import ROOT, Scenario, beijing, iso
from tests.scenario import ledger_lines as lines, letter_texts as letters
from qihu.web.app import create_app

BPMN = "bpmn/xz_two_supervisions.bpmn"
KEY = "xz_two_supervisions"
CENTRE_LANE, UNIT_LANE = "市企业综合服务中心", "责任单位"
OFFICE_LANE, COORD_LANE = "市优化营商环境办公室（二次督办）", "市营商办综合协调组"
ACC_LANE, DISC_LANE = "市营商办督查问责组", "市纪委监委"

STAFF = {"zhou": "xz_centre", "ying": "xz_office", "xie": "xz_coordination", "wen": "xz_accountability",
         "ji": "xz_discipline", "gui": "xz_unit_planning", "shi": "xz_unit_market"}

REGISTER = {"company": "徐州某工程机械有限公司", "summary": "新建厂房不动产权证办理超期", "category": "complaint",
            "channel": "window", "problem_level": "general", "assess_opinion": "属一般问题，由中心一次督办"}
FIRST = {"unit_group": "xz_unit_planning", "requirement": "限期办结不动产权首次登记并答复企业"}
SECOND = {"second_requirement": "主要负责同志牵头，限期发证"}
VERIFY_OK = {"rectified": True, "enterprise_view": "4", "verify_note": "企业确认已领证"}
ACCOUNTABILITY = {"responsible_person": "不动产登记科科长", "leader_responsibility": "市自然资源和规划局分管负责同志（领导责任）",
                  "accountability_measure": "admonish", "accountability_facts": "两次督办仍未办结不动产权登记"}
MAJOR = dict(REGISTER, summary="园区企业用电增容涉及多部门", problem_level="major", assess_opinion="涉及多部门，属重大问题")
CONSULT = {"consult_units": "市发展改革委、市市场监督管理局、国网徐州供电公司", "consult_decision": "市市场监管局牵头协调增容报装",
           "unit_group": "xz_unit_market"}
DEFAULT_BASIS = "《中国共产党问责条例》《中国共产党纪律处分条例》"


# -- deployment through the public paths ---------------------------------------------------------
def deploy_over_rest(engine):
    """POST /api/deployments (multipart) as an administrator, like an administrator's upload."""
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    with open(ROOT / BPMN, "rb") as f:
        r = app.test_client().post("/api/deployments", data={"files": (f, "xz_two_supervisions.bpmn")},
                                   content_type="multipart/form-data", headers={"X-Qihu-User": "admin"})
    assert r.status_code == 201, r.get_json()
    return app, r.get_json()


@pytest.fixture
def sc(engine, clock):
    deploy_over_rest(engine)
    return Scenario(engine, clock, members=STAFF)




def bodies(engine, iid, title):
    with engine.db.read() as s:
        return [n.body for n in s.scalars(select(Notification).where(Notification.instance_id == iid,
                                                                     Notification.title == title)
                                          .order_by(Notification.id))]


def fired(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "timer_fired")]


def start(sc, bk, data=None, register=REGISTER):
    iid = sc.start(KEY, data or {}, business_key=bk, user="zhou")
    t = sc.task(iid, "Task_register")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["xz_centre"], CENTRE_LANE, None)
    sc.complete(iid, "Task_register", "zhou", register)
    return iid


def first_supervise(sc, iid, **changes):
    t = sc.task(iid, "Task_first_supervise")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["xz_centre"], CENTRE_LANE, None)
    sc.complete(iid, "Task_first_supervise", "zhou", dict(FIRST, **changes))


def report(sc, iid, element="Task_first_rectify", user="gui", text="已办结并发证"):
    sc.complete(iid, element, user, {"rectify_report": text})


def verify(sc, iid, element, user, ok, note):
    sc.complete(iid, element, user, dict(VERIFY_OK, rectified=ok, verify_note=note,
                                         enterprise_view="4" if ok else "2"))


# -- 0. deployed through the REST API and the CLI --------------------------------------------------
def test_the_rest_api_deploys_it_with_its_region_portal_and_return_step(engine):
    app, body = deploy_over_rest(engine)
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [(KEY, 1, True)]
    client = app.test_client()
    defs = client.get("/api/definitions", headers={"X-Qihu-User": "admin"}).get_json()
    assert [(d["key"], d["name"]) for d in defs] == [(KEY, "徐州“一次督办、二次督办”机制")]
    definition = engine.db_get_definition(engine.repository.definitions(key=KEY)[0]["id"])
    info = engine.repository.process(definition)
    assert info.properties["region"] == "徐州市"
    assert info.starter_groups == ["enterprise", "xz_centre"]
    assert info.spec.task_specs["Task_first_rectify"].extensions["returnTo"] == "Task_first_supervise"
    [portal] = [p for p in appeals.of(engine).portal.portal_definitions() if p["key"] == KEY]
    assert (portal["name"], portal["region"]) == ("徐州市企业综合服务中心（涉企问题一次督办、二次督办）", "徐州市")
    assert [c["name"] for c in portal["categories"]] == ["咨询求助", "投诉举报", "维权", "其他涉企问题"]


def test_the_cli_deploys_it_and_a_problem_is_solved_at_the_first_supervision(engine, clock, db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    runner = CliRunner()
    out = runner.invoke(cli, ["deploy", str(ROOT / BPMN)], catch_exceptions=False)
    assert out.exit_code == 0 and f"{KEY} v1" in out.output, out.output
    again = runner.invoke(cli, ["deploy", str(ROOT / BPMN)], catch_exceptions=False)
    assert "unchanged" in again.output
    sc = Scenario(engine, clock, members=STAFF)
    iid = start(sc, "XZ-CLI-1")
    first_supervise(sc, iid)
    report(sc, iid)
    verify(sc, iid, "Task_first_verify", "zhou", True, "已领证")
    assert sc.status(iid) == "completed" and engine.runtime.get(iid)["region"] == "徐州市"


# -- 1. general problem, rectified within the first supervision's deadline --------------------------
def test_general_problem_is_solved_under_the_first_supervision(sc, engine):
    iid = start(sc, "XZ-2026-001")                     # Monday 2026-11-02 09:00
    [(title, data, closed)] = lines(engine, iid, "xz_problem_list")
    assert title == "涉企问题：新建厂房不动产权证办理超期" and not closed
    assert data == {"kind_name": "涉企问题清单", "company": "徐州某工程机械有限公司", "category": "complaint",
                    "channel": "window", "problem_level": "general", "assess_opinion": "属一般问题，由中心一次督办"}
    assert sc.data(iid)["enterprise_user"] == ""        # registered at the window: no portal account
    first_supervise(sc, iid)                           # deadline left out: 5 working days
    data = sc.data(iid)
    assert (data["deadline_days"], data["responsible_unit"], data["supervision_round"]) == (5, "市自然资源和规划局", 1)

    [(ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("督办函", "市自然资源和规划局", "2026年11月9日")
    for words in ("徐州市企业综合服务中心", "一次督办：新建厂房不动产权证办理超期", "限期办结不动产权首次登记并答复企业",
                  "徐州某工程机械有限公司", "XZ-2026-001", "市优化营商环境办公室进行二次督办"):
        assert words in text

    t = sc.task(iid, "Task_first_rectify")             # Mon 09:00 + 5 working days = next Monday 09:00
    assert (t["candidate_groups"], t["lane"]) == (["xz_unit_planning"], UNIT_LANE)
    assert t["due_at"] == iso(2026, 11, 9, 9, 0) and t["sla_colour"] == "green"
    assert sc.inbox("gui") == ["Task_first_rectify"] and sc.inbox("shi") == []
    sc.wait_until(2026, 11, 5, 8, 59)
    assert sc.task(iid, "Task_first_rectify")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 5, 9, 0)                   # 60% of the working time
    assert sc.task(iid, "Task_first_rectify")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 8, 59)
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 11, 6, 9, 0)                   # 80%: the centre urges the unit (催办)
    assert sc.task(iid, "Task_first_rectify")["sla_colour"] == "orange"
    assert sc.notifications(iid) == [("group", "xz_unit_planning", "一次督办催办")]
    assert bodies(engine, iid, "一次督办催办") == ["一次督办事项整改期限将至，请抓紧整改到位并书面反馈：新建厂房不动产权证办理超期"]

    sc.wait_until(2026, 11, 6, 10, 0)
    sc.complete(iid, "Task_first_rectify", "gui", {"rectify_report": "已办结首次登记并发证", "rectify_evidence": "不动产权证书复印件"})
    t = sc.task(iid, "Task_first_verify")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["xz_centre"], CENTRE_LANE, None)
    verify(sc, iid, "Task_first_verify", "zhou", True, "企业确认已领证")
    assert lines(engine, iid, "xz_problem_list")[0][2] is True              # 对单销号
    assert sc.notifications(iid) == [("group", "xz_unit_planning", "一次督办催办"),
                                     ("group", "xz_unit_planning", "涉企问题整改到位销号")]
    assert bodies(engine, iid, "涉企问题整改到位销号") == [
        "您反映的“新建厂房不动产权证办理超期”已由市自然资源和规划局整改到位：已办结首次登记并发证"]
    assert sc.colours(iid) == ["yellow", "orange"]
    assert "Event_first_remind" in fired(sc, iid) and "Event_first_overdue" not in fired(sc, iid)
    assert lines(engine, iid, "warning_list") == [] and lines(engine, iid, "discipline_referral") == []
    assert sc.ready(iid) == [] and sc.status(iid) == "completed"


# -- 2. not rectified at the centre's check: the office supervises a second time, then solved --------
def test_short_rectification_goes_to_the_second_supervision_which_solves_it(sc, engine):
    iid = start(sc, "XZ-2026-002")
    first_supervise(sc, iid, deadline_days=3)           # Mon 09:00 → Thu 11-05 09:00
    assert sc.task(iid, "Task_first_rectify")["due_at"] == iso(2026, 11, 5, 9, 0)
    assert letters(engine, iid)[0][2] == "2026年11月5日"
    sc.wait_until(2026, 11, 3, 10, 0)
    report(sc, iid, text="已受理登记申请")
    verify(sc, iid, "Task_first_verify", "zhou", False, "企业反映产权证仍未发放")
    assert sc.data(iid)["escalation_reason"] == "一次督办后整改不到位：企业反映产权证仍未发放"
    assert lines(engine, iid, "xz_problem_list")[0][2] is False

    t = sc.task(iid, "Task_second_supervise")           # the office starts it within 3 working days
    assert (t["candidate_groups"], t["lane"], t["priority"]) == (["xz_office"], OFFICE_LANE, 80)
    assert t["due_at"] == iso(2026, 11, 6, 10, 0)
    assert sc.inbox("ying") == ["Task_second_supervise"] and sc.inbox("zhou") == []
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_second_supervise", "ying", SECOND)     # 3 working days by default
    data = sc.data(iid)
    assert (data["second_days"], data["supervision_round"]) == (3, 2)

    first, second = letters(engine, iid)
    assert first[:2] == ("督办函", "市自然资源和规划局")
    assert second[:3] == ("督办函", "市自然资源和规划局", "2026年11月9日")
    for words in ("徐州市优化营商环境办公室", "二次督办：新建厂房不动产权证办理超期", "一次督办后整改不到位：企业反映产权证仍未发放",
                  "主要负责同志牵头，限期发证", "严肃问责"):
        assert words in second[3]

    t = sc.task(iid, "Task_second_rectify")             # Wed 09:00 + 3 working days, over the weekend
    assert (t["candidate_groups"], t["lane"], t["priority"]) == (["xz_unit_planning"], UNIT_LANE, 80)
    assert t["due_at"] == iso(2026, 11, 9, 9, 0)
    sc.wait_until(2026, 11, 6, 4, 12)                  # 60%: Wed 15h + Thu 24h + Fri 4.2h of 72h
    assert sc.task(iid, "Task_second_rectify")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 18, 35)
    assert lines(engine, iid, "warning_list") == []
    sc.wait_until(2026, 11, 6, 18, 36)                 # 80%: on the supervision warning list (orange)
    assert sc.task(iid, "Task_second_rectify")["sla_colour"] == "orange"
    [(title, wdata, _)] = lines(engine, iid, "warning_list")
    assert title == "橙色预警：二次督办期限将至尚未整改到位：新建厂房不动产权证办理超期（责任单位市自然资源和规划局）"
    assert wdata["level"] == "orange"
    assert sc.notifications(iid) == [("group", "xz_unit_planning", "橙色预警"), ("group", "xz_office", "橙色预警")]

    sc.wait_until(2026, 11, 9, 8, 30)
    report(sc, iid, "Task_second_rectify", text="不动产权证已发放")
    t = sc.task(iid, "Task_second_verify")
    assert (t["candidate_groups"], t["lane"]) == (["xz_office"], OFFICE_LANE)
    verify(sc, iid, "Task_second_verify", "ying", True, "企业确认已领证")
    assert lines(engine, iid, "xz_problem_list")[0][2] is True
    assert sc.notifications(iid)[-1] == ("group", "xz_unit_planning", "涉企问题整改到位销号")
    assert sc.colours(iid) == ["yellow", "orange"]
    assert lines(engine, iid, "discipline_referral") == []
    assert sc.status(iid) == "completed"


# -- 3. late twice: second supervision at the first deadline, 严肃问责 at the second ------------------
def test_late_at_both_deadlines_ends_in_accountability_and_a_typical_case(sc, engine):
    iid = start(sc, "XZ-2026-003")
    first_supervise(sc, iid)                           # due Mon 11-09 09:00
    sc.wait_until(2026, 11, 9, 8, 59)
    assert sc.ready(iid) == ["Task_first_rectify"]
    sc.wait_until(2026, 11, 9, 9, 0)                   # the deadline: 整改落实不力 → 二次督办
    assert sc.ready(iid) == ["Task_second_supervise"]
    assert "Event_first_overdue" in fired(sc, iid)
    assert sc.data(iid)["escalation_reason"] == "一次督办逾期未反馈整改情况"
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    assert sc.notifications(iid) == [("group", "xz_unit_planning", "一次督办催办")]

    sc.wait_until(2026, 11, 9, 10, 0)
    sc.complete(iid, "Task_second_supervise", "ying", dict(SECOND, second_days=2))   # due Wed 11-11 10:00
    assert "一次督办逾期未反馈整改情况" in letters(engine, iid)[1][3]
    assert sc.task(iid, "Task_second_rectify")["due_at"] == iso(2026, 11, 11, 10, 0)
    sc.wait_until(2026, 11, 11, 0, 23)
    assert lines(engine, iid, "warning_list") == []
    sc.wait_until(2026, 11, 11, 0, 24)                 # 80% of 48h: Mon 14h + Tue 24h + Wed 0.4h
    assert [d["level"] for _, d, _ in lines(engine, iid, "warning_list")] == ["orange"]
    sc.wait_until(2026, 11, 11, 9, 59)
    assert sc.ready(iid) == ["Task_second_rectify"]
    sc.wait_until(2026, 11, 11, 10, 0)                 # still late: red warning and 严肃问责
    assert "Event_second_overdue" in fired(sc, iid)
    warnings = lines(engine, iid, "warning_list")
    assert [d["level"] for _, d, _ in warnings] == ["orange", "red"]
    assert warnings[1][0] == "红色预警：二次督办逾期未反馈整改情况：新建厂房不动产权证办理超期（责任单位市自然资源和规划局）"
    assert sc.notifications(iid)[-2:] == [("group", "xz_office", "红色预警"), ("group", "xz_accountability", "红色预警")]

    t = sc.task(iid, "Task_accountability")            # 问责意见 within 5 working days
    assert (t["candidate_groups"], t["lane"]) == (["xz_accountability"], ACC_LANE)
    assert t["due_at"] == iso(2026, 11, 18, 10, 0)
    sc.wait_until(2026, 11, 12, 9, 0)
    sc.complete(iid, "Task_accountability", "wen", ACCOUNTABILITY)           # 问责依据 left at its default
    [(title, rdata, closed)] = lines(engine, iid, "discipline_referral")
    assert title == "严肃问责：市自然资源和规划局（新建厂房不动产权证办理超期）" and not closed
    assert rdata == {"reason": "二次督办逾期未反馈整改情况", "responsible_unit": "市自然资源和规划局",
                     "responsible_person": "不动产登记科科长",
                     "leader_responsibility": "市自然资源和规划局分管负责同志（领导责任）", "measure": "admonish",
                     "facts": "两次督办仍未办结不动产权登记", "basis": DEFAULT_BASIS, "company": "徐州某工程机械有限公司"}
    assert sc.notifications(iid)[-1] == ("group", "xz_discipline", "严肃问责移送")
    assert bodies(engine, iid, "严肃问责移送") == [
        "市自然资源和规划局：二次督办逾期未反馈整改情况。直接责任人：不动产登记科科长；"
        "领导责任：市自然资源和规划局分管负责同志（领导责任）。问责依据：" + DEFAULT_BASIS]

    t = sc.task(iid, "Task_discipline")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["xz_discipline"], DISC_LANE, None)
    assert sc.inbox("ji") == ["Task_discipline"] and sc.inbox("wen") == []
    sc.complete(iid, "Task_discipline", "ji", {"discipline_result": "对责任人诫勉，对分管负责同志约谈", "typical_case": True})
    [(title, tdata, _)] = lines(engine, iid, "xz_typical_case")
    assert title == "典型案例：市自然资源和规划局（新建厂房不动产权证办理超期）"
    assert tdata == {"kind_name": "破坏营商环境典型案例", "responsible_unit": "市自然资源和规划局",
                     "discipline_result": "对责任人诫勉，对分管负责同志约谈", "measure": "admonish"}
    assert [l[0] for l in letters(engine, iid)] == ["督办函", "督办函"]
    assert lines(engine, iid, "xz_problem_list")[0][2] is False   # accountability does not close the problem
    assert sc.colours(iid) == ["yellow", "orange", "red", "yellow", "orange", "red"]
    assert sc.status(iid) == "completed"


# -- 4. still short after the second supervision: 严肃问责, not a typical case -----------------------
def test_still_short_after_the_second_supervision_is_referred_without_a_typical_case(sc, engine):
    iid = start(sc, "XZ-2026-004")
    first_supervise(sc, iid)
    report(sc, iid, text="正在办理")
    verify(sc, iid, "Task_first_verify", "zhou", False, "未实质整改")
    sc.complete(iid, "Task_second_supervise", "ying", SECOND)
    report(sc, iid, "Task_second_rectify", text="已补正材料")
    verify(sc, iid, "Task_second_verify", "ying", False, "企业仍未领证")
    assert sc.ready(iid) == ["Task_accountability"]
    assert sc.data(iid)["accountability_reason"] == "二次督办仍不能整改到位：企业仍未领证"
    [(title, wdata, _)] = lines(engine, iid, "warning_list")
    assert title == "红色预警：二次督办仍不能整改到位：企业仍未领证：新建厂房不动产权证办理超期（责任单位市自然资源和规划局）"
    sc.complete(iid, "Task_accountability", "wen", dict(ACCOUNTABILITY, accountability_measure="criticism",
                                                         accountability_basis="《徐州市优化营商环境问责办法》"))
    [(_, rdata, _)] = lines(engine, iid, "discipline_referral")
    assert (rdata["reason"], rdata["measure"], rdata["basis"]) == \
        ("二次督办仍不能整改到位：企业仍未领证", "criticism", "《徐州市优化营商环境问责办法》")
    sc.complete(iid, "Task_discipline", "ji", {"discipline_result": "通报批评", "typical_case": False})
    assert lines(engine, iid, "xz_typical_case") == []
    assert sc.events(iid, "timer_fired") == [] and sc.colours(iid) == []
    assert sc.status(iid) == "completed"


# -- 5. major problem: 会商会办, implemented, result told to the enterprise -------------------------
def test_major_problem_is_consulted_and_implemented(sc, engine):
    iid = start(sc, "XZ-2026-005", {"enterprise_user": "ent_xz"}, register=MAJOR)
    assert lines(engine, iid, "xz_problem_list")[0][1]["problem_level"] == "major"
    t = sc.task(iid, "Task_consult")                    # 会商 within 10 working days
    assert (t["candidate_groups"], t["lane"]) == (["xz_coordination"], COORD_LANE)
    assert t["due_at"] == iso(2026, 11, 16, 9, 0)
    assert sc.inbox("xie") == ["Task_consult"] and sc.inbox("zhou") == []
    sc.wait_until(2026, 11, 3, 9, 0)
    sc.complete(iid, "Task_consult", "xie", dict(CONSULT, consult_days=5))    # due Tue 11-10 09:00

    [(title, cdata, _)] = lines(engine, iid, "xz_consultation")
    assert title == "会商会办：园区企业用电增容涉及多部门"
    assert (cdata["kind_name"], cdata["consult_units"], cdata["consult_decision"], cdata["responsible_unit"]) == \
        ("会商会办事项", CONSULT["consult_units"], CONSULT["consult_decision"], "市市场监督管理局")
    assert cdata["deadline"].startswith("2026-11-10T")
    [(ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("交办函", "市市场监督管理局", "2026年11月10日")
    for words in ("徐州市优化营商环境办公室综合协调组", CONSULT["consult_units"], CONSULT["consult_decision"]):
        assert words in text

    t = sc.task(iid, "Task_implement")
    assert (t["candidate_groups"], t["lane"]) == (["xz_unit_market"], UNIT_LANE)
    assert t["due_at"] == iso(2026, 11, 10, 9, 0)
    assert sc.inbox("shi") == ["Task_implement"] and sc.inbox("gui") == []
    sc.wait_until(2026, 11, 6, 9, 0)                   # 60% of 5 working days
    assert sc.task(iid, "Task_implement")["sla_colour"] == "yellow"
    report(sc, iid, "Task_implement", "shi", "增容报装已完成送电")
    t = sc.task(iid, "Task_consult_verify")
    assert (t["candidate_groups"], t["lane"]) == (["xz_coordination"], COORD_LANE)
    verify(sc, iid, "Task_consult_verify", "xie", True, "企业确认已送电")
    assert lines(engine, iid, "xz_problem_list")[0][2] is True
    assert sc.notifications(iid) == [("group", "xz_unit_market", "涉企问题整改到位销号"),
                                     ("user", "ent_xz", "涉企问题整改到位销号")]
    data = sc.data(iid)
    assert (data["supervision_round"], data["requirement"]) == (0, CONSULT["consult_decision"])
    assert sc.colours(iid) == ["yellow"] and sc.status(iid) == "completed"


# -- 6. the agreed measures are not carried out: 二次督办 ------------------------------------------
def test_consultation_measures_late_go_to_the_second_supervision(sc, engine):
    iid = start(sc, "XZ-2026-006", register=MAJOR)
    sc.complete(iid, "Task_consult", "xie", dict(CONSULT, consult_days=2))    # Mon 09:00 → Wed 11-04 09:00
    sc.wait_until(2026, 11, 4, 8, 59)
    assert sc.ready(iid) == ["Task_implement"]
    sc.wait_until(2026, 11, 4, 9, 0)
    assert sc.ready(iid) == ["Task_second_supervise"]
    assert "Event_implement_overdue" in fired(sc, iid)
    assert sc.data(iid)["escalation_reason"] == "会商会办议定事项逾期未落实"
    sc.complete(iid, "Task_second_supervise", "ying", SECOND)
    second = letters(engine, iid)[1]
    assert second[:2] == ("督办函", "市市场监督管理局") and "会商会办议定事项逾期未落实" in second[3]
    assert sc.task(iid, "Task_second_rectify")["candidate_groups"] == ["xz_unit_market"]
    report(sc, iid, "Task_second_rectify", "shi", "已送电")
    verify(sc, iid, "Task_second_verify", "ying", True, "企业确认已送电")
    assert lines(engine, iid, "xz_problem_list")[0][2] is True and sc.status(iid) == "completed"


def test_consultation_measures_checked_short_go_to_the_second_supervision(sc, engine):
    iid = start(sc, "XZ-2026-007", register=MAJOR)
    sc.complete(iid, "Task_consult", "xie", CONSULT)
    assert sc.task(iid, "Task_implement")["due_at"] == iso(2026, 11, 16, 9, 0)    # 10 working days by default
    report(sc, iid, "Task_implement", "shi", "已受理报装")
    verify(sc, iid, "Task_consult_verify", "xie", False, "尚未送电")
    assert sc.ready(iid) == ["Task_second_supervise"]
    assert sc.data(iid)["escalation_reason"] == "会商会办议定事项落实不力：尚未送电"
    assert sc.status(iid) == "running"


# -- 7. the unit returns the first supervision (退单): the centre names another unit ---------------
def test_a_unit_returns_a_problem_outside_its_remit_to_the_centre(sc, engine):
    iid = start(sc, "XZ-2026-008")
    first_supervise(sc, iid)
    t = sc.task(iid, "Task_first_rectify")
    assert engine.handoff.return_target(t["id"])["element_id"] == "Task_first_supervise"
    with pytest.raises(Forbidden):
        engine.handoff.return_task(t["id"], "shi", "不属于本单位")             # not this unit's task
    engine.handoff.return_task(t["id"], "gui", "属于市场监管职责，不属本单位")
    assert sc.ready(iid) == ["Task_first_supervise"]
    assert sc.data(iid)["return_reason"] == "属于市场监管职责，不属本单位"
    assert ("group", "xz_centre", "退单：限期整改（一次督办）") in sc.notifications(iid)
    first_supervise(sc, iid, unit_group="xz_unit_market")
    assert [(l[0], l[1]) for l in letters(engine, iid)] == [("督办函", "市自然资源和规划局"), ("督办函", "市市场监督管理局")]
    assert sc.inbox("shi") == ["Task_first_rectify"] and sc.inbox("gui") == []
    report(sc, iid, user="shi")
    verify(sc, iid, "Task_first_verify", "zhou", True, "已办结")
    assert sc.status(iid) == "completed"


# -- 8. an enterprise submits through the portal ---------------------------------------------------
def test_a_portal_appeal_gets_the_result_in_the_enterprise_account(sc, engine):
    out = appeals.of(engine).portal.submit(KEY, "徐州某新能源科技有限公司", "91330100799655058B", "王经理", "13812345678",
                                "rights", "项目竣工验收后备案迟迟未办")
    iid = out["instance_id"]
    assert engine.runtime.get(iid)["region"] == "徐州市"
    data = sc.data(iid)
    assert (data["enterprise_user"], data["channel"]) == ("qiye:" + out["tracking_no"], "企业自主提交")
    sc.complete(iid, "Task_register", "zhou", dict(REGISTER, company=data["company"], summary=data["summary"],
                                                   category="rights", channel="企业自主提交"))
    first_supervise(sc, iid, unit_group="xz_unit_housing")
    sc.member("zhu", "xz_unit_housing")
    report(sc, iid, user="zhu", text="备案已办结")
    verify(sc, iid, "Task_first_verify", "zhou", True, "企业确认")
    assert sc.notifications(iid) == [("group", "xz_unit_housing", "涉企问题整改到位销号"),
                                     ("user", "qiye:" + out["tracking_no"], "涉企问题整改到位销号")]
    assert sc.status(iid) == "completed"


# -- 9. deadlines across the 2026 National Day holiday ---------------------------------------------
def test_first_supervision_deadline_skips_national_day_and_urges_on_the_make_up_saturday(sc, engine, clock):
    clock.set(beijing(2026, 9, 29, 9, 0))              # Tuesday; Oct 1–7 off, Sat Oct 10 a working day
    iid = start(sc, "XZ-2026-009")
    first_supervise(sc, iid)                           # Sep 30, Oct 8, 9, Sat 10, Mon 12
    assert sc.task(iid, "Task_first_rectify")["due_at"] == iso(2026, 10, 12, 9, 0)
    assert letters(engine, iid)[0][2] == "2026年10月12日"
    sc.wait_until(2026, 10, 7, 23, 59)                 # the holiday uses no working time
    assert sc.colours(iid) == [] and sc.notifications(iid) == []
    sc.wait_until(2026, 10, 10, 8, 59)
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 10, 10, 9, 0)                  # 80% falls on the make-up Saturday
    assert sc.notifications(iid) == [("group", "xz_unit_planning", "一次督办催办")]
    assert sc.task(iid, "Task_first_rectify")["sla_colour"] == "orange"
    sc.wait_until(2026, 10, 12, 9, 0)
    assert sc.ready(iid) == ["Task_second_supervise"]
    assert sc.task(iid, "Task_second_supervise")["due_at"] == iso(2026, 10, 15, 9, 0)


# -- 10. forms and authorisation -------------------------------------------------------------------
def test_forms_refuse_bad_fields_and_outsiders_are_forbidden(sc, engine):
    iid = sc.start(KEY, {}, business_key="XZ-2026-010", user="zhou")
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_register", "zhou", {k: v for k, v in REGISTER.items() if k != "problem_level"})
    assert list(err.value.errors) == ["problem_level"]
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_register", "zhou", dict(REGISTER, category="咨询", channel="微信"))
    assert set(err.value.errors) == {"category", "channel"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_register", "ying", REGISTER)                 # the office does not register
    sc.complete(iid, "Task_register", "zhou", REGISTER)
    for bad in (0, 21, "五"):
        with pytest.raises(ValidationFailed) as err:
            sc.complete(iid, "Task_first_supervise", "zhou", dict(FIRST, deadline_days=bad))
        assert list(err.value.errors) == ["deadline_days"]
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_first_supervise", "zhou", dict(FIRST, unit_group="xz_office"))
    assert list(err.value.errors) == ["unit_group"]
    first_supervise(sc, iid, deadline_days=20)
    assert sc.task(iid, "Task_first_rectify")["due_at"] == iso(2026, 11, 30, 9, 0)
    with pytest.raises(Forbidden):
        report(sc, iid, user="shi")                                         # another unit
    with pytest.raises(Forbidden):
        report(sc, iid, user="zhou")                                        # the centre does not rectify
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_first_rectify", "gui", {"rectify_evidence": "x"})
    assert list(err.value.errors) == ["rectify_report"]
    report(sc, iid)
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_first_verify", "zhou", {"verify_note": "x"})
    assert set(err.value.errors) == {"rectified", "enterprise_view"}
    verify(sc, iid, "Task_first_verify", "zhou", False, "未到位")
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_second_supervise", "zhou", SECOND)           # the centre cannot supervise twice
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_second_supervise", "ying", dict(SECOND, second_days=11))
    assert list(err.value.errors) == ["second_days"]
    sc.complete(iid, "Task_second_supervise", "ying", SECOND)
    report(sc, iid, "Task_second_rectify")
    verify(sc, iid, "Task_second_verify", "ying", False, "仍未到位")
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_accountability", "ji", ACCOUNTABILITY)       # 纪委 acts on the referral
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_accountability", "wen", dict(ACCOUNTABILITY, accountability_measure="罚款",
                                                            leader_responsibility=""))
    assert set(err.value.errors) == {"accountability_measure", "leader_responsibility"}
    sc.complete(iid, "Task_accountability", "wen", ACCOUNTABILITY)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_discipline", "wen", {"discipline_result": "x", "typical_case": False})
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_discipline", "ji", {"discipline_result": "x"})
    assert list(err.value.errors) == ["typical_case"]
    sc.complete(iid, "Task_discipline", "ji", {"discipline_result": "x", "typical_case": "否"})
    assert sc.status(iid) == "completed"
