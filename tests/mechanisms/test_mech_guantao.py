"""Guantao (邯郸市馆陶县) “您码上说，我马上办” platform: bpmn/gt_scan_and_do.bpmn with
bpmn/gt_item_class.dmn, deployed through the REST API (and once through the CLI), one scenario per path.

收集 (扫码、12345、走访、评议; the enterprise may submit through the portal) → 受理台账 → 事项分类 (DMN:
简单/复杂/疑难) → 简单事项当即答复 (1 working day; or 转派 as a complex item) | 派发工单 → 签收 (1 working
day; 催签 when it runs out; 退单 back to 派发; a line of the 签收台账 with on_time) → 复杂事项跟踪处理 (5
working days from acceptance) | 疑难事项联动办理 (15 working days: 县营商办会商, lead and co-unit in parallel,
the co-unit's answer told to the lead) → 办理答复: 80% 临期催办, 100% 红色预警 + 督办函 + 周调度清单;
“需县级统筹” → 县委常委会周调度 (交办 with a time limit, or explained to the enterprise) → 答复企业 (回复台账)
→ 好差评 (by the enterprise, or by the platform after a return visit) → bad: 二次督办 (redo with a time
limit, or close) → 分析台账 → 办结销号.

Groups:
    gt_platform        “您码上说，我马上办”平台、12345热线 (收集、派发、当即答复、回访)
    gt_unit_approval   县行政审批局        gt_unit_planning  县自然资源和规划局
    gt_unit_tax        县税务局            gt_unit_finance   县金融办
    gt_unit_power      县供电公司          (承办/牵头单位, and 配合单位 of a hard item)
    gt_office          县营商办 (会商联办、红色预警、二次督办)
    gt_leader          县委常委会周调度
The enterprise works as `enterprise_user` (the portal's qiye:<tracking no>).

Times: the clock starts on Monday 2026-11-02 09:00 (Beijing); no holiday in November 2026, so the
working days are Monday to Friday. Shares of working time count each working day's 24 hours.
"""
import io
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from sqlalchemy import select

from qihu import appeals
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment
from qihu.appeals.models import LedgerEntry
from tests.scenario import Scenario, iso, timer_jobs, bodies

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "bpmn" / "gt_scan_and_do.bpmn", ROOT / "bpmn" / "gt_item_class.dmn"]
KEY = "gt_scan_and_do"
ADMIN = {"X-Qihu-User": "admin"}
STAFF = {"ping": ["gt_platform"], "shen": ["gt_unit_approval"], "zi": ["gt_unit_planning"], "shui": ["gt_unit_tax"],
         "dian": ["gt_unit_power"], "ying": ["gt_office"], "ld": ["gt_leader"]}
COMPANY = "馆陶县某轴承制造有限公司"
SUMMARY = "新建厂房竣工联合验收预约后迟迟未安排现场验收"
COMPLEX = {"company": COMPANY, "summary": SUMMARY, "category": "construction", "channel": "qr_code",
           "can_answer_now": False, "units_involved": 1, "needs_coordination": False}
GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5"}
BAD = {"rate_plan": "4", "rate_process": "2", "rate_result": "3", "rate_comment": "验收一拖再拖"}
PORTAL = {"company": "馆陶县某食品有限公司", "credit_code": "91330100799655058B", "contact_name": "李经理",
          "contact_phone": "13812345678", "category": "tax", "summary": "新办企业首次申领发票需要准备哪些材料"}


# -- deployment through the public paths ------------------------------------------------------------

