"""Tasks: the inbox (indexed rows), claim/unclaim, complete with form data."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, cast

from sqlalchemy import (ColumnElement, Subquery, Table, bindparam, exists, func, insert, not_, null, or_, select, union,
                        union_all)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from SpiffWorkflow.util.task import TaskState

from qihu.engine.tasks import forms
from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from qihu.engine.storage.models import (Definition, HistoryEvent, Instance, Membership, Notification, Task, TaskCandidate,
                                        UserAccount)
from qihu.engine.dialect.state import find_task
from qihu.engine.runtime.unit_of_work import InstanceRow
from qihu.engine.types import (CandidateKind, EventType, InboxPage, InboxTask, PriorityBand, SlaColour, TaskDetail,
                               TaskInfo, TaskStatus, UnassignedPage, DispatchTargets, Person)
from qihu.engine.workcalendar import CalendarYearUnknown

if TYPE_CHECKING:   # the types of the engine's parts (TasksEngine); importing them here would loop
    from qihu.engine.clock import Clock
    from qihu.engine.dialect.sandbox import SandboxScriptEngine
    from qihu.engine.identity.access import Access
    from qihu.engine.repository.service import Repository
    from qihu.engine.runtime.service import Runtime
    from qihu.engine.runtime.unit_of_work import UnitOfWork
    from qihu.engine.storage.db import Database
    from qihu.engine.workcalendar import WorkCalendar


_UNREAD = object()    # _authorize: the row carries no user groups or region read with it


class DoneTask(TaskInfo):
    """A task of a page of engine.tasks.done (已办)."""

    business_key: str | None
    late: bool                          # completed after its deadline


class DonePage(TypedDict):
    """engine.tasks.done: one page of what a person handled, newest first, and how many in all."""

    tasks: list[DoneTask]
    total: int


def task_dict(r: Task) -> TaskInfo:
    return {"id": r.id, "instance_id": r.instance_id, "definition_key": r.definition_key,
            "element_id": r.element_id, "name": r.name, "lane": r.lane, "region": r.region,
            "candidate_groups": r.candidate_groups.split(",") if r.candidate_groups else [],
            "candidate_users": r.candidate_users.split(",") if r.candidate_users else [],
            "assignee": r.assignee, "due_at": r.due_at.isoformat() if r.due_at else None,
            "due_provisional": bool(r.due_provisional),
            "priority": r.priority, "sla_colour": SlaColour(r.sla_colour) if r.sla_colour else None,
            "status": TaskStatus(r.status),
            "created_at": r.created_at.isoformat(),
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            "completed_by": r.completed_by}


def _inbox_tasks(service: "TaskService", rows: Any, now: datetime) -> list[InboxTask]:
    """Inbox entries of (task row, business key) pairs: the task with its band and working days left."""
    tasks: list[InboxTask] = []
    for r, business_key in rows:
        d = cast(InboxTask, task_dict(r))
        d["business_key"] = business_key
        d["priority_band"] = priority_band(r.priority)
        d["workdays_left"] = service.workdays_left(r.due_at, now, r.region)
        tasks.append(d)
    return tasks


def priority_band(priority: int) -> PriorityBand:
    """The PRIORITIES key a priority falls in."""
    for band, (low, high) in PRIORITIES.items():
        if (low is None or priority >= low) and (high is None or priority <= high):
            return band
    return PriorityBand.NORMAL


def add_memberships(session: Session, user: str, groups: Iterable[str]) -> None:
    """Put `user` in `groups` (those they are not in yet), inside the caller's transaction."""
    have = set(session.scalars(select(Membership.group).where(Membership.user == user)))
    session.add_all(Membership(user=user, group=g) for g in dict.fromkeys(groups) if g not in have)


def _region_allows(task_region: str | None, user_region: str | None) -> bool:
    """The region rule: region-less work is anyone's; staff bound to a region (user_region)
    work on that region's tasks only; unbound staff on every region's."""
    return not task_region or not user_region or task_region == user_region


_T = cast(Table, Task.__table__)
_I = cast(Table, Instance.__table__)
_OPEN_COLS = (_T.c.id, _T.c.instance_id, _T.c.status, _T.c.assignee, _T.c.candidate_groups, _T.c.candidate_users,
              _T.c.element_id, _T.c.completed_by, _T.c.region, _T.c.version)
_INSTANCE_COLS = ("id", "definition_id", "definition_key", "business_key", "region", "status", "version", "started_at")
_OPEN_STEP: dict[str, Any] = {}     # dialect name -> the completion's one read (see _open_step)


