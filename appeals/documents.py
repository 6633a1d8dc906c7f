"""文号 of the letters a mechanism sends: 督办〔2026〕12号, one sequence per region, kind (the
发文机关代字, e.g. 督办 or 湖企服督) and year, gap-free and never reused.

A handler asks its context: `qihu.document_number("督办")`. The number is taken in the step's own
transaction (the document_sequence row, appeals.models.DocumentSequence), so a step that rolls
back gives its number back, and two steps issuing at once get distinct consecutive numbers:
the increment is one `UPDATE … SET last = last + 1 … RETURNING last`, which locks the row until
the step commits (PostgreSQL: the row lock a SELECT … FOR UPDATE would take, without a second
round trip; SQLite: writes run one at a time, BEGIN IMMEDIATE). The first number of a year
inserts the row; when two steps both find it missing, the second one's insert fails on the
primary key (inside a savepoint), and it increments the row the first one committed.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qihu.appeals.models import DocumentSequence
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.storage.models import Instance

_SEQ = DocumentSequence.__table__


def document_number(context: Any, kind: str, region: str | None = None) -> str:
    """The next 文号 of `kind` for the handler's instance's region in the year of the step (Beijing
    time): "督办〔2026〕12号". `region` overrides the instance's region ('' for none)."""
    kind = (kind or "").strip()
    if not kind or len(kind) > 20:
        raise ValueError(f"发文机关代字应为 1 至 20 个字 (document kind {kind!r} must be 1-20 characters)")
    if region is None:
        region = instance_region(context.session, context.instance_id)
    year = context.now.astimezone(TIMEZONE).year
    return f"{kind}〔{year}〕{next_in_sequence(context.session, region or '', kind, year)}号"


def instance_region(session: Session, instance_id: str) -> str:
    """The instance's region; '' before the instance is first saved (a letter in the very step
    that starts it, which no bundled diagram sends: it may pass `region` instead)."""
    return session.execute(select(Instance.region).where(Instance.id == instance_id)).scalar() or ""


def next_in_sequence(session: Session, region: str, kind: str, year: int) -> int:
    """Increment the (region, kind, year) sequence in the session's transaction; returns the number."""
    key = (_SEQ.c.region == region, _SEQ.c.kind == kind, _SEQ.c.year == year)
    for _ in range(2):
        n = session.execute(update(_SEQ).where(*key).values(last=_SEQ.c.last + 1).returning(_SEQ.c.last)).scalar()
        if n is not None:
            return int(n)
        try:
            with session.begin_nested():
                session.execute(insert(_SEQ).values(region=region, kind=kind, year=year, last=1))
            return 1
        except IntegrityError:
            continue     # another step inserted the year's first number meanwhile: take the next
    raise RuntimeError(f"文号序列无法递增 (document sequence {region!r}/{kind}/{year} could not be incremented)")


def issued(session: Session, region: str, kind: str, year: int) -> int:
    """How many numbers of the sequence were issued (its last number; 0 for none)."""
    key = (_SEQ.c.region == region, _SEQ.c.kind == kind, _SEQ.c.year == year)
    return int(session.execute(select(_SEQ.c.last).where(*key)).scalar() or 0)
