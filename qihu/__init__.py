"""qihu 企呼: a BPMN engine for enterprise-appeal mechanisms, and the appeal domain on it.

The library's front door. The engine (qihu.engine) knows no appeal, Flask or Excel; the
enterprise-appeal domain (qihu.appeals) installs itself on an engine; the web extension
(qihu.web) and the command line (qihu.cli) compose the two for an application.

    from qihu import Engine, topic, BpmnError, Escalation
"""
from qihu.engine import (Conflict, DeployError, Forbidden, HandlerRegistry, InvalidState, ManualClock, NotFound,
                         Problem, QihuError, SystemClock, ValidationFailed, topic)
from qihu.engine.topics import BpmnError, Escalation


def __getattr__(name):
    # As in qihu.engine: a handler package that imports only `topic` does not load the engine.
    if name == "Engine":
        from qihu.engine.core import Engine
        return Engine
    if name == "ratings":     # the one 好差评 scale, for handlers (which import the front door only)
        from qihu.appeals import ratings
        return ratings
    raise AttributeError(name)


__all__ = ["Engine", "topic", "BpmnError", "Escalation", "HandlerRegistry", "QihuError", "NotFound", "Conflict", "InvalidState", "Forbidden",
           "ValidationFailed", "DeployError", "Problem", "SystemClock", "ManualClock"]
