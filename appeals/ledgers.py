"""Supervision ledgers (督办台账): the warning list, provincial escalations, the say-no pool,
the three lists of mock accountability, … A handler adds and closes lines through its
context (`qihu.ledger(...)`, `qihu.close_ledger(...)`), in the step's transaction."""
from sqlalchemy import select, update

from qihu.appeals.models import LedgerEntry


def add_line(context, kind, title=None, data=None):
    """Add a line to a ledger for the handler's instance; returns its id."""
    row = LedgerEntry(kind=kind, instance_id=context.instance_id, task_id=context.task_id, title=title,
                      data=data, created_at=context.now)
    context.session.add(row)
    context.session.flush()
    return row.id


def close_lines(context, kind):
    """Close the handler's instance's open lines of a ledger (e.g. it left the say-no pool)."""
    res = context.session.execute(update(LedgerEntry.__table__).where(
        LedgerEntry.instance_id == context.instance_id, LedgerEntry.kind == kind,
        LedgerEntry.closed_at.is_(None)).values(closed_at=context.now))
    return res.rowcount


def lines(engine, instance_id):
    """The instance's ledger lines, oldest first."""
    iso = lambda d: d.isoformat() if d else None   # noqa: E731
    with engine.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == instance_id)
                         .order_by(LedgerEntry.id)).all()
        return [{"id": e.id, "kind": e.kind, "title": e.title, "data": e.data,
                 "created_at": iso(e.created_at), "closed_at": iso(e.closed_at)} for e in rows]
