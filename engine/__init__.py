"""qihu engine: Camunda-dialect BPMN on SpiffWorkflow, persisted with SQLAlchemy.

Its face is Engine and its four nouns (engine.repository, .runtime, .tasks, .history), the
errors, the clock, configuration (Settings), `topic`, and the statuses its results carry
(qihu.engine.types: InstanceStatus, TaskStatus, …, with the TypedDicts of the results), all
importable from here; the folders inside (dialect, identity, storage, …) are how it is built.
"""
from typing import TYPE_CHECKING, Any

from qihu.engine.errors import (QihuError, NotFound, Conflict, InvalidState, Forbidden, ValidationFailed,
                     DeployError, Problem)
from qihu.engine.clock import SystemClock, ManualClock
from qihu.engine.config import Settings
from qihu.engine.topics import topic, HandlerRegistry
from qihu.engine.types import CandidateKind, EventType, IncidentStatus, InstanceStatus, JobKind, SlaColour, TaskStatus

if TYPE_CHECKING:   # for type checkers; at run time Engine is loaded on first use (below)
    from qihu.engine.core import Engine


def __getattr__(name: str) -> Any:
    # Engine pulls in SQLAlchemy, SpiffWorkflow and the sandbox; handler modules that only
    # need @topic should not pay for that on import.
    if name == "Engine":
        from qihu.engine.core import Engine
        return Engine
    if name == "TIMEZONE":      # the zone of dates written without one (QIHU_TIMEZONE)
        from qihu.engine.dialect.timers import TIMEZONE
        return TIMEZONE
    raise AttributeError(name)


__all__ = ["Engine", "QihuError", "NotFound", "Conflict", "InvalidState", "Forbidden", "ValidationFailed",
           "DeployError", "Problem", "SystemClock", "ManualClock", "topic", "HandlerRegistry", "TIMEZONE", "Settings",
           "InstanceStatus", "TaskStatus", "IncidentStatus", "JobKind", "SlaColour", "CandidateKind", "EventType"]
