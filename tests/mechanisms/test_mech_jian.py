"""Ji'an (吉安市) 亲清连心政企恳谈会 mechanism: bpmn/ja_talks.bpmn, one issue raised at a talk per instance.

Deployed as an administrator would: through the REST API (POST /api/deployments) and, once, with
the `qihu deploy` command; then driven through the engine's public face by its staff.

The talk (市县每双周四联动召开, or a 专场) is the start data: talk_date, talk_no, talk_host, talk_kind,
company, summary, enterprise_user. 市营商办 builds the 问题清单 within 3 working days after the talk
(ledger ja_talk_issues, 会议纪要 + 交办函) → the lead unit (首问负责制, no 退单) distributes to the
responsible unit and consults: a handling opinion within one week → solvable: the responsible unit
completes it within two weeks of the 交办函 (it may return it to the lead unit for re-distribution);
cannot be solved now / not lawful: explained to the enterprise within the same week → 市营商办
checks quality (low: 提示函, one more week) → 回访调研组 "回头看" (企业再次反映: 督办函, one more
week) → 满意度测评 (好差评) → unsatisfied: 二次督办 (督办函, one more week, or closed after
verification) → 清单销号 → 提升一类 (共性问题清单). Overdue opinion or handling: 电话提醒; a week
past the handling deadline (久拖不决): red warning list and 赋牌 accountability (ledger ja_card).
Weeks are calendar weeks (the seed says 一周/两周, and 3个工作日 only for the assignment).

Groups (lead: demo users):
    ja_office          市营商办（市发改委）            ja_yingshang
    ja_unit_hrss       市人力资源和社会保障局          ja_danwei (all ja_unit_*)
    ja_unit_industry   市工业和信息化局
    ja_unit_nature     市自然资源局
    ja_unit_housing    市住房和城乡建设局
    ja_unit_approval   市行政审批局
    ja_unit_tech       市科学技术局
    ja_unit_county     县（市、区）人民政府
    ja_visit           企业诉求回访调研组              ja_huifang
The enterprise works as the user named by enterprise_user (the rating is assigned to it).
"""
from pathlib import Path

import pytest
from click.testing import CliRunner

from qihu.engine.errors import Forbidden, ValidationFailed
from tests.scenario import Scenario, iso
from tests.scenario import ledger_lines as lines, letter_texts as letters
from qihu.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn" / "ja_talks.bpmn"
KEY = "ja_talks"
ADMIN = {"X-Qihu-User": "admin"}

STAFF = {"wang": "ja_office", "li": "ja_unit_hrss", "zhao": "ja_unit_industry", "hu": "ja_visit"}

TALK = {"talk_date": "2026-11-05", "talk_no": "53", "talk_host": "市长", "talk_kind": "regular",
        "company": "申通快递吉安分公司", "summary": "急需招聘数百名分拣操作人员", "enterprise_user": "ent_st"}
REGISTER = {"company": "申通快递吉安分公司", "summary": "急需招聘数百名分拣操作人员", "presumption": "solution",
            "category": "talent", "lead_group": "ja_unit_hrss", "minutes": "市人社局现场回应，会后对接职业院校"}
CONSULT = {"responsible_group": "ja_unit_hrss", "consult_record": "会同职业院校会商",
           "feasibility": "solve", "handling_opinion": "对接职业院校，在“吉岗即聘”发布用工信息"}
HANDLED = {"handle_report": "8天内帮助企业完成招引相关专业人才"}
GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "非常及时"}
BAD = {"rate_plan": "4", "rate_process": "4", "rate_result": "2", "rate_comment": "人员仍未到岗"}
NOTIFY_RESULT = ("user", "ent_st", "恳谈会诉求办理结果")


def client(engine):
    if engine.accounts.get("admin") is None:
        engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    return app.test_client()


def deploy_through_the_api(engine):
    with open(BPMN, "rb") as f:
        r = client(engine).post("/api/deployments", data={"files": (f, "ja_talks.bpmn")},
                                content_type="multipart/form-data", headers=ADMIN)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.fixture
