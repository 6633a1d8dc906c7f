"""Handing a task on: reassign it to a colleague (转办), or return it (退单) to the step that
dispatched it.

A user task declares where it may be returned to with a Camunda extension property,
`<camunda:property name="returnTo" value="Task_dispatch"/>` (checked at deploy time in
engine/dialect/checks.py). Returning resets the workflow to the most recent completed run of that
step (SpiffWorkflow's reset_from_task_id): the step is READY again with its data plus
`return_reason`, `returned_from`, `returned_from_element` and `return_count`, and everything
the reset drops (other open tasks of the branch, their deadline and timer jobs, message
subscriptions, open incidents) is closed in the same transaction. engine/dialect/state.py's prune
keeps that completed step in the tree while a task that may return to it is live.
"""

from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.util.task import TaskState

from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from qihu.engine.history.service import event_dict
from qihu.engine.storage.limits import check_text
from qihu.engine.storage.models import HistoryEvent, Incident, Membership, Notification, Task, UserAccount
from qihu.engine.dialect.state import find_task, forget_dropped, rekey, return_target
from qihu.engine.types import CandidateKind, EventType, IncidentStatus, TaskStatus

MAX_REASON = 500
MAX_NOTE = 500
RETURNED = TaskStatus.RETURNED          # the status of a returned task's row


def _names(text):
    return [n for n in (text or "").split(",") if n]


def _text(value, field, limit, required, what):
    """A stripped text field, or ValidationFailed naming the field (Chinese, then English)."""
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise ValidationFailed(f"{what}须为文本 ({field} must be text)", {field: f"{what}须为文本"})
    if required and not text:
        raise ValidationFailed(f"请填写{what} ({field} is required)", {field: f"请填写{what}"})
    check_text(text, field, what=what)                  # NUL and other control characters
    if len(text) > limit:
        raise ValidationFailed(f"{what}不能超过 {limit} 个字 ({field} is longer than {limit} characters)",
                               {field: f"{what}不能超过 {limit} 个字（现 {len(text)} 个字）"})
    return text


