"""Dinghai (舟山市定海区) zero-distance supervision, “零距离”闭环监督: bpmn/dh_zero_distance.bpmn.

全量归集 (监测点·暖企专员·特约监督员, 监测团, 亲清茶室/政企恳谈会, “办不成事”窗口, 纪企直通码) →
企服中心受理交办 (扫码举报同步纪委监委) → [高频事项: 高频问题清单, 区领导领衔、局长现场答疑, 下发督办单] →
承办部门办理, 五色管理 (蓝 0%, 绿 40%, 黄 60% 催办, 橙 80% 督办预警清单, 红 100% 超期) → 答复 →
满意度评价 (企业本人, 或暖企专员回访代录) → 红灯问题 (超期办理、不满意办理) 同步纪委监委、督查室:
督办函, 二次督办 (重办或说明理由办结), 纪委监委跟踪核查到销号 (作风问题移送查处) → 归档.

The diagram is deployed through the public paths only (REST API, and the `qihu deploy` command) and
needs no Python of its own: lists are written with ledger.record (new kinds high_frequency
高频问题清单 and red_light 红灯问题清单), warnings with supervision.warning, letters with
supervision.letter, messages to people with notify.remind.

Groups (candidate groups) used by the diagram:
    dh_centre              区企业综合服务中心 (受理登记、交办)
    dh_officer             暖企专员 (监测点; 回访代录评价; 无企业账号时接收答复)
    dh_special             优化营商环境特约监督员 (may start: reports from monitoring points)
    dh_leader              区领导领衔、局长现场答疑 (高频事项)
    dh_dept_development … dh_dept_town   承办部门 (交办部门 enum)
    dh_supervision         区督查室 (红灯同步, 二次督办)
    dh_discipline          区纪委监委 (纪企直通码线索, 红灯同步, 跟踪核查)
Starters: enterprise (the portal = 纪企直通码), dh_centre, dh_officer, dh_special.

Times (Beijing; each working day's 24 hours count, as the engine's SLA does):
- standard: registered Mon 2026-11-02 09:00 with 5 working days → due Mon 11-09 09:00;
  green Wed 11-04 09:00 (40%), yellow Thu 11-05 09:00 (60%), orange Fri 11-06 09:00 (80%).
- across a weekend: registered Thu 11-05 14:00 with 3 working days → due Tue 11-10 14:00
  (10 h of Thu + Fri + Mon + 14 h of Tue = 3 days); 40% = 1.2 d → Fri 11-06 18:48; 60% = 1.8 d →
  Mon 11-09 09:12; 80% = 2.4 d → Mon 11-09 23:36; red Tue 11-10 14:00. The red 督办函 asks for a
  written reply in 3 working days: Fri 11-13.
"""
import io
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from sqlalchemy import select

from qihu import appeals
from qihu.cli import main as cli
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment
from tests.scenario import Scenario, beijing, iso, timer_jobs, open_lines, bodies
from qihu.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "bpmn" / "dh_zero_distance.bpmn"
PROCESS = "dh_zero_distance"
ADMIN = {"X-Qihu-User": "admin"}
COMPANY = "舟山市定海区某远洋渔业有限公司"
SUMMARY = "冷链仓储项目用地规划调整迟迟未批，影响项目落地"
MEMBERS = {
    "qifu": "dh_centre",
    "nuanqi": "dh_officer",
    "jiandu": "dh_special",
    "lingdao": "dh_leader",
    "jingxin": "dh_dept_economy",
    "guihua": "dh_dept_planning",
    "ducha": "dh_supervision",
    "jiwei": "dh_discipline",
}
REGISTER = {"company": COMPANY, "summary": SUMMARY, "category": "project", "channel": "monitoring_point",
            "reporter": "暖企专员 李敏", "dept": "dh_dept_planning", "time_limit": 5, "high_frequency": False}
