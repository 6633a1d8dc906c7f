"""History: the append-only audit trail of every instance, and what an instance page shows of
it: the diagram with the elements that ran and the current tokens, and the trail in plain words.
"""
import threading
from collections import defaultdict

from lxml import etree
from sqlalchemy import select
from SpiffWorkflow.util.task import TaskState

from qihu.engine.storage.models import Attachment, HistoryEvent, LedgerEntry, Notification, Resource
from qihu.engine.runtime.sla import COLOUR_NAMES
from qihu.engine.dialect.timers import local_text
from qihu.engine.dialect.xmlsafe import load_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
# Events that say an element finished (an external task finishes with handler_called, or with
# incident_resolved when an operator supplied its result).
COMPLETION = ("element_completed", "task_completed", "timer_fired", "handler_called", "incident_resolved")
LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
JOINS = ("parallelGateway", "inclusiveGateway", "complexGateway")
TASKS = ("task", "scriptTask", "businessRuleTask", "sendTask", "manualTask", "serviceTask", "receiveTask",
         "userTask", "callActivity", "subProcess")
STATUS_NAMES = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销"}
SYSTEM = "系统"
# Steps the engine takes on its own: their events carry the user whose action set them off, but
# the trail names the engine as the one who did them.
ENGINE_STEPS = {"task_created", "task_cancelled", "element_completed", "handler_called", "timer_fired",
                "message_thrown", "incident", "incident_cancelled", "sla_changed", "instance_completed"}


def event_dict(e):
    return {"id": e.id, "instance_id": e.instance_id, "at": e.at.isoformat(), "type": e.type,
            "element_id": e.element_id, "task_id": e.task_id, "user": e.user, "data": e.data}


class Graph:
    """What the instance page needs of a diagram file: element kinds and names, sequence flows,
    lanes, and whether it has a drawing (BPMNDiagram) at all. Read once per definition."""

    def __init__(self, xml, filename):
        root = load_xml(xml, filename)
        self.kinds, self.names, self.flows, self.lanes = {}, {}, {}, {}
        self.incoming = defaultdict(list)
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

    def name(self, element_id):
        return self.names.get(element_id) or element_id


