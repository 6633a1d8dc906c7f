"""Database connection: SQLite (WAL) by default, PostgreSQL via URL; schema by Alembic."""
import contextvars
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

_write = contextvars.ContextVar("qihu_write", default=False)


class Database:
    """One process's connection pool. On a server database (PostgreSQL and the like) the pool
    keeps pool_size connections and opens up to max_overflow more under load (Settings
    db_pool_size, db_max_overflow: docs/deploy.md sizes them against max_connections), and,
    on PostgreSQL, the server cancels any statement running longer than statement_timeout
    seconds (0: never). SQLite keeps its own pool and has no statement timeout."""

    def __init__(self, url: str, pool_size: int = 10, max_overflow: int = 10, statement_timeout: float = 0.0) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.statement_timeout = statement_timeout
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
            if statement_timeout and make_url(url).get_backend_name() == "postgresql":
                kwargs["connect_args"] = {"options": _with_statement_timeout(url, statement_timeout)}
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            self._sqlite_setup()
        self.Session = sessionmaker(self.engine, expire_on_commit=False)

    def _sqlite_setup(self) -> None:
        @event.listens_for(self.engine, "connect")
        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy (not pysqlite) emit BEGIN, so writers can take the lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def on_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE for writes: a deferred transaction that later wants to write
            # fails with "database is locked" instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _write.get() else "BEGIN")

    @contextmanager
    def _transaction(self, writes: bool) -> Iterator[Session]:
        token = _write.set(writes)
        try:
            with self.Session() as s, s.begin():
                yield s
        finally:
            _write.reset(token)

    def write(self) -> AbstractContextManager[Session]:
        """A read-write transaction: commits on success, rolls back on any error."""
        return self._transaction(True)

    def read(self) -> AbstractContextManager[Session]:
        """A read transaction (plain BEGIN: in WAL mode readers never wait for the writer,
        even one held by this same thread in an enclosing write())."""
        return self._transaction(False)

    def upgrade(self) -> None:
        from qihu.engine.storage.migrate import upgrade
        if not self.statement_timeout or self.is_sqlite:
            upgrade(self)
            return
        # A migration may rewrite a large table for longer than any request should take:
        # it runs on connections of its own, without the statement timeout.
        unlimited = Database(self.url, pool_size=1, max_overflow=0)
        try:
            upgrade(unlimited)
        finally:
            unlimited.dispose()

    def dispose(self) -> None:
        self.engine.dispose()


def _with_statement_timeout(url: str, seconds: float) -> str:
    """libpq's `options` for the connection: those the URL already gives (e.g. a search_path)
    and the statement timeout. connect_args would replace the URL's options, not add to them."""
    given = make_url(url).query.get("options") or ""
    if not isinstance(given, str):       # the URL named options more than once
        given = " ".join(given)
    return f"{given} -c statement_timeout={max(1, round(seconds * 1000))}".strip()