HANDLE = {"handle_result": "solved", "reply": "已完成用地规划调整审批，项目可按期开工"}
GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5"}


# -- deployment through the public paths ---------------------------------------------------------

@pytest.fixture
def api(engine):
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    return create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()


def deploy_over_rest(api):
    with open(FILE, "rb") as f:
        return api.post("/api/deployments", data={"files": (f, FILE.name)}, content_type="multipart/form-data",
                        headers=ADMIN)


@pytest.fixture
def sc(engine, clock, api):
    r = deploy_over_rest(api)
    assert r.status_code == 201, r.get_json()
    return Scenario(engine, clock, members=MEMBERS)


def test_the_rest_api_deploys_it_with_its_region_five_colours_and_starters(api, engine):
    r = deploy_over_rest(api)
    assert r.status_code == 201, r.get_json()
    assert [(d["key"], d["version"], d["new"]) for d in r.get_json()["definitions"]] == [(PROCESS, 1, True)]
    assert deploy_over_rest(api).get_json()["created"] is False                  # the same file again
    defs = api.get("/api/definitions", headers=ADMIN).get_json()
    assert [(d["key"], d["name"]) for d in defs] == [(PROCESS, "定海“零距离”闭环监督机制")]
    info = engine.repository.process(engine.db_get_definition(defs[0]["id"]))
    assert info.properties["region"] == "舟山市定海区"
    assert info.properties["slaScheme"] == "five"
    assert info.starter_groups == ["enterprise", "dh_centre", "dh_officer", "dh_special"]
    assert info.spec.task_specs["Task_handle"].extensions["returnTo"] == "Task_register"
    # the portal offers it as the 纪企直通码 with the intake form's categories
    [offered] = [d for d in appeals.of(engine).portal.portal_definitions() if d["key"] == PROCESS]
    assert offered["name"] == "定海区“纪企直通码”营商环境线上监督举报" and offered["region"] == "舟山市定海区"
    assert [c["name"] for c in offered["categories"]] == ["地方政策不清", "政企对接不畅", "部门作风不优",
                                                          "项目落地难、动工慢", "招工难", "其他"]
    # a special supervisor may start it; somebody in no starter group may not
    engine.tasks.add_member("jiandu", "dh_special")
    engine.tasks.add_member("stranger", "qt_centre")
    body = {"key": PROCESS, "data": {"company": COMPANY, "summary": SUMMARY}, "business_key": "DH-2026-100"}
    r = api.post("/api/instances", json=body, headers={"X-Qihu-User": "jiandu"})
    assert r.status_code == 201
    assert engine.runtime.get(r.get_json()["id"])["region"] == "舟山市定海区"
    assert api.post("/api/instances", json=body, headers={"X-Qihu-User": "stranger"}).status_code == 403


def test_the_command_line_deploys_it_and_the_appeal_runs(engine, clock, db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    runner = CliRunner()
    r = runner.invoke(cli, ["deploy", str(FILE)], catch_exceptions=False)
    assert r.exit_code == 0 and f"{PROCESS} v1" in r.output, r.output
    r = runner.invoke(cli, ["definitions"], catch_exceptions=False)
    assert f"{PROCESS}\tv1\t定海“零距离”闭环监督机制" in r.output
    sc = Scenario(engine, clock, members=MEMBERS)
    iid = sc.start(PROCESS, {"company": COMPANY}, business_key="DH-2026-101")
    sc.complete(iid, "Task_register", "qifu", REGISTER)
    sc.complete(iid, "Task_handle", "guihua", HANDLE)
    sc.complete(iid, "Task_rate", "nuanqi", GOOD)
    assert sc.status(iid) == "completed"


# -- helpers -------------------------------------------------------------------------------------

def start(sc, key="DH-2026-001", **data):
    return sc.start(PROCESS, {"company": COMPANY, "summary": SUMMARY, **data}, business_key=key)


def handle_colours(sc, iid):
    return [(e["data"]["colour"], e["at"]) for e in sc.events(iid, "sla_changed") if e["element_id"] == "Task_handle"]


def letter_texts(sc, iid):
    """[(meta, text)] of the letters of an instance, in order."""
    with sc.engine.db.read() as s:
        rows = s.scalars(select(Attachment).where(Attachment.instance_id == iid, Attachment.kind == "letter")
                         .order_by(Attachment.id)).all()
        return [(a.meta, "\n".join(p.text for p in Document(io.BytesIO(a.content)).paragraphs)) for a in rows]


def end_event(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "element_completed") if e["element_id"].startswith("EndEvent")]