def sc(engine, clock):
    deploy_through_the_api(engine)
    return Scenario(engine, clock, members=STAFF)




def done(sc, iid):
    return [e["element_id"] for e in sc.events(iid, "task_completed")]


def talk(sc, bk="JA-2026-053-01", **data):
    """The talk of Thu 2026-11-05 is over (17:00): 市营商办 registers one issue raised at it."""
    sc.wait_until(2026, 11, 5, 17, 0)
    return sc.start(KEY, {**TALK, **data}, business_key=bk, user="wang")


def assign(sc, iid, when=(2026, 11, 9, 10, 0), **form):
    """Mon 11-09 10:00: 问题清单, 台账, 会议纪要 + 交办函; the week and two weeks run from here."""
    sc.wait_until(*when)
    sc.complete(iid, "Task_register", "wang", {**REGISTER, **form})


def consult(sc, iid, user="li", when=(2026, 11, 11, 15, 0), **form):
    sc.wait_until(*when)
    sc.complete(iid, "Task_consult", user, {**CONSULT, **form})


def visit_and_rate(sc, iid, rating=GOOD, rater="ent_st"):
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "solved", "visit_note": "企业表示问题已解决"})
    sc.complete(iid, "Task_rate", rater, rating)


def close(sc, iid, common=False, measure=None):
    data = {"common_issue": common}
    if measure:
        data["common_measure"] = measure
    sc.complete(iid, "Task_sum", "wang", data)


# -- deployment -----------------------------------------------------------------------------------
def test_the_api_deploys_it_with_its_region_starters_and_return_step(engine):
    body = deploy_through_the_api(engine)
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [(KEY, 1, True)]
    assert body["definitions"][0]["name"] == "吉安“亲清连心政企恳谈会”问题办理"
    definition = engine.db_get_definition(engine.repository.definitions(key=KEY)[0]["id"])
    info = engine.repository.process(definition)
    assert info.properties["region"] == "江西省吉安市"
    assert info.starter_groups == ["ja_office"]
    assert info.spec.task_specs["Task_handle"].extensions["returnTo"] == "Task_consult"
    assert "returnTo" not in info.spec.task_specs["Task_consult"].extensions      # 首问负责制: no 退单


def test_only_the_business_environment_office_registers_talk_issues(engine, clock):
    deploy_through_the_api(engine)
    engine.tasks.add_member("wang", "ja_office")
    engine.tasks.add_member("li", "ja_unit_hrss")
    c = client(engine)
    r = c.post("/api/instances", json={"key": KEY, "data": TALK, "business_key": "JA-API-1"},
               headers={"X-Qihu-User": "li"})
    assert r.status_code == 403 and "ja_office" in r.get_json()["error"]
    r = c.post("/api/instances", json={"key": KEY, "data": TALK, "business_key": "JA-API-1",
                                       "region": "江西省吉安市"}, headers={"X-Qihu-User": "wang"})
    assert r.status_code == 201
    iid = r.get_json()["id"]
    [t] = engine.tasks.list(instance_id=iid)
    assert (t["element_id"], t["candidate_groups"], t["region"]) == ("Task_register", ["ja_office"], "江西省吉安市")


