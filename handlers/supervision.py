"""Reminders, warnings, supervision letters and escalations shared by the mechanisms.

Topics (inputs → outputs merged into the process data):
- notify.remind(to_groups, to_users, title, message) → reminded_at
  A reminder (催办通知) for the task's groups/users, stored as notifications.
- supervision.warning(level, reason, to_groups) → warning_level, warning_entry
  An entry of the supervision warning list (督办预警清单), level yellow/orange/red.
- supervision.letter(letter_type, to_unit, subject, body, deadline, issuer, company[, doc_prefix, title,
  contact_person, contact_phone, region]) → letter_id, letter_no
  A 督办函 / 交办函 / 提示函 as a GB/T 9704 公文 (.docx, docxtpl) with a 文号 from the region's sequence,
  kept with the instance.
- escalation.province(summary, reason) → escalated_to, escalation_entry
  The record of pushing an appeal to the provincial task force (省营商环境专班).
- sayno.enter_pool(department, reason, summary) / sayno.leave_pool(reason)
  The say-no candidate pool (说"不"问题备选库) entries.
- ledger.record(kind, title, **data) → ledger_entry / ledger.close(kind) → ledger_closed
  A line of any other list a mechanism keeps (经验清单, 案例库, 长效机制, 政策建议...).
Each takes `qihu`, the engine's HandlerContext, to write its records in the step's transaction.
"""
import io
from pathlib import Path

from datetime import datetime

from docxtpl import DocxTemplate

from qihu import topic
from qihu.engine import TIMEZONE

TEMPLATE = Path(__file__).with_name("templates") / "letter.docx"
# letter type -> the kind of its 文号 (督办〔2026〕12号)
LETTER_TYPES = {"督办函": "督办", "交办函": "交办", "提示函": "提示"}
LEVELS = {"yellow": "黄色预警", "orange": "橙色预警", "red": "红色预警"}


def _names(value):
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


@topic("notify.remind")
def remind(qihu, title="催办通知", message="", to_groups=None, to_users=None, **_):
    groups, users = _names(to_groups), _names(to_users)
    if not groups and not users:
        raise ValueError("催办通知没有接收人 (to_groups or to_users is required)")
    qihu.notify(title, message, to_groups=groups, to_users=users)
    return {"reminded_at": qihu.now.isoformat()}


@topic("supervision.warning")
def warning(qihu, level, reason="", to_groups=None, **_):
    if level not in LEVELS:
        raise ValueError(f"预警等级应为 {', '.join(LEVELS)} (unknown level {level!r})")
    entry = qihu.ledger("warning_list", title=f"{LEVELS[level]}：{reason}".rstrip("："),
                        data={"level": level, "reason": reason})
    if to_groups:
        qihu.notify(f"{LEVELS[level]}", reason, to_groups=_names(to_groups))
    return {"warning_level": level, "warning_entry": entry}


@topic("supervision.letter")
def letter(qihu, letter_type, to_unit, subject, body="", deadline=None, issuer="企业服务中心", company="",
           doc_prefix=None, title=None, contact_person="", contact_phone="", region=None, **_):
    """A 公文 laid out as GB/T 9704-2012 (templates/make_letter_template.py), numbered from the
    region's sequence of its kind for the year (qihu.appeals.documents): 督办〔2026〕12号, or with
    the diagram's own 发文机关代字 (`doc_prefix`, e.g. 湖企服督). Text is escaped: whatever an
    enterprise or a member of staff typed prints as written."""
    if letter_type not in LETTER_TYPES:
        raise ValueError(f"函件类型应为 {'/'.join(LETTER_TYPES)} (unknown letter type {letter_type!r})")
    if not to_unit:
        raise ValueError("函件缺少主送单位 (to_unit is required)")
    number = qihu.document_number(str(doc_prefix or "").strip() or LETTER_TYPES[letter_type],
                                  **({"region": str(region)} if region else {}))
    contact = "，".join(f"{label}：{value}" for label, value in (("联系人", contact_person), ("联系电话", contact_phone))
                       if value)
    fields = {"issuer": issuer, "letter_type": letter_type, "letter_no": number, "to_unit": to_unit,
              "title": title or letter_type, "subject": subject, "company": company,
              "business_key": qihu.business_key or "", "deadline": date_text(deadline),
              "issued_on": date_text(qihu.now), "contact": contact}
    fields = {k: "" if v is None else str(v) for k, v in fields.items()}
    fields["body_lines"] = [line.strip() for line in str(body or "").splitlines() if line.strip()]
    doc = DocxTemplate(str(TEMPLATE))
    doc.render(fields, autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    letter_id = qihu.attach(f"{letter_type}-{to_unit}-{qihu.now.astimezone(TIMEZONE):%Y%m%d}.docx", buf.getvalue(),
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            kind="letter", meta={"letter_type": letter_type, "letter_no": number, "to_unit": to_unit,
                                                 "subject": subject, "deadline": fields["deadline"],
                                                 "issued_on": fields["issued_on"]})
    return {"letter_id": letter_id, "letter_no": number}


@topic("escalation.province")
def escalate_to_province(qihu, summary="", reason="", **_):
    entry = qihu.ledger("provincial_escalation", title=summary or "市级无法解决的问题",
                        data={"reason": reason, "to": "省营商环境专班"})
    return {"escalated_to": "省营商环境专班", "escalation_entry": entry}


@topic("sayno.enter_pool")
def enter_say_no_pool(qihu, department="", reason="", summary="", **_):
    entry = qihu.ledger("say_no_pool", title=summary or reason, data={"department": department, "reason": reason})
    return {"pool_entry": entry}


@topic("sayno.leave_pool")
def leave_say_no_pool(qihu, reason="", **_):
    return {"left_pool": qihu.close_ledger("say_no_pool") > 0, "leave_reason": reason}


@topic("ledger.record")
def record(qihu, kind, title="", kind_name=None, **data):
    """One line of a mechanism's list. `kind` is a list the appeal domain knows (its
    qihu.appeals.ledgers.KIND_NAMES), or a new list a diagram names itself (a lower-case
    identifier, with `kind_name` its Chinese name, e.g. 高频问题清单): a regional variant adds a
    list without a line of Python. Other inputs are kept as its data."""
    line = {k: _plain(v) for k, v in data.items()}
    return {"ledger_entry": qihu.ledger(kind, title=title or None, data=line, list_name=kind_name)}


@topic("ledger.close")
def close(qihu, kind):
    """Close this instance's open lines of a list (销号)."""
    return {"ledger_closed": qihu.close_ledger(kind)}


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def date_text(value):
    """A date as a 公文 writes it, without leading zeros (2026年12月7日), on the Beijing calendar
    (instants are stored in UTC). Text that is not a date is kept as given."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(TIMEZONE)
    if not hasattr(value, "year"):
        return str(value)
    return f"{value.year}年{value.month}月{value.day}日"
