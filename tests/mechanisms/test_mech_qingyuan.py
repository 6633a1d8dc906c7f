"""Qingyuan "three ones" (庆元县“三个一”涉企问题工作机制): bpmn/qy_three_ones.bpmn with bpmn/qy_must_review.dmn.

一场复盘找短板、一批机制固成效、一个阵地树典型. An appeal is first handled as usual: 受理登记 (into the
县级全量问题库), 交办 to a unit (退单 comes back here), 部门办理 (5 working days; overdue: red warning
list line and a 督办函), 答复企业, 企业好差评. Then the centre's 分析研判 and the 三必复盘 decision table (COLLECT: 市级以上交办问题、
复杂问题、涉及政策制度性问题; a bad rating is reviewed too, "有过推定" — an assumption of the diagram).
疑难问题: the county leader's 一案一剖, with a third party when invited (reminder 2 working days before
the 10-day deadline); other reviewed issues: the centre's 一场复盘. Every review is a ledger line
(复盘分析台账). Complex and hard issues: 一案一报 (ledger line 一案一报分析报告, sent to the county's main
leaders as a notification). A mechanism found in the review: 提示函 to the unit and a 长效机制 line.
Cases: good → 案例库 and 县“营商专栏”; bad → 移送督查室、纪委, checked; confirmed → 反面案例 and a warning
notice; not confirmed → closed without publication.

Groups:
    qy_centre          县企业综合服务中心（企服中心）
    qy_unit_*          承办部门 (economy, resources, market, housing, town)
    qy_county_leader   分管县领导
    qy_third_party     第三方（专家、机构）
    qy_supervision     县委县政府督查室、县纪委县监委
    qy_main_leader     县委县政府主要领导 (only notified: 一案一报)
The enterprise rates as `enterprise_user` (the centre enters the rating after a return visit otherwise).

Deployed through the public paths only: the REST API (POST /api/deployments) for the scenarios, and once
through the `qihu deploy` command.
"""
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from sqlalchemy import select

from qihu import appeals
from qihu.cli import main as qihu_cli
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment, Job
from qihu.appeals.models import LedgerEntry
from tests.scenario import Scenario, iso
from qihu.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "bpmn" / "qy_three_ones.bpmn", ROOT / "bpmn" / "qy_must_review.dmn"]
KEY = "qy_three_ones"
CREDIT_CODE = "91330100799655058B"

STAFF = {
    "zhongxin": ["qy_centre"], "jingxin": ["qy_unit_economy"], "ziran": ["qy_unit_resources"],
    "lingdao": ["qy_county_leader"], "zhuanjia": ["qy_third_party"], "ducha": ["qy_supervision"],
    "zhuyao": ["qy_main_leader"], "qiye_a": [], "outsider": ["lq_panel"],
}
CASE = {"company": "庆元某竹木制品有限公司", "summary": "新建厂房用地报批进度慢", "category": "resource",
        "assigned_level": "county", "channel": "12345"}
GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "满意"}
BAD = {"rate_plan": "4", "rate_process": "2", "rate_result": "4", "rate_comment": "办理过程反复补材料"}
REVIEW = {"root_cause": "用地报批材料要求各部门口径不一", "weak_links": "部门间预审衔接不畅",
          "presumption": "企业诉求有理、难题有解，部门工作有过", "simulation": "推演统一口径后对在建项目无次生影响",
          "mechanism_kind": "rule", "mechanism_content": "建立用地报批材料一次性告知制度"}
REASON_CITY, REASON_COMPLEX, REASON_HARD = "市级以上交办问题必复盘", "复杂问题必复盘", "复杂问题必复盘（疑难问题，一案一剖）"
REASON_POLICY, REASON_BAD = "涉及政策制度性问题必复盘", "企业差评，“有过推定”复盘"
UNITS = ["qy_unit_economy", "qy_unit_resources", "qy_unit_market", "qy_unit_housing", "qy_unit_town"]