def test_the_command_line_deploys_it_too(engine, clock, db_url, monkeypatch):
    from qihu.cli import main
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["deploy", str(BPMN)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ja_talks v1" in result.output
    sc = Scenario(engine, clock, members=STAFF)
    iid = talk(sc, "JA-CLI-1")
    assign(sc, iid)
    consult(sc, iid, feasibility="unlawful", handling_opinion="不符合用地政策")
    sc.complete(iid, "Task_explain", "li", {"explain_way": "face", "explanation": "不符合用地政策，已当面解释"})
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert sc.status(iid) == "completed"


# -- the whole way, on time -----------------------------------------------------------------------
def test_solved_within_two_weeks_rated_well_and_struck_off_the_list(sc, engine):
    iid = talk(sc)
    data = sc.data(iid)
    assert (data["talk_date"], data["talk_weekday"], data["assign_due"]) == \
        ("2026-11-05", 4, "2026-11-11T00:00:00+08:00")          # Fri, Mon, Tue: 3 working days after the talk
    t = sc.task(iid, "Task_register")
    assert (t["candidate_groups"], t["lane"], t["due_at"], t["region"]) == \
        (["ja_office"], "市营商办（市发改委）", iso(2026, 11, 11, 0, 0), "江西省吉安市")
    assign(sc, iid)
    [(title, ldata, closed)] = lines(engine, iid, "ja_talk_issues")
    assert title == "急需招聘数百名分拣操作人员" and not closed
    assert ldata == {"kind_name": "政企恳谈会问题清单（台账）", "company": "申通快递吉安分公司",
                     "talk_date": "2026-11-05", "talk_no": "53", "talk_host": "市长", "talk_kind": "regular",
                     "category": "talent", "presumption": "solution", "lead_unit": "市人力资源和社会保障局",
                     "consult_due": "2026-11-16T10:00:00+08:00", "handle_due": "2026-11-23T10:00:00+08:00"}
    [(ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("交办函", "市人力资源和社会保障局", "2026年11月23日")
    assert "亲清连心政企恳谈会第53期（2026-11-05，市长主持，申通快递吉安分公司反映）" in text
    assert "会议纪要：市人社局现场回应，会后对接职业院校" in text
    assert "首问负责制" in text and "于2026年11月16日10时00分前提出办理意见" in text
    t = sc.task(iid, "Task_consult")                        # one calendar week
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["ja_unit_hrss"], "牵头责任单位", iso(2026, 11, 16, 10, 0))
    assert sc.inbox("li") == ["Task_consult"] and sc.inbox("zhao") == []
    consult(sc, iid)
    assert sc.data(iid)["responsible_unit"] == "市人力资源和社会保障局"
    t = sc.task(iid, "Task_handle")                         # two calendar weeks from the 交办函
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["ja_unit_hrss"], "责任单位", iso(2026, 11, 23, 10, 0))
    sc.wait_until(2026, 11, 17, 9, 0)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    t = sc.task(iid, "Task_review")
    assert t["candidate_groups"] == ["ja_office"] and t["due_at"] is None
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    assert sc.notifications(iid) == [NOTIFY_RESULT]
    t = sc.task(iid, "Task_visit")
    assert (t["candidate_groups"], t["lane"]) == (["ja_visit"], "回访调研组")
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "solved", "visit_note": "企业表示问题已解决"})
    t = sc.task(iid, "Task_rate")
    assert (t["assignee"], t["candidate_groups"], t["lane"]) == ("ent_st", [], "企业")
    sc.complete(iid, "Task_rate", "ent_st", GOOD)
    [(title, rdata, _)] = lines(engine, iid, "rating")
    assert title == "企业评价：方案5，过程4，结果5"
    assert rdata == {"company": "申通快递吉安分公司", "responsible_unit": "市人力资源和社会保障局", "rate_plan": 5,
                     "rate_process": 4, "rate_result": 5, "comment": "非常及时", "bad": False, "by_enterprise": True}
    assert lines(engine, iid, "ja_talk_issues")[0][2] is True                # 清单销号
    assert sc.ready(iid) == ["Task_sum"]
    close(sc, iid)
    assert lines(engine, iid, "ja_common_issues") == []
    assert [l[0] for l in letters(engine, iid)] == ["交办函"]
    assert sc.colours(iid) == [] and sc.status(iid) == "completed"
    assert done(sc, iid) == ["Task_register", "Task_consult", "Task_handle", "Task_review", "Task_visit",
                             "Task_rate", "Task_sum"]


