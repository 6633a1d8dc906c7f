"""Errors the engine raises to its callers (CLI, REST, library users)."""
from collections.abc import Iterable

from qihu.engine.types import ProblemInfo


def bilingual(chinese: str, english: str) -> str:
    """A message as people read it: Chinese first, the English (kept verbatim, for administrators
    and for logs searched in English) in full-width brackets."""
    return f"{chinese}（{english}）"


class QihuError(Exception):
    """Base class: every engine error carries a one-line human message."""


class NotFound(QihuError):
    pass


class Conflict(QihuError):
    """Someone else changed the same instance or task first (optimistic lock lost)."""


class InvalidState(Conflict):
    """The operation does not fit the current state (e.g. completing a completed task)."""


class NotWaiting(Conflict):
    """The instance no longer waits for this message or signal (it moved on meanwhile): a
    broadcast or a delivery skips it; a caller who named the instance gets the conflict."""


class Forbidden(QihuError):
    pass


class ValidationFailed(QihuError):
    """Submitted data does not match a form."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors: dict[str, str] = errors or {}


class Problem:
    """One problem found in a deployed file: what and where."""

    __slots__ = ("file", "element", "line", "message")

    def __init__(self, message: str, file: str | None = None, element: str | None = None,
                 line: int | None = None) -> None:
        self.message, self.file, self.element, self.line = message, file, element, line

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p)
        if self.element:
            where = f"{where} [{self.element}]" if where else f"[{self.element}]"
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> ProblemInfo:
        return {"file": self.file, "element": self.element, "line": self.line, "message": self.message}

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class DeployError(QihuError):
    """A bundle cannot be deployed; nothing was stored. Lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        head = str(self.problems[0]) if self.problems else bilingual("部署被拒绝", "deployment rejected")
        # the English keeps its own brackets: callers and logs match " (and N more)"
        more = (f"；另有 {len(self.problems) - 1} 个问题 (and {len(self.problems) - 1} more)"
                if len(self.problems) > 1 else "")
        super().__init__(head + more)
