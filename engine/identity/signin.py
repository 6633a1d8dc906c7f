"""Sign-in with a limit on guessing that every process and every restart agrees on.

    attempt = engine.accounts.sign_in("li", password, client="10.0.0.7")
    attempt.ok, attempt.account, attempt.reason, attempt.wait, attempt.message

Each failed sign-in is a row of `login_failure` (account name, client address, time), so two
web processes, a worker and a restarted server count the same failures. The rule
(Settings, QIHU_LOGIN_*; defaults in brackets):

- Per account name: `login_max_failures` (5) failures within `login_window_seconds` (900) lock
  the name for `login_lock_seconds` (900) from the last of them. A locked name is refused with
  its time left ("账户已锁定，请 N 分钟后再试") — from every address, and without the password
  even being checked, so a guesser learns nothing more. For an existing account the lock is
  also written to `user_account.locked_until` (what the accounts page shows); a made-up name is
  locked the same way from its failure rows, so a lock does not tell which names exist. A
  right password clears the name's failures; an administrator can `unlock(name)`
  (`qihu user unlock NAME`, the accounts page).
- Per client address: `login_max_failures_per_address` (20) failures within the window mark
  the address. **The address limit never refuses a right password of an account that is not
  itself locked**: behind a proxy or an office NAT every person shares one address, and an
  attacker's made-up names must not lock `admin` out. From a marked address the password is
  still checked: a right one signs in; anything else is answered 429 "此地址登录失败次数过多"
  (for known and unknown names alike) and still counts against the name. What stops guessing
  one common password over many names is therefore the password policy (the commonest
  passwords are refused, engine.identity.accounts) and the per-name lock; the address limit
  marks and reports the source (audit event `signin_failed`, reason `address`).

The client address is the one the web gives: request.remote_addr after werkzeug's ProxyFix
for QIHU_TRUSTED_PROXIES proxies (web/app.py), never a header a client could set itself.

Failures older than a day (or than window + lock, when longer) are deleted as new ones come: the
table stays small whatever names are made up (the audit keeps the record). A failure row is
written *before* the password is checked and removed on success, so
concurrent guesses from several processes cannot each see a count below the limit: the k-th
attempt to commit sees at least k rows.

Audit (engine.audit): signin, signin_failed (reason wrong / locked / address), account_locked,
account_unlocked.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select

from qihu.engine.errors import NotFound
from qihu.engine.storage.models import LoginFailure, UserAccount

NAME_MAX, CLIENT_MAX = 100, 64       # the columns of login_failure


@dataclass
class Attempt:
    """What a sign-in came to. `reason`: "ok", "wrong" (name or password), "locked" (the name
    has too many failures), "address" (a wrong attempt from a marked address). `wait`: seconds
    until the name / address may try again (0 when "ok" or "wrong")."""
    ok: bool
    reason: str
    account: dict[str, Any] | None = None
    wait: int = 0
    message: str = ""
    locked_until: datetime | None = field(default=None, repr=False)


def minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def locked_message(wait: float) -> str:
    n = minutes(wait)
    return f"登录失败次数过多，账户已锁定，请 {n} 分钟后再试 (too many failed sign-ins: account locked, try again in {n} minutes)"


def address_message(wait: float) -> str:
    n = minutes(wait)
    return (f"此地址登录失败次数过多，请 {n} 分钟后再试 "
            f"(too many failed sign-ins from this address: try again in {n} minutes)")


WRONG = "用户名或密码不正确 (wrong user name or password)"


class SignIn:
    def __init__(self, engine: Any, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        # the real time by default (a training server may fix the engine clock with QIHU_NOW,
        # and a lock measured on it would never end); tests give their ManualClock's now
        self.now: Callable[[], datetime] = clock or (lambda: datetime.now(timezone.utc))

    # -- settings ------------------------------------------------------------------------------
    @property
    def _s(self) -> Any:
        return self.engine.settings

    def _window(self) -> timedelta:
        return timedelta(seconds=float(self._s.login_window_seconds))

    def _lock(self) -> timedelta:
        return timedelta(seconds=float(self._s.login_lock_seconds))

    # -- state ---------------------------------------------------------------------------------
    def locked_until(self, s: Any, name: str, now: datetime, before_id: int | None = None) -> datetime | None:
        """Until when `name` is locked (None: not locked), from its failures (those written
        before row `before_id`, when given) and its account."""
        window, lock, limit = self._window(), self._lock(), int(self._s.login_max_failures)
        q = select(LoginFailure.at).where(LoginFailure.account == name, LoginFailure.at > now - window - lock)
        if before_id is not None:
            q = q.where(LoginFailure.id < before_id)
        times = list(s.scalars(q.order_by(LoginFailure.at.desc()).limit(max(limit, 1) * 50)))
        until = None
        if times and limit > 0:
            newest = times[0]
            if sum(1 for t in times if t > newest - window) >= limit:
                until = newest + lock
        a = s.get(UserAccount, name)
        if a is not None and a.locked_until is not None and (until is None or a.locked_until > until):
            until = a.locked_until
        return until if until is not None and until > now else None

    def address_wait(self, s: Any, client: str, now: datetime) -> float:
        """Seconds until the address falls below its limit (0: not marked)."""
        limit = int(self._s.login_max_failures_per_address)
        if limit <= 0:
            return 0.0
        window = self._window()
        times = list(s.scalars(select(LoginFailure.at).where(LoginFailure.client == client,
                                                              LoginFailure.at > now - window)
                                .order_by(LoginFailure.at.desc()).limit(limit)))
        if len(times) < limit:
            return 0.0
        return max(0.0, (times[limit - 1] + window - now).total_seconds())

    # -- the attempt ---------------------------------------------------------------------------
    def attempt(self, name: str, password: str, client: str | None = None) -> Attempt:
        name = (name or "")[:NAME_MAX]
        client = (client or "-").replace("\x00", "")[:CLIENT_MAX]
        if "\x00" in name:                  # no account has one, and PostgreSQL refuses it in text
            return Attempt(False, "wrong", message=WRONG)
        now = self.now()
        with self.engine.db.write() as s:
            until = self.locked_until(s, name, now)
            if until is not None:
                wait = (until - now).total_seconds()
                self._audit("signin_failed", name, client, {"reason": "locked"}, s)
                return Attempt(False, "locked", wait=math.ceil(wait), message=locked_message(wait), locked_until=until)
            marked = self.address_wait(s, client, now)
            row = LoginFailure(account=name, client=client, at=now)    # counted now, removed on success
            s.add(row)
            s.flush()
            row_id = row.id
        with self.engine.db.read() as s:
            until = self.locked_until(s, name, now, before_id=row_id)
        if until is not None:                           # others' guesses, at the same time, got there first
            with self.engine.db.write() as s:
                s.execute(delete(LoginFailure).where(LoginFailure.id == row_id))
            wait = (until - now).total_seconds()
            return Attempt(False, "locked", wait=math.ceil(wait), message=locked_message(wait), locked_until=until)

        account = self.engine.accounts.check_password(name, password)
        if account is not None:
            with self.engine.db.write() as s:
                s.execute(delete(LoginFailure).where(LoginFailure.account == name))
                a = s.get(UserAccount, name)
                if a is not None and a.locked_until is not None:
                    a.locked_until = None
                self._audit("signin", name, client, None, s, actor=name)
            return Attempt(True, "ok", account=account)

        with self.engine.db.write() as s:
            until = self.locked_until(s, name, now)
            if until is not None:                       # this failure reached the limit
                a = s.get(UserAccount, name)
                if a is not None:
                    a.locked_until = until
                    self._audit("account_locked", name, client,
                                {"until": until.isoformat(), "failures": int(self._s.login_max_failures)}, s)
            reason = "address" if marked else "wrong"
            # rows no window looks at any more: the table stays small whatever names are made up
            keep = max(self._window() + self._lock(), timedelta(days=1))
            s.execute(delete(LoginFailure).where(LoginFailure.at < now - keep))
            self._audit("signin_failed", name, client, {"reason": reason}, s)
        if marked:
            return Attempt(False, "address", wait=math.ceil(marked), message=address_message(marked))
        return Attempt(False, "wrong", message=WRONG)

    # -- administrators ------------------------------------------------------------------------
    def unlock(self, name: str, user: str | None = None) -> bool:
        """Lift the lock of `name` and forget its failures; True when it was locked.
        NotFound when there is no such account."""
        now = self.now()
        with self.engine.db.write() as s:
            a = s.get(UserAccount, name) if isinstance(name, str) else None
            if a is None:
                raise NotFound(f"没有用户 {name} (no user {name})")
            was = self.locked_until(s, name, now) is not None
            a.locked_until = None
            s.execute(delete(LoginFailure).where(LoginFailure.account == name))
            self._audit("account_unlocked", name, None, {"was_locked": was}, s, actor=user)
        return was

    def _audit(self, action: str, target: str, client: str | None, detail: dict | None, s: Any,
               actor: str | None = None) -> None:
        audit = getattr(self.engine, "audit", None)
        if audit is not None:
            audit.record(action, actor=actor, target=target, detail=detail, client=client, session=s)
