"""The appeal domain's tables: portal tickets, supervision ledgers, saved inbox filters and the
晾晒 figures. They share the engine's metadata (one schema, one Alembic history in
engine/storage/migrations), and only the domain reads or writes them.
"""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qihu.engine.storage.models import Base, JSONText, UTCDateTime, postgresql_search_index, utcnow


class LedgerEntry(Base):
    """A line of a supervision ledger: warning list, provincial escalation, say-no pool, …"""
    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_kind_open", "kind", "closed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppealTicket(Base):
    """An appeal an enterprise submitted without an account: its tracking number (said on the
    phone) and the private link's token, kept only as a SHA-256 hash."""
    __tablename__ = "appeal_ticket"
    # the clerk's search on PostgreSQL (appeals/search.py, migration 0014): codes by their start,
    # names, text and phone anywhere in them
    __table_args__ = (
        postgresql_search_index("ix_appeal_ticket_credit_code_prefix", "credit_code", "prefix"),
        postgresql_search_index("ix_appeal_ticket_tracking_no_prefix", "tracking_no", "prefix"),
        postgresql_search_index("ix_appeal_ticket_company_trgm", "company", "trgm"),
        postgresql_search_index("ix_appeal_ticket_summary_trgm", "summary", "trgm"),
        postgresql_search_index("ix_appeal_ticket_contact_phone_trgm", "contact_phone", "trgm"),
        postgresql_search_index("ix_appeal_ticket_company_pairs", "company", "pairs"),
        postgresql_search_index("ix_appeal_ticket_summary_pairs", "summary", "pairs"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    definition_key: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    contact_name: Mapped[str] = mapped_column(String(100))
    contact_phone: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # how it arrived (企业自主提交, 电话, 窗口, 企业码, 恳谈会, 观察员…) and, when staff registered
    # it, who; the enterprise's own text, for the staff search
    channel: Mapped[str | None] = mapped_column(String(50))
    registered_by: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(String(2000))


class SavedFilter(Base):
    """An inbox filter a user named and kept (the inbox query string)."""
    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppealFact(Base):
    """One row per appeal of a process that declares figures (figure.* properties): what the
    晾晒 dashboard and the 台账 export read. Written by appeals/figures.py in the same
    transaction as the instance state; nobody writes it by hand."""
    __tablename__ = "appeal_fact"
    __table_args__ = (
        # open items by colour (warning board, colour counts): whole scope, region, department
        Index("ix_appeal_fact_open", "status", "colour_rank", "deadline"),
        Index("ix_appeal_fact_open_region", "status", "region", "colour_rank", "deadline"),
        Index("ix_appeal_fact_open_department", "status", "department", "colour_rank", "deadline"),
        Index("ix_appeal_fact_ledger", "month", "started_at"),
        # the clerk's search (appeals/search.py, migration 0014): newest first, and on PostgreSQL
        # names and titles anywhere in them
        Index("ix_appeal_fact_started_at", "started_at"),
        postgresql_search_index("ix_appeal_fact_company_trgm", "company", "trgm"),
        postgresql_search_index("ix_appeal_fact_title_trgm", "title", "trgm"),
        postgresql_search_index("ix_appeal_fact_company_pairs", "company", "pairs"),
        postgresql_search_index("ix_appeal_fact_title_pairs", "title", "pairs"),
    )
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_key: Mapped[str] = mapped_column(String(200))
    mechanism_name: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(200))
    department_name: Mapped[str | None] = mapped_column(String(300))
    business_key: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    company: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    month: Mapped[str] = mapped_column(String(7))            # YYYY-MM of started_at, Beijing time
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_month: Mapped[str | None] = mapped_column(String(7))
    outcome: Mapped[str | None] = mapped_column(String(10))  # solved|unsolved; None while open
    solved_late: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(50))
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    colour: Mapped[str | None] = mapped_column(String(10))
    colour_rank: Mapped[int] = mapped_column(Integer, default=9)   # 0 red … 5 no colour; 9 closed
    open_task: Mapped[str | None] = mapped_column(String(300))
    workdays: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))   # running|completed|cancelled
    stages: Mapped[list | None] = mapped_column(JSONText)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FigureMonth(Base):
    """Monthly counters per (month accepted, region, mechanism, department): kept by increments
    and decrements whenever an appeal_fact row changes, so the dashboard reads a few hundred
    rows instead of counting a million. Region and department '' stand for none."""
    __tablename__ = "figure_month"
    __table_args__ = (Index("ix_figure_month_department", "department", "month"),
                      Index("ix_figure_month_region", "region", "month"))
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    region: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    department: Mapped[str] = mapped_column(String(200), primary_key=True)
    mechanism_name: Mapped[str | None] = mapped_column(String(300))
    department_name: Mapped[str | None] = mapped_column(String(300))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    solved_late: Mapped[int] = mapped_column(Integer, default=0)
    sign_counted: Mapped[int] = mapped_column(Integer, default=0)
    signed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    workdays_sum: Mapped[float] = mapped_column(Float, default=0.0)


class DocumentSequence(Base):
    """The last 文号 issued per (region, kind of letter, year): 督办〔2026〕12号. Incremented
    in the transaction of the step that issues the letter, so a step that rolls back gives
    its number back: the sequence has no gaps and never repeats. Region '' stands for none."""
    __tablename__ = "document_sequence"
    region: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class LookupCode(Base):
    """A one-time code sent to an appeal's contact phone, so an enterprise that lost its
    tracking link gets back in with its 受理编号. Only the code's hash is kept; `client` (the
    requester's address) and the rows' times are what the rate limits count."""
    __tablename__ = "lookup_code"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_no: Mapped[str] = mapped_column(String(40), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PersonalDataRead(Base):
    """One read of an appeal's personal fields (the complainant's name, phone…): who, when, which
    appeal, from which page or export, which fields, in full or masked (appeals/privacy.py). A
    read is no step: one insert of its own, listed per appeal and per user for administrators
    and supervisors (个人信息查看记录). An export is one row (instance_id None) naming the appeals
    it held in `instances`, so a 10,000-row 台账 is one insert, not 10,000."""
    __tablename__ = "personal_data_read"
    __table_args__ = (
        Index("ix_personal_data_read_instance", "instance_id", "at"),
        Index("ix_personal_data_read_user", "user", "at"),
        Index("ix_personal_data_read_source", "source", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    client: Mapped[str | None] = mapped_column(String(64))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    business_key: Mapped[str | None] = mapped_column(String(200))
    # task | instance | search | print | api | export | reveal
    source: Mapped[str] = mapped_column(String(20))
    fields: Mapped[list | None] = mapped_column(JSONText)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    # an export's appeals (instance ids, comma-separated), for the listing per appeal
    instances: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONText)
