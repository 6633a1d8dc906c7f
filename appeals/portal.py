"""Appeals enterprises submit without an account, through the public portal.

An enterprise gets back a tracking number (QH20261121-7K3F9Q: said on the phone, and the
instance's business key) and a private token, the key of its tracking link. Only the
SHA-256 of the token is stored (table appeal_ticket), so neither the database nor the audit
trail can give a link away; the token lives only in the link the enterprise keeps (and in
the SMS a staff registration sends). A lost link is found again with the tracking number and
a one-time code sent to the contact phone (appeals/lookup.py), which issues a new link.
Staff register appeals that arrive by phone, at the counter, … the same way (appeals/register.py).

In the engine the enterprise is the user ENTERPRISE_PREFIX + tracking number
("qiye:QH20261121-7K3F9Q"): it started the instance and the diagram assigns it its rating
step (camunda:assignee="${enterprise_user}"). It sees only what `progress` lets through:
step names and times, replies meant for it, deadlines; never staff names, groups or
internal opinions.
"""
import hmac
import re
import secrets
import unicodedata
from datetime import datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qihu.engine.errors import Forbidden, NotFound, ValidationFailed
from qihu.engine.storage.models import Attachment, Task, TaskComment
from qihu.appeals import ratings
from qihu.appeals.models import AppealTicket
from qihu.appeals.stages import public_steps, stage_bar, stage_of
from qihu.appeals.tokens import TOKEN_RE, mask_phone, new_token, token_hash
from qihu.engine.dialect.timers import TIMEZONE, deadline_text, local_text
from qihu.engine.tasks.uploads import check as check_upload

PORTAL_GROUP = "enterprise"   # the starter group that marks a process as offered on the portal

ENTERPRISE_PREFIX = "qiye:"
CHANNEL = "企业自主提交"
# Tracking numbers avoid characters read aloud ambiguously (0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V).
TRACKING_ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
TRACKING_RANDOM = 6
MAX_FILES = 5
LIMITS = {"company": (2, 100), "contact_name": (2, 30), "category": (1, 50), "summary": (10, 2000)}
REPLY_RE = re.compile(r"reply|答复", re.I)
# a rating field of a 好差评 step: rate_plan, plan_rating, satisfaction, plan_satisfied …
RATING_RE = re.compile(r"^rate_|rating|satisf", re.I)
COMMENT_RE = re.compile(r"comment|reason", re.I)    # the reason a 差评 must give (rate_comment, rating_comment)
STATUS_TEXT = {"running": "办理中", "completed": "已办结", "cancelled": "已终止", "suspended": "暂停办理"}

# -- unified social credit code (统一社会信用代码, GB 32100-2015) ------------------------------------
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # 31 characters: no I, O, Z, S, V
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)            # GB 11714 organisation code
# registration authority (登记管理部门) -> its organisation types (机构类别)
AUTHORITIES = {
    "1": ("机构编制", "1239"), "2": ("外交", "19"), "3": ("司法行政", "123459"), "4": ("文化", "19"),
    "5": ("民政", "1239"), "6": ("旅游", "129"), "7": ("宗教", "129"), "8": ("工会", "19"),
    "9": ("市场监管（工商）", "123"), "A": ("中央军委改革和编制办公室", "19"), "N": ("农业农村", "1239"),
    "Y": ("其他", "1"),
}
PROVINCES = {"10", "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
             "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
             "71", "81", "82"}


class CreditCodeError(ValueError):
    pass


def validate_credit_code(code):
    """The code uppercased and without spaces when it is a valid unified social credit code;
    CreditCodeError (Chinese, then English) names the rule it breaks."""
    c = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(code or ""))).upper()
    if not c:
        raise CreditCodeError("请填写统一社会信用代码 (required)")
    if len(c) != 18:
        raise CreditCodeError(f"统一社会信用代码应为18位，现为{len(c)}位 (must be 18 characters, got {len(c)})")
    bad = sorted({ch for ch in c if ch not in CREDIT_CHARS})
    if bad:
        raise CreditCodeError(f"含有不允许的字符 {'、'.join(bad)}（代码不使用 I、O、S、V、Z）"
                              f" (characters not allowed: {' '.join(bad)})")
    authority = AUTHORITIES.get(c[0])
    if authority is None:
        raise CreditCodeError(f"第1位登记管理部门代码 {c[0]} 无效 (unknown registration authority code {c[0]})")
    if c[1] not in authority[1]:
        raise CreditCodeError(f"第2位机构类别代码 {c[1]} 与登记管理部门（{authority[0]}）不符"
                              f" (organisation type {c[1]} does not exist for authority {c[0]})")
    region = c[2:8]
    if not region.isdigit() or region[:2] not in PROVINCES:
        raise CreditCodeError(f"第3-8位登记管理机关行政区划码 {region} 无效 (bad administrative region code)")
    org = c[8:17]
    body = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(org[:8], ORG_WEIGHTS))
    org_check = {10: "X", 11: "0"}.get(11 - body % 11, str(11 - body % 11))
    if org[8] != org_check:
        raise CreditCodeError("第9-17位组织机构代码校验位不正确 (the organisation code's check digit is wrong)")
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(c[:17], CREDIT_WEIGHTS))
    if c[17] != CREDIT_CHARS[(31 - total % 31) % 31]:
        raise CreditCodeError("第18位校验码不正确，请核对是否抄错 (the final check character is wrong)")
    return c


