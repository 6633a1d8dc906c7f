"""Staff registration (登记诉求): appeals that arrive by phone, at the counter, through 企业码, at a
恳谈会, from an observer or by letter, registered by a clerk in a form with the portal's fields
plus the channel, for any process the clerk may start (engine.access.can_start).

A registered appeal is the portal's appeal in every way that matters to the enterprise: it
gets a tracking number and a private link (sent to the contact phone by SMS, since the clerk
must not keep it), it is enterprise_user on the instance (its rating steps come to its
tracking page) and it can be found again by number and phone code (appeals/lookup.py). The
instance is started by the clerk (started_by, camunda:initiator); the ticket keeps the
channel and who registered it.

Some processes need more at their start than the portal's fields: the variables their first
script or step reads (鹿城's observation point and observer). They declare them as
camunda:formField on their (none) start event, as Camunda Modeler writes a start form, which the
form renders and checks like a task form.
"""
from __future__ import annotations

from typing import Any, Callable

from lxml import etree
from SpiffWorkflow.camunda.specs.user_task import EnumFormField, Form, FormField

from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.errors import ValidationFailed
from qihu.engine.tasks import forms

CHANNELS = ("电话", "窗口", "企业码", "恳谈会", "观察员", "走访", "来信", "12345热线", "其他")
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
STANDARD = {"company", "企业名称", "credit_code", "contact_name", "contact_phone", "category", "summary", "channel",
            "enterprise_user"}
SMS_TEXT = ("【企业诉求服务平台】您反映的诉求已登记（{channel}），受理编号 {tracking_no}。"
            "查看办理进度、办结后评价请打开：{link} 。此链接请勿转发。")


class Registration:
    """Registering appeals for enterprises (see the module doc)."""

    def __init__(self, portal):
        self.portal = portal
        self.engine = portal.engine
        self._starts: dict[int, tuple[bool, Form]] = {}    # definition id -> (has a none start, start form)

    # -- what a clerk may register -------------------------------------------------------------
    def choices(self, user: str) -> list[dict]:
        """The latest version of each process `user` may start at a none start event:
        [{"key", "name", "region", "categories", "fields"}] (fields: the start form, described)."""
        out = []
        for d in self.engine.repository.definitions():
            definition = self.engine.db_get_definition(d["id"])
            if not self.engine.access.can_start(user, definition):
                continue
            startable, form = self._start(definition)
            if not startable:
                continue                                 # started only by a message or signal
            info = self.engine.repository.process(definition)
            out.append({"key": d["key"], "name": d["name"] or d["key"], "region": info.properties.get("region"),
                        "categories": self.portal._categories(info), "fields": forms.describe(form)["fields"]})
        return out

    def _start(self, definition) -> tuple[bool, Form]:
        """(has a none start event, its start form), read once per deployed definition."""
        known = self._starts.get(definition.id)
        if known is None:
            start = self._start_event(definition)
            known = self._starts[definition.id] = (start is not None, self.start_form(definition, start))
        return known

    def _start_event(self, definition) -> Any:
        """The process's none start event (lxml element), or None."""
        _, xml = self.engine.repository.xml(definition.key, definition.version)
        root = load_xml(xml, definition.resource_name)
        for process in root.iter(f"{{{BPMN}}}process"):
            if process.get("id") != definition.key:
                continue
            for start in process.findall(f"{{{BPMN}}}startEvent"):
                if not any(etree.QName(c).localname.endswith("EventDefinition") for c in start
                           if isinstance(c.tag, str)):
                    return start
        return None

    def start_form(self, definition, start=None) -> Form:
        """The start form: the start event's camunda:formField (types, enum values, validation as
        on a task); the portal's fields left out."""
        start = self._start_event(definition) if start is None else start
        form = Form()
        for x in start.iterfind(f".//{{{CAMUNDA}}}formField") if start is not None else ():
            if x.get("id") in STANDARD:
                continue
            field = EnumFormField() if x.get("type") == "enum" else FormField()
            field.id, field.type, field.label = x.get("id"), x.get("type") or "string", x.get("label")
            field.default_value = x.get("defaultValue")
            for child in x:
                name = etree.QName(child).localname if isinstance(child.tag, str) else ""
                if name == "value":
                    field.add_option(child.get("id"), child.get("name"))
                elif name == "validation":
                    for v in child:
                        if isinstance(v.tag, str):
                            field.add_validation(v.get("name"), v.get("config"))
            form.add_field(field)
        return form

    # -- register ----------------------------------------------------------------------------------
    def register(self, user: str, definition_key: str, company, credit_code, contact_name, contact_phone, category,
                 summary, channel, files=(), extra: dict | None = None,
                 link: Callable[[str], str] | None = None) -> dict:
        """Start the appeal `user` registers: {"tracking_no", "token", "instance_id"}.

        Forbidden when `user` may not start the process; ValidationFailed naming every bad field
        (the portal's, channel, and the start form's by their ids) before anything is written.
        The SMS with the number and `link(token)` is written in the same transaction, and sent
        after it commits (engine.runtime.notice)."""
        definition = self.engine.access.require_start(user, str(definition_key or ""))
        startable, form = self._start(definition)
        if not startable:
            raise ValidationFailed("该流程只能由消息启动 (this process is started by a message only)",
                                   {"definition": "该流程不能登记诉求 (not startable here)"})
        given = {f.id: (extra or {}).get(f.id) for f in form.fields}
        clean_extra: dict = {}

        def more(clean, errors):
            text = str(channel or "").strip()
            if text not in CHANNELS:
                errors["channel"] = "请选择诉求来源渠道 (choose the channel)"
            clean["channel"] = text
            try:
                clean_extra.update(forms.validate(form, given))
            except ValidationFailed as e:
                errors.update(e.errors)
        c = self.portal.check_fields(definition, company, credit_code, contact_name, contact_phone, category, summary,
                                     files, more=more)

        def sms(session, instance_id, made):
            url = link(made["token"]) if link else None
            text = SMS_TEXT.format(channel=c["channel"], tracking_no=made["tracking_no"], link=url or "")
            notice = getattr(self.engine.runtime, "notice", None)
            if notice is not None:
                notice(session, channel="sms", to=made["phone"], text=text,
                       business_id=f"appeal-registered:{made['tracking_no']}", instance_id=instance_id)
        return self.portal.open_appeal(c, channel=c["channel"], registered_by=user, extra=clean_extra, also=sms)


__all__ = ["Registration", "CHANNELS"]
