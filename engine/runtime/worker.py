"""The due-job worker: claims due timers and handler retries and fires them, and delivers
the outbox rows that were not delivered when their step committed.

Several workers may run against one PostgreSQL: a sweep claims jobs with
FOR UPDATE SKIP LOCKED and a lease; firing re-checks the claim inside the transaction
that changes the instance and deletes the job, so no timer fires twice.
"""
import logging
import socket
import threading
import time
import os
from datetime import timedelta

from sqlalchemy import case, select, update, or_

from qihu.engine.errors import Conflict, InvalidState, NotFound
from qihu.engine.runtime.stalls import StallCheck
from qihu.engine.storage.models import Incident, Instance, Job
from qihu.engine.types import IncidentKind, IncidentStatus, InstanceStatus, JobKind

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, engine, name=None, batch=200, lease_seconds=60, failure_backoff=60):
        self.engine = engine
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch, self.lease, self.failure_backoff = batch, lease_seconds, failure_backoff
        self._stop = threading.Event()
        self._next_stall_check = 0.0
        self._next_audit_check = 0.0

    def sweep(self):
        """Claim up to `batch` due jobs; returns their ids. One short transaction."""
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            q = (select(Job.id).join(Instance, Instance.id == Job.instance_id)
                 .where(Job.due_at <= now, Instance.status == InstanceStatus.RUNNING,
                        or_(Job.locked_until.is_(None), Job.locked_until < now))
                 # At the same moment a colour change goes before a timer: a deadline timer
                 # that ends the task must not hide that the task turned red.
                 .order_by(Job.due_at, case((Job.kind == JobKind.SLA, 0), else_=1), Job.id).limit(self.batch))
            if not self.engine.db.is_sqlite:
                q = q.with_for_update(of=Job, skip_locked=True)
            ids = list(s.scalars(q))
            if ids:
                s.execute(update(Job).where(Job.id.in_(ids))
                          .values(locked_by=self.name, locked_until=now + timedelta(seconds=self.lease)))
        return ids

    def run_once(self):
        """One sweep, then fire what it claimed; then deliver what steps sent and no one has
        delivered yet (engine.runtime.outbox). Returns how many jobs fired and rows went out."""
        fired = 0
        deliveries = self.engine.runtime.deliveries
        for outbox_id in deliveries.claim(self.name, limit=self.batch):
            if deliveries.deliver(outbox_id, self.name):
                fired += 1
        for job_id in self.sweep():
            try:
                if self.engine.runtime.fire_job(job_id, worker=self.name):
                    fired += 1
            except (Conflict, InvalidState, NotFound) as e:
                # Someone else changed the instance first; the job (if still there) is retried.
                log.info("job %s not fired now: %s", job_id, e)
                self._release(job_id)
            except Exception as e:
                log.exception("job %s failed", job_id)
                self._failed(job_id, e)
        return fired

    def _release(self, job_id):
        with self.engine.db.write() as s:
            s.execute(update(Job).where(Job.id == job_id, Job.locked_by == self.name)
                      .values(locked_by=None, locked_until=None))

    def _failed(self, job_id, exc):
        """A timer whose firing fails stays due later, and the failure is an open incident."""
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            job = s.get(Job, job_id)
            if job is None:
                return
            job.locked_by, job.locked_until = None, None
            job.due_at = now + timedelta(seconds=self.failure_backoff)
            inc = s.scalars(select(Incident).where(Incident.task_id == job.task_id, Incident.status == IncidentStatus.OPEN)).first()
            if inc is None:
                inc = Incident(instance_id=job.instance_id, task_id=job.task_id, element_id=job.element_id, kind=IncidentKind.TIMER,
                               status=IncidentStatus.OPEN, created_at=now, retries_left=0)
                s.add(inc)
            inc.error_type, inc.message = type(exc).__name__, str(exc) or type(exc).__name__

    def check_stalls(self):
        """Every stall_check_interval seconds (by the monotonic clock of this process): raise an
        incident for each instance that can no longer move (engine.runtime.stalls)."""
        now = time.monotonic()
        if now < self._next_stall_check:
            return []
        self._next_stall_check = now + self.engine.settings.stall_check_interval
        return StallCheck(self.engine).run()

    def sweep_audit(self, check_every=3600.0):
        """Daily: delete security-audit records past the retention (engine.audit.sweep). This
        process asks once an hour whether a day has passed since any process last swept."""
        now = time.monotonic()
        if now < self._next_audit_check:
            return None
        self._next_audit_check = now + check_every
        if not self.engine.audit.sweep_due():
            return None
        return self.engine.audit.sweep()

    def run_forever(self, poll_interval=None):
        interval = poll_interval if poll_interval is not None else self.engine.settings.worker_poll_interval
        log.info("worker %s polling every %.2fs", self.name, interval)
        while not self._stop.is_set():
            try:
                while self.run_once() and not self._stop.is_set():
                    pass   # keep going while there is a backlog
                self.check_stalls()
                self.sweep_audit()
            except Exception:
                log.exception("worker sweep failed")
            self._stop.wait(interval)

    def stop(self):
        self._stop.set()

    def start_thread(self, poll_interval=None):
        t = threading.Thread(target=self.run_forever, args=(poll_interval,), name="qihu-worker", daemon=True)
        t.start()
        return t
