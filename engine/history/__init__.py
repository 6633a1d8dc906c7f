"""History: the append-only audit events of every instance, what handlers recorded for it,
and the diagram with the elements that ran and the tokens that wait."""
from qihu.engine.history.service import History

__all__ = ["History"]
