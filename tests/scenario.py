"""A scenario driver for the mechanism diagrams: people work their inbox, time moves on.

    sc = Scenario(engine, clock, "bpmn/huzhou_joint_meeting.bpmn", "bpmn/huzhou_boards.dmn")
    sc.member("zhang", "hz_centre")
    iid = sc.start("huzhou_joint_meeting", {...}, business_key="HZ-1")
    t = sc.task(iid, "Task_accept")                  # the one ready task of that element
    assert t["candidate_groups"] == ["hz_centre"]
    sc.complete(iid, "Task_accept", "zhang", {...})  # authorised and form-validated
    sc.wait_until(2026, 11, 9, 9, 0)                 # Beijing time; the worker fires what is due

Every call goes through the engine's public face (tasks.complete checks the user and
validates the form), so a scenario is what a member of staff would see.
"""
from datetime import datetime
from pathlib import Path

from qihu import appeals
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.runtime.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


def beijing(y, m, d, h=9, mi=0):
    """An aware datetime at a Beijing wall-clock time."""
    return datetime(y, m, d, h, mi, tzinfo=TIMEZONE)


def iso(y, m, d, h=9, mi=0):
    """The due_at text the task list gives for a Beijing wall-clock time (stored in UTC)."""
    from datetime import timezone
    return beijing(y, m, d, h, mi).astimezone(timezone.utc).isoformat()


class Scenario:
    def __init__(self, engine, clock, *files, members=None):
        """Deploys `files` (paths relative to the repository) and puts each user of
        `members` ({user: group or [groups]}) in their groups."""
        self.engine, self.clock = engine, clock
        self.worker = Worker(engine)
        if files:
            engine.repository.deploy([ROOT / f if not Path(f).is_absolute() else Path(f) for f in files])
        for user, groups in (members or {}).items():
            self.member(user, *([groups] if isinstance(groups, str) else groups))

    def member(self, user, *groups):
        self.engine.tasks.add_member(user, *groups)

    def start(self, key, data=None, business_key=None, user=None):
        return self.engine.runtime.start(key, data or {}, business_key=business_key, user=user)

    def tasks(self, iid):
        """The ready tasks of an instance, as the task list gives them."""
        return self.engine.tasks.list(instance_id=iid)

    def ready(self, iid):
        """The element ids of the ready tasks of an instance, sorted."""
        return sorted(t["element_id"] for t in self.tasks(iid))

    def task(self, iid, element_id):
        found = [t for t in self.tasks(iid) if t["element_id"] == element_id]
        assert len(found) == 1, f"expected one ready {element_id}, have {self.ready(iid)}"
        return found[0]

    def inbox(self, user):
        """Element ids of the tasks `user` sees (own and groups')."""
        return sorted(t["element_id"] for t in self.engine.tasks.list(user=user))

    def complete(self, iid, element_id, user, data=None):
        t = self.task(iid, element_id)
        self.engine.tasks.complete(t["id"], user, data or {})
        return t

    def wait_until(self, y, m, d, h=9, mi=0):
        """Move the clock to a Beijing wall-clock time and let the worker fire what is due."""
        self.clock.set(beijing(y, m, d, h, mi))
        fired = 0
        while True:
            n = self.worker.run_once()
            fired += n
            if not n:
                return fired

    def data(self, iid):
        return self.engine.runtime.data(iid)

    def status(self, iid):
        return self.engine.runtime.get(iid)["status"]

    def events(self, iid, type_=None):
        return [e for e in self.engine.history.events(iid) if type_ is None or e["type"] == type_]

    def colours(self, iid):
        """The SLA colour changes of an instance's tasks, in order."""
        return [e["data"]["colour"] for e in self.events(iid, "sla_changed")]

    def instances(self, key):
        return self.engine.runtime.instances(key=key)

    # -- records written by handlers (engine.history.records) -----------------------------------
    def letters(self, iid):
        """[(letter_type, to_unit)] of the supervision letters kept with an instance."""
        return [(a["meta"]["letter_type"], a["meta"]["to_unit"])
                for a in appeals.of(self.engine).records(iid)["attachments"] if a["kind"] == "letter"]

    def ledger(self, iid, kind=None):
        """[(kind, title, data)] of the ledger entries (warning list, pool, escalations...)."""
        return [(e["kind"], e["title"], e["data"]) for e in appeals.of(self.engine).records(iid)["ledger"]
                if kind is None or e["kind"] == kind]

    def notifications(self, iid):
        """[(recipient kind, recipient, title)] of the notifications of an instance."""
        return [(*n["to"].split(":", 1), n["title"]) for n in appeals.of(self.engine).records(iid)["notifications"]]


def ledger_lines(engine, iid, kind):
    """[(title, data, closed)] of an instance's ledger lines of one kind, in order."""
    from sqlalchemy import select
    from qihu.appeals.models import LedgerEntry
    with engine.db.read() as s:
        q = select(LedgerEntry).where(LedgerEntry.instance_id == iid, LedgerEntry.kind == kind).order_by(LedgerEntry.id)
        return [(e.title, e.data, e.closed_at is not None) for e in s.scalars(q)]


def letter_texts(engine, iid):
    """[(letter_type, to_unit, deadline, docx text)] of an instance's letters, in order."""
    import io
    from docx import Document
    from sqlalchemy import select
    from qihu.engine.storage.models import Attachment
    with engine.db.read() as s:
        rows = s.scalars(select(Attachment).where(Attachment.instance_id == iid, Attachment.kind == "letter")
                         .order_by(Attachment.id)).all()
        return [(a.meta["letter_type"], a.meta["to_unit"], a.meta["deadline"],
                 "\n".join(p.text for p in Document(io.BytesIO(a.content)).paragraphs)) for a in rows]


def timer_jobs(sc, iid):
    """[(element id, due moment in UTC, ISO)] of an instance's waiting timers, sorted."""
    from datetime import timezone
    from sqlalchemy import select
    from qihu.engine.storage.models import Job
    with sc.engine.db.read() as s:
        rows = s.scalars(select(Job).where(Job.instance_id == iid, Job.kind == "timer")).all()
        return sorted((j.element_id, j.due_at.astimezone(timezone.utc).isoformat()) for j in rows)


def open_lines(sc, iid, kind):
    """Titles of an instance's ledger lines of one kind that are still open."""
    from sqlalchemy import select
    from qihu.appeals.models import LedgerEntry
    with sc.engine.db.read() as s:
        return [e.title for e in s.scalars(select(LedgerEntry).where(
            LedgerEntry.instance_id == iid, LedgerEntry.kind == kind, LedgerEntry.closed_at.is_(None)))]


def bodies(sc, iid, recipient):
    """[(title, body)] of the notifications of an instance to one recipient, in order."""
    from sqlalchemy import select
    from qihu.engine.storage.models import Notification
    with sc.engine.db.read() as s:
        return [(n.title, n.body) for n in s.scalars(select(Notification).where(
            Notification.instance_id == iid, Notification.recipient == recipient).order_by(Notification.id))]