def test_a_personal_issue_becomes_a_common_one(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    visit_and_rate(sc, iid)
    close(sc, iid, common=True, measure="建立“吉岗即聘”用工对接平台")
    [(title, data, closed)] = lines(engine, iid, "ja_common_issues")
    assert title == "共性问题（人才招工）：急需招聘数百名分拣操作人员" and not closed
    assert data == {"kind_name": "共性问题清单", "category": "talent", "measure": "建立“吉岗即聘”用工对接平台",
                    "company": "申通快递吉安分公司", "talk_date": "2026-11-05"}
    assert sc.status(iid) == "completed"


# -- deadlines and colours ------------------------------------------------------------------------
def test_the_three_working_days_skip_the_weekend_to_the_minute(sc):
    iid = talk(sc)                                      # Thu 17:00 → due Wed 00:00: 79 working hours
    sc.wait_until(2026, 11, 8, 23, 59)                   # the weekend uses none of them
    assert sc.task(iid, "Task_register")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 9, 16, 23)
    assert sc.task(iid, "Task_register")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 9, 16, 24)                   # 60%: 7 + 24 + 16.4 hours
    assert sc.task(iid, "Task_register")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 10, 8, 11)
    assert sc.task(iid, "Task_register")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 10, 8, 12)                   # 80%: 7 + 24 + 24 + 8.2 hours
    assert sc.task(iid, "Task_register")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 10, 23, 59)
    assert sc.task(iid, "Task_register")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 11, 0, 0)                    # end of the 3rd working day
    assert sc.task(iid, "Task_register")["sla_colour"] == "red"
    assign(sc, iid, when=(2026, 11, 11, 10, 0))          # late: the week runs from the 交办函 all the same
    assert sc.task(iid, "Task_consult")["due_at"] == iso(2026, 11, 18, 10, 0)
    assert sc.colours(iid) == ["yellow", "orange", "red"]
    assert sc.notifications(iid) == []


def test_an_overdue_opinion_brings_a_phone_reminder(sc):
    iid = talk(sc)
    assign(sc, iid)                                     # Mon 11-09 10:00 → Mon 11-16 10:00: 120 working hours
    sc.wait_until(2026, 11, 12, 9, 59)
    assert sc.task(iid, "Task_consult")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 12, 10, 0)                   # 60% = 72 h: Thursday 10:00
    assert sc.task(iid, "Task_consult")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 13, 10, 0)                   # 80% = 96 h: Friday 10:00
    assert sc.task(iid, "Task_consult")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 16, 9, 59)                   # the weekend counts for nothing
    assert sc.task(iid, "Task_consult")["sla_colour"] == "orange" and sc.notifications(iid) == []
    sc.wait_until(2026, 11, 16, 10, 0)                   # one calendar week: red and a phone reminder
    assert sc.task(iid, "Task_consult")["sla_colour"] == "red"
    assert sc.notifications(iid) == [("group", "ja_unit_hrss", "电话提醒：办理意见逾期")]
    assert "Event_consult_overdue" in [e["element_id"] for e in sc.events(iid, "timer_fired")]
    consult(sc, iid, when=(2026, 11, 16, 15, 0))
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 23, 10, 0)     # two weeks from the 交办函
    assert sc.colours(iid)[:3] == ["yellow", "orange", "red"]