# -- deployment through the public paths -----------------------------------------------------------
def deploy_over_rest(engine):
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    client = app.test_client()
    handles = [open(f, "rb") for f in FILES]
    try:
        r = client.post("/api/deployments", data={"files": [(h, f.name) for h, f in zip(handles, FILES)]},
                        content_type="multipart/form-data", headers={"X-Qihu-User": "admin"})
    finally:
        for h in handles:
            h.close()
    assert r.status_code == 201, r.get_json()
    return r.get_json(), client


@pytest.fixture
def sc(engine, clock):
    _, client = deploy_over_rest(engine)
    s = Scenario(engine, clock, members={u: g for u, g in STAFF.items() if g})
    s.client = client
    return s


def test_rest_deploy_gives_the_process_with_region_starters_and_return_step(engine):
    body, client = deploy_over_rest(engine)
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [(KEY, 1, True)]
    defs = client.get("/api/definitions", headers={"X-Qihu-User": "admin"}).get_json()
    assert [(d["key"], d["name"]) for d in defs] == [(KEY, "庆元县“三个一”涉企问题工作机制")]
    definition = engine.db_get_definition(engine.repository.definitions(key=KEY)[0]["id"])
    info = engine.repository.process(definition)
    assert info.properties["region"] == "丽水市庆元县"
    assert info.starter_groups == ["enterprise", "qy_centre"]
    assert info.spec.task_specs["Task_handle"].extensions["returnTo"] == "Task_dispatch"
    # the enterprise portal offers it, with the registration form's categories
    [offered] = [d for d in appeals.of(engine).portal.portal_definitions() if d["key"] == KEY]
    assert [c["id"] for c in offered["categories"]] == ["policy", "resource", "approval", "enforcement", "other"]


def test_cli_deploy_then_an_ordinary_issue_runs(engine, clock, db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    result = CliRunner().invoke(qihu_cli, ["deploy", *map(str, FILES)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{KEY} v1"
    sc = Scenario(engine, clock, members={u: g for u, g in STAFF.items() if g})
    iid = handled(sc, "QY-CLI-1")
    assess(sc, iid)
    assert ends(sc, iid) == ["EndEvent_archived"] and sc.status(iid) == "completed"


# -- helpers ---------------------------------------------------------------------------------------
def register(sc, bk, unit_group="qy_unit_resources", **changes):
    """Registered (受理登记) and assigned (交办) to a unit: 部门办理 is open."""
    iid = sc.start(KEY, {"enterprise_user": "qiye_a"}, business_key=bk, user="zhongxin")
    sc.complete(iid, "Task_register", "zhongxin", {**CASE, **changes})
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": unit_group})
    return iid


def handled(sc, bk, rating=GOOD, unit_user="ziran", **changes):
    """Registered, handled by the unit, answered and rated: the 分析研判 step is open."""
    iid = register(sc, bk, **changes)
    sc.complete(iid, "Task_handle", unit_user, {"handle_result": "solved", "reply": "已完成用地预审，进入报批",
                                                "handle_measures": "并联审批"})
    sc.complete(iid, "Task_rate", "qiye_a", rating)
    return iid


def assess(sc, iid, complexity="general", policy=False):
    sc.complete(iid, "Task_assess", "zhongxin", {"complexity": complexity, "policy_issue": policy,
                                                 "assess_opinion": "研判意见"})


def ends(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "element_completed") if e["element_id"].startswith("EndEvent")]


def lines(sc, iid, kind):
    """[(title, data, closed?)] of an instance's ledger lines of one kind."""
    with sc.engine.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == iid, LedgerEntry.kind == kind)
                         .order_by(LedgerEntry.id)).all()
        return [(r.title, r.data, r.closed_at is not None) for r in rows]


def letters(sc, iid):
    """[(letter_type, to_unit, deadline, docx text)] of an instance's letters."""
    with sc.engine.db.read() as s:
        rows = s.scalars(select(Attachment).where(Attachment.instance_id == iid, Attachment.kind == "letter")
                         .order_by(Attachment.id)).all()
        return [(a.meta["letter_type"], a.meta["to_unit"], a.meta["deadline"],
                 "\n".join(p.text for p in Document(io.BytesIO(a.content)).paragraphs)) for a in rows]


