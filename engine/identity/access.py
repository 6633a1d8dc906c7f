"""Who may see and do what, beyond a task's own candidates (engine.tasks checks those).

- An administrator (an active account with is_admin, or a member of the group ADMIN_GROUP,
  for host apps without qihu accounts) may do everything: deploy, cancel, see every instance.
  A disabled account is never an administrator, whatever its groups.
- Anyone else sees an instance they take part in: they started it, or one of its tasks
  (open or done) was theirs, offered to them, or offered to one of their groups. Members of
  a region-wide reading group (`Access.region_readers`, which a domain fills: the appeal
  domain adds its leaders' and supervisors' group) see every instance of their region.
- A process declares who may start it with camunda:candidateStarterGroups/-Users; one
  that declares nobody may be started by any signed-in user.

- The 待分派 queue (user tasks that name nobody) is for administrators and members of the
  dispatcher group (Settings.dispatcher_group, QIHU_DISPATCHER_GROUP, default "dispatcher"):
  they assign or offer its tasks, within their region as everywhere else.

- Staff whose account names a region (UserAccount.region, e.g. 湖州市) see and act on that
  region's work only (and region-less work): the same candidate groups serve every
  county's variant of a process, so groups alone do not keep counties apart. An account
  without a region, and an administrator, sees every region.

Refusals are Forbidden with a Chinese message and the English one in brackets.
"""
from sqlalchemy import and_, case, exists, false, func, or_, select, true

from qihu.engine.errors import Forbidden
from qihu.engine.storage.models import Incident, Instance, Membership, Task, TaskCandidate, UserAccount
from qihu.engine.types import CandidateKind, IncidentStatus

ADMIN_GROUP = "admin"


def admin_rule(account, in_admin_group):
    """The administrator rule: a disabled account never; an account marked is_admin; else
    membership of ADMIN_GROUP (`in_admin_group()`, asked only then)."""
    if account is not None and not account.is_active:
        return False
    return bool(account is not None and account.is_admin) or in_admin_group()