# -- in time and satisfied: archived, nobody else bothered ------------------------------------------

def test_an_appeal_from_a_monitoring_point_handled_in_time_and_rated_by_the_officer_is_archived(sc):
    iid = start(sc)
    t = sc.task(iid, "Task_register")
    assert t["candidate_groups"] == ["dh_centre"] and t["lane"] == "区企业综合服务中心"
    assert t["region"] == "舟山市定海区"
    assert t["due_at"] == iso(2026, 11, 3, 9, 0) and t["sla_colour"] == "blue"        # 1 working day
    sc.complete(iid, "Task_register", "qifu", REGISTER)
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["dh_dept_planning"] and t["lane"] == "承办部门"
    assert t["due_at"] == iso(2026, 11, 9, 9, 0) and t["sla_colour"] == "blue"         # 5 working days
    assert sc.inbox("guihua") == ["Task_handle"] and sc.inbox("jingxin") == []
    data = sc.data(iid)
    assert [datetime.fromisoformat(data[k]) for k in ("handle_due", "yellow_at", "orange_at")] == [
        beijing(2026, 11, 9, 9, 0), beijing(2026, 11, 5, 9, 0), beijing(2026, 11, 6, 9, 0)]
    assert data["due_text"] == "2026-11-09 09:00"
    assert data["dept_name"] == "自然资源和规划定海分局" and data["handle_round"] == 1
    assert timer_jobs(sc, iid) == sorted([("Event_yellow", iso(2026, 11, 5, 9, 0)),
                                          ("Event_orange", iso(2026, 11, 6, 9, 0)),
                                          ("Event_red", iso(2026, 11, 9, 9, 0))])
    sc.wait_until(2026, 11, 4, 9, 0)                                                       # 40%: green
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    assert sc.wait_until(2026, 11, 5, 8, 59) == 0
    sc.complete(iid, "Task_handle", "guihua", HANDLE)
    assert handle_colours(sc, iid) == [("green", iso(2026, 11, 4, 9, 0))]
    assert timer_jobs(sc, iid) == []
    # no enterprise account (monitoring point): the warm-enterprise officer gets the reply and rates
    assert bodies(sc, iid, "dh_officer") == [("诉求办理答复", HANDLE["reply"])]
    t = sc.task(iid, "Task_rate")
    assert t["assignee"] is None and t["candidate_groups"] == ["dh_officer"]
    assert t["lane"] == "企业、监测点（暖企专员、特约监督员）"
    sc.complete(iid, "Task_rate", "nuanqi", dict(GOOD, rate_comment="回访：企业满意"))
    assert sc.status(iid) == "completed" and end_event(sc, iid) == ["EndEvent_archived"]
    [(_, title, line)] = sc.ledger(iid)
    assert title == "企业评价：方案5，过程4，结果5"
    assert line == {"rate_plan": 5, "rate_process": 4, "rate_result": 5, "comment": "回访：企业满意", "bad": False,
                    "dept": "自然资源和规划定海分局", "by_enterprise": False}
    assert sc.letters(iid) == [] and sc.notifications(iid) == [("group", "dh_officer", "诉求办理答复")]
    assert sc.data(iid)["red_reasons"] == [] and sc.data(iid)["overdue"] is False


# -- five colours across a weekend; red (overdue) goes to the commission and the office at once ----------

