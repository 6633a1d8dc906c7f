"""Where a BPMN error or escalation thrown by an external task's handler is caught.

Camunda 7 propagates it from the activity outwards, scope by scope: the boundary events on
the activity itself, then the event sub-processes of the scope the activity is in, then the
boundary events on that scope (an embedded sub-process or a call activity), and so on up to
the process. At each level an event naming the code wins over one without `errorRef` /
`escalationRef` (which catches every code). SpiffWorkflow 3.2.0 delivers a thrown event to
every waiting catch event of the whole (sub)workflow, parallel branches included, so the walk
is done here and the chosen event alone is told.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition, EscalationEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState


@dataclass
class Catcher:
    """The catch event that takes a thrown error or escalation."""

    task: Any | None            # the waiting boundary event task; None for an event sub-process not started yet
    element_id: str | None
    interrupting: bool
    cancels_thrower: bool       # an interrupting boundary ends the thrower (SpiffWorkflow's boundary join does)
    subprocess: str | None = None   # the event sub-process spec to start

    def catch(self, thrower: Any, definition: Any, code: str | None, message: str | None,
              variables: dict[str, Any]) -> None:
        """Hand the event to the catching task, with the variables the catching path sees."""
        payload = deepcopy(dict(thrower.data))
        payload.update(variables)
        event = BpmnEvent(definition, payload=payload)
        top = thrower.workflow.top_workflow
        if self.task is None:
            # an event sub-process of the process: SpiffWorkflow starts it and its start event waits
            top.event_manager.update_collaboration(event)
            found = [t for t in list(top.event_manager.tasks.values())
                     if isinstance(t.task_spec, StartEvent) and t.workflow is not top
                     and t.workflow.spec.name == self.subprocess and t.task_spec.catches(t, event)]
            if not found:
                return
            self.task = found[0]
        own = self.task.task_spec.event_definition
        for attr, value in (("code_variable", code), ("message_variable", message)):
            name = getattr(own, attr, None)
            if name:
                payload[name] = value
        self.task.task_spec.catch(self.task, event)
        self.task.task_spec._update(self.task)


def _catches(task: Any, event: BpmnEvent) -> bool:
    return bool(task.task_spec.event_definition.catches(task, event))


def _boundaries(task: Any) -> list[Any]:
    """The waiting boundary events attached to this task (its siblings under the split)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return []
    return [t for t in parent.children if t is not task and isinstance(t.task_spec, BoundaryEvent)
            and t.state == TaskState.WAITING]


def _specific_first(found: list[Any]) -> Any:
    return sorted(found, key=lambda t: t.task_spec.event_definition.code is None)[0]


def find_catcher(thrower: Any, definition: Any) -> Catcher | None:
    """The catch event a throw of `definition` from `thrower` reaches, or None (uncaught)."""
    event = BpmnEvent(definition)
    top = thrower.workflow.top_workflow
    scope: Any = thrower
    while scope is not None:
        found = [b for b in _boundaries(scope) if _catches(b, event)]
        if found:
            b = _specific_first(found)
            cancel = bool(b.task_spec.cancel_activity)
            # interrupting: the boundary join cancels the activity it is on, and with it the thrower inside
            return Catcher(b, b.task_spec.bpmn_id, cancel, cancel)
        wf = scope.workflow
        if wf is top:
            return _event_subprocess(top, definition)
        scope = top.get_task_from_id(wf.parent_task_id)
    return None


def _event_subprocess(top: Any, definition: Any) -> Catcher | None:
    """An event sub-process of the process whose start event catches `definition`.

    SpiffWorkflow 3.2.0 starts event sub-processes of the process only (not those inside an
    embedded sub-process), so those are the ones looked for here."""
    candidates = []
    for name in top.spec.start.trigger_specs:
        sp_spec = top.subprocess_specs.get(name)
        for ts in getattr(sp_spec, "bpmn_start_events", None) or []:
            if ts.event_definition == definition:
                candidates.append((ts.event_definition.code is None, name, ts))
    if not candidates:
        return None
    _, name, ts = sorted(candidates, key=lambda c: c[0])[0]
    # an error start event always interrupts; an escalation start event unless isInterrupting="false"
    interrupting = bool(getattr(ts, "interrupting", True))
    return Catcher(None, ts.bpmn_id, interrupting, False, subprocess=name)


