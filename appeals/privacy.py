"""Personal information (个人信息保护, issue 18): which of an appeal's values are the
complainant's personal information, who reads them in full and who masked, the log of every
read, and their anonymisation after the appeal is closed.

- Personal fields: the contact person's name, phone, e-mail and ID number, as the portal's
  ticket keeps them (appeal_ticket.contact_name / contact_phone) and as the forms and the
  portal write them into the instance's variables (PERSONAL_VARIABLES). The company, its credit
  code and the appeal's text are the enterprise's, not a person's, and stay as they are.
- Masking: 138****1234, 张*, z***@x.cn, 3305**********12.
- Who reads in full: administrators and the members of the full groups (QIHU_PRIVACY_FULL_GROUPS,
  default the 受理 group `acceptor`), per region when the setting names one; everyone else
  reads them masked. "显示完整信息" is an explicit action (`reveal`) of someone who takes part in
  the appeal (started it, or one of its tasks is or was theirs or their group's: the people who
  may have to phone the enterprise), or of a member of QIHU_PRIVACY_REVEAL_GROUPS; leaders and
  supervisors who read every appeal of their region without taking part may not.
- Every read is a row of personal_data_read (one insert of its own, a read is no step); a read
  in full is shown only once its row is written (nothing unlogged), a masked read is shown even
  when its row could not be written (the page works, the failure is logged).
- Anonymisation: the personal fields of appeals closed (completed or cancelled) more than
  QIHU_PRIVACY_ANONYMISE_DAYS ago are replaced with 已脱敏 in the ticket, the stored variables
  and the history's copies of them; the 晾晒 figures (appeal_fact, figure_month) are untouched.
  The worker runs it (engine.listeners.periodic), at most once an hour per process.

Settings (environment; a region's own value after the default, `;`-separated):
    QIHU_PRIVACY_FULL_GROUPS="acceptor;湖州市=hz_centre"     groups that read in full
    QIHU_PRIVACY_REVEAL_GROUPS=""                            more groups that may reveal
    QIHU_PRIVACY_AUDITOR_GROUPS="supervisor,dashboard"       who reads the read log (and admins)
    QIHU_PRIVACY_ANONYMISE_DAYS="1095;湖州市=730"             days after closure (0: never)
"""
from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import and_, exists, insert, not_, or_, select

from qihu.appeals.models import AppealTicket, PersonalDataRead
from qihu.appeals.tokens import mask_phone
from qihu.engine.errors import Forbidden, NotFound
from qihu.engine.identity.access import ADMIN_GROUP, admin_rule
from qihu.engine.identity.audit import current_context
from qihu.engine.storage.models import Instance, UserAccount

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from qihu.engine.core import Engine
    from qihu.engine.runtime import UnitOfWork

log = logging.getLogger("qihu.privacy")

# variable (as the portal, the registration page and the bundled forms write it) -> its kind
PERSONAL_VARIABLES: dict[str, str] = {
    "contact_name": "name", "联系人": "name", "contact_person": "name",
    "contact_phone": "phone", "联系电话": "phone",
    "contact_email": "email", "联系邮箱": "email", "电子邮箱": "email",
    "id_number": "id", "身份证号": "id", "身份证号码": "id",
}
# the ticket's columns that are personal (appeal_ticket), by kind
TICKET_FIELDS: dict[str, str] = {"contact_name": "name", "contact_phone": "phone"}
FIELD_LABELS = {"contact_name": "联系人", "contact_phone": "联系电话", "contact_email": "电子邮箱",
                "id_number": "身份证号"}
ANONYMISED = "已脱敏"
# what a read came from, as the 个人信息查看记录 page says it
SOURCES = {"task": "任务办理页", "instance": "流程实例页", "search": "诉求查询", "print": "打印办理单",
           "api": "接口", "export": "导出台账", "reveal": "显示完整信息", "anonymise": "到期脱敏"}