class Access:
    def __init__(self, engine):
        self.engine = engine
        # groups whose members read every instance of their region (leaders, supervisors)
        self.region_readers: set[str] = set()

    def groups(self, session, user):
        return set(session.scalars(select(Membership.group).where(Membership.user == user)))

    def is_admin(self, user):
        if not user:
            return False
        with self.engine.db.read() as s:
            return self._is_admin(s, user)

    def _is_admin(self, s, user):
        account = s.execute(select(UserAccount.is_admin, UserAccount.is_active)
                            .where(UserAccount.name == user)).first()
        return admin_rule(account, lambda: s.scalar(select(Membership.user).where(
            Membership.user == user, Membership.group == ADMIN_GROUP)) is not None)

    def user_region(self, user, session=None):
        """The region an account is bound to (None: every region; administrators are never bound)."""
        if not user:
            return None
        if session is None:
            with self.engine.db.read() as s:
                return self.user_region(user, s)
        row = session.execute(select(UserAccount.region, UserAccount.is_admin)
                              .where(UserAccount.name == user)).first()
        if row is None or row.is_admin or not row.region:
            return None
        return row.region

    @staticmethod
    def user_region_column(user):
        """user_region as a scalar subquery (`user`: a value or a bind parameter), for a caller
        that reads it with its own query (a task completion's one read); NULL or '' is None."""
        return select(case((UserAccount.is_admin.is_(True), None), else_=UserAccount.region)) \
            .where(UserAccount.name == user).scalar_subquery()

    # -- the 待分派 queue: who may assign or offer a task that names nobody ----------------------
    @property
    def dispatcher_group(self) -> str:
        return self.engine.settings.dispatcher_group

    def is_dispatcher(self, user, session=None) -> bool:
        """An administrator, or a member of the dispatcher group whose account (if any) is active."""
        if not user:
            return False
        if session is None:
            with self.engine.db.read() as s:
                return self.is_dispatcher(user, s)
        if self._is_admin(session, user):
            return True
        account = session.execute(select(UserAccount.is_active).where(UserAccount.name == user)).first()
        if account is not None and not account.is_active:
            return False
        return session.scalar(select(Membership.user).where(
            Membership.user == user, Membership.group == self.dispatcher_group)) is not None

    def dispatch_scope(self, user, session):
        """SQL condition on Task for the tasks `user` may dispatch: None for every region, a
        region condition for one bound to a region, False for someone who is no dispatcher."""
        if not self.is_dispatcher(user, session):
            return False
        region = self.user_region(user, session)
        if region:
            return or_(Task.region == region, Task.region.is_(None))
        return None

    def require_dispatch(self, user, region, session):
        """Forbidden unless `user` may assign or offer a task of `region` (None: region-less)."""
        if not self.is_dispatcher(user, session):
            raise Forbidden(f"仅管理员和分派员（{self.dispatcher_group} 组）可以分派任务 "
                            f"({user or 'anonymous'} may not assign or offer tasks: administrators and "
                            f"members of the {self.dispatcher_group} group only)")
        mine = self.user_region(user, session)
        if region and mine and region != mine:
            raise Forbidden(f"该任务属于 {region}，{user} 只分派 {mine} 的任务 "
                            f"({user} dispatches for {mine}; the task belongs to {region})")

    def dispatchers_for(self, task_region):
        """SQL condition: some active administrator or dispatcher may dispatch a task of the
        region `task_region` (a column): the 待分派 queue shows it to someone (the stall check)."""
        admin_account = exists().where(UserAccount.is_admin.is_(True), UserAccount.is_active.is_(True))
        excluded = exists().where(UserAccount.name == Membership.user, or_(
            UserAccount.is_active.is_(False),
            and_(UserAccount.is_admin.is_(False), UserAccount.region.is_not(None), task_region.is_not(None),
                 UserAccount.region != task_region)))
        member = exists().where(Membership.group.in_([ADMIN_GROUP, self.dispatcher_group]), ~excluded)
        return or_(admin_account, member)

    def require_admin(self, user, what):
        if not self.is_admin(user):
            raise Forbidden(f"仅管理员可以执行此操作 ({user or 'anonymous'} may not {what}: administrators only)")

    def involved(self, user, groups):
        """SQL condition: the Instance row is one `user` takes part in (see the module doc)."""
        offered = exists().where(and_(TaskCandidate.task_id == Task.id, or_(
            and_(TaskCandidate.kind == CandidateKind.GROUP, TaskCandidate.name.in_(sorted(groups) or [""])),
            and_(TaskCandidate.kind == CandidateKind.USER, TaskCandidate.name == user))))
        mine = exists().where(and_(Task.instance_id == Instance.id, or_(
            Task.assignee == user, Task.completed_by == user, offered)))
        return or_(Instance.started_by == user, mine)

    def _seen(self, s, user):
        """SQL condition of the instances a non-administrator sees: those they take part in, or
        every one for members of a region-wide reading group (region_readers); in either case
        only their region's (and region-less ones)."""
        groups = self.groups(s, user)
        cond = true() if groups & self.region_readers else self.involved(user, groups)
        region = self.user_region(user, s)
        if region:
            cond = and_(cond, or_(Instance.region == region, Instance.region.is_(None)))
        return cond

    def instance_scope(self, user, session):
        """SQL condition on Instance for the instances `user` may see (the rule of
        can_see_instance, for a query over many): None for every one (an administrator), a
        condition that holds for none when there is no user. For searches outside the engine."""
        if not user:
            return false()
        return None if self._is_admin(session, user) else self._seen(session, user)

    def can_see_instance(self, user, instance_id):
        if not user:
            return False
        with self.engine.db.read() as s:
            if self._is_admin(s, user):
                return True
            q = select(Instance.id).where(Instance.id == instance_id, self._seen(s, user))
            return s.scalar(q) is not None

    def require_instance(self, user, instance_id):
        """Forbidden unless `user` may see the instance (NotFound first for an unknown one)."""
        self.engine.runtime.get(instance_id)
        if not self.can_see_instance(user, instance_id):
            raise Forbidden(f"无权查看流程实例 {instance_id}，您未参与办理 "
                            f"({user or 'anonymous'} may not see instance {instance_id})")

    def instances(self, user, key=None, status=None, business_key=None, limit=100):
        """The instances `user` may see, newest first, as runtime.instances gives them: all of
        them for an administrator, those they take part in for anyone else, none anonymously."""
        if not user:
            return []
        with self.engine.db.read() as s:
            where = None if self._is_admin(s, user) else self._seen(s, user)
        return self.engine.runtime.instances(key=key, status=status, business_key=business_key, limit=limit,
                                             where=where)

    # -- incidents: what an administrator sees of them (the incident page, the header count) ---
    def _incident_scope(self, s, user):
        """SQL condition on an incident's instance for `user`, None for every one, False for
        none: an administrator bound to a region (an admin-group member whose account names a
        region) sees that region's (and region-less) instances; anyone else none."""
        if not self._is_admin(s, user):
            return False
        region = self.user_region(user, s)
        if region:
            return or_(Instance.region == region, Instance.region.is_(None))
        return None

    def incidents(self, user, key=None, kind=None, region=None, instance_id=None, status=IncidentStatus.OPEN,
                  limit=None):
        """The incidents `user` may act on (engine.runtime.incidents, oldest first), narrowed to
        their region; [] for anyone but an administrator. `kind`, `region`: the page's filters."""
        if not user:
            return []
        with self.engine.db.read() as s:
            scope = self._incident_scope(s, user)
        if scope is False:
            return []
        conds = [c for c in (scope, Incident.kind == kind if kind else None,
                             Instance.region == region if region else None) if c is not None]
        return self.engine.runtime.incidents(instance_id=instance_id, status=status, key=key,
                                             where=and_(*conds) if conds else None, limit=limit)

    def open_incident_count(self, user):
        """How many open incidents `user` may act on (one count query; 0 for non-administrators):
        the header's badge on every page."""
        if not user:
            return 0
        with self.engine.db.read() as s:
            scope = self._incident_scope(s, user)
            if scope is False:
                return 0
            q = select(func.count()).select_from(Incident).where(Incident.status == IncidentStatus.OPEN)
            if scope is not None:
                q = q.outerjoin(Instance, Instance.id == Incident.instance_id).where(scope)
            return s.scalar(q) or 0

    def require_incident(self, user, incident_id):
        """The incident (IncidentInfo) when `user` may act on it: NotFound for an unknown one,
        Forbidden for a non-administrator or another region's administrator."""
        incident = self.engine.runtime.incident(incident_id)
        with self.engine.db.read() as s:
            scope = self._incident_scope(s, user) if user else False
            allowed = scope is None or (scope is not False and s.scalar(
                select(Instance.id).where(Instance.id == incident["instance_id"], scope)) is not None)
        if not allowed:
            raise Forbidden(f"仅管理员可以处理本地区的异常 ({user or 'anonymous'} may not act on incident "
                            f"{incident_id}: administrators of its region only)")
        return incident

    def starters(self, definition):
        """(groups, users) declared by the process as its starters; both empty: anyone signed in."""
        info = self.engine.repository.process(definition)
        return list(info.starter_groups), list(info.starter_users)

    def can_start(self, user, definition):
        if not user:
            return False
        groups, users = self.starters(definition)
        if not groups and not users:
            return True
        with self.engine.db.read() as s:
            return self._is_admin(s, user) or user in users or bool(self.groups(s, user) & set(groups))

    def require_start(self, user, key, version=None):
        """The Definition row (latest, or `version`) when `user` may start it: NotFound for an
        unknown key, Forbidden naming the starter groups and users otherwise."""
        with self.engine.db.read() as s:
            definition = self.engine.repository.get_definition(s, key, version)
        if not self.can_start(user, definition):
            groups, users = self.starters(definition)
            who = ", ".join([*groups, *users])
            raise Forbidden(f"无权发起流程 {key}，只有 {who} 可以发起 ({user or 'anonymous'} may not start {key}: "
                            f"starter groups {', '.join(groups) or '-'}; users {', '.join(users) or '-'})")
        return definition