def deploy_over_rest(engine):
    from qihu.web.app import create_app
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    client = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in FILES]
    r = client.post("/api/deployments", data={"files": files}, content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 201, r.get_json()
    assert [d["key"] for d in r.get_json()["definitions"]] == [KEY]
    return client


@pytest.fixture
def client(engine):
    return deploy_over_rest(engine)


@pytest.fixture
def sc(engine, clock, client):
    return Scenario(engine, clock, members=STAFF)


def test_deploys_through_the_command_line_and_runs(db_url, monkeypatch, engine, clock):
    from qihu.cli import main
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["deploy", *map(str, FILES)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "gt_scan_and_do v1" in result.output
    sc = Scenario(engine, clock, members=STAFF)
    iid = sc.start(KEY, {}, business_key="GT-CLI", user="ping")
    sc.complete(iid, "Task_collect", "ping", dict(COMPLEX, channel="hotline_12345"))
    assert sc.ready(iid) == ["Task_dispatch"] and sc.data(iid)["item_class"] == "complex"


def test_who_may_start_it_and_the_portal_offers_it(sc, client, engine):
    r = client.post("/api/instances", json={"key": KEY, "business_key": "GT-12345-1"}, headers={"X-Qihu-User": "ping"})
    assert r.status_code == 201
    assert sc.ready(r.get_json()["id"]) == ["Task_collect"]
    assert client.post("/api/instances", json={"key": KEY}, headers={"X-Qihu-User": "shen"}).status_code == 403
    [offered] = [d for d in appeals.of(engine).portal.portal_definitions() if d["key"] == KEY]
    assert offered["region"] == "邯郸市馆陶县"
    assert offered["name"] == "馆陶县“您码上说，我马上办”（扫码反映问题）"
    assert [c["name"] for c in offered["categories"]][:3] == ["开办企业", "建筑许可", "不动产登记"]


# -- helpers ------------------------------------------------------------------------------------------

def start(sc, key="GT-2026-001", **fields):
    """A hotline/QR appeal the platform registers (Task_collect done), as `ping`."""
    iid = sc.start(KEY, {"enterprise_user": "ent"}, business_key=key, user="ping")
    t = sc.task(iid, "Task_collect")
    assert t["candidate_groups"] == ["gt_platform"] and t["lane"] == "“码上说”平台、12345热线" and t["due_at"] is None
    sc.complete(iid, "Task_collect", "ping", {**COMPLEX, **fields})
    return iid


def dispatch(sc, iid, group="gt_unit_approval"):
    sc.complete(iid, "Task_dispatch", "ping", {"responsible_group": group, "dispatch_note": "请按联合验收规定办理"})


def sign(sc, iid, user="shen"):
    sc.complete(iid, "Task_sign", user, {"handler_name": "王科长", "handler_phone": "0310-7221234"})


def rate(sc, iid, rating=GOOD, user="ent"):
    t = sc.task(iid, "Task_rate")
    assert t["name"] == "企业评价（好差评）" and t["lane"] == "企业"
    sc.complete(iid, "Task_rate", user, dict(rating))


def at(text):
    """An ISO moment, comparable whatever its offset."""
    return datetime.fromisoformat(text)


def lines(sc, iid, kind):
    """[(title, data, open?)] of one list of an instance."""
    with sc.engine.db.read() as s:
        return [(e.title, e.data, e.closed_at is None) for e in s.scalars(select(LedgerEntry).where(
            LedgerEntry.instance_id == iid, LedgerEntry.kind == kind).order_by(LedgerEntry.id))]


def colours(sc, iid, element):
    return [(e["data"]["colour"], e["at"]) for e in sc.events(iid, "sla_changed") if e["element_id"] == element]


def path(sc, iid):
    return [e["element_id"] for e in sc.events(iid) if e["type"] in ("element_completed", "task_completed", "handler_called")]


def assert_closed(sc, iid):
    assert sc.status(iid) == "completed" and sc.ready(iid) == [] and timer_jobs(sc, iid) == []
    assert all(not open_ for _, _, open_ in lines(sc, iid, "gt_intake"))
    assert all(not open_ for _, _, open_ in lines(sc, iid, "gt_weekly_schedule"))


# -- 简单事项当即答复: submitted through the portal, rated there --------------------------------------

def test_a_simple_question_scanned_in_is_answered_at_once_and_rated_on_the_portal(sc, engine):
    got = appeals.of(engine).portal.submit(KEY, *(PORTAL[k] for k in ("company", "credit_code", "contact_name",
                                                            "contact_phone", "category", "summary")))
    iid, token = got["instance_id"], got["token"]
    user = "qiye:" + got["tracking_no"]
    assert engine.runtime.get(iid)["region"] == "邯郸市馆陶县"
    t = sc.task(iid, "Task_collect")
    data = sc.data(iid)
    assert (data["channel"], data["category"], data["enterprise_user"]) == ("企业自主提交", "tax", user)
    sc.complete(iid, "Task_collect", "ping", {"company": PORTAL["company"], "summary": PORTAL["summary"],
                                             "category": "tax", "channel": "企业自主提交", "can_answer_now": True,
                                             "units_involved": 1, "needs_coordination": False})
    data = sc.data(iid)
    assert (data["item_class"], data["class_name"], data["handle_days"]) == ("simple", "简单事项", 1)
    [(title, line, open_)] = lines(sc, iid, "gt_intake")
    assert title == PORTAL["summary"] and open_
    assert line == {"company": PORTAL["company"], "category": "tax", "channel": "企业自主提交",
                    "kind_name": "“您码上说，我马上办”受理台账"}
    t = sc.task(iid, "Task_answer_now")
    assert t["candidate_groups"] == ["gt_platform"] and t["due_at"] == iso(2026, 11, 3, 9, 0)
    assert t["sla_colour"] == "green" and "Task_dispatch" not in sc.ready(iid)
    sc.wait_until(2026, 11, 2, 9, 20)
    sc.complete(iid, "Task_answer_now", "ping", {"answer_result": "answered",
                                                 "reply": "首次申领发票可通过电子税务局办理，需准备经办人实名信息。"})
    [(title, line, _)] = lines(sc, iid, "gt_reply")
    assert title == "“您码上说，我马上办”平台回复：" + PORTAL["summary"]
    assert line["on_time"] is True and line["result"] == "answered" and line["item_class"] == "simple"
    assert lines(sc, iid, "gt_sign_for") == []                          # nothing was dispatched
    # the enterprise sees the answer and rates it on the portal
    progress = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(token))
    assert [r["text"] for s in progress["steps"] for r in s["replies"]] == [
        "首次申领发票可通过电子税务局办理，需准备经办人实名信息。"]
    [mine] = progress["my_tasks"]
    assert mine["name"] == "企业评价（好差评）"
    assert sc.task(iid, "Task_rate")["assignee"] == user and sc.task(iid, "Task_rate")["candidate_groups"] == []
    with pytest.raises(ValidationFailed) as e:                         # 差评须说明原因
        appeals.of(engine).portal.rate(token, mine["id"], {"rate_plan": "1", "rate_process": "3", "rate_result": "3"})
    assert set(e.value.errors) == {"rate_comment"}
    assert appeals.of(engine).portal.rate(token, mine["id"], {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})[
        "bad"] is False
    assert_closed(sc, iid)
    [(_, rating, _)] = lines(sc, iid, "rating")
    assert rating["bad"] is False and rating["by_enterprise"] is True and rating["unit"] == "“您码上说，我马上办”平台"
    [(title, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert title == "简单事项：" + PORTAL["summary"]
    assert {k: analysis[k] for k in ("item_class", "category", "channel", "unit", "sign_on_time", "reply_on_time",
                                     "satisfied", "second_supervisions", "scheduled", "result")} == {
        "item_class": "simple", "category": "tax", "channel": "企业自主提交", "unit": "“您码上说，我马上办”平台",
        "sign_on_time": None, "reply_on_time": True, "satisfied": True, "second_supervisions": 0,
        "scheduled": False, "result": "answered"}
    assert lines(sc, iid, "gt_intake")[0][2] is False                   # 办结销号


def test_a_simple_item_the_platform_cannot_answer_is_transferred_as_a_complex_one(sc):
    iid = start(sc, can_answer_now=True)
    sc.wait_until(2026, 11, 2, 14, 0)
    sc.complete(iid, "Task_answer_now", "ping", {"answer_result": "transfer",
                                                 "reply": "您反映的问题需县行政审批局现场核实，已转其办理。"})
    assert sc.ready(iid) == ["Task_dispatch"]
    data = sc.data(iid)
    assert (data["item_class"], data["can_answer_now"], data["handle_days"]) == ("complex", False, 5)
    assert at(data["handle_due"]) == at(iso(2026, 11, 9, 14, 0))       # 5 working days from the transfer
    assert lines(sc, iid, "gt_reply") == [] and len(lines(sc, iid, "gt_intake")) == 1
    dispatch(sc, iid)
    sign(sc, iid)
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 9, 14, 0)


# -- 复杂事项: on time, with the colours and no warning -------------------------------------------------

def test_a_complex_item_signed_and_handled_on_time(sc):
    iid = start(sc)
    assert sc.ready(iid) == ["Task_dispatch"]
    data = sc.data(iid)
    assert (data["item_class"], data["class_name"], data["handle_days"], data["sign_days"]) == (
        "complex", "复杂事项", 5, 1)
    assert at(data["handle_due"]) == at(iso(2026, 11, 9, 9, 0))        # 5 working days from acceptance
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_dispatch", "shen", {"responsible_group": "gt_unit_approval"})
    dispatch(sc, iid)
    t = sc.task(iid, "Task_sign")
    assert t["candidate_groups"] == ["gt_unit_approval"] and t["lane"] == "承办单位（牵头单位）"
    assert t["due_at"] == iso(2026, 11, 3, 9, 0) and t["sla_colour"] == "green"
    assert sc.inbox("shen") == ["Task_sign"] and sc.inbox("zi") == []
    assert ("Event_sign_overdue", iso(2026, 11, 3, 9, 0)) in timer_jobs(sc, iid)
    sc.wait_until(2026, 11, 2, 11, 0)
    sign(sc, iid)
    [(title, line, _)] = lines(sc, iid, "gt_sign_for")
    assert title == "县行政审批局签收：" + SUMMARY
    assert line["on_time"] is True and line["unit"] == "县行政审批局" and line["handler"] == "王科长"
    t = sc.task(iid, "Task_handle")
    assert t["due_at"] == iso(2026, 11, 9, 9, 0) and t["priority"] == 50 and t["sla_colour"] == "green"
    # 118 working hours from Mon 11:00 to Mon Nov 9 09:00: 60% after 70.8 h (Thu 09:48), 80% after 94.4 h
    assert timer_jobs(sc, iid) == [("Event_handle_orange", iso(2026, 11, 6, 9, 24)),
                                   ("Event_handle_red", iso(2026, 11, 9, 9, 0))]
    sc.wait_until(2026, 11, 5, 9, 47)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 5, 9, 48)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow" and sc.notifications(iid) == []
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "已于11月5日完成联合验收。"})
    assert timer_jobs(sc, iid) == [] and sc.ready(iid) == ["Task_rate"]
    [(_, reply, _)] = lines(sc, iid, "gt_reply")
    assert reply["on_time"] is True and reply["result"] == "solved" and reply["unit"] == "县行政审批局"
    rate(sc, iid)
    assert_closed(sc, iid)
    assert lines(sc, iid, "warning_list") == [] and sc.letters(iid) == []
    assert colours(sc, iid, "Task_handle") == [("yellow", iso(2026, 11, 5, 9, 48))]
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert (analysis["sign_on_time"], analysis["reply_on_time"], analysis["satisfied"]) == (True, True, True)
    assert path(sc, iid) == [
        "StartEvent_submit", "Script_init", "Task_collect", "Task_record_intake", "Task_classify", "Script_deadlines",
        "Gateway_class", "Task_dispatch", "Script_dispatch", "Task_sign", "Task_record_sign", "Gateway_after_sign",
        "Script_handle_clock", "Task_handle", "Gateway_after_handle", "Gateway_result", "Script_reply",
        "Task_record_reply", "Task_rater", "Task_rate", "Task_record_rating", "Gateway_rating", "Task_analyse",
        "Task_close_intake", "Task_close_schedule", "EndEvent_closed"]


