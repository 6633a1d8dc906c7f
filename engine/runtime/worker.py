"""The due-job worker: claims due timers and handler retries and fires them, and delivers
the outbox rows that were not delivered when their step committed.

Several workers may run against one PostgreSQL: a sweep claims jobs with
FOR UPDATE SKIP LOCKED and a lease; firing re-checks the claim inside the transaction
that changes the instance and deletes the job, so no timer fires twice.

A running worker keeps a heartbeat row (engine.runtime.heartbeats, kind "worker") fresh every
Settings.heartbeat_interval seconds and deletes it when it stops. stop() never cuts a step:
the step in flight finishes and commits, and the jobs claimed with it but not yet started are
released at once for another worker (instead of waiting out their lease).
"""
import logging
import socket
import threading
import time
import os
from datetime import timedelta

from sqlalchemy import case, select, update, or_

from qihu.engine.errors import Conflict, InvalidState, NotFound
from qihu.engine.runtime import heartbeats
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
        self.steps = 0                  # jobs fired and outbox rows delivered, for the heartbeat
        self._next_beat = 0.0
        self.heartbeat_name = None      # the heartbeat row, once this worker has beaten

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
        delivered yet (engine.runtime.outbox). Returns how many jobs fired and rows went out.
        After stop() it starts no new step: it returns once the step in flight has finished."""
        fired = self._run_once()
        self.steps += fired
        return fired

    def _run_once(self):
        fired = 0
        if self._stop.is_set():
            return fired
        deliveries = self.engine.runtime.deliveries
        for outbox_id in deliveries.claim(self.name, limit=self.batch):
            if self._stop.is_set():
                break                   # the rest go to a worker once their lease (a minute) ends
            if deliveries.deliver(outbox_id, self.name):
                fired += 1
        if self._stop.is_set():
            return fired
        claimed = self.sweep()
        for n, job_id in enumerate(claimed):
            if self._stop.is_set():
                # stopping: the step before this one has finished; hand back the rest now
                self._release_all(claimed[n:])
                break
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
        self._release_all([job_id])

    def _release_all(self, job_ids):
        with self.engine.db.write() as s:
            s.execute(update(Job).where(Job.id.in_(job_ids), Job.locked_by == self.name)
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
        heartbeats.sweep(self.engine)      # rows of processes that died a day ago
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

    def run_periodic(self):
        """The periodic work others hooked on the engine (engine.listeners.periodic), each on
        its own: one that fails is logged and the others still run."""
        for work in list(self.engine.listeners.periodic):
            try:
                work()
            except Exception:
                log.exception("worker %s: periodic work %r failed", self.name, work)

    def beat(self, force=False):
        """Write this worker's heartbeat when heartbeat_interval has passed (by the monotonic
        clock of this process) since the last one. A failing beat (the database is away) is
        logged, never fatal: the sweep will fail and retry the same way."""
        now = time.monotonic()
        if not force and now < self._next_beat:
            return
        self._next_beat = now + self.engine.settings.heartbeat_interval
        try:
            self.heartbeat_name = heartbeats.beat(self.engine, "worker", steps=self.steps, name=self.heartbeat_name)
        except Exception:
            log.exception("worker %s could not write its heartbeat", self.name)

    def forget(self):
        """Delete this worker's heartbeat row (it stops cleanly)."""
        if self.heartbeat_name is None:
            return
        try:
            heartbeats.forget(self.engine, self.heartbeat_name)
            self.heartbeat_name = None
        except Exception:
            log.exception("worker %s could not delete its heartbeat", self.name)

    def run_forever(self, poll_interval=None):
        """Sweep until stop(); then delete the heartbeat row and return."""
        interval = poll_interval if poll_interval is not None else self.engine.settings.worker_poll_interval
        log.info("worker %s polling every %.2fs", self.name, interval)
        self.beat(force=True)
        try:
            while not self._stop.is_set():
                try:
                    while self.run_once() and not self._stop.is_set():
                        self.beat()    # keep going while there is a backlog, and keep saying so
                    if not self._stop.is_set():
                        self.check_stalls()
                        self.sweep_audit()
                        self.run_periodic()
                except Exception:
                    log.exception("worker sweep failed")
                self.beat()
                self._stop.wait(interval)
        finally:
            self.forget()
            log.info("worker %s stopped", self.name)

    def stop(self):
        """Ask the worker to stop: the step in flight finishes and commits, no new one starts,
        and run_forever returns (its thread ends) once its heartbeat row is deleted. Does not
        wait: join the thread for that."""
        self._stop.set()

    def start_thread(self, poll_interval=None):
        t = threading.Thread(target=self.run_forever, args=(poll_interval,), name="qihu-worker", daemon=True)
        t.start()
        return t