class Handoff:
    def __init__(self, engine):
        self.engine = engine

    # -- who may take a task ----------------------------------------------------------------
    def _known(self, s, name):
        """True for an active account, or a name with groups (host apps without qihu accounts)."""
        active = s.scalar(select(UserAccount.is_active).where(UserAccount.name == name))
        if active is not None:
            return bool(active)
        return s.scalar(select(Membership.user).where(Membership.user == name).limit(1)) is not None

    def _is_candidate(self, s, row, name):
        if name in _names(row.candidate_users):
            return True
        groups = _names(row.candidate_groups)
        return bool(groups) and s.scalar(select(Membership.user).where(
            Membership.user == name, Membership.group.in_(groups)).limit(1)) is not None

    def candidates(self, task_id, exclude=None):
        """Active people a task may be handed to: members of its candidate groups and its
        candidate users, as [{"name", "display_name"}] sorted by name."""
        with self.engine.db.read() as s:
            row = s.get(Task, task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            names = set(_names(row.candidate_users))
            groups = _names(row.candidate_groups)
            if groups:
                names |= set(s.scalars(select(Membership.user).where(Membership.group.in_(groups))))
            accounts = {a.name: a for a in s.scalars(select(UserAccount).where(UserAccount.name.in_(names or [""])))}
            members = set(s.scalars(select(Membership.user).where(Membership.user.in_(names or [""]))))
        out = []
        for n in sorted(names - {exclude, row.assignee} - {None}):
            a = accounts.get(n)
            if (a is not None and a.is_active) or (a is None and n in members):
                out.append({"name": n, "display_name": (a.display_name if a is not None else None) or n})
        return out

    def may_reassign(self, task_id, user):
        """True when `user` may hand this open task to a colleague (see reassign)."""
        with self.engine.db.read() as s:
            row = s.get(Task, task_id)
            return row is not None and row.status == TaskStatus.READY and self._may_reassign(s, row, user)

    def _may_reassign(self, s, row, user):
        if not user:
            return False
        if row.assignee == user or self.engine.access._is_admin(s, user):
            return True
        return row.assignee is None and self._is_candidate(s, row, user)

    # -- reassign (转办) ----------------------------------------------------------------------
    def reassign(self, task_id, user, to_user, note=None):
        """Give an open task to `to_user`, a colleague who is a candidate of it.

        Allowed for the assignee, an administrator, or (while nobody has claimed it) one of
        its candidates. Audited as task_reassigned {from, to, note}; the new assignee gets a
        notification. Optimistic locking as claim: a concurrent change is a Conflict.
        """
        note = _text(note, "note", MAX_NOTE, False, "转办说明") or None
        try:
            with self.engine.db.write() as s:
                row = self.engine.tasks._open_row(s, task_id)
                if not self._may_reassign(s, row, user):
                    who = f"assigned to {row.assignee}" if row.assignee else "not one of its candidates"
                    raise Forbidden(f"{user or 'anonymous'} may not reassign task {task_id} ({who})")
                to_user = _text(to_user, "to_user", 100, True, "转办对象")
                if to_user == user:
                    raise ValidationFailed(f"不能转办给自己 (cannot reassign task {task_id} to yourself)",
                                           {"to_user": "不能转办给自己"})
                if to_user == row.assignee:
                    raise ValidationFailed(f"任务已由 {to_user} 办理 (task {task_id} is already assigned to {to_user})",
                                           {"to_user": f"任务已由 {to_user} 办理"})
                if not self._known(s, to_user):
                    raise ValidationFailed(f"没有在职用户 {to_user} (no active user {to_user})",
                                           {"to_user": f"没有在职用户 {to_user}"})
                if not self._is_candidate(s, row, to_user):
                    groups = ", ".join(_names(row.candidate_groups)) or "-"
                    raise ValidationFailed(f"{to_user} 不是该任务的候选人 ({to_user} is not a candidate of task "
                                           f"{task_id}; groups: {groups})", {"to_user": f"{to_user} 不是该任务的候选人"})
                before, row.assignee = row.assignee, to_user
                now = self.engine.clock.now()
                s.add(HistoryEvent(instance_id=row.instance_id, at=now, type=EventType.TASK_REASSIGNED,
                                   element_id=row.element_id, task_id=row.id, user=user,
                                   data={"from": before, "to": to_user, "note": note, "by": user}))
                s.add(Notification(recipient_kind=CandidateKind.USER, recipient=to_user, instance_id=row.instance_id,
                                   task_id=row.id, title=f"任务转办：{row.name or row.element_id}",
                                   body=f"{user} 将任务转办给您" + (f"：{note}" if note else ""), created_at=now))
        except StaleDataError:
            raise Conflict(f"task {task_id} was changed by someone else at the same time") from None

    def reassigned_to(self, task_id, user):
        """The latest task_reassigned event that gave this task to `user`, or None."""
        with self.engine.db.read() as s:
            iid = s.scalar(select(Task.instance_id).where(Task.id == task_id))
            row = s.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == iid,    # indexed
                                                       HistoryEvent.task_id == task_id,
                                                       HistoryEvent.type == EventType.TASK_REASSIGNED)
                            .order_by(HistoryEvent.id.desc()).limit(1)).first()
            if row is None or (row.data or {}).get("to") != user:
                return None
            return event_dict(row)

    # -- return (退单) ------------------------------------------------------------------------
    def return_target(self, task_id):
        """{"element_id", "name"} of the step a task may be returned to, or None."""
        with self.engine.db.read() as s:
            row = s.get(Task, task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            instance_id, element_id = row.instance_id, row.element_id
        definition = self.engine.db_get_definition_by_instance(instance_id)
        target = return_target(self.engine.tasks._spec_in(definition, element_id))
        if target is None:
            return None
        spec = self.engine.tasks._spec_in(definition, target)
        return {"element_id": target, "name": getattr(spec, "bpmn_name", None) or target}

    def return_task(self, task_id, user, reason):
        """Return an open task to the step named by its returnTo property, with a reason.

        One instance transaction: the task row becomes "returned", the workflow goes back to
        the last completed run of the dispatching step (READY again, with return_reason,
        returned_from, returned_from_element and return_count in its data), what lay below
        that step is dropped with its rows, jobs and subscriptions; audited as task_returned
        and notified to the dispatcher's candidates. Returns the new dispatcher task's id.
        """
        found = {}

        def locate(s):
            row = self.engine.tasks._open_row(s, task_id)
            self.engine.tasks._authorize(row, user, True, session=s)
            found["row"] = row
            return row.instance_id

        def run(ctx):
            row = found["row"]
            definition = self.engine.db_get_definition(ctx.instance.definition_id)
            spec = self.engine.tasks._spec_in(definition, row.element_id)
            target = return_target(spec)
            if target is None:
                raise InvalidState(f"此步骤不能退单 (this step cannot be returned: {row.element_id} "
                                   "declares no returnTo)")
            text = _text(reason, "reason", MAX_REASON, True, "退单理由")
            t = find_task(ctx.workflow, task_id)
            if t is None or t.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer ready")
            dispatcher = t.parent
            while dispatcher is not None and not (getattr(dispatcher.task_spec, "bpmn_id", None) == target
                                                  and dispatcher.state == TaskState.COMPLETED):
                dispatcher = dispatcher.parent
            if dispatcher is None or dispatcher.parent is None:
                raise InvalidState(f"task {task_id} cannot be returned: {target} was not done before it "
                                   "on this path")
            old_id = str(dispatcher.id)
            closed = ctx.session.connection().execute(
                update(Task.__table__).where(Task.__table__.c.id == task_id, Task.__table__.c.status == TaskStatus.READY)
                .values(status=RETURNED, completed_by=user, completed_at=ctx.now,
                        version=Task.__table__.c.version + 1))
            if closed.rowcount != 1:
                raise Conflict(f"task {task_id} was completed or returned by someone else")
            ctx.done_rows[task_id] = RETURNED
            count = int(dispatcher.data.get("return_count") or 0) + 1
            data = dict(dispatcher.data, return_reason=text, returned_from=spec.bpmn_name or row.element_id,
                        returned_from_element=row.element_id, return_count=count)
            dropped = ctx.workflow.reset_from_task_id(dispatcher.id, data=data)
            forget_dropped(ctx.workflow)
            new_id = str(rekey(dispatcher))
            self._close_incidents(ctx, {str(d.id) for d in dropped}, user)
            ctx.log(EventType.TASK_RETURNED, row.element_id, task_id, user=user,
                    data={"reason": text, "from": row.element_id, "to": target, "by": user, "count": count,
                          "to_task": new_id, "groups": _names(row.candidate_groups), "assignee": row.assignee})
            self._notify_dispatchers(ctx, old_id, new_id, row, text, user)
            found["new_id"] = new_id
        self.engine.runtime.transaction(locate, run, user=user)
        return found["new_id"]

    def _close_incidents(self, ctx, task_ids, user):
        """Open incidents of external tasks the reset dropped: nobody will retry them now."""
        if not task_ids:
            return
        for inc in ctx.session.scalars(select(Incident).where(Incident.instance_id == ctx.instance.id,
                                                              Incident.task_id.in_(task_ids),
                                                              Incident.status == IncidentStatus.OPEN)):
            inc.status, inc.resolved_at, inc.resolved_by = IncidentStatus.CANCELLED, ctx.now, user
            ctx.log(EventType.INCIDENT_CANCELLED, inc.element_id, inc.task_id, {"incident": inc.id, "reason": "task_returned"})

    def _notify_dispatchers(self, ctx, old_id, new_id, row, reason, user):
        """Tell the dispatching step's candidates (as it was offered last time) it came back."""
        prev = ctx.session.execute(select(Task.candidate_groups, Task.candidate_users, Task.completed_by)
                                   .where(Task.id == old_id)).first()
        groups = _names(prev.candidate_groups) if prev else []
        users = _names(prev.candidate_users) if prev else []
        if not groups and not users and prev is not None and prev.completed_by:
            users = [prev.completed_by]
        title = f"退单：{row.name or row.element_id}"
        body = f"{user} 退回：{reason}"
        ctx.session.add_all(Notification(recipient_kind=kind, recipient=name, instance_id=ctx.instance.id, task_id=new_id,
                                         title=title, body=body, created_at=ctx.now)
                            for kind, names in ((CandidateKind.GROUP, groups), (CandidateKind.USER, users)) for name in names)

    # -- counts for the task page and reports -------------------------------------------------
    def return_count(self, instance_id, element_id=None):
        """How many times tasks of an instance (or of one element of it) were returned."""
        with self.engine.db.read() as s:
            q = select(func.count()).select_from(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                                      HistoryEvent.type == EventType.TASK_RETURNED)
            if element_id:
                q = q.where(HistoryEvent.element_id == element_id)
            return s.scalar(q) or 0

    def returns(self, instance_id):
        """The task_returned events of an instance, oldest first."""
        return self.engine.history.events(instance_id, [EventType.TASK_RETURNED])

    def return_of(self, task_id):
        """The task_returned event that reopened this (dispatcher) task, or None."""
        with self.engine.db.read() as s:
            iid = s.scalar(select(Task.instance_id).where(Task.id == task_id))
        if iid is None:
            raise NotFound(f"no task {task_id}")
        return next((e for e in reversed(self.returns(iid)) if (e["data"] or {}).get("to_task") == task_id), None)