def jobs(sc, iid):
    with sc.engine.db.read() as s:
        return s.scalars(select(Job).where(Job.instance_id == iid)).all()


# -- 1. an ordinary county issue: handled, answered, rated, not reviewed --------------------------
def test_an_ordinary_county_issue_is_handled_rated_and_archived_without_review(sc):
    iid = sc.start(KEY, {"enterprise_user": "qiye_a"}, business_key="QY-2026-001", user="zhongxin")
    t = sc.task(iid, "Task_register")
    assert (t["candidate_groups"], t["lane"], t["name"]) == (["qy_centre"], "县企业综合服务中心（企服中心）", "受理登记")
    assert t["due_at"] == iso(2026, 11, 3)                                        # 1 working day
    sc.complete(iid, "Task_register", "zhongxin", CASE)

    [(title, data, closed)] = lines(sc, iid, "issue_library")
    assert title == "庆元某竹木制品有限公司：新建厂房用地报批进度慢" and not closed
    assert data == {"kind_name": "县级全量问题库", "company": "庆元某竹木制品有限公司", "category": "resource",
                    "assigned_level": "县级受理"}
    t = sc.task(iid, "Task_dispatch")
    assert (t["candidate_groups"], t["name"], t["due_at"]) == (["qy_centre"], "交办承办部门", iso(2026, 11, 3))
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_resources", "dispatch_note": "请加快预审"})
    t = sc.task(iid, "Task_handle")
    assert (t["candidate_groups"], t["lane"]) == (["qy_unit_resources"], "承办部门")
    assert t["due_at"] == iso(2026, 11, 9)                 # 5 working days, over the weekend
    assert sc.inbox("ziran") == ["Task_handle"] and sc.inbox("jingxin") == []
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_handle", "ziran", {"handle_result": "solved", "reply": "已完成用地预审"})

    assert sc.data(iid)["notice"] == "您反映的诉求“新建厂房用地报批进度慢”已办理完毕。答复如下：已完成用地预审"
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"], t["lane"]) == ("qiye_a", [], "企业")
    assert sc.inbox("qiye_a") == ["Task_rate"] and sc.inbox("zhongxin") == []
    sc.complete(iid, "Task_rate", "qiye_a", GOOD)
    [(title, data, _)] = lines(sc, iid, "rating")
    assert title == "企业评价：方案5，过程4，结果5"
    assert (data["bad"], data["by_enterprise"], data["unit"]) == (False, True, "县自然资源和规划局")

    t = sc.task(iid, "Task_assess")
    assert (t["candidate_groups"], t["due_at"]) == (["qy_centre"], iso(2026, 11, 9))   # 3 working days
    assess(sc, iid)
    assert sc.data(iid)["review_reason"] == []
    assert ends(sc, iid) == ["EndEvent_archived"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []
    assert lines(sc, iid, "review_record") == [] and letters(sc, iid) == [] and sc.notifications(iid) == []
    assert sc.colours(iid) == []


# -- 2. the unit is late: colours on working days, red warning list line, 督办函 -----------------------
def test_late_handling_turns_red_on_working_days_with_a_warning_line_and_a_supervision_letter(sc):
    iid = register(sc, "QY-2026-002")
    t = sc.task(iid, "Task_handle")
    assert (t["due_at"], t["sla_colour"]) == (iso(2026, 11, 9), "green")
    # 5 working days from Mon 09:00: 60% = 3 days (Thu 09:00), 80% = 4 days (Fri 09:00), 100% Mon 09:00
    sc.wait_until(2026, 11, 5, 8, 59)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 5, 9, 0)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 8, 59)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 6, 9, 0)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 8, 23, 59)                       # the weekend does not count
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    assert lines(sc, iid, "warning_list") == [] and letters(sc, iid) == []
    sc.wait_until(2026, 11, 9, 8, 59)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 9, 9, 0)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "red"
    assert sc.colours(iid) == ["yellow", "orange", "red"]

    [(title, data, closed)] = lines(sc, iid, "warning_list")
    assert title == "红色预警：超过5个工作日未办结：县自然资源和规划局，庆元某竹木制品有限公司：新建厂房用地报批进度慢"
    assert data["level"] == "red" and not closed
    assert sc.notifications(iid) == [("group", "qy_unit_resources", "红色预警"), ("group", "qy_centre", "红色预警"),
                                     ("group", "qy_supervision", "红色预警")]
    [(kind, unit, deadline, text)] = letters(sc, iid)
    assert (kind, unit, deadline) == ("督办函", "县自然资源和规划局", "2026年11月11日")   # 2 working days
    assert "庆元县企业综合服务中心" in text and "庆元某竹木制品有限公司：新建厂房用地报批进度慢" in text
    assert "超过5个工作日办理时限仍未办结" in text
    assert sc.ready(iid) == ["Task_handle"]                   # non-interrupting: the unit still has it

    sc.wait_until(2026, 11, 10, 9, 0)
    sc.complete(iid, "Task_handle", "ziran", {"handle_result": "solved", "reply": "已办结"})
    sc.complete(iid, "Task_rate", "qiye_a", GOOD)
    assess(sc, iid)
    assert sorted(ends(sc, iid)) == ["EndEvent_archived", "EndEvent_handle_warned"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 3. 市级以上交办: the centre reviews; a mechanism → 提示函 + 长效机制; no typical case --------------------
def test_a_city_assigned_issue_is_always_reviewed_by_the_centre_and_fixes_a_rule(sc):
    iid = handled(sc, "QY-2026-003", assigned_level="city")
    sc.wait_until(2026, 11, 3, 10, 0)
    assess(sc, iid)                                          # general, no policy issue: still reviewed
    assert sc.data(iid)["review_reason"] == [REASON_CITY]
    t = sc.task(iid, "Task_review")
    assert (t["candidate_groups"], t["name"]) == (["qy_centre"], "组织复盘（一场复盘找短板）")
    assert t["due_at"] == iso(2026, 11, 17, 10, 0)            # 10 working days
    sc.complete(iid, "Task_review", "zhongxin", REVIEW)

    [(title, data, _)] = lines(sc, iid, "review_record")
    assert title == "复盘：庆元某竹木制品有限公司，新建厂房用地报批进度慢"
    assert data == {"kind_name": "复盘分析台账", "reasons": REASON_CITY, "review_by": "县企业综合服务中心（一场复盘）",
                    "root_cause": REVIEW["root_cause"], "weak_links": REVIEW["weak_links"],
                    "presumption": REVIEW["presumption"], "simulation": REVIEW["simulation"],
                    "third_party": "", "third_party_opinion": "", "unit": "县自然资源和规划局"}
    assert lines(sc, iid, "analysis_report") == []            # not a complex issue: no 一案一报
    [(kind, unit, deadline, text)] = letters(sc, iid)
    assert (kind, unit, deadline) == ("提示函", "县自然资源和规划局", "2026年12月1日")   # 20 working days
    assert "“一批机制”固成效：完善一批制度" in text and "建立用地报批材料一次性告知制度" in text
    [(title, data, _)] = lines(sc, iid, "rule_library")
    assert title == "完善一批制度：建立用地报批材料一次性告知制度" and data["mechanism_kind"] == "rule"

    t = sc.task(iid, "Task_case")
    assert (t["candidate_groups"], t["due_at"]) == (["qy_centre"], iso(2026, 11, 6, 10, 0))
    sc.complete(iid, "Task_case", "zhongxin", {"case_type": "none", "case_note": "个案，不具典型性"})
    assert ends(sc, iid) == ["EndEvent_no_case"]
    assert lines(sc, iid, "case_library") == [] and sc.notifications(iid) == []
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 4. several reasons at once; complex → 一案一报; good case → 营商专栏 ------------------------------------
def test_a_complex_policy_issue_from_the_province_gets_a_report_and_becomes_a_good_case(sc):
    iid = handled(sc, "QY-2026-004", assigned_level="province", category="policy", unit_group="qy_unit_economy",
                  unit_user="jingxin")
    assess(sc, iid, complexity="complex", policy=True)
    assert sc.data(iid)["review_reason"] == [REASON_CITY, REASON_COMPLEX, REASON_POLICY]     # all collected
    sc.complete(iid, "Task_review", "zhongxin", {**REVIEW, "mechanism_kind": "none", "mechanism_content": "已有制度"})
    assert lines(sc, iid, "review_record")[0][1]["reasons"] == "；".join([REASON_CITY, REASON_COMPLEX, REASON_POLICY])

    t = sc.task(iid, "Task_report")
    assert (t["candidate_groups"], t["name"], t["due_at"]) == (["qy_centre"], "一案一报：撰写分析报告", iso(2026, 11, 9))
    sc.complete(iid, "Task_report", "zhongxin", {"report_title": "关于惠企政策兑现慢的分析报告",
                                                 "report_content": "成因、处置过程、经验启示、对策建议"})
    [(title, data, _)] = lines(sc, iid, "analysis_report")
    assert title == "关于惠企政策兑现慢的分析报告"
    assert data["kind_name"] == "一案一报分析报告" and data["content"] == "成因、处置过程、经验启示、对策建议"
    assert sc.notifications(iid) == [("group", "qy_main_leader", "一案一报：涉企问题分析报告")]
    assert letters(sc, iid) == [] and lines(sc, iid, "rule_library") == []     # no mechanism this time

    sc.complete(iid, "Task_case", "zhongxin", {"case_type": "good", "case_note": "“拿地即授信”增值服务"})
    [(title, data, _)] = lines(sc, iid, "case_library")
    assert title == "正面典型：庆元某竹木制品有限公司，新建厂房用地报批进度慢"
    assert data["published"] == "县“营商专栏”" and data["case_note"] == "“拿地即授信”增值服务"
    assert sc.notifications(iid)[1:] == [("group", g, "县“营商专栏”刊发典型案例") for g in UNITS + ["qy_centre"]]
    assert ends(sc, iid) == ["EndEvent_good"] and sc.status(iid) == "completed"


# -- 5. 疑难问题: the county leader's 一案一剖 with a third party; bad case confirmed → 反面案例 --------------
def test_a_hard_case_is_dissected_by_the_county_leader_with_a_third_party_and_published_as_a_bad_case(sc):
    iid = handled(sc, "QY-2026-005")
    assess(sc, iid, complexity="hard")
    assert sc.data(iid)["review_reason"] == [REASON_HARD]
    assert sc.ready(iid) == ["Task_leader_plan"]
    t = sc.task(iid, "Task_leader_plan")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["qy_county_leader"], "分管县领导（一案一剖）",
                                                               iso(2026, 11, 5))
    assert sc.inbox("lingdao") == ["Task_leader_plan"] and sc.inbox("zhongxin") == []
    sc.complete(iid, "Task_leader_plan", "lingdao", {"review_plan": "专案复盘，邀请规划设计院参与",
                                                     "invite_third_party": True, "third_party": "丽水市规划设计院"})
    t = sc.task(iid, "Task_third_party")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["qy_third_party"], "第三方（专家、机构）",
                                                               iso(2026, 11, 16))
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_third_party", "zhuanjia", {"third_party_opinion": "规划调整程序可并联"})

    t = sc.task(iid, "Task_leader_dissect")
    assert (t["candidate_groups"], t["name"]) == (["qy_county_leader"], "一案一剖（专案复盘、把脉开方）")
    assert t["due_at"] == iso(2026, 11, 18)                  # 10 working days from Wed Nov 4
    sc.wait_until(2026, 11, 16, 8, 59)                       # 8 working days: 2 before the deadline
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 11, 16, 9, 0)
    assert sc.notifications(iid) == [("group", "qy_county_leader", "专案复盘到期提醒"),
                                     ("group", "qy_centre", "专案复盘到期提醒")]
    assert sc.ready(iid) == ["Task_leader_dissect"]
    sc.complete(iid, "Task_leader_dissect", "lingdao", {**REVIEW, "mechanism_kind": "loophole",
                                                        "mechanism_content": "堵塞规划调整审查漏洞"})
    [(_, data, _)] = lines(sc, iid, "review_record")
    assert (data["review_by"], data["third_party"], data["third_party_opinion"]) == (
        "分管县领导（一案一剖）", "丽水市规划设计院", "规划调整程序可并联")
    sc.complete(iid, "Task_report", "zhongxin", {"report_title": "用地报批疑难问题分析报告", "report_content": "报告"})
    assert [l[0] for l in lines(sc, iid, "analysis_report")] == ["用地报批疑难问题分析报告"]
    assert [l[:2] for l in letters(sc, iid)] == [("提示函", "县自然资源和规划局")]
    assert [l[0] for l in lines(sc, iid, "rule_library")] == ["堵塞一批漏洞：堵塞规划调整审查漏洞"]

    sc.complete(iid, "Task_case", "zhongxin", {"case_type": "bad", "case_note": "对企业诉求推诿拖延"})
    [(title, data, closed)] = lines(sc, iid, "discipline_referral")
    assert title == "负面问题：县自然资源和规划局，新建厂房用地报批进度慢" and not closed
    assert data["to_unit"] == "庆元县委县政府督查室、县纪委县监委"
    t = sc.task(iid, "Task_verify")
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (
        ["qy_supervision"], "县委县政府督查室、县纪委县监委", iso(2026, 11, 30))
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_verify", "ducha", {"confirmed": True, "handling": "约谈", "people_handled": -1})
    assert set(e.value.errors) == {"people_handled"}
    sc.complete(iid, "Task_verify", "ducha", {"confirmed": True, "handling": "约谈相关责任人2人", "people_handled": 2})
    assert lines(sc, iid, "discipline_referral")[0][2] is True                  # 销号
    [(title, data, _)] = lines(sc, iid, "negative_case")
    assert title == "反面案例：县自然资源和规划局，新建厂房用地报批进度慢"
    assert data["kind_name"] == "“不担当、不作为”反面案例" and data["handling"] == "约谈相关责任人2人"
    assert sc.notifications(iid)[3:] == [("group", g, "“不担当、不作为”反面案例警示通报") for g in UNITS + ["qy_centre"]]
    assert sorted(ends(sc, iid)) == ["EndEvent_dissect_reminded", "EndEvent_negative"]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []


