"""Database tables. Every column an inbox or a worker filters or sorts on is indexed.

The schema itself is owned by the Alembic migrations in engine/storage/migrations; these
classes must match them (tests/engine/test_migrations.py compares the two).
"""
import json
from datetime import date, datetime, timezone

from sqlalchemy import (
    BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, MetaData, false, literal_column, text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def postgresql_search_index(name: str, column: str, kind: str) -> Index:
    """An index the search (appeals/search.py) reads on PostgreSQL only, made by migration 0014:
    kind "prefix" is a B-tree of the column in the "C" collation (byte order: LIKE 'x%' is a
    range of it whatever the database's collation, read backwards for ORDER BY … DESC, which a
    varchar_pattern_ops index cannot give), kind "trgm" a pg_trgm GIN index (LIKE/ILIKE '%x%' of
    3 characters or more), kind "pairs" a pg_trgm GIN index of the column's character pairs (qihu_ext.qihu_pairs: one
    or two characters, too short for trigrams); the last two only where the extension could be
    created. SQLite has none. The column is named as an expression on purpose: Alembic's
    comparison (tests/engine/test_migrations.py) then checks it on PostgreSQL and skips it on
    SQLite, where it does not exist."""
    if kind == "prefix":         # the collation is the migration's (Alembic compares the column only)
        return Index(name, literal_column(column), info={"postgresql_collation": "C"})
    expression = literal_column(column) if kind == "trgm" else literal_column(f"qihu_ext.qihu_pairs({column})")
    return Index(name, expression, postgresql_using="gin", postgresql_ops={expression.name: "qihu_ext.gin_trgm_ops"})


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL may."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


class JSONText(TypeDecorator):
    """JSON kept as text with Chinese unescaped, the same on SQLite and PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Deployment(Base):
    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str | None] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(Base):
    """A file of a deployment (.bpmn or .dmn), stored once."""
    __tablename__ = "resource"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Definition(Base):
    """One version of one executable process; its spec is rebuilt from its deployment's resources."""
    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(300))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    # The region (tenant) it was deployed for, or its process's `region` property; None: national.
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActiveVersion(Base):
    """The version of a process new instances start on, when an administrator chose one;
    without a row the latest version is active. Running instances keep their own version."""
    __tablename__ = "active_version"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    activated_by: Mapped[str | None] = mapped_column(String(100))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageStart(Base):
    """A message that starts a definition (message start event), for correlation without a scan."""
    __tablename__ = "message_start"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="message", server_default="message")   # message | signal


class Instance(Base):
    __tablename__ = "instance"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(200), index=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    region: Mapped[str | None] = mapped_column(String(100), index=True)   # e.g. 湖州市; None = national
    status: Mapped[str] = mapped_column(String(20), index=True)  # running|suspended|completed|cancelled
    version: Mapped[int] = mapped_column(Integer, default=1)   # optimistic lock
    state: Mapped[str] = mapped_column(Text)                   # SpiffWorkflow state without the spec
    started_by: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    __mapper_args__ = {"version_id_col": version}
    # the search's 受理编号 by its start (appeals/search.py)
    __table_args__ = (postgresql_search_index("ix_instance_business_key_prefix", "business_key", "prefix"),)