def test_five_colours_across_a_weekend_and_an_overdue_red_item_is_tracked_to_the_end(sc, engine):
    sc.wait_until(2026, 11, 5, 14, 0)                                                      # Thursday 14:00
    iid = start(sc, enterprise_user="yuanyang", channel="talks")
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, channel="talks", dept="dh_dept_economy", time_limit=3))
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["dh_dept_economy"] and t["due_at"] == iso(2026, 11, 10, 14, 0)
    assert timer_jobs(sc, iid) == sorted([("Event_yellow", iso(2026, 11, 9, 9, 12)),
                                          ("Event_orange", iso(2026, 11, 9, 23, 36)),
                                          ("Event_red", iso(2026, 11, 10, 14, 0))])
    sc.wait_until(2026, 11, 6, 18, 47)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "blue"
    sc.wait_until(2026, 11, 6, 18, 48)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 9, 9, 11)                                                      # the weekend counts nothing
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 9, 9, 12)                                                      # 60%: yellow, reminder
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow"
    assert bodies(sc, iid, "dh_dept_economy") == [
        ("催办通知（黄灯）", f"办理时间已过60%，请加快办理：{SUMMARY}（办理时限2026-11-10 14:00）")]
    sc.wait_until(2026, 11, 9, 23, 35)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow" and sc.ledger(iid) == []
    sc.wait_until(2026, 11, 9, 23, 36)                                                     # 80%: orange, warning list
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    orange = f"办理时间已过80%尚未办结：{SUMMARY}（区经济和信息化局，办理时限2026-11-10 14:00）"
    assert sc.ledger(iid) == [("warning_list", f"橙色预警：{orange}", {"level": "orange", "reason": orange})]
    assert sc.notifications(iid)[-2:] == [("group", "dh_dept_economy", "橙色预警"), ("group", "dh_centre", "橙色预警")]
    sc.wait_until(2026, 11, 10, 13, 59)
    assert sc.letters(iid) == [] and sc.inbox("ducha") == [] and sc.inbox("jiwei") == []
    sc.wait_until(2026, 11, 10, 14, 0)                                                     # 100%: red
    assert sc.task(iid, "Task_handle")["sla_colour"] == "red"                               # still the department's
    assert handle_colours(sc, iid) == [("green", iso(2026, 11, 6, 18, 48)), ("yellow", iso(2026, 11, 9, 9, 12)),
                                       ("orange", iso(2026, 11, 9, 23, 36)), ("red", iso(2026, 11, 10, 14, 0))]
    red = f"超期办理：{SUMMARY}（区经济和信息化局，办理时限2026-11-10 14:00）"
    assert sc.ledger(iid, "warning_list")[-1] == ("warning_list", f"红色预警：{red}", {"level": "red", "reason": red})
    assert sc.notifications(iid)[-2:] == [("group", "dh_discipline", "红色预警"), ("group", "dh_supervision", "红色预警")]
    [(_, title, line)] = sc.ledger(iid, "red_light")
    assert title == SUMMARY
    assert datetime.fromisoformat(line.pop("handle_due")) == beijing(2026, 11, 10, 14, 0)
    assert line == {"kind_name": "红灯问题清单", "reason": "超期办理", "company": COMPANY, "dept": "区经济和信息化局",
                    "tracked_by": "区纪委监委、区督查室"}
    assert open_lines(sc, iid, "red_light") == [SUMMARY]
    [(meta, text)] = letter_texts(sc, iid)
    assert (meta["letter_type"], meta["to_unit"], meta["deadline"]) == ("督办函", "区经济和信息化局", "2026年11月13日")
    assert "定海区督查室" in text and COMPANY in text and "DH-2026-001" in text
    assert "超过办理时限（2026-11-10 14:00）仍未办结，已亮红灯并同步区纪委监委、督查室全流程跟踪" in text
    # the department gets it done late; the enterprise is satisfied, the commission still verifies
    sc.wait_until(2026, 11, 11, 10, 0)
    sc.complete(iid, "Task_handle", "jingxin", HANDLE)
    assert sc.data(iid)["overdue"] is True and sc.data(iid)["red_reasons"] == ["超期办理"]
    assert bodies(sc, iid, "yuanyang") == [("诉求办理答复", HANDLE["reply"])]
    t = sc.task(iid, "Task_rate")
    assert t["assignee"] == "yuanyang" and t["candidate_groups"] == []
    sc.complete(iid, "Task_rate", "yuanyang", GOOD)
    t = sc.task(iid, "Task_verify")
    assert t["candidate_groups"] == ["dh_discipline"] and t["lane"] == "区纪委监委"
    assert t["due_at"] == iso(2026, 11, 18, 10, 0) and t["sla_colour"] == "blue"         # 5 working days
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_verify", "ducha", {"verify_result": "resolved", "verify_opinion": "x"})
    sc.complete(iid, "Task_verify", "jiwei", {"verify_result": "resolved", "verify_opinion": "已督促整改到位，销号"})
    assert sc.status(iid) == "completed" and end_event(sc, iid)[-1] == "EndEvent_red_closed"
    assert open_lines(sc, iid, "red_light") == [] and sc.data(iid)["ledger_closed"] == 1
    assert sc.ledger(iid, "discipline_referral") == []


