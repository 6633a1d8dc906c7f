"""Issue 15: who is told what (appeals/notices.py): the enterprise by SMS at 受理, 答复 and
待评价; staff by 浙政钉 (each member of a notified group) at 督办. Written in the step's
transaction through the outbox: none for a step that did not commit, none twice."""
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qihu import appeals
from qihu.appeals.notices import _accepted
from qihu.engine.storage.models import NoticeSent, Outbox
from qihu.engine.topics import HandlerRegistry
from tests.bpmn_util import bpmn, chain

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "bpmn" / "appeal_basic.bpmn"
PHONE = "13812345678"
GOOD = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
        "contact_phone": PHONE, "category": "policy", "summary": "新厂房用地指标迟迟未落实，影响投产"}


def submit(engine, key="appeal_basic"):
    g = GOOD
    return appeals.of(engine).portal.submit(key, g["company"], g["credit_code"], g["contact_name"],
                                            g["contact_phone"], g["category"], g["summary"])


def notices(engine):
    with engine.db.read() as s:
        return [(r.channel, r.recipient, r.business_id, r.status, r.title, r.text)
                for r in s.scalars(select(NoticeSent).order_by(NoticeSent.id))]


def one_task(engine, iid):
    [t] = engine.tasks.list(instance_id=iid)
    return t


@pytest.fixture
def basic(engine):
    engine.repository.deploy([BASIC])
    for user, groups in {"li": ["acceptor"], "wang": ["dept_policy"], "zhao": ["supervisor"]}.items():
        engine.tasks.add_member(user, *groups)
    return engine


def test_the_enterprise_is_told_at_acceptance_reply_and_rating(basic):
    e = basic
    made = submit(e)
    iid, no = made["instance_id"], made["tracking_no"]
    assert notices(e) == []                                   # the registration's own SMS is not ours
    e.tasks.complete(one_task(e, iid)["id"], "li", {"category": "policy", "summary": "用地指标未落实"})
    [accepted] = notices(e)
    assert accepted[:4] == ("sms", PHONE, f"{iid}:accepted", "sent") and no in accepted[5] and "已受理" in accepted[5]
    assert made["token"] not in accepted[5]                   # the link is not stored, so never in it
    handle = one_task(e, iid)
    e.tasks.complete(handle["id"], "wang", {"result": "solved", "reply": "已协调自然资源部门落实用地指标"})
    rate = one_task(e, iid)
    reply, to_rate = notices(e)[1:]
    assert reply[:4] == ("sms", PHONE, f"{iid}:reply:{handle['id']}", "sent")
    assert "有了答复：已协调自然资源部门落实用地指标。" in reply[5] and no in reply[5]
    assert to_rate[:4] == ("sms", PHONE, f"{iid}:rate:{rate['id']}", "sent")
    assert "请对办理情况进行评价" in to_rate[5]
    appeals.of(e).portal.rate(made["token"], rate["id"], {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    assert len(notices(e)) == 3                               # the enterprise's own rating tells it nothing
    with e.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0


def test_a_step_that_rolls_back_tells_nobody(basic):
    e = basic
    iid = submit(e)["instance_id"]

    def boom(uow):
        raise RuntimeError("a later listener fails: the step rolls back")
    e.listeners.step_saved.append(boom)
    with pytest.raises(RuntimeError):
        e.tasks.complete(one_task(e, iid)["id"], "li", {"category": "policy", "summary": "x"})
    e.listeners.step_saved.remove(boom)
    assert notices(e) == []
    with e.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0
    e.tasks.complete(one_task(e, iid)["id"], "li", {"category": "policy", "summary": "x"})
    assert [n[2] for n in notices(e)] == [f"{iid}:accepted"]


def test_a_notice_not_delivered_at_commit_is_delivered_once_by_the_worker(basic, monkeypatch):
    from qihu.engine.runtime.outbox import Deliveries
    from qihu.engine.runtime.worker import Worker
    e = basic
    iid = submit(e)["instance_id"]
    monkeypatch.setattr(Deliveries, "deliver_now", lambda self, ids: None)      # died after the commit
    e.tasks.complete(one_task(e, iid)["id"], "li", {"category": "policy", "summary": "x"})
    monkeypatch.undo()
    assert notices(e) == []
    Worker(e).run_once()
    Worker(e).run_once()
    assert [n[2] for n in notices(e)] == [f"{iid}:accepted"]


SUPERVISED = bpmn("supervised", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="accept" name="受理登记" camunda:candidateGroups="acceptor" />
<bpmn:serviceTask id="remind" name="督办提醒" camunda:type="external" camunda:topic="test.remind" />
<bpmn:userTask id="handle" name="部门办理" camunda:candidateGroups="dept_policy" />
<bpmn:endEvent id="e" />
{chain("s", "accept", "remind", "handle", "e")}""", name="督办测试").replace(
    b'isExecutable="true"', b'isExecutable="true" camunda:candidateStarterGroups="enterprise"')


def test_staff_hear_of_supervision_by_dingtalk_each_member_and_the_enterprise_by_sms(make_engine):
    reg = HandlerRegistry()

    def remind(qihu, enterprise_user=None):
        qihu.notify("督办提醒", "请于今日办结", to_groups="dept_policy", to_users=["zhao", enterprise_user])
        return {}
    reg.register("test.remind", remind)
    e = make_engine(handlers=reg)
    e.repository.deploy([("supervised.bpmn", SUPERVISED)])
    for user, groups in {"li": ["acceptor"], "wang": ["dept_policy"], "sun": ["dept_policy"]}.items():
        e.tasks.add_member(user, *groups)
    made = submit(e, key="supervised")
    iid = made["instance_id"]
    e.tasks.complete(one_task(e, iid)["id"], "li", {})
    told = [n for n in notices(e) if not n[2].endswith(":accepted")]
    staff = sorted((n[0], n[1], n[3], n[4], n[5]) for n in told if n[0] == "dingtalk")
    assert staff == [("dingtalk", u, "sent", "督办提醒", "请于今日办结") for u in ("sun", "wang", "zhao")]
    [sms] = [n for n in told if n[0] == "sms"]
    assert sms[1] == PHONE and sms[5] == "督办提醒：请于今日办结"
    assert all(":notification:" in n[2] for n in told)


def test_an_instance_without_a_ticket_tells_no_enterprise(basic):
    e = basic
    iid = e.runtime.start("appeal_basic", {"company": "某公司"}, business_key="HZ-1")
    e.tasks.complete(one_task(e, iid)["id"], "li", {"category": "policy", "summary": "x"})
    assert notices(e) == []


@pytest.mark.parametrize("name, values, accepted", [
    ("受理登记", {}, True), ("受理登记研判", {"category": "policy"}, True), ("确认受理", {"accepted": True}, True),
    ("确认受理", {"accepted": False}, False), ("告知不予受理", {}, False), ("拒绝受理", {}, False),
    ("部门办理", {}, False)])
def test_what_counts_as_acceptance(name, values, accepted):
    assert _accepted(name, values) is accepted
