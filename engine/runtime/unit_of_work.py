"""The unit of work: what one transaction does to one instance.

Every change to an instance goes through `Runtime.transaction(target, fn)`: it opens a
write transaction, reads (and on request locks) the instance row, loads the instance's
tree, calls `fn(uow)` with a `UnitOfWork`, gathers the difference (inbox rows,
subscriptions, due jobs) in `uow.writes`, tells the listeners (`engine.listeners.step_saved`,
...), then writes it all with the tree and the audit events, inside the same transaction (one
statement on PostgreSQL: engine.runtime.step_writes). Everything or nothing is written,
including the outbox rows of what the step sends beyond its instance (messages, webhooks);
after the commit they are delivered (engine.runtime.outbox).

A service built on the engine (task completion, 退单, instance migration, the appeal
domain's listeners) works through these names only:

- `uow.session`: the SQLAlchemy session of the transaction; rows written with it are written
  at once (before the gathered ones); or add them to `uow.writes`.
- `uow.instance`: the instance row as the step sees it (`InstanceRow`); change `status`
  and `ended_at` through runtime operations, not by hand.
- `uow.workflow`: the instance's SpiffWorkflow tree.
- `uow.user`, `uow.now`: who acts (None for the engine itself) and the engine clock's now.
- `uow.log(type, element_id, task_id, data)`: an audit event written with the step.
- `uow.before` / `uow.after`: the snapshots of the tree as loaded and as saved (`after` is
  set once the rows are gathered, before `step_saved` listeners run).
- `uow.done_rows`: task rows the caller closed itself, id -> status (the save leaves them
  alone and tells the task_closed listeners).
- `uow.writes`: the rows the step writes at its end (`engine.runtime.step_writes.StepWrites`):
  the runtime's task rows, candidates, jobs, subscriptions, instance state and audit events,
  and a listener's own rows, written together after the step_saved listeners, in one
  statement on PostgreSQL. Rows added there are not in the database before that: a listener
  that reads a table the step writes sees the step's rows in `uow.writes.pending(table)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from qihu.engine.dialect import event_subprocess
from qihu.engine.dialect import timers
from qihu.engine.dialect.state import all_tasks
from qihu.engine.runtime.step_writes import StepWrites
from qihu.engine.types import WaitKind

INCIDENT = "qihu_incident"   # internal_data key of an external task that waits for a person


@dataclass(slots=True)
class InstanceRow:
    """The instance row as a step needs it (read and written with Core, not the ORM)."""

    id: str
    definition_id: int
    definition_key: str
    business_key: str | None
    region: str | None
    status: str
    version: int
    ended_at: datetime | None = None
    started_at: datetime | None = None
    new: bool = False      # started in this step: nothing of it is stored but its row (none before the save)


def event_definitions(spec: Any) -> list[Any]:
    d = getattr(spec, "event_definition", None)
    if d is None:
        return []
    return list(getattr(d, "event_definitions", None) or [d])


class Snapshot:
    """Which rows mirror the tree: open user tasks, subscriptions, timer jobs, failed tasks.

    Rows are written only by the save of a unit of work, so the snapshot of the tree as
    loaded tells which rows exist; a step then writes only the difference instead of
    re-reading them.
    """

    __slots__ = ("ready", "subs", "timers", "incidents")

    def __init__(self, wf: BpmnWorkflow | None = None) -> None:
        self.ready: dict[str, Any] = {}
        self.subs: set[tuple[str, str, str]] = set()    # (task id, message or signal name, WaitKind)
        self.timers: dict[str, datetime] = {}
        self.incidents: set[str] = set()
        if wf is None:
            return
        for t in all_tasks(wf):
            state, spec = t.state, t.task_spec
            if state == TaskState.READY:
                if spec.manual:
                    self.ready[str(t.id)] = t
            elif state == TaskState.WAITING:
                for d in event_definitions(spec):
                    if isinstance(d, MessageEventDefinition):
                        self.subs.add((str(t.id), d.name, WaitKind.MESSAGE))
                    elif isinstance(d, SignalEventDefinition):
                        self.subs.add((str(t.id), d.name, WaitKind.SIGNAL))
                if timers.is_timer(spec):
                    when = timers.due_at(t)
                    if when is not None:
                        self.timers[str(t.id)] = when
            elif state == TaskState.STARTED and t.internal_data.get(INCIDENT):
                self.incidents.add(str(t.id))
        for tid, d in event_subprocess.armed_starts(wf):    # event sub-processes not started yet
            if isinstance(d, MessageEventDefinition):
                self.subs.add((tid, d.name, WaitKind.MESSAGE))
            elif isinstance(d, SignalEventDefinition):
                self.subs.add((tid, d.name, WaitKind.SIGNAL))


@dataclass(eq=False)
class UnitOfWork:
    """What one transaction does to one instance (see the module's docstring)."""

    session: Session
    instance: InstanceRow
    workflow: BpmnWorkflow
    user: str | None
    now: datetime
    before: Snapshot | None
    after: Snapshot | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    # (message or signal name, payload, throwing element, OutboxKind, result variable) sent to
    # other instances: written as outbox rows with the step (engine.runtime.outbox), delivered
    # after it commits
    outbox: list[tuple[str, Any, str | None, str, str | None]] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # the outbox rows the step wrote
    ran: int = 0                                   # automatic steps run in this transaction
    failed: set[Any] = field(default_factory=set)  # external tasks that failed in this transaction
    done_rows: dict[str, str] = field(default_factory=dict)   # task id -> the status the caller gave it
    start_message: tuple[str, Any, str, str | None] | None = None    # (name, payload, WaitKind, result variable)
    writes: StepWrites = field(default_factory=StepWrites)   # what the save writes at the end of the step

    def log(self, type_: str, element_id: str | None = None, task_id: str | None = None, data: Any = None,
            user: str | None = None) -> None:
        """An audit event, written with the step."""
        self.history.append({"instance_id": self.instance.id, "at": self.now, "type": type_,
                             "element_id": element_id, "task_id": task_id, "user": user or self.user,
                             "data": data})