# -- unsatisfied: red, second supervision, redo, verification finds misconduct --------------------

def test_an_unsatisfied_rating_is_red_the_office_orders_a_redo_and_the_commission_refers_misconduct(sc):
    iid = start(sc, enterprise_user="yuanyang")
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, channel="window"))
    sc.wait_until(2026, 11, 3, 10, 0)
    sc.complete(iid, "Task_handle", "guihua", {"handle_result": "explained", "reply": "用地规划调整需报市里审批"})
    assert handle_colours(sc, iid) == []                                                   # done while still blue
    sc.wait_until(2026, 11, 3, 11, 0)
    with pytest.raises(Forbidden):                                                         # the enterprise's own rating
        sc.complete(iid, "Task_rate", "nuanqi", GOOD)
    sc.complete(iid, "Task_rate", "yuanyang", {"rate_plan": "3", "rate_process": "2", "rate_result": "1",
                                               "rate_comment": "推诿，没有实际解决"})
    assert sc.data(iid)["red_reasons"] == ["不满意办理"]
    red = f"不满意办理：{SUMMARY}（自然资源和规划定海分局）"
    assert sc.ledger(iid, "warning_list") == [("warning_list", f"红色预警：{red}", {"level": "red", "reason": red})]
    assert [(d["reason"], d["rate_comment"]) for _, _, d in sc.ledger(iid, "red_light")] == [
        ("不满意办理", "推诿，没有实际解决")]
    assert bodies(sc, iid, "dh_discipline") == [("红色预警", red)]
    assert bodies(sc, iid, "dh_supervision") == [("红色预警", red)]
    t = sc.task(iid, "Task_second")
    assert t["candidate_groups"] == ["dh_supervision"] and t["lane"] == "区督查室"
    assert t["due_at"] == iso(2026, 11, 6, 11, 0)                                          # 3 working days
    assert sc.inbox("ducha") == ["Task_second"]
    # redo within 2 working days
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_second", "ducha", {"second_result": "redo", "second_opinion": "责令重新研究用地调整路径",
                                              "time_limit": 2})
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["dh_dept_planning"] and t["due_at"] == iso(2026, 11, 6, 9, 0)
    assert t["created_at"] == iso(2026, 11, 4, 9, 0) and t["sla_colour"] == "blue"
    assert sc.data(iid)["handle_round"] == 2
    assert timer_jobs(sc, iid) == sorted([("Event_yellow", iso(2026, 11, 5, 13, 48)),
                                          ("Event_orange", iso(2026, 11, 5, 23, 24)),
                                          ("Event_red", iso(2026, 11, 6, 9, 0))])
    sc.wait_until(2026, 11, 5, 9, 0)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.complete(iid, "Task_handle", "guihua", HANDLE)
    sc.complete(iid, "Task_rate", "yuanyang", GOOD)
    assert [d["bad"] for _, _, d in sc.ledger(iid, "rating")] == [True, False]
    assert bodies(sc, iid, "yuanyang") == [("诉求办理答复", "用地规划调整需报市里审批"), ("诉求办理答复", HANDLE["reply"])]
    # satisfied now, but the item was red: the commission tracks it to the end
    sc.complete(iid, "Task_verify", "jiwei", {"verify_result": "misconduct", "verify_opinion": "首次办理推诿扯皮"})
    assert sc.status(iid) == "completed" and end_event(sc, iid)[-1] == "EndEvent_red_closed"
    [(_, title, line)] = sc.ledger(iid, "discipline_referral")
    assert title == f"损害营商环境问题线索：自然资源和规划定海分局，{SUMMARY}"
    assert line == {"reason": "不满意办理", "dept": "自然资源和规划定海分局", "company": COMPANY,
                    "opinion": "首次办理推诿扯皮"}
    assert open_lines(sc, iid, "red_light") == []
    assert sc.letters(iid) == []


