"""User accounts for sign-in: a name, a display name and a password hash (werkzeug.security).

Groups stay in Membership (engine.tasks.add_member): an account is only how a person proves
who they are; what they may see and do follows from their groups.
"""
import re

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from qihu.engine.errors import Conflict, NotFound, ValidationFailed
from qihu.engine.identity import group_names as declared_names
from qihu.engine.storage.models import GroupInfo, Membership, UserAccount
from qihu.engine.tasks.service import add_memberships

MIN_PASSWORD = 4
NAME = re.compile(r"^[^\s,/]{1,100}$")     # candidate lists are comma-separated; no spaces or slashes
_DUMMY_HASH = []                            # checked for unknown names, so they take as long as known ones


def account_dict(a):
    return {"name": a.name, "display_name": a.display_name or a.name, "is_active": a.is_active,
            "is_admin": a.is_admin, "region": a.region, "created_at": a.created_at.isoformat()}


def _check_region(region):
    region = (region or "").strip() or None
    if region is not None and (len(region) > 100 or "," in region):
        raise ValidationFailed(f"地区名称无效 (invalid region {region!r}: at most 100 characters, no commas)",
                               {"region": "地区名称无效 (invalid region)"})
    return region


def _check_name(name):
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationFailed(f"用户名无效 (invalid user name {name!r}: 1-100 characters, "
                               "no spaces, commas or slashes)", {"name": "用户名无效 (invalid user name)"})


def _hash(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 个字符 (password must have at least {MIN_PASSWORD} characters)",
                               {"password": f"至少 {MIN_PASSWORD} 个字符 (too short)"})
    return generate_password_hash(password)


