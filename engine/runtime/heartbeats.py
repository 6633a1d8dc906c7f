"""Heartbeats: each running web process and worker keeps one row of process_heartbeat fresh,
so operators and /readyz can tell which processes are alive.

A row is named "host:pid:kind" by default, written when the process starts and every
Settings.heartbeat_interval seconds after, and deleted when the process stops cleanly; a
process that died leaves its row behind, and `alive` stops counting it once its beat is older
than Settings.heartbeat_stale seconds.

Beats use the real UTC wall clock, never engine.clock: that may be a fixed training "now"
(QIHU_NOW), and a process is alive now, not in the training's time. Each call is one short
transaction of portable SQL (an UPDATE, and an INSERT when there was no row), so the same
code runs on SQLite, PostgreSQL and the PostgreSQL-compatible databases.
"""
import logging
import os
import socket
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select, update

from qihu.engine.storage.models import ProcessHeartbeat

log = logging.getLogger(__name__)


def _wall_now() -> datetime:
    return datetime.now(timezone.utc)


def default_name(kind: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{kind}"


def beat(engine: Any, kind: str, steps: int = 0, name: str | None = None) -> str:
    """Say this process (of kind "web" or "worker") is alive, with the count of what it has
    done (`steps`); returns the row's name."""
    name = name or default_name(kind)
    now = _wall_now()
    with engine.db.write() as s:
        found = s.execute(update(ProcessHeartbeat).where(ProcessHeartbeat.name == name)
                          .values(kind=kind, beat_at=now, steps=steps)).rowcount
        if not found:       # this process's first beat (or its row was deleted meanwhile)
            s.add(ProcessHeartbeat(name=name, kind=kind, host=socket.gethostname()[:100], pid=os.getpid(),
                                   started_at=now, beat_at=now, steps=steps))
    return name


def forget(engine: Any, name: str) -> None:
    """Delete the row of a process that stops cleanly (nothing happens when there is none)."""
    with engine.db.write() as s:
        s.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.name == name))


def sweep(engine: Any, older_than: float = 86400.0) -> int:
    """Delete the rows of processes that died (no beat for `older_than` seconds, a day by
    default: long past stale, so an operator had the day to see them); returns how many. The
    worker calls it with its stall check, so rows of crashed processes do not pile up."""
    before = _wall_now() - timedelta(seconds=older_than)
    with engine.db.write() as s:
        return s.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.beat_at < before)).rowcount


def alive(engine: Any, kind: str, within: float | None = None) -> list[dict[str, Any]]:
    """The processes of `kind` whose last beat is at most `within` seconds old (default:
    Settings.heartbeat_stale), by name."""
    limit = engine.settings.heartbeat_stale if within is None else within
    since = _wall_now() - timedelta(seconds=limit)
    with engine.db.read() as s:
        found = s.scalars(select(ProcessHeartbeat)
                          .where(ProcessHeartbeat.kind == kind, ProcessHeartbeat.beat_at >= since)
                          .order_by(ProcessHeartbeat.name))
        return [{"name": r.name, "kind": r.kind, "host": r.host, "pid": r.pid, "started_at": r.started_at,
                 "beat_at": r.beat_at, "steps": r.steps} for r in found]


class HeartbeatThread:
    """Beats for this process from a daemon thread, every heartbeat_interval seconds, with the
    count of the steps this process's engine has run (engine.listeners.step_done). A web
    process starts one after it has forked (qihu/serving.py) and stops it when it exits; the
    worker beats from its own loop instead (engine/runtime/worker.py)."""

    def __init__(self, engine: Any, kind: str) -> None:
        self.engine, self.kind = engine, kind
        self.name: str | None = None
        self.steps = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        engine.listeners.step_done.append(self._count)

    def _count(self, done: Any) -> None:
        if done.outcome == "ok":
            with self._lock:
                self.steps += 1

    def start(self) -> "HeartbeatThread":
        self._thread = threading.Thread(target=self._run, name=f"qihu-heartbeat-{self.kind}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                self.name = beat(self.engine, self.kind, steps=self.steps, name=self.name)
            except Exception:    # the database is away: say so, and beat again next time
                log.exception("%s heartbeat failed", self.kind)
            if self._stop.wait(self.engine.settings.heartbeat_interval):
                return

    def stop(self, timeout: float = 5.0) -> None:
        """End the beats and delete the row (the process stops cleanly)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.name is not None:
            try:
                forget(self.engine, self.name)
            except Exception:
                log.exception("%s heartbeat row %s not deleted", self.kind, self.name)