def test_the_office_may_close_an_unsatisfied_item_with_reasons_and_red_reasons_add_up(sc):
    iid = start(sc)
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, time_limit=1))
    sc.wait_until(2026, 11, 3, 9, 0)                                                       # overdue: red
    sc.wait_until(2026, 11, 3, 15, 0)
    sc.complete(iid, "Task_handle", "guihua", {"handle_result": "explained", "reply": "该地块不符合国土空间规划"})
    sc.complete(iid, "Task_rate", "nuanqi", {"rate_plan": "2", "rate_process": "2", "rate_result": "2"})
    assert sc.data(iid)["red_reasons"] == ["超期办理", "不满意办理"]
    assert [d["reason"] for _, _, d in sc.ledger(iid, "red_light")] == ["超期办理", "不满意办理"]
    assert open_lines(sc, iid, "red_light") == [SUMMARY, SUMMARY]
    assert sc.letters(iid) == [("督办函", "自然资源和规划定海分局")]
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_second", "ducha", {"second_result": "close"})
    assert set(e.value.errors) == {"second_opinion"}
    sc.complete(iid, "Task_second", "ducha", {"second_result": "close",
                                              "second_opinion": "经核实依法依规不能办，已向企业解释到位"})
    assert sc.ready(iid) == ["Task_verify"]
    sc.complete(iid, "Task_verify", "jiwei", {"verify_result": "resolved", "verify_opinion": "解释到位，销号"})
    assert sc.status(iid) == "completed"
    assert open_lines(sc, iid, "red_light") == [] and sc.data(iid)["ledger_closed"] == 2


# -- high-frequency issues: listed, answered by leaders, supervision order --------------------------

