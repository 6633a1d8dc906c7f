"""Moving running instances of one version of a process to a newer one (迁移运行中的实例).

SpiffWorkflow's bpmn.util.diff aligns the task specs of the two versions (by element id, then
by structure) and its migrate_workflow swaps them under an instance; what it cannot know is
which differences are harmless for *this* instance. The rules, per instance:

- Only instances of the given key on the `from` version, running or suspended, move; a
  suspended one moves and stays suspended (nothing runs until it is resumed). Completed and
  cancelled ones are history and stay where they are.
- An element counts as changed when its own XML differs (attributes, Camunda extension
  elements, timer and message definitions, scripts, assignment), when its lane or the boundary
  events attached to it differ; moving shapes or re-routing the flows around it is not a change
  (the flows are compared on their own, and re-routing is exactly what a migration applies).
  Removed: it is not in the new version and SpiffWorkflow's diff aligns nothing to it.
  Decision tables (.dmn) are not elements: a business rule task evaluated after the migration
  reads the new version's tables.
- Refused: a changed or removed element that already ran (a completion in the audit trail or
  in the task tree: the trail also covers history the tree has pruned, and loops may run it
  again); a removed element that holds a token now; a changed element that is waiting (timer,
  message, receive task, join), running (external task, subprocess) or a user task someone has
  taken (its inbox row has an assignee: claimed, reassigned or assigned by the model).
- Reset: a changed user task that is open but untaken and has no boundary events (in either
  version): its old inbox row is cancelled and it is offered again as the new version says
  (candidates, due date), keeping its data. A timer or boundary timer is never reset: its due
  moment would restart from the migration.
- Everything else keeps its task ids and state: open inbox rows, timer jobs (same due moment)
  and message subscriptions stay as they are; what lies ahead of each live token is predicted
  again from the new version, so an added step after the current one runs when it is reached.

Each instance moves in its own transaction through Runtime.transaction (the normal save path:
rows, jobs and subscriptions follow the tree), with the instance row's definition_id updated
and an `instance_migrated` audit event; a refused instance is not written at all. The new
state is checked to load against the new version before it is committed.
"""
from sqlalchemy import select, update
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.util.task import TaskState

from qihu.engine.dialect import state as state_mod
from qihu.engine.errors import NotFound, QihuError, ValidationFailed
from qihu.engine.history.service import COMPLETION
from qihu.engine.storage.models import Definition, HistoryEvent, Instance, Task
from qihu.engine.dialect.meaning import meaning
from qihu.engine.dialect.parser import B
from qihu.engine.dialect.state import all_tasks, forget_dropped, rekey
from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.types import LIVE_INSTANCE, EventType, InstanceStatus, TaskStatus

LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
MOVABLE = LIVE_INSTANCE
STATUS_ZH = {InstanceStatus.COMPLETED: "已办结", InstanceStatus.CANCELLED: "已撤销"}


class _Refused(QihuError):
    """This instance may not move; raised inside its transaction so nothing is written."""

    def __init__(self, reasons):
        super().__init__("; ".join(r["en"] for r in reasons))
        self.reasons = reasons


def _reason(zh, en, element=None):
    return {"element": element, "zh": zh, "en": en, "text": f"{zh} ({en})"}


# -- what changed between two versions, element by element -------------------------------------
def _signatures(resources):
    """(file name, element id) -> what the element does, for every element of the bundle's BPMN files.

    What the element says (engine.dialect.meaning: without its id, its incoming/outgoing flow
    references and nested elements that have ids of their own, whatever tool wrote the XML);
    plus the ids of the boundary events attached."""
    out = {}
    for name, content in resources:
        if not name.lower().endswith(".bpmn"):
            continue
        root = load_xml(content, name)
        attached = {}
        for el in root.iter(B + "boundaryEvent"):
            attached.setdefault(el.get("attachedToRef"), []).append(el.get("id"))
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            out[(name, el.get("id"))] = (meaning(el), tuple(sorted(attached.get(el.get("id"), ()))))
    return out


