"""User accounts for sign-in: a name, a display name and a password hash (werkzeug.security).

Groups stay in Membership (engine.tasks.add_member): an account is only how a person proves
who they are; what they may see and do follows from their groups.
"""
import re
from pathlib import Path

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from qihu.engine.errors import Conflict, NotFound, ValidationFailed
from qihu.engine.identity import group_names as declared_names
from qihu.engine.identity.signin import SignIn
from qihu.engine.storage.limits import check_text
from qihu.engine.storage.models import GroupInfo, Membership, UserAccount
from qihu.engine.tasks.service import add_memberships

NAME = re.compile(r"^[^\s,/]{1,100}$")     # candidate lists are comma-separated; no spaces or slashes
_DUMMY_HASH = []                            # checked for unknown names, so they take as long as known ones


def account_dict(a):
    return {"name": a.name, "display_name": a.display_name or a.name, "is_active": a.is_active,
            "is_admin": a.is_admin, "region": a.region, "created_at": a.created_at.isoformat(),
            "session_version": a.session_version or 0,
            "locked_until": a.locked_until.isoformat() if a.locked_until else None}


def _audit(engine, s, action, target, user=None, detail=None):
    """Record a security event in the caller's transaction (engine.audit, when the engine has it)."""
    audit = getattr(engine, "audit", None)
    if audit is not None:
        audit.record(action, actor=user, target=target, detail=detail, session=s)


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


# -- the password policy (Settings.password_min_length / _min_classes / _refuse_common) --------
MAX_PASSWORD = 200                          # what the sign-in form takes
CLASSES = "大写字母、小写字母、数字、其他字符 (upper case, lower case, digits, other characters)"
_EDGES = "0123456789!@#$%^&*()_+-=[]{};:'\",.<>/?`~|\\ "
_COMMON = []                                # the bundled list, read once


