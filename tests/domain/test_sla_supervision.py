"""SLA colours on the working-day calendar, and the supervision handlers' records."""
import io
from datetime import datetime, timezone

import pytest
from docx import Document
from sqlalchemy import select

from qihu import appeals
from qihu.engine.storage.models import Attachment, Job, Notification, Task

from qihu.appeals.models import LedgerEntry
from qihu.engine.runtime.service import EngineStepError
from qihu.engine.runtime.worker import Worker
from tests.bpmn_util import bpmn, chain

BJ = timezone.utc  # expected instants are written in UTC: Beijing 09:00 == 01:00 UTC


def doc(scheme=None, due="${workdays(5)}"):
    props = (f'<bpmn:extensionElements><camunda:properties><camunda:property name="slaScheme" value="{scheme}" />'
             '</camunda:properties></bpmn:extensionElements>') if scheme else ""
    return bpmn("sla", f"""{props}
<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="board" camunda:dueDate="{due}" />
<bpmn:endEvent id="e" />
{chain("s", "handle", "e")}""")


def colour(engine, iid):
    with engine.db.read() as s:
        return s.scalar(select(Task.sla_colour).where(Task.instance_id == iid, Task.status == "ready"))


def test_three_colours_follow_working_time(engine, clock):
    engine.repository.deploy([("sla.bpmn", doc())])
    iid = engine.runtime.start("sla")        # Monday 2026-11-02 09:00 Beijing
    [t] = engine.tasks.list(instance_id=iid)
    assert t["due_at"] == datetime(2026, 11, 9, 1, 0, tzinfo=BJ).isoformat()   # 5 working days
    assert colour(engine, iid) == "green"
    with engine.db.read() as s:
        jobs = sorted((j.due_at, j.note) for j in s.scalars(select(Job).where(Job.kind == "sla")))
    assert jobs == [(datetime(2026, 11, 5, 1, 0, tzinfo=BJ), "yellow"),     # 60%: 3 working days
                    (datetime(2026, 11, 6, 1, 0, tzinfo=BJ), "orange"),     # 80%: 4 working days
                    (datetime(2026, 11, 9, 1, 0, tzinfo=BJ), "red")]        # 100%, over the weekend
    w = Worker(engine)
    clock.set(datetime(2026, 11, 5, 0, 59, tzinfo=BJ))
    assert w.run_once() == 0 and colour(engine, iid) == "green"
    clock.set(datetime(2026, 11, 5, 1, 0, tzinfo=BJ))
    assert w.run_once() == 1 and colour(engine, iid) == "yellow"
    clock.set(datetime(2026, 11, 7, 12, 0, tzinfo=BJ))     # Saturday: orange since Friday, not red yet
    w.run_once()
    assert colour(engine, iid) == "orange"
    clock.set(datetime(2026, 11, 9, 1, 0, tzinfo=BJ))
    w.run_once()
    assert colour(engine, iid) == "red"
    changes = [e["data"]["colour"] for e in engine.history.events(iid) if e["type"] == "sla_changed"]
    assert changes == ["yellow", "orange", "red"]
    engine.tasks.complete(t["id"], "x", {}, check=False)
    with engine.db.read() as s:
        assert s.scalars(select(Job)).all() == []


def test_completing_early_drops_the_colour_jobs_and_five_colours(engine, clock):
    engine.repository.deploy([("sla.bpmn", doc("five"))])
    iid = engine.runtime.start("sla")
    assert colour(engine, iid) == "blue"
    with engine.db.read() as s:
        notes = [j.note for j in s.scalars(select(Job).where(Job.kind == "sla").order_by(Job.due_at))]
    assert notes == ["green", "yellow", "orange", "red"]
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "x", {}, check=False)
    with engine.db.read() as s:
        assert s.scalars(select(Job)).all() == []


