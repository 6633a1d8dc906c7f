"""History: the append-only audit trail of every instance."""
from sqlalchemy import select

from .models import Attachment, HistoryEvent, LedgerEntry, Notification


def event_dict(e):
    return {"id": e.id, "instance_id": e.instance_id, "at": e.at.isoformat(), "type": e.type,
            "element_id": e.element_id, "task_id": e.task_id, "user": e.user, "data": e.data}


class History:
    def __init__(self, engine):
        self.engine = engine

    def events(self, instance_id, types=None):
        with self.engine.db.read() as s:
            q = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
            if types:
                q = q.where(HistoryEvent.type.in_(types))
            return [event_dict(e) for e in s.scalars(q.order_by(HistoryEvent.id))]

    def completed_elements(self, instance_id):
        """Element ids that have run, for highlighting a diagram."""
        return sorted({e["element_id"] for e in self.events(
            instance_id, ["element_completed", "task_completed", "timer_fired", "handler_called"]) if e["element_id"]})

    def records(self, instance_id):
        """What handlers wrote for an instance: letters and other attachments (without their
        content), ledger lines (warning list, pools, lists) and notifications."""
        iso = lambda d: d.isoformat() if d else None   # noqa: E731
        with self.engine.db.read() as s:
            files = s.execute(select(Attachment.id, Attachment.kind, Attachment.name, Attachment.size,
                                     Attachment.meta, Attachment.created_at)
                              .where(Attachment.instance_id == instance_id).order_by(Attachment.id)).all()
            ledger = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == instance_id)
                               .order_by(LedgerEntry.id)).all()
            notes = s.scalars(select(Notification).where(Notification.instance_id == instance_id)
                              .order_by(Notification.id)).all()
            return {
                "attachments": [{"id": a.id, "kind": a.kind, "name": a.name, "size": a.size, "meta": a.meta,
                                 "created_at": iso(a.created_at)} for a in files],
                "ledger": [{"id": e.id, "kind": e.kind, "title": e.title, "data": e.data,
                            "created_at": iso(e.created_at), "closed_at": iso(e.closed_at)} for e in ledger],
                "notifications": [{"id": n.id, "to": f"{n.recipient_kind}:{n.recipient}", "title": n.title,
                                   "body": n.body, "created_at": iso(n.created_at)} for n in notes],
            }

    def attachment(self, attachment_id):
        """(name, content type, bytes) of one attachment, e.g. a generated letter."""
        from .errors import NotFound
        with self.engine.db.read() as s:
            a = s.get(Attachment, attachment_id)
            if a is None:
                raise NotFound(f"no attachment {attachment_id}")
            return a.name, a.content_type, a.content