# -- 签收: late across a weekend, 催签; and 退单 -------------------------------------------------------

def test_a_ticket_dispatched_on_friday_must_be_signed_by_monday_and_is_chased(sc):
    sc.wait_until(2026, 11, 6, 16, 0)
    iid = start(sc, "GT-2026-002")
    dispatch(sc, iid, "gt_unit_power")
    t = sc.task(iid, "Task_sign")
    assert t["due_at"] == iso(2026, 11, 9, 16, 0) and t["candidate_groups"] == ["gt_unit_power"]
    # 24 working hours (Fri 8 h, Mon 16 h): 60% after 14.4 h, 80% after 19.2 h
    sc.wait_until(2026, 11, 9, 6, 23)
    assert sc.task(iid, "Task_sign")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 9, 6, 24)
    sc.wait_until(2026, 11, 9, 11, 12)
    sc.wait_until(2026, 11, 9, 15, 59)
    assert colours(sc, iid, "Task_sign") == [("yellow", iso(2026, 11, 9, 6, 24)), ("orange", iso(2026, 11, 9, 11, 12))]
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 11, 9, 16, 0)
    assert sc.task(iid, "Task_sign")["sla_colour"] == "red"
    assert sc.notifications(iid) == [("group", "gt_unit_power", "催签通知"), ("group", "gt_platform", "催签通知")]
    assert bodies(sc, iid, "gt_unit_power") == [
        ("催签通知", "县供电公司：工单已超过签收时限仍未签收，请立即签收办理。反映问题：" + SUMMARY)]
    sc.wait_until(2026, 11, 10, 10, 0)
    sign(sc, iid, "dian")
    [(_, line, _)] = lines(sc, iid, "gt_sign_for")
    assert line["on_time"] is False and line["unit"] == "县供电公司"
    assert at(line["sign_due"]) == at(iso(2026, 11, 9, 16, 0))
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 13, 16, 0)   # still from acceptance