def test_a_high_frequency_issue_is_listed_and_answered_by_a_district_leader(sc):
    iid = start(sc, enterprise_user="yuanyang")
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, category="labour", high_frequency=True,
                                                   summary="旺季招工难，缺少冷链操作工"))
    [(_, title, line)] = sc.ledger(iid, "high_frequency")
    assert title == "旺季招工难，缺少冷链操作工"
    assert line == {"kind_name": "高频问题清单", "company": COMPANY, "category": "labour",
                    "channel": "monitoring_point", "dept": "自然资源和规划定海分局"}
    t = sc.task(iid, "Task_leader_answer")
    assert t["candidate_groups"] == ["dh_leader"] and t["lane"] == "区领导（领衔）、局长（现场答疑）"
    assert t["due_at"] == iso(2026, 11, 9, 9, 0)                                           # 5 working days
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_leader_answer", "qifu", {"lead_leader": "x", "answer": "x", "dept": "dh_dept_hrss",
                                                        "time_limit": 5})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_leader_answer", "lingdao", {"lead_leader": "张副区长", "dept": "dh_dept_nope",
                                                           "time_limit": 5})
    assert set(e.value.errors) == {"answer", "dept"}
    sc.wait_until(2026, 11, 3, 9, 0)
    sc.engine.tasks.add_member("renshe", "dh_dept_hrss")
    sc.complete(iid, "Task_leader_answer", "lingdao", {
        "lead_leader": "张副区长", "answer": "人社局牵头开展专场招聘，落实稳岗补贴", "dept": "dh_dept_hrss", "time_limit": 10})
    # 下发督办单 to the department the leader chose, due with the handling time limit
    [(meta, text)] = letter_texts(sc, iid)
    assert (meta["letter_type"], meta["to_unit"], meta["deadline"]) == ("督办函", "区人力资源和社会保障局", "2026年11月17日")
    assert "定海区企业综合服务中心" in text and "人社局牵头开展专场招聘，落实稳岗补贴" in text
    assert bodies(sc, iid, "yuanyang") == [("高频问题答疑", "区领导张副区长领衔答疑：人社局牵头开展专场招聘，落实稳岗补贴")]
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["dh_dept_hrss"] and t["due_at"] == iso(2026, 11, 17, 9, 0)
    assert sc.inbox("renshe") == ["Task_handle"] and sc.inbox("guihua") == []
    sc.complete(iid, "Task_handle", "renshe", HANDLE)
    sc.complete(iid, "Task_rate", "yuanyang", GOOD)
    assert sc.status(iid) == "completed" and end_event(sc, iid) == ["EndEvent_archived"]
    assert sc.ledger(iid, "red_light") == [] and sc.ledger(iid, "warning_list") == []


def test_a_high_frequency_answer_without_an_enterprise_account_goes_to_the_officer(sc):
    iid = start(sc)
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, high_frequency=True))
    sc.complete(iid, "Task_leader_answer", "lingdao", {"lead_leader": "张副区长", "answer": "局长现场答疑：四评合一",
                                                       "dept": "dh_dept_planning", "time_limit": 5})
    assert bodies(sc, iid, "dh_officer") == [("高频问题答疑", "区领导张副区长领衔答疑：局长现场答疑：四评合一")]


# -- 纪企直通码: the portal; the commission is told at once -------------------------------------------

def test_a_qr_code_report_through_the_portal_goes_to_the_discipline_commission_at_once(sc, engine):
    got = appeals.of(engine).portal.submit(PROCESS, COMPANY, "91330100799655058B", "张经理", "13812345678", "style",
                                "企服中心窗口多次往返仍办不成，工作人员推诿")
    iid, user = got["instance_id"], "qiye:" + got["tracking_no"]
    assert engine.runtime.get(iid)["region"] == "舟山市定海区"
    data = sc.data(iid)
    assert (data["enterprise_user"], data["channel"], data["category"]) == (user, "企业自主提交", "style")
    # 码上反映马上办: the commission has the report on submission, before the centre registers it
    assert sc.ready(iid) == ["Task_register"]
    assert bodies(sc, iid, "dh_discipline") == [("纪企直通码举报线索", f"{COMPANY}：企服中心窗口多次往返仍办不成，工作人员推诿")]
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, summary=data["summary"], category="style",
                                                   channel="企业自主提交", dept="dh_dept_economy"))
    assert len(bodies(sc, iid, "dh_discipline")) == 1
    sc.complete(iid, "Task_handle", "jingxin", HANDLE)
    assert bodies(sc, iid, user) == [("诉求办理答复", HANDLE["reply"])]
    [mine] = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(got["token"]))["my_tasks"]
    assert mine["name"] == "满意度评价"
    with pytest.raises(ValidationFailed) as e:                                            # a bad rating needs a reason
        appeals.of(engine).portal.rate(got["token"], mine["id"], {"rate_plan": "1", "rate_process": "1", "rate_result": "1"})
    assert set(e.value.errors) == {"rate_comment"}
    appeals.of(engine).portal.rate(got["token"], mine["id"], {"rate_plan": "1", "rate_process": "1", "rate_result": "1",
                                                   "rate_comment": "问题没有解决"})
    assert sc.ready(iid) == ["Task_second"]
    assert [d["by_enterprise"] for _, _, d in sc.ledger(iid, "rating")] == [True]


