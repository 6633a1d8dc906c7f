"""The enterprise-appeal domain (企呼我应), built on the engine's public face.

It owns what the engine knows nothing of: the enterprise portal and its tickets, the 晾晒
figures and their tables, Excel reports, supervision ledgers, saved inbox filters, demo
data, who sees the dashboard, and the audit trail in plain words. It installs itself on an
engine: its listeners keep the figures in the step's own transaction, its checks refuse a
diagram whose figure.* properties are wrong, and it gives handlers `qihu.ledger(...)`.

    engine = Engine(...)
    appeals = install(engine)      # once per engine; the web extension and the CLI do it
    appeals.figures.monthly(...)
    of(engine) is appeals          # the domain installed on an engine
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, false, func, literal, select, union_all

from qihu.appeals import ledgers, notices, scope, trail
from qihu.appeals import case as case_file  # the case in front of the clerk
from qihu.appeals.documents import document_number  # 文号 of letters
from qihu.appeals.figures import Figures
from qihu.appeals.figures import TASK_FIELDS
from qihu.appeals.figures import check as check_figures
from qihu.appeals.models import AppealFact, AppealTicket
from qihu.appeals.portal import Portal
from qihu.appeals.privacy import Privacy
from qihu.appeals.saved_filters import SavedFilters

if TYPE_CHECKING:
    from qihu.engine.core import Engine
    from qihu.engine.runtime import UnitOfWork

EXTENSION = "appeals"     # its key in engine.extensions
COMPANY_KEYS = ("企业名称", "company", "enterprise", "企业")
SUMMARY_KEYS = ("summary", "诉求摘要", "诉求内容", "description")


def headline(data: dict) -> dict:
    """What a task page shows of an appeal: the company and the summary, from the process data."""
    def first(keys):
        return next((str(data[k]) for k in keys if data.get(k) not in (None, "")), None)
    return {"company": first(COMPANY_KEYS), "summary": first(SUMMARY_KEYS)}


class AppealDomain:
    """The appeal domain on one engine (what `install` returns and `of` finds)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.portal = Portal(engine)          # the enterprise portal (tickets, tracking, rating)
        self.figures = Figures(engine)        # the 晾晒 dashboard's figures
        self.filters = SavedFilters(engine)   # saved inbox filters
        self.privacy = Privacy(engine)        # personal fields: masking, the read log, anonymisation

    def dashboard_scope(self, user: str | None) -> scope.DashboardScope | None:
        return scope.dashboard_scope(self.engine, user)

    def trail(self, instance_id: str) -> list[dict]:
        """The audit trail in plain Chinese (appeals.trail)."""
        return trail.trail(self.engine, instance_id)

    def case(self, instance_id: str, task_id: str | None = None) -> dict:
        """The case as the clerk needs it, with the earlier work `task_id` builds on (appeals.case)."""
        return case_file.case_file(self.engine, instance_id, task_id)

    def companies(self, instance_ids: list[str]) -> dict[str, str]:
        """{instance id: company} for a list of tasks (appeals.case.companies)."""
        return case_file.companies(self.engine, instance_ids)

    def records(self, instance_id: str) -> dict:
        """What handlers wrote for an instance: the engine's attachments and notifications, and
        the ledger lines (warning list, pools, lists)."""
        return {**self.engine.history.records(instance_id), "ledger": ledgers.lines(self.engine, instance_id)}


def install(engine: Engine) -> AppealDomain:
    """Install the domain on `engine` (once; a second call returns the same domain)."""
    domain = engine.extensions.get(EXTENSION)
    if domain is not None:
        return domain
    domain = AppealDomain(engine)
    listeners = engine.listeners
    # the 晾晒 figures, then the notices (SMS / 浙政钉 at 受理, 答复, 待评价, 督办), on one read
    listeners.step_saved.append(StepListener(domain.figures, notices.Notices(engine)))
    listeners.colour_changed.append(domain.figures.on_colour)
    listeners.definition_checked.append(check_figures)
    engine.context_helpers["ledger"] = ledgers.add_line
    engine.context_helpers["close_ledger"] = ledgers.close_lines
    engine.context_helpers["document_number"] = document_number
    engine.access.region_readers.add(scope.DASHBOARD_GROUP)
    engine.listeners.periodic.append(domain.privacy.periodic)   # anonymising closed appeals' contacts
    engine.accounts.namers.append(trail.enterprise_name)      # "qiye:QH…" reads 企业（QH…）
    engine.extensions[EXTENSION] = domain
    return domain


