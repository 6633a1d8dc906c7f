"""Search over every appeal a user may see (engine.access: administrators all, region readers
their region, anyone else the appeals they take part in), by company name, 统一社会信用代码,
contact phone, 受理编号 (business key / tracking number) and the enterprise's text, with the
inbox's filters (process, region, colour, status).

The text is matched against the portal ticket (appeal_ticket: company, summary, credit_code,
contact_phone, tracking_no), the 晾晒 row (appeal_fact: company, title) and the instance's
business key: names, text and the phone anywhere in them (a clerk types the last digits of a
phone), codes and numbers by their start (a whole code is its own start).

It stays fast at ten million appeals because no query reads the history to answer (issue 17,
bench/search_bench.py):
- ids first: each kind of match is its own query giving instance ids, at most CAP + 1, with
  the user's scope and the filters. When at most CAP appeals match, the page is sorted from
  those ids and the total is exact; when more match, nobody counts the rest: the total is CAP
  with `total_capped` ("200+"; the clerk is asked to narrow the search).
- a word (names, the enterprise's text, the phone) is read from its index on PostgreSQL
  (migration 0014: pg_trgm GIN, and a GIN of character pairs for one or two characters) in no
  useful order: a rare word's lists are short, and the planner reads a common one from the
  table, stopping after CAP + 1 matches. With more than CAP matches, the page is read again
  from the newest WINDOW rows of the table, newest first, with a plain test of each row: a
  common word fills it there, exactly the newest, in at most WINDOW rows whatever the table's
  size; a rarer one (more than CAP matches, but fewer than a page among the newest) gives the
  newest of those found.
- codes are read from their B-tree by their start (the column in the "C" collation): a 受理编号 or
  business key prefix newest first (the number starts with the date: an old day's prefix reads that day,
  not the appeals since).
- the colour filter alone is read from the open tasks of that colour (ix_task_ready_colour),
  which do not grow with the years; the other filters alone read the newest appeals until a
  page is full and count at most CAP + 1.
A pattern too short for trigrams (fewer than 3 characters) or a database without pg_trgm gives
the same results, read from the table instead of the index.
"""
from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import and_, exists, func, literal, or_, select, text as text_sql, union_all
from sqlalchemy.orm import aliased

from qihu.appeals.models import AppealFact, AppealTicket
from qihu.engine.storage.models import Instance, Task

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

    from qihu.engine.core import Engine

MAX_TEXT = 100
CAP = 200             # the most matches counted; more are shown as "200+"
WINDOW = 5000         # with more than CAP matches: the newest rows of a table read for the page
STATUSES = ("running", "suspended", "completed", "cancelled")
COLOURS = ("red", "orange", "yellow", "green", "blue")       # worst first
T, F = AppealTicket, AppealFact
ESCAPE = "\\"
LEGAL_FORMS = re.compile("股份有限公司|有限责任公司|有限公司|集团|公司")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(column: Any, text: str) -> Any:
    """`column` holds `text`, any case: LIKE when the text has no letter that has a case
    (Chinese, digits), which compares bytes and is several times cheaper than ILIKE."""
    pattern = f"%{_escape(text)}%"
    return column.like(pattern, escape=ESCAPE) if text.lower() == text.upper() else \
        column.ilike(pattern, escape=ESCAPE)


def _anywhere(column: Any, text: str, pairs: bool) -> Any:
    """SQL condition: `text` is anywhere in `column`, any case, as an index serves it.

    One or two characters have no trigram: with `pairs` (PostgreSQL with migration 0014's
    qihu_ext.qihu_pairs) they are matched as a word of the column's character pairs, which its
    pairs index serves; else the table is read. The legal form of a company (有限公司, 集团 …) is
    in nearly every name, so its trigrams' lists in the index are as long as the table: the index
    is asked for the longest part of the text without it, and the whole text is checked on the
    rows that part finds (`column || ''` is no indexed column)."""
    if len(text) < 3:
        if not pairs:
            return _like(column + "", text)
        word = _escape(text.lower())
        return func.qihu_ext.qihu_pairs(column).like(f"% {word} %" if len(text) == 2 else f"% {word}%",
                                                     escape=ESCAPE)
    part = max(LEGAL_FORMS.split(text), key=len)
    if len(part) < 3 or part == text:
        return _like(column, text)
    return and_(_like(column, part), _like(column + "", text))