REVEAL_MINUTES = 15          # how long a 显示完整信息 holds for that appeal in the reader's session
ANONYMISE_CHECK_SECONDS = 3600.0
# an export names the appeals it held up to this many (≈ 37 bytes each); a larger one is
# recorded by its filters (months, region, mechanism, department), which name them as well
EXPORT_LISTED = 20_000


# -- masking ---------------------------------------------------------------------------------
def mask_name(name: str) -> str:
    """张*: the surname only, one star whatever the length (the length says too much)."""
    name = (name or "").strip()
    return f"{name[0]}*" if name else ""


def mask_email(email: str) -> str:
    """z***@x.cn: the first letter and the domain."""
    local, at, domain = (email or "").strip().partition("@")
    if not at:
        return mask_name(local)
    return f"{local[:1]}***@{domain}"


def mask_id(number: str) -> str:
    """3305**********12: the first four (the region) and the last two."""
    s = re.sub(r"\s", "", number or "")
    return f"{s[:4]}{'*' * max(4, len(s) - 6)}{s[-2:]}" if len(s) > 6 else "****"


MASKS = {"name": mask_name, "phone": mask_phone, "email": mask_email, "id": mask_id}


def mask(kind: str, value: Any) -> Any:
    """A personal value as a reader without the right sees it (None, '' and 已脱敏 stay as they are)."""
    if value in (None, "") or value == ANONYMISED or not isinstance(value, str | int):
        return value
    return MASKS[kind](str(value))


def mask_values(values: Mapping[str, Any], kinds: Mapping[str, str] = PERSONAL_VARIABLES) -> dict[str, Any]:
    """A copy of `values` with every personal field masked (by name: `kinds`)."""
    return {k: mask(kinds[k], v) if k in kinds else v for k, v in values.items()}


def personal_in(values: Mapping[str, Any], kinds: Mapping[str, str] = PERSONAL_VARIABLES) -> list[str]:
    """The personal fields `values` holds (with something in them)."""
    return sorted(k for k in values if k in kinds and values[k] not in (None, ""))


def mask_steps(steps: list[dict]) -> list[dict]:
    """Steps as appeals.case gives them (prior work, the 办理单's body: {"values": [{"id",
    "label", "text"}]}) with the values of personal fields masked."""
    return [{**step, "values": [{**v, "text": mask(PERSONAL_VARIABLES[v["id"]], v["text"])}
                                if v.get("id") in PERSONAL_VARIABLES else v for v in step.get("values") or []]}
            for step in steps]


def mask_nested(value: Any) -> Any:
    """A copy of a JSON value (history events, a payload) with every personal field at any
    depth masked."""
    if isinstance(value, dict):
        return {k: mask(PERSONAL_VARIABLES[k], v) if k in PERSONAL_VARIABLES and not isinstance(v, dict | list)
                else mask_nested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_nested(v) for v in value]
    return value


def personal_nested(value: Any) -> dict[str, Any]:
    """The personal fields found at any depth of a JSON value: {field: a value of it}."""
    found: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if k in PERSONAL_VARIABLES and v not in (None, "") and not isinstance(v, dict | list):
                found.setdefault(k, v)
            else:
                found.update((a, b) for a, b in personal_nested(v).items() if a not in found)
    elif isinstance(value, list):
        for v in value:
            found.update((a, b) for a, b in personal_nested(v).items() if a not in found)
    return found


# -- settings --------------------------------------------------------------------------------
def _regional(text: str | None, parse: Any, default: Any) -> tuple[Any, dict[str, Any]]:
    """'default;region=value;…' -> (default, {region: value}); an empty text keeps `default`."""
    regions: dict[str, Any] = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            region, value = part.split("=", 1)
            if not region.strip():
                raise ValueError(f"个人信息设置 {text!r} 中有未写地区的一项 (a part of {text!r} names no region)")
            regions[region.strip()] = parse(value.strip())
        else:
            default = parse(part)
    return default, regions


