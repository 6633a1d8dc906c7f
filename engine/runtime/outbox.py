"""The outbox: what a step sends beyond its own instance, delivered after the step commits.

A message to other instances, a message start and a notification webhook are written as
`outbox` rows in the transaction of the step that sends them, so a process that dies
between the commit and the delivery loses nothing: the rows are still there. They are
delivered at least once, by whoever claims them first with a short lease: the process that
committed the step (at once, so the hand-off is seen without waiting), else a worker's
sweep (FOR UPDATE SKIP LOCKED on PostgreSQL, so several workers share the rows).

De-duplication happens where it lands. A message reaches a waiting instance, or starts a
process, in the receiver's own transaction, which also writes a receipt (outbox row,
receiver): a second delivery of the same row finds the receipt and does nothing, so a
redelivery never starts a second instance nor completes a catch twice. A webhook carries
the row's id in the `X-Qihu-Delivery` header for the receiver to do the same. A notice (one
text to one recipient on a channel: SMS, 浙政钉, ...) lands in notice_sent, one row per
(channel, recipient, business id), so a redelivery sends nothing twice (engine.runtime.channels).

A delivery that fails is retried with back-off; after `delivery_retries` failures it is an
incident (kind delivery) on the sender and, for a catch, on the receiver, naming the
receiving process, element and cause. The sender's step stays done; the row keeps being
retried (at most every `delivery_backoff_max` seconds) and the incidents are resolved by
the delivery that succeeds, e.g. once the missing calendar year is loaded.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import traceback
import urllib.request
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from qihu.engine.errors import InvalidState, NotFound, NotWaiting
from qihu.engine.runtime import channels
from qihu.engine.runtime.channels import ledger
from qihu.engine.storage.models import Definition, HistoryEvent, Incident, Instance, Outbox, OutboxReceipt
from qihu.engine.types import EventType, IncidentKind, IncidentStatus, OutboxKind, WaitKind

if TYPE_CHECKING:   # (not the Runtime: topics writes rows here, and the runtime imports topics)
    from qihu.engine.runtime.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
SESSION_KEY = "qihu_outbox"    # session.info: the rows this transaction added, to deliver after commit
# session.info: the StepWrites of the step that runs in this session (engine.runtime.step_writes):
# its outbox rows are written with the step's other rows, at its end
STEP_KEY = "qihu_step_writes"
_HOOKED, _COMMITTED = "qihu_outbox_hooked", "qihu_outbox_committed"


def add(session: Session, row: Outbox, after_commit: Callable[[list[int]], None] | None = None) -> None:
    """Write an outbox row in the caller's transaction, to be delivered once it commits.

    A step's rows are delivered by the Runtime after its commit; in a step they join its other
    writes (uow.writes), so they cost no statement of their own. `after_commit(ids)` is for a
    caller's own transaction (not a step's): it gets the ids of the rows no step took, once
    the transaction committed (nothing if it rolled back)."""
    writes = session.info.get(STEP_KEY)
    if writes is not None:
        table = Outbox.__table__
        values = {c.key: getattr(row, c.key) for c in table.columns if c.key != "id"}
        part = writes.insert(table, [{k: v for k, v in values.items() if v is not None}], returning="id")
        added = session.info.setdefault(SESSION_KEY, [])
        if not any(p is part for p in added):
            added.append(part)
        return
    session.add(row)
    session.info.setdefault(SESSION_KEY, []).append(row)
    if after_commit is not None and not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        event.listen(session, "before_commit", lambda s: s.info.__setitem__(_COMMITTED, written(s)))
        event.listen(session, "after_commit", lambda s: after_commit(s.info.pop(_COMMITTED, [])))


def written(session: Session) -> list[int]:
    """The ids of the rows this transaction wrote (flushes them; a step's were written with its
    other rows), and forget them."""
    rows = session.info.pop(SESSION_KEY, [])
    if any(isinstance(r, Outbox) for r in rows):
        session.flush()
    ids: list[int] = []
    for r in rows:
        if isinstance(r, Outbox):
            ids.append(r.id)
        else:
            ids.extend(r.result)
    return ids


class _Skip(Exception):
    """This receiver has the row already (its receipt exists): nothing to do."""


class Deliveries:
    """Claims and delivers outbox rows (Runtime.deliveries)."""

    def __init__(self, runtime: Any) -> None:    # the Runtime it belongs to
        self.runtime = runtime
        self.engine = runtime.engine
        # who claims rows right after a commit: unique per process, as leases are by name
        self.name = f"commit:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.channels = channels.Registry(self.engine.settings)    # who serves each notice channel

    # -- claiming ------------------------------------------------------------------------
    def claim(self, worker: str, ids: list[int] | None = None, limit: int = 100) -> list[int]:
        """Lease due rows (or the given ones, due or not) to `worker`; returns the ids it got."""
        now = self.engine.clock.now()
        free = or_(Outbox.locked_until.is_(None), Outbox.locked_until < now)
        with self.engine.db.write() as s:
            if ids is None:
                q = select(Outbox.id).where(Outbox.due_at <= now, free).order_by(Outbox.due_at, Outbox.id).limit(limit)
                if not self.engine.db.is_sqlite:
                    q = q.with_for_update(skip_locked=True)
                ids = list(s.scalars(q))
            if not ids:
                return []
            got = s.scalars(update(Outbox).where(Outbox.id.in_(ids), free)
                            .values(locked_by=worker, locked_until=now + timedelta(seconds=60))
                            .returning(Outbox.id)).all()
        return sorted(got)

    def deliver_now(self, ids: list[int]) -> None:
        """After a commit: deliver what the step wrote. Never raises: the step is done, and
        what cannot be delivered now is retried by the worker."""
        if not ids:
            return
        worker = self.name
        mine = self.claim(worker, ids)
        messages, hooks = [], []
        notices: dict[tuple[Any, ...], list[int]] = {}    # the same notice to several: one call
        with self.engine.db.read() as s:
            for row in s.scalars(select(Outbox).where(Outbox.id.in_(mine)).order_by(Outbox.id)):
                if row.kind == OutboxKind.NOTICE:
                    notices.setdefault(_same_notice(row), []).append(row.id)
                else:
                    (hooks if row.kind == OutboxKind.WEBHOOK else messages).append(row.id)
        for oid in messages:
            self.deliver(oid, worker)
        later = []
        for key, group in notices.items():
            if self._inline(key[0]):
                self.deliver_notices(group, worker)
            else:
                later.append(group)
        if hooks or later:   # a slow receiver must not hold up the user's request
            def deliver_later() -> None:
                for h in hooks:
                    self.deliver(h, worker)
                for group in later:
                    self.deliver_notices(group, worker)
            threading.Thread(target=deliver_later, name="qihu-webhook", daemon=True).start()

    def _inline(self, channel: str) -> bool:
        try:
            return self.channels.get(channel).inline
        except channels.ChannelError:
            return True     # it fails at once and is retried as any failure

    # -- delivering ----------------------------------------------------------------------
    def deliver(self, outbox_id: int, worker: str) -> bool:
        """Deliver one claimed row; True when it is done (and deleted). Never raises."""
        with self.engine.db.read() as s:
            row = s.get(Outbox, outbox_id)
            if row is None or row.locked_by != worker:
                return False
            s.expunge(row)
        if row.kind == OutboxKind.NOTICE:
            return self.deliver_notices([outbox_id], worker) == 1
        try:
            if row.kind == OutboxKind.WEBHOOK:
                self._post(row)
            else:
                self._message(row)
        except _Failed as f:
            self._failed(row, worker, f)
            return False
        except Exception as e:      # noqa: BLE001 - whatever it was, the row stays and is retried
            log.exception("outbox row %s failed", outbox_id)
            self._failed(row, worker, _Failed(e, None, None, None))
            return False
        self._done(row)
        return True

    def _message(self, row: Outbox) -> None:
        rt = self.runtime
        signal = row.kind == OutboxKind.SIGNAL
        kind = WaitKind.SIGNAL if signal else WaitKind.MESSAGE
        # a signal is broadcast to every instance waiting for it but the sender (it caught it
        # itself); a message goes to those with the sender's business key (an appeal keeps its
        # number across mechanisms)
        waiting, starts = (rt._receivers(row.name, kind, sender=row.instance_id) if signal
                           else rt._receivers(row.name, kind, row.business_key))
        for iid in waiting:
            def catch(uow: UnitOfWork, iid: str = iid) -> None:
                if uow.session.get(OutboxReceipt, (row.id, iid)) is not None:
                    raise _Skip
                uow.session.add(OutboxReceipt(outbox_id=row.id, receiver=iid, instance_id=iid, at=uow.now))
                rt._deliver(uow, row.name, row.payload, kind, row.result_var)
            try:
                rt.transaction(iid, catch, user=row.sent_by, incident_on_error=False)
            except (_Skip, NotFound, NotWaiting):
                pass        # taken before, the instance is gone, or it moved on meanwhile
            except Exception as e:
                raise _Failed(e, iid, self._process_name(iid), getattr(e, "element", None)) from e
        for d in starts:
            receiver = f"start:{d.key}"

            def receipt(s: Session, new_id: str, receiver: str = receiver) -> None:
                if s.get(OutboxReceipt, (row.id, receiver)) is not None:
                    raise _Skip
                s.add(OutboxReceipt(outbox_id=row.id, receiver=receiver, instance_id=new_id,
                                    at=self.engine.clock.now()))
            try:
                rt._start(d, row.payload if row.payload is not None else {}, row.business_key, row.sent_by, message=row.name, region=row.region,
                          also=receipt, kind=kind, result_var=row.result_var)
            except _Skip:
                pass
            except Exception as e:
                element = getattr(e, "element", None) or _start_element(rt, d, row.name)
                raise _Failed(e, None, d.name or d.key, element) from e

    def _post(self, row: Outbox) -> None:
        body = json.dumps(row.payload, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(row.name, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "X-Qihu-Delivery": str(row.id)})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
        except Exception as e:
            raise _Failed(e, None, row.name, None) from e

    def deliver_notices(self, ids: list[int], worker: str) -> int:
        """Deliver claimed notice rows that carry the same notice (channel, text, title, business
        id) to their recipients, in as few calls as the channel allows; returns how many rows
        are done. Never raises."""
        with self.engine.db.read() as s:
            rows = [r for r in s.scalars(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.id))
                    if r.locked_by == worker]
            for r in rows:
                s.expunge(r)
        if not rows:
            return 0
        try:
            self._notices(rows)
        except Exception as e:      # noqa: BLE001 - the rows stay and are retried
            f = e if isinstance(e, _Failed) else _Failed(e, None, None, None)
            if not isinstance(e, _Failed):
                log.exception("notice rows %s failed", ids)
            for r in rows:
                self._failed(r, worker, f)
            return 0
        for r in rows:
            self._done(r)
        return len(rows)

    def _notices(self, rows: list[Outbox]) -> None:
        one_each: dict[str, channels.Notice] = {}    # a recipient twice in the batch: told once
        for r in rows:
            one_each.setdefault(r.payload["to"], _notice(r))
        notices = list(one_each.values())
        channel = notices[0].channel
        label = channels.CHANNEL_LABELS.get(channel, channel)
        try:
            adapter = self.channels.get(channel)
        except channels.ChannelError as e:
            raise _Failed(e, None, label, None) from e
        now = self.engine.clock.now()
        day = ledger.day_of(now)
        with self.engine.db.write() as s:
            there = ledger.landed(s, notices)      # sent (or held back) by an earlier delivery
            notices = [n for n in notices if n.to not in there]
            held = ledger.held(s, notices, day)
            for status in set(held.values()):   # never silently dropped: the page shows them
                ledger.record(s, [n for n in notices if held.get(n.to) == status], status, now)
        for n in notices:
            if n.to in held:
                log.info("notice [%s] to %s held back (%s): %s", channel, n.to, held[n.to], n.business_id)
        todo = [n for n in notices if n.to not in held]
        for i in range(0, len(todo), adapter.max_receivers):
            chunk = todo[i:i + adapter.max_receivers]
            try:
                adapter.send(chunk)
            except Exception as e:
                raise _Failed(e, None, label, None) from e
            with self.engine.db.write() as s:
                ledger.record(s, chunk, ledger.SENT, now)

    def _process_name(self, instance_id: str) -> str | None:
        with self.engine.db.read() as s:
            found = s.execute(select(Definition.name, Definition.key).join(Instance, Instance.definition_id == Definition.id)
                              .where(Instance.id == instance_id)).first()
        return (found.name or found.key) if found else None

    # -- bookkeeping ---------------------------------------------------------------------
    def _done(self, row: Outbox) -> None:
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            s.execute(delete(Outbox).where(Outbox.id == row.id))
            # no delivery of this row can follow: its receipts have done their work
            s.execute(delete(OutboxReceipt).where(OutboxReceipt.outbox_id == row.id))
            s.execute(update(Incident).where(Incident.outbox_id == row.id, Incident.status == IncidentStatus.OPEN)
                      .values(status=IncidentStatus.RESOLVED, resolved_at=now))

    def _failed(self, row: Outbox, worker: str, f: _Failed) -> None:
        settings = self.engine.settings
        now = self.engine.clock.now()
        attempts = row.attempts + 1
        delay = min(settings.delivery_backoff * 2 ** (attempts - 1), settings.delivery_backoff_max)
        cause = f"{type(f.error).__name__}: {f.error}"
        what = {OutboxKind.WEBHOOK: "通知推送", OutboxKind.SIGNAL: f"信号「{row.name}」",
                OutboxKind.NOTICE: f"给 {(row.payload or {}).get('to')} 的通知"}.get(
            OutboxKind(row.kind), f"消息「{row.name}」")
        to = f"「{f.process}」" if f.process else ""
        at = f"（环节 {f.element}）" if f.element else ""
        message = f"{what}投递给{to}{at}失败，已尝试 {attempts} 次：{cause}"
        with self.engine.db.write() as s:
            s.execute(update(Outbox).where(Outbox.id == row.id, Outbox.locked_by == worker)
                      .values(attempts=attempts, last_error=message, due_at=now + timedelta(seconds=delay),
                              locked_by=None, locked_until=None))
            if attempts < settings.delivery_retries:
                return
            tb = "".join(traceback.format_exception(f.error))
            open_on = set(s.scalars(select(Incident.instance_id).where(Incident.outbox_id == row.id,
                                                                      Incident.status == IncidentStatus.OPEN)))
            for iid in dict.fromkeys(i for i in (row.instance_id, f.instance_id) if i):
                exists = s.get(Instance, iid) is not None
                if iid in open_on:
                    s.execute(update(Incident).where(Incident.outbox_id == row.id, Incident.instance_id == iid,
                                                     Incident.status == IncidentStatus.OPEN)
                              .values(message=message, error_type=type(f.error).__name__, traceback=tb,
                                      receiver=f.process))
                elif exists:
                    # on the receiver: where it failed; on the sender: where it was sent from
                    element = f.element if iid == f.instance_id else row.element_id
                    s.add(Incident(instance_id=iid, task_id="", element_id=element, topic=row.name[:200],
                                   kind=IncidentKind.DELIVERY,
                                   error_type=type(f.error).__name__, message=message, traceback=tb,
                                   status=IncidentStatus.OPEN, created_at=now, retries_left=0, outbox_id=row.id,
                                   receiver=f.process))
                    s.flush()
                    s.add(HistoryEvent(instance_id=iid, at=now, type=EventType.INCIDENT, element_id=element,
                                       data={"error": message, "outbox": row.id}))

    def retry(self, outbox_id: int, worker: str) -> bool:
        """Deliver a row now (an administrator's retry), whatever its back-off says."""
        with self.engine.db.write() as s:
            s.execute(update(Outbox).where(Outbox.id == outbox_id).values(due_at=self.engine.clock.now(),
                                                                         locked_by=None, locked_until=None))
        got = self.claim(worker, [outbox_id])
        if not got:
            raise InvalidState(f"outbox row {outbox_id} is delivered or being delivered")
        return self.deliver(outbox_id, worker)


class _Failed(Exception):
    """A delivery failed: why, and who it was for (receiving instance, process, element)."""

    def __init__(self, error: BaseException, instance_id: str | None, process: str | None, element: str | None) -> None:
        super().__init__(str(error))
        self.error, self.instance_id, self.process, self.element = error, instance_id, process, element


def _start_element(rt: Any, d: Definition, message: str) -> str | None:
    """The id of the start event that `message` starts in definition d."""
    spec = rt.engine.repository.process(d).spec
    for ts in spec.task_specs.values():
        ed = getattr(ts, "event_definition", None)
        if type(ts).__name__ == "StartEvent" and getattr(ed, "name", None) == message:
            return ts.bpmn_id
    return None


def message_row(uow: UnitOfWork, name: str, payload: Any, element: str | None,
                kind: str = OutboxKind.MESSAGE, result_var: str | None = None) -> Outbox:
    """The outbox row of a message (or signal) the step threw (same business key: the appeal
    keeps its number across mechanisms)."""
    return Outbox(instance_id=uow.instance.id, element_id=element, kind=kind, name=name, result_var=result_var,
                  business_key=uow.instance.business_key, region=uow.instance.region, payload=payload,
                  sent_by=uow.user, created_at=uow.now, due_at=uow.now, attempts=0)


def webhook_row(instance_id: str, url: str, payload: dict[str, Any], now: datetime) -> Outbox:
    return Outbox(instance_id=instance_id, kind=OutboxKind.WEBHOOK, name=url, payload=payload, created_at=now,
                  due_at=now, attempts=0)


def notice_row(channel: str, to: str, text: str, business_id: str, title: str | None, instance_id: str | None,
               now: datetime) -> Outbox:
    """The outbox row of a notice: the channel is its name, the rest its payload ('' for no instance)."""
    return Outbox(instance_id=instance_id or "", kind=OutboxKind.NOTICE, name=channel,
                  payload={"to": to, "text": text, "title": title, "business_id": business_id},
                  created_at=now, due_at=now, attempts=0)


def _notice(row: Outbox) -> channels.Notice:
    p = row.payload or {}
    return channels.Notice(channel=row.name, to=p["to"], text=p["text"], business_id=p["business_id"],
                           title=p.get("title"), instance_id=row.instance_id or None, outbox_id=row.id)


def _same_notice(row: Outbox) -> tuple[Any, ...]:
    p = row.payload or {}
    return (row.name, p.get("business_id"), p.get("text"), p.get("title"))
