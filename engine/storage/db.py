"""Database connection: SQLite (WAL) by default, PostgreSQL via URL; schema by Alembic."""
import contextvars
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_write = contextvars.ContextVar("qihu_write", default=False)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
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
        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()