# -- 6. 疑难问题 without a third party; a bad case that is not confirmed is not published -----------------
def test_a_hard_case_without_third_party_and_an_unconfirmed_bad_case(sc):
    iid = handled(sc, "QY-2026-006")
    assess(sc, iid, complexity="hard")
    sc.complete(iid, "Task_leader_plan", "lingdao", {"review_plan": "专案复盘", "invite_third_party": False})
    assert sc.ready(iid) == ["Task_leader_dissect"]
    sc.complete(iid, "Task_leader_dissect", "lingdao", {**REVIEW, "mechanism_kind": "none", "mechanism_content": "无"})
    assert lines(sc, iid, "review_record")[0][1]["third_party"] == ""
    sc.complete(iid, "Task_report", "zhongxin", {"report_title": "报告", "report_content": "内容"})
    sc.complete(iid, "Task_case", "zhongxin", {"case_type": "bad", "case_note": "疑似拖延"})
    sc.complete(iid, "Task_verify", "ducha", {"confirmed": False, "handling": "经核查，系企业材料不全所致"})
    assert [l[2] for l in lines(sc, iid, "discipline_referral")] == [True]
    assert lines(sc, iid, "negative_case") == []
    assert ends(sc, iid) == ["EndEvent_not_confirmed"]
    assert sc.notifications(iid) == [("group", "qy_main_leader", "一案一报：涉企问题分析报告")]
    assert sc.status(iid) == "completed" and jobs(sc, iid) == []      # the reminder went with the task