def test_a_unit_returns_a_ticket_that_is_not_its_own_and_it_is_dispatched_again(sc, engine):
    iid = start(sc, "GT-2026-003", category="tax")
    dispatch(sc, iid, "gt_unit_approval")
    t = sc.task(iid, "Task_sign")
    with pytest.raises(Forbidden):
        engine.handoff.return_task(t["id"], "shui", "不属于本单位")
    engine.handoff.return_task(t["id"], "shen", "发票事项属税务部门职责")
    assert sc.ready(iid) == ["Task_dispatch"]
    data = sc.data(iid)
    assert data["return_reason"] == "发票事项属税务部门职责" and data["return_count"] == 1
    assert ("group", "gt_platform", "退单：签收工单") in sc.notifications(iid)
    assert [j for j in timer_jobs(sc, iid) if j[0] == "Event_sign_overdue"] == []
    assert lines(sc, iid, "gt_sign_for") == []
    dispatch(sc, iid, "gt_unit_tax")
    assert sc.task(iid, "Task_sign")["candidate_groups"] == ["gt_unit_tax"]
    sign(sc, iid, "shui")
    [(title, line, _)] = lines(sc, iid, "gt_sign_for")
    assert title.startswith("县税务局签收：") and line["on_time"] is True


# -- 限时办结: 80% 临期催办, 100% 红色预警 + 督办函 + 周调度清单 ------------------------------------------

