"""Search over every appeal a user may see (engine.access: administrators all, region readers
their region, anyone else the appeals they take part in), by company name, 统一社会信用代码,
contact phone, 受理编号 (business key / tracking number) and the enterprise's text, with the
inbox's filters (process, region, colour, status).

The text is matched against the portal ticket (appeal_ticket: company, credit_code,
contact_phone, summary, tracking_no), the 晾晒 row (appeal_fact: company, title) and the
instance's business key. Codes, phones and numbers also match exactly or by their start, which
their indexes serve; names and text match anywhere in them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, or_, select

from qihu.appeals.models import AppealFact, AppealTicket
from qihu.engine.storage.models import Instance, Task

if TYPE_CHECKING:
    from qihu.engine.core import Engine

MAX_TEXT = 100
STATUSES = ("running", "suspended", "completed", "cancelled")
COLOURS = ("red", "orange", "yellow", "green", "blue")       # worst first
T, F = AppealTicket, AppealFact


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_match(text: str) -> Any:
    """SQL condition: the appeal matches the search box's text."""
    code = text.replace(" ", "").upper()
    anywhere, start = _like(text), _prefix(code)
    return or_(
        T.company.ilike(anywhere, escape="\\"), F.company.ilike(anywhere, escape="\\"),
        T.summary.ilike(anywhere, escape="\\"), F.title.ilike(anywhere, escape="\\"),
        T.credit_code == code, T.credit_code.like(start, escape="\\"),
        T.contact_phone == text.replace(" ", ""), T.contact_phone.like(_like(text.replace(" ", "")), escape="\\"),
        Instance.business_key == text, Instance.business_key.ilike(_prefix(text), escape="\\"),
        T.tracking_no == code, T.tracking_no.like(start, escape="\\"),
    )


def check(text: str | None, status: str | None, colour: str | None) -> None:
    """ValueError naming a bad filter."""
    if text and len(text) > MAX_TEXT:
        raise ValueError(f"q: longer than {MAX_TEXT} characters")
    if status and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if colour and colour not in COLOURS:
        raise ValueError(f"colour must be one of {', '.join(COLOURS)}")


def search(engine: Engine, user: str | None, text: str | None = None, definition_key: str | None = None,
           region: str | None = None, colour: str | None = None, status: str | None = None,
           limit: int = 20, offset: int = 0) -> dict:
    """One page of the appeals `user` may see that match, newest first: {"items": [{"instance_id",
    "business_key", "definition_key", "region", "status", "started_at", "company", "credit_code",
    "contact_phone", "summary", "open_tasks": [names], "colour" (the worst of its open tasks)}],
    "total"}. colour: an open task of that colour; status: the instance's. ValueError for a bad
    filter; nothing for anonymous callers."""
    text = (text or "").strip() or None
    check(text, status, colour)
    if not user:
        return {"items": [], "total": 0}
    with engine.db.read() as s:
        scope = engine.access.instance_scope(user, s)
        where = [] if scope is None else [scope]
        if text:
            where.append(_text_match(text))
        if definition_key:
            where.append(Instance.definition_key == definition_key)
        if region:
            where.append(Instance.region == region)
        if status:
            where.append(Instance.status == status)
        if colour:
            where.append(exists().where(Task.instance_id == Instance.id, Task.status == "ready",
                                        Task.sla_colour == colour))
        base = select(Instance.id).outerjoin(T, T.instance_id == Instance.id) \
            .outerjoin(F, F.instance_id == Instance.id).where(*where)
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = s.execute(
            select(Instance, T.company, T.credit_code, T.contact_phone, T.summary, F.company, F.title)
            .outerjoin(T, T.instance_id == Instance.id).outerjoin(F, F.instance_id == Instance.id).where(*where)
            .order_by(Instance.started_at.desc(), Instance.id).limit(limit).offset(offset)).all() if limit else []
        ids = [r[0].id for r in rows]
        open_tasks: dict[str, list] = {}
        for iid, name, element, c in s.execute(select(Task.instance_id, Task.name, Task.element_id, Task.sla_colour)
                                               .where(Task.instance_id.in_(ids or [""]), Task.status == "ready")
                                               .order_by(Task.created_at)):
            open_tasks.setdefault(iid, []).append((name or element, c))
    items = []
    for i, company, code, phone, summary, fact_company, title in rows:
        tasks = open_tasks.get(i.id, [])
        colours = [c for _, c in tasks if c]
        items.append({"instance_id": i.id, "business_key": i.business_key, "definition_key": i.definition_key,
                      "region": i.region, "status": i.status, "started_at": i.started_at.isoformat(),
                      "company": company or fact_company, "credit_code": code, "contact_phone": phone,
                      "summary": summary or title, "open_tasks": [n for n, _ in tasks],
                      "colour": min(colours, key=COLOURS.index) if colours else None})
    return {"items": items, "total": total}