class Task(Base):
    """A user task; READY ones are the inbox."""
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_inbox", "status", "assignee", "due_at"),
        Index("ix_task_done", "completed_by", "completed_at"),     # 已办: what a person handled, newest first
        # the search's colour filter: open tasks of one colour, newest first, without reading the
        # closed history (open work does not grow with the years; migration 0014)
        Index("ix_task_ready_colour", "sla_colour", "created_at", postgresql_where=text("status = 'ready'"),
              sqlite_where=text("status = 'ready'")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instance.id"), index=True)
    definition_key: Mapped[str] = mapped_column(String(200), index=True)
    element_id: Mapped[str] = mapped_column(String(200), index=True)
    name: Mapped[str | None] = mapped_column(String(300), index=True)
    lane: Mapped[str | None] = mapped_column(String(200), index=True)
    region: Mapped[str | None] = mapped_column(String(100), index=True)   # the instance's, for the inbox filter
    candidate_groups: Mapped[str | None] = mapped_column(String(1000))
    candidate_users: Mapped[str | None] = mapped_column(String(1000))
    assignee: Mapped[str | None] = mapped_column(String(100), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # due_at counted working days of a year not announced yet (暂定): re-planned when it is loaded
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=50, index=True)
    sla_colour: Mapped[str | None] = mapped_column(String(10), index=True)  # green…red, None without due date
    status: Mapped[str] = mapped_column(String(20), index=True)  # ready|completed|cancelled|returned (退单)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class TaskCandidate(Base):
    """One candidate group or user of a task, so 'tasks of my groups' is an index range.

    The row also carries a copy of what the inbox filters, counts and sorts on (the task's
    status, assignee, colour, deadline, priority, region, process, name and creation time,
    the instance's business key, and how many candidate rows the task has): an inbox of
    thousands of open tasks is then read from one range of ix_task_candidate_inbox instead of
    thousands of task lookups (bench/inbox_bench.py).
    Database triggers (migration 0005) keep the copy: they fill it when the row is inserted
    and update it whenever the task row changes, whoever writes it; nobody writes it by hand.
    """
    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_inbox", "kind", "name", "status", "candidates", "assignee",
                            "sla_colour", "due_at", "priority", "created_at", "region", "definition_key",
                            "task_name", "business_key", "task_id"),)
    task_id: Mapped[str] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)  # group|user
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # copied from task / instance by the triggers
    status: Mapped[str] = mapped_column(String(20), server_default="ready")
    assignee: Mapped[str | None] = mapped_column(String(100))
    sla_colour: Mapped[str | None] = mapped_column(String(10))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[int] = mapped_column(Integer, server_default="50")
    region: Mapped[str | None] = mapped_column(String(100))
    definition_key: Mapped[str | None] = mapped_column(String(200))
    task_name: Mapped[str | None] = mapped_column(String(100))      # the first 100 characters
    business_key: Mapped[str | None] = mapped_column(String(100))   # the first 100 characters
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    candidates: Mapped[int] = mapped_column(Integer, server_default="1")   # rows of this task