# -- 7. a bad rating: 有过推定 brings even an ordinary issue to review -------------------------------------
def test_a_bad_rating_is_reviewed_by_presumption_of_fault(sc):
    iid = handled(sc, "QY-2026-007", rating=BAD)
    [(title, data, _)] = lines(sc, iid, "rating")
    assert title == "企业评价：方案4，过程2，结果4" and data["bad"] is True
    assess(sc, iid)
    assert sc.data(iid)["review_reason"] == [REASON_BAD]
    assert sc.ready(iid) == ["Task_review"]


@pytest.mark.parametrize("level,complexity,policy,rating,reasons", [
    ("county", "general", False, GOOD, []),
    ("national", "general", False, GOOD, [REASON_CITY]),
    ("county", "complex", False, GOOD, [REASON_COMPLEX]),
    ("county", "general", True, GOOD, [REASON_POLICY]),
    ("city", "hard", True, BAD, [REASON_CITY, REASON_HARD, REASON_POLICY, REASON_BAD]),
])
def test_the_must_review_table(sc, level, complexity, policy, rating, reasons):
    iid = handled(sc, "QY-DMN", rating=rating, assigned_level=level)
    assess(sc, iid, complexity=complexity, policy=policy)
    assert sc.data(iid)["review_reason"] == reasons
    expected = [] if not reasons else ["Task_leader_plan"] if complexity == "hard" else ["Task_review"]
    assert sc.ready(iid) == expected