class _SpecDiff(SpecDiff):
    """SpiffWorkflow's alignment, with our idea of a change: the BPMN element's behaviour (see
    the module docstring), not the serialized spec (qihu's own specs have no serializer, and
    the spec's inputs/outputs change whenever a step is inserted next to it)."""

    def __init__(self, original, new, old_sigs, new_sigs):
        self._old_sigs, self._new_sigs = old_sigs, new_sigs
        super().__init__(None, original, new)

    def _sig(self, spec, sigs):
        if spec.bpmn_id is None:      # SpiffWorkflow's own start/end/split/join specs
            return (type(spec).__name__,)
        return (type(spec).__name__, getattr(spec, "lane", None), sigs.get((spec._wf_spec.file, spec.bpmn_id)))

    def _compare_task_specs(self, spec, candidate):
        return [] if self._sig(spec, self._old_sigs) == self._sig(candidate, self._new_sigs) else ["element"]


class _Versions:
    """Both versions of a key, and the diff of their process specs (top level and every
    subprocess or called process)."""

    def __init__(self, engine, old, new):
        repo = engine.repository
        self.old, self.new = old, new
        self.old_info, self.new_info = repo.process(old), repo.process(new)
        old_sigs = _signatures(repo.resources(old.deployment_id))
        new_sigs = (old_sigs if new.deployment_id == old.deployment_id
                    else _signatures(repo.resources(new.deployment_id)))
        self.top = _SpecDiff(self.old_info.spec, self.new_info.spec, old_sigs, new_sigs)
        self.deps = {}
        for name, spec in self.old_info.subprocess_specs.items():
            target = self.new_info.subprocess_specs.get(name)
            self.deps[name] = _SpecDiff(spec, target, old_sigs, new_sigs) if target is not None else None
        # element id -> "changed" | "removed", over every process of the old version
        self.verdict = {}
        for spec, d in [(self.old_info.spec, self.top)] + [(self.old_info.subprocess_specs[n], d)
                                                          for n, d in self.deps.items()]:
            for ts in spec.task_specs.values():
                if ts.bpmn_id is None:
                    continue
                if d is None:
                    self.verdict[ts.bpmn_id] = "removed"
                    continue
                if ts in d.alignment:
                    new_ts = d.alignment[ts]
                else:                            # not reachable from the start: align by id
                    new_ts = self._by_name(spec, ts, d)
                if new_ts is None:
                    self.verdict[ts.bpmn_id] = "removed"
                elif d._compare_task_specs(ts, new_ts):
                    self.verdict.setdefault(ts.bpmn_id, "changed")
        self.added = sorted({ts.bpmn_id for d in [self.top, *self.deps.values()] if d is not None
                             for ts in d.added if ts.bpmn_id is not None})
        self.names = {}
        for spec in [self.old_info.spec, self.new_info.spec, *self.old_info.subprocess_specs.values(),
                     *self.new_info.subprocess_specs.values()]:
            for ts in spec.task_specs.values():
                if ts.bpmn_id and ts.bpmn_name:
                    self.names.setdefault(ts.bpmn_id, ts.bpmn_name)

    def _by_name(self, spec, ts, d):
        new_spec = self.new_info.spec if d is self.top else self.new_info.subprocess_specs.get(spec.name)
        return new_spec.task_specs.get(ts.name) if new_spec is not None else None

    def name(self, element_id):
        n = self.names.get(element_id)
        return f"{n}（{element_id}）" if n else element_id

    def changes(self):
        def item(eid):
            return {"id": eid, "name": self.names.get(eid)}
        return {"added": [item(e) for e in self.added],
                "changed": [item(e) for e, v in sorted(self.verdict.items()) if v == "changed"],
                "removed": [item(e) for e, v in sorted(self.verdict.items()) if v == "removed"]}