class StepListener:
    """The domain's step_saved listener: the figures (appeals.figures.Figures.on_save), then the
    notices (appeals.notices.Notices.on_step), on one read of what both need (step_rows)."""

    def __init__(self, figures: Any, notices_: Any) -> None:
        self.figures, self.notices = figures, notices_

    def __call__(self, uow: UnitOfWork) -> None:
        from qihu.engine.tasks.notifications import written_in
        facts = self.figures.wants(uow) and not uow.instance.new    # nothing is stored yet of a new one
        told = written_in(uow.session)
        ticket = self.notices.wants_ticket(uow, told)
        fact, tasks, found = step_rows(uow, facts, ticket)
        self.figures.on_save(uow, rows=(fact, tasks) if facts else None)
        self.notices.on_step(uow, ticket=found, told=told)


_STEP_ROWS: dict[tuple[bool, bool], Any] = {}
_TICKET_COLS = ("id", "tracking_no", "contact_phone")


def _step_rows_stmt(facts: bool, ticket: bool) -> Any:
    """One query for a step's listeners: a first row with the appeal's fact row and the
    enterprise's ticket (of this instance, else of the appeal it continues: same number), then
    one row per task row of the instance."""
    stmt = _STEP_ROWS.get((facts, ticket))
    if stmt is not None:
        return stmt
    from qihu.engine.storage.models import Task
    T, F, K = Task.__table__, AppealFact.__table__, AppealTicket.__table__
    iid = bindparam("iid")
    tasks = select(T.c.id.label("tid")).where(T.c.instance_id == iid if facts else false())
    x = union_all(select(literal(None, T.c.id.type).label("tid")), tasks).subquery("x")
    first = x.c.tid.is_(None)
    of_instance = select(K.c.id).where(K.c.instance_id == iid).order_by(K.c.id).limit(1).scalar_subquery()
    of_number = select(K.c.id).where(K.c.tracking_no == bindparam("bk")).order_by(K.c.id).limit(1).scalar_subquery()
    j = x.outerjoin(T, T.c.id == x.c.tid)
    j = j.outerjoin(F, and_(first, F.c.instance_id == iid if facts else false()))
    j = j.outerjoin(K, and_(first, K.c.id == func.coalesce(of_instance, of_number) if ticket else false()))
    stmt = _STEP_ROWS[(facts, ticket)] = select(
        x.c.tid, *(T.c[c].label(f"t_{c}") for c in TASK_FIELDS), *(c.label(f"f_{c.name}") for c in F.columns),
        *(K.c[c].label(f"k_{c}") for c in _TICKET_COLS)).select_from(j)
    return stmt


def step_rows(uow: UnitOfWork, facts: bool, ticket: bool) -> tuple[Any, list[Any], Any]:
    """(fact row or None, task rows, ticket or None) of the step's instance as stored, in one
    query; only what is asked for (none at all when nothing is)."""
    if not facts and not ticket:
        return None, [], None
    conn = uow.session.connection()
    rows = conn.execute(_step_rows_stmt(facts, ticket), {"iid": uow.instance.id,
                                                          "bk": uow.instance.business_key}).all()
    fact = found = None
    tasks = []
    for r in rows:
        m = r._mapping
        if r.tid is not None:
            tasks.append(SimpleNamespace(_mapping={c: m[f"t_{c}"] for c in TASK_FIELDS},
                                         **{c: m[f"t_{c}"] for c in TASK_FIELDS}))
            continue
        if m["f_instance_id"] is not None:
            fact = {c.name: m[f"f_{c.name}"] for c in AppealFact.__table__.columns}
        if m["k_id"] is not None:
            found = SimpleNamespace(**{c: m[f"k_{c}"] for c in _TICKET_COLS})
    return fact, tasks, found


def of(engine: Engine) -> AppealDomain:
    """The domain installed on `engine`."""
    domain = engine.extensions.get(EXTENSION)
    if domain is None:
        raise LookupError("the appeal domain is not installed on this engine: call qihu.appeals.install(engine)")
    return domain