# -- 8. the enterprise submits on the portal and rates through its private link ---------------------
def test_an_enterprise_submits_on_the_portal_and_rates_through_its_link(sc):
    made = appeals.of(sc.engine).portal.submit(KEY, "庆元某食用菌有限公司", CREDIT_CODE, "吴经理", "13905780000", "approval",
                                    "冷库扩建消防审验需要多次往返")
    iid = made["instance_id"]
    user = "qiye:" + made["tracking_no"]
    assert sc.engine.runtime.get(iid)["region"] == "丽水市庆元县"
    t = sc.task(iid, "Task_register")
    assert t["candidate_groups"] == ["qy_centre"]
    data = sc.data(iid)
    sc.complete(iid, "Task_register", "zhongxin", {"company": data["company"], "summary": data["summary"],
                                                   "category": data["category"], "assigned_level": "county",
                                                   "channel": data["channel"]})
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_housing"})
    sc.member("zhujian", "qy_unit_housing")
    sc.complete(iid, "Task_handle", "zhujian", {"handle_result": "solved", "reply": "已安排一次性联合审验"})
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"]) == (user, [])
    with pytest.raises(ValidationFailed) as e:                # 差评须说明原因
        appeals.of(sc.engine).portal.rate(made["token"], t["id"], {**BAD, "rate_comment": ""})
    assert set(e.value.errors) == {"rate_comment"}
    assert appeals.of(sc.engine).portal.rate(made["token"], t["id"], GOOD) == {"task": "企业评价（好差评）", "bad": False}
    [(_, rdata, _)] = lines(sc, iid, "rating")
    assert rdata["by_enterprise"] is True
    assess(sc, iid, complexity="complex")
    # the tracking link shows the unit's reply, never the centre's internal 研判 or review opinions
    progress = appeals.of(sc.engine).portal.progress(appeals.of(sc.engine).portal.by_token(made["token"]))
    [handled_step] = [st for st in progress["steps"] if st["name"] == "部门办理"]
    assert handled_step["replies"] == [{"label": "答复企业内容", "text": "已安排一次性联合审验"}]
    assert "研判意见" not in str(progress) and progress["current"][0]["name"] == "组织复盘（一场复盘找短板）"


