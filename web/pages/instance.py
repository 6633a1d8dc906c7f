"""The instance page: an appeal's diagram (drawn in the browser by the vendored bpmn-js viewer)
with the steps done and the current ones highlighted, its open tasks, audit trail, letters and
attachments, ledger lines and notifications; and attachment downloads.

Everyone who may see the instance (engine.access: administrators and the people taking part)
may see the page and download its files; anyone else gets 403, an unknown id 404. The page has
no inline script: web/static/instance.js reads the diagram data from /instances/<id>/diagram.json.
"""
from urllib.parse import quote

from flask import Response, jsonify, render_template, request

from qihu.engine.errors import Forbidden, NotFound, QihuError
from qihu.appeals.trail import STATUS_NAMES
from qihu.appeals import headline
from qihu.appeals.incidents import STATUS_NAMES as INCIDENT_STATUS_NAMES

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.pages import personal
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.pages.incidents import describe
from qihu.web.context import current_engine, current_appeals

blueprint = QihuBlueprint("qihu_instance", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

KIND_NAMES = {"upload": "上传材料", "letter": "函件"}
@blueprint.get("/instances/<instance_id>")
@ui.signed_in
def instance(instance_id, user):
    engine = current_engine()
    engine.access.require_instance(user, instance_id)
    inst = engine.runtime.get(instance_id)
    definition = engine.db_get_definition(inst["definition_id"])
    try:
        data = engine.runtime.data(instance_id)
    except QihuError:
        data = {}
    about = headline(data)
    tasks = engine.tasks.list(instance_id=instance_id, limit=200)
    openable = engine.tasks.openable(tasks, user)     # a link only where the task page will open
    for t in tasks:
        t["mine"] = t["id"] in openable
    records = current_appeals().records(instance_id)
    # the complainant's contact, masked for those without the right; the read logged (appeals/privacy.py)
    contact, privacy = personal.shown(user, instance_id, current_appeals().privacy.contact(instance_id, data),
                                      "instance", audit={"page": "instance", "business_key": inst["business_key"]})
    # the same appeal in other mechanisms (a 不能办 goes on to 说"不"评议 under its business key)
    related = [dict(r, name=engine.db_get_definition(r["definition_id"]).name or r["definition_key"])
               for r in (engine.runtime.instances(business_key=inst["business_key"], limit=20)
                         if inst["business_key"] else [])
               if r["id"] != instance_id and engine.access.can_see_instance(user, r["id"])]
    return render_template(
        "qihu/instance.html", instance=inst, definition=definition, about=about, tasks=tasks,
        trail=current_appeals().trail(instance_id), attachments=engine.uploads.list(instance_id),
        ledger=records["ledger"], notifications=records["notifications"],
        **_incidents(instance_id, user),
        started_by=inst["started_by"],
        status_name=STATUS_NAMES.get(inst["status"], inst["status"]), kind_names=KIND_NAMES,
        related=related, contact=contact, privacy=privacy,
        may_audit_reads=current_appeals().privacy.may_audit(user),
        status_names=STATUS_NAMES, incident_status_names=INCIDENT_STATUS_NAMES)


def _incidents(instance_id: str, user: str) -> dict:
    """The instance's incidents as the page shows them: the open ones said in Chinese (with
    the actions where `user` may act on them: engine.access), and those handled before."""
    engine = current_engine()
    every = describe(engine.runtime.incidents(instance_id, status=None))
    actionable = {i["id"] for i in engine.access.incidents(user, instance_id=instance_id)}
    for i in every:
        i["actionable"] = i["id"] in actionable
    return {"incidents": [i for i in every if i["status"] == "open"],
            "past_incidents": [i for i in every if i["status"] != "open"]}


@blueprint.get("/instances/<instance_id>/diagram.json")
@ui.signed_in
def diagram(instance_id, user):
    engine = current_engine()
    engine.access.require_instance(user, instance_id)
    found = dict(engine.history.diagram(instance_id))
    if not engine.access.is_admin(user):
        # the same rule as the XML API (administrators only: its scripts, expressions, topics
        # and handler settings are the designers' business): others get the drawing alone
        found["xml"] = drawing_only(found.get("xml") or "")
    response = jsonify(found)
    response.headers["Cache-Control"] = "private, no-store"
    return response


BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DRAWING_NS = {BPMN_NS, "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
              "http://www.omg.org/spec/DD/20100524/DI"}
# BPMN children that hold code, expressions or settings rather than the picture
HIDDEN = {"script", "conditionExpression", "extensionElements", "documentation", "timeDuration", "timeDate",
          "timeCycle", "loopCardinality", "completionCondition", "ioSpecification", "dataInputAssociation",
          "dataOutputAssociation", "property", "resourceRole", "performer", "potentialOwner", "humanPerformer"}


def drawing_only(xml: str) -> str:
    """The BPMN file as a participant may see it: the shapes, names and flows the viewer draws,
    without scripts, expressions, extension elements and attributes of other namespaces
    (camunda:topic, camunda:candidateGroups, camunda:expression …)."""
    from lxml import etree
    if not xml:
        return xml
    try:
        root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return ""
    for el in list(root.iter()):
        if not isinstance(el.tag, str):          # comments, processing instructions
            if el.getparent() is not None:
                el.getparent().remove(el)
            continue
        q = etree.QName(el)
        if q.namespace not in DRAWING_NS or (q.namespace == BPMN_NS and q.localname in HIDDEN):
            if el.getparent() is not None:
                el.getparent().remove(el)
            continue
        for name in list(el.attrib):
            ns = etree.QName(name).namespace
            if ns is not None and ns not in DRAWING_NS:
                del el.attrib[name]
        if q.namespace == BPMN_NS and q.localname.endswith("Task") or q.localname == "process":
            for name in ("scriptFormat", "implementation"):
                el.attrib.pop(name, None)
    etree.cleanup_namespaces(root)
    return etree.tostring(root, encoding="unicode")


@blueprint.get("/attachments/<int:attachment_id>")
@ui.signed_in
def attachment(attachment_id, user):
    engine = current_engine()
    meta, content = engine.uploads.get(attachment_id)
    engine.access.require_instance(user, meta["instance_id"])
    response = Response(content, mimetype=None, content_type=meta["content_type"])
    response.headers["Content-Disposition"] = content_disposition(meta["name"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    # whatever a file holds, it never runs as a page of this site
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response



def content_disposition(name):
    """`attachment` with an ASCII fallback name and the real one as RFC 5987 UTF-8."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;%' else "_" for c in name).strip() or "file"
    if "." in name and "." not in fallback:
        fallback += "." + name.rsplit(".", 1)[1]
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- errors ----------------------------------------------------------------------------------
def _wants_json():
    return request.endpoint == "qihu_instance.diagram"


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    if _wants_json():
        return {"error": "forbidden"}, 403
    return ui._error_page(403, _("没有权限"), _("您没有查看此流程实例的权限。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    if _wants_json():
        return {"error": "not found"}, 404
    if request.endpoint == "qihu_instance.attachment":
        return ui._error_page(404, _("未找到"), _("没有找到该附件。"))
    return ui._error_page(404, _("未找到"), _("没有找到该流程实例。"))
