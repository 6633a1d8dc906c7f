"""个人信息保护 through the 通用 mechanism (bpmn/appeal_basic.bpmn, issue 18): an enterprise's
appeal from the portal and a phone appeal registered with its contact only in the variables
(联系人, 联系电话) are walked to the end by the people whose steps they are. The 受理员 reads the
contact in full; the department reads it masked until it asks for it (显示完整信息, logged);
the supervisor's 二次督办 likewise; every read is in the log per appeal and per user; 30 days
after closing (this deployment's short period) the worker anonymises the contact in the
ticket, the variables and the history, and the 晾晒 figures are what they were."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from qihu import appeals
from qihu.appeals.models import AppealFact, FigureMonth
from qihu.appeals.privacy import ANONYMISED, PrivacySettings
from tests.scenario import Scenario

PHONE, MASKED = "13812345678", "138****5678"


@pytest.fixture
def sc(engine, clock):
    s = Scenario(engine, clock, "bpmn/appeal_basic.bpmn", members={
        "li": "acceptor", "zheng": "dept_policy", "du": "supervisor"})
    engine.accounts.add_user("boss", "pw-for-tests", is_admin=True)
    appeals.of(engine).privacy.settings = PrivacySettings(anonymise_days=30)
    return s


def figures(engine):
    with engine.db.read() as s:
        facts = [tuple(getattr(f, c.name) for c in AppealFact.__table__.columns if c.name != "updated_at")
                 for f in s.scalars(select(AppealFact).order_by(AppealFact.instance_id))]
        months = [tuple(getattr(m, c.name) for c in FigureMonth.__table__.columns)
                  for m in s.scalars(select(FigureMonth).order_by(FigureMonth.month, FigureMonth.department))]
    return facts, months


def read_as(domain, user, iid, page="task", revealed=False):
    case = domain.case(iid)
    got, full = domain.privacy.shown(user, iid, case, page, revealed=revealed)
    return got["contact_name"], got["contact_phone"], full


def test_masked_revealed_logged_and_anonymised_after_closing(sc, engine, clock):
    domain = appeals.of(engine)
    web = domain.portal.submit("appeal_basic", company="湖州某新材料有限公司", credit_code="91330100799655058B",
                               contact_name="张经理", contact_phone=PHONE, category="policy",
                               summary="惠企政策兑现资金迟迟未到账，影响周转")["instance_id"]
    phone = sc.start("appeal_basic", {"company": "德清某机械厂", "联系人": "王厂长", "联系电话": "0572-2345678"},
                     business_key="QH-PHONE-1", user="li")
    for iid in (web, phone):
        assert read_as(domain, "li", iid)[2] is True                          # 受理员: in full
        sc.complete(iid, "Task_accept", "li", {"category": "policy", "summary": "资金未到账"})
    # the department reads masked, and asks for the phone number of the web appeal to call back
    assert read_as(domain, "zheng", web) == ("张*", MASKED, False)
    assert read_as(domain, "zheng", phone) == ("王*", "0572-***5678", False)
    domain.privacy.reveal("zheng", web, "task")
    assert read_as(domain, "zheng", web, revealed=True) == ("张经理", PHONE, True)
    for iid in (web, phone):
        sc.complete(iid, "Task_handle", "zheng", {"result": "solved", "reply": "已协调兑现"})
    # the enterprise rates its own appeal; the phone appeal is rated by the 受理员 after a call
    rate = sc.task(web, "Task_rate")
    sc.complete(web, "Task_rate", rate["assignee"], {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    sc.complete(phone, "Task_rate", "li", {"rate_plan": "2", "rate_process": "2", "rate_result": "2"})
    # a bad rating: 二次督办 for the supervisor, who reads masked
    assert read_as(domain, "du", phone, page="instance") == ("王*", "0572-***5678", False)
    sc.complete(phone, "Task_second_supervision", "du",
                {"second_result": "close", "second_opinion": "经核实已依规办理，已向企业解释说明"})
    for iid in (web, phone):
        if sc.ready(iid):
            pytest.fail(f"{iid} still open at {sc.ready(iid)}")
        assert engine.runtime.get(iid)["status"] == "completed"
    before = figures(engine)
    # the log per appeal and per user
    assert [(r["user"], r["source"], r["full"]) for r in domain.privacy.reads("boss", instance_id=web)][::-1] == [
        ("li", "task", True), ("zheng", "task", False), ("zheng", "reveal", True), ("zheng", "task", True)]
    assert {r["instance_id"] for r in domain.privacy.reads("boss", user="du")} == {phone}
    # 29 days on: kept; 31: the worker anonymises both, once
    sc.wait_until(2026, 12, 1)
    sc.worker.run_periodic()
    assert domain.case(web)["contact_phone"] == PHONE
    clock.set(clock.now() + timedelta(days=3))
    domain.privacy._next_anonymise = 0.0           # the worker's hourly check, due again
    sc.worker.run_periodic()
    for iid in (web, phone):
        case = domain.case(iid)
        assert (case["contact_name"], case["contact_phone"]) == (ANONYMISED, ANONYMISED), iid
        data = engine.runtime.data(iid)
        assert ANONYMISED in (data.get("contact_phone"), data.get("联系电话"))
        history = repr([e["data"] for e in engine.history.events(iid)])
        assert PHONE not in history and "2345678" not in history and "张经理" not in history and "王厂长" not in history
    assert figures(engine) == before                   # the 晾晒 figures are untouched
    assert domain.privacy.anonymise() == 0              # idempotent
    assert domain.privacy.reads("boss", instance_id=phone)[0]["source_name"] == "到期脱敏"
    assert engine.audit.verify() is None
