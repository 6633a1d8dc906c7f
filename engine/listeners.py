"""Listeners: how something built on the engine (the appeal domain, a region's package)
hears what the engine does, without the engine knowing who listens.

Each event but `step_done` is called inside the transaction that caused it, so a listener's own
writes commit or roll back with the step; a listener that raises rolls the step back. A
step_saved listener adds its rows to the step's (`uow.writes`, engine.runtime.step_writes: written
together at the end of the step, one statement on PostgreSQL) or writes them with `uow.session`
(at once); it runs before the step's gathered rows are written, so it reads a table the step
writes as stored plus `uow.writes.pending(table)`.
`step_done` is called after the transaction has ended, committed or not (metrics, logs); what
it raises is logged and dropped.

    engine.listeners.step_saved.append(lambda uow: ...)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:   # the types only; importing them here would tie this module to the runtime
    from sqlalchemy.orm import Session

    from qihu.engine.dialect.parser import ProcessInfo
    from qihu.engine.runtime.unit_of_work import UnitOfWork

# problem(element, message, offset=None) and code(element, source, mode, what), as
# engine.dialect.checks hands them to a definition_checked listener
ProblemFn = Callable[..., None]
CodeFn = Callable[[str, Any, str, str], None]


@dataclass(frozen=True, slots=True)
class StepDone:
    """One step of one instance, as step_done listeners hear of it."""

    instance_id: str | None
    definition_key: str | None
    user: str | None
    seconds: float          # the whole transaction, from its BEGIN to after its COMMIT
    automatic_steps: int    # engine steps run in it (scripts, gateways, service tasks, events)
    outcome: str            # "ok", "conflict" (someone else changed the instance first) or "error"
    error: str | None = None    # the exception's class name when outcome is "error"


@dataclass
class Listeners:
    """The engine's events and who listens to each, in the order they were added."""

    # an instance's step is about to be written: uow.before / uow.after are the snapshots of
    # the tree as loaded and as it is now (open user tasks, timers, subscriptions); the step's
    # rows are gathered in uow.writes, where the listener adds its own (see the module's docstring)
    step_saved: list[Callable[[UnitOfWork], None]] = field(default_factory=list)
    # a user task was offered (its inbox row is a dict of the task table's columns)
    task_created: list[Callable[[UnitOfWork, dict[str, Any]], None]] = field(default_factory=list)
    # a user task was completed or cancelled: (uow, task id, "completed" | "cancelled")
    task_closed: list[Callable[[UnitOfWork, str, str], None]] = field(default_factory=list)
    # a task's SLA colour moved with working time (the instance's state is not touched)
    colour_changed: list[Callable[[Session, str], None]] = field(default_factory=list)
    # a process of a bundle being deployed is checked: add problems to refuse the deploy
    definition_checked: list[Callable[[ProcessInfo, ProblemFn, CodeFn], None]] = field(default_factory=list)

    # a step's transaction ended (after the commit, or after the rollback): what it did and how
    # long it took, for metrics and logs; nothing is written with the step any more
    step_done: list[Callable[[StepDone], None]] = field(default_factory=list)
    # the worker's periodic work beside its own (a domain's upkeep, e.g. anonymising personal
    # data past its period): called between sweeps, each deciding itself how often it works;
    # one that raises is logged and does not stop the worker or the others
    periodic: list[Callable[[], Any]] = field(default_factory=list)

    @staticmethod
    def call(listeners: list[Callable[..., None]], *args: Any) -> None:
        for listener in listeners:
            listener(*args)
