"""Stall detection: the worker's check, at least every minute, for instances that can no
longer move and that nobody would otherwise notice.

Three kinds, each found with one set-based query on indexed columns:

- nothing to wait for: a running instance with no open task, no due job (timer, retry,
  colour), no message subscription, no outbox row of its own and no open incident — e.g. a
  parallel join that waits for a branch that ended elsewhere;
- nobody to do it: an open task whose candidates are only groups with no active member (or
  users, or an assignee, whose accounts are disabled);
- a delivery retrying for longer than an hour (engine.runtime.outbox).

Each stall is an incident of kind `stall` on the instance (one open per instance and
cause; the `topic` column names the cause) and a notification to the administrators, in one
transaction. A stall incident whose cause has gone (a member was added, the delivery went
through) is resolved by the next check.

The incident keeps the ids of the groups and people it names ("候选组（dept_policy）"): what the
engine knows, and what whoever fixes the cause looks up. What people read says their display
names: the administrators' notification here, the incident pages through `named`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from qihu.engine.identity.access import ADMIN_GROUP
from qihu.engine.storage.models import (HistoryEvent, Incident, Instance, Job, Membership, Notification,
                                        Outbox, Subscription, Task, TaskCandidate, UserAccount)
from qihu.engine.types import CandidateKind, EventType, IncidentKind, IncidentStatus, InstanceStatus, TaskStatus

DELIVERY_STALL = timedelta(hours=1)
# a task nobody can do, said with the ids the engine knows; _GROUPS and _ASSIGNEE find them again
NOBODY_GROUPS = "「{task}」的候选组（{groups}）没有在岗成员，无人能看到这项待办"
NOBODY_ASSIGNEE = "「{task}」的办理人 {assignee} 的账号已停用"
_GROUPS = re.compile(r"(的候选组（)([^（）]*)(）没有在岗成员)")
_ASSIGNEE = re.compile(r"(的办理人 )(\S+)( 的账号已停用)")


def named_ids(sentence: str | None) -> tuple[list[str], list[str]]:
    """(group ids, user ids) a stall sentence names."""
    groups = [g for m in _GROUPS.finditer(sentence or "") for g in m.group(2).split(",") if g and g != "无"]
    return groups, [m.group(2) for m in _ASSIGNEE.finditer(sentence or "")]


def named(sentence: str | None, group_name: Callable[[str], str], person_name: Callable[[str], str]) -> str:
    """A stall sentence with display names instead of ids (「部门办理」的候选组（政策法规处、要素保障处）…),
    each id said by `group_name` / `person_name`."""
    def groups(m: re.Match) -> str:
        ids = [g for g in m.group(2).split(",") if g]
        return m.group(1) + "、".join(group_name(g) for g in ids) + m.group(3) if ids else m.group(0)
    text = _GROUPS.sub(groups, sentence or "")
    return _ASSIGNEE.sub(lambda m: m.group(1) + person_name(m.group(2)) + m.group(3), text)


def _disabled(user: Any) -> Any:
    """SQL: `user` names an account that is switched off (a name without an account is a
    person known only to the engine, e.g. from the command line: they count as active)."""
    return exists().where(UserAccount.name == user, UserAccount.is_active.is_(False))


class StallCheck:
    def __init__(self, engine: Any) -> None:     # the Engine (db, clock)
        self.engine = engine

    def find(self, s: Session, now: datetime) -> dict[tuple[str, str], tuple[str | None, str, int | None]]:
        """{(instance id, cause): (element id, Chinese sentence, outbox id)} of what is stalled now."""
        found: dict[tuple[str, str], tuple[str | None, str, int | None]] = {}
        I = Instance
        idle = (select(I.id).where(
            I.status == InstanceStatus.RUNNING,
            ~exists().where(Task.instance_id == I.id, Task.status == TaskStatus.READY),
            ~exists().where(Job.instance_id == I.id),
            ~exists().where(Subscription.instance_id == I.id),
            ~exists().where(Outbox.instance_id == I.id),
            ~exists().where(Incident.instance_id == I.id, Incident.status == IncidentStatus.OPEN,
                            Incident.kind != IncidentKind.STALL)))
        for iid in s.scalars(idle):
            found[(iid, "stall:idle")] = (None, "案件无法继续流转：没有待办任务、定时器或等待的消息"
                                                 "（流程图可能有走不通的分支）", None)

        member = (select(Membership.user).where(Membership.group == TaskCandidate.name, not_(_disabled(Membership.user)))
                  .exists())
        somebody = exists().where(TaskCandidate.task_id == Task.id, or_(
            and_(TaskCandidate.kind == CandidateKind.USER, not_(_disabled(TaskCandidate.name))),
            and_(TaskCandidate.kind == CandidateKind.GROUP, member)))
        # a task naming nobody waits in the 待分派 queue: a stall only when no active
        # administrator or dispatcher of its region would see it there
        queued = and_(~exists().where(TaskCandidate.task_id == Task.id), self.engine.access.dispatchers_for(Task.region))
        orphans = select(Task.id, Task.instance_id, Task.element_id, Task.name, Task.candidate_groups, Task.assignee).where(
            Task.status == TaskStatus.READY,
            or_(and_(Task.assignee.is_(None), ~somebody, ~queued), and_(Task.assignee.is_not(None), _disabled(Task.assignee))))
        for t in s.execute(orphans):
            if t.assignee:
                why = NOBODY_ASSIGNEE.format(task=t.name, assignee=t.assignee)
            else:
                why = NOBODY_GROUPS.format(task=t.name, groups=t.candidate_groups or "无")
            found[(t.instance_id, f"stall:nobody:{t.id}")] = (t.element_id, f"案件无法继续流转：{why}", None)

        late = select(Outbox.id, Outbox.instance_id, Outbox.element_id, Outbox.name, Outbox.last_error).where(
            Outbox.created_at < now - DELIVERY_STALL)
        for o in s.execute(late):
            found[(o.instance_id, f"stall:delivery:{o.id}")] = (
                o.element_id, f"案件无法继续流转：「{o.name}」投递重试已超过 1 小时（{o.last_error or '原因未知'}）", o.id)
        return found

    def run(self) -> list[int]:
        """Raise an incident (and notify the administrators) for each new stall; resolve the
        stall incidents whose cause has gone. Returns the ids of the new incidents."""
        now = self.engine.clock.now()
        new: list[int] = []
        with self.engine.db.write() as s:
            found = self.find(s, now)
            open_ones = {(i.instance_id, i.topic): i for i in s.scalars(
                select(Incident).where(Incident.kind == IncidentKind.STALL, Incident.status == IncidentStatus.OPEN))}
            for key, inc in open_ones.items():
                if key not in found:
                    inc.status, inc.resolved_at, inc.resolved_by = IncidentStatus.RESOLVED, now, None
            fresh = [k for k in found if k not in open_ones]
            if not fresh:
                return new
            keys = dict(s.execute(select(Instance.id, Instance.business_key).where(Instance.id.in_({k[0] for k in fresh}))).all())
            groups, users = set(), set()
            for k in fresh:
                g, u = named_ids(found[k][1])
                groups.update(g)
                users.update(u)
            # names for the administrators' notification (reads beside this write: engine.storage.db)
            group_names = self.engine.accounts.group_names(groups) if groups else {}
            person_names = self.engine.accounts.person_names(users) if users else {}
            for iid, cause in fresh:
                element, sentence, outbox_id = found[(iid, cause)]
                inc = Incident(instance_id=iid, task_id="", element_id=element, topic=cause, kind=IncidentKind.STALL,
                               error_type="Stalled", message=sentence, status=IncidentStatus.OPEN, created_at=now,
                               retries_left=0, outbox_id=outbox_id)
                s.add(inc)
                s.flush()
                new.append(inc.id)
                s.add(HistoryEvent(instance_id=iid, at=now, type=EventType.INCIDENT, element_id=element,
                                   data={"incident": inc.id, "error": sentence}))
                s.add(Notification(recipient_kind=CandidateKind.GROUP, recipient=ADMIN_GROUP, instance_id=iid,
                                   title=f"案件停滞：{keys.get(iid) or iid}",
                                   body=named(sentence, lambda g: group_names.get(g) or g,
                                              lambda u: person_names.get(u) or u), created_at=now))
        return new