class InstanceMigration:
    def __init__(self, engine):
        self.engine = engine

    # -- inputs -----------------------------------------------------------------------------
    def _versions(self, key, from_version, to_version):
        try:
            a, b = int(from_version), int(to_version)
        except (TypeError, ValueError):
            raise ValidationFailed(f"版本号须为整数 (versions must be whole numbers: from={from_version!r}, "
                                   f"to={to_version!r})", {"to": "版本号须为整数"}) from None
        if b <= a:
            raise ValidationFailed(f"只能迁移到更新的版本 (to version {b} must be newer than from version {a})",
                                   {"to": "目标版本须比原版本新"})
        with self.engine.db.read() as s:
            if s.scalar(select(Definition.id).where(Definition.key == key).limit(1)) is None:
                raise NotFound(f"没有流程 {key} (no definition {key!r})")
            defs = {}
            for v in (a, b):
                d = s.scalars(select(Definition).where(Definition.key == key, Definition.version == v)).first()
                if d is None:
                    raise NotFound(f"流程 {key} 没有第 {v} 版 (no definition {key!r} version {v})")
                s.expunge(d)
                defs[v] = d
        return _Versions(self.engine, defs[a], defs[b])

    def _instances(self, key, versions, instance_ids):
        """Instance rows to consider: the given ids (each must exist and be of `key`; an empty
        list is none), or, for None, every running and suspended one on the `from` version."""
        with self.engine.db.read() as s:
            if instance_ids is not None:
                ids = list(dict.fromkeys(str(i).strip() for i in instance_ids if str(i).strip()))
                rows = {r.id: r for r in s.execute(select(Instance.id, Instance.definition_key, Instance.definition_id,
                                                          Instance.status, Instance.business_key)
                                                   .where(Instance.id.in_(ids))).all()}
                missing = [i for i in ids if i not in rows]
                if missing:
                    raise NotFound(f"没有实例 {', '.join(missing)} (no instance {', '.join(missing)})")
                other = [i for i in ids if rows[i].definition_key != key]
                if other:
                    raise ValidationFailed(f"实例 {', '.join(other)} 不属于流程 {key} "
                                           f"(instance {', '.join(other)} is not of definition {key!r})",
                                           {"instances": f"实例不属于流程 {key}"})
                return [rows[i] for i in ids]
            return s.execute(select(Instance.id, Instance.definition_key, Instance.definition_id, Instance.status,
                                    Instance.business_key)
                             .where(Instance.definition_id == versions.old.id, Instance.status.in_(MOVABLE))
                             .order_by(Instance.started_at, Instance.id)).all()

    # -- per instance --------------------------------------------------------------------------
    def _ran(self, session, instance_id):
        """Element ids that finished at least once (the trail outlives the pruned tree)."""
        return set(session.scalars(select(HistoryEvent.element_id).distinct().where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.type.in_(COMPLETION),
            HistoryEvent.element_id.is_not(None))))

    def _judge(self, session, row, wf, v):
        """(reasons it may not move, tasks to reset) for one instance's workflow on the old version."""
        version = lambda: f"v{v.new.version}"   # noqa: E731
        if row.status not in MOVABLE:
            zh = STATUS_ZH.get(row.status, row.status)
            return [_reason(f"实例{zh}，不能迁移", f"instance is {row.status}")], []
        if row.definition_id != v.old.id:
            d = self.engine.db_get_definition(row.definition_id)
            return [_reason(f"实例在第 {d.version} 版上，不在第 {v.old.version} 版",
                            f"instance is on version {d.version}, not {v.old.version}")], []
        reasons, reset, seen = [], [], set()

        def refuse(eid, zh, en):
            if eid not in seen:
                seen.add(eid)
                reasons.append(_reason(f"环节 {v.name(eid)} {zh}", f"element {eid} {en}", eid))

        for eid in sorted(self._ran(session, row.id)):
            kind = v.verdict.get(eid)
            if kind:
                refuse(eid, f"已执行且在新版本中被{'修改' if kind == 'changed' else '删除'}",
                       f"already ran and was {kind} in {version()}")
        rows = {r.id: r.assignee for r in session.execute(select(Task.id, Task.assignee).where(
            Task.instance_id == row.id, Task.status == TaskStatus.READY)).all()}
        for t in all_tasks(wf):
            eid = t.task_spec.bpmn_id
            kind = v.verdict.get(eid) if eid else None
            if kind is None:
                continue
            word = "修改" if kind == "changed" else "删除"
            if t.state == TaskState.COMPLETED:
                refuse(eid, f"已执行且在新版本中被{word}", f"already ran and was {kind} in {version()}")
            elif not t.has_state(LIVE):
                continue
            elif kind == "removed":
                refuse(eid, "正在进行且在新版本中被删除", f"holds a token now and was removed in {version()}")
            elif t.state == TaskState.WAITING:
                refuse(eid, "正在等待（定时/消息/汇聚）且在新版本中被修改",
                       f"is waiting (timer, message or join) and was changed in {version()}")
            elif t.state == TaskState.STARTED or not t.task_spec.manual:
                refuse(eid, "正在执行且在新版本中被修改", f"is running and was changed in {version()}")
            elif rows.get(str(t.id)):
                refuse(eid, f"已由 {rows[str(t.id)]} 办理且在新版本中被修改",
                       f"was taken by {rows[str(t.id)]} and was changed in {version()}")
            elif self._has_boundary(t, v):
                refuse(eid, "带边界事件且在新版本中被修改（其计时不能重来）",
                       f"has boundary events and was changed in {version()} (their timers cannot restart)")
            else:
                reset.append(t)
        return reasons, reset

    @staticmethod
    def _has_boundary(task, v):
        spec_name = task.task_spec.name
        for spec in (v.old_info.spec, v.new_info.spec, *v.old_info.subprocess_specs.values(),
                     *v.new_info.subprocess_specs.values()):
            split = spec.task_specs.get(f"{spec_name}.BoundaryEventSplit")
            if split is not None and len(split.outputs) > 1:
                return True
        return False

    def _apply(self, wf, v, reset):
        """Move the workflow onto the new specs (SpiffWorkflow's migrate_workflow, minus its blanket
        reset of READY and WAITING tasks: see the module docstring). Returns the reset element ids."""
        pairs = [(wf, v.top, v.new_info.spec)]
        for sp in wf.subprocesses.values():
            d = v.deps.get(sp.spec.name)
            if d is None:
                raise _Refused([_reason(f"子流程 {sp.spec.name} 在新版本中被删除",
                                        f"subprocess {sp.spec.name} was removed in v{v.new.version}")])
            pairs.append((sp, d, v.new_info.subprocess_specs[sp.spec.name]))
        for w, d, new_spec in pairs:
            alignment = WorkflowDiff(w, d).alignment
            w.spec = new_spec
            for t in w.tasks.values():
                target = alignment.get(t) or new_spec.task_specs.get(t.task_spec.name)
                if target is not None:
                    t.task_spec = target
        wf.subprocess_specs = v.new_info.subprocess_specs
        reset_ids = []
        for t in reset:
            t.reset_branch(dict(t.data))
            rekey(t)
            reset_ids.append(t.task_spec.bpmn_id)
        # What lies ahead of every live token is predicted again from the new version.
        for w, _, _ in pairs:
            for t in list(w.tasks.values()):
                if t.id in w.tasks and t.has_state(LIVE) and all(
                        c.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE) for c in t.children):
                    t._drop_children()
                    t.task_spec._predict(t, mask=TaskState.NOT_FINISHED_MASK)
            if w.last_task is not None and w.last_task.id not in w.tasks:
                w.last_task = None
        forget_dropped(wf)
        return reset_ids

    def _check_loads(self, wf, v):
        """The new state must load against the new version, every task with its spec."""
        back = state_mod.loads(state_mod.dumps(wf), v.new_info.spec, v.new_info.subprocess_specs,
                               self.engine.script_engine)
        bad = [str(t.id) for t in all_tasks(back) if t.task_spec is None]
        if bad:
            raise _Refused([_reason("迁移后的状态无法在新版本上加载（流程结构变化）",
                                    f"the migrated state does not load on v{v.new.version}: "
                                    f"{len(bad)} task(s) lost their element")])

    def _entry(self, row, reasons, reset, v):
        reset = sorted({t if isinstance(t, str) else t.task_spec.bpmn_id for t in reset})
        return {"id": row.id, "business_key": row.business_key, "status": row.status,
                "can_migrate": not reasons, "reasons": reasons, "reset": reset,
                "reset_names": [v.name(e) for e in reset], "added": list(v.added)}

    def _plan_one(self, row, v):
        """Judge one instance and try the migration on a private copy of its workflow."""
        with self.engine.db.read() as s:
            wf = None
            if row.status in MOVABLE and row.definition_id == v.old.id:
                text_ = s.scalar(select(Instance.state).where(Instance.id == row.id))
                wf = state_mod.loads(text_, v.old_info.spec, v.old_info.subprocess_specs, self.engine.script_engine)
            reasons, reset = self._judge(s, row, wf, v)
        if not reasons:
            names = [t.task_spec.bpmn_id for t in reset]
            try:
                self._apply(wf, v, reset)
                self._check_loads(wf, v)
            except _Refused as e:
                reasons = e.reasons
            reset = names
        return self._entry(row, reasons, reset, v)

    # -- public ---------------------------------------------------------------------------------
    def plan(self, key, from_version, to_version, instance_ids=None):
        """What migrate would do, changing nothing: per instance whether it can move and why not
        (Chinese and English), the open user tasks that would be offered again (reset) and the
        elements the new version adds."""
        v = self._versions(key, from_version, to_version)
        rows = self._instances(key, v, instance_ids)
        return {"key": key, "from": v.old.version, "to": v.new.version, "from_definition_id": v.old.id,
                "to_definition_id": v.new.id, "changes": v.changes(),
                "instances": [self._plan_one(r, v) for r in rows]}

    def migrate(self, key, from_version, to_version, instance_ids=None, user=None, dry_run=False):
        """Move instances of `key` from one version to a newer one, each in its own transaction.

        Returns the plan's fields plus "migrated" and "refused" (entries as in plan); dry_run
        returns the plan as migrate would act on it, writing nothing."""
        v = self._versions(key, from_version, to_version)
        rows = self._instances(key, v, instance_ids)
        out = {"key": key, "from": v.old.version, "to": v.new.version, "from_definition_id": v.old.id,
               "to_definition_id": v.new.id, "changes": v.changes(), "dry_run": bool(dry_run),
               "migrated": [], "refused": []}
        for r in rows:
            entry = self._plan_one(r, v) if dry_run else self._migrate_one(r, v, user)
            out["migrated" if entry["can_migrate"] else "refused"].append(entry)
        return out

    def _migrate_one(self, row, v, user):
        rt = self.engine.runtime
        done = {}

        def run(ctx):
            reasons, reset = self._judge(ctx.session, ctx.instance, ctx.workflow, v)
            if reasons:
                raise _Refused(reasons)
            reset_ids = self._apply(ctx.workflow, v, reset)
            self._check_loads(ctx.workflow, v)
            I = Instance.__table__
            ctx.session.execute(update(I).where(I.c.id == ctx.instance.id).values(definition_id=v.new.id))
            ctx.instance.definition_id = v.new.id      # new tasks read the new version (e.g. its SLA scheme)
            ctx.log(EventType.INSTANCE_MIGRATED, data={
                "from_version": v.old.version, "to_version": v.new.version, "from_definition_id": v.old.id,
                "to_definition_id": v.new.id, "reset": sorted(set(reset_ids)), "added": list(v.added)})
            done["reset"] = reset_ids

        try:
            rt.transaction(row.id, run, user=user, lock=True, require_running=False)
        except _Refused as e:
            return self._entry(row, e.reasons, [], v)
        except QihuError as e:
            return self._entry(row, [_reason(f"迁移失败：{e}", f"migration failed: {e}")], [], v)
        finally:
            rt._evict(row.id)
        return self._entry(row, [], done["reset"], v)
