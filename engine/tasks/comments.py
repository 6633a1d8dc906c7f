"""Comments and attachments people add to an appeal, at a step or on the whole instance.

Whoever may see the instance (engine.access.can_see_instance: administrators, and everyone
who started it or had one of its tasks offered, assigned or done) may read and add them.
Public comments are the ones an enterprise may be shown; the rest stay among staff.
Adding one is audited (comment_added / attachment_added; the text itself stays in its table).
"""
from sqlalchemy import select

from qihu.engine.errors import NotFound, ValidationFailed
from qihu.engine.storage.limits import check_text
from qihu.engine.storage.models import HistoryEvent, Task, TaskComment, UserAccount
from qihu.engine.types import EventType

MAX_BODY = 2000


def comment_dict(c, display_name=None):
    return {"id": c.id, "instance_id": c.instance_id, "task_id": c.task_id, "user": c.user,
            "display_name": display_name or c.user, "body": c.body, "public": bool(c.public),
            "created_at": c.created_at.isoformat()}


class Comments:
    def __init__(self, engine):
        self.engine = engine

    def _check(self, user, instance_id, task_id):
        """NotFound for an unknown instance or task (or a task of another instance), Forbidden
        for someone who may not see the instance; returns the task's element id or None."""
        self.engine.access.require_instance(user, instance_id)
        if task_id is None:
            return None
        with self.engine.db.read() as s:
            row = s.execute(select(Task.instance_id, Task.element_id).where(Task.id == task_id)).first()
        if row is None or row.instance_id != instance_id:
            raise NotFound(f"no task {task_id} in instance {instance_id}")
        return row.element_id

    def add(self, instance_id, user, body, task_id=None, public=False):
        """Add a comment (1-2000 characters); returns it as a dict."""
        element = self._check(user, instance_id, task_id)
        if not isinstance(body, str) or not body.strip():
            raise ValidationFailed("请填写意见内容 (comment body is required)", {"body": "请填写意见内容"})
        body = check_text(body.strip(), "body", what="意见")
        if len(body) > MAX_BODY:
            raise ValidationFailed(f"意见不能超过 {MAX_BODY} 个字 (comment longer than {MAX_BODY} characters)",
                                   {"body": f"意见不能超过 {MAX_BODY} 个字（现 {len(body)} 个字）"})
        now = self.engine.clock.now()
        with self.engine.db.write() as s:
            c = TaskComment(instance_id=instance_id, task_id=task_id, user=user, body=body, public=bool(public),
                            created_at=now)
            s.add(c)
            s.flush()
            s.add(HistoryEvent(instance_id=instance_id, at=now, type=EventType.COMMENT_ADDED, element_id=element,
                               task_id=task_id, user=user, data={"comment": c.id, "public": bool(public)}))
            return comment_dict(c, s.scalar(select(UserAccount.display_name).where(UserAccount.name == user)))

    def list(self, instance_id, user=None, public_only=False):
        """The comments of an instance, oldest first; with `user`, only if they may see it."""
        if user is not None:
            self.engine.access.require_instance(user, instance_id)
        with self.engine.db.read() as s:
            q = select(TaskComment, UserAccount.display_name).outerjoin(
                UserAccount, UserAccount.name == TaskComment.user).where(TaskComment.instance_id == instance_id)
            if public_only:
                q = q.where(TaskComment.public.is_(True))
            return [comment_dict(c, d) for c, d in s.execute(q.order_by(TaskComment.id)).all()]

    # -- attachments (stored and checked by engine.uploads) -----------------------------------
    def attach(self, instance_id, user, filename, content, task_id=None):
        """Check and store a file someone adds to an instance (at a step); returns its dict."""
        element = self._check(user, instance_id, task_id)
        with self.engine.db.write() as s:
            a = self.engine.uploads.add(instance_id, filename, content, user, task_id=task_id, session=s)
            s.add(HistoryEvent(instance_id=instance_id, at=self.engine.clock.now(), type=EventType.ATTACHMENT_ADDED,
                               element_id=element, task_id=task_id, user=user,
                               data={"attachment": a["id"], "name": a["name"], "size": a["size"]}))
            return a

    def files(self, instance_id, user=None):
        """The instance's attachments (uploads and generated letters), without content."""
        if user is not None:
            self.engine.access.require_instance(user, instance_id)
        return self.engine.uploads.list(instance_id)