# -- contact phone ---------------------------------------------------------------------------
MOBILE_RE = re.compile(r"1[3-9]\d{9}")
LANDLINE_RE = re.compile(r"0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?")


def validate_phone(phone):
    """A mainland mobile (13812345678, +86 allowed) or landline (0572-2345678, extension
    allowed) number, normalised; ValueError otherwise."""
    p = unicodedata.normalize("NFKC", str(phone or "")).strip()
    p = re.sub(r"[\s()（）]", "", p).replace("—", "-")
    if not p:
        raise ValueError("请填写联系电话 (required)")
    p = re.sub(r"^(\+?86-?)(?=1)", "", p)
    if MOBILE_RE.fullmatch(p.replace("-", "")):
        return p.replace("-", "")
    if LANDLINE_RE.fullmatch(p):
        return p
    raise ValueError("请填写11位手机号或带区号的固定电话，如 13812345678、0572-2345678"
                     " (a mainland mobile or landline number)")


def _text(value):
    """User text without control characters (line breaks kept), trimmed."""
    value = unicodedata.normalize("NFC", str(value or ""))
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()


def is_rating_field(field: dict) -> bool:
    """An enum field that rates (rate_plan, result_rating, satisfaction …)."""
    return field.get("type") == "enum" and bool(RATING_RE.search(field["id"]))


def bad_rating(values, fields=None):
    """True when any rating given is 差评 (不满意 or 非常不满意 on the one 好差评 scale,
    qihu.appeals.ratings). With the step's `fields`, an option counts by its value or its name
    (a diagram's "unsatisfied"/不满意); without, fields named rate_* by their value."""
    values = values or {}
    if fields is None:
        return any(ratings.is_bad(v) for k, v in values.items() if k.startswith("rate_"))
    for f in fields:
        if not is_rating_field(f) or values.get(f["id"]) in (None, ""):
            continue
        chosen = str(values[f["id"]])
        names = [o.get("name") for o in f.get("options", []) if o["id"] == chosen]
        if ratings.is_bad(chosen) or any(ratings.is_bad(n) for n in names):
            return True
    return False


def _ticket_dict(t):
    return {"id": t.id, "tracking_no": t.tracking_no, "instance_id": t.instance_id,
            "definition_key": t.definition_key, "company": t.company, "credit_code": t.credit_code,
            "contact_name": t.contact_name, "contact_phone": t.contact_phone, "category": t.category,
            "created_at": t.created_at.isoformat(), "user": ENTERPRISE_PREFIX + t.tracking_no,
            "channel": t.channel or CHANNEL, "registered_by": t.registered_by, "summary": t.summary}


