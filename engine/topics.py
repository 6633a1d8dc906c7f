"""Service-task handlers: plain functions registered for a topic.

A handler is marked with `@topic("name")`, which only tags the function; discovery
imports the bundled `handlers` package and every installed package that declares a
`qihu.handlers` entry point (a module or package), so a region can add handlers
without touching this repository.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import logging
import pkgutil
from collections.abc import Iterable, Mapping
from datetime import datetime
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeVar

from qihu.engine.types import CandidateKind

if TYPE_CHECKING:   # the types only: handler modules import @topic without SQLAlchemy
    from sqlalchemy.orm import Session

    from qihu.engine.config import Settings

log = logging.getLogger(__name__)
ATTR = "__qihu_topic__"
Handler = Callable[..., Any]          # a handler: keyword arguments in, a dict (or None) out
F = TypeVar("F", bound=Handler)


def topic(name: str) -> Callable[[F], F]:
    """Mark a function as the handler of `name`. Returns the function unchanged."""
    def mark(func: F) -> F:
        setattr(func, ATTR, name)
        return func
    return mark


class BpmnError(Exception):
    """A business error a handler reports instead of a result (Camunda's `handleBpmnError`).

    `raise BpmnError("INVALID", "材料不全", variables={"missing": ["营业执照"]})` ends the external
    task and throws a BPMN error from it: an error boundary event on the task, on an enclosing
    sub-process or call activity, or an error event sub-process catches it when its error's
    `errorCode` is `code` (one without `errorRef` catches every code). `variables` are set
    before the catching path runs; the catching event's `camunda:errorCodeVariable` /
    `camunda:errorMessageVariable` receive the code and message. Uncaught, it ends the path
    of the task as Camunda 7 does (none end event semantics) and the trail records it.

    A technical failure (a timeout, a bug) should raise anything else: that is an incident
    with retries, as before.
    """

    kind = "error"

    def __init__(self, code: str, message: str | None = None, variables: Mapping[str, Any] | None = None) -> None:
        if not code or not isinstance(code, str):
            raise ValueError("a BPMN error needs its errorCode (the text the diagram's error names)")
        super().__init__(message or code)
        self.code, self.message, self.variables = code, message, dict(variables or {})


class Escalation(Exception):
    """An escalation a handler reports (`escalationCode`), non-critical by BPMN's rules.

    `raise Escalation("OVERDUE", "超期未办", variables={...})` throws an escalation from the
    external task. An interrupting escalation boundary event (or event sub-process) that
    catches `code` ends the task and takes its own path; a non-interrupting one starts its
    path and the task completes with `variables` as its result, as does an escalation that
    nothing catches.
    """

    kind = "escalation"

    def __init__(self, code: str, message: str | None = None, variables: Mapping[str, Any] | None = None) -> None:
        if not code or not isinstance(code, str):
            raise ValueError("an escalation needs its escalationCode")
        super().__init__(message or code)
        self.code, self.message, self.variables = code, message, dict(variables or {})


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, func: Handler, replace: bool = False) -> None:
        old = self._handlers.get(name)
        if old is not None and old is not func and not replace:
            raise ValueError(f"topic {name!r} already has a handler: {old.__module__}.{old.__qualname__}")
        self._handlers[name] = func

    def register_module(self, module: ModuleType) -> None:
        for obj in vars(module).values():
            name = getattr(obj, ATTR, None)
            if name and callable(obj):
                self.register(name, obj)

    def register_package(self, package: str | ModuleType) -> None:
        """A module, or a package and all its submodules."""
        module = importlib.import_module(package) if isinstance(package, str) else package
        self.register_module(module)
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
                self.register_module(importlib.import_module(info.name))

    def discover(self) -> HandlerRegistry:
        """Load the `qihu.handlers` entry points (the bundled package declares one too)."""
        seen: set[str] = set()
        for ep in entry_points(group="qihu.handlers"):
            if ep.value in seen:
                continue
            seen.add(ep.value)
            self.register_package(ep.load())
        if "qihu.handlers" not in seen:  # running from a checkout without the package installed
            try:
                self.register_package("qihu.handlers")
            except ModuleNotFoundError:
                pass
        return self

    def get(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def topics(self) -> list[str]:
        return sorted(self._handlers)

    @staticmethod
    def call(func: Handler, inputs: Mapping[str, Any]) -> Any:
        """Call with the inputs the function accepts (all of them if it takes **kwargs)."""
        sig = inspect.signature(func)
        params = sig.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return func(**inputs)
        accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        return func(**{k: v for k, v in inputs.items() if k in accepted})


class HandlerEngine(Protocol):
    """What a handler's context uses of the engine (qihu.engine.Engine is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def context_helpers(self) -> dict[str, Callable[..., Any]]: ...


class HandlerContext:
    """What a handler may do besides returning data, passed as its `qihu` parameter if it
    declares one: records written in the same transaction as the step that called it.

    Beyond notify and attach, whatever is installed on the engine adds its own verbs to
    `engine.context_helpers` (name -> function(context, ...)); the appeal domain adds
    `qihu.ledger(kind, title, data)` and `qihu.close_ledger(kind)` that way.
    """

    def __init__(self, engine: HandlerEngine, session: Session, instance_id: str, business_key: str | None,
                 task_id: str, element_id: str | None, now: datetime, user: str | None = None) -> None:
        self.engine, self.session = engine, session
        self.instance_id, self.business_key = instance_id, business_key
        self.task_id, self.element_id, self.now, self.user = task_id, element_id, now, user

    def __getattr__(self, name: str) -> Callable[..., Any]:
        helper = self.engine.context_helpers.get(name)
        if helper is None:
            raise AttributeError(f"a handler's context has no {name!r} (is the package that adds it installed "
                                 "on this engine?)")
        return functools.partial(helper, self)

    def notify(self, title: str, body: str | None = None, to_groups: str | Iterable[str] = (),
               to_users: str | Iterable[str] = ()) -> int:
        """A notification for each group and user; returns how many were written."""
        from qihu.engine.storage.models import Notification
        rows = [Notification(recipient_kind=kind, recipient=name, instance_id=self.instance_id,
                             task_id=self.task_id, title=title, body=body, created_at=self.now)
                for kind, names in ((CandidateKind.GROUP, to_groups), (CandidateKind.USER, to_users))
                for name in ([names] if isinstance(names, str) else names) if name]
        self.session.add_all(rows)
        url = self.engine.settings.notify_webhook
        if url and rows:
            # an outbox row each, delivered once the step commits (never for a step rolled back)
            from qihu.engine.runtime import outbox
            for r in rows:
                outbox.add(self.session, outbox.webhook_row(self.instance_id, url, {
                    "recipient_kind": r.recipient_kind, "recipient": r.recipient, "title": title, "body": body,
                    "instance_id": self.instance_id, "business_key": self.business_key, "task_id": self.task_id,
                    "created_at": self.now.isoformat()}, self.now))
        return len(rows)

    def attach(self, name: str, content: bytes, content_type: str, kind: str = "letter", meta: Any = None) -> int:
        """Store a file with the instance (e.g. a generated letter); returns its id."""
        from qihu.engine.storage.models import Attachment
        row = Attachment(instance_id=self.instance_id, kind=kind, name=name, content_type=content_type,
                         size=len(content), content=content, meta=meta, created_at=self.now, created_by=self.user)
        self.session.add(row)
        self.session.flush()
        return row.id