def test_an_overdue_item_is_reminded_at_eighty_percent_and_supervised_when_time_is_up(sc, engine):
    iid = start(sc, "GT-2026-004")
    dispatch(sc, iid)
    sc.wait_until(2026, 11, 2, 11, 0)
    sign(sc, iid)
    sc.wait_until(2026, 11, 5, 9, 48)
    sc.wait_until(2026, 11, 6, 9, 23)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 6, 9, 24)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    assert bodies(sc, iid, "gt_unit_approval") == [("临期催办", "办理时间已过80%，请在时限内办结并回复：" + SUMMARY)]
    assert sc.ready(iid) == ["Task_handle"]
    sc.wait_until(2026, 11, 9, 8, 59)                                 # over the weekend: still orange
    assert sc.letters(iid) == [] and lines(sc, iid, "warning_list") == []
    sc.wait_until(2026, 11, 9, 9, 0)
    t = sc.task(iid, "Task_handle")
    assert t["sla_colour"] == "red"                                   # still the unit's to finish
    reason = f"超过办理时限仍未办结：{SUMMARY}（承办单位县行政审批局）"
    assert [(title, d) for title, d, _ in lines(sc, iid, "warning_list")] == [
        (f"红色预警：{reason}", {"level": "red", "reason": reason})]
    assert sc.notifications(iid)[-2:] == [("group", "gt_unit_approval", "红色预警"), ("group", "gt_office", "红色预警")]
    assert sc.letters(iid) == [("督办函", "县行政审批局")]
    with engine.db.read() as s:
        [letter] = s.scalars(select(Attachment).where(Attachment.instance_id == iid)).all()
        text = "\n".join(p.text for p in Document(io.BytesIO(letter.content)).paragraphs)
    assert letter.meta["deadline"] == "2026年11月11日"                 # 2 working days on
    assert "馆陶县优化营商环境工作领导小组办公室" in text and COMPANY in text and "GT-2026-004" in text
    assert "已超过办理时限（2026-11-09 09:00）仍未办结" in text
    [(title, line, open_)] = lines(sc, iid, "gt_weekly_schedule")
    assert title == "县行政审批局超期未办结：" + SUMMARY and line["source"] == "overdue" and open_
    assert timer_jobs(sc, iid) == []
    sc.wait_until(2026, 11, 10, 15, 0)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "已完成联合验收并出具意见。"})
    [(_, reply, _)] = lines(sc, iid, "gt_reply")
    assert reply["on_time"] is False
    rate(sc, iid, {"rate_plan": "4", "rate_process": "3", "rate_result": "4"})
    assert_closed(sc, iid)                                             # the schedule line is closed with it
    assert colours(sc, iid, "Task_handle") == [("yellow", iso(2026, 11, 5, 9, 48)),
                                                ("orange", iso(2026, 11, 6, 9, 24)),
                                                ("red", iso(2026, 11, 9, 9, 0))]
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert analysis["reply_on_time"] is False and analysis["satisfied"] is True


# -- 疑难事项联动办理 ----------------------------------------------------------------------------------

