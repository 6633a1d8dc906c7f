"""The corpus of real, public BPMN/DMN diagrams (tests/data/real/, SOURCES.md) and a driver.

Each diagram is kept byte-for-byte as its authors saved it (mostly Camunda Modeler, Camunda 7
dialect). tests/engine/test_real_corpus.py holds the expectation of each: it runs along the
paths its own project's tests take, or it is refused at deploy naming an element and a reason.

A run is a list of steps a person or a system would take against the engine's public face:

    done("Task_A", answer="Yes")       complete the one ready task of that element (any instance)
    msg("Approval", {"ok": True})      deliver a message under the run's business key
    wait(seconds)                      move the clock on and let the worker fire what is due
    signal("start_sub")                broadcast a signal            (issue 14 finding 8)
    set_vars(x=1)                      set variables on the running instance (finding 8)

Handlers for external tasks are stubs registered on a HandlerRegistry, as a region's package
registers its own (qihu.engine.topics).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from qihu.engine.runtime.worker import Worker
from qihu.engine.topics import HandlerRegistry

REAL = Path(__file__).resolve().parent / "data" / "real"
BUSINESS_KEY = "REAL-1"
USER = "demo"          # who completes tasks (authorisation is not what the corpus tests)


@dataclass(frozen=True)
class Step:
    kind: str
    target: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def done(element: str, **data: Any) -> Step:
    return Step("done", element, data)


def msg(name: str, payload: Any = None) -> Step:
    return Step("msg", name, payload if payload is not None else {})


def wait(seconds: float) -> Step:
    return Step("wait", seconds=seconds)


def signal(name: str) -> Step:
    return Step("signal", name)


def set_vars(**data: Any) -> Step:
    return Step("set", "", data)


@dataclass(frozen=True)
class Runs:
    """Deploys, starts `key` with `data` (or by `start_message`), takes `steps`, then every
    instance of the run has ended, each element of `path` has completed, none of `not_path`
    has, and the started instance's data include `variables`."""
    key: str
    data: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    path: tuple[str, ...] = ()
    not_path: tuple[str, ...] = ()
    variables: Mapping[str, Any] = field(default_factory=dict)
    start_message: str | None = None
    topics: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    ended: bool = True
    also: tuple[str, ...] = ()  # further processes of the collaboration, started after `key`
    wall_clock: bool = False    # the diagram's script reads datetime.now(): start the clock at the real now


@dataclass(frozen=True)
class Refused:
    """Deploy raises DeployError with a problem naming `element` whose message contains `reason`."""
    element: str | None
    reason: str
    topics: tuple[str, ...] = ()


def registry(topics: Mapping[str, Callable[..., Any]] | tuple[str, ...]) -> HandlerRegistry:
    reg = HandlerRegistry()
    if isinstance(topics, tuple):
        topics = {t: (lambda **_: {}) for t in topics}
    for name, func in topics.items():
        reg.register(name, func)
    return reg


class Drive:
    """Takes a Runs expectation's steps on an engine; collects what happened."""

    def __init__(self, engine: Any, clock: Any) -> None:
        self.engine, self.clock = engine, clock
        self.worker = Worker(engine)
        self.first: str | None = None

    def start(self, how: Runs) -> str:
        if how.wall_clock:
            self.clock.set(datetime.now(timezone.utc))
        if how.start_message:
            got = self.engine.runtime.correlate(how.start_message, business_key=BUSINESS_KEY,
                                                payload=dict(how.data))
            self.first = got["started"][0]
        else:
            self.first = self.engine.runtime.start(how.key, dict(how.data), business_key=BUSINESS_KEY)
        for key in how.also:
            self.engine.runtime.start(key, {}, business_key=BUSINESS_KEY)
        self.fire()
        return self.first

    def fire(self) -> None:
        while self.worker.run_once():
            pass

    def take(self, step: Step) -> None:
        rt = self.engine.runtime
        if step.kind == "done":
            ready = [t for t in self.engine.tasks.list(limit=500) if t["element_id"] == step.target]
            assert len(ready) == 1, (f"expected one ready {step.target}, have "
                                     f"{sorted(t['element_id'] for t in self.engine.tasks.list(limit=500))}")
            self.engine.tasks.complete(ready[0]["id"], USER, dict(step.data), check=False)
        elif step.kind == "msg":
            rt.correlate(step.target, business_key=BUSINESS_KEY, payload=step.data)
        elif step.kind == "wait":
            self.clock.set(self.clock.now() + timedelta(seconds=step.seconds))
        elif step.kind == "signal":
            rt.signal(step.target)                          # finding 8: no such verb yet
        elif step.kind == "set":
            rt.set_variables(self.first, dict(step.data))   # finding 8: no such verb yet
        else:
            raise AssertionError(step.kind)
        self.fire()

    def instances(self) -> list[dict[str, Any]]:
        return list(self.engine.runtime.instances(limit=100))

    def completed(self) -> set[str]:
        out: set[str] = set()
        for i in self.instances():
            out.update(self.engine.history.completed_elements(i["id"]))
        return out