class Portal:
    """The enterprise portal: processes offered, submission, tracking and rating."""

    def __init__(self, engine):
        self.engine = engine

    @cached_property
    def registration(self):
        """Staff registration of appeals that arrive by phone, counter, 企业码 … (appeals/register.py)."""
        from qihu.appeals.register import Registration
        return Registration(self)

    @cached_property
    def lookup(self):
        """A lost link found again by tracking number and a code sent to the phone (appeals/lookup.py)."""
        from qihu.appeals.lookup import Lookup
        return Lookup(self)

    # -- what the portal offers ----------------------------------------------------------------
    def offered(self, definition):
        """True when enterprises may start this process from the public portal: it names
        PORTAL_GROUP among its camunda:candidateStarterGroups."""
        return PORTAL_GROUP in self.engine.access.starters(definition)[0]

    def portal_definitions(self):
        """The latest version of each process enterprises may start, with what the form needs:
        [{"key", "name", "region", "categories": [{"id", "name"}] or None}]."""
        out = []
        for d in self.engine.repository.definitions():
            definition = self.engine.db_get_definition(d["id"])
            if not self.offered(definition):
                continue
            info = self.engine.repository.process(definition)
            out.append({"key": d["key"], "name": info.properties.get("portalName") or d["name"] or d["key"],
                        "region": info.properties.get("region"), "version": d["version"],
                        "categories": self._categories(info)})
        return out

    @staticmethod
    def _categories(info):
        """The options of the `category` enum of the first form the appeal reaches (the intake
        step, e.g. 受理登记), or None when it has no such field (free text then)."""
        seen, todo = set(), [info.spec.start]
        while todo:
            spec = todo.pop(0)
            if spec.name in seen:
                continue
            seen.add(spec.name)
            form = getattr(spec, "form", None)
            fields = getattr(form, "fields", None) or []
            if fields:
                for f in fields:
                    if f.id == "category" and f.type == "enum":
                        return [{"id": o.id, "name": o.name or o.id} for o in f.options]
                return None
            todo.extend(spec.outputs)
        return None

    def _portal_definition(self, key):
        with self.engine.db.read() as s:
            try:
                definition = self.engine.repository.get_definition(s, str(key or ""))
            except NotFound:
                return None
        return definition if self.offered(definition) else None

    # -- submit ----------------------------------------------------------------------------------
    def validate(self, definition_key, company, credit_code, contact_name, contact_phone, category, summary,
                 files=()):
        """Cleaned fields, or ValidationFailed with an error per field (definition, company,
        credit_code, contact_name, contact_phone, category, summary, files)."""
        definition = self._portal_definition(definition_key)
        errors = {} if definition is not None else {
            "definition": "请选择受理的诉求渠道 (not a process enterprises may start)"}
        return self.check_fields(definition, company, credit_code, contact_name, contact_phone, category, summary,
                                 files, errors)

    def check_fields(self, definition, company, credit_code, contact_name, contact_phone, category, summary,
                     files=(), errors=None, more=None):
        """The appeal's fields cleaned (and "definition"), or ValidationFailed naming each bad
        field, with `errors` already found and `more` (a callable adding its own) joined in."""
        errors, clean = dict(errors or {}), {}
        for field, value in (("company", company), ("contact_name", contact_name), ("summary", summary)):
            clean[field] = _text(value)
            if field != "summary":
                clean[field] = re.sub(r"\s+", " ", clean[field])
            low, high = LIMITS[field]
            if not clean[field]:
                errors[field] = "必填 (required)"
            elif len(clean[field]) < low:
                errors[field] = f"至少 {low} 个字 (at least {low} characters)"
            elif len(clean[field]) > high:
                errors[field] = f"最多 {high} 个字，现为 {len(clean[field])} 个 (at most {high} characters)"
        try:
            clean["credit_code"] = validate_credit_code(credit_code)
        except CreditCodeError as e:
            errors["credit_code"] = str(e)
        try:
            clean["contact_phone"] = validate_phone(contact_phone)
        except ValueError as e:
            errors["contact_phone"] = str(e)
        clean["category"] = re.sub(r"\s+", " ", _text(category))
        options = self._categories(self.engine.repository.process(definition)) if definition is not None else None
        if not clean["category"]:
            errors["category"] = "请选择诉求类别 (required)"
        elif options is not None and clean["category"] not in {o["id"] for o in options}:
            errors["category"] = "请从列表中选择诉求类别 (not one of the categories)"
        elif len(clean["category"]) > LIMITS["category"][1]:
            errors["category"] = f"最多 {LIMITS['category'][1]} 个字 (too long)"
        clean["files"] = []
        problems = []
        files = [(n, c) for n, c in (files or []) if n or c]
        if len(files) > MAX_FILES:
            problems.append(f"最多上传 {MAX_FILES} 个附件 (at most {MAX_FILES} files)")
        for name, content in files[:MAX_FILES]:
            try:
                check_upload(name, content, self.engine.settings.upload_max_bytes)
                clean["files"].append((name, content))
            except ValidationFailed as e:
                problems.append(str(e))
        if problems:
            errors["files"] = "；".join(problems)
        if more is not None:
            more(clean, errors)
        if errors:
            raise ValidationFailed("诉求未提交 (appeal not submitted): "
                                   + "; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
        clean["definition"] = definition
        return clean

    def submit(self, definition_key, company, credit_code, contact_name, contact_phone, category, summary,
               files=(), region=None):
        """Start an appeal for an enterprise: {"tracking_no", "token", "instance_id"}.

        Everything is checked first (ValidationFailed, nothing written); the instance, the
        ticket and the files are then written in one transaction, so a failure leaves nothing.
        """
        c = self.validate(definition_key, company, credit_code, contact_name, contact_phone, category, summary,
                          files)
        return self.open_appeal(c, channel=CHANNEL, region=region)

    def open_appeal(self, c, channel, region=None, registered_by=None, extra=None, also=None):
        """Start the appeal of checked fields `c` (check_fields) with its ticket and files in one
        transaction: {"tracking_no", "token", "instance_id"}. The instance is started by the
        enterprise itself, or by `registered_by` (the clerk who registered it); either way the
        enterprise is enterprise_user, so its rating steps come to its tracking page.
        extra: more start variables (a start form's); also(session, instance_id, ticket): the
        caller's rows (a notice) in the same transaction."""
        definition = c["definition"]
        info = self.engine.repository.process(definition)
        region = _text(region) or info.properties.get("region") or None
        token = new_token()
        for attempt in range(5):
            tracking_no = self._new_tracking_no()
            user = ENTERPRISE_PREFIX + tracking_no
            data = {**(extra or {}),
                    "企业名称": c["company"], "company": c["company"], "credit_code": c["credit_code"],
                    "contact_name": c["contact_name"], "contact_phone": c["contact_phone"],
                    "category": c["category"], "summary": c["summary"], "channel": channel,
                    "enterprise_user": user}

            def write(session, instance_id, tracking_no=tracking_no, user=user):
                ticket = AppealTicket(tracking_no=tracking_no, token_hash=token_hash(token), instance_id=instance_id,
                                      definition_key=definition.key, company=c["company"],
                                      credit_code=c["credit_code"], contact_name=c["contact_name"],
                                      contact_phone=c["contact_phone"], category=c["category"],
                                      created_at=self.engine.clock.now(), channel=channel,
                                      registered_by=registered_by, summary=c["summary"])
                session.add(ticket)
                session.flush()
                for name, content in c["files"]:
                    self.engine.uploads.add(instance_id, name, content, registered_by or user, session=session)
                if also is not None:
                    also(session, instance_id, {"tracking_no": tracking_no, "token": token, "phone": c["contact_phone"]})
            try:
                iid = self.engine.runtime.start(definition.key, data, business_key=tracking_no,
                                                version=definition.version, user=registered_by or user,
                                                region=region, also=write)
            except IntegrityError:
                if attempt == 4:
                    raise
                continue                        # the same number drawn twice at once: draw again
            return {"tracking_no": tracking_no, "token": token, "instance_id": iid}

    def _new_tracking_no(self):
        day = self.engine.clock.now().astimezone(TIMEZONE).strftime("%Y%m%d")
        with self.engine.db.read() as s:
            while True:
                no = f"QH{day}-" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_RANDOM))
                if s.scalar(select(AppealTicket.id).where(AppealTicket.tracking_no == no)) is None:
                    return no

    # -- the private link --------------------------------------------------------------------
    def by_token(self, token):
        """The ticket of a tracking link's token; NotFound (saying nothing more) otherwise."""
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            raise NotFound("no appeal for this link")
        digest = token_hash(token)
        with self.engine.db.read() as s:
            t = s.scalars(select(AppealTicket).where(AppealTicket.token_hash == digest)).first()
            if t is None or not hmac.compare_digest(t.token_hash, digest):
                raise NotFound("no appeal for this link")
            return _ticket_dict(t)

    # -- what the enterprise sees ------------------------------------------------------------
    def progress(self, ticket):
        """The appeal as the enterprise may see it (see the module doc): what it submitted, the
        public stages as a bar, the steps that mean something to it, its open rating steps."""
        engine, user = self.engine, ticket["user"]
        instance = engine.runtime.get(ticket["instance_id"])
        names = self._names()
        related = [i for i in engine.runtime.instances(business_key=ticket["tracking_no"])
                   if i["id"] != instance["id"]]
        related.sort(key=lambda i: i["started_at"])
        with engine.db.read() as s:
            mine = s.scalars(select(Task.id).where(Task.assignee == user, Task.status == "ready")
                             .order_by(Task.created_at, Task.id)).all()
        own = {"id": instance["id"], "name": names.get(instance["definition_key"], instance["definition_key"])}
        submitted_at = datetime.fromisoformat(ticket["created_at"])
        result = {
            "tracking_no": ticket["tracking_no"], "company": ticket["company"],
            "submitted_at": local_text(submitted_at), "definition_name": own["name"],
            "status": instance["status"], "status_text": STATUS_TEXT.get(instance["status"], instance["status"]),
            "finished": instance["status"] in ("completed", "cancelled"),
            "submitted": self._submitted(ticket),
            "steps": [{"name": "企业提交诉求" if not ticket["registered_by"] else f"诉求登记（{ticket['channel']}）",
                       "at": local_text(submitted_at), "replies": [], "mine": True, "stage": "受理"}]
            + public_steps(self._steps(instance["id"], user)),
            "current": self._current(instance["id"], user),
            "related": [{"name": names.get(i["definition_key"], i["definition_key"]),
                         "status": i["status"], "status_text": STATUS_TEXT.get(i["status"], i["status"]),
                         "started_at": local_text(i["started_at"]), "steps": public_steps(self._steps(i["id"], user)),
                         "current": self._current(i["id"], user)} for i in related],
            "my_tasks": [],
        }
        for task_id in mine:
            t = engine.tasks.get(task_id)
            result["my_tasks"].append({"id": t["id"], "name": t["name"], "form": t["form"],
                                       "process": names.get(t["definition_key"], t["definition_key"]),
                                       "due_at": t["due_at"],
                                       "due_text": deadline_text(t["due_at"], now=engine.clock.now()),
                                       "due_provisional": t["due_provisional"],
                                       "workdays_left": engine.tasks.workdays_left(t["due_at"], region=t["region"])})
        # reopened: the enterprise's last rating was bad and the appeal goes on (二次督办)
        rated = [st for st in result["steps"] if st.get("rating") is not None]
        result["reopened"] = bool(rated) and rated[-1]["bad"] and instance["status"] == "running"
        # held up: a step failed and waits for an administrator (an open incident). Without
        # this the enterprise would read "moving on" for as long as nobody fixes it.
        result["held_up"] = self._held_up([instance, *related])
        everything = [result, *result["related"]]
        done = [st["stage"] for r in everything for st in r["steps"] if st.get("stage")]
        current = [c["stage"] for r in everything for c in r["current"] if c.get("stage")]
        result["bar"] = stage_bar(done, current, result["finished"] and
                                  all(r["status"] in ("completed", "cancelled") for r in result["related"]))
        return result

    def _submitted(self, ticket) -> dict:
        """What the enterprise gave (or the clerk registered for it): its fields and files."""
        categories = None
        try:
            with self.engine.db.read() as s:
                definition = self.engine.repository.get_definition(s, ticket["definition_key"])
            categories = self._categories(self.engine.repository.process(definition))
        except NotFound:
            pass
        category = next((o["name"] for o in categories or [] if o["id"] == ticket["category"]), ticket["category"])
        with self.engine.db.read() as s:
            files = s.execute(select(Attachment.name, Attachment.size)
                              .where(Attachment.instance_id == ticket["instance_id"], Attachment.task_id.is_(None),
                                     Attachment.kind == "upload",
                                     Attachment.created_by.in_([ticket["user"], ticket["registered_by"] or ""]))
                              .order_by(Attachment.id)).all()
        return {"company": ticket["company"], "credit_code": ticket["credit_code"],
                "contact_name": ticket["contact_name"], "contact_phone": mask_phone(ticket["contact_phone"]),
                "category": category, "summary": ticket["summary"], "channel": ticket["channel"],
                "files": [{"name": f.name, "size": f.size} for f in files]}

    def _held_up(self, instances: list[dict]) -> bool:
        """True when a running instance of the appeal has an open incident."""
        return any(i["status"] == "running" and self.engine.runtime.incidents(instance_id=i["id"])
                   for i in instances)

    def _names(self):
        """Process names as enterprises read them (the process's portalName property, else its name)."""
        names = {}
        for d in self.engine.repository.definitions():
            info = self.engine.repository.process(self.engine.db_get_definition(d["id"]))
            names[d["key"]] = info.properties.get("portalName") or d["name"] or d["key"]
        return names

    def _steps(self, instance_id, user):
        """Completed user tasks in the order they were done, each with its public replies (form
        fields named *reply*/*答复*) and public comments; the enterprise's own steps show its answers."""
        engine = self.engine
        with engine.db.read() as s:
            names = dict(s.execute(select(Task.id, Task.name).where(Task.instance_id == instance_id)).all())
            comments = s.execute(select(TaskComment.body, TaskComment.created_at)
                                 .where(TaskComment.instance_id == instance_id, TaskComment.public.is_(True))
                                 .order_by(TaskComment.created_at, TaskComment.id)).all()
        steps = []
        for e in engine.history.events(instance_id, ["task_completed"]):     # in the order they happened
            values = e["data"] or {}
            fields = {f["id"]: f for f in engine.tasks.get(e["task_id"])["form"]["fields"]}
            at = datetime.fromisoformat(e["at"])
            step = {"name": names.get(e["task_id"]) or e["element_id"], "at": local_text(at), "replies": [],
                    "mine": e["user"] == user, "_at": at}
            if step["mine"]:
                step["answers"] = [{"label": f["label"], "text": _shown(f, values.get(fid))}
                                   for fid, f in fields.items() if values.get(fid) not in (None, "")]
                rating = [f for f in fields.values() if is_rating_field(f)]
                if rating:
                    step["rating"] = {f["id"]: values.get(f["id"]) for f in rating}
                    step["bad"] = bad_rating(values, rating)
            else:
                step["replies"] = [{"label": f["label"], "text": str(values[fid])} for fid, f in fields.items()
                                   if REPLY_RE.search(fid) and values.get(fid) not in (None, "")]
            steps.append(step)
        for c in comments:
            steps.append({"name": "办理说明", "at": local_text(c.created_at), "mine": False, "_at": c.created_at,
                          "replies": [{"label": "说明", "text": c.body}]})
        steps.sort(key=lambda st: st["_at"])              # stable: steps done at the same moment keep their order
        for st in steps:
            del st["_at"]
        return steps

    def _current(self, instance_id, user):
        engine = self.engine
        with engine.db.read() as s:
            rows = s.execute(select(Task.id, Task.name, Task.element_id, Task.due_at, Task.due_provisional, Task.assignee,
                                    Task.region)
                             .where(Task.instance_id == instance_id, Task.status == "ready")
                             .order_by(Task.created_at, Task.id)).all()
        now = engine.clock.now()
        return [{"name": r.name or r.element_id, "due_at": r.due_at.isoformat() if r.due_at else None,
                 "due_text": deadline_text(r.due_at, now=now),
                 "due_provisional": r.due_provisional, "stage": stage_of(r.name or r.element_id),
                 "workdays_left": engine.tasks.workdays_left(r.due_at, region=r.region), "mine": r.assignee == user}
                for r in rows]

    # -- rating ----------------------------------------------------------------------------------
    def rate(self, token, task_id, values):
        """Complete an open step assigned to this link's enterprise (its 好差评) with the
        step's own form fields only; {"task": name, "bad": a bottom-two level given}."""
        ticket = self.by_token(token)
        user = ticket["user"]
        try:
            t = self.engine.tasks.get(str(task_id or ""))
        except NotFound:
            raise NotFound(f"no open step {task_id} for this appeal") from None
        if t["assignee"] != user or t["status"] != "ready":
            raise Forbidden(f"step {task_id} is not an open step of appeal {ticket['tracking_no']}")
        fields = [f["id"] for f in t["form"]["fields"]]
        data = {k: values[k] for k in fields if k in (values or {}) and values[k] not in (None, "")}
        bad = bad_rating(data, t["form"]["fields"])
        reason = next((f for f in fields if COMMENT_RE.search(f)), None)
        if bad and reason and not _text(data.get(reason)):
            # 差评须说明原因: the supervision office acts on it
            msg = "评价不满意时，请写明原因 (a reason is required with a bad rating)"
            raise ValidationFailed(f"{reason}: {msg}", {reason: msg})
        self.engine.tasks.complete(t["id"], user, data)
        return {"task": t["name"], "bad": bad}


def _shown(field, value):
    """A submitted value as the enterprise reads it back (an enum option by its name)."""
    if field.get("type") == "enum":
        for o in field.get("options", []):
            if o["id"] == str(value):
                return o["name"] or o["id"]
    return str(value)


__all__ = ["Portal", "PORTAL_GROUP", "validate_credit_code", "validate_phone", "bad_rating", "CreditCodeError", "MAX_FILES",
           "is_rating_field", "mask_phone", "new_token", "CHANNEL",
           "ENTERPRISE_PREFIX"]