class Kind(NamedTuple):
    """One kind of match: its table, its condition as an index serves it, the same as a plain
    test of a row (None for codes, whose index is read in a bounded range anyway), the index's
    own newest-first order (受理编号 and business keys start with the date) and the table's
    time order (a ticket's id grows with time, a 晾晒 row has its start)."""
    table: Any
    indexed: Any
    plain: Any
    order: Any
    time: Any


def _kinds(text: str, pairs: bool, postgresql: bool) -> list[Kind]:
    """The search box's text as the kinds of match it may be."""
    code = text.replace(" ", "").upper()
    phone = text.replace(" ", "")

    def c(column: Any) -> Any:
        """A code column in byte order, as migration 0014's prefix index holds it on PostgreSQL:
        LIKE 'x%' is then a range of it, read backwards for newest first."""
        return column.collate("C") if postgresql else column
    ticket = [_anywhere(T.company, text, pairs), _anywhere(T.summary, text, pairs)]
    ticket_plain = [_like(T.company + "", text), _like(T.summary + "", text)]
    if any(c.isdigit() for c in phone):          # the phone anywhere: its last digits, say
        ticket.append((T.contact_phone + "" if len(phone) < 3 else T.contact_phone)
                      .like(f"%{_escape(phone)}%", escape=ESCAPE))
        ticket_plain.append((T.contact_phone + "").like(f"%{_escape(phone)}%", escape=ESCAPE))
    kinds = [Kind(T, or_(*ticket), or_(*ticket_plain), None, T.id),
             Kind(F, or_(_anywhere(F.company, text, pairs), _anywhere(F.title, text, pairs)),
                  or_(_like(F.company + "", text), _like(F.title + "", text)), None, F.started_at)]
    if code.isascii():        # codes and numbers are ASCII: a Chinese word is none of them
        kinds.append(Kind(T, c(T.credit_code).like(f"{_escape(code)}%", escape=ESCAPE), None, None, T.id))
        kinds.append(Kind(T, c(T.tracking_no).like(f"{_escape(code)}%", escape=ESCAPE), None,
                          c(T.tracking_no).desc(), None))
    # business keys by their start, as typed and in capitals (受理编号 are in capitals; LIKE, unlike
    # ILIKE, is what the prefix index serves)
    for key in dict.fromkeys((text, text.upper())):
        kinds.append(Kind(Instance, c(Instance.business_key).like(f"{_escape(key)}%", escape=ESCAPE), None,
                          c(Instance.business_key).desc(), None))
    return kinds


def _id_query(table: Any, cond: Any, where: list[Any]) -> Select:
    """Instance ids of one kind of match, with the scope and filters `where`."""
    if table is Instance:
        return select(Instance.id.label("id")).where(cond, *where)
    q = select(table.instance_id.label("id")).where(cond)
    return q.join(Instance, Instance.id == table.instance_id).where(*where) if where else q


def _union(s: Session, queries: list[Select], limit: int = CAP + 1) -> tuple[list[str], list[int]]:
    """The union of the queries' ids (at most `limit` of each, in one round trip, in their
    order), and the queries that stopped at that limit."""
    if not queries:
        return [], []
    subqueries = [q.limit(limit).subquery() for q in queries]
    rows = s.execute(union_all(*[select(sq.c.id, literal(n).label("n")) for n, sq in enumerate(subqueries)])).all()
    per_query: dict[int, int] = {}
    for _, n in rows:
        per_query[n] = per_query.get(n, 0) + 1
    return list(dict.fromkeys(iid for iid, _ in rows)), [n for n, c in per_query.items() if c >= limit]