def _groups(text: str) -> frozenset[str]:
    return frozenset(g.strip() for g in text.split(",") if g.strip())


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise ValueError(f"脱敏期限须为整数天 ({text!r} is not a whole number of days)") from None
    if days < 0:
        raise ValueError(f"脱敏期限不能为负 ({days} days)")
    return days


@dataclass
class PrivacySettings:
    """Who reads personal fields in full, who may reveal them, who reads the read log, and how
    long after closure they are kept; a value per region beside the deployment's default."""
    full_groups: frozenset[str] = frozenset({"acceptor"})
    full_groups_by_region: dict[str, frozenset[str]] = field(default_factory=dict)
    reveal_groups: frozenset[str] = frozenset()
    auditor_groups: frozenset[str] = frozenset({"supervisor", "dashboard"})
    anonymise_days: int = 1095                       # 0: never
    anonymise_days_by_region: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PrivacySettings:
        env = os.environ if env is None else env
        s = cls()
        s.full_groups, s.full_groups_by_region = _regional(env.get("QIHU_PRIVACY_FULL_GROUPS"), _groups, s.full_groups)
        s.reveal_groups = _groups(env.get("QIHU_PRIVACY_REVEAL_GROUPS", ""))
        if env.get("QIHU_PRIVACY_AUDITOR_GROUPS", "").strip():
            s.auditor_groups = _groups(env["QIHU_PRIVACY_AUDITOR_GROUPS"])
        s.anonymise_days, s.anonymise_days_by_region = _regional(env.get("QIHU_PRIVACY_ANONYMISE_DAYS"), _days,
                                                                 s.anonymise_days)
        return s

    def full_groups_for(self, region: str | None) -> frozenset[str]:
        return self.full_groups_by_region.get(region or "", self.full_groups)

    def anonymise_days_for(self, region: str | None) -> int:
        return self.anonymise_days_by_region.get(region or "", self.anonymise_days)


class Shown(NamedTuple):
    """One appeal's personal values as a reader sees them (Privacy.read)."""
    values: dict[str, Any]
    full: bool                # in full (else masked)
    may_reveal: bool          # masked, and the reader may ask for them in full (显示完整信息)


@dataclass(frozen=True)
class Reader:
    """What decides how one person reads personal fields: administrator or not, their groups."""
    user: str
    admin: bool
    groups: frozenset[str]


