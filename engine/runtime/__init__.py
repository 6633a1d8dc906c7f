"""Runtime: instances and what moves them. Start, correlate messages, fire timers and retries
(the worker), cancel, suspend, resume, migrate to a newer version; every change is one unit of
work (unit_of_work.py) on one instance, saved whole or not at all."""
from qihu.engine.runtime.service import Runtime
from qihu.engine.runtime.unit_of_work import InstanceRow, Snapshot, UnitOfWork

__all__ = ["Runtime", "UnitOfWork", "InstanceRow", "Snapshot"]
