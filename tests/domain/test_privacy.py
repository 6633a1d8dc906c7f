"""Personal information (issue 18, appeals/privacy.py): the complainant's contact details are
masked for readers without the right, read in full by the 受理 group and administrators, shown
in full to others only through a logged 显示完整信息; every read is a row of the read log,
listed per appeal and per user for administrators and supervisors; exports mask by the
reader's role and are logged once; closed appeals' personal fields are anonymised after the
period, the figures kept. Every test runs on SQLite and PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from qihu import appeals
from qihu.appeals import privacy as pv
from qihu.appeals.models import AppealFact, AppealTicket, PersonalDataRead
from qihu.engine.errors import Forbidden
from qihu.engine.storage.models import HistoryEvent
from tests.domain.test_portal import BASIC, GOOD
from tests.web_util import PASSWORD, add_people

PHONE, NAME = GOOD["contact_phone"], GOOD["contact_name"]


@pytest.fixture
def domain(engine):
    add_people(engine)                      # li, liu: acceptor; wang: dept_policy; zhao: supervisor
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.accounts.add_user("lingdao", PASSWORD, display_name="市领导", groups=["dashboard"], region="湖州市")
    engine.accounts.add_user("other_lingdao", PASSWORD, display_name="外市领导", groups=["dashboard"], region="杭州市")
    engine.repository.deploy([BASIC], region="湖州市")
    return appeals.of(engine)


def submit(domain, **changes):
    return domain.portal.submit("appeal_basic", **{**GOOD, **changes})


def accept(engine, iid):
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "用地指标未落实"})


def close(engine, iid):
    accept(engine, iid)
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "wang", {"result": "solved", "reply": "已协调落实"})
    [rate] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(rate["id"], rate["assignee"], {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    assert engine.runtime.get(iid)["status"] == "completed"


def reads(engine, **where):
    with engine.db.read() as s:
        q = select(PersonalDataRead).order_by(PersonalDataRead.id)
        for k, v in where.items():
            q = q.where(getattr(PersonalDataRead, k) == v)
        return [(r.user, r.instance_id, r.source, r.full, r.fields) for r in s.scalars(q)]


def test_masks():
    assert pv.mask_phone("13812341234") == "138****1234"
    assert pv.mask_phone("0572-2345678") == "0572-***5678"
    assert pv.mask_name("张经理") == "张*" and pv.mask_name("欧阳") == "欧*" and pv.mask_name("") == ""
    assert pv.mask_email("zhang@x.cn") == "z***@x.cn"
    assert pv.mask_id("330501199001011234") == "3305************34"
    assert pv.mask("phone", pv.ANONYMISED) == pv.ANONYMISED and pv.mask("name", None) is None
    assert pv.mask_values({"contact_phone": PHONE, "联系人": NAME, "company": "甲公司"}) == {
        "contact_phone": "138****5678", "联系人": "张*", "company": "甲公司"}


def test_settings_per_region_and_deployment():
    s = pv.PrivacySettings.from_env({})
    assert s.full_groups_for("湖州市") == {"acceptor"} and s.anonymise_days_for(None) == 1095
    s = pv.PrivacySettings.from_env({"QIHU_PRIVACY_FULL_GROUPS": "acceptor,window; 湖州市=hz_centre",
                                     "QIHU_PRIVACY_ANONYMISE_DAYS": "30;湖州市=7",
                                     "QIHU_PRIVACY_REVEAL_GROUPS": "hotline"})
    assert s.full_groups_for(None) == {"acceptor", "window"} and s.full_groups_for("湖州市") == {"hz_centre"}
    assert s.anonymise_days_for("杭州市") == 30 and s.anonymise_days_for("湖州市") == 7
    assert s.reveal_groups == {"hotline"}
    with pytest.raises(ValueError, match="整数天"):
        pv.PrivacySettings.from_env({"QIHU_PRIVACY_ANONYMISE_DAYS": "三十"})


def test_the_acceptor_and_administrators_read_in_full_others_masked_every_read_logged(engine, domain):
    iid = submit(domain)["instance_id"]
    case = domain.case(iid)
    got, full = domain.privacy.shown("li", iid, case, "task")
    assert full and got["contact_phone"] == PHONE and got["contact_name"] == NAME
    got, full = domain.privacy.shown("boss", iid, case, "instance")
    assert full and got["contact_phone"] == PHONE
    accept(engine, iid)
    got, full = domain.privacy.shown("wang", iid, domain.case(iid), "task")
    assert not full and got["contact_phone"] == "138****5678" and got["contact_name"] == "张*"
    assert got["company"] == GOOD["company"]                        # the enterprise's, not personal
    assert reads(engine) == [("li", iid, "task", True, ["contact_name", "contact_phone"]),
                             ("boss", iid, "instance", True, ["contact_name", "contact_phone"]),
                             ("wang", iid, "task", False, ["contact_name", "contact_phone"])]


def test_the_variables_are_masked_too(engine, domain):
    iid = submit(domain)["instance_id"]
    accept(engine, iid)
    data, full = domain.privacy.shown("wang", iid, engine.runtime.data(iid), "api")
    assert not full and data["contact_phone"] == "138****5678" and data["contact_name"] == "张*"
    assert data["company"] == GOOD["company"] and data["summary"]


def test_revealing_is_for_those_taking_part_and_is_logged_first(engine, domain):
    iid = submit(domain)["instance_id"]
    accept(engine, iid)
    assert domain.privacy.may_reveal("wang", iid)                   # the department handling it
    assert not domain.privacy.may_reveal("lingdao", iid)            # reads the region, takes no part
    assert engine.access.can_see_instance("lingdao", iid)
    assert not domain.privacy.may_reveal("zhao", iid) and not domain.privacy.may_reveal(None, iid)
    with pytest.raises(Forbidden, match="无权查看此诉求的完整个人信息"):
        domain.privacy.reveal("lingdao", iid, "instance")
    domain.privacy.reveal("wang", iid, "task")
    got, full = domain.privacy.shown("wang", iid, domain.case(iid), "task", revealed=True)
    assert full and got["contact_phone"] == PHONE
    got, full = domain.privacy.shown("lingdao", iid, domain.case(iid), "instance", revealed=True)
    assert not full and got["contact_phone"] == "138****5678"        # asking is not enough
    assert [r[2:4] for r in reads(engine, user="wang")] == [("reveal", True), ("task", True)]
    revealed = engine.audit.list(action="personal_data_revealed")
    assert [(r["actor"], r["target"], r["detail"]["page"]) for r in revealed] == [("wang", iid, "task")]


def test_nothing_is_shown_in_full_unlogged(engine, domain, monkeypatch):
    iid = submit(domain)["instance_id"]

    def broken(*a, **k):
        raise RuntimeError("database away")
    monkeypatch.setattr(domain.privacy, "_write", broken)
    got, full = domain.privacy.shown("li", iid, domain.case(iid), "task")
    assert not full and got["contact_phone"] == "138****5678"        # masked, but the page works


def test_the_read_log_per_appeal_and_per_user_for_administrators_and_supervisors(engine, domain):
    a = submit(domain)["instance_id"]
    b = submit(domain, company="德清绿能科技有限公司")["instance_id"]
    domain.privacy.shown("li", a, domain.case(a), "task")
    domain.privacy.shown("liu", b, domain.case(b), "print")
    domain.privacy.shown("li", b, domain.case(b), "instance")
    assert [(r["user"], r["source_name"], r["full"], r["fields"]) for r in domain.privacy.reads("boss", instance_id=b)] \
        == [("li", "流程实例页", True, ["联系人", "联系电话"]), ("liu", "打印办理单", True, ["联系人", "联系电话"])]
    assert [r["instance_id"] for r in domain.privacy.reads("boss", user="li")] == [b, a]
    assert len(domain.privacy.reads("lingdao")) == 3                  # a supervisor of the appeals' region
    assert domain.privacy.reads("other_lingdao") == []                # another region's
    for nobody in ("wang", "li", None):
        with pytest.raises(Forbidden):
            domain.privacy.reads(nobody)


def test_exports_mask_by_the_readers_role_and_are_logged_once(engine, domain):
    a = submit(domain)["instance_id"]
    b = submit(domain, company="德清绿能科技有限公司", contact_phone="13900001111")["instance_id"]
    facts = [{"instance_id": a, "region": "湖州市"}, {"instance_id": b, "region": "湖州市"},
             {"instance_id": "no-ticket", "region": "湖州市"}]
    rows = domain.privacy.export_rows("lingdao", facts, batch=2)
    got = list(rows)
    rows.log({"month": "2026-11"})
    assert [(r["contact_name"], r["contact_phone"]) for r in got] == [("张*", "138****5678"), ("张*", "139****1111"),
                                                                      (None, None)]
    admin_rows = domain.privacy.export_rows("boss", facts)
    assert [r["contact_phone"] for r in admin_rows] == [PHONE, "13900001111", None]
    admin_rows.log({"month": "2026-11"})
    with engine.db.read() as s:
        logged = [(r.user, r.source, r.full, r.instances, r.detail) for r in s.scalars(select(PersonalDataRead))]
    assert logged == [("lingdao", "export", False, f"{a},{b}", {"month": "2026-11", "appeals": 2, "listed": True}),
                      ("boss", "export", True, f"{a},{b}", {"month": "2026-11", "appeals": 2, "listed": True})]
    listed = domain.privacy.reads("boss", instance_id=b)              # the appeal's listing names its exports
    assert [(r["user"], r["source"], r["full"], r["appeals"]) for r in listed] == [
        ("boss", "export", True, 2), ("lingdao", "export", False, 2)]


def test_closed_appeals_are_anonymised_after_the_period_figures_kept(engine, domain, clock):
    domain.privacy.settings = pv.PrivacySettings(anonymise_days=30)
    done = submit(domain)["instance_id"]
    close(engine, done)
    still_open = submit(domain, company="德清绿能科技有限公司")["instance_id"]
    with engine.db.read() as s:
        fact = {c: v for c, v in s.scalars(select(AppealFact).where(AppealFact.instance_id == done)).one()
                .__dict__.items() if not c.startswith("_")}
    clock.set(clock.now() + timedelta(days=29))
    assert domain.privacy.anonymise() == 0                           # not yet
    clock.set(clock.now() + timedelta(days=2))
    assert domain.privacy.due_for_anonymising() == [done]
    assert domain.privacy.anonymise() == 1
    with engine.db.read() as s:
        t = s.scalars(select(AppealTicket).where(AppealTicket.instance_id == done)).one()
        assert (t.contact_name, t.contact_phone, t.company) == (pv.ANONYMISED, pv.ANONYMISED, GOOD["company"])
        events = [e.data for e in s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == done))]
        after = {c: v for c, v in s.scalars(select(AppealFact).where(AppealFact.instance_id == done)).one()
                 .__dict__.items() if not c.startswith("_")}
        other = s.scalars(select(AppealTicket).where(AppealTicket.instance_id == still_open)).one()
    assert after == fact                                                # the figures are untouched
    assert PHONE not in repr(events) and NAME not in repr(events) and pv.ANONYMISED in repr(events)
    data = engine.runtime.data(done)
    assert data["contact_phone"] == pv.ANONYMISED and data["contact_name"] == pv.ANONYMISED
    assert data["company"] == GOOD["company"]
    assert other.contact_phone == PHONE                                 # open: kept
    case = domain.case(done)
    assert case["contact_phone"] == pv.ANONYMISED
    # idempotent: nothing due again, and doing it again changes nothing
    assert domain.privacy.due_for_anonymising() == [] and domain.privacy.anonymise() == 0
    assert domain.privacy.anonymise_one(done) == []
    audited = engine.audit.list(action="personal_data_anonymised")
    assert audited[-1]["target"] == done and "contact_phone" in audited[-1]["detail"]["fields"]
    assert [r["source_name"] for r in domain.privacy.reads("boss", instance_id=done)][0] == "到期脱敏"
    assert engine.audit.verify() is None


def test_the_period_is_per_region_and_zero_is_never(engine, domain, clock):
    iid = submit(domain)["instance_id"]
    close(engine, iid)
    clock.set(clock.now() + timedelta(days=10))
    domain.privacy.settings = pv.PrivacySettings(anonymise_days=5, anonymise_days_by_region={"湖州市": 0})
    assert domain.privacy.due_for_anonymising() == []
    domain.privacy.settings = pv.PrivacySettings(anonymise_days=0, anonymise_days_by_region={"湖州市": 7})
    assert domain.privacy.due_for_anonymising() == [iid]
    domain.privacy.settings = pv.PrivacySettings(anonymise_days=7, anonymise_days_by_region={"杭州市": 1})
    assert domain.privacy.due_for_anonymising() == [iid]


def test_the_worker_runs_it(engine, domain, clock):
    from qihu.engine.runtime.worker import Worker
    domain.privacy.settings = pv.PrivacySettings(anonymise_days=1)
    iid = submit(domain)["instance_id"]
    close(engine, iid)
    clock.set(clock.now() + timedelta(days=2))
    assert domain.privacy.periodic in engine.listeners.periodic
    Worker(engine).run_periodic()
    assert domain.case(iid)["contact_phone"] == pv.ANONYMISED
    assert domain.privacy.periodic() is None                            # at most once an hour


def test_a_step_that_asked_for_a_contact_is_masked_in_the_earlier_work_and_the_sheet(engine, domain):
    from tests.bpmn_util import bpmn, chain
    diagram = bpmn("phone_register", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="reg" name="电话登记" camunda:candidateGroups="acceptor">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="联系人" label="联系人" type="string" />
    <camunda:formField id="联系电话" label="联系电话" type="string" />
    <camunda:formField id="note" label="来电摘要" type="string" />
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="dept_policy" />
<bpmn:endEvent id="e" />
{chain("s", "reg", "handle", "e")}""", name="电话登记")
    engine.repository.deploy([("phone_register.bpmn", diagram)])
    iid = engine.runtime.start("phone_register", {"company": "某公司"}, user="li")
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"联系人": "王厂长", "联系电话": "13900001111", "note": "来电反映用电问题"})
    [t] = engine.tasks.list(instance_id=iid)
    got, full = domain.privacy.shown("wang", iid, domain.case(iid, t["id"]), "task")
    assert not full and (got["contact_name"], got["contact_phone"]) == ("王*", "139****1111")
    [step] = got["prior"]
    assert {v["id"]: v["text"] for v in step["values"]} == {"联系人": "王*", "联系电话": "139****1111",
                                                           "note": "来电反映用电问题"}
    assert pv.mask_steps(appeals.case_file.steps(engine, iid))[0]["values"][1]["text"] == "139****1111"