def test_late_handling_phone_reminder_then_stalled_red_warning_and_a_card(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)                                    # Wed 11-11 15:00 → due Mon 11-23 10:00: 187 working hours
    sc.wait_until(2026, 11, 18, 7, 11)
    assert sc.task(iid, "Task_handle")["sla_colour"] == "green"
    sc.wait_until(2026, 11, 18, 7, 12)                   # 60% = 112.2 h
    assert sc.task(iid, "Task_handle")["sla_colour"] == "yellow"
    sc.wait_until(2026, 11, 19, 20, 36)                  # 80% = 149.6 h
    assert sc.task(iid, "Task_handle")["sla_colour"] == "orange"
    sc.wait_until(2026, 11, 23, 9, 59)
    assert sc.notifications(iid) == []
    sc.wait_until(2026, 11, 23, 10, 0)                   # two weeks: red and a phone reminder
    assert sc.task(iid, "Task_handle")["sla_colour"] == "red"
    assert sc.notifications(iid) == [("group", "ja_unit_hrss", "电话提醒：限时办结逾期")]
    assert sc.ready(iid) == ["Task_handle"]
    sc.wait_until(2026, 11, 30, 9, 59)
    assert lines(engine, iid, "warning_list") == []
    sc.wait_until(2026, 11, 30, 10, 0)                   # a week later still open: 久拖不决
    [(title, wdata, _)] = lines(engine, iid, "warning_list")
    assert title == "红色预警：久拖不决：急需招聘数百名分拣操作人员（责任单位市人力资源和社会保障局，逾期一周仍未办结）"
    assert wdata["level"] == "red"
    assert sc.notifications(iid)[1:] == [("group", "ja_office", "红色预警"), ("group", "ja_unit_hrss", "红色预警")]
    assert sc.ready(iid) == ["Task_card", "Task_handle"]
    t = sc.task(iid, "Task_card")
    assert (t["candidate_groups"], t["lane"]) == (["ja_office"], "市营商办（市发改委）")
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_card", "li", {"give_card": False, "card_reason": "x"})
    sc.complete(iid, "Task_card", "wang", {"give_card": True, "card_reason": "推诿扯皮、久拖不决"})
    [(title, cdata, _)] = lines(engine, iid, "ja_card")
    assert title == "赋牌问责：市人力资源和社会保障局"
    assert (cdata["kind_name"], cdata["reason"], cdata["handle_due"]) == \
        ("赋牌问责清单", "推诿扯皮、久拖不决", "2026-11-23T10:00:00+08:00")
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "已办结"})
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert sc.status(iid) == "completed"
    assert [l[0] for l in letters(engine, iid)] == ["交办函"]


def test_stalled_without_a_card(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.wait_until(2026, 11, 30, 10, 0)
    sc.complete(iid, "Task_card", "wang", {"give_card": "否", "card_reason": "客观原因导致延误，已说明"})
    assert lines(engine, iid, "ja_card") == []
    assert sc.ready(iid) == ["Task_handle"]
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "已办结"})
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert sc.status(iid) == "completed"


# -- cannot be solved now: explained within the week ---------------------------------------------
@pytest.mark.parametrize("feasibility", ["objective", "unlawful"])
def test_what_cannot_be_solved_is_explained_within_the_week(sc, engine, feasibility):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid, feasibility=feasibility, responsible_group="ja_unit_nature",
            handling_opinion="用地指标年内已用完，明年优先安排")
    t = sc.task(iid, "Task_explain")                    # the same week as the opinion
    assert (t["candidate_groups"], t["lane"], t["due_at"]) == (["ja_unit_hrss"], "牵头责任单位", iso(2026, 11, 16, 10, 0))
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_explain", "li", {"explain_way": "email", "explanation": "x"})
    assert list(err.value.errors) == ["explain_way"]
    sc.complete(iid, "Task_explain", "li", {"explain_way": "face", "explanation": "确属客观原因，已当面解释"})
    assert sc.notifications(iid) == [("user", "ent_st", "恳谈会诉求解释说明")]
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert "Task_handle" not in done(sc, iid) and "Task_review" not in done(sc, iid)
    assert lines(engine, iid, "ja_talk_issues")[0][2] is True
    assert sc.status(iid) == "completed"