def test_a_phone_appeal_is_rated_by_the_centre_after_a_return_visit(sc):
    iid = sc.start(KEY, {}, business_key="QY-2026-009", user="zhongxin")
    sc.complete(iid, "Task_register", "zhongxin", CASE)
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_resources"})
    sc.complete(iid, "Task_handle", "ziran", {"handle_result": "explained", "reply": "依法依规暂不能办，已解释"})
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"]) == (None, ["qy_centre"])
    sc.complete(iid, "Task_rate", "zhongxin", GOOD)
    assert lines(sc, iid, "rating")[0][1]["by_enterprise"] is False


# -- 9. 退单: the unit sends it back to 交办, the centre assigns it to another unit -----------------------
def test_a_unit_returns_the_issue_and_the_centre_assigns_it_again(sc):
    iid = register(sc, "QY-2026-010")
    t = sc.task(iid, "Task_handle")
    assert sc.engine.handoff.return_target(t["id"])["element_id"] == "Task_dispatch"
    sc.engine.handoff.return_task(t["id"], "ziran", "不属于本部门职责，应由县经济商务科技局办理")
    assert sc.ready(iid) == ["Task_dispatch"]
    assert sc.engine.handoff.return_count(iid, "Task_handle") == 1
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_economy"})
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["qy_unit_economy"] and sc.inbox("ziran") == []
    assert len(lines(sc, iid, "issue_library")) == 1         # still one line in the issue library
    sc.complete(iid, "Task_handle", "jingxin", {"handle_result": "solved", "reply": "已办理"})
    assert sc.data(iid)["unit_name"] == "县经济商务科技局" and sc.ready(iid) == ["Task_rate"]


