"""History: the append-only audit trail of every instance, and what an instance page shows of
it: the diagram with the elements that ran and the current tokens, and the trail in plain words.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from lxml import etree
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from qihu.engine.errors import NotFound
from qihu.engine.storage.models import Attachment, Definition, HistoryEvent, Notification, Resource

from qihu.engine.dialect.state import all_tasks
from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.types import Diagram, EventType, HistoryEventInfo, IncidentStatus, InstanceRecords

if TYPE_CHECKING:   # the types of the engine's parts (HistoryEngine); importing them here would loop
    from qihu.engine.runtime.service import Runtime
    from qihu.engine.storage.db import Database

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
# Events that say an element finished (an external task finishes with handler_called, or with
# incident_resolved when an operator supplied its result).
COMPLETION = (EventType.ELEMENT_COMPLETED, EventType.TASK_COMPLETED, EventType.TIMER_FIRED, EventType.HANDLER_CALLED,
              EventType.INCIDENT_RESOLVED)
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
JOINS = ("parallelGateway", "inclusiveGateway", "complexGateway")
TASKS = ("task", "scriptTask", "businessRuleTask", "sendTask", "manualTask", "serviceTask", "receiveTask",
         "userTask", "callActivity", "subProcess")


def event_dict(e: HistoryEvent) -> HistoryEventInfo:
    return {"id": e.id, "instance_id": e.instance_id, "at": e.at.isoformat(), "type": e.type,
            "element_id": e.element_id, "task_id": e.task_id, "user": e.user, "data": e.data}


class Graph:
    """What the instance page needs of a diagram file: element kinds and names, sequence flows,
    lanes, and whether it has a drawing (BPMNDiagram) at all. Read once per definition."""

    def __init__(self, xml: bytes, filename: str) -> None:
        root = load_xml(xml, filename)
        self.kinds: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.flows: dict[str, tuple[str, str]] = {}
        self.lanes: dict[str, str] = {}
        self.incoming: defaultdict[str, list[str]] = defaultdict(list)
        for el in root.iter(f"{{{BPMN_NS}}}*"):
            eid = el.get("id")
            if not eid:
                continue
            kind = etree.QName(el).localname
            self.kinds[eid] = kind
            if el.get("name"):
                self.names[eid] = el.get("name").strip()
            if kind == "sequenceFlow":
                self.flows[eid] = (el.get("sourceRef"), el.get("targetRef"))
                self.incoming[el.get("targetRef")].append(eid)
            elif kind == "lane" and el.get("name"):
                for ref in el.iter(f"{{{BPMN_NS}}}flowNodeRef"):
                    self.lanes[(ref.text or "").strip()] = el.get("name").strip()
        self.has_di = root.find(f".//{{{DI_NS}}}BPMNShape") is not None

    def name(self, element_id: str) -> str:
        return self.names.get(element_id) or element_id


class HistoryEngine(Protocol):
    """What the history uses of the engine it belongs to (qihu.engine.Engine is one)."""

    @property
    def db(self) -> Database: ...

    @property
    def runtime(self) -> Runtime: ...

    def db_get_definition(self, definition_id: int) -> Definition: ...


class History:
    def __init__(self, engine: HistoryEngine) -> None:
        self.engine = engine
        # definition id -> (resource name, xml text, Graph); definitions never change
        self._graphs: dict[int, tuple[str, str, Graph]] = {}
        self._lock = threading.Lock()

    def events(self, instance_id: str, types: Iterable[str] | None = None) -> list[HistoryEventInfo]:
        with self.engine.db.read() as s:
            q = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
            if types:
                q = q.where(HistoryEvent.type.in_(types))
            return [event_dict(e) for e in s.scalars(q.order_by(HistoryEvent.id))]

    @staticmethod
    def redact(session: Session, instance_id: str, blank: Callable[[dict[str, Any]], set[str]]) -> set[str]:
        """Rewrite what the trail of an instance keeps in its events' data (personal fields past
        their keeping period, for example), in the caller's transaction: `blank` changes one
        event's data in place and returns the keys it changed; only changed events are written.
        The trail otherwise stays append-only: types, times and users are never touched."""
        changed: set[str] = set()
        for event_id, data in session.execute(select(HistoryEvent.id, HistoryEvent.data).where(
                HistoryEvent.instance_id == instance_id, HistoryEvent.data.is_not(None))).all():
            hit = blank(data) if isinstance(data, dict) else set()
            if hit:
                changed |= hit
                session.execute(update(HistoryEvent).where(HistoryEvent.id == event_id).values(data=data))
        return changed

    def completed_elements(self, instance_id: str) -> list[str]:
        """Element ids that have run, for highlighting a diagram."""
        return sorted({e["element_id"] for e in self.events(
            instance_id, [EventType.ELEMENT_COMPLETED, EventType.TASK_COMPLETED, EventType.TIMER_FIRED,
                          EventType.HANDLER_CALLED]) if e["element_id"]})

    def records(self, instance_id: str) -> InstanceRecords:
        """What handlers wrote for an instance: letters and other attachments (without their
        content) and notifications (a domain adds its own, e.g. the appeal domain's ledgers)."""
        def iso(d: Any) -> str | None:
            return d.isoformat() if d else None
        with self.engine.db.read() as s:
            files = s.execute(select(Attachment.id, Attachment.kind, Attachment.name, Attachment.size,
                                     Attachment.meta, Attachment.created_at)
                              .where(Attachment.instance_id == instance_id).order_by(Attachment.id)).all()
            notes = s.scalars(select(Notification).where(Notification.instance_id == instance_id)
                              .order_by(Notification.id)).all()
            return {
                "attachments": [{"id": a.id, "kind": a.kind, "name": a.name, "size": a.size, "meta": a.meta,
                                 "created_at": iso(a.created_at)} for a in files],
                "notifications": [{"id": n.id, "to": f"{n.recipient_kind}:{n.recipient}", "title": n.title,
                                   "body": n.body, "created_at": iso(n.created_at)} for n in notes],
            }

    def attachment(self, attachment_id: int) -> tuple[str, str, bytes]:
        """(name, content type, bytes) of one attachment, e.g. a generated letter."""
        with self.engine.db.read() as s:
            a = s.get(Attachment, attachment_id)
            if a is None:
                raise NotFound(f"no attachment {attachment_id}")
            return a.name, a.content_type, a.content

    # -- the instance page -------------------------------------------------------------------
    def graph(self, definition: Definition) -> tuple[str, str, Graph]:
        """(file name, BPMN text, Graph) of the deployed file that holds a Definition row's process."""
        hit = self._graphs.get(definition.id)
        if hit is None:
            with self.engine.db.read() as s:
                content = s.scalar(select(Resource.content).where(Resource.deployment_id == definition.deployment_id,
                                                                  Resource.name == definition.resource_name))
            if content is None:
                raise NotFound(f"deployment {definition.deployment_id} has no file {definition.resource_name}")
            hit = (definition.resource_name, content.decode("utf-8"), Graph(content, definition.resource_name))
            with self._lock:
                self._graphs[definition.id] = hit
        return hit

    def _live(self, instance_id: str, filename: str) -> list[tuple[str, str, Any]]:
        """[(task id, element id, state)] of the instance's live tokens in the file `filename`,
        from its workflow state (the truth: the task, job and subscription rows only mirror it,
        and subscriptions name no element). An embedded subprocess is in the same file, so both
        it and its current step are live; a call activity is STARTED while the process it calls
        runs, whose steps belong to that process's own file and are left out."""
        wf = self.engine.runtime.workflow(instance_id)
        return [(str(t.id), t.task_spec.bpmn_id, t.state) for t in all_tasks(wf)
                if t.task_spec.bpmn_id is not None and t.has_state(LIVE)
                and getattr(t.workflow.spec, "file", filename) == filename]

    def diagram(self, instance_id: str) -> Diagram:
        """What the instance page draws over the diagram.

        xml: the BPMN file of the instance's definition; has_diagram: it holds a drawing.
        completed: elements that finished at least once, and the sequence flows taken;
        flows: the taken flows alone (derived from the order of the audit events: a visit of an
        element came over the flow from the source that finished last before it, or, at a
        parallel/inclusive join, from every source that finished since the join's last visit).
        active: elements holding a token now: open user tasks, waiting catch events and receive
        tasks, joins waiting for their other branches, running subprocesses and call activities,
        external tasks stopped by an incident, and elements of open incidents.
        waiting: boundary events armed on an active task (a deadline timer that has not fired).
        An element may be both completed (an earlier round) and active (now).
        Only ids of this file are given: the steps inside a called process from another file
        show as their call activity. (The audit events do not say which process a step ran in,
        so a finished step of a called process whose id also occurs in this file is marked here.)
        """
        instance = self.engine.runtime.get(instance_id)
        definition = self.engine.db_get_definition(instance["definition_id"])
        filename, xml, g = self.graph(definition)
        events = [e for e in self.events(instance_id) if e["element_id"] in g.kinds]
        live = [(tid, el, st) for tid, el, st in self._live(instance_id, filename) if el in g.kinds]
        try:
            incidents = [i for i in self.engine.runtime.incidents(instance_id) if i["status"] == IncidentStatus.OPEN]
        except NotFound:
            incidents = []

        completions: defaultdict[str, list[int]] = defaultdict(list)
        visits: dict[str, tuple[str, int]] = {}
        for i, e in enumerate(events):
            element = cast(str, e["element_id"])       # one of g.kinds: an element id
            if e["type"] in COMPLETION:
                completions[element].append(i)
            if e["task_id"] and e["task_id"] not in visits:
                visits[e["task_id"]] = (element, i)
        for tid, el, _ in live:
            visits.setdefault(tid, (el, len(events)))     # a token that has left no event yet
        flows = _taken_flows(g, completions, visits)

        active: set[str] = set()
        waiting: set[str] = set()
        for _, el, _ in live:
            (waiting if g.kinds[el] == "boundaryEvent" else active).add(el)
        active |= {i["element_id"] for i in incidents if i["element_id"] in g.kinds}
        done = set(completions)
        return {"instance_id": instance_id, "process_key": definition.key, "version": definition.version,
                "definition_name": definition.name or definition.key, "status": instance["status"],
                "file": filename, "xml": xml, "has_diagram": g.has_di,
                "completed": sorted(done | flows), "flows": sorted(flows), "active": sorted(active),
                "waiting": sorted(waiting - active),
                "incidents": [{"id": i["id"], "element_id": i["element_id"], "name": g.name(i["element_id"] or ""),
                               "message": i["message"], "created_at": i["created_at"]} for i in incidents]}


def _taken_flows(g: Graph, completions: dict[str, list[int]], visits: dict[str, tuple[str, int]]) -> set[str]:
    """Sequence flows taken, from the visits of their targets (see History.diagram)."""
    arrivals: defaultdict[str, list[int]] = defaultdict(list)
    for el, i in visits.values():
        arrivals[el].append(i)
    taken: set[str] = set()
    for el, times in arrivals.items():
        flows_in = [f for f in g.incoming.get(el, ()) if g.flows[f][0] in g.kinds]
        if not flows_in:
            continue
        previous = -1
        for at in sorted(times):
            if g.kinds.get(el) in JOINS and len(flows_in) > 1:
                taken.update(f for f in flows_in if any(previous < c < at for c in completions.get(g.flows[f][0], ())))
            else:
                best = max(((max((c for c in completions.get(g.flows[f][0], ()) if c < at), default=-1), f)
                            for f in flows_in), default=(-1, None))
                if best[0] >= 0 and best[1] is not None:
                    taken.add(best[1])
            previous = at
    return taken
