"""Event sub-processes as Camunda 7 runs them (issue 14, finding 3).

SpiffWorkflow 3.2.0 (the newest release) runs an event sub-process as one more branch of its
scope: a timer-started one hangs off the scope's start and joins the scope's end, and one
started by a message, signal, error or escalation is added beside the main flow when its event
is caught. Two things then differ from BPMN, which this module puts right after each run of
engine steps (engine/runtime/service.py `_advance` calls `settle`):

- an interrupting event sub-process does not cancel anything: here, once its start event has
  fired, every other unfinished path of its scope is cancelled (the main flow, event
  sub-processes already running), as Camunda cancels the scope's other executions;
- the scope's end join waits for every branch, so a scope whose main flow has ended stays open
  while an event sub-process start timer is armed, and the timer fires later: here, once
  nothing of the scope is left but event sub-processes that have not started, those are
  disarmed (cancelled, so their timers leave no job) and the scope ends. An event sub-process
  that has started keeps its scope open until it ends, as in Camunda.

Event sub-processes that have not started are left armed while an interrupting one runs: BPMN
keeps a scope's event sub-process start events active for as long as the scope is.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

# internal_data mark: this interrupting event sub-process has already cancelled its scope
_INTERRUPTED = "qihu_esp_interrupted"


def _is_event_subprocess(scope: Any, spec: Any) -> bool:
    """Known by where SpiffWorkflow puts it, not by its class: its Camunda parser reads
    triggeredByEvent in the camunda namespace, so an event sub-process gets the class of an
    ordinary embedded one. A timer-started one hangs off the scope's start task itself (plain
    starts go through a start event); the others are the start task's trigger specs."""
    if not isinstance(spec, SubWorkflowTask):
        return False
    start = scope.spec.start
    return start in spec.inputs or spec.name in getattr(start, "trigger_specs", ())


def _own_tasks(scope: Any) -> list[Any]:
    # scope.tasks, not get_tasks(): that iteration stops at depth 1000
    return list(scope.tasks.values())


_RUNNING = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED | TaskState.ERROR


def _started(top: Any, esp_task: Any) -> bool:
    """Whether an event sub-process's start event has fired: anything of it beyond a start
    event still waiting has run or is running. (Not "its start event completed": the engine
    prunes finished tasks from the tree between steps.)"""
    sub = top.subprocesses.get(esp_task.id)
    if sub is None:
        return False
    for t in _own_tasks(sub):
        if getattr(t.task_spec, "bpmn_id", None) is None or not t.has_state(_RUNNING):
            continue
        if isinstance(t.task_spec, StartEvent) and t.state == TaskState.WAITING:
            continue
        return True
    return False


def _interrupting(top: Any, esp_task: Any) -> bool:
    # Camunda allows one start event in an event sub-process; isInterrupting defaults to true
    sub = top.subprocesses.get(esp_task.id)
    starts = getattr(sub.spec, "bpmn_start_events", None) or [] if sub is not None else []
    return all(getattr(s, "interrupting", True) is not False for s in starts)


def _branch(task: Any) -> set[Any]:
    """A task with its ancestors and descendants: the path that must not be cancelled."""
    keep = {task}
    p = task.parent
    while p is not None:
        keep.add(p)
        p = p.parent
    todo = list(task.children)
    while todo:
        t = todo.pop()
        keep.add(t)
        todo.extend(t.children)
    return keep


def _is_end(task: Any) -> bool:
    return isinstance(task.task_spec, _EndJoin) or task.task_spec.name == "End"


def _cancel_outside(root: Any, keep: set[Any], armed: set[Any]) -> bool:
    """Cancel, from the top of the tree down, every unfinished task not in `keep` (and not an
    armed event sub-process). True when something was cancelled."""
    changed = False
    todo = [root]
    while todo:
        t = todo.pop()
        if t in armed:
            continue
        if t in keep or t.has_state(TaskState.FINISHED_MASK):
            todo.extend(t.children)
            continue
        t.cancel()
        changed = True
    return changed


def _wake_end_joins(scope: Any) -> None:
    # the end join waits for every branch; it only looks again when told
    for t in _own_tasks(scope):
        if t.state == TaskState.WAITING and isinstance(t.task_spec, _EndJoin):
            t.task_spec._update(t)


