"""notice_sent: where notices landed. One row per (channel, recipient, business id), written
when a notice was sent or held back by its channel's daily limits: a redelivery of the same
notice finds its row and sends nothing twice, and the limits are counted from these rows."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.runtime.channels.base import LIMITS, Notice
from qihu.engine.storage.models import Instance, NoticeSent

SENT, SAME_TODAY, OVER_LIMIT = "sent", "same_today", "over_limit"


def day_of(now: datetime) -> str:
    """The calendar day (Beijing time) the daily limits count in."""
    return now.astimezone(TIMEZONE).date().isoformat()


def content_hash(n: Notice) -> str:
    return hashlib.sha256(f"{n.title or ''}\n{n.text}".encode("utf-8")).hexdigest()


def landed(s: Session, notices: list[Notice]) -> set[str]:
    """The recipients of these notices (one channel and business id) that were sent, or held
    back, before: nothing more to do for them. One query for the batch."""
    if not notices:
        return set()
    first = notices[0]
    return set(s.scalars(select(NoticeSent.recipient).where(
        NoticeSent.channel == first.channel, NoticeSent.business_id == first.business_id,
        NoticeSent.recipient.in_([n.to for n in notices]))))


def held(s: Session, notices: list[Notice], day: str) -> dict[str, str]:
    """recipient -> over_limit / same_today for those the channel's daily limits hold back
    (the notices share channel and text)."""
    limits = LIMITS.get(notices[0].channel) if notices else None
    if limits is None:
        return {}
    first, to = notices[0], [n.to for n in notices]
    today = (NoticeSent.channel == first.channel, NoticeSent.recipient.in_(to), NoticeSent.day == day,
             NoticeSent.status == SENT)
    per = select(NoticeSent.recipient, func.count()).group_by(NoticeSent.recipient)
    out: dict[str, str] = {}
    if limits.per_recipient is not None:
        out.update({r: OVER_LIMIT for r, c in s.execute(per.where(*today)) if c >= limits.per_recipient})
    if limits.same_content is not None:
        same = per.where(*today, NoticeSent.content_hash == content_hash(first))
        out.update({r: SAME_TODAY for r, c in s.execute(same) if c >= limits.same_content})
    return out


def record(s: Session, notices: list[Notice], status: str, now: datetime) -> None:
    """Write the notices' rows, but those there already (a concurrent delivery wrote them first)."""
    there = landed(s, notices)
    s.add_all(NoticeSent(channel=n.channel, recipient=n.to, business_id=n.business_id, content_hash=content_hash(n),
                         day=day_of(now), status=status, title=n.title, text=n.text,
                         instance_id=n.instance_id or None, outbox_id=n.outbox_id, at=now)
              for n in notices if n.to not in there)
    s.flush()


def page(db: Any, channel: str | None = None, status: str | None = None, instance: str | None = None,
         region: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """{"items", "total"}: notice_sent rows newest first (the 通知记录 page), filtered by channel,
    status, instance (its id or business key) and region (an administrator bound to a region
    sees its instances' notices, and those of no region). Items carry the instance's business key."""
    where = [c for c in (NoticeSent.channel == channel if channel else None,
                         NoticeSent.status == status if status else None,
                         or_(NoticeSent.instance_id == instance, Instance.business_key == instance) if instance else None,
                         or_(Instance.region == region, Instance.region.is_(None)) if region else None)
             if c is not None]
    joined = select(NoticeSent, Instance.business_key).outerjoin(Instance, Instance.id == NoticeSent.instance_id)
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(NoticeSent)
                         .outerjoin(Instance, Instance.id == NoticeSent.instance_id).where(*where))
        rows = s.execute(joined.where(*where).order_by(NoticeSent.at.desc(), NoticeSent.id.desc())
                         .limit(limit).offset(offset)).all()
    items = [{"id": r.id, "channel": r.channel, "recipient": r.recipient, "business_id": r.business_id,
              "status": r.status, "title": r.title, "text": r.text, "instance_id": r.instance_id,
              "business_key": key, "day": r.day, "at": r.at.isoformat()} for r, key in rows]
    return {"items": items, "total": total}