def test_a_year_without_a_calendar_is_a_visible_incident(make_engine, clock):
    # provisional years off (QIHU_CALENDAR_PROVISIONAL=0): a missing year stops the step, visibly
    engine = make_engine(calendar_provisional=False)
    engine.repository.deploy([("sla.bpmn", doc())])
    clock.set(datetime(2026, 12, 30, 1, 0, tzinfo=BJ))    # 5 working days reach into 2027
    with pytest.raises(EngineStepError, match="2027"):
        engine.runtime.start("sla")
    two = bpmn("two_steps", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="first" name="受理" camunda:candidateGroups="a" />
<bpmn:userTask id="second" name="办理" camunda:candidateGroups="b" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "first", "second", "e")}""")
    engine.repository.deploy([("two.bpmn", two)])
    iid = engine.runtime.start("two_steps")
    [t] = engine.tasks.list(instance_id=iid)
    with pytest.raises(EngineStepError, match="2027"):
        engine.tasks.complete(t["id"], "x", {}, check=False)
    [inc] = engine.runtime.incidents(iid)
    assert inc["topic"] == "calendar" and "2027" in inc["message"]
    assert engine.tasks.list(instance_id=iid)[0]["id"] == t["id"]      # nothing moved
    from datetime import date
    engine.calendar.load_year(2027, holidays=[date(2027, 1, 1)], workdays=[])
    engine.tasks.complete(t["id"], "x", {}, check=False)
    [t2] = engine.tasks.list(instance_id=iid)
    # from Wed Dec 30: Dec 31, (Jan 1 holiday, weekend), Jan 4, 5, 6, 7 → the 5th working day is Jan 7
    assert t2["due_at"] == datetime(2027, 1, 7, 1, 0, tzinfo=BJ).isoformat()


LETTERS = bpmn("letters", f"""<bpmn:startEvent id="s" />
<bpmn:serviceTask id="remind" camunda:type="external" camunda:topic="notify.remind">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="to_groups">board_fallback</camunda:inputParameter>
    <camunda:inputParameter name="title">催办通知</camunda:inputParameter>
    <camunda:inputParameter name="message">${{"请尽快办理：" + summary}}</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:serviceTask id="warn" camunda:type="external" camunda:topic="supervision.warning">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="level">orange</camunda:inputParameter>
    <camunda:inputParameter name="reason">${{summary}}</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:serviceTask id="letter" camunda:type="external" camunda:topic="supervision.letter">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="letter_type">督办函</camunda:inputParameter>
    <camunda:inputParameter name="to_unit">市自然资源和规划局</camunda:inputParameter>
    <camunda:inputParameter name="subject">${{summary}}</camunda:inputParameter>
    <camunda:inputParameter name="company">${{company}}</camunda:inputParameter>
    <camunda:inputParameter name="deadline">${{workdays(5)}}</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:endEvent id="e" />
{chain("s", "remind", "warn", "letter", "e")}""")


def test_supervision_handlers_write_their_records(engine):
    engine.repository.deploy([("letters.bpmn", LETTERS)])
    iid = engine.runtime.start("letters", {"summary": "用地指标未落实", "company": "湖州某公司"}, business_key="HZ-9")
    data = engine.runtime.data(iid)
    assert data["warning_level"] == "orange" and data["letter_no"].startswith("督办〔2026〕")
    with engine.db.read() as s:
        [n] = s.scalars(select(Notification)).all()
        assert (n.recipient_kind, n.recipient, n.body) == ("group", "board_fallback", "请尽快办理：用地指标未落实")
        [entry] = s.scalars(select(LedgerEntry)).all()
        assert entry.kind == "warning_list" and entry.data["level"] == "orange"
        [letter] = s.scalars(select(Attachment)).all()
        assert letter.kind == "letter" and letter.name.endswith(".docx") and letter.meta["letter_type"] == "督办函"
        text = "\n".join(p.text for p in Document(io.BytesIO(letter.content)).paragraphs)
    assert "督办函" in text and "市自然资源和规划局" in text and "湖州某公司" in text and "HZ-9" in text
    assert "2026年11月9日" in text       # the deadline, 5 working days on


def test_reminders_go_to_the_webhook_after_commit(make_engine):
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    got = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        e = make_engine(notify_webhook=f"http://127.0.0.1:{server.server_port}/hook")
        e.repository.deploy([("letters.bpmn", LETTERS)])
        e.runtime.start("letters", {"summary": "用地", "company": "某公司"}, business_key="HZ-10")
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.02)
    finally:
        server.shutdown()
    [hook] = got
    assert hook["recipient"] == "board_fallback" and hook["body"] == "请尽快办理：用地" and hook["business_key"] == "HZ-10"


def test_no_webhook_for_a_step_that_rolls_back(make_engine):
    from qihu.engine.storage.models import Outbox
    e = make_engine(notify_webhook="http://127.0.0.1:9/never")
    doc = LETTERS.replace(b'<bpmn:endEvent id="e" />',
                          b'<bpmn:scriptTask id="boom" scriptFormat="python"><bpmn:script>x = 1 / 0</bpmn:script>'
                          b'</bpmn:scriptTask><bpmn:endEvent id="e" />'
                          b'<bpmn:sequenceFlow id="f_boom" sourceRef="boom" targetRef="e" />')
    doc = doc.replace(b'sourceRef="letter" targetRef="e"', b'sourceRef="letter" targetRef="boom"')
    e.repository.deploy([("letters.bpmn", doc)])
    with pytest.raises(EngineStepError, match="ZeroDivisionError"):
        e.runtime.start("letters", {"summary": "用地", "company": "某公司"})
    with e.db.read() as s:
        # the reminder was rolled back with the step: nothing to announce, nothing left to send
        assert s.scalars(select(Notification)).all() == [] and s.scalars(select(Outbox)).all() == []


def test_letter_dates_are_beijing_dates(engine, clock):
    engine.repository.deploy([("letters.bpmn", LETTERS)])
    clock.set(datetime(2026, 11, 1, 23, 30, tzinfo=BJ))     # Monday 07:30 in Beijing, still Sunday in UTC
    iid = engine.runtime.start("letters", {"summary": "用地指标未落实", "company": "湖州某公司"}, business_key="HZ-10")
    with engine.db.read() as s:
        [letter] = s.scalars(select(Attachment).where(Attachment.instance_id == iid)).all()
        text = "\n".join(p.text for p in Document(io.BytesIO(letter.content)).paragraphs)
    assert letter.name.endswith("-20261102.docx")
    assert "2026年11月2日" in text          # issued on Monday, Beijing
    assert "2026年11月9日" in text          # due the 5th working day after, Beijing


def ledger_flow(kind, kind_name=None):
    name = f'<camunda:inputParameter name="kind_name">{kind_name}</camunda:inputParameter>' if kind_name else ""
    return bpmn("lists", f"""<bpmn:startEvent id="s" />