class History:
    def __init__(self, engine):
        self.engine = engine
        self._graphs = {}        # definition id -> (resource name, xml text, Graph); definitions never change
        self._lock = threading.Lock()

    def events(self, instance_id, types=None):
        with self.engine.db.read() as s:
            q = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
            if types:
                q = q.where(HistoryEvent.type.in_(types))
            return [event_dict(e) for e in s.scalars(q.order_by(HistoryEvent.id))]

    def completed_elements(self, instance_id):
        """Element ids that have run, for highlighting a diagram."""
        return sorted({e["element_id"] for e in self.events(
            instance_id, ["element_completed", "task_completed", "timer_fired", "handler_called"]) if e["element_id"]})

    def records(self, instance_id):
        """What handlers wrote for an instance: letters and other attachments (without their
        content), ledger lines (warning list, pools, lists) and notifications."""
        iso = lambda d: d.isoformat() if d else None   # noqa: E731
        with self.engine.db.read() as s:
            files = s.execute(select(Attachment.id, Attachment.kind, Attachment.name, Attachment.size,
                                     Attachment.meta, Attachment.created_at)
                              .where(Attachment.instance_id == instance_id).order_by(Attachment.id)).all()
            ledger = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == instance_id)
                               .order_by(LedgerEntry.id)).all()
            notes = s.scalars(select(Notification).where(Notification.instance_id == instance_id)
                              .order_by(Notification.id)).all()
            return {
                "attachments": [{"id": a.id, "kind": a.kind, "name": a.name, "size": a.size, "meta": a.meta,
                                 "created_at": iso(a.created_at)} for a in files],
                "ledger": [{"id": e.id, "kind": e.kind, "title": e.title, "data": e.data,
                            "created_at": iso(e.created_at), "closed_at": iso(e.closed_at)} for e in ledger],
                "notifications": [{"id": n.id, "to": f"{n.recipient_kind}:{n.recipient}", "title": n.title,
                                   "body": n.body, "created_at": iso(n.created_at)} for n in notes],
            }

    def attachment(self, attachment_id):
        """(name, content type, bytes) of one attachment, e.g. a generated letter."""
        from qihu.engine.errors import NotFound
        with self.engine.db.read() as s:
            a = s.get(Attachment, attachment_id)
            if a is None:
                raise NotFound(f"no attachment {attachment_id}")
            return a.name, a.content_type, a.content

    # -- the instance page -------------------------------------------------------------------
    def graph(self, definition):
        """(file name, BPMN text, Graph) of the deployed file that holds a Definition row's process."""
        hit = self._graphs.get(definition.id)
        if hit is None:
            from qihu.engine.errors import NotFound
            with self.engine.db.read() as s:
                content = s.scalar(select(Resource.content).where(Resource.deployment_id == definition.deployment_id,
                                                                  Resource.name == definition.resource_name))
            if content is None:
                raise NotFound(f"deployment {definition.deployment_id} has no file {definition.resource_name}")
            hit = (definition.resource_name, content.decode("utf-8"), Graph(content, definition.resource_name))
            with self._lock:
                self._graphs[definition.id] = hit
        return hit

    def _live(self, instance_id, filename):
        """[(task id, element id, state)] of the instance's live tokens in the file `filename`,
        from its workflow state (the truth: the task, job and subscription rows only mirror it,
        and subscriptions name no element). An embedded subprocess is in the same file, so both
        it and its current step are live; a call activity is STARTED while the process it calls
        runs, whose steps belong to that process's own file and are left out."""
        from qihu.engine.runtime.service import _all_tasks
        rt = self.engine.runtime
        with self.engine.db.read() as s:
            row = rt._row(s, instance_id)
            wf, snapshot = rt._take(s, row)
        rt._put(row, wf, snapshot)
        return [(str(t.id), t.task_spec.bpmn_id, t.state) for t in _all_tasks(wf)
                if t.task_spec.bpmn_id is not None and t.has_state(LIVE)
                and getattr(t.workflow.spec, "file", filename) == filename]

    def diagram(self, instance_id):
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
        from qihu.engine.errors import NotFound
        instance = self.engine.runtime.get(instance_id)
        definition = self.engine.db_get_definition(instance["definition_id"])
        filename, xml, g = self.graph(definition)
        events = [e for e in self.events(instance_id) if e["element_id"] in g.kinds]
        live = [(tid, el, st) for tid, el, st in self._live(instance_id, filename) if el in g.kinds]
        try:
            incidents = [i for i in self.engine.runtime.incidents(instance_id) if i["status"] == "open"]
        except NotFound:
            incidents = []

        completions, visits = defaultdict(list), {}
        for i, e in enumerate(events):
            if e["type"] in COMPLETION:
                completions[e["element_id"]].append(i)
            if e["task_id"] and e["task_id"] not in visits:
                visits[e["task_id"]] = (e["element_id"], i)
        for tid, el, _ in live:
            visits.setdefault(tid, (el, len(events)))     # a token that has left no event yet
        flows = _taken_flows(g, completions, visits)

        active, waiting = set(), set()
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

    def trail(self, instance_id):
        """The audit trail in plain Chinese, oldest first: [{"at" (ISO, UTC), "time" (Beijing,
        "2026-11-02 09:00"), "who" (display name, 系统 for the engine), "type", "element_id",
        "text" (what happened), "line" (time, who and text in one line)}]."""
        instance = self.engine.runtime.get(instance_id)
        g = self.graph(self.engine.db_get_definition(instance["definition_id"]))[2]
        people = {}

        def person(name):
            if not name:
                return SYSTEM
            if name not in people:
                account = self.engine.accounts.get(name)
                people[name] = (account or {}).get("display_name") or name
            return people[name]

        out = []
        for e in self.events(instance_id):
            text = _say(e, g, person)
            if text is None:
                continue
            who = SYSTEM if e["type"] in ENGINE_STEPS else person(e["user"])
            time = local_text(e["at"])
            out.append({"at": e["at"], "time": time, "who": who, "type": e["type"], "element_id": e["element_id"],
                        "text": text, "line": f"{time} {who} {text}"})
        return out