def test_an_explanation_the_enterprise_does_not_accept_is_supervised(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid, feasibility="objective", responsible_group="ja_unit_industry")
    sc.complete(iid, "Task_explain", "li", {"explain_way": "phone", "explanation": "需等待省级政策"})
    sc.wait_until(2026, 11, 13, 9, 0)
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "again", "visit_note": "企业再次反映，同类企业已获支持"})
    [_, (ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("督办函", "市工业和信息化局", "2026年11月20日")
    assert "企业再次反映，同类企业已获支持" in text
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["ja_unit_industry"] and t["due_at"] == iso(2026, 11, 20, 9, 0)
    assert sc.inbox("zhao") == ["Task_handle"] and sc.inbox("li") == []
    sc.complete(iid, "Task_handle", "zhao", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "已办结"})
    visit_and_rate(sc, iid)
    assert sc.data(iid)["handle_round"] == 2
    close(sc, iid)
    assert sc.status(iid) == "completed"


# -- 两函: 提示函 for low quality, 督办函 when the enterprise reports again --------------------------
def test_low_quality_brings_a_reminder_letter_and_one_more_week(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", {"handle_report": "已发布招聘信息"})
    sc.wait_until(2026, 11, 16, 9, 0)
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_review", "wang", {"quality": "low"})
    assert list(err.value.errors) == ["review_opinion"]
    sc.complete(iid, "Task_review", "wang", {"quality": "low", "review_opinion": "仅发布信息，未实际对接"})
    [_, (ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("提示函", "市人力资源和社会保障局", "2026年11月23日")
    assert "办理质量不高：仅发布信息，未实际对接" in text
    t = sc.task(iid, "Task_handle")
    assert t["due_at"] == iso(2026, 11, 23, 9, 0) and t["sla_colour"] == "green"
    data = sc.data(iid)
    assert (data["handle_round"], data["redo_reason"], data["stall_at"]) == \
        (2, "仅发布信息，未实际对接", "2026-11-30T09:00:00+08:00")
    assert sc.notifications(iid) == []                  # the enterprise hears of the result only once it is good
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "已实际对接"})
    assert sc.notifications(iid) == [NOTIFY_RESULT]
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert done(sc, iid).count("Task_handle") == 2 and sc.status(iid) == "completed"


def test_the_enterprise_reporting_again_brings_a_supervision_letter(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    sc.wait_until(2026, 11, 18, 14, 30)
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "again", "visit_note": "企业反映招来的人员专业不对口"})
    assert [(l[0], l[1], l[2]) for l in letters(engine, iid)] == [
        ("交办函", "市人力资源和社会保障局", "2026年11月23日"), ("督办函", "市人力资源和社会保障局", "2026年11月25日")]
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 25, 14, 30)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "已对接专业人才"})
    visit_and_rate(sc, iid)
    close(sc, iid)
    assert done(sc, iid).count("Task_visit") == 2 and sc.status(iid) == "completed"


# -- 满意度测评 and 二次督办 ------------------------------------------------------------------------
def test_an_unsatisfied_rating_brings_second_supervision_and_a_new_round(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    sc.wait_until(2026, 11, 19, 10, 0)
    visit_and_rate(sc, iid, BAD)
    t = sc.task(iid, "Task_second_supervision")
    assert (t["candidate_groups"], t["lane"]) == (["ja_office"], "市营商办（市发改委）")
    assert lines(engine, iid, "ja_talk_issues")[0][2] is False              # not struck off
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_second_supervision", "li", {"second_result": "close", "second_opinion": "x"})
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_second_supervision", "wang", {"second_result": "redo"})
    assert list(err.value.errors) == ["second_opinion"]
    sc.complete(iid, "Task_second_supervision", "wang", {"second_result": "redo",
                                                          "second_opinion": "跟踪落实人员到岗"})
    [_, (ltype, unit, deadline, text)] = letters(engine, iid)
    assert (ltype, unit, deadline) == ("督办函", "市人力资源和社会保障局", "2026年11月26日")
    assert "评价不满意（方案4，过程4，结果2）" in text and "督办意见：跟踪落实人员到岗" in text
    assert sc.task(iid, "Task_handle")["due_at"] == iso(2026, 11, 26, 10, 0)
    sc.complete(iid, "Task_handle", "li", {"handle_report": "人员已全部到岗"})
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "到岗核实"})
    visit_and_rate(sc, iid, GOOD)
    assert [(d["rate_result"], d["bad"]) for _, d, _ in lines(engine, iid, "rating")] == [(2, True), (5, False)]
    close(sc, iid)
    assert lines(engine, iid, "ja_talk_issues")[0][2] is True
    assert sc.status(iid) == "completed"