def test_appeals_registered_by_staff_are_not_copied_to_the_commission(sc):
    iid = start(sc, channel="inspection_team")
    assert sc.ready(iid) == ["Task_register"]
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, channel="inspection_team"))
    assert sc.notifications(iid) == [] and sc.ready(iid) == ["Task_handle"]


# -- 退单, forms, rights --------------------------------------------------------------------------

def test_a_department_returns_an_appeal_that_is_not_its_own(sc, engine):
    iid = start(sc)
    sc.complete(iid, "Task_register", "qifu", REGISTER)
    t = sc.task(iid, "Task_handle")
    with pytest.raises(Forbidden):
        engine.handoff.return_task(t["id"], "jingxin", "不属于本部门")
    engine.handoff.return_task(t["id"], "guihua", "招工问题不属于规划部门职责")
    assert sc.ready(iid) == ["Task_register"] and timer_jobs(sc, iid) == []
    assert sc.data(iid)["return_reason"] == "招工问题不属于规划部门职责"
    sc.complete(iid, "Task_register", "qifu", dict(REGISTER, dept="dh_dept_economy"))
    assert sc.task(iid, "Task_handle")["candidate_groups"] == ["dh_dept_economy"]
    assert sc.data(iid)["handle_round"] == 1


def test_forms_refuse_missing_or_bad_fields_and_outsiders_are_forbidden(sc):
    iid = start(sc)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "qifu", {k: v for k, v in REGISTER.items() if k != "summary"})
    assert set(e.value.errors) == {"summary"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "qifu", dict(REGISTER, time_limit=30, channel="微信", high_frequency="也许"))
    assert set(e.value.errors) == {"time_limit", "channel", "high_frequency"}
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_register", "qifu", dict(REGISTER, time_limit=0, dept="qt_unit_police"))
    assert set(e.value.errors) == {"time_limit", "dept"}
    for outsider in ("guihua", "nuanqi", "jiwei"):
        with pytest.raises(Forbidden):
            sc.complete(iid, "Task_register", outsider, REGISTER)
    sc.complete(iid, "Task_register", "qifu", REGISTER)
    with pytest.raises(Forbidden):                                                         # another department
        sc.complete(iid, "Task_handle", "jingxin", HANDLE)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_handle", "guihua", {"handle_result": "done"})
    assert set(e.value.errors) == {"handle_result", "reply"}
    sc.complete(iid, "Task_handle", "guihua", HANDLE)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rate", "jiandu", GOOD)                                      # the officer's visit
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_rate", "nuanqi", {"rate_plan": "6", "rate_process": "满意"})
    assert set(e.value.errors) == {"rate_plan", "rate_process", "rate_result"}
    sc.complete(iid, "Task_rate", "nuanqi", {"rate_plan": "4", "rate_process": "2", "rate_result": "4"})
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_second", "jiwei", {"second_result": "close", "second_opinion": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_second", "ducha", {"second_result": "redo", "second_opinion": "x", "time_limit": 21})
    assert set(e.value.errors) == {"time_limit"}
    sc.complete(iid, "Task_second", "ducha", {"second_result": "redo", "second_opinion": "重办"})
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 9, 9, 0)               # the old 5 days again
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_handle", "guihua", dict(HANDLE, reply="x" * 2001))
    assert set(e.value.errors) == {"reply"}
