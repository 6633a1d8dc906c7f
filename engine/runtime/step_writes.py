"""The rows a step writes, gathered in its unit of work and written together at its end.

A completed step used to write each kind of row as soon as it knew it (close the task,
drop its SLA jobs, insert the next task, its candidates and jobs, the listeners' own rows,
the instance's state, the audit events): a dozen round trips on PostgreSQL. Now the runtime
and the listeners add them to `uow.writes` (a `StepWrites`) and the save writes them at the
end of the step, in the order they were added:

- on PostgreSQL as ONE statement of data-modifying CTEs, each part reading its rows from a
  JSON parameter (`jsonb_to_recordset`), the main SELECT counting what each part touched (and
  returning the ids a part asks for). The parts are referenced by the main SELECT in order, so
  they run in the order they were added: a candidate row's trigger (migration 0005) finds the
  task row a part before it inserted;
- on SQLite as one executemany per part (in-process, a round trip costs nothing).

The rules of writable CTEs hold for the callers: every part sees the database as it was when
the statement began (not the other parts' rows), so a part must not update or delete a row
another part of the same step inserts or changes (the runtime never does: it writes the
difference between two snapshots, and an ending instance's new rows are written as they end);
an upsert part has one row per key (aggregate first).

A part with `expect` (a guard) raises the exception it is given unless it touched exactly that
many rows — the instance's optimistic version check and the completed task's check are such
parts; the step then rolls back as before. Guards are written first (in the order they were
added), the other parts after them and only when every guard matched: a step that lost a race
to a concurrent one touches nothing more (on PostgreSQL it waited for the other's row locks,
found the versions moved on, and would otherwise collide with the rows the winner inserted).
Statements are built once per shape and kept.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import Table, bindparam, delete, func, insert, update
from sqlalchemy.engine import Connection


@dataclass(eq=False)
class _Part:
    kind: str                      # insert | update | delete | upsert
    table: Table
    rows: list[dict[str, Any]]
    key: tuple[str, ...] = ()      # update/delete: the columns rows are matched on (k_<column> in a row)
    add: tuple[str, ...] = ()      # update: column = column + 1; upsert: column = column + new value
    keep: tuple[str, ...] = ()     # update: column = coalesce(column, value); upsert: coalesce(new, column)
    returning: str | None = None   # insert: the column whose values come back (e.g. generated ids)
    expect: tuple[int, Callable[[], BaseException]] | None = None
    result: list[Any] = field(default_factory=list)    # the returned values after the flush
    _columns: tuple[int, list[str]] | None = field(default=None, repr=False)

    def columns(self) -> list[str]:
        """The columns a row gives values of (key columns as k_<name>), in the table's order
        (worked out once per flush: the flush asks for them several times)."""
        if self._columns is None or self._columns[0] != len(self.rows):
            self._columns = (len(self.rows), self._work_out_columns())
        return self._columns[1]

    def _work_out_columns(self) -> list[str]:
        given = set().union(*(r.keys() for r in self.rows))
        if self.kind == "insert" or self.kind == "upsert":
            for c in self.table.columns:       # a Python-side default, as Core's insert would apply
                if c.name not in given and c.default is not None and not c.primary_key:
                    given.add(c.name)
        named = [c.name for c in self.table.columns if c.name in given]
        return [f"k_{k}" for k in self.key] + [n for n in named if n not in self.add or self.kind != "update"]

    def normalised(self) -> list[dict[str, Any]]:
        cols = self.columns()
        out = []
        for r in self.rows:
            row = {}
            for c in cols:
                if c in r:
                    row[c] = r[c]
                else:
                    d = self.table.c[c].default if not c.startswith("k_") else None
                    row[c] = None if d is None else (d.arg(None) if d.is_callable else d.arg)
            out.append(row)
        return out

    def shape(self) -> tuple[Any, ...]:
        return (self.kind, self.table.name, tuple(self.columns()), self.key, self.add, self.keep, self.returning)


class StepWrites:
    """The rows one step writes (see the module's docstring)."""

    def __init__(self) -> None:
        self.parts: list[_Part] = []

    # -- gathering -------------------------------------------------------------------------
    def insert(self, table: Table, rows: list[dict[str, Any]], returning: str | None = None) -> _Part:
        """Insert rows (a list of column -> value); `returning`: a column whose values the part
        keeps in `.result` after the flush (e.g. the ids the database gave). Rows for the table
        of the part added last join it (one part for a listener's several outbox rows)."""
        last = self.parts[-1] if self.parts else None
        if last is not None and last.kind == "insert" and last.table is table and last.returning == returning:
            last.rows.extend(rows)
            return last
        return self._add(_Part("insert", table, list(rows), returning=returning))

    def update(self, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]], add: tuple[str, ...] = (),
               keep: tuple[str, ...] = (), expect: tuple[int, Callable[[], BaseException]] | None = None) -> _Part:
        """Update the rows matching each row's k_<key column> values with its other values;
        `add`: columns raised by one; `keep`: columns set only where they are NULL;
        `expect`: (rows it must touch, the exception to raise otherwise)."""
        return self._add(_Part("update", table, list(rows), key=key, add=add, keep=keep, expect=expect))

    def delete(self, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]]) -> _Part:
        """Delete the rows matching each row's k_<key column> values."""
        return self._add(_Part("delete", table, list(rows), key=key))

    def upsert(self, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]], add: tuple[str, ...] = (),
               keep: tuple[str, ...] = ()) -> _Part:
        """Insert rows, or where their key (the primary key) exists already: `add` columns are
        increased by the row's values, `keep` columns take the row's value unless it is NULL, the
        others are left alone. At most one row per key."""
        return self._add(_Part("upsert", table, list(rows), key=key, add=add, keep=keep))

    def _add(self, part: _Part) -> _Part:
        if part.rows:
            self.parts.append(part)
        return part

    def pending(self, table: Table, key: str = "id") -> dict[Any, dict[str, Any]]:
        """What the gathered parts will make of `table`'s rows, by `key`: inserted rows whole,
        updated ones as the values they set (not `keep` ones, which depend on the stored row),
        for a listener that reads the table before the flush and must see the step's own rows
        (e.g. the 晾晒 figures reading the task rows)."""
        out: dict[Any, dict[str, Any]] = {}
        for p in self.parts:
            if p.table is not table:
                continue
            if p.kind == "insert":
                for r in p.rows:
                    out[r[key]] = dict(r)
            elif p.kind == "update" and key in p.key:
                for r in p.rows:
                    change = out.setdefault(r[f"k_{key}"], {})
                    change.update((c, v) for c, v in r.items() if not c.startswith("k_") and c not in p.keep)
        return out

    # -- writing ---------------------------------------------------------------------------
    def flush(self, conn: Connection) -> None:
        """Write everything gathered (one statement on PostgreSQL), then forget it; raises a
        part's `expect` exception when it touched another number of rows."""
        parts, self.parts = [p for p in self.parts if p.rows], []
        if not parts:
            return
        parts = [p for p in parts if p.expect is not None] + [p for p in parts if p.expect is None]
        if conn.dialect.name == "postgresql":
            counts = _flush_postgresql(conn, parts)
            for p, n in zip(parts, counts):
                if p.expect is not None and n != p.expect[0]:
                    raise p.expect[1]()
            return
        for p in parts:
            n = _flush_one(conn, p)
            if p.expect is not None and n != p.expect[0]:
                raise p.expect[1]()


