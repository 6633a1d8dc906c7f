"""History: the append-only audit trail of every instance."""
from sqlalchemy import select

from .models import HistoryEvent


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