def _newest(s: Session, kinds: list[Kind], where: list[Any], need: int) -> tuple[list[str], list[int]]:
    """Each kind's newest `need` matches among the newest WINDOW rows of its table, newest first,
    with a plain test of each row (at most WINDOW rows each, however large the table); and the
    kinds that found `need`."""
    since: dict[Any, Any] = {}       # per table (each has one time order)
    for k in kinds:
        if k.table not in since:
            since[k.table] = s.scalar(select(k.time).order_by(k.time.desc()).offset(WINDOW).limit(1))
    return _union(s, [(_id_query(k.table, k.plain, where) if since[k.table] is None else
                       _id_query(k.table, k.plain, [*where, k.time >= since[k.table]])).order_by(k.time.desc())
                      for k in kinds], need)


def _text_ids(s: Session, kinds: list[Kind], where: list[Any], need: int, short: bool) -> tuple[list[str], bool]:
    """The ids of appeals matching the kinds (with `where`) and whether more than CAP match.

    Each kind is read from its index (on PostgreSQL), at most CAP + 1 ids, in no useful order
    (受理编号 and business keys newest first): a rare word's index lists are short, and a common
    word is found within the first rows of the table, as the planner expects. A kind found more
    than CAP times is then read again for the page: its newest `need` among the newest WINDOW rows
    (_newest). A common word fills them, and they are exactly the newest.

    Once the first table's words passed CAP, the second's are read a page's worth only. A `short` text
    (one or two characters) is looked for among the newest rows first: its index is of character
    pairs made by a function, too dear to run on every row the planner reads for a common text,
    so a text found more than CAP times there is not read from the index at all."""
    done: list[int] = []
    ids: list[str] = []
    if short:
        first = [n for n, k in enumerate(kinds) if k.plain is not None]
        ids, full = _newest(s, [kinds[n] for n in first], where, CAP + 1)
        done = [first[n] for n in full]
    rest = [n for n in range(len(kinds)) if n not in done]
    words = [n for n in rest if kinds[n].plain is not None]
    # the second table's words: when the first table's passed CAP already, only a page's worth
    # is read from the index (a common word is not read twice past CAP: for a staff member each
    # row read is a check of their scope), and if that fills, the page from the newest rows
    batches = [[n for n in rest if n not in words[1:]], words[1:]]
    capped, found, full, paged = bool(done), [], [], []
    for batch in batches:
        limit = need if done or any(kinds[n].plain is not None for n in full) else CAP + 1
        if not batch:
            continue
        got, stopped = _union(s, [_id_query(kinds[n].table, kinds[n].indexed, where) if kinds[n].order is None
                                  else _id_query(kinds[n].table, kinds[n].indexed, where).order_by(kinds[n].order)
                                  for n in batch], limit)
        found += got
        (full if limit > CAP else paged).extend(batch[i] for i in stopped)
        capped = capped or bool(full) or len(set(ids + found)) > CAP
    again = [] if short else [kinds[n] for n in [*full, *paged] if kinds[n].plain is not None]
    if again:
        ids += _newest(s, again, where, need)[0]
    return list(dict.fromkeys([*ids, *found])), capped


_PAIRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _has_pairs(engine: Engine, s: Session) -> bool:
    """Whether the database has qihu_ext.qihu_pairs (PostgreSQL after migration 0014, where the
    role could create it), asked once per engine."""
    db = engine.db.engine
    if db not in _PAIRS:
        _PAIRS[db] = not engine.db.is_sqlite and bool(
            s.scalar(text_sql("SELECT to_regprocedure('qihu_ext.qihu_pairs(varchar)') IS NOT NULL")))
    return _PAIRS[db]