# -- the domain's service --------------------------------------------------------------------
class Privacy:
    """Masking, the read log and anonymisation on one engine (domain.privacy)."""

    def __init__(self, engine: Engine, settings: PrivacySettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or PrivacySettings.from_env()
        self._next_anonymise = 0.0

    # -- who ----------------------------------------------------------------------------------
    def reader(self, user: str | None, session: Session | None = None) -> Reader | None:
        if not user:
            return None
        if session is None:
            with self.engine.db.read() as s:
                return self.reader(user, s)
        account = session.execute(select(UserAccount.is_admin, UserAccount.is_active)
                                  .where(UserAccount.name == user)).first()
        groups = frozenset(self.engine.access.groups(session, user))
        if account is not None and not account.is_active:
            return Reader(user, False, frozenset())
        return Reader(user, admin_rule(account, lambda: ADMIN_GROUP in groups), groups)

    def sees_full(self, reader: Reader | None, region: str | None) -> bool:
        """Whether `reader` reads an appeal of `region` in full without asking."""
        return reader is not None and (reader.admin or bool(reader.groups & self.settings.full_groups_for(region)))

    def may_reveal(self, user: str | None, instance_id: str) -> bool:
        """Whether `user` may ask for an appeal's personal fields in full (显示完整信息): those
        who read it in full anyway, the people taking part in it, and QIHU_PRIVACY_REVEAL_GROUPS."""
        with self.engine.db.read() as s:
            reader = self.reader(user, s)
            region = s.scalar(select(Instance.region).where(Instance.id == instance_id))
            return self._may_reveal(s, reader, instance_id, region)

    def _may_reveal(self, s: Session, reader: Reader | None, instance_id: str, region: str | None) -> bool:
        if reader is None:
            return False
        if self.sees_full(reader, region) or reader.groups & self.settings.reveal_groups:
            return bool(self.engine.access.can_see_instance(reader.user, instance_id))
        involved = self.engine.access.involved(reader.user, reader.groups)
        mine = s.scalar(select(Instance.id).where(Instance.id == instance_id, involved)) is not None
        if not mine:
            return False
        bound = self.engine.access.user_region(reader.user, s)
        return not bound or region in (None, bound)

    def may_audit(self, user: str | None) -> bool:
        """Whether `user` reads the 个人信息查看记录: administrators, and the auditor groups
        (supervisors, leaders: for their account's region)."""
        reader = self.reader(user)
        return reader is not None and (reader.admin or bool(reader.groups & self.settings.auditor_groups))

    # -- reading one appeal -------------------------------------------------------------------
    def contact(self, instance_id: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """{"contact_name", "contact_phone"} of an appeal: its ticket's, else its variables'
        (`data`, as engine.runtime.data gives them); None where nobody gave one."""
        with self.engine.db.read() as s:
            t = s.execute(select(AppealTicket.contact_name, AppealTicket.contact_phone)
                          .where(AppealTicket.instance_id == instance_id).order_by(AppealTicket.id).limit(1)).first()
        data = data or {}
        out = {}
        for column, keys in (("contact_name", ("contact_name", "联系人")), ("contact_phone", ("contact_phone", "联系电话"))):
            value = getattr(t, column) if t is not None else None
            out[column] = value if value not in (None, "") else next(
                (str(data[k]) for k in keys if data.get(k) not in (None, "")), None)
        return out

    def shown(self, user: str | None, instance_id: str, values: Mapping[str, Any], source: str, *,
              revealed: bool = False, kinds: Mapping[str, str] = PERSONAL_VARIABLES,
              detail: dict | None = None, audit: dict | None = None) -> tuple[dict[str, Any], bool]:
        """`values` (a case, an instance's variables) as `user` may read them on `source`, and
        whether in full. In full for those who read so anyway, and for `revealed` (the reader
        asked for it with 显示完整信息 and may); masked otherwise. The read is logged (one row;
        `audit`: also this security-audit detail as personal_data_viewed, in the same
        transaction); a read in full whose row cannot be written is shown masked."""
        got = self.read(user, instance_id, values, source, revealed=revealed, kinds=kinds, detail=detail, audit=audit)
        return got.values, got.full

    def read(self, user: str | None, instance_id: str, values: Mapping[str, Any], source: str, *,
             revealed: bool = False, kinds: Mapping[str, str] = PERSONAL_VARIABLES,
             detail: dict | None = None, audit: dict | None = None) -> Shown:
        """shown(), and whether the reader may ask for the masked values in full (a page's
        显示完整信息 button), decided in the same read of who the reader is."""
        fields = personal_in(values, kinds)
        may_reveal = None
        with self.engine.db.read() as s:
            reader = self.reader(user, s)
            inst = s.execute(select(Instance.region, Instance.business_key).where(Instance.id == instance_id)).first()
            if inst is None:
                raise NotFound(f"no instance {instance_id}")
            full = self.sees_full(reader, inst.region)
            if not full and (revealed or fields):
                may_reveal = self._may_reveal(s, reader, instance_id, inst.region)
                full = revealed and may_reveal
        row = {"user": user or "", "instance_id": instance_id, "business_key": inst.business_key,
               "source": source, "fields": fields, "full": full and bool(fields), "detail": detail}
        try:
            self._write([row], audit=audit and {"target": instance_id, "detail": audit})
        except Exception:
            log.exception("personal data read of %s by %s could not be logged", instance_id, user)
            if full and fields:
                full = False          # nothing in full that is not logged
        if full:
            return Shown(dict(values), True, False)
        if fields and may_reveal is None:               # read in full until the log failed
            may_reveal = self.may_reveal(user, instance_id)
        masked = mask_values(values, kinds)
        if isinstance(masked.get("prior"), list):       # a case: the earlier steps' values too
            masked["prior"] = mask_steps(masked["prior"])
        return Shown(masked, False, bool(fields and may_reveal))

    def shown_many(self, user: str | None, items: list[dict], source: str, *,
                   kinds: Mapping[str, str] = PERSONAL_VARIABLES, detail: dict | None = None,
                   audit: dict | None = None) -> list[dict]:
        """A page of appeals (search results: dicts with instance_id, region, business_key and
        personal fields) as `user` may read them, each marked "full"; one row per appeal shown,
        in one insert (`audit`: also this security-audit event, action/target/detail, in the same
        transaction, written even when the page holds no personal field)."""
        with self.engine.db.read() as s:
            reader = self.reader(user, s)
        out, rows = [], []
        for item in items:
            full = self.sees_full(reader, item.get("region"))
            fields = personal_in(item, kinds)
            out.append({**(item if full else mask_values(item, kinds)), "full": full})
            if fields:
                rows.append({"user": user or "", "instance_id": item["instance_id"],
                             "business_key": item.get("business_key"), "source": source, "fields": fields,
                             "full": full, "detail": detail})
        if rows or audit:
            try:
                self._write(rows, audit=audit, actor=user)
            except Exception:
                log.exception("personal data reads of %d appeals by %s could not be logged", len(rows), user)
                out = [{**mask_values(i, kinds), "full": False} for i in out]
        return out

    def reveal(self, user: str | None, instance_id: str, source: str) -> None:
        """显示完整信息: Forbidden unless `user` may; logged (the read log and the security audit,
        one transaction) before anything is shown."""
        inst = self.engine.runtime.get(instance_id)         # NotFound first
        if not self.may_reveal(user, instance_id):
            raise Forbidden(f"您无权查看此诉求的完整个人信息 ({user or 'anonymous'} may not reveal the personal "
                            f"data of {instance_id})")
        self._write([{"user": user or "", "instance_id": instance_id, "business_key": inst["business_key"],
                      "source": "reveal", "fields": sorted(TICKET_FIELDS), "full": True,
                      "detail": {"from": source}}],
                    audit={"action": "personal_data_revealed", "target": instance_id,
                           "detail": {"page": source, "business_key": inst["business_key"]}})

    def _write(self, rows: list[dict], audit: dict | None = None, session: Session | None = None,
               actor: str | None = None) -> None:
        """Insert read rows (one statement), with a security-audit event in the same transaction
        (by `actor`, else the first row's user)."""
        client = current_context()[1]
        now = self.engine.clock.now()
        for r in rows:
            r.setdefault("client", client[:64] if client else None)
            r.setdefault("at", now)
            r.setdefault("instances", None)
        if session is None:
            with self.engine.db.write() as s:
                self._write(rows, audit, s, actor)
            return
        if rows:
            session.execute(insert(PersonalDataRead), rows)
        if audit:
            actor = actor or (rows[0]["user"] if rows else None)
            self.engine.audit.record(audit.get("action", "personal_data_viewed"), actor=actor or None,
                                     target=audit.get("target"), detail=audit.get("detail"), session=session)

    # -- exports -------------------------------------------------------------------------------
    def export_rows(self, user: str | None, rows: Iterable[dict], batch: int = 1000) -> ExportRows:
        """The 台账's rows (appeal_fact dicts) with the ticket's contact_name and contact_phone,
        each in full or masked by the reader's right for its region. `.log(detail)` after the
        workbook is made writes the export's one row (and raises when it cannot: the file is
        then not given out)."""
        return ExportRows(self, user, rows, batch)

    # -- the read log --------------------------------------------------------------------------
    def reads(self, viewer: str | None, instance_id: str | None = None, user: str | None = None,
              limit: int = 100, offset: int = 0) -> list[dict]:
        """The read log, newest first, for `viewer` (Forbidden unless may_audit): of one appeal
        (its own rows and the exports that held it), of one user, or all; an auditor bound to a
        region sees that region's (and region-less) appeals' reads."""
        if not self.may_audit(viewer):
            raise Forbidden(f"个人信息查看记录仅限管理员和督查人员查看 ({viewer or 'anonymous'} may not read the log)")
        R = PersonalDataRead
        q = select(R, Instance.region).outerjoin(Instance, Instance.id == R.instance_id)
        if instance_id:
            q = q.where(or_(R.instance_id == instance_id,
                            and_(R.source == "export", R.instances.like(f"%{instance_id}%"))))
        if user:
            q = q.where(R.user == user)
        with self.engine.db.read() as s:
            reader = self.reader(viewer, s)
            bound = None if reader is None or reader.admin else self.engine.access.user_region(viewer, s)
            if bound:
                q = q.where(or_(Instance.region == bound, Instance.region.is_(None)))
            found = s.execute(q.order_by(R.at.desc(), R.id.desc()).limit(limit).offset(offset)).all()
        return [{"id": r.id, "at": r.at.isoformat(), "user": r.user, "client": r.client,
                 "instance_id": r.instance_id, "business_key": r.business_key, "region": region,
                 "source": r.source, "source_name": SOURCES.get(r.source, r.source),
                 "fields": [FIELD_LABELS.get(f, f) for f in r.fields or []], "full": r.full,
                 "appeals": (r.detail or {}).get("appeals") if r.source == "export" else None, "detail": r.detail}
                for r, region in found]

    # -- anonymisation -------------------------------------------------------------------------
    def due_for_anonymising(self, now: datetime | None = None, limit: int = 200) -> list[str]:
        """Closed appeals past their region's period whose personal fields are not anonymised yet
        (no 'anonymise' row), oldest first."""
        now = now or self.engine.clock.now()
        settings = self.settings
        done = exists().where(PersonalDataRead.instance_id == Instance.id, PersonalDataRead.source == "anonymise")
        conds = []
        named = list(settings.anonymise_days_by_region)
        for region, days in [(None, settings.anonymise_days), *settings.anonymise_days_by_region.items()]:
            if days <= 0:
                continue
            where = Instance.region == region if region is not None else \
                or_(Instance.region.is_(None), not_(Instance.region.in_(named))) if named else None
            cutoff = Instance.ended_at < now - timedelta(days=days)
            conds.append(cutoff if where is None else and_(where, cutoff))
        if not conds:
            return []
        q = select(Instance.id).where(Instance.status.in_(["completed", "cancelled"]), Instance.ended_at.is_not(None),
                                      or_(*conds), ~done).order_by(Instance.ended_at, Instance.id).limit(limit)
        with self.engine.db.read() as s:
            return [str(i) for i in s.scalars(q)]

    def anonymise(self, now: datetime | None = None, limit: int = 200) -> int:
        """Anonymise what is due (due_for_anonymising): how many appeals were."""
        n = 0
        for iid in self.due_for_anonymising(now, limit):
            try:
                self.anonymise_one(iid)
                n += 1
            except Exception:
                log.exception("could not anonymise the personal data of %s", iid)
        return n

    def anonymise_one(self, instance_id: str) -> list[str]:
        """Replace the personal fields of one appeal with 已脱敏 in its ticket, its stored
        variables and the history's copies, in one transaction (the instance's own), with a row
        in the read log and a security-audit event; the figures are not touched. Idempotent:
        values already anonymised stay so. Returns what it found to anonymise."""
        def run(uow: UnitOfWork) -> list[str]:
            found: set[str] = set()
            wf = uow.workflow
            for data in [wf.data, *(t.data for t in wf.tasks.values())]:
                found |= _blank(data)
            s = uow.session
            for t in s.scalars(select(AppealTicket).where(AppealTicket.instance_id == instance_id)):
                for column in TICKET_FIELDS:
                    if getattr(t, column) != ANONYMISED:
                        setattr(t, column, ANONYMISED)
                        found.add(column)
            found |= self.engine.history.redact(s, instance_id, _blank)
            fields = sorted(found)
            self._write([{"user": "system", "instance_id": instance_id, "business_key": uow.instance.business_key,
                          "source": "anonymise", "fields": fields, "full": False,
                          "detail": {"after_days": self.settings.anonymise_days_for(uow.instance.region)}}],
                        audit={"action": "personal_data_anonymised", "target": instance_id,
                               "detail": {"business_key": uow.instance.business_key, "fields": fields}},
                        session=s)
            return fields
        return self.engine.runtime.transaction(instance_id, run, user="system", require_running=False, lock=True)

    def periodic(self) -> int | None:
        """The worker's hook: anonymise what is due, at most once an hour in this process."""
        now = time.monotonic()
        if now < self._next_anonymise:
            return None
        self._next_anonymise = now + ANONYMISE_CHECK_SECONDS
        return self.anonymise()


def _blank(data: Any) -> set[str]:
    """Set every personal value in `data` (nested dicts and lists too: a history event keeps its
    variables under "data") to 已脱敏, in place; the keys it changed."""
    hit: set[str] = set()
    if isinstance(data, dict):
        for k, v in list(data.items()):
            if k in PERSONAL_VARIABLES and v not in (None, "", ANONYMISED) and not isinstance(v, dict | list):
                data[k] = ANONYMISED
                hit.add(k)
            elif isinstance(v, dict | list):
                hit |= _blank(v)
    elif isinstance(data, list):
        for v in data:
            hit |= _blank(v)
    return hit


class ExportRows:
    """The rows of one export with their contacts (Privacy.export_rows), iterated once."""

    def __init__(self, privacy: Privacy, user: str | None, rows: Iterable[dict], batch: int) -> None:
        self.privacy, self.user, self.rows, self.batch = privacy, user, rows, batch
        self.instances: list[str] = []
        self.full = False

    def __iter__(self) -> Iterator[dict]:
        engine = self.privacy.engine
        reader = self.privacy.reader(self.user)
        chunk: list[dict] = []

        def flush() -> Iterator[dict]:
            ids = [r["instance_id"] for r in chunk]
            with engine.db.read() as s:
                contacts = {t.instance_id: t for t in s.execute(
                    select(AppealTicket.instance_id, AppealTicket.contact_name, AppealTicket.contact_phone)
                    .where(AppealTicket.instance_id.in_(ids or [""])))}
            for r in chunk:
                t = contacts.get(r["instance_id"])
                values = {"contact_name": t.contact_name if t else None, "contact_phone": t.contact_phone if t else None}
                if personal_in(values, TICKET_FIELDS):
                    self.instances.append(r["instance_id"])
                    if self.privacy.sees_full(reader, r.get("region")):
                        self.full = True
                    else:
                        values = mask_values(values, TICKET_FIELDS)
                yield {**r, **values}

        for row in self.rows:
            chunk.append(row)
            if len(chunk) >= self.batch:
                yield from flush()
                chunk = []
        if chunk:
            yield from flush()

    def log(self, detail: dict | None = None) -> None:
        """The export's one row: the appeals it held whose contacts it carried (their ids, up to
        EXPORT_LISTED; a larger export keeps its filters in `detail` instead), in full or not."""
        listed = len(self.instances) <= EXPORT_LISTED
        self.privacy._write([{"user": self.user or "", "instance_id": None, "business_key": None, "source": "export",
                              "fields": sorted(TICKET_FIELDS), "full": self.full,
                              "instances": ",".join(self.instances) if listed and self.instances else None,
                              "detail": {**(detail or {}), "appeals": len(self.instances), "listed": listed}}])


__all__ = ["ANONYMISED", "FIELD_LABELS", "PERSONAL_VARIABLES", "Privacy", "PrivacySettings", "REVEAL_MINUTES",
           "SOURCES", "TICKET_FIELDS", "mask", "mask_email", "mask_id", "mask_name", "mask_phone", "mask_values"]
