"""Who is told what, and when (issue 15): notices at 受理, 答复, 待评价 and 督办.

- the enterprise (an SMS to its ticket's contact phone, when the instance has an
  appeal_ticket): its appeal was accepted (a 受理 step done, not refused), a reply meant for it
  was written (a form field named *reply*/*答复*, as its tracking page shows them), a rating
  step was assigned to it (待评价);
- staff: every notification a handler writes (督办 reminders, warnings…) also goes to each
  person it reaches (its user, or each member of its group) through the staff channel
  (浙政钉 by default); one addressed to the enterprise user goes to its phone.

Everything is written by the step_saved listener in the step's own transaction, as outbox rows
(Runtime.notice, with the step's other rows): a step that does not commit tells nobody, one that
commits loses no notice. The ticket is read with the figures' rows (appeals.step_rows), once.
Business ids are stable per (instance, event), so a redelivery or a retry never sends twice.
The tracking link is not in these texts: its token is not stored (the registration's SMS has it).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from qihu.appeals.models import AppealTicket
from qihu.appeals.portal import ENTERPRISE_PREFIX, REPLY_RE
from qihu.appeals.stages import stage_of
from qihu.engine.dialect.timers import deadline_text
from qihu.engine.storage.models import Task
from qihu.engine.tasks.notifications import written_in
from qihu.engine.types import EventType

if TYPE_CHECKING:
    from qihu.engine.core import Engine
    from qihu.engine.runtime import UnitOfWork

REFUSED = re.compile(r"不予|拒绝|退回")        # 不予受理, 拒绝受理: a 受理 stage that is not acceptance
ACCEPT_FIELD = re.compile(r"accept", re.I)     # 是否受理 (accepted: false): not accepted
REPLY_CHARS = 60                               # of a reply quoted in an SMS (the page has all of it)
_UNREAD = object()                             # on_step: the caller did not read the ticket


class Notices:
    """The appeal domain's notices, on one engine (its step_saved listener)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def wants_ticket(uow: UnitOfWork, told: list[dict[str, Any]]) -> bool:
        """Whether on_step needs the enterprise's ticket in this step (then it is read); `told`:
        the notifications the step wrote (engine.tasks.notifications.written_in)."""
        return (any(e["type"] == EventType.TASK_COMPLETED for e in uow.history)
                or any(e["type"] == EventType.TASK_CREATED
                       and str((e["data"] or {}).get("assignee") or "").startswith(ENTERPRISE_PREFIX)
                       for e in uow.history)
                or any(u.startswith(ENTERPRISE_PREFIX) for n in told for u in n["users"]))

    def on_step(self, uow: UnitOfWork, ticket: Any = _UNREAD, told: list[dict[str, Any]] | None = None) -> None:
        """`ticket`: the enterprise's ticket (or None) and `told`: written_in(session), when the
        caller read them already (appeals.step_rows)."""
        s, iid = uow.session, uow.instance.id
        completed = [e for e in uow.history if e["type"] == EventType.TASK_COMPLETED]
        created = [e for e in uow.history if e["type"] == EventType.TASK_CREATED
                   and str((e["data"] or {}).get("assignee") or "").startswith(ENTERPRISE_PREFIX)]
        if told is None:
            told = written_in(s)
        texts: list[tuple[str, str]] = []             # (business id, SMS text) for the enterprise
        if ticket is _UNREAD:
            ticket = _ticket(s, iid, uow.instance.business_key) if self.wants_ticket(uow, told) else None
        if ticket is not None:
            no = ticket.tracking_no
            for e in completed:
                if str(e["user"] or "").startswith(ENTERPRISE_PREFIX):
                    continue                      # the enterprise's own answer (its rating)
                values = e["data"] or {}
                name = _task_name(uow, e["task_id"]) or e["element_id"] or ""
                if _accepted(name, values):
                    texts.append((f"{iid}:accepted", f"您反映的诉求已受理，受理编号 {no}。"
                                  "可凭受理编号和发到本手机的验证码查询办理进度。"))
                replies = [str(v).strip() for k, v in values.items() if REPLY_RE.search(k) and str(v or "").strip()]
                if replies:
                    texts.append((f"{iid}:reply:{e['task_id']}", f"您的诉求（受理编号 {no}）有了答复："
                                  f"{_short(replies[0])}详见办理进度页面。"))
            for e in created:
                data = e["data"] or {}
                name = data.get("name") or e["element_id"] or ""
                due = deadline_text(data["due_at"], now=uow.now) if data.get("due_at") else ""
                what = "请对办理情况进行评价" if stage_of(name) == "评价" else f"请办理「{name}」"
                texts.append((f"{iid}:rate:{e['task_id']}", f"您的诉求（受理编号 {no}）{what}"
                              f"{f'（{due}前）' if due else ''}，请在办理进度页面操作。"))
        rt, settings = self.engine.runtime, self.engine.settings
        for business_id, text in texts:
            assert ticket is not None
            rt.notice(s, channel=settings.enterprise_notice_channel, to=ticket.contact_phone, text=text,
                      business_id=business_id, instance_id=iid)
        for n in told:
            text = f"{n['title']}：{n['body']}" if n["body"] else n["title"]
            for user in dict.fromkeys(n["users"]):
                business_id = f"{n['instance_id'] or iid}:notification:{n['id']}"
                if user.startswith(ENTERPRISE_PREFIX):
                    if ticket is not None:
                        rt.notice(s, channel=settings.enterprise_notice_channel, to=ticket.contact_phone,
                                  text=text, business_id=business_id, instance_id=iid)
                else:
                    rt.notice(s, channel=settings.staff_notice_channel, to=user, text=n["body"] or n["title"],
                              title=n["title"], business_id=business_id, instance_id=iid)


def _task_name(uow: UnitOfWork, task_id: str | None) -> str | None:
    """A task's name as its row has it (the element's name, else its id): from the tree when the
    step closed it, else from its row."""
    t = uow.before.ready.get(task_id) if uow.before is not None and task_id else None
    if t is not None:
        return t.task_spec.bpmn_name or t.task_spec.bpmn_id
    return uow.session.scalar(select(Task.name).where(Task.id == task_id))


def _ticket(s: Any, instance_id: str, business_key: str | None) -> AppealTicket | None:
    """The enterprise's ticket: of this instance, or of the appeal it continues (same number)."""
    t = s.scalars(select(AppealTicket).where(AppealTicket.instance_id == instance_id)).first()
    if t is None and business_key:
        t = s.scalars(select(AppealTicket).where(AppealTicket.tracking_no == business_key)).first()
    return t


def _accepted(name: str, values: dict[str, Any]) -> bool:
    if stage_of(name) != "受理" or REFUSED.search(name):
        return False
    return not any(ACCEPT_FIELD.search(k) and v is False for k, v in values.items())


def _short(text: str) -> str:
    text = " ".join(text.split())
    return (text[:REPLY_CHARS] + "…" if len(text) > REPLY_CHARS else text) + ("" if text.endswith("。") else "。")