def test_second_supervision_may_close_after_verification(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    visit_and_rate(sc, iid, {**GOOD, "rate_plan": "1"})
    sc.complete(iid, "Task_second_supervision", "wang", {"second_result": "close",
                                                          "second_opinion": "诉求超出政策范围，已当面解释"})
    assert sc.ready(iid) == ["Task_sum"]
    assert lines(engine, iid, "ja_talk_issues")[0][2] is True
    close(sc, iid)
    assert [l[0] for l in letters(engine, iid)] == ["交办函"] and sc.status(iid) == "completed"


def test_the_rating_form_is_the_five_level_good_bad_scale(sc):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "solved", "visit_note": "已解决"})
    form = sc.engine.tasks.get(sc.task(iid, "Task_rate")["id"])["form"]
    fields = {f["id"]: f for f in form["fields"]}
    assert list(fields) == ["rate_plan", "rate_process", "rate_result", "rate_comment"]
    for f in ("rate_plan", "rate_process", "rate_result"):
        assert [(o["id"], o["name"]) for o in fields[f]["options"]] == [
            ("5", "非常满意"), ("4", "满意"), ("3", "基本满意"), ("2", "不满意"), ("1", "非常不满意")]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_rate", "hu", GOOD)             # the enterprise has an account: it rates itself
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_rate", "ent_st", {"rate_plan": "6", "rate_process": "满意"})
    assert set(err.value.errors) == {"rate_plan", "rate_process", "rate_result"}
    sc.complete(iid, "Task_rate", "ent_st", {"rate_plan": "3", "rate_process": "3", "rate_result": "3"})
    assert sc.ready(iid) == ["Task_sum"]                      # 基本满意 is not a bad rating


def test_an_enterprise_without_an_account_is_called_and_rated_by_the_visit_group(sc, engine):
    iid = talk(sc, "JA-2026-053-09", enterprise_user=None)
    assign(sc, iid)
    consult(sc, iid)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    assert sc.notifications(iid) == [("group", "ja_visit", "恳谈会诉求办理结果")]
    sc.complete(iid, "Task_visit", "hu", {"visit_result": "solved", "visit_note": "电话回访"})
    t = sc.task(iid, "Task_rate")
    assert t["assignee"] is None and t["candidate_groups"] == ["ja_visit"]
    sc.complete(iid, "Task_rate", "hu", GOOD)
    assert lines(engine, iid, "rating")[0][1]["by_enterprise"] is False
    close(sc, iid)
    assert sc.status(iid) == "completed"


# -- 退单 to the lead unit, and the 首问负责制 ------------------------------------------------------
def test_the_responsible_unit_returns_it_to_the_lead_unit_for_redistribution(sc, engine):
    iid = talk(sc)
    assign(sc, iid)
    consult(sc, iid, responsible_group="ja_unit_industry")
    t = sc.task(iid, "Task_handle")
    assert t["candidate_groups"] == ["ja_unit_industry"]
    assert engine.handoff.return_target(t["id"])["element_id"] == "Task_consult"
    with pytest.raises(Forbidden):
        engine.handoff.return_task(t["id"], "li", "不是我们的")               # not this unit's task
    engine.handoff.return_task(t["id"], "zhao", "用工招聘属人社部门职责")
    t = sc.task(iid, "Task_consult")
    assert t["candidate_groups"] == ["ja_unit_hrss"] and t["due_at"] == iso(2026, 11, 16, 10, 0)
    assert sc.data(iid)["return_reason"] == "用工招聘属人社部门职责"
    assert ("group", "ja_unit_hrss", "退单：限时办结") in sc.notifications(iid)
    sc.complete(iid, "Task_consult", "li", CONSULT)
    assert sc.task(iid, "Task_handle")["candidate_groups"] == ["ja_unit_hrss"]
    assert len(lines(engine, iid, "ja_talk_issues")) == 1 and len(letters(engine, iid)) == 1


