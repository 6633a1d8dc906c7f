"""qihu engine: Camunda-dialect BPMN on SpiffWorkflow, persisted with SQLAlchemy."""
from .errors import (QihuError, NotFound, Conflict, InvalidState, Forbidden, ValidationFailed,
                     DeployError, Problem)
from .clock import SystemClock, ManualClock
from .handlers import topic, HandlerRegistry


def __getattr__(name):
    # Engine pulls in SQLAlchemy, SpiffWorkflow and the sandbox; handler modules that only
    # need @topic should not pay for that on import.
    if name == "Engine":
        from .engine import Engine
        return Engine
    raise AttributeError(name)


__all__ = ["Engine", "QihuError", "NotFound", "Conflict", "InvalidState", "Forbidden", "ValidationFailed",
           "DeployError", "Problem", "SystemClock", "ManualClock", "topic", "HandlerRegistry"]
