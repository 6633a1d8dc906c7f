"""Counts for the start page, one query each (the engine's list calls are paged, not counted)."""
from sqlalchemy import func, select

from engine.models import Incident, Instance, Task


def _grouped(session, key, where):
    q = select(key, func.count()).where(where).group_by(key)
    return dict(session.execute(q).all())


def overview(engine):
    """{"running", "tasks", "incidents"} in total, and running instances / open tasks per definition key."""
    with engine.db.read() as s:
        running = _grouped(s, Instance.definition_key, Instance.status == "running")
        tasks = _grouped(s, Task.definition_key, Task.status == "ready")
        incidents = s.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open"))
    return {"running": sum(running.values()), "tasks": sum(tasks.values()), "incidents": incidents or 0,
            "running_by_key": running, "tasks_by_key": tasks}
