"""qihu engine: Camunda-dialect BPMN on SpiffWorkflow, persisted with SQLAlchemy."""
from qihu.engine.errors import (QihuError, NotFound, Conflict, InvalidState, Forbidden, ValidationFailed,
                     DeployError, Problem)
from qihu.engine.clock import SystemClock, ManualClock
from qihu.engine.topics import topic, HandlerRegistry


def __getattr__(name):
    # Engine pulls in SQLAlchemy, SpiffWorkflow and the sandbox; handler modules that only
    # need @topic should not pay for that on import.
    if name == "Engine":
        from qihu.engine.core import Engine
        return Engine
    raise AttributeError(name)


__all__ = ["Engine", "QihuError", "NotFound", "Conflict", "InvalidState", "Forbidden", "ValidationFailed",
           "DeployError", "Problem", "SystemClock", "ManualClock", "topic", "HandlerRegistry"]