def test_a_hard_item_is_consulted_and_handled_jointly_by_lead_and_co_unit(sc):
    iid = start(sc, "GT-2026-005", summary="厂区周边道路规划调整影响项目用地报批", category="property",
                units_involved=2)
    data = sc.data(iid)
    assert (data["item_class"], data["class_name"], data["handle_days"]) == ("hard", "疑难事项", 15)
    assert at(data["handle_due"]) == at(iso(2026, 11, 23, 9, 0))
    dispatch(sc, iid, "gt_unit_approval")
    sign(sc, iid)
    t = sc.task(iid, "Task_consult")
    assert t["candidate_groups"] == ["gt_office"] and t["lane"] == "县营商办（会商、督办）"
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_consult", "ying", {"co_group": "gt_unit_planning"})
    assert set(e.value.errors) == {"joint_plan"}
    # the lead unit cannot also be its own co-unit: consulted again
    sc.complete(iid, "Task_consult", "ying", {"co_group": "gt_unit_approval", "joint_plan": "x"})
    assert sc.ready(iid) == ["Task_consult"]
    sc.wait_until(2026, 11, 3, 10, 0)
    sc.complete(iid, "Task_consult", "ying", {"co_group": "gt_unit_planning",
                                               "joint_plan": "审批局牵头报批；自规局11月10日前出具规划调整意见",
                                               "consult_note": "11月3日会商"})
    assert sc.ready(iid) == ["Task_co_handle", "Task_handle"]
    lead, co = sc.task(iid, "Task_handle"), sc.task(iid, "Task_co_handle")
    assert lead["candidate_groups"] == ["gt_unit_approval"] and lead["priority"] == 80
    assert lead["due_at"] == iso(2026, 11, 23, 9, 0)
    assert co["candidate_groups"] == ["gt_unit_planning"] and co["lane"] == "配合单位"
    assert co["due_at"] == iso(2026, 11, 10, 10, 0)                     # 5 working days
    assert sc.inbox("zi") == ["Task_co_handle"] and sc.inbox("shen") == ["Task_handle"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_co_handle", "shen", {"co_opinion": "x"})
    sc.wait_until(2026, 11, 5, 9, 0)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved",
                                             "reply": "规划调整已完成，用地报批材料已受理。"})
    assert sc.ready(iid) == ["Task_co_handle"]                          # the lead waits for the co-unit
    sc.complete(iid, "Task_co_handle", "zi", {"co_opinion": "已出具规划调整意见，道路红线退让8米"})
    assert bodies(sc, iid, "gt_unit_approval") == [("配合单位办理情况", "县自然资源和规划局：已出具规划调整意见，道路红线退让8米")]
    assert sc.ready(iid) == ["Task_rate"]
    data = sc.data(iid)
    assert data["handle_result"] == "solved" and data["reply"] == "规划调整已完成，用地报批材料已受理。"
    rate(sc, iid)
    assert_closed(sc, iid)
    [(title, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert title == "疑难事项：厂区周边道路规划调整影响项目用地报批"
    assert analysis["co_unit"] == "县自然资源和规划局" and analysis["unit"] == "县行政审批局"


def test_a_hard_item_redone_after_a_bad_rating_goes_to_the_lead_unit_alone(sc):
    iid = start(sc, "GT-2026-014", units_involved=3)
    dispatch(sc, iid, "gt_unit_power")
    sign(sc, iid, "dian")
    sc.complete(iid, "Task_consult", "ying", {"co_group": "gt_unit_planning", "joint_plan": "供电公司牵头，自规局配合"})
    sc.complete(iid, "Task_co_handle", "zi", {"co_opinion": "线路走廊规划已核准"})       # the co-unit first
    assert sc.ready(iid) == ["Task_handle"]
    sc.complete(iid, "Task_handle", "dian", {"handle_result": "solved", "reply": "已完成线路改造。"})
    rate(sc, iid, BAD)
    sc.wait_until(2026, 11, 4, 9, 0)
    sc.complete(iid, "Task_second_supervision", "ying", {"second_result": "redo", "second_opinion": "送电仍不稳定"})
    assert sc.ready(iid) == ["Task_handle"]                             # no second consultation, no co-unit
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["gt_unit_power"] and t["due_at"] == iso(2026, 11, 25, 9, 0)   # 15 days again
    sc.complete(iid, "Task_handle", "dian", {"handle_result": "solved", "reply": "已更换变压器，送电稳定。"})
    assert sc.ready(iid) == ["Task_rate"]                               # not held at the joint gateway
    rate(sc, iid)
    assert_closed(sc, iid)
    assert bodies(sc, iid, "gt_unit_power") == [("配合单位办理情况", "县自然资源和规划局：线路走廊规划已核准")]
    assert [p for p in path(sc, iid) if p in ("Task_consult", "Task_co_handle", "Gateway_join")] == [
        "Task_consult", "Task_co_handle", "Gateway_join"]


def test_history_or_county_coordination_alone_makes_an_item_hard(sc):
    iid = start(sc, "GT-2026-006", needs_coordination=True)
    assert sc.data(iid)["item_class"] == "hard"
    iid = start(sc, "GT-2026-007", can_answer_now=True, units_involved=3)   # answerable at once wins
    assert sc.data(iid)["item_class"] == "simple"


# -- 县委常委会周调度 -----------------------------------------------------------------------------------

def test_a_unit_asks_for_the_weekly_schedule_and_gets_a_new_time_limit(sc):
    iid = start(sc, "GT-2026-008")
    dispatch(sc, iid)
    sign(sc, iid)
    sc.wait_until(2026, 11, 4, 10, 0)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "need_schedule",
                                             "reply": "涉及消防、人防等多部门，已提请县级调度。"})
    [(title, line, open_)] = lines(sc, iid, "gt_weekly_schedule")
    assert title == "县行政审批局提请调度：" + SUMMARY and line["source"] == "unit_request" and open_
    t = sc.task(iid, "Task_weekly_schedule")
    assert t["candidate_groups"] == ["gt_leader"] and t["lane"] == "县委常委会（周调度）"
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_weekly_schedule", "ying", {"schedule_result": "reassign", "schedule_opinion": "x"})
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_weekly_schedule", "ld", {"schedule_result": "reassign", "schedule_days": 0})
    assert set(e.value.errors) == {"schedule_opinion", "schedule_days"}
    sc.wait_until(2026, 11, 6, 15, 0)                                  # Friday
    sc.complete(iid, "Task_weekly_schedule", "ld", {"schedule_result": "reassign", "schedule_days": 3,
                                                    "schedule_opinion": "审批局牵头，消防、人防11月11日前联合验收"})
    t = sc.task(iid, "Task_handle")
    assert t["due_at"] == iso(2026, 11, 11, 15, 0)                      # 3 working days after Friday
    assert timer_jobs(sc, iid) == [("Event_handle_orange", iso(2026, 11, 11, 0, 36)),
                                   ("Event_handle_red", iso(2026, 11, 11, 15, 0))]
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "已组织联合验收。"})
    rate(sc, iid)
    assert_closed(sc, iid)
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert analysis["scheduled"] is True and analysis["result"] == "solved"
    assert [d["result"] for _, d, _ in lines(sc, iid, "gt_reply")] == ["solved"]


