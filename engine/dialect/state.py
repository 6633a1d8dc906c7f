"""Instance state: SpiffWorkflow's task tree, stored without the spec and kept short.

Two SpiffWorkflow traps live here:
- its serializer embeds the whole spec in every instance; ours stores only the tree
  (the spec is rebuilt once per definition version from the stored resources);
- the tree grows one level per step, so loops get slower every cycle and iteration
  stops silently at depth 1000. `prune` drops the finished history above the live part
  of the tree (the audit table keeps it), so a step costs the same after 10 or 500 cycles.
"""
import json
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

from qihu.engine.dialect.specs import QihuMessageEventDefinition

STATE_VERSION = 1


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """BpmnWorkflowConverter minus the spec: restore takes the (cached) spec objects."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
# An event-based gateway keeps the events it caught in its task (internal_data seen_events),
# so a message definition can sit in the stored tree.
_config[QihuMessageEventDefinition] = MessageEventDefinitionConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dumps(workflow) -> str:
    registry = _serializer.registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
        dct["v"] = STATE_VERSION
        # ensure_ascii=False: Chinese stays readable (and a third of the size).
        return json.dumps(dct, ensure_ascii=False, separators=(",", ":"), cls=_serializer._encoder_cls)
    finally:
        registry._encoder_mode = False


def loads(text, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(text)
    dct.pop("v", None)
    dct["tasks"] = _parents_first(dct["tasks"])
    for sub in (dct.get("subprocesses") or {}).values():
        sub["tasks"] = _parents_first(sub["tasks"])
    workflow = _serializer.registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def _parents_first(tasks: dict) -> dict:
    """The serialized tasks reordered so that every task comes after its parent.

    SpiffWorkflow 3.2.0 stores a task's data as a delta against its parent's and rebuilds it
    only when the parent was restored first (the tasks are restored in the stored order);
    a task met before its parent silently gets empty data, and every task below it loses
    what it inherited (a NameError later, in a script or an expression). The stored order
    is the order of `workflow.tasks`, which a reset task's new id once broke (see rekey):
    restoring in tree order makes such states, already in databases, load whole again.
    """
    order, seen = [], set()
    roots = [tid for tid, t in tasks.items() if t.get("parent") not in tasks]
    for root in roots:
        stack = [root]
        while stack:
            tid = stack.pop()
            if tid in seen or tid not in tasks:
                continue
            seen.add(tid)
            order.append(tid)
            stack.extend(reversed(tasks[tid].get("children") or []))
    order += [tid for tid in tasks if tid not in seen]     # unreachable: as stored
    if order == list(tasks):
        return tasks
    return {tid: tasks[tid] for tid in order}


def _finished(task):
    return task.has_state(TaskState.FINISHED_MASK)


RETURN_TO = "returnTo"   # camunda:property of a user task: the step it may be returned to (退单)


def return_target(task_spec):
    """The element id a task of this spec may be returned to, or None (engine/tasks/handoff.py).
    User tasks only: SpiffWorkflow gives a subprocess the properties of the tasks inside it."""
    if not getattr(task_spec, "manual", False):
        return None
    return (getattr(task_spec, "extensions", None) or {}).get(RETURN_TO) or None


def _return_targets_ahead(live_specs):
    """returnTo targets of the live tasks and of the user tasks they reach without passing
    another user task: between engine passes a returnable task behind a gateway or a
    boundary-event split may not be predicted yet, and its target must not be pruned."""
    targets = set()
    for spec in set(live_specs):
        targets |= _targets_ahead_of(spec)
    return targets


def _targets_ahead_of(spec):
    """_return_targets_ahead of one live spec, kept on the spec: it depends on the diagram only,
    and prune asks for it after every engine pass."""
    cached = spec.__dict__.get("_qihu_targets_ahead")
    if cached is not None:
        return cached
    targets, seen = set(), set()
    todo = [(spec, True)]
    while todo:
        s, live = todo.pop()
        if (id(s), live) in seen:
            continue
        seen.add((id(s), live))
        target = return_target(s)
        if target:
            targets.add(target)
        if live or not getattr(s, "manual", False):     # stop at a user task ahead
            todo.extend((out, False) for out in getattr(s, "outputs", None) or [])
    spec.__dict__["_qihu_targets_ahead"] = frozenset(targets)
    return spec.__dict__["_qihu_targets_ahead"]


def prune(workflow) -> int:
    """Drop finished history above the live part of the tree; returns tasks removed.

    Walk down from the root while the node is finished and exactly one child subtree
    still has unfinished tasks. Finished side branches are dropped with it, except when
    they hold a join instance whose join has not fired yet on the live side: the
    parallel/inclusive join looks for its completed inputs in the tree.
    """
    removed = _prune_one(workflow)
    for sp in list(workflow.subprocesses.values()):
        if sp.task_tree is not None and sp.task_tree.id in sp.tasks:
            removed += _prune_one(sp)
    return removed


def _prune_one(wf):
    tasks = wf.tasks
    root = wf.task_tree
    # one bottom-up pass: does a subtree hold unfinished tasks / which joins fired in it
    # (keyed by the task objects, which hash by identity: a UUID hashes in Python)
    order, kids_of, stack = [], {}, [root]
    while stack:
        t = stack.pop()
        order.append(t)
        kids = kids_of[t] = [tasks[c] for c in t._children if c in tasks]
        stack.extend(kids)
    live, fired, joins = {}, {}, {}
    no_joins = frozenset()
    for t in reversed(order):
        kids = kids_of[t]
        live[t] = (not _finished(t)) or any(live[k] for k in kids)
        if isinstance(t.task_spec, Join):
            f = {t.task_spec} if t.state == TaskState.COMPLETED else set()
            j = {t.task_spec}
        elif not kids:
            fired[t] = joins[t] = no_joins
            continue
        else:
            f, j = set(), set()
        for k in kids:
            f |= fired[k]
            j |= joins[k]
        fired[t], joins[t] = f, j

    node = root
    path = [root]
    while _finished(node):
        kids = kids_of[node]
        live_kids = [k for k in kids if live[k]]
        if len(live_kids) != 1:
            break
        nxt = live_kids[0]
        if not _finished(nxt):
            break   # the root must be a finished task: an unfinished one reads its parent's data
        side_joins = set().union(*(joins[k] for k in kids if k is not nxt))
        if side_joins - fired[nxt]:
            break
        node = nxt
        path.append(node)
    # A live task that may be returned (退单) needs the last completed run of its returnTo
    # step in the tree, with that step's parent: the return resets it (engine/tasks/handoff.py).
    # Only moves the cut back up the path, so there is nothing to look for when nothing is cut.
    targets = _return_targets_ahead([t.task_spec for t in tasks.values() if not _finished(t)]) \
        if node is not root else ()
    if targets:
        for i in range(len(path) - 1, 0, -1):
            if getattr(path[i].task_spec, "bpmn_id", None) in targets:
                node = path[i - 1]
                break
    if node is root:
        return 0

    keep = set()
    stack = [node]
    while stack:
        t = stack.pop()
        keep.add(t)
        stack.extend(kids_of[t])
    dropped = [tid for tid, t in tasks.items() if t not in keep]
    top = wf.top_workflow
    for tid in dropped:
        t = tasks.pop(tid)
        top.event_manager.tasks.pop(tid, None)
        if tid in getattr(top, "subprocesses", {}):
            _drop_subprocess(top, tid)
    node._parent = None
    wf.task_tree = node
    if wf.last_task is not None and wf.last_task not in keep:
        wf.last_task = None
    return len(dropped)


def _drop_subprocess(top, task_id):
    sp = top.subprocesses.pop(task_id, None)
    if sp is None:
        return
    for tid in list(sp.tasks):
        top.event_manager.tasks.pop(tid, None)
        if tid in top.subprocesses:
            _drop_subprocess(top, tid)


def unfinished(workflow):
    """True if any task anywhere is unfinished (the truth, unlike is_completed past depth 1000)."""
    if any(not _finished(t) for t in workflow.tasks.values()):
        return True
    return any(not _finished(t) for sp in workflow.subprocesses.values() for t in sp.tasks.values())


def all_tasks(workflow: BpmnWorkflow):
    """Every task of the tree, the top workflow's and its subprocesses' (not depth-limited,
    unlike SpiffWorkflow's own iteration, which stops at depth 1000)."""
    yield from workflow.tasks.values()
    for sp in workflow.subprocesses.values():
        yield from sp.tasks.values()


def find_task(workflow: BpmnWorkflow, task_id: str):
    """The task with this id (a str of its UUID), or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except Exception:
        return None


def rekey(task):
    """Give a reset task a fresh id. Its old id names the completed run's inbox row and
    audit events; the new READY run gets a row of its own."""
    wf, old = task.workflow, task.id
    new = uuid4()
    # Same place in workflow.tasks: that order is the stored order, and a task stored after
    # its children would make them lose their data when the state is loaded (_parents_first).
    tasks = list(wf.tasks.items())
    wf.tasks.clear()
    wf.tasks.update((new if tid == old else tid, t) for tid, t in tasks)
    task.id = new
    parent = task.parent
    if parent is not None:
        parent._children = [new if c == old else c for c in parent._children]
    for child in task.children:
        child._parent = new
    events = wf.top_workflow.event_manager.tasks
    if old in events:
        events[new] = events.pop(old)
    return new


def forget_dropped(wf):
    """SpiffWorkflow 3.2.0's reset drops tasks from the tree but leaves the waiting event
    tasks among them (a boundary timer, a message catch) in the event manager, where
    refresh_timers and catch would still find them: forget those."""
    live = {id(wf)} | {id(sp) for sp in wf.subprocesses.values()}
    events = wf.event_manager.tasks
    for tid, t in list(events.items()):
        if id(t.workflow) not in live or t.workflow.tasks.get(tid) is not t:
            events.pop(tid)