# -- SQLite (and any other dialect): one executemany per part -------------------------------
_lock = threading.Lock()
_BUILT: dict[tuple[Any, ...], Any] = {}


def _built(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = make()
        with _lock:
            _BUILT[key] = stmt
    return stmt


def _core(part: _Part, dialect: str) -> Any:
    t, cols = part.table, part.columns()
    values = [c for c in cols if not c.startswith("k_")]
    where = [t.c[k] == bindparam(f"k_{k}", type_=t.c[k].type) for k in part.key]
    if part.kind == "insert":
        stmt = insert(t).values({c: bindparam(c, type_=t.c[c].type) for c in values})
        return stmt.returning(t.c[part.returning]) if part.returning else stmt
    if part.kind == "delete":
        return delete(t).where(*where)
    if part.kind == "update":
        sets: dict[str, Any] = {c: bindparam(c, type_=t.c[c].type) for c in values}
        for c in part.keep:
            sets[c] = func.coalesce(t.c[c], bindparam(c, type_=t.c[c].type))
        for c in part.add:
            sets[c] = t.c[c] + 1
        return update(t).where(*where).values(sets)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        from sqlalchemy.dialects.postgresql import insert as upsert
    stmt = upsert(t).values({c: bindparam(c, type_=t.c[c].type) for c in values})
    ex = stmt.excluded
    sets = {c: t.c[c] + ex[c] for c in part.add}
    sets.update({c: func.coalesce(ex[c], t.c[c]) for c in part.keep})
    return stmt.on_conflict_do_update(index_elements=list(part.key), set_=sets)


def _flush_one(conn: Connection, part: _Part) -> int:
    stmt = _built(("core", conn.dialect.name, part.shape()), lambda: _core(part, conn.dialect.name))
    rows = part.normalised()
    if part.returning:
        part.result = [conn.execute(stmt, r).scalar() for r in rows]
        return len(part.result)
    if part.expect is not None or len(rows) == 1:
        return sum(conn.execute(stmt, r).rowcount for r in rows)
    conn.execute(stmt, rows)
    return len(rows)


# -- PostgreSQL: one statement of data-modifying CTEs ------------------------------------------
def _pg_sql(conn: Connection, parts: list[_Part]) -> str:
    dialect = conn.dialect
    ctes, selects, guards = [], [], []
    for i, p in enumerate(parts):
        t, cols = p.table, p.columns()
        q = dialect.identifier_preparer.quote

        def typ(c: str) -> str:
            return t.c[c.removeprefix("k_")].type.compile(dialect=dialect)
        record = f"jsonb_to_recordset(%(w{i})s::jsonb) AS r({', '.join(f'{q(c)} {typ(c)}' for c in cols)})"
        values = [c for c in cols if not c.startswith("k_")]
        # only when every guard before it touched the rows it had to
        gate = [f"(SELECT count(*) FROM {g}) = {n}" for g, n in guards]
        match = " AND ".join([f"x.{q(k)} = r.{q('k_' + k)}" for k in p.key] + gate)
        name = q(t.name)
        if p.kind in ("insert", "upsert"):
            body = (f"INSERT INTO {name} AS x ({', '.join(q(c) for c in values)}) "
                    f"SELECT {', '.join('r.' + q(c) for c in values)} FROM {record}"
                    + (f" WHERE {' AND '.join(gate)}" if gate else ""))
            if p.kind == "upsert":
                sets = [f"{q(c)} = x.{q(c)} + excluded.{q(c)}" for c in p.add]
                sets += [f"{q(c)} = coalesce(excluded.{q(c)}, x.{q(c)})" for c in p.keep]
                body += f" ON CONFLICT ({', '.join(q(k) for k in p.key)}) DO UPDATE SET {', '.join(sets)}"
            ret = q(p.returning) if p.returning else "1"
        elif p.kind == "update":
            sets = [f"{q(c)} = coalesce(x.{q(c)}, r.{q(c)})" if c in p.keep else f"{q(c)} = r.{q(c)}"
                    for c in values]
            sets += [f"{q(c)} = x.{q(c)} + 1" for c in p.add]
            body = f"UPDATE {name} AS x SET {', '.join(sets)} FROM {record} WHERE {match}"
            ret = "1"
        else:
            body = f"DELETE FROM {name} AS x USING {record} WHERE {match}"
            ret = "1"
        ctes.append(f"w{i} AS ({body} RETURNING {'x.' + ret if ret != '1' else ret} AS v)")
        selects.append(f"(SELECT array_agg(v) FROM w{i}) AS n{i}" if p.returning
                       else f"(SELECT count(*) FROM w{i}) AS n{i}")
        if p.expect is not None:
            guards.append((f"w{i}", p.expect[0]))
    # the main SELECT reads the parts in order: each runs, whole, before the next one starts
    return f"WITH {', '.join(ctes)} SELECT {', '.join(selects)}"


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _flush_postgresql(conn: Connection, parts: list[_Part]) -> list[int]:
    shape = tuple((p.shape(), p.expect[0] if p.expect else None) for p in parts)
    sql = _built(("pg", shape), lambda: _pg_sql(conn, parts))
    params = {}
    for i, p in enumerate(parts):
        procs = {c: p.table.c[c.removeprefix("k_")].type.bind_processor(conn.dialect) for c in p.columns()}
        rows = [{c: (procs[c](v) if procs[c] is not None and v is not None else v) for c, v in r.items()}
                for r in p.normalised()]
        params[f"w{i}"] = json.dumps(rows, ensure_ascii=False, default=_json)
    got = conn.exec_driver_sql(sql, params).one()
    counts = []
    for p, v in zip(parts, got):
        if p.returning:
            p.result = sorted(v or [])
            counts.append(len(p.result))
        else:
            counts.append(int(v))
    return counts