def _open_step(dialect: str) -> Any:
    """A completion's one read: the task row, its instance's row, the user's groups and region
    (instead of four queries; the groups come as an array on PostgreSQL, JSON text on SQLite)."""
    stmt = _OPEN_STEP.get(dialect)
    if stmt is None:
        M = Membership
        agg = func.array_agg(M.group) if dialect == "postgresql" else func.json_group_array(M.group)
        groups = select(agg).where(M.user == bindparam("user")).scalar_subquery()
        from qihu.engine.identity.access import Access
        stmt = _OPEN_STEP[dialect] = (
            select(*_OPEN_COLS, *(_I.c[c].label(f"i_{c}") for c in _INSTANCE_COLS), groups.label("user_groups"),
                   Access.user_region_column(bindparam("user")).label("user_region"))
            .select_from(_T.join(_I, _I.c.id == _T.c.instance_id)).where(_T.c.id == bindparam("tid")))
    return stmt


def _groups_read(value: Any) -> set[str]:
    if value is None:
        return set()
    return set(json.loads(value) if isinstance(value, str) else value)

COLOURS: tuple[str, ...] = tuple(c.value for c in SlaColour)     # blue, green, yellow, orange, red
# Camunda's default is 50
PRIORITIES: dict[PriorityBand, tuple[int | None, int | None]] = {
    PriorityBand.HIGH: (70, None), PriorityBand.NORMAL: (30, 69), PriorityBand.LOW: (None, 29)}

ORDERS = {
    "due": (Task.due_at.is_(None), Task.due_at, Task.created_at),
    "priority": (Task.priority.desc(), Task.created_at),
    "created": (Task.created_at,),
    "-created": (Task.created_at.desc(),),
}


class _Unindexed:
    """The columns of the inbox subquery as `+column` (SQLite's no-op that forbids an index).

    SQLite pushes the inbox filters down into each branch of the visible-tasks UNION, and in
    the branch of the user's own tasks (read from the task table) it would then seek the
    index of the filter — every red task, done ones included — instead of ix_task_inbox.
    """

    def __init__(self, columns: Any) -> None:
        self.columns = columns

    def __getattr__(self, name: str) -> Any:
        col = getattr(self.columns, name)
        return UnaryExpression(col, operator=custom_op("+"), type_=col.type)


def _order(c: Any, order: str) -> tuple[Any, ...]:
    """ORDERS[order] on the columns `c` of a subquery (inbox rows), ending with the id."""
    return {"due": (c.due_at.is_(None), c.due_at, c.created_at), "priority": (c.priority.desc(), c.created_at),
            "created": (c.created_at,), "-created": (c.created_at.desc(),)}[order] + (c.id,)


# Inside TaskService `list` names its method, so its annotations use these.
_Conditions = list[ColumnElement[bool]]
_Names = list[str]
_People = list[Person]


