"""Notifications shown to their users: those addressed to the user, or to one of their groups.

Handlers write Notification rows (HandlerContext.notify); a group notification is read by
each member on their own, so reads are rows of notification_read (one per reader). Every
query goes through the (recipient_kind, recipient) index and the (notification_id, user)
key of the reads; a user never sees what was sent to a group they are not in.

`written_in(session)` tells who a step's notifications reach, person by person, so that
whatever is built on the engine can send each of them as a notice too (the appeal domain: a
浙政钉 work notice to staff, an SMS to the enterprise, engine.runtime.channels).
"""
from sqlalchemy import and_, event, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from qihu.engine.errors import Conflict, NotFound
from qihu.engine.storage.models import Instance, Membership, Notification, NotificationRead, Task
from qihu.engine.types import CandidateKind, TaskStatus

N, R = Notification, NotificationRead


WRITTEN = "qihu_notifications"     # session.info: the notifications this transaction inserted


@event.listens_for(N, "after_insert")
def _remember(_mapper, _connection, row):
    session = object_session(row)
    if session is not None:
        session.info.setdefault(WRITTEN, []).append(row)


def written_in(session):
    """The notifications written in this transaction (a step's handlers called notify), each
    {"id", "title", "body", "instance_id", "task_id", "users"}: `users` is the person it names,
    or every member of the group it names."""
    session.flush()
    rows = session.info.get(WRITTEN, [])
    groups = {n.recipient for n in rows if n.recipient_kind == CandidateKind.GROUP}
    members = {}
    if groups:
        for user, group in session.execute(select(Membership.user, Membership.group)
                                           .where(Membership.group.in_(sorted(groups)))
                                           .order_by(Membership.user)):
            members.setdefault(group, []).append(user)
    return [{"id": n.id, "title": n.title, "body": n.body, "instance_id": n.instance_id, "task_id": n.task_id,
             "users": members.get(n.recipient, []) if n.recipient_kind == CandidateKind.GROUP else [n.recipient]}
            for n in rows]


class Notifications:
    def __init__(self, engine):
        self.engine = engine

    def _addressed(self, s, user):
        """SQL condition: the notification is for `user` or one of their groups."""
        groups = sorted(s.scalars(select(Membership.group).where(Membership.user == user)))
        mine = and_(N.recipient_kind == CandidateKind.USER, N.recipient == user)
        if not groups:
            return mine
        return or_(mine, and_(N.recipient_kind == CandidateKind.GROUP, N.recipient.in_(groups)))

    @staticmethod
    def _read(user):
        return exists().where(R.notification_id == N.id, R.user == user)

    def unread_count(self, user):
        if not user:
            return 0
        with self.engine.db.read() as s:
            return s.scalar(select(func.count()).select_from(N)
                            .where(self._addressed(s, user), ~self._read(user)))

    def page(self, user, unread_only=False, limit=20, offset=0):
        """{"items", "total", "unread"}: newest first; items carry `read`, the instance's business
        key and `user_task_id` when the step that sent it is a user task (one with a task page)."""
        with self.engine.db.read() as s:
            addressed = self._addressed(s, user)
            read = self._read(user)
            unread = s.scalar(select(func.count()).select_from(N).where(addressed, ~read))
            total = unread if unread_only else s.scalar(select(func.count()).select_from(N).where(addressed))
            q = (select(N, read.label("is_read"), Instance.business_key, Task.id)
                 .outerjoin(Instance, Instance.id == N.instance_id)
                 .outerjoin(Task, Task.id == N.task_id).where(addressed))
            if unread_only:
                q = q.where(~read)
            rows = s.execute(q.order_by(N.created_at.desc(), N.id.desc()).limit(limit).offset(offset)).all()
        items = [{"id": n.id, "title": n.title, "body": n.body, "recipient_kind": n.recipient_kind,
                  "recipient": n.recipient, "instance_id": n.instance_id, "task_id": n.task_id,
                  "user_task_id": user_task, "business_key": bkey, "created_at": n.created_at.isoformat(),
                  "read": bool(is_read)}
                 for n, is_read, bkey, user_task in rows]
        return {"items": items, "total": total, "unread": unread}

    def mark_read(self, user, notification_id):
        """Mark one notification read for `user`; NotFound unless it is addressed to them.
        Marking it again is fine."""
        now = self.engine.clock.now()
        try:
            with self.engine.db.write() as s:
                found = s.scalar(select(N.id).where(N.id == notification_id, self._addressed(s, user)))
                if found is None:
                    raise NotFound(f"no notification {notification_id} for {user}")
                if s.get(R, (notification_id, user)) is None:
                    s.add(R(notification_id=notification_id, user=user, read_at=now))
        except IntegrityError:
            pass    # read at the same moment in another tab: it is read either way

    def mark_all_read(self, user):
        """Mark everything addressed to `user` read; returns how many were unread."""
        now = self.engine.clock.now()
        try:
            with self.engine.db.write() as s:
                ids = s.scalars(select(N.id).where(self._addressed(s, user), ~self._read(user))).all()
                s.add_all(R(notification_id=i, user=user, read_at=now) for i in ids)
            return len(ids)
        except IntegrityError:
            return self.mark_all_read(user)   # another tab marked some meanwhile: once more

    # -- 催办: a reminder about an open task ---------------------------------------------------
    def remind(self, task_id, user, note=None):
        """Remind whoever has an open task to do it (催办): its assignee, or its candidate groups
        and users while nobody has claimed it. `user` must be able to see the task
        (engine.tasks.visible_get: Forbidden otherwise). Conflict, with the reason in Chinese and
        English, for a task no longer open, one that is the caller's own, or one nobody to remind.
        Returns the recipients as [(kind, name)]."""
        task = self.engine.tasks.visible_get(task_id, user)
        if task["status"] != TaskStatus.READY:
            raise Conflict(f"任务已不在办理中，无需催办 (task {task_id} is no longer open)")
        if task["assignee"] == user:
            raise Conflict(f"任务由您本人办理，无需催办 (task {task_id} is your own)")
        if task["assignee"]:
            to = [(CandidateKind.USER, task["assignee"])]
        else:
            to = [(CandidateKind.GROUP, g) for g in task["candidate_groups"]] + \
                 [(CandidateKind.USER, u) for u in task["candidate_users"] if u != user]
        if not to:
            raise Conflict(f"任务没有可催办的办理人 (task {task_id} names nobody to remind)")
        note = (note or "").strip()[:500]
        name = task["name"] or task["element_id"]
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            s.add_all(N(recipient_kind=kind, recipient=who, instance_id=task["instance_id"], task_id=task_id,
                        title=f"催办：{name}", body=f"{user} 催办此任务" + (f"：{note}" if note else ""),
                        created_at=now) for kind, who in to)
        return to
