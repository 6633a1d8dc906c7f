"""What a case is, as the clerk in front of it needs it: who the enterprise is and how to reach
it, what it asked and how the appeal arrived, the deadline, the history in plain words, and the
work earlier steps did that the step at hand builds on (前序办理情况).

Everything comes from the process variables (what the portal, a registration step or a handler
set), the portal's ticket when the appeal came through one (appeals/models.py AppealTicket),
the 晾晒 row for the appeal's deadline, and the audit trail. Option ids (category `policy`,
rating `2`) are said by the names the diagram's forms give them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from qihu.appeals import trail as trail_module
from qihu.appeals.models import AppealFact, AppealTicket
from qihu.engine.errors import QihuError

if TYPE_CHECKING:
    from qihu.engine.core import Engine

COMPANY_KEYS = ("企业名称", "company", "enterprise", "企业")
SUMMARY_KEYS = ("summary", "诉求摘要", "诉求内容", "description")
# What the case header already shows: left out of the earlier steps' values, so the
# registration step's copy of the summary is not read twice.
HEADER_FIELDS = {*COMPANY_KEYS, *SUMMARY_KEYS, "credit_code", "contact_name", "contact_phone", "category", "channel"}
YES_NO = {True: "是", False: "否"}


def _first(data: dict, keys) -> str | None:
    return next((str(data[k]) for k in keys if data.get(k) not in (None, "")), None)


def option_names(engine: Engine, definition_id: int) -> dict[str, dict[str, str]]:
    """{field id: {option id: option name}} of every enum field of the definition's forms (the
    first name a field id is given wins: a diagram names its options the same everywhere)."""
    info = engine.repository.process(engine.db_get_definition(definition_id))
    out: dict[str, dict[str, str]] = {}
    for spec in [info.spec, *info.subprocess_specs.values()]:
        for ts in spec.task_specs.values():
            for f in getattr(getattr(ts, "form", None), "fields", None) or []:
                if f.type == "enum":
                    names = out.setdefault(f.id, {})
                    for o in f.options:
                        names.setdefault(o.id, o.name or o.id)
    return out


def shown(field: dict, value: Any) -> str:
    """A submitted form value as people read it: an option's name, 是/否, the text."""
    if isinstance(value, bool):
        return YES_NO[value]
    if field.get("type") == "boolean" and str(value).lower() in ("true", "false"):
        return YES_NO[str(value).lower() == "true"]
    for o in field.get("options") or []:
        if str(o["id"]) == str(value):
            return o["name"] or o["id"]
    return str(value)


def case_file(engine: Engine, instance_id: str, task_id: str | None = None) -> dict:
    """The case of an instance: {"company", "credit_code", "contact_name", "contact_phone",
    "category" (the option's name), "category_id", "channel", "summary", "tracking_no",
    "submitted_at", "attachments" (those that came with the appeal, no step's), "deadline" (the
    appeal's, ISO, or None), "trail" (appeals.trail), "prior" (prior_work, for `task_id`)}.
    Values nobody gave are None."""
    instance = engine.runtime.get(instance_id)
    try:
        data = engine.runtime.data(instance_id)
    except QihuError:           # a tree that cannot be read: the case still shows what the tables hold
        data = {}
    with engine.db.read() as s:
        ticket = s.scalars(select(AppealTicket).where(AppealTicket.instance_id == instance_id)).first()
        deadline = s.scalar(select(AppealFact.deadline).where(AppealFact.instance_id == instance_id))
    options = option_names(engine, instance["definition_id"])

    def pick(column: str, keys) -> str | None:
        value = getattr(ticket, column, None) if ticket is not None else None
        return str(value) if value not in (None, "") else _first(data, keys)

    category = pick("category", ("category",))
    channel = pick("channel", ("channel", "来源渠道"))
    return {
        "company": pick("company", COMPANY_KEYS),
        "credit_code": pick("credit_code", ("credit_code", "统一社会信用代码")),
        "contact_name": pick("contact_name", ("contact_name", "联系人")),
        "contact_phone": pick("contact_phone", ("contact_phone", "联系电话")),
        "category_id": category,
        "category": options.get("category", {}).get(category, category) if category else None,
        "channel": options.get("channel", {}).get(channel, channel) if channel else None,
        "summary": pick("summary", SUMMARY_KEYS),
        "tracking_no": ticket.tracking_no if ticket is not None else instance["business_key"],
        "submitted_at": ticket.created_at.isoformat() if ticket is not None else instance["started_at"],
        "attachments": [a for a in engine.uploads.list(instance_id) if a["task_id"] is None],
        "deadline": deadline.isoformat() if deadline is not None else None,
        "trail": trail_module.trail(engine, instance_id),
        "prior": prior_work(engine, instance_id, task_id),
    }


def _step(engine: Engine, e: dict) -> dict:
    """One completion (a task_completed event) with its values said as people read them."""
    task = engine.tasks.get(e["task_id"])
    values = []
    for field in task["form"]["fields"]:
        value = (e["data"] or {}).get(field["id"])
        if value in (None, ""):
            continue
        values.append({"id": field["id"], "label": field["label"], "text": shown(field, value)})
    return {"task_id": e["task_id"], "element_id": e["element_id"], "name": task["name"] or e["element_id"],
            "by": e["user"], "at": e["at"], "values": values}


def steps(engine: Engine, instance_id: str) -> list[dict]:
    """Every completed step, oldest first, with what it submitted (the 办理单's body)."""
    return [_step(engine, e) for e in engine.history.events(instance_id, ["task_completed"])]


def prior_work(engine: Engine, instance_id: str, task_id: str | None = None) -> list[dict]:
    """The earlier steps' submitted work, newest first: for each step (element) that was done,
    its latest completion, as {"task_id", "element_id", "name", "by", "at" (ISO), "values":
    [{"id", "label", "text"}]}, with option names and 是/否 for the values. What the case header
    shows already is left out, and so are steps that submitted nothing else. `task_id`: the
    step at hand, whose own completion (if done) is left out."""
    latest: dict[str, dict] = {}
    for e in engine.history.events(instance_id, ["task_completed"]):      # oldest first
        if e["task_id"] == task_id or not e["data"]:
            continue
        latest.pop(e["element_id"], None)        # re-inserted: the order is that of the latest runs
        latest[e["element_id"]] = e
    out = []
    for e in reversed(list(latest.values())):
        step = _step(engine, e)
        step["values"] = [v for v in step["values"] if v["id"] not in HEADER_FIELDS]
        if step["values"]:
            out.append(step)
    return out


def companies(engine: Engine, instance_ids: list[str]) -> dict[str, str]:
    """{instance id: the company it is for}, for a page of inbox rows: one query over the
    appeal facts (the figures' row) and one over the portal tickets, by primary key / index."""
    wanted = {i for i in instance_ids if i}
    if not wanted:
        return {}
    with engine.db.read() as s:
        found = dict(s.execute(select(AppealTicket.instance_id, AppealTicket.company)
                               .where(AppealTicket.instance_id.in_(wanted))).all())
        found.update((i, c) for i, c in s.execute(select(AppealFact.instance_id, AppealFact.company)
                                                   .where(AppealFact.instance_id.in_(wanted))).all() if c)
    return found