<bpmn:serviceTask id="rec" camunda:type="external" camunda:topic="ledger.record">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="kind">{kind}</camunda:inputParameter>{name}
    <camunda:inputParameter name="title">${{summary}}</camunda:inputParameter>
    <camunda:inputParameter name="answered_by">区长</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:serviceTask id="close" camunda:type="external" camunda:topic="ledger.close">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="kind">{kind}</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:endEvent id="e" />
{chain("s", "rec", "close", "e")}""")


def test_a_diagram_names_a_new_list_without_python(engine):
    """A regional variant keeps its own list (定海's 高频问题清单) with the bundled handler."""
    engine.repository.deploy([("lists.bpmn", ledger_flow("high_frequency", "高频问题清单"))])
    iid = engine.runtime.start("lists", {"summary": "园区停车难"})
    assert engine.runtime.get(iid)["status"] == "completed"
    [line] = appeals.of(engine).records(iid)["ledger"]
    assert (line["kind"], line["title"], line["closed_at"] is not None) == ("high_frequency", "园区停车难", True)
    assert line["data"] == {"answered_by": "区长", "kind_name": "高频问题清单"}


@pytest.mark.parametrize("kind", ["高频清单", "High", "x", "a b"])
def test_a_list_kind_must_be_an_identifier(engine, kind):
    engine.repository.deploy([("lists.bpmn", ledger_flow(kind))])
    iid = engine.runtime.start("lists", {"summary": "s"})
    [incident] = engine.runtime.incidents(iid)
    assert "清单类型应为小写英文标识" in incident["message"] and incident["element_id"] == "rec"