# -- working days around the National Day holiday -------------------------------------------------
def test_a_special_talk_before_national_day(sc, engine):
    sc.wait_until(2026, 9, 30, 18, 0)                   # a 专场恳谈会 on Wed 09-30; Oct 1–7 off, Sat Oct 10 works
    iid = sc.start(KEY, {**TALK, "talk_date": "2026-09-30", "talk_no": "", "talk_host": "",
                         "talk_kind": "special"}, business_key="JA-2026-ZC-1", user="wang")
    assert sc.task(iid, "Task_register")["due_at"] == iso(2026, 10, 11, 0, 0)    # Oct 8, Oct 9, Sat Oct 10
    sc.wait_until(2026, 10, 7, 23, 59)
    assert sc.task(iid, "Task_register")["sla_colour"] == "green"           # the holiday uses no working time
    sc.wait_until(2026, 10, 10, 9, 0)                   # on the make-up Saturday
    assert sc.task(iid, "Task_register")["sla_colour"] == "orange"
    sc.complete(iid, "Task_register", "wang", REGISTER)
    [(_, _, _, text)] = letters(engine, iid)
    assert "亲清连心政企恳谈会（2026-09-30，申通快递吉安分公司反映）" in text
    assert sc.task(iid, "Task_consult")["due_at"] == iso(2026, 10, 17, 9, 0)      # a calendar week
    assert sc.task(iid, "Task_consult")["sla_colour"] == "green"


def test_a_talk_without_a_date_is_dated_by_the_beijing_calendar(sc):
    sc.wait_until(2026, 11, 5, 7, 30)                   # still 11-04 in UTC
    iid = sc.start(KEY, {"company": "某公司", "summary": "s"}, business_key="JA-NODATE", user="wang")
    data = sc.data(iid)
    assert (data["talk_date"], data["talk_kind"], data["enterprise_user"]) == ("2026-11-05", "regular", None)
    assert sc.task(iid, "Task_register")["due_at"] == iso(2026, 11, 11, 0, 0)


# -- forms and authorisation ----------------------------------------------------------------------
def test_forms_refuse_missing_or_bad_fields_and_outsiders_are_forbidden(sc):
    iid = talk(sc)
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_register", "wang", {k: v for k, v in REGISTER.items() if k != "lead_group"})
    assert list(err.value.errors) == ["lead_group"]
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_register", "wang", {**REGISTER, "lead_group": "ja_unit_unknown", "category": "x"})
    assert set(err.value.errors) == {"lead_group", "category"}
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_register", "wang", {**REGISTER, "summary": "长" * 1001})
    assert list(err.value.errors) == ["summary"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_register", "li", REGISTER)       # units do not assign to themselves
    assign(sc, iid)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_consult", "zhao", CONSULT)       # another unit
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_consult", "wang", CONSULT)       # the office does not consult for the unit
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_consult", "li", {**CONSULT, "feasibility": "maybe", "consult_record": ""})
    assert set(err.value.errors) == {"feasibility", "consult_record"}
    consult(sc, iid)
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_handle", "li", {})
    assert list(err.value.errors) == ["handle_report"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_handle", "hu", HANDLED)
    sc.complete(iid, "Task_handle", "li", HANDLED)
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_review", "li", {"quality": "good", "review_opinion": "自评到位"})
    sc.complete(iid, "Task_review", "wang", {"quality": "good", "review_opinion": "办理到位"})
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_visit", "hu", {"visit_note": "x"})
    assert list(err.value.errors) == ["visit_result"]
    with pytest.raises(Forbidden):
        sc.complete(iid, "Task_visit", "wang", {"visit_result": "solved", "visit_note": "x"})
    visit_and_rate(sc, iid)
    with pytest.raises(ValidationFailed) as err:
        sc.complete(iid, "Task_sum", "wang", {})
    assert list(err.value.errors) == ["common_issue"]
    close(sc, iid)
    assert sc.status(iid) == "completed"