# -- 10. forms refuse bad input by field; outsiders are forbidden ---------------------------------------
def test_forms_name_the_bad_field_and_outsiders_are_forbidden(sc):
    iid = sc.start(KEY, {"enterprise_user": "qiye_a"}, business_key="QY-2026-011", user="zhongxin")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "zhongxin", {**CASE, "summary": ""})
    assert set(e.value.errors) == {"summary"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "zhongxin", {**CASE, "assigned_level": "town", "category": ""})
    assert set(e.value.errors) == {"assigned_level", "category"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_register", "ziran", CASE)
    # only the centre (and enterprises, on the portal) may start it: a unit is refused by the API
    r = sc.client.post("/api/instances", json={"key": KEY, "data": {}, "business_key": "QY-X"},
                       headers={"X-Qihu-User": "ziran"})
    assert r.status_code == 403 and "qy_centre" in r.get_json()["error"]
    r = sc.client.post("/api/instances", json={"key": KEY, "data": {}, "business_key": "QY-Y"},
                       headers={"X-Qihu-User": "zhongxin"})
    assert r.status_code == 201
    sc.complete(iid, "Task_register", "zhongxin", CASE)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_x"})
    assert set(e.value.errors) == {"unit_group"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_dispatch", "ziran", {"unit_group": "qy_unit_resources"})
    sc.complete(iid, "Task_dispatch", "zhongxin", {"unit_group": "qy_unit_resources"})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_handle", "jingxin", {"handle_result": "solved", "reply": "x"})   # another unit
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_handle", "ziran", {"handle_result": "done", "reply": ""})
    assert set(e.value.errors) == {"handle_result", "reply"}
    sc.complete(iid, "Task_handle", "ziran", {"handle_result": "solved", "reply": "已办理"})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rate", "zhongxin", GOOD)          # the enterprise's own rating
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_rate", "qiye_a", {**GOOD, "rate_result": "6", "rate_comment": "长" * 501})
    assert set(e.value.errors) == {"rate_result", "rate_comment"}
    sc.complete(iid, "Task_rate", "qiye_a", GOOD)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_assess", "zhongxin", {"complexity": "general", "assess_opinion": "x"})
    assert set(e.value.errors) == {"policy_issue"}
    assess(sc, iid, complexity="hard")
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_leader_plan", "zhongxin", {"review_plan": "x", "invite_third_party": False})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_leader_plan", "outsider", {"review_plan": "x", "invite_third_party": False})
    sc.complete(iid, "Task_leader_plan", "lingdao", {"review_plan": "x", "invite_third_party": False})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_leader_dissect", "lingdao", {**REVIEW, "root_cause": "", "mechanism_kind": "all"})
    assert set(e.value.errors) == {"root_cause", "mechanism_kind"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_leader_dissect", "zhuanjia", REVIEW)
