"""Issue 15: notices go through the outbox (Runtime.notice / send_notice) and land once on
their channel, recorded in notice_sent (engine.runtime.channels)."""
import pytest
from sqlalchemy import func, select

from qihu.engine.runtime.channels import Adapter, ChannelError
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import NoticeSent, Outbox
from tests.bpmn_util import bpmn, chain

STEP = bpmn("step", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}""", name="一步")


class Recording(Adapter):
    """A channel that remembers each call (the recipients of each), or fails while told to."""
    name = "recording"
    max_receivers = 2
    inline = True

    def __init__(self):
        self.calls, self.failing = [], False

    def send(self, notices):
        if self.failing:
            raise ChannelError("网关不可用 (gateway down)")
        self.calls.append([n.to for n in notices])


def sent(e):
    with e.db.read() as s:
        return [(r.channel, r.recipient, r.business_id, r.status, r.text)
                for r in s.scalars(select(NoticeSent).order_by(NoticeSent.id))]


def outbox_rows(e):
    with e.db.read() as s:
        return s.scalar(select(func.count()).select_from(Outbox))


def test_send_notice_lands_on_the_log_channel_at_once(engine, caplog):
    caplog.set_level("INFO", logger="qihu.notices")
    engine.runtime.send_notice(channel="sms", to="13800000000", text="您的诉求已受理", business_id="HZ-1:accepted")
    assert sent(engine) == [("sms", "13800000000", "HZ-1:accepted", "sent", "您的诉求已受理")]
    assert outbox_rows(engine) == 0
    assert "13800000000" in caplog.text and "您的诉求已受理" in caplog.text


def test_the_same_notice_is_sent_once(engine):
    ch = Recording()
    engine.runtime.deliveries.channels.register("sms", ch)
    for _ in range(2):
        engine.runtime.send_notice(channel="sms", to="138", text="已受理", business_id="HZ-1:accepted")
    assert ch.calls == [["138"]] and len(sent(engine)) == 1 and outbox_rows(engine) == 0


def test_a_notice_in_a_step_is_delivered_after_it_commits_and_never_for_a_rolled_back_one(engine):
    ch = Recording()
    engine.runtime.deliveries.channels.register("dingtalk", ch)
    engine.repository.deploy([("step.bpmn", STEP)])
    fail = []

    def tell(uow):
        if uow.after.ready:
            engine.runtime.notice(uow.session, channel="dingtalk", to="clerk1", text="请办理",
                                  business_id=f"{uow.instance.id}:work", instance_id=uow.instance.id)
        if fail:
            raise RuntimeError("the step fails after writing its notice")
    engine.listeners.step_saved.append(tell)
    fail.append(1)
    with pytest.raises(RuntimeError):
        engine.runtime.start("step")
    assert ch.calls == [] and sent(engine) == [] and outbox_rows(engine) == 0
    fail.clear()
    iid = engine.runtime.start("step")
    assert ch.calls == [["clerk1"]] and sent(engine)[0][:4] == ("dingtalk", "clerk1", f"{iid}:work", "sent")


def test_notice_in_the_callers_own_transaction_is_delivered_after_commit_only(engine):
    ch = Recording()
    engine.runtime.deliveries.channels.register("sms", ch)
    with pytest.raises(ZeroDivisionError):
        with engine.db.write() as s:
            engine.runtime.notice(s, channel="sms", to="139", text="验证码 1234", business_id="code:1")
            1 / 0
    assert ch.calls == [] and outbox_rows(engine) == 0
    with engine.db.write() as s:
        engine.runtime.notice(s, channel="sms", to="139", text="验证码 5678", business_id="code:2")
        assert ch.calls == []                   # not before the commit
    assert ch.calls == [["139"]] and sent(engine)[0][2] == "code:2"


def test_the_same_notice_to_several_goes_in_calls_of_at_most_max_receivers(engine):
    ch = Recording()
    engine.runtime.deliveries.channels.register("dingtalk", ch)
    with engine.db.write() as s:
        for u in ("a", "b", "c", "a"):
            engine.runtime.notice(s, channel="dingtalk", to=u, text="督办", business_id="HZ-1:supervise")
    assert ch.calls == [["a", "b"], ["c"]] and outbox_rows(engine) == 0
    assert sorted(r[1] for r in sent(engine)) == ["a", "b", "c"]


def test_a_redelivered_row_sends_nothing_twice(engine, monkeypatch):
    """The notice was sent and recorded, then the process died before deleting its row."""
    ch = Recording()
    engine.runtime.deliveries.channels.register("sms", ch)
    monkeypatch.setattr(engine.runtime.deliveries, "_done", lambda row: None)    # this engine's only
    engine.runtime.send_notice(channel="sms", to="138", text="已答复", business_id="HZ-2:reply")
    monkeypatch.undo()
    assert ch.calls == [["138"]] and outbox_rows(engine) == 1
    engine.clock.advance(seconds=120)          # the lease runs out; a worker delivers again
    assert Worker(engine).run_once() == 1
    assert ch.calls == [["138"]] and outbox_rows(engine) == 0 and len(sent(engine)) == 1


def test_a_failing_channel_is_retried_then_an_incident_resolved_when_it_succeeds(make_engine):
    e = make_engine(delivery_retries=2, delivery_backoff=10.0)
    ch = Recording()
    ch.failing = True
    e.runtime.deliveries.channels.register("sms", ch)
    e.repository.deploy([("step.bpmn", STEP)])
    iid = e.runtime.start("step")
    e.runtime.send_notice(channel="sms", to="138", text="已受理", business_id=f"{iid}:accepted", instance_id=iid)
    assert sent(e) == [] and outbox_rows(e) == 1 and e.runtime.incidents(iid) == []
    e.clock.advance(seconds=11)
    Worker(e).run_once()
    [inc] = e.runtime.incidents(iid)
    assert inc["kind"] == "delivery" and "短信" in inc["message"] and "138" in inc["message"]
    assert "gateway down" in inc["message"] and inc["topic"] == "sms"
    ch.failing = False
    e.runtime.retry_incident(inc["id"], user="admin")
    assert ch.calls == [["138"]] and sent(e)[0][3] == "sent" and outbox_rows(e) == 0
    assert e.runtime.incidents(iid) == [] and e.runtime.incident(inc["id"])["status"] == "resolved"


def test_an_unknown_adapter_fails_and_is_retried(make_engine):
    e = make_engine(notice_adapters={"sms": "carrier-pigeon"})
    e.runtime.send_notice(channel="sms", to="138", text="已受理", business_id="x")
    with e.db.read() as s:
        [row] = s.scalars(select(Outbox)).all()
    assert row.attempts == 1 and "carrier-pigeon" in row.last_error and sent(e) == []
