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

from typing import TYPE_CHECKING

from qihu.appeals import ledgers, notices, scope, trail
from qihu.appeals import case as case_file  # the case in front of the clerk
from qihu.appeals.documents import document_number  # 文号 of letters
from qihu.appeals.figures import Figures
from qihu.appeals.figures import check as check_figures
from qihu.appeals.portal import Portal
from qihu.appeals.saved_filters import SavedFilters

if TYPE_CHECKING:
    from qihu.engine.core import Engine

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
    listeners.step_saved.append(domain.figures.on_save)
    listeners.step_saved.append(notices.Notices(engine).on_step)   # SMS / 浙政钉 at 受理, 答复, 待评价, 督办
    listeners.colour_changed.append(domain.figures.on_colour)
    listeners.definition_checked.append(check_figures)
    engine.context_helpers["ledger"] = ledgers.add_line
    engine.context_helpers["close_ledger"] = ledgers.close_lines
    engine.context_helpers["document_number"] = document_number
    engine.access.region_readers.add(scope.DASHBOARD_GROUP)
    engine.accounts.namers.append(trail.enterprise_name)      # "qiye:QH…" reads 企业（QH…）
    engine.extensions[EXTENSION] = domain
    return domain


def of(engine: Engine) -> AppealDomain:
    """The domain installed on `engine`."""
    domain = engine.extensions.get(EXTENSION)
    if domain is None:
        raise LookupError("the appeal domain is not installed on this engine: call qihu.appeals.install(engine)")
    return domain