def test_what_the_weekly_schedule_finds_cannot_be_solved_is_explained_to_the_enterprise(sc):
    iid = start(sc, "GT-2026-009")
    dispatch(sc, iid)
    sign(sc, iid)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "need_schedule", "reply": "已提请县级调度。"})
    sc.complete(iid, "Task_weekly_schedule", "ld", {"schedule_result": "explain",
                                                    "schedule_opinion": "该地块属基本农田，依法不能调整，已指导企业另行选址"})
    data = sc.data(iid)
    assert data["reply"] == "经县委常委会周调度研究：该地块属基本农田，依法不能调整，已指导企业另行选址"
    assert data["handle_result"] == "explained"
    rate(sc, iid, {"rate_plan": "3", "rate_process": "4", "rate_result": "3"})
    assert_closed(sc, iid)
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert analysis["result"] == "explained" and analysis["satisfied"] is True and analysis["scheduled"] is True


# -- 好差评 and 二次督办 -------------------------------------------------------------------------------

def test_a_bad_rating_brings_second_supervision_and_the_unit_redoes_it(sc):
    iid = start(sc, "GT-2026-010")
    dispatch(sc, iid)
    sign(sc, iid)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "已安排验收。"})
    rate(sc, iid, BAD)
    [(title, rating, _)] = lines(sc, iid, "rating")
    assert title == "企业评价：方案4，过程2，结果3" and rating["bad"] is True and rating["comment"] == "验收一拖再拖"
    t = sc.task(iid, "Task_second_supervision")
    assert t["candidate_groups"] == ["gt_office"]
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_second_supervision", "ying", {"second_result": "redo", "redo_days": 40})
    assert set(e.value.errors) == {"second_opinion", "redo_days"}
    sc.wait_until(2026, 11, 3, 10, 0)
    sc.complete(iid, "Task_second_supervision", "ying", {"second_result": "redo", "redo_days": 2,
                                                         "second_opinion": "验收意见未送达企业，限2个工作日重新办理"})
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["gt_unit_approval"] and t["due_at"] == iso(2026, 11, 5, 10, 0)
    assert lines(sc, iid, "gt_analysis") == []
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "验收意见已当面送达。"})
    assert sc.data(iid)["rate_comment"] == ""                           # a new rating, a new comment
    rate(sc, iid)
    assert_closed(sc, iid)
    assert [r["bad"] for _, r, _ in lines(sc, iid, "rating")] == [True, False]
    assert len(lines(sc, iid, "gt_reply")) == 2
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert analysis["second_supervisions"] == 1 and analysis["satisfied"] is True


def test_second_supervision_may_close_an_item_handled_according_to_law(sc):
    iid = start(sc, "GT-2026-011")
    dispatch(sc, iid)
    sign(sc, iid)
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "explained", "reply": "依规定需补齐消防验收材料。"})
    rate(sc, iid, {"rate_plan": "1", "rate_process": "1", "rate_result": "1", "rate_comment": "不满意"})
    sc.complete(iid, "Task_second_supervision", "ying", {"second_result": "close",
                                                         "second_opinion": "经核实已依法依规办理，已再次解释"})
    assert_closed(sc, iid)
    [(_, analysis, _)] = lines(sc, iid, "gt_analysis")
    assert analysis["satisfied"] is False and analysis["second_supervisions"] == 1
    assert "Script_redo" not in path(sc, iid)