def settle(workflow: Any) -> bool:
    """Apply interrupting event sub-processes and end scopes whose main flow has ended.
    True when the tree changed (the caller runs the engine again)."""
    top = workflow
    changed = False
    scopes = [top] + [sp for sp in list(top.subprocesses.values()) if not sp.completed]
    for scope in scopes:
        tasks = _own_tasks(scope)
        esps = [t for t in tasks if _is_event_subprocess(scope, t.task_spec)
                and not t.has_state(TaskState.FINISHED_MASK)]
        if not esps:
            continue
        armed = {t for t in esps if not _started(top, t)}
        for esp in esps:
            if esp in armed or esp.internal_data.get(_INTERRUPTED) or not _interrupting(top, esp):
                continue
            esp.internal_data[_INTERRUPTED] = True
            if _cancel_outside(scope.task_tree, _branch(esp), armed):
                changed = True
        # the scope's main flow has ended when nothing is left outside event sub-processes
        # but its end join
        inside: set[Any] = set()
        for esp in esps:
            inside |= _branch(esp)
        rest = [t for t in _own_tasks(scope) if t.has_state(TaskState.NOT_FINISHED_MASK)
                and t not in inside and not _is_end(t)]
        if not rest and armed:
            for esp in armed:
                esp.cancel()
            changed = True
        if changed:
            _wake_end_joins(scope)
    return changed


def armed_starts(workflow: Any) -> list[tuple[str, Any]]:
    """(task id, event definition) of each message or signal start event of the process's
    event sub-processes while the process runs: SpiffWorkflow keeps no waiting task for them
    (it adds the sub-process when its event is caught), so without these the instance has no
    subscription and a message or signal from outside never reaches them. The id is the
    tree's root task's: the subscription belongs to the process scope."""
    top = workflow
    if top.is_completed() or top.task_tree is None:
        return []
    out = []
    for name in getattr(top.spec.start, "trigger_specs", ()):
        sp_spec = top.subprocess_specs.get(name)
        for ts in getattr(sp_spec, "bpmn_start_events", None) or []:
            d = getattr(ts, "event_definition", None)
            if d is not None:
                out.append((str(top.task_tree.id), d))
    return out


_B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_KINDS = {"messageEventDefinition": ("消息", "message"), "signalEventDefinition": ("信号", "signal"),
          "errorEventDefinition": ("错误", "error"), "escalationEventDefinition": ("升级", "escalation"),
          "conditionalEventDefinition": ("条件", "conditional")}


def refusals(node: Any) -> list[tuple[Any, str]]:
    """(start event element, reason) for each event sub-process start qihu cannot run as BPMN
    says, read from a <bpmn:subProcess triggeredByEvent="true"> element at deploy.

    SpiffWorkflow 3.2.0 starts an event sub-process triggered by a message, signal, error or
    escalation only when it belongs to the process itself (BpmnWorkflow's event manager looks
    at the top process's start triggers only): one inside an embedded sub-process would never
    start. A conditional start is never evaluated. Refused rather than silently never run."""
    out = []
    parent = node.getparent()
    nested = parent is not None and parent.tag != _B + "process"
    for start in node.findall(_B + "startEvent"):
        for child in start:
            tag = child.tag[len(_B):] if isinstance(child.tag, str) and child.tag.startswith(_B) else None
            if tag not in _KINDS:
                continue
            zh, en = _KINDS[tag]
            if tag == "conditionalEventDefinition":
                out.append((start, f"事件子流程 {node.get('id')} 由条件启动，qihu 不支持条件启动的事件子流程"
                                   f"（a conditional start event of an event sub-process is not supported）"))
            elif nested:
                out.append((start, f"事件子流程 {node.get('id')} 位于子流程 {parent.get('id')} 内，由{zh}启动："
                                   f"qihu 只支持流程顶层的{zh}事件子流程，子流程内的事件子流程只能由定时器启动；"
                                   f"请把它移到流程顶层，或改用子流程上的{zh}边界事件"
                                   f"（an event sub-process started by a{'n' if en[0] in 'ae' else ''} {en} "
                                   f"inside a sub-process is not supported: move it to the process level "
                                   f"or use a boundary event on the sub-process）"))
    return out


def on_completed(task: Any) -> bool:
    """Called after each engine step: when the step was the start event of an event
    sub-process, settle at once, before the rest of the scope takes another step (SpiffWorkflow
    runs the deepest sub-processes first, so the cancelled tasks are not run). True when the
    tree changed."""
    if not isinstance(task.task_spec, StartEvent):
        return False
    wf = task.workflow
    top = wf.top_workflow
    if wf is top or wf.parent_task_id is None:
        return False
    parent = top.get_task_from_id(wf.parent_task_id)
    if parent is None or not _is_event_subprocess(parent.workflow, parent.task_spec):
        return False
    return settle(top)