def _taken_flows(g, completions, visits):
    """Sequence flows taken, from the visits of their targets (see History.diagram)."""
    arrivals = defaultdict(list)
    for el, i in visits.values():
        arrivals[el].append(i)
    taken = set()
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
                if best[0] >= 0:
                    taken.add(best[1])
            previous = at
    return taken


def _say(e, g, person):
    """One audit event in plain Chinese, or None for the engine's inner steps (gateways, starts)."""
    t, data, el = e["type"], e["data"] or {}, e["element_id"]
    step = f"「{g.name(el)}」" if el else ""
    kind = g.kinds.get(el)
    if t == "instance_started":
        if data.get("message"):
            return f"由消息「{data['message']}」启动流程"
        return "发起流程" + (f"，业务编号 {data['business_key']}" if data.get("business_key") else "")
    if t == "task_created":
        to = person(data["assignee"]) if data.get("assignee") else g.lanes.get(el) or "、".join(data.get("groups") or [])
        due = f"，期限 {local_text(data['due_at'])}" if data.get("due_at") else ""
        return f"「{data.get('name') or g.name(el)}」待{to or '办理人'}办理{due}"
    simple = {"task_claimed": f"认领{step}", "task_unclaimed": f"取消认领{step}", "task_completed": f"办结{step}",
              "task_cancelled": f"{step}已撤销", "timer_fired": f"{step}定时到期", "handler_called": f"完成{step}",
              "incident_retried": f"重试{step}", "instance_completed": "流程办结", "instance_suspended": "暂停流程",
              "instance_resumed": "恢复流程"}
    if t in simple:
        return simple[t]
    if t == "element_completed":
        if kind in ("startEvent", "boundaryEvent") or (kind or "").endswith("Gateway") or el not in g.names:
            return None
        if kind == "endEvent":
            return f"到达{step}"
        if kind == "intermediateThrowEvent":
            return f"发出{step}"
        if kind in ("intermediateCatchEvent", "receiveTask"):
            return f"收到{step}"
        return f"完成{step}"
    if t in ("message_thrown", "message_received"):
        verb = "发出" if t == "message_thrown" else "收到"
        return f"{verb}消息「{data.get('message')}」"
    if t == "incident":
        return f"{step}出错：{data.get('error') or ''}".rstrip("：")
    if t == "incident_resolved":
        return f"处理{step}的异常" if e["user"] else f"{step}异常已消除"
    if t == "sla_changed":
        colour = COLOUR_NAMES.get(data.get("colour"), data.get("colour"))
        return f"{step}预警变为{colour}色"
    if t == "instance_cancelled":
        closed = f"，{len(data['incidents'])} 个未处理的异常随之关闭" if data.get("incidents") else ""
        return "撤销流程" + (f"，原因：{data['reason']}" if data.get("reason") else "") + closed
    if t == "task_returned":
        return f"退回{step}" + (f"，理由：{data['reason']}" if data.get("reason") else "")
    if t == "task_reassigned":
        to = f"转交{person(data['to'])}" if data.get("to") else "转交他人"
        return f"将{step}{to}" + (f"，说明：{data['note']}" if data.get("note") else "")
    if t == "comment_added":
        where = f"在{step}" if el else ""
        return f"{where}发表意见" + ("（企业可见）" if data.get("public") else "")
    if t == "attachment_added":
        return f"上传附件「{data.get('name') or ''}」" + (f"（{step}）" if el else "")
    if t == "incident_cancelled":
        return f"{step}异常已撤销"
    if t == "instance_migrated":     # engine/instance_migration.py
        reset = "、".join(f"「{g.name(x)}」" for x in data.get("reset") or [])
        return (f"流程从第 {data.get('from_version')} 版迁移到第 {data.get('to_version')} 版"
                + (f"，重新派发{reset}" if reset else ""))
    return f"{t} {step}".strip()