def test_a_bad_rating_of_a_simple_answer_goes_back_to_the_platform(sc):
    iid = sc.start(KEY, {}, business_key="GT-2026-012", user="ping")     # a hotline call: no enterprise user
    sc.complete(iid, "Task_collect", "ping", dict(COMPLEX, channel="hotline_12345", can_answer_now=True))
    sc.complete(iid, "Task_answer_now", "ping", {"answer_result": "answered", "reply": "请到政务服务中心3号窗口办理。"})
    t = sc.task(iid, "Task_rate")                                       # 回访: the platform records it
    assert t["assignee"] is None and t["candidate_groups"] == ["gt_platform"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rate", "shen", GOOD)
    rate(sc, iid, {"rate_plan": "2", "rate_process": "3", "rate_result": "2", "rate_comment": "窗口说不归他们管"},
         user="ping")
    assert lines(sc, iid, "rating")[0][1]["by_enterprise"] is False
    sc.wait_until(2026, 11, 2, 15, 0)
    sc.complete(iid, "Task_second_supervision", "ying", {"second_result": "redo", "second_opinion": "答复不准确"})
    t = sc.task(iid, "Task_answer_now")
    assert t["due_at"] == iso(2026, 11, 3, 15, 0)                       # the class's own time limit
    sc.complete(iid, "Task_answer_now", "ping", {"answer_result": "transfer", "reply": "已转县行政审批局办理。"})
    assert sc.ready(iid) == ["Task_dispatch"] and sc.data(iid)["item_class"] == "complex"


# -- forms and rights ----------------------------------------------------------------------------------

def test_forms_name_what_is_missing_and_outsiders_are_forbidden(sc):
    iid = sc.start(KEY, {"enterprise_user": "ent"}, business_key="GT-2026-013", user="ping")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_collect", "ping", {"company": COMPANY, "category": "nope", "channel": "qr_code",
                                                 "can_answer_now": False, "units_involved": 0,
                                                 "needs_coordination": False})
    assert set(e.value.errors) == {"summary", "category", "units_involved"}
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_collect", "ying", COMPLEX)
    sc.complete(iid, "Task_collect", "ping", COMPLEX)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_dispatch", "ping", {"responsible_group": "gt_unit_nowhere"})
    assert set(e.value.errors) == {"responsible_group"}
    dispatch(sc, iid)
    with pytest.raises(Forbidden):
        sign(sc, iid, "shui")
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_sign", "shen", {"handler_name": "王科长"})
    assert set(e.value.errors) == {"handler_phone"}
    sign(sc, iid)
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved"})
    assert set(e.value.errors) == {"reply"}
    sc.complete(iid, "Task_handle", "shen", {"handle_result": "solved", "reply": "已办结"})
    with pytest.raises(Forbidden):
        rate(sc, iid, GOOD, user="ping")                                 # the enterprise's own rating
    with pytest.raises(ValidationFailed) as e:
        sc.complete(iid, "Task_rate", "ent", {"rate_plan": "6", "rate_process": "5"})
    assert set(e.value.errors) == {"rate_plan", "rate_result"}


# -- what the reports count ----------------------------------------------------------------------------

def test_the_ledgers_give_the_sign_for_reply_satisfaction_and_closing_rates(sc, engine):
    a = start(sc, "GT-R-1")                                             # on time, satisfied
    dispatch(sc, a)
    sign(sc, a)
    sc.complete(a, "Task_handle", "shen", {"handle_result": "solved", "reply": "已办结"})
    rate(sc, a)
    b = start(sc, "GT-R-2")                                             # signed late, unsatisfied
    dispatch(sc, b, "gt_unit_power")
    c = start(sc, "GT-R-3", can_answer_now=True)                        # answered at once
    sc.complete(c, "Task_answer_now", "ping", {"answer_result": "answered", "reply": "可网上办理"})
    rate(sc, c)
    d = start(sc, "GT-R-4")                                             # still being handled
    dispatch(sc, d)
    sc.wait_until(2026, 11, 4, 9, 0)
    sign(sc, b, "dian")
    sign(sc, d)
    sc.complete(b, "Task_handle", "dian", {"handle_result": "solved", "reply": "已接电"})
    rate(sc, b, {"rate_plan": "2", "rate_process": "2", "rate_result": "2", "rate_comment": "太慢"})
    sc.complete(b, "Task_second_supervision", "ying", {"second_result": "close", "second_opinion": "已解释"})

    def rows(kind):
        with engine.db.read() as s:
            return s.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind)).all()
    signed = rows("gt_sign_for")
    assert sorted((r.data["unit"], r.data["on_time"]) for r in signed) == [
        ("县供电公司", False), ("县行政审批局", False), ("县行政审批局", True)]                # 按期签收率 1/3
    replies = rows("gt_reply")
    assert sum(r.data["on_time"] for r in replies) == len(replies) == 3
    ratings = rows("rating")
    assert sum(not r.data["bad"] for r in ratings) / len(ratings) == 2 / 3        # 满意率
    intake = rows("gt_intake")
    assert sum(r.closed_at is not None for r in intake) / len(intake) == 3 / 4   # 办结率
    assert sorted(r.data["item_class"] for r in rows("gt_analysis")) == ["complex", "complex", "simple"]