class TasksEngine(Protocol):
    """What the task service uses of the engine it belongs to (qihu.engine.Engine is one)."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def calendar(self) -> WorkCalendar: ...

    @property
    def access(self) -> Access: ...

    @property
    def repository(self) -> Repository: ...

    @property
    def runtime(self) -> Runtime: ...

    @property
    def script_engine(self) -> SandboxScriptEngine: ...

    def db_get_definition(self, definition_id: int) -> Definition: ...

    def db_get_definition_by_instance(self, instance_id: str) -> Definition: ...


class TaskService:
    def __init__(self, engine: TasksEngine) -> None:
        self.engine = engine

    # -- identity (users and groups) -------------------------------------------------------
    def groups_of(self, user: str) -> list[str]:
        with self.engine.db.read() as s:
            return sorted(s.scalars(select(Membership.group).where(Membership.user == user)))

    def add_member(self, user: str, *groups: str) -> None:
        with self.engine.db.write() as s:
            add_memberships(s, user, groups)

    # -- queries ---------------------------------------------------------------------------
    def _visible(self, user: str, groups: Iterable[str], status: TaskStatus | str | None = TaskStatus.READY,
                 text: bool = False) -> Subquery:
        """Subquery of the tasks `user` may see (with that status; None: any), one row per task
        with the inbox columns: offered to them or one of their groups and claimed by nobody,
        or assigned to them. The offered part reads ix_task_candidate_inbox alone (task_candidate
        carries a copy of the task's inbox columns, see models.TaskCandidate), so it costs what
        the user's inbox holds, not what the task table holds. text: with the task name and the
        business key too (their first 100 characters; only the text filter reads them)."""
        TC = TaskCandidate
        cols = (TC.task_id.label("id"), TC.status, TC.assignee, TC.sla_colour, TC.due_at, TC.priority, TC.region,
                TC.definition_key, TC.created_at) + ((TC.task_name.label("name"), TC.business_key) if text else ())
        whos: list[tuple[ColumnElement[bool], ...]] = [(TC.kind == CandidateKind.USER, TC.name == user)]
        if groups:
            whos.insert(0, (TC.kind == CandidateKind.GROUP, TC.name.in_(sorted(groups))))

        def offered(who: tuple[ColumnElement[bool], ...], single: bool) -> Any:
            q = select(*cols).where(*who, TC.assignee.is_(None), TC.candidates == 1 if single else TC.candidates > 1)
            return q.where(TC.status == status) if status else q

        # A task with one candidate row comes once; one offered to several names (two of the
        # user's groups, or the user and a group) may come more than once: only those are
        # de-duplicated, because a UNION over the whole inbox costs more than everything else.
        several = [offered(w, False) for w in whos]
        shared = union(*several).subquery("shared") if len(several) > 1 else several[0].distinct().subquery("shared")
        mine: Any = select(Task.id, Task.status, Task.assignee, Task.sla_colour, Task.due_at, Task.priority, Task.region,
                      Task.definition_key, Task.created_at).where(Task.assignee == user)
        if text:
            mine = mine.add_columns(func.substr(Task.name, 1, 100), func.substr(Instance.business_key, 1, 100)) \
                .join(Instance, Instance.id == Task.instance_id)
        if status:
            mine = mine.where(Task.status == status)
        return union_all(*(offered(w, True) for w in whos), select(*shared.c), mine).subquery("visible")

    def list(self, user: str | None = None, groups: Iterable[str] | None = None,
             status: TaskStatus | str | None = TaskStatus.READY, definition_key: str | None = None,
             instance_id: str | None = None, order: str = "due", limit: int = 50, offset: int = 0,
             region: str | None = None) -> list[TaskInfo]:
        """Tasks for a user (assigned to them, or unassigned for their groups), or all."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        with self.engine.db.read() as s:
            q = select(Task)
            if status:
                q = q.where(Task.status == status)
            if user is not None:
                if groups is None:
                    groups = list(s.scalars(select(Membership.group).where(Membership.user == user)))
                q = q.where(Task.id.in_(select(self._visible(user, groups, status).c.id)))
                mine = self.engine.access.user_region(user, s)
                if mine:
                    q = q.where(or_(Task.region == mine, Task.region.is_(None)))
            if definition_key:
                q = q.where(Task.definition_key == definition_key)
            if instance_id:
                q = q.where(Task.instance_id == instance_id)
            if region:
                q = q.where(Task.region == region)
            rows = s.scalars(q.order_by(*ORDERS[order], Task.id).limit(limit).offset(offset)).all()
            return [task_dict(r) for r in rows]

    def inbox(self, user: str, definition_key: str | None = None, colour: str | None = None, overdue: bool = False,
              priority: str | None = None, text: str | None = None, order: str = "due", limit: int = 20,
              offset: int = 0, region: str | None = None) -> InboxPage:
        """One page of a user's open tasks (theirs, and their groups' unclaimed ones) with filters,
        the number of matches, counts per SLA colour under the same filters but the colour, and
        counts per region under the same filters but the region.

        colour: one of COLOURS, or "none" (no due date); priority: a key of PRIORITIES;
        region: exact; text: part of the task name or of the instance's business key (of their
        first 100 characters, which is what task_candidate keeps of them). One query
        over the user's visible rows (see _visible) for the counts and the page, one for the
        page's task rows; rows carry the business key and the working days left. limit=0:
        counts only.
        """
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        if colour not in (None, "none", *COLOURS):
            raise ValueError(f"colour must be one of none, {', '.join(COLOURS)}")
        if priority not in (None, *PRIORITIES):
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}")
        now = self.engine.clock.now()
        with self.engine.db.read() as s:
            groups = list(s.scalars(select(Membership.group).where(Membership.user == user)))
            text = text.strip() if text else None
            v = self._visible(user, groups, text=bool(text))
            col = _Unindexed(v.c) if self.engine.db.is_sqlite else v.c
            where: list[ColumnElement[bool]] = []
            mine = self.engine.access.user_region(user, s)
            if mine:    # staff of a region: that region's tasks, and region-less ones
                where.append(or_(col.region == mine, col.region.is_(None)))
            if definition_key:
                where.append(col.definition_key == definition_key)
            if overdue:
                where.append(col.due_at < now)
            if priority:
                low, high = PRIORITIES[PriorityBand(priority)]
                where += [col.priority >= low] if low is not None else []
                where += [col.priority <= high] if high is not None else []
            if text:
                pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                where.append(or_(col.name.ilike(pattern, escape="\\"), col.business_key.ilike(pattern, escape="\\")))
            # One statement, one pass over the user's rows (materialised once): the colour x
            # region grid under the other filters, and the page's ids with their position.
            w = select(v.c.id, v.c.sla_colour, v.c.region, v.c.due_at, v.c.priority, v.c.created_at) \
                .where(*where).cte("inbox_rows").prefix_with("MATERIALIZED")
            stmt: Any = select(w.c.sla_colour, w.c.region, func.count(), null().label("id"), null().label("pos")) \
                .group_by(w.c.sla_colour, w.c.region)
            if limit:
                facets = []
                if region:
                    facets.append(w.c.region == region)
                if colour:
                    facets.append(w.c.sla_colour.is_(None) if colour == "none" else w.c.sla_colour == colour)
                shown = select(w.c.id, w.c.due_at, w.c.priority, w.c.created_at).where(*facets) \
                    .order_by(*_order(w.c, order)).limit(limit).offset(offset).subquery("shown")
                # the page's order, kept through the UNION by numbering its (few) rows
                stmt = union_all(stmt, select(null(), null(), null(), shown.c.id,
                                              func.row_number().over(order_by=_order(shown.c, order))))
            counts: dict[str, int] = {}
            regions: dict[str, int] = {}
            page: list[tuple[int, str]] = []
            for c, r, n, tid, pos in s.execute(stmt).all():
                if tid is not None:
                    page.append((pos, tid))
                    continue
                if not region or r == region:
                    counts[c or "none"] = counts.get(c or "none", 0) + n
                if r and (not colour or (c or "none") == colour):
                    regions[r] = regions.get(r, 0) + n
            total = counts.get(colour, 0) if colour else sum(counts.values())
            ids = [tid for _, tid in sorted(page)]
            rows: list[Any] = []
            if ids:
                found = {r.id: (r, b) for r, b in s.execute(
                    select(Task, Instance.business_key).join(Instance, Instance.id == Task.instance_id)
                    .where(Task.id.in_(ids))).all()}
                rows = [found[i] for i in ids if i in found]
        tasks = _inbox_tasks(self, rows, now)
        return {"tasks": tasks, "total": total, "counts": counts, "groups": sorted(groups),
                "regions": dict(sorted(regions.items()))}

    def done(self, user: str, limit: int = 20, offset: int = 0, definition_key: str | None = None) -> DonePage:
        """One page of the tasks `user` handled (completed or returned: 已办), newest first, with
        their business keys and how many in all. Reads ix_task_done (completed_by, completed_at)."""
        where: _Conditions = [Task.completed_by == user,
                              Task.status.in_([TaskStatus.COMPLETED, TaskStatus.RETURNED])]
        if definition_key:
            where.append(Task.definition_key == definition_key)
        with self.engine.db.read() as s:
            total = s.scalar(select(func.count()).select_from(Task).where(*where)) or 0
            rows = s.execute(select(Task, Instance.business_key).join(Instance, Instance.id == Task.instance_id)
                             .where(*where).order_by(Task.completed_at.desc(), Task.id.desc())
                             .limit(limit).offset(offset)).all() if limit else []
        tasks = []
        for r, business_key in rows:
            d = cast(DoneTask, task_dict(r))
            d["business_key"] = business_key
            d["late"] = bool(r.due_at and r.completed_at and r.completed_at > r.due_at)
            tasks.append(d)
        return {"tasks": tasks, "total": total}

    def workdays_left(self, due_at: datetime | str | None, now: datetime | None = None,
                      region: str | None = None) -> float | None:
        """Working days from now to the deadline (negative once overdue) on the calendar of the
        task's region, None without one or when the calendar of a year on the way is not
        loaded yet."""
        if due_at is None:
            return None
        now = now or self.engine.clock.now()
        if isinstance(due_at, str):
            due_at = datetime.fromisoformat(due_at)
        try:
            if due_at >= now:
                return self.engine.calendar.workdays_between(now, due_at, region or "")
            return -self.engine.calendar.workdays_between(due_at, now, region or "")
        except CalendarYearUnknown:
            return None

    def visible_get(self, task_id: str, user: str) -> TaskDetail:
        """The task (with its form) when `user` may see it: assigned to them, or a candidate by
        name or group (a colleague's claimed task is shown, not actionable). Forbidden otherwise."""
        d = self.get(task_id)
        if d["assignee"] == user:
            return d
        if self._offered_to(d, user, set(self.groups_of(user))):
            self._check_region(SimpleNamespace(id=task_id, region=d["region"]), user)
            return d
        raise Forbidden(f"{user} may not see task {task_id}")

    def openable(self, tasks: Iterable[Mapping[str, Any]], user: str | None) -> set[str]:
        """The ids of `tasks` (task dicts) whose page visible_get would open for `user`: the
        same rule, with one read of the user's groups and region for them all."""
        if not user:
            return set()
        groups, region = set(self.groups_of(user)), self.engine.access.user_region(user)
        return {t["id"] for t in tasks
                if t["assignee"] == user
                or (self._offered_to(t, user, groups) and _region_allows(t["region"], region))}

    @staticmethod
    def _offered_to(task: Mapping[str, Any], user: str, groups: set[str]) -> bool:
        return user in task["candidate_users"] or bool(groups & set(task["candidate_groups"]))

    def resolve(self, ref: str) -> str:
        """A task id, or `BUSINESS_KEY/ELEMENT_ID`: the one ready task of that element in the
        running instances with that business key (how people name a step on the command line)."""
        if "/" not in ref:
            return ref
        bkey, _, element = ref.rpartition("/")
        with self.engine.db.read() as s:
            rows = s.execute(select(Task.id, Task.definition_key).join(Instance, Instance.id == Task.instance_id)
                             .where(Instance.business_key == bkey, Task.element_id == element,
                                    Task.status == TaskStatus.READY)).all()
            if not rows:
                open_here = s.scalars(select(Task.element_id).join(Instance, Instance.id == Task.instance_id)
                                      .where(Instance.business_key == bkey, Task.status == TaskStatus.READY)).all()
        if not rows:
            hint = f"; its open tasks: {', '.join(sorted(open_here))}" if open_here else ""
            raise NotFound(f"no open task {element} for business key {bkey}{hint}")
        if len(rows) > 1:
            raise Conflict(f"{len(rows)} open tasks {element} for business key {bkey} "
                           f"({', '.join(sorted(r.definition_key for r in rows))}): give the task id")
        task_id: str = rows[0].id
        return task_id

    def get(self, task_id: str) -> TaskDetail:
        with self.engine.db.read() as s:
            r = s.get(Task, task_id)
            if r is None:
                raise NotFound(f"no task {task_id}")
            d = cast(TaskDetail, task_dict(r))
        d["form"] = forms.describe(self._form(r))
        return d

    def _spec(self, row: Any) -> Any:
        return self._spec_in(self.engine.db_get_definition_by_instance(row.instance_id), row.element_id)

    def _spec_in(self, definition: Definition, element_id: str) -> Any:
        info = self.engine.repository.process(definition)
        for spec in [info.spec, *info.subprocess_specs.values()]:
            ts = spec.task_specs.get(element_id)
            if ts is not None:
                return ts
        raise NotFound(f"element {element_id} is not in definition {definition.key} v{definition.version}")

    def _form(self, row: Any) -> Any:
        return getattr(self._spec(row), "form", None)

    def _authorize(self, row: Any, user: str, check: bool, session: Session | None = None) -> None:
        """Refuse (Forbidden) unless `user` may act on the open task `row`. A row read with the
        user's groups and region (`user_groups`, `user_region`: _open_step) has them read already."""
        if not check:
            return
        if row.assignee and row.assignee != user:
            raise Forbidden(f"task {row.id} is assigned to {row.assignee}, not {user}")
        if row.assignee == user:
            return
        groups = getattr(row, "user_groups", _UNREAD)
        if groups is not _UNREAD:
            groups = _groups_read(groups)
        elif session is not None:
            groups = set(session.scalars(select(Membership.group).where(Membership.user == user)))
        else:
            groups = set(self.groups_of(user))
        cands = set((row.candidate_groups or "").split(",")) - {""}
        users = set((row.candidate_users or "").split(",")) - {""}
        if not (groups & cands or user in users):
            raise Forbidden(f"{user} is not a candidate for task {row.id} "
                            f"(groups: {', '.join(sorted(cands)) or '-'}; users: {', '.join(sorted(users)) or '-'})")
        self._check_region(row, user, session)

    def _check_region(self, row: Any, user: str, session: Session | None = None) -> None:
        """Staff bound to a region act on that region's tasks (and region-less ones) only, even
        when a group of theirs is a candidate: the same groups serve every county's variant."""
        if not row.region:
            return          # region-less work: anyone's (and no account read on the hot path)
        read: Any = getattr(row, "user_region", _UNREAD)
        mine: str | None = self.engine.access.user_region(user, session) if read is _UNREAD else (read or None)
        if not _region_allows(row.region, mine):
            raise Forbidden(f"任务 {row.id} 属于 {row.region}，{user} 只办理 {mine} 的事项 "
                            f"({user} works for {mine}; task {row.id} belongs to {row.region})")

    def _open_row(self, s: Session, task_id: str) -> Task:
        r = s.get(Task, task_id)
        if r is None:
            raise NotFound(f"no task {task_id}")
        if r.status != TaskStatus.READY:
            who = f" by {r.completed_by}" if r.completed_by else ""
            raise InvalidState(f"task {task_id} is already {r.status}{who}")
        return r

    # -- claim -----------------------------------------------------------------------------
    def claim(self, task_id: str, user: str, check: bool = True) -> None:
        try:
            with self.engine.db.write() as s:
                r = self._open_row(s, task_id)
                if r.assignee and r.assignee != user:
                    raise Conflict(f"task {task_id} is already claimed by {r.assignee}")
                self._authorize(r, user, check)
                r.assignee = user
                s.add(self._event(r, EventType.TASK_CLAIMED, user))
        except StaleDataError:
            raise Conflict(f"task {task_id} was changed by someone else at the same time") from None

    def unclaim(self, task_id: str, user: str, check: bool = True) -> None:
        try:
            with self.engine.db.write() as s:
                r = self._open_row(s, task_id)
                if check and r.assignee != user:
                    raise Forbidden(f"task {task_id} is not claimed by {user}")
                r.assignee = None
                s.add(self._event(r, EventType.TASK_UNCLAIMED, user))
        except StaleDataError:
            raise Conflict(f"task {task_id} was changed by someone else at the same time") from None

    def _event(self, r: Task, type_: str, user: str, data: Any = None) -> HistoryEvent:
        return HistoryEvent(instance_id=r.instance_id, at=self.engine.clock.now(), type=type_,
                            element_id=r.element_id, task_id=r.id, user=user, data=data)

    # -- the 待分派 queue: user tasks that name nobody ----------------------------------------
    @staticmethod
    def _unassigned_where() -> _Conditions:
        """An open task with no assignee and no candidate row: a user task that names nobody
        (or whose candidate expressions gave nobody at run time). Reads ix_task_inbox (status,
        assignee) and the candidate table's primary key."""
        return [Task.status == TaskStatus.READY, Task.assignee.is_(None),
                ~exists().where(TaskCandidate.task_id == Task.id)]

    def unassigned(self, user: str | None, definition_key: str | None = None, region: str | None = None,
                   order: str = "due", limit: int = 50, offset: int = 0, check: bool = True) -> UnassignedPage:
        """One page of the 待分派 queue as `user` may dispatch it: every region's for an
        administrator or dispatcher bound to none, their region's (and region-less) tasks for
        one bound to a region; Forbidden for anyone else (check=False: all of it, for the
        command line's operator). limit=0: the count only."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")
        now = self.engine.clock.now()
        with self.engine.db.read() as s:
            scope = self.engine.access.dispatch_scope(user, s) if check else None
            if scope is False:
                raise Forbidden(f"仅管理员和分派员可以查看待分派任务 ({user or 'anonymous'} may not see the "
                                "unassigned queue: administrators and dispatchers only)")
            where = self._unassigned_where() + ([scope] if scope is not None else [])
            if definition_key:
                where.append(Task.definition_key == definition_key)
            if region:
                where.append(Task.region == region)
            total = s.scalar(select(func.count()).select_from(Task).where(*where)) or 0
            rows = s.execute(select(Task, Instance.business_key).join(Instance, Instance.id == Task.instance_id)
                             .where(*where).order_by(*ORDERS[order], Task.id).limit(limit).offset(offset)).all() \
                if limit else []
        tasks = _inbox_tasks(self, rows, now)
        return {"tasks": tasks, "total": total}

    def unassigned_count(self, user: str | None) -> int:
        """How many tasks wait in the 待分派 queue for `user` (0 for anyone who may not dispatch):
        the header's badge."""
        if not user:
            return 0
        with self.engine.db.read() as s:
            scope = self.engine.access.dispatch_scope(user, s)
            if scope is False:
                return 0
            where = self._unassigned_where() + ([scope] if scope is not None else [])
            return s.scalar(select(func.count()).select_from(Task).where(*where)) or 0

    def _dispatchable(self, s: Session, task_id: str, user: str, check: bool) -> Task:
        """The open task row when `user` may dispatch it and it is still in the queue."""
        r = self._open_row(s, task_id)
        if check:
            self.engine.access.require_dispatch(user, r.region, s)
        offered = s.scalars(select(TaskCandidate.kind + ":" + TaskCandidate.name)
                            .where(TaskCandidate.task_id == r.id)).all()
        if r.assignee or offered:
            who = r.assignee or ", ".join(sorted(offered))
            raise Conflict(f"任务 {task_id} 已分派（{who}），不在待分派队列中 "
                           f"(task {task_id} is already assigned or offered: {who})")
        return r

    @staticmethod
    def _names_arg(values: Iterable[str] | str | None, field: str, what: str) -> _Names:
        """Names of people or groups as given (a list, or comma-separated text), stripped and
        without repeats; ValidationFailed for one that cannot be a name."""
        if values is None:
            return []
        if isinstance(values, str):
            values = values.split(",")
        out: _Names = []
        for v in values:
            if not isinstance(v, str):
                raise ValidationFailed(f"{what}须为文本 ({field} must be text)", {field: f"{what}须为文本"})
            name = v.strip()
            if not name:
                continue
            if len(name) > 100 or "," in name:
                raise ValidationFailed(f"{what} {name[:20]!r} 无效 (invalid {field}: at most 100 characters, "
                                       "no commas)", {field: f"{what}无效"})
            if name not in out:
                out.append(name)
        return out

    @staticmethod
    def _active_person(s: Session, name: str) -> str | None:
        """The region (or '') of an active person: an active account, or a name with groups (host
        apps without qihu accounts); None for nobody one could give work to."""
        account = s.execute(select(UserAccount.is_active, UserAccount.is_admin, UserAccount.region)
                            .where(UserAccount.name == name)).first()
        if account is not None:
            return None if not account.is_active else ("" if account.is_admin else account.region or "")
        known = s.scalar(select(Membership.user).where(Membership.user == name).limit(1)) is not None
        return "" if known else None

    def _check_people(self, s: Session, names: _Names, region: str | None, field: str) -> None:
        for name in names:
            theirs = self._active_person(s, name)
            if theirs is None:
                raise ValidationFailed(f"没有在职用户 {name} (no active user {name})", {field: f"没有在职用户 {name}"})
            if not _region_allows(region, theirs or None):
                raise ValidationFailed(f"{name} 只办理 {theirs} 的事项，该任务属于 {region} "
                                       f"({name} works for {theirs}; the task belongs to {region})",
                                       {field: f"{name} 只办理 {theirs} 的事项"})

    def assign(self, task_id: str, user: str, to_user: str, note: str | None = None, check: bool = True) -> None:
        """Give a task of the 待分派 queue to one person (its assignee), as Camunda's
        setAssignee: an administrator or dispatcher of its region does it (check=False: the
        command line's operator), the person must be active and work for the task's region.
        Audited as task_assigned {to, note, by}; the person gets a notification. Conflict when the
        task left the queue meanwhile (assigned or offered by someone else)."""
        to = self._names_arg([to_user] if isinstance(to_user, str) else to_user, "to_user", "指派对象")
        if len(to) != 1:
            raise ValidationFailed("请填写一位指派对象 (to_user: one person is required)", {"to_user": "请填写一位指派对象"})
        note = self._note_arg(note)
        try:
            with self.engine.db.write() as s:
                r = self._dispatchable(s, task_id, user, check)
                self._check_people(s, to, r.region, "to_user")
                r.assignee = to[0]
                now = self.engine.clock.now()
                s.add(self._event(r, EventType.TASK_ASSIGNED, user, {"to": to[0], "note": note, "by": user}))
                s.add(Notification(recipient_kind=CandidateKind.USER, recipient=to[0], instance_id=r.instance_id,
                                   task_id=r.id, title=f"分派任务：{r.name or r.element_id}",
                                   body=f"{user} 将任务指派给您" + (f"：{note}" if note else ""), created_at=now))
        except StaleDataError:
            raise Conflict(f"task {task_id} was changed by someone else at the same time") from None

    def offer(self, task_id: str, user: str, groups: Iterable[str] | str | None = None,
              users: Iterable[str] | str | None = None, note: str | None = None, check: bool = True) -> None:
        """Offer a task of the 待分派 queue to candidate groups and/or users (Camunda's
        addCandidateGroup/-User): it then comes into their inboxes to be claimed. Who may: as
        assign. Each group must have an active member and each user be active and of the task's
        region, so the task never waits where nobody sees it. Audited as task_offered
        {groups, users, note, by}; the groups and users get a notification."""
        gs = self._names_arg(groups, "groups", "候选组")
        us = self._names_arg(users, "users", "候选人")
        if not gs and not us:
            raise ValidationFailed("请至少填写一个候选组或候选人 (name at least one candidate group or user)",
                                   {"groups": "请至少填写一个候选组或候选人"})
        if len(",".join(gs)) > 1000 or len(",".join(us)) > 1000:
            raise ValidationFailed("候选组或候选人过多 (too many candidates)", {"groups": "候选组或候选人过多"})
        note = self._note_arg(note)
        try:
            with self.engine.db.write() as s:
                r = self._dispatchable(s, task_id, user, check)
                for g in gs:
                    staffed = s.scalar(select(Membership.user).where(
                        Membership.group == g,
                        not_(exists().where(UserAccount.name == Membership.user, UserAccount.is_active.is_(False))))
                        .limit(1))
                    if staffed is None:
                        raise ValidationFailed(f"候选组 {g} 没有在岗成员 (group {g} has no active member)",
                                               {"groups": f"候选组 {g} 没有在岗成员"})
                self._check_people(s, us, r.region, "users")
                # the task row first: the candidate rows copy it (and count its names) as they are inserted
                r.candidate_groups, r.candidate_users = ",".join(gs) or None, ",".join(us) or None
                s.flush()
                s.execute(insert(cast(Table, TaskCandidate.__table__)),
                          [{"task_id": r.id, "kind": CandidateKind.GROUP, "name": g} for g in gs]
                          + [{"task_id": r.id, "kind": CandidateKind.USER, "name": u} for u in us])
                now = self.engine.clock.now()
                s.add(self._event(r, EventType.TASK_OFFERED, user, {"groups": gs, "users": us, "note": note, "by": user}))
                title, body = f"分派任务：{r.name or r.element_id}", f"{user} 将任务分派给您" + (f"：{note}" if note else "")
                s.add_all([Notification(recipient_kind=CandidateKind.GROUP, recipient=g, instance_id=r.instance_id,
                                        task_id=r.id, title=title, body=body, created_at=now) for g in gs]
                          + [Notification(recipient_kind=CandidateKind.USER, recipient=u, instance_id=r.instance_id,
                                          task_id=r.id, title=title, body=body, created_at=now) for u in us])
        except StaleDataError:
            raise Conflict(f"task {task_id} was changed by someone else at the same time") from None

    def dispatch_targets(self, region: str | None, limit: int = 500) -> DispatchTargets:
        """Whom a task of `region` may be given to (what the 待分派 page offers to choose from):
        active people who work for that region (accounts of it or of none, and names known only
        by their groups) and the groups that have an active member; sorted, at most `limit` each."""
        with self.engine.db.read() as s:
            accounts = s.execute(select(UserAccount.name, UserAccount.display_name, UserAccount.is_admin,
                                        UserAccount.region).where(UserAccount.is_active.is_(True))
                                 .order_by(UserAccount.name).limit(limit)).all()
            inactive = select(UserAccount.name).where(UserAccount.is_active.is_(False))
            groups = s.scalars(select(Membership.group).where(Membership.user.not_in(inactive)).distinct()
                               .order_by(Membership.group).limit(limit)).all()
            bare = s.scalars(select(Membership.user).where(Membership.user.not_in(select(UserAccount.name)))
                             .distinct().order_by(Membership.user).limit(limit)).all()
        people: _People = [{"name": a.name, "display_name": a.display_name or a.name} for a in accounts
                           if a.is_admin or _region_allows(region, a.region)]
        people += [{"name": n, "display_name": n} for n in bare]
        return {"users": sorted(people, key=lambda p: p["name"])[:limit], "groups": list(groups)}

    @staticmethod
    def _note_arg(note: str | None) -> str | None:
        if note is None:
            return None
        if not isinstance(note, str):
            raise ValidationFailed("分派说明须为文本 (note must be text)", {"note": "分派说明须为文本"})
        note = note.strip()
        if len(note) > 500:
            raise ValidationFailed("分派说明不能超过 500 个字 (note is longer than 500 characters)",
                                   {"note": "分派说明不能超过 500 个字"})
        return note or None

    # -- complete --------------------------------------------------------------------------
    def complete(self, task_id: str, user: str, data: Mapping[str, Any] | None = None, check: bool = True) -> None:
        """Complete a READY user task with form data; the instance runs on until it waits.

        One transaction: the task row is read, the user authorised, the form validated and
        the instance advanced together.
        """
        found: dict[str, Any] = {}

        def locate(s: Session) -> InstanceRow:
            conn = s.connection()
            r = conn.execute(_open_step(conn.dialect.name), {"tid": task_id, "user": user}).first()
            if r is None:
                raise NotFound(f"no task {task_id}")
            if r.status != TaskStatus.READY:
                who = f" by {r.completed_by}" if r.completed_by else ""
                raise InvalidState(f"task {task_id} is already {r.status}{who}")
            if check:
                self._authorize(r, user, check, session=s)     # with the groups and region read with it
            found["row"] = r
            return InstanceRow(**{c: getattr(r, f"i_{c}") for c in _INSTANCE_COLS})

        def run(ctx: UnitOfWork) -> None:
            r = found["row"]
            spec = self._spec_in(self.engine.db_get_definition(ctx.instance.definition_id), r.element_id)
            t = find_task(ctx.workflow, task_id)
            cleaned = forms.validate(getattr(spec, "form", None), data, existing=t.data if t is not None else None)
            if t is None or t.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer ready")
            # Written with the step's other rows, only as the row was when the user was authorised
            # (its version): a claim, 转办 or completion that committed in between makes it touch
            # no row, and the step is refused (Conflict) and rolled back.
            ctx.writes.update(_T, ("id", "status", "version"), [{
                "k_id": task_id, "k_status": TaskStatus.READY, "k_version": r.version,
                "status": TaskStatus.COMPLETED, "completed_by": user, "completed_at": ctx.now, "assignee": user}],
                add=("version",), keep=("assignee",), expect=(1, lambda: Conflict(
                    f"任务 {task_id} 刚被他人认领、转办或办理，请刷新后重试 "
                    f"(task {task_id} was claimed, reassigned or completed by someone else meanwhile)")))
            ctx.done_rows[task_id] = TaskStatus.COMPLETED
            t.data.update(cleaned)
            se = self.engine.script_engine
            for n, p in getattr(spec, "out_params", []) or []:
                t.data[n] = p.evaluate(se, dict(t.data))
            t.run()
            ctx.log(EventType.TASK_COMPLETED, r.element_id, task_id, data=cleaned, user=user)
        self.engine.runtime.transaction(locate, run, user=user)