def common_passwords():
    """The commonest passwords (engine/identity/common_passwords.txt), lower case."""
    if not _COMMON:
        text = (Path(__file__).resolve().parent / "common_passwords.txt").read_text(encoding="utf-8")
        _COMMON.append(frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#")))
    return _COMMON[0]


def _classes(password):
    return (any(c.islower() for c in password) + any(c.isupper() for c in password)
            + any(c.isdigit() for c in password) + any(not (c.isalpha() and c.isascii()) and not c.isdigit()
                                                          for c in password))


def password_problem(password, settings=None, name=None):
    """Why `password` is refused, in "中文 (English)" naming the rule, or None when it passes.
    `settings` (engine Settings) gives the rule; without them the production defaults."""
    min_length = getattr(settings, "password_min_length", 10)
    min_classes = getattr(settings, "password_min_classes", 3)
    refuse_common = getattr(settings, "password_refuse_common", True)
    if not isinstance(password, str) or len(password) < min_length:
        return f"密码至少 {min_length} 个字符 (password must have at least {min_length} characters)"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 个字符 (password must have at most {MAX_PASSWORD} characters)"
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        return "密码不能含控制字符 (password must not contain control characters)"
    if _classes(password) < min_classes:
        return (f"密码须包含{CLASSES.split(' (')[0]}中的至少 {min_classes} 类 "
                f"(password must mix at least {min_classes} of: {CLASSES.split(' (')[1].rstrip(')')})")
    low = password.lower()
    if name and isinstance(name, str) and low == name.lower():
        return "密码不能与用户名相同 (password must differ from the user name)"
    if refuse_common:
        common = common_passwords()
        symbols = _EDGES[10:]
        if any(c in common for c in (low, low.strip(_EDGES), low.rstrip(_EDGES), low.lstrip(_EDGES), low.strip(symbols))):
            return "密码过于常见，容易被猜中，请换一个 (this is one of the commonest passwords: choose another)"
    return None


def _hash(password, settings=None, name=None):
    problem = password_problem(password, settings, name)
    if problem is not None:
        raise ValidationFailed(problem, {"password": problem})
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
        check_text(display_name, "display_name", UserAccount.display_name)
        pw_hash = _hash(password, self.engine.settings, name)
        with self.engine.db.write() as s:
            if s.get(UserAccount, name) is not None:
                raise Conflict(f"用户 {name} 已存在 (user {name} exists; set a new password instead)")
            s.add(UserAccount(name=name, display_name=display_name or None, password_hash=pw_hash,
                              is_active=True, is_admin=bool(is_admin), region=region,
                              created_at=self.engine.clock.now()))
            add_memberships(s, name, groups)
        return self.get(name)

    def set_password(self, name, password, user=None):
        """A new password; every session of the account ends (in every process)."""
        pw_hash = _hash(password, self.engine.settings, name)
        with self.engine.db.write() as s:
            a = self._row(s, name)
            a.password_hash, a.password_changed_at = pw_hash, self.engine.clock.now()
            a.session_version = (a.session_version or 0) + 1
            _audit(self.engine, s, "password_changed", name, user)

    def set_region(self, name, region):
        """Bind the account to a region's work, or (None / '') free it to every region."""
        region = _check_region(region)
        with self.engine.db.write() as s:
            self._row(s, name).region = region

    def set_active(self, name, active, user=None):
        """Enable or disable the account; disabling ends every session of it."""
        with self.engine.db.write() as s:
            a = self._row(s, name)
            was, a.is_active = a.is_active, bool(active)
            if not active:
                a.session_version = (a.session_version or 0) + 1
            if was != bool(active):
                _audit(self.engine, s, "account_enabled" if active else "account_disabled", name, user)

    # -- sessions (web/pages/auth.py keeps the version in the session and compares it) ----------
    def session_version(self, name):
        """The number a session of `name` must carry to be valid; None when there is no such account."""
        with self.engine.db.read() as s:
            a = s.get(UserAccount, name) if isinstance(name, str) else None
            return (a.session_version or 0) if a is not None else None

    def sign_out_everywhere(self, name, user=None, action="signout_everywhere"):
        """End every session of `name`, in every process (sign-out, 强制下线). NotFound for no account."""
        with self.engine.db.write() as s:
            a = self._row(s, name)
            a.session_version = (a.session_version or 0) + 1
            _audit(self.engine, s, action, name, user)
            return a.session_version

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
            before = row.display_name if row is not None else None
            if before != (display_name or None):
                self.engine.audit.record("group_name_changed", actor=user, target=name, session=s,
                                         detail={"from": before, "to": display_name or None})
            if not display_name:
                if row is not None:
                    s.delete(row)
                return
            if row is None:
                row = GroupInfo(name=name, display_name=display_name)
                s.add(row)
            row.display_name, row.updated_by, row.updated_at = display_name, user, self.engine.clock.now()

    # -- sign-in with the shared limiter (engine/identity/signin.py) ---------------------------
    # what the limiter's windows and locks are measured on: the real time (None), not the engine
    # clock, which a training server may fix (QIHU_NOW) and tests move by days; a test of the
    # limiter sets it to its ManualClock's now
    signin_clock = None

    def sign_in(self, name, password, client=None):
        """One sign-in attempt from `client` (the real client address): an Attempt (ok, reason
        ok / wrong / locked / address, account, wait, message). Failures are counted in the
        database, per name and per address; see engine.identity.signin for the rule."""
        return SignIn(self.engine, self.signin_clock).attempt(name, password, client)

    def unlock(self, name, user=None):
        """Lift a sign-in lock (too many failures) of account `name`; True when it was locked."""
        return SignIn(self.engine, self.signin_clock).unlock(name, user)

    def locked_until(self, name):
        """Until when sign-in of `name` is locked (an aware datetime, on the limiter's clock),
        or None when it is not locked."""
        signin = SignIn(self.engine, self.signin_clock)
        with self.engine.db.read() as s:
            return signin.locked_until(s, name, signin.now())

    def password_problem(self, password, name=None):
        """Why the password policy refuses `password` ("中文 (English)"), or None."""
        return password_problem(password, self.engine.settings, name)

    def _row(self, s, name):
        a = s.get(UserAccount, name)
        if a is None:
            raise NotFound(f"没有用户 {name} (no user {name})")
        return a
