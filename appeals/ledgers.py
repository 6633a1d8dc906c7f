"""Supervision ledgers (督办台账): the warning list, provincial escalations, the say-no pool,
the three lists of mock accountability, … A handler adds and closes lines through its
context (`qihu.ledger(...)`, `qihu.close_ledger(...)`), in the step's transaction."""
import re

from sqlalchemy import select, update

from qihu.appeals.models import LedgerEntry

# The lists the bundled mechanisms keep, by kind. A diagram may name a list of its own (a
# lower-case identifier, with its Chinese name given when the line is written): a regional
# variant adds a list without a line of Python.
KIND_NAMES = {
    "warning_list": "预警名单", "provincial_escalation": "报省营商环境专班", "say_no_pool": "说不评议候选池",
    "problem_list": "问题清单", "qiantang_evaluation": "一事一评", "responsibility_list": "责任清单",
    "experience_list": "经验清单", "case_library": "案例库", "rule_library": "长效机制",
    "policy_suggestion": "政策建议", "tracking_library": "问题处置跟踪库", "discipline_referral": "移送纪委监委",
    "joint_meeting_agenda": "联席会议议题", "rating": "企业评价（好差评）",
}
KIND_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def kind_name(kind, given=None):
    """The Chinese name of a list: a known kind's, else the name a diagram gave its own list.
    ValueError for a kind that is neither known nor an identifier."""
    if kind in KIND_NAMES:
        return KIND_NAMES[kind]
    if not isinstance(kind, str) or not KIND_ID.match(kind):
        raise ValueError(f"清单类型应为小写英文标识 (ledger kind {kind!r} must match {KIND_ID.pattern}); "
                         f"known kinds: {', '.join(KIND_NAMES)}")
    return str(given or kind)


def add_line(context, kind, title=None, data=None, list_name=None):
    """Add a line to a ledger for the handler's instance; returns its id. A list of the
    diagram's own keeps its name (`list_name`) in the line's data."""
    name = kind_name(kind, list_name)
    if kind not in KIND_NAMES:
        data = {**(data or {}), "kind_name": name}
    row = LedgerEntry(kind=kind, instance_id=context.instance_id, task_id=context.task_id, title=title or name,
                      data=data, created_at=context.now)
    context.session.add(row)
    context.session.flush()
    return row.id


def close_lines(context, kind):
    """Close the handler's instance's open lines of a ledger (e.g. it left the say-no pool)."""
    kind_name(kind)
    res = context.session.execute(update(LedgerEntry.__table__).where(
        LedgerEntry.instance_id == context.instance_id, LedgerEntry.kind == kind,
        LedgerEntry.closed_at.is_(None)).values(closed_at=context.now))
    return res.rowcount


def lines(engine, instance_id):
    """The instance's ledger lines, oldest first, each with its list's Chinese name (kind_name)."""
    iso = lambda d: d.isoformat() if d else None   # noqa: E731
    with engine.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == instance_id)
                         .order_by(LedgerEntry.id)).all()
        return [{"id": e.id, "kind": e.kind, "kind_name": KIND_NAMES.get(e.kind) or (e.data or {}).get("kind_name")
                 or e.kind, "title": e.title, "data": e.data,
                 "created_at": iso(e.created_at), "closed_at": iso(e.closed_at)} for e in rows]
