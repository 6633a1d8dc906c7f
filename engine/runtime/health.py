"""Health: whether this process answers (liveness) and whether it should be sent work (readiness).

Liveness asks nothing of the database: a load balancer or systemd restarts a process that does
not answer, and restarting every web process because the database is down helps nobody.
Readiness checks what serving needs, each check with a Chinese and an English message:

- database: the database answers (SELECT 1);
- schema: the database's Alembic revision is the head of the migrations this code carries
  (engine/storage/migrations): an older schema means `qihu db-upgrade` (or the deploy) has not
  run yet, a newer one that this code is older than the database;
- workers: at least one worker's heartbeat is younger than Settings.heartbeat_stale
  (engine/runtime/heartbeats.py): without a worker no timer fires and no retry runs. A
  deployment that serves the web only (the workers are watched elsewhere) passes
  require_workers=False (web: QIHU_READY_REQUIRE_WORKERS=0).

Nothing here reveals the database's address or an exception's text: a failed check names the
error's class; the full error goes to this process's log.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from qihu.engine.runtime import heartbeats

if TYPE_CHECKING:
    from qihu.engine.core import Engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, why (Chinese, then English)."""

    name: str
    ok: bool
    message: str
    message_en: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "message_en": self.message_en, **self.detail}


@dataclass(frozen=True)
class Readiness:
    """All checks; ok when every one passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ready" if self.ok else "unavailable", "checks": {c.name: c.as_dict() for c in self.checks}}


def liveness() -> dict[str, str]:
    """The process answers (nothing else is asked)."""
    return {"status": "ok"}


@functools.lru_cache(maxsize=None)
def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations this code carries (read once: they do not change
    while the process runs)."""
    from qihu.engine.storage.migrate import head_revisions
    return head_revisions()


def _database_and_schema(engine: Engine) -> tuple[Check, Check]:
    from alembic.runtime.migration import MigrationContext
    try:
        with engine.db.read() as s:
            s.execute(text("SELECT 1"))
            stored = tuple(sorted(MigrationContext.configure(s.connection()).get_current_heads()))
    except Exception as e:
        log.warning("readiness: the database does not answer: %s", e, exc_info=True)
        name = type(e).__name__
        return (Check("database", False, f"数据库无法连接（{name}）", f"the database does not answer ({name})"),
                Check("schema", False, "数据库无法连接，未检查数据库结构", "not checked: the database does not answer"))
    database = Check("database", True, "数据库连接正常", "the database answers")
    heads = code_heads()
    detail = {"database_revision": ",".join(stored) or None, "code_revision": ",".join(heads)}
    if stored == heads:
        return database, Check("schema", True, "数据库结构为最新版本", "the schema is at the head revision", detail)
    return database, Check("schema", False,
                           f"数据库结构版本为 {detail['database_revision']}，程序需要 {detail['code_revision']}："
                           "请先运行 qihu db-upgrade（或用与数据库相符的程序版本）",
                           f"the schema is at revision {detail['database_revision']}, this code needs "
                           f"{detail['code_revision']}: run `qihu db-upgrade` (or a release matching the database)", detail)


def _workers(engine: Engine, required: bool) -> Check:
    stale = engine.settings.heartbeat_stale
    try:
        n = len(heartbeats.alive(engine, "worker"))
    except Exception as e:
        log.warning("readiness: worker heartbeats could not be read: %s", e, exc_info=True)
        name = type(e).__name__
        return Check("workers", not required, f"无法读取后台进程心跳（{name}）",
                     f"worker heartbeats could not be read ({name})", {"alive": None, "required": required})
    detail = {"alive": n, "required": required, "within_seconds": stale}
    if n:
        return Check("workers", True, f"{n} 个后台进程在运行", f"{n} worker(s) alive", detail)
    if not required:
        return Check("workers", True, "没有在运行的后台进程（本部署不要求）",
                     "no worker alive (not required by this deployment)", detail)
    return Check("workers", False,
                 f"没有在运行的后台进程：{stale:g} 秒内没有后台进程的心跳，定时器和重试不会执行；请启动 qihu worker",
                 f"no worker alive: no worker heartbeat within {stale:g} s, so no timer fires and no retry runs; "
                 "start `qihu worker`", detail)


def no_engine(e: BaseException) -> Readiness:
    """Readiness when the engine itself could not be made (its database refused the first
    connection or the migrations): nothing else can be checked."""
    log.warning("readiness: the engine could not be made: %s", e, exc_info=e)
    name = type(e).__name__
    return Readiness((Check("database", False, f"无法连接数据库或初始化引擎（{name}）",
                            f"the engine could not be made: the database refused or failed ({name})"),))


def readiness(engine: Engine, require_workers: bool = True) -> Readiness:
    """Whether this process should be sent work: the database answers, its schema is at the
    head revision, and (unless not required) a worker is alive."""
    database, schema = _database_and_schema(engine)
    checks = [database, schema]
    if database.ok:
        checks.append(_workers(engine, require_workers))
    else:
        checks.append(Check("workers", not require_workers, "数据库无法连接，未检查后台进程",
                            "not checked: the database does not answer", {"required": require_workers}))
    return Readiness(tuple(checks))