def end_path(task: Any) -> None:
    """End the path of a task as a none end event would: the task and the boundary events
    still waiting on it are cancelled; a sub-process left with nothing to do completes, as
    Camunda ends a scope whose last execution ended."""
    for b in _boundaries(task):
        b.cancel()
    task.cancel()
    wf = task.workflow
    top = wf.top_workflow
    while wf is not top and not wf.completed:
        unfinished = [t for t in wf.get_tasks(state=TaskState.NOT_FINISHED_MASK)
                      if t.state not in (TaskState.MAYBE, TaskState.LIKELY, TaskState.FUTURE)]
        if unfinished:
            return
        wf.completed = True
        wf.completed_event(wf)      # the sub-process task is READY again and the parent moves on
        wf = wf.parent_workflow


def implicit_end_data(wf: Any) -> dict[str, Any]:
    """The variables of the paths that ended in an activity without outgoing flow (Camunda: an
    implicit end, as after an error boundary's last task). SpiffWorkflow copies variables into
    the workflow's data only at its end join, which such a path never reaches; Camunda's
    variables are the process's, so they are kept (last finished wins). The instances of a
    loop or multi-instance are not paths: what they set stays theirs."""
    data: dict[str, Any] = {}
    ended = [t for t in wf.tasks.values() if t.state == TaskState.COMPLETED and not t.children
             and not t.task_spec.outputs and t.task_spec.inputs
             and not (t.parent is not None and isinstance(t.parent.task_spec, LoopTask))]
    for t in sorted(ended, key=lambda t: t.last_state_change):
        data.update(t.data)
    return data


def _same_kind(mine: Any, other: Any) -> bool:
    """SpiffWorkflow compares event definitions by exact class; ours stand for SpiffWorkflow's
    own (a handler's BpmnError is thrown as a plain ErrorEventDefinition), so the kind is
    what matters, and a definition without a code catches every code."""
    base = ErrorEventDefinition if isinstance(mine, ErrorEventDefinition) else EscalationEventDefinition
    return isinstance(other, base) and mine.code in (None, other.code)


class _CamundaThrow:
    """An error or escalation thrown by an event (end event, intermediate escalation throw)
    reaches ONE catcher, chosen by find_catcher as Camunda 7 chooses it. SpiffWorkflow 3.2.0
    tells every matching catch event of the nearest level, so a catch-all boundary ran beside
    the one naming the code (the transaction diagram of the corpus)."""

    code: str | None
    message: str | None = None      # the bpmn:error's camunda:errorMessage

    def __eq__(self, other: Any) -> bool:
        return _same_kind(self, other)

    __hash__ = None  # type: ignore[assignment]

    def throw(self, my_task: Any) -> None:
        plain = (ErrorEventDefinition if isinstance(self, ErrorEventDefinition) else EscalationEventDefinition)(
            self.name, code=self.code)
        catcher = find_catcher(my_task, plain)
        if catcher is None:
            # uncaught: SpiffWorkflow's own path (a plain definition: the state stores events
            # it could not deliver, and its serializer knows only its own classes)
            payload = deepcopy(my_task.data)
            my_task.workflow.top_workflow.catch(BpmnEvent(plain, payload=payload, target=my_task.workflow))
            return
        catcher.catch(my_task, plain, self.code, self.message, {})


class QihuErrorEventDefinition(_CamundaThrow, ErrorEventDefinition):
    pass


class QihuEscalationEventDefinition(_CamundaThrow, EscalationEventDefinition):
    pass