class Subscription(Base):
    """An instance waiting for a message, with the keys it can be correlated by."""
    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_corr", "message_name", "correlation_key"),
        Index("ix_subscription_bkey", "message_name", "business_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(200))
    # message (correlated to one instance by key) | signal (broadcast to every waiting instance)
    kind: Mapped[str] = mapped_column(String(10), default="message", server_default="message")
    business_key: Mapped[str | None] = mapped_column(String(200))
    correlation_key: Mapped[str | None] = mapped_column(String(64))
    correlation: Mapped[dict | None] = mapped_column(JSONText)


class Job(Base):
    """A due job: a waiting timer or a handler retry. Written with the state it belongs to."""
    __tablename__ = "job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # timer|retry|sla
    note: Mapped[str | None] = mapped_column(String(50))   # sla: the colour it turns the task
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    # due_at counted working days of a year not announced yet (暂定): re-planned when it is loaded
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Incident(Base):
    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    error_type: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    retries_left: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open|resolved|cancelled (by a return)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    # what failed: handler | delivery | calendar | script | timer | stall (types.IncidentKind)
    kind: Mapped[str] = mapped_column(String(20), default="handler", server_default="handler")
    # a delivery incident: the outbox row that cannot be delivered (on the sender and the receiver)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    receiver: Mapped[str | None] = mapped_column(String(300))   # ... and the process it was for (display name)


class Outbox(Base):
    """What a step sends beyond its own instance (a message to other instances or a message
    start; a webhook POST), written in the step's transaction and delivered afterwards, at
    least once, by whoever claims it (the process that committed, else a worker). A row is
    deleted once delivered; its receipts make a redelivery harmless."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)     # the sender
    element_id: Mapped[str | None] = mapped_column(String(200))          # the sending element
    kind: Mapped[str] = mapped_column(String(10))                        # message | webhook
    name: Mapped[str] = mapped_column(String(2000))                      # message name, or webhook URL
    business_key: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict | None] = mapped_column(JSONText)
    # the thrower's camunda:resultVariable: where the receiver keeps a payload that is not variables
    result_var: Mapped[str | None] = mapped_column(String(200))
    sent_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))


class OutboxReceipt(Base):
    """One receiver has taken one outbox row (in the receiver's own transaction): a second
    delivery of the same row finds it and does nothing."""
    __tablename__ = "outbox_receipt"
    outbox_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    receiver: Mapped[str] = mapped_column(String(250), primary_key=True)   # instance id, or start:<key>
    instance_id: Mapped[str | None] = mapped_column(String(36))            # the instance it reached or started
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoryEvent(Base):
    """Append-only audit trail: one row per transition."""
    __tablename__ = "history_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[str | None] = mapped_column(String(36))
    user: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict | None] = mapped_column(JSONText)


class Membership(Base):
    """User → group. Groups are the lanes and candidate groups of the diagrams."""
    __tablename__ = "membership"
    user: Mapped[str] = mapped_column(String(100), primary_key=True)
    group: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class GroupInfo(Base):
    """What people read for a group (a candidate group, a lane's department): its display name,
    edited by an administrator. A group without a row is shown by the name a diagram declares
    for it, else by its id."""
    __tablename__ = "group_info"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserAccount(Base):
    """A person who signs in to the web app; their groups are Membership rows of the same name."""
    __tablename__ = "user_account"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))   # werkzeug.security, never the password
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The region whose work the person sees (inbox, instances, dashboard); None = every region.
    region: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Raised by sign-out, a new password, disabling the account and "sign out everywhere": a
    # session carrying an older number is over, in every process.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)   # too many failed sign-ins


class CalendarDay(Base):
    """A day that differs from the official calendar, or a day of an administrator-loaded year.

    region '' is the national calendar (for years the chinesecalendar package does not
    know yet); a named region adds its local holidays or working days on top.
    """
    __tablename__ = "calendar_day"
    __table_args__ = (UniqueConstraint("region", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    day: Mapped[date] = mapped_column(Date, index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))


class CalendarYear(Base):
    """An administrator loaded the official calendar of this year (days not listed follow Mon-Fri)."""
    __tablename__ = "calendar_year"
    __table_args__ = (UniqueConstraint("region", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    year: Mapped[int] = mapped_column(Integer)
    loaded_by: Mapped[str | None] = mapped_column(String(100))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """A message for a user or a group (reminders, warnings), shown in their inbox."""
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "recipient_kind", "recipient", "read_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_kind: Mapped[str] = mapped_column(String(5))   # user|group
    recipient: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file of an instance: an uploaded document or a generated letter (督办函 …)."""
    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)   # the step it was added at
    kind: Mapped[str] = mapped_column(String(40), index=True)   # upload|letter
    name: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    meta: Mapped[dict | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(100))


class TaskComment(Base):
    """A remark on an appeal at a step; public ones are shown to the enterprise too."""
    __tablename__ = "task_comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    user: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationRead(Base):
    """That a user has read a notification (one row per reader: group notifications have many)."""
    __tablename__ = "notification_read"
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"),
                                                 primary_key=True)
    user: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NoticeSent(Base):
    """A notice as it landed on a channel (SMS, 浙政钉, 企业微信, e-mail, the log): one row per
    (channel, recipient, business id), written when the delivery of its outbox row succeeded or
    was held back by the channel's limits, so a redelivery of the row sends nothing twice and
    the per-day limits are counted here."""
    __tablename__ = "notice_sent"
    __table_args__ = (UniqueConstraint("channel", "recipient", "business_id"),
                      Index("ix_notice_sent_day", "channel", "recipient", "day"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(200))
    business_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    day: Mapped[str] = mapped_column(String(10))                    # YYYY-MM-DD, Beijing time
    status: Mapped[str] = mapped_column(String(20))                 # sent | same_today | over_limit
    title: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginFailure(Base):
    """A failed sign-in, counted by account name and by client address over a window: the
    limiter every process and every restart agrees on."""
    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account: Mapped[str] = mapped_column(String(100), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SecurityAudit(Base):
    """Administrator and security events (sign-in, account and group changes, deploys, incident
    actions, exports, views of personal data, calendar loads): who, when, from where, what.
    Append-only — no code path updates or deletes a row but the retention sweep, and on
    PostgreSQL a trigger refuses both — and tamper-evident: each row's hash covers its content
    and the previous row's hash (a chain `qihu audit verify` walks)."""
    __tablename__ = "security_audit"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str | None] = mapped_column(String(100), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict | None] = mapped_column(JSONText)
    algorithm: Mapped[str] = mapped_column(String(10))                 # sha256 | sm3
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ProcessHeartbeat(Base):
    """A running qihu process (a web process or a worker) says it is alive: one row per process,
    written when it starts and every heartbeat_interval seconds, deleted when it stops cleanly.
    /readyz and the operators' view read them; a row whose beat is old is a process that died."""
    __tablename__ = "process_heartbeat"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)   # host:pid:kind
    kind: Mapped[str] = mapped_column(String(20), index=True)           # web | worker
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    steps: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)   # jobs fired, rows delivered