class AccountService:
    def __init__(self, engine):
        self.engine = engine
        # who an id without an account is, for what is built on the engine (the appeal domain:
        # "qiye:QH…" is an enterprise): callables id -> display name or None
        self.namers = []
        listeners = getattr(engine, "listeners", None)
        if listeners is not None:     # a diagram's groupName.* properties are checked at deploy
            listeners.definition_checked.append(declared_names.check)

    def add_user(self, name, password, display_name=None, groups=(), is_admin=False, region=None):
        """Create an account (and put it in `groups`); Conflict when the name is taken. `region`
        binds the person to one region's work (engine.access); None: every region."""
        _check_name(name)
        region = _check_region(region)
        pw_hash = _hash(password)
        with self.engine.db.write() as s:
            if s.get(UserAccount, name) is not None:
                raise Conflict(f"用户 {name} 已存在 (user {name} exists; set a new password instead)")
            s.add(UserAccount(name=name, display_name=display_name or None, password_hash=pw_hash,
                              is_active=True, is_admin=bool(is_admin), region=region,
                              created_at=self.engine.clock.now()))
            add_memberships(s, name, groups)
        return self.get(name)

    def set_password(self, name, password):
        pw_hash = _hash(password)
        with self.engine.db.write() as s:
            self._row(s, name).password_hash = pw_hash

    def set_region(self, name, region):
        """Bind the account to a region's work, or (None / '') free it to every region."""
        region = _check_region(region)
        with self.engine.db.write() as s:
            self._row(s, name).region = region

    def set_active(self, name, active):
        with self.engine.db.write() as s:
            self._row(s, name).is_active = bool(active)

    def get(self, name):
        """The account as a dict, or None."""
        with self.engine.db.read() as s:
            a = s.get(UserAccount, name)
            return account_dict(a) if a is not None else None

    def list(self):
        with self.engine.db.read() as s:
            return [account_dict(a) for a in s.scalars(select(UserAccount).order_by(UserAccount.name))]

    def check_password(self, name, password):
        """The account when `password` is right and the account active, else None."""
        with self.engine.db.read() as s:
            a = s.get(UserAccount, name) if isinstance(name, str) else None
            stored = a.password_hash if a is not None else None
        if stored is None:
            if not _DUMMY_HASH:
                _DUMMY_HASH.append(generate_password_hash("not-a-password"))
            check_password_hash(_DUMMY_HASH[0], password or "")
            return None
        if not check_password_hash(stored, password or "") or not a.is_active:
            return None
        return account_dict(a)

    # -- what people read instead of ids ---------------------------------------------------
    def person_names(self, names=None):
        """{user id: display name} for `names` (None: every account that has a display name).
        An id without an account is named by the first of `namers` that knows it (the appeal
        domain names its enterprises), else it keeps its id."""
        wanted = None if names is None else {n for n in names if n}
        if wanted is not None and not wanted:
            return {}
        with self.engine.db.read() as s:
            q = select(UserAccount.name, UserAccount.display_name)
            q = q.where(UserAccount.display_name.is_not(None)) if wanted is None else q.where(UserAccount.name.in_(wanted))
            found = {n: d for n, d in s.execute(q).all() if d}
        if wanted is None:
            return found
        return {n: found.get(n) or self._named(n) or n for n in wanted}

    def _named(self, name):
        for namer in self.namers:
            said = namer(name)
            if said:
                return said
        return None

    def group_names(self, names=None):
        """{group id: display name}: the name an administrator set (table group_info), else the
        one the diagram of a current process declares (groupName.* properties), else the id.
        `names` None: every group that has a name. Two queries, whatever the number of ids."""
        with self.engine.db.read() as s:
            q = select(GroupInfo.name, GroupInfo.display_name)
            wanted = None if names is None else {n for n in names if n}
            if wanted is not None:
                if not wanted:
                    return {}
                q = q.where(GroupInfo.name.in_(wanted))
            found = dict(s.execute(q).all())
        declared = {g: name for g, (name, _by, _keys) in self.engine.repository.group_names().items() if name}
        if wanted is None:
            return {**declared, **found}
        return {n: found.get(n) or declared.get(n) or n for n in wanted}

    def groups(self):
        """Every group known (memberships, the groups the current diagrams name, named ones),
        sorted by id: [{"name", "display_name", "source": "admin" | "diagram" | None,
        "declared" (the diagram's name), "declared_by" (its process key), "processes" (keys
        naming it), "members" (how many), "updated_by", "updated_at"}]."""
        with self.engine.db.read() as s:
            members = dict(s.execute(select(Membership.group, func.count()).group_by(Membership.group)).all())
            rows = {r.name: r for r in s.scalars(select(GroupInfo))}
        diagrams = self.engine.repository.group_names()
        # the engine's own: who dispatches the 待分派 queue (Settings.dispatcher_group)
        own = {getattr(getattr(self.engine, "access", None), "dispatcher_group", None)} - {None}
        out = []
        for g in sorted(set(members) | set(rows) | set(diagrams) | own):
            declared, by, keys = diagrams.get(g, (None, None, set()))
            row = rows.get(g)
            out.append({"name": g, "display_name": (row.display_name if row else None) or declared or g,
                        "source": "admin" if row else ("diagram" if declared else None),
                        "declared": declared, "declared_by": by, "processes": sorted(keys),
                        "members": members.get(g, 0), "updated_by": row.updated_by if row else None,
                        "updated_at": row.updated_at.isoformat() if row and row.updated_at else None})
        return out

    def set_group_name(self, name, display_name, user=None):
        """Set (or with '' / None clear) the display name of a group."""
        name = str(name or "").strip()
        display_name = str(display_name or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed(f"用户组标识无效 (invalid group id {name!r})", {"name": "用户组标识无效 (invalid group id)"})
        if len(display_name) > 200:
            raise ValidationFailed("显示名称最多 200 个字 (display name too long)",
                                   {"display_name": "最多 200 个字 (at most 200 characters)"})
        with self.engine.db.write() as s:
            row = s.get(GroupInfo, name)
            if not display_name:
                if row is not None:
                    s.delete(row)
                return
            if row is None:
                row = GroupInfo(name=name, display_name=display_name)
                s.add(row)
            row.display_name, row.updated_by, row.updated_at = display_name, user, self.engine.clock.now()

    def _row(self, s, name):
        a = s.get(UserAccount, name)
        if a is None:
            raise NotFound(f"没有用户 {name} (no user {name})")
        return a