def _colour_ids(s: Session, colour: str, where: list[Any]) -> tuple[list[str], bool]:
    """Instances with an open task of `colour` (and `where`), those with the newest such tasks
    first, from ix_task_ready_colour: at most CAP + 1 distinct ids; whether there are more."""
    task = aliased(Task)      # the scope's own conditions on Task stay its own (no correlation)
    q = select(task.instance_id).where(task.status == "ready", task.sla_colour == colour)
    if where:
        q = q.join(Instance, Instance.id == task.instance_id).where(*where)
    q = q.order_by(task.created_at.desc())
    rows = CAP + 1
    while True:          # an instance may have several open tasks: read on until CAP + 1 distinct
        got = s.scalars(q.limit(rows)).all()
        ids = list(dict.fromkeys(got))
        if len(ids) > CAP or len(got) < rows:
            return ids[:CAP + 1], len(ids) > CAP
        rows *= 4


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
    "total", "total_capped"}. colour: an open task of that colour; status: the instance's.
    When more than CAP appeals match, "total" is CAP, "total_capped" True and the pages hold CAP
    of them (the newest, as far as the indexes tell without reading the rest; see the module
    doc). ValueError for a bad filter; nothing for anonymous callers."""
    text = (text or "").strip() or None
    check(text, status, colour)
    if not user:
        return {"items": [], "total": 0, "total_capped": False}
    with engine.db.read() as s:
        if not engine.db.is_sqlite:
            # every query here is short; a plan over a large table can still cost more than
            # jit_above_cost, and compiling it took longer than running it (226 ms of JIT on a
            # 100 ms search, 1M appeals). For this transaction only.
            s.execute(text_sql("SET LOCAL jit = off"))
        scope = engine.access.instance_scope(user, s)
        where = [] if scope is None else [scope]
        if definition_key:
            where.append(Instance.definition_key == definition_key)
        if region:
            where.append(Instance.region == region)
        if status:
            where.append(Instance.status == status)
        coloured = exists().where(Task.instance_id == Instance.id, Task.status == "ready", Task.sla_colour == colour) \
            if colour else None
        if text:
            ids, capped = _text_ids(s, _kinds(text, _has_pairs(engine, s), not engine.db.is_sqlite),
                                    where + ([coloured] if colour else []),
                                    max(1, min(CAP, offset + limit)), len(text) < 3)
        elif colour:
            ids, capped = _colour_ids(s, colour, where)
        else:       # the filters alone: the newest CAP + 1 appeals (ix_instance_started_at, backwards)
            ids = list(s.scalars(select(Instance.id).where(*where)
                                 .order_by(Instance.started_at.desc(), Instance.id).limit(CAP + 1)))
            capped = len(ids) > CAP
        total = CAP if capped else len(ids)
        if capped:                   # the pages hold CAP appeals; beyond is for a narrower search
            limit = max(0, min(limit, CAP - offset))
        newest = (Instance.started_at.desc(), Instance.id)
        # the page's ids first (the filters alone gave them in this order already), then only
        # their rows, and of the instance the columns shown, not its state (often kilobytes)
        if not ids or not limit:
            page_ids: list[str] = []
        elif text or colour:
            page_ids = list(s.scalars(select(Instance.id).where(Instance.id.in_(ids)).order_by(*newest)
                                      .limit(limit).offset(offset)))
        else:
            page_ids = ids[offset:offset + limit]
        rows = s.execute(select(Instance.id, Instance.business_key, Instance.definition_key, Instance.region,
                                Instance.status, Instance.started_at, T.company, T.credit_code, T.contact_phone,
                                T.summary, F.company, F.title)
                         .outerjoin(T, T.instance_id == Instance.id).outerjoin(F, F.instance_id == Instance.id)
                         .where(Instance.id.in_(page_ids)).order_by(*newest)).all() if page_ids else []
        open_tasks: dict[str, list] = {}
        for iid, name, element, c in s.execute(select(Task.instance_id, Task.name, Task.element_id, Task.sla_colour)
                                               .where(Task.instance_id.in_(page_ids), Task.status == "ready")
                                               .order_by(Task.created_at)):
            open_tasks.setdefault(iid, []).append((name or element, c))
    items = []
    for iid, key, definition_key, region, status, started_at, company, code, phone, summary, fact_company, title \
            in rows:
        tasks = open_tasks.get(iid, [])
        colours = [c for _, c in tasks if c]
        items.append({"instance_id": iid, "business_key": key, "definition_key": definition_key,
                      "region": region, "status": status, "started_at": started_at.isoformat(),
                      "company": company or fact_company, "credit_code": code, "contact_phone": phone,
                      "summary": summary or title, "open_tasks": [n for n, _ in tasks],
                      "colour": min(colours, key=COLOURS.index) if colours else None})
    return {"items": items, "total": total, "total_capped": capped}
