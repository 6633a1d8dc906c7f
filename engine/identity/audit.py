"""The security audit (等保 2.0 安全审计): who did what, when, from where — append-only and
tamper-evident.

    engine.audit.record("deploy", target="appeal_basic", detail={"version": 3})
    engine.audit.verify()        # None, or the first broken link
    engine.audit.sweep()         # the retention sweep (the worker runs it daily)

Each row of security_audit carries `hash = H(prev_hash + canonical JSON of (at, actor, client,
action, target, detail, algorithm))`, the first row's prev_hash being 64 zeros, so changing,
deleting or reordering any row breaks the chain from that row on; `verify()` walks it and names
the first broken link. H is SHA-256, or SM3 (国密, through the optional `gmssl` package) when
QIHU_AUDIT_HASH=sm3; every row keeps its algorithm, so a change of setting leaves old rows
verifiable.

Append-only: nothing here updates a row, and only `sweep()` deletes — rows older than the
retention (QIHU_AUDIT_RETENTION_DAYS, at least 183 days, 网络安全法 §21), from the start of the
chain — and it records a `retention_sweep` row naming the new first link, so the chain still
verifies from the oldest kept row. On PostgreSQL a trigger (migration 0012) refuses UPDATE and
DELETE unless the transaction set `qihu.audit_retention`, which only the sweep does.

Appends are serialised (an advisory transaction lock on PostgreSQL; SQLite's writer lock, taken
up front by Database.write()) so two processes never fork the chain.

Who and from where: callers may name them; when they do not, the request context the web sets
for each request (`set_context`) is used. The engine knows no Flask.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from qihu.engine.storage.limits import column_length
from qihu.engine.storage.models import SecurityAudit

GENESIS = "0" * 64
ALGORITHMS = ("sha256", "sm3")
MIN_RETENTION_DAYS = 183              # six months at least (网络安全法 §21)
_LOCK_KEY = 0x71696875_61756474      # pg_advisory_xact_lock key: b"qihuaudt"

# (actor, client) of the request being served; the web sets it before every request.
_context: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "qihu_audit_context", default=(None, None))


def set_context(actor: str | None, client: str | None) -> contextvars.Token:
    """Who is acting and from which address, for records that do not say (the web calls this
    before each request). Returns a token for `reset_context`."""
    return _context.set((actor, client))


def reset_context(token: contextvars.Token) -> None:
    _context.reset(token)


def current_context() -> tuple[str | None, str | None]:
    return _context.get()


@contextmanager
def acting_as(actor: str | None, client: str | None = None) -> Iterator[None]:
    """`with acting_as("admin", "cli"):` — the context for a block (the command line, tests)."""
    token = _context.set((actor, client))
    try:
        yield
    finally:
        _context.reset(token)


class AuditConfigError(RuntimeError):
    """A setting the audit cannot work with (an unknown algorithm, SM3 without gmssl, a short retention)."""


def _sm3(data: bytes) -> str:
    try:
        from gmssl import func as gm_func, sm3  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise AuditConfigError(
            "审计哈希设为 SM3 (QIHU_AUDIT_HASH=sm3)，但未安装 gmssl：请安装 pip install 'qihu[gm]' "
            "(SM3 audit hash chosen but the gmssl package is not installed: pip install 'qihu[gm]')") from None
    return str(sm3.sm3_hash(gm_func.bytes_to_list(data)))


def digest(algorithm: str, data: bytes) -> str:
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        return _sm3(data)
    raise AuditConfigError(f"未知的审计哈希算法 {algorithm!r}，可选 sha256 或 sm3 "
                           f"(unknown audit hash algorithm {algorithm!r}: sha256 or sm3)")


def canonical(at: datetime, actor: str | None, client: str | None, action: str, target: str | None,
              detail: Any, algorithm: str) -> bytes:
    """What a row's hash covers, as canonical JSON (sorted keys, no spaces, UTF-8)."""
    at_utc = at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    return json.dumps([at_utc, actor, client, action, target, detail, algorithm],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def row_hash(prev_hash: str, at: datetime, actor: str | None, client: str | None, action: str,
             target: str | None, detail: Any, algorithm: str) -> str:
    return digest(algorithm, prev_hash.encode("ascii") + canonical(at, actor, client, action, target, detail, algorithm))


def _fit(name: str, value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).replace("\x00", "")
    limit = column_length(getattr(SecurityAudit, name))
    return value if len(value) <= limit else value[:limit - 1] + "…"


@dataclass
class Broken:
    """The first broken link of the chain: the row's id and why (中文 (English))."""
    id: int
    reason: str

    def __str__(self) -> str:
        return f"审计记录 #{self.id}：{self.reason}"


def audit_dict(r: SecurityAudit) -> dict[str, Any]:
    return {"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "client": r.client, "action": r.action,
            "target": r.target, "detail": r.detail, "algorithm": r.algorithm, "hash": r.hash}


class Audit:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        settings = engine.settings
        self.algorithm: str = getattr(settings, "audit_hash", "sha256") or "sha256"
        if self.algorithm not in ALGORITHMS:
            digest(self.algorithm, b"")          # raises the clear error
        if self.algorithm == "sm3":
            digest("sm3", b"")                   # fail at start, not at the first record
        self.retention_days: int = int(getattr(settings, "audit_retention_days", MIN_RETENTION_DAYS))
        if self.retention_days < MIN_RETENTION_DAYS:
            raise AuditConfigError(
                f"审计保存期 {self.retention_days} 天过短，至少 {MIN_RETENTION_DAYS} 天（网络安全法第二十一条：不少于六个月） "
                f"(audit retention of {self.retention_days} days is too short: at least {MIN_RETENTION_DAYS})")
        # the audit's own sense of now: the wall clock, not the engine's (possibly fixed) clock
        self.now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        calendar = getattr(engine, "calendar", None)
        if calendar is not None:        # a loaded calendar year moves every deadline in it: audited
            calendar.on_year_loaded.append(self._calendar_loaded)

    def _calendar_loaded(self, year: int, region: str, user: str | None) -> list[Any]:
        self.record("calendar_loaded", actor=user, target=f"{region or '全国'} {year}",
                    detail={"year": year, "region": region})
        return []

    # -- writing -------------------------------------------------------------------------------
    def _lock(self, s: Session) -> None:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})

    def _append(self, s: Session, action: str, actor: str | None, client: str | None, target: str | None,
                detail: Any) -> SecurityAudit:
        self._lock(s)
        s.flush()
        prev = s.scalar(select(SecurityAudit.hash).order_by(SecurityAudit.id.desc()).limit(1)) or GENESIS
        at = self.now()
        row = SecurityAudit(at=at, actor=actor, client=client, action=action, target=target, detail=detail,
                            algorithm=self.algorithm, prev_hash=prev,
                            hash=row_hash(prev, at, actor, client, action, target, detail, self.algorithm))
        s.add(row)
        s.flush()
        return row

    def record(self, action: str, *, actor: str | None = None, target: str | None = None,
               detail: dict | None = None, client: str | None = None, session: Session | None = None) -> None:
        """Append one event: `action` a short id (signin, deploy, export, personal_data_viewed …),
        `actor` who (default: the request's signed-in user), `client` from where (default: the
        request's address), `target` what it concerned, `detail` a small JSON object. In the
        caller's transaction when `session` is given (so the event and what it records commit
        together), else in its own."""
        ctx_actor, ctx_client = _context.get()
        actor = _fit("actor", actor if actor is not None else ctx_actor)
        client = _fit("client", client if client is not None else ctx_client)
        action = _fit("action", action) or "unknown"
        target = _fit("target", target)
        # what the database gives back (JSONText: default=str), so the hash verifies on reading
        norm = None if detail is None else json.loads(json.dumps(detail, ensure_ascii=False, default=str))
        if session is not None:
            self._append(session, action, actor, client, target, norm)
            return
        with self.engine.db.write() as s:
            self._append(s, action, actor, client, target, norm)

    # -- reading -------------------------------------------------------------------------------
    def list(self, action: str | None = None, actor: str | None = None, since: datetime | None = None,
             until: datetime | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first; `since`/`until` aware datetimes (until exclusive)."""
        q = select(SecurityAudit).order_by(SecurityAudit.id.desc())
        if action:
            q = q.where(SecurityAudit.action == action)
        if actor:
            q = q.where(SecurityAudit.actor == actor)
        if since is not None:
            q = q.where(SecurityAudit.at >= since)
        if until is not None:
            q = q.where(SecurityAudit.at < until)
        with self.engine.db.read() as s:
            return [audit_dict(r) for r in s.scalars(q.limit(limit).offset(offset))]

    def actions(self) -> list[str]:
        with self.engine.db.read() as s:
            return sorted(s.scalars(select(SecurityAudit.action).distinct()))

    def count(self) -> int:
        with self.engine.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(SecurityAudit)) or 0)

    def verify(self) -> Broken | None:
        """Walk the chain from the oldest kept row: None when every link holds, else the first
        broken one. The oldest row must start the chain (prev_hash of 64 zeros) or be the first
        link the latest retention sweep named."""
        with self.engine.db.read() as s:
            sweep = s.scalar(select(SecurityAudit).where(SecurityAudit.action == "retention_sweep")
                             .order_by(SecurityAudit.id.desc()).limit(1))
            named = (sweep.detail or {}).get("first_prev_hash") if sweep is not None else None
            prev: str | None = None
            for r in s.scalars(select(SecurityAudit).order_by(SecurityAudit.id).execution_options(yield_per=500)):
                if prev is None:
                    if r.prev_hash != GENESIS and r.prev_hash != named:
                        return Broken(r.id, "链首之前的记录被删除（不是保存期清理）"
                                            " (rows before the first one were deleted, not by the retention sweep)")
                elif r.prev_hash != prev:
                    return Broken(r.id, "与上一条记录的哈希不相接：其前有记录被删除或调换了顺序"
                                        " (does not follow the previous row: a row before it was deleted or reordered)")
                if r.algorithm not in ALGORITHMS:
                    return Broken(r.id, f"未知的哈希算法 {r.algorithm!r} (unknown hash algorithm)")
                expected = row_hash(r.prev_hash, r.at, r.actor, r.client, r.action, r.target, r.detail, r.algorithm)
                if expected != r.hash:
                    return Broken(r.id, "内容与哈希不符：记录被改动 (content does not match its hash: the row was altered)")
                prev = r.hash
        return None

    # -- retention -----------------------------------------------------------------------------
    def sweep_due(self, every: timedelta = timedelta(days=1)) -> bool:
        """Whether the last retention sweep (by any process) is `every` ago or more."""
        with self.engine.db.read() as s:
            last = s.scalar(select(func.max(SecurityAudit.at)).where(SecurityAudit.action == "retention_sweep"))
        return last is None or self.now() - last >= every

    def sweep(self, now: datetime | None = None) -> int:
        """Delete the rows older than the retention from the start of the chain, and record a
        `retention_sweep` row naming the new first link. Returns how many rows were deleted."""
        now = now or self.now()
        cutoff = now - timedelta(days=self.retention_days)
        with self.engine.db.write() as s:
            self._lock(s)
            # the start of the chain up to the first row that is kept (ids, not times, decide
            # the order, so a clock set back cannot punch holes into the chain)
            first_kept = s.scalar(select(func.min(SecurityAudit.id)).where(SecurityAudit.at >= cutoff))
            q = select(SecurityAudit.id, SecurityAudit.hash).order_by(SecurityAudit.id.desc()).limit(1)
            if first_kept is not None:
                q = q.where(SecurityAudit.id < first_kept)
            last_deleted = s.execute(q).first()
            deleted = 0
            if last_deleted is not None:
                if s.get_bind().dialect.name == "postgresql":
                    s.execute(text("SET LOCAL qihu.audit_retention = 'on'"))
                deleted = s.execute(delete(SecurityAudit).where(SecurityAudit.id <= last_deleted.id)).rowcount or 0
                if s.get_bind().dialect.name == "postgresql":
                    s.execute(text("SET LOCAL qihu.audit_retention = 'off'"))
            first = s.execute(select(SecurityAudit.id, SecurityAudit.hash, SecurityAudit.prev_hash)
                              .order_by(SecurityAudit.id).limit(1)).first()
            if first is not None:
                first_prev, first_hash, first_id = first.prev_hash, first.hash, first.id
            else:        # nothing kept: this row starts the kept chain
                first_prev = last_deleted.hash if last_deleted is not None else GENESIS
                first_hash, first_id = None, None
            ctx_actor, ctx_client = _context.get()
            self._append(s, "retention_sweep", _fit("actor", ctx_actor or "system"), _fit("client", ctx_client),
                         None, {"deleted": deleted, "before": cutoff.isoformat(), "retention_days": self.retention_days,
                                "first_id": first_id, "first_hash": first_hash, "first_prev_hash": first_prev})
        return int(deleted)
