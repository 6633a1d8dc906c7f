"""登记诉求: staff register an appeal that arrived by phone, at the counter, through 企业码, at a
恳谈会, from an observer or by letter (appeals/register.py does the work).

    GET  /register           the form for a process the clerk may start (?d=key chooses one)
    POST /register           start it; the page shows the tracking number to tell the caller

The enterprise's private link goes to its phone by SMS; the clerk sees the tracking number and
the case, never the link (whoever holds the link rates the appeal as the enterprise).
"""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for

from qihu.appeals.portal import LIMITS, MAX_FILES, mask_phone
from qihu.appeals.register import CHANNELS
from qihu.engine.errors import Forbidden, NotFound, QihuError, ValidationFailed
from qihu.engine.tasks.uploads import ALLOWED

from qihu.web import csrf
from qihu.web.context import current_appeals, current_engine
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages import inbox as ui
from qihu.web.pages.templating import QihuBlueprint

blueprint = QihuBlueprint("qihu_register", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

MADE_KEY = "qihu_registered"          # the last registration, shown once on the next form
FIELDS = ("company", "credit_code", "contact_name", "contact_phone", "category", "summary", "channel")
START_PREFIX = "start-"               # start-form fields in the POST, apart from the appeal's own


@blueprint.app_context_processor
def register_link():
    """qihu_may_register(): the header shows 登记诉求 to those who may register some process."""
    def qihu_may_register():
        from qihu.web.context import current_qihu
        user = current_qihu().user()
        return bool(user) and bool(current_appeals().portal.registration.choices(user))
    return {"qihu_may_register": qihu_may_register}


def _page(user, chosen, choices, values, errors, status=200, made=None):
    limit = current_engine().settings.upload_max_bytes
    return render_template("qihu/register.html", chosen=chosen, choices=choices, values=values, errors=errors,
                           channels=CHANNELS, made=made, limits=LIMITS, max_files=MAX_FILES,
                           max_file_mb=limit // (1024 * 1024), allowed_types=sorted(ALLOWED),
                           start_prefix=START_PREFIX), status


@blueprint.get("/register")
@ui.signed_in
def form(user):
    choices = current_appeals().portal.registration.choices(user)
    if not choices:
        return ui._error_page(403, _("没有权限"), _("您所在的组不能登记诉求。"))
    key = request.args.get("d", "")
    chosen = next((c for c in choices if c["key"] == key), choices[0] if not key else None)
    if chosen is None:
        return ui._error_page(404, _("未找到"), _("没有这个可登记的流程。"))
    return _page(user, chosen, choices, {"channel": "电话"}, {}, made=session.pop(MADE_KEY, None))


@blueprint.post("/register")
@ui.signed_in
def submit(user):
    choices = current_appeals().portal.registration.choices(user)
    chosen = next((c for c in choices if c["key"] == request.form.get("definition", "")), None)
    if chosen is None:
        return ui._error_page(403, _("没有权限"), _("您所在的组不能登记该流程的诉求。"))
    values = {k: request.form.get(k, "") for k in FIELDS}
    extra = {k[len(START_PREFIX):]: v for k, v in request.form.items() if k.startswith(START_PREFIX)}
    values.update({START_PREFIX + k: v for k, v in extra.items()})
    files = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and (f.filename or "")]
    try:
        made = current_appeals().portal.registration.register(
            user, chosen["key"], values["company"], values["credit_code"], values["contact_name"],
            values["contact_phone"], values["category"], values["summary"], values["channel"], files=files,
            extra=extra, link=lambda token: url_for("qihu_portal.track", token=token, _external=True))
    except ValidationFailed as e:
        errors = {(START_PREFIX + k if k in {f["id"] for f in chosen["fields"]} else k): v for k, v in e.errors.items()}
        return _page(user, chosen, choices, values, errors, 422)
    except (Forbidden, NotFound):
        return ui._error_page(403, _("没有权限"), _("您所在的组不能登记该流程的诉求。"))
    except QihuError:
        current_app.logger.exception("register: an appeal could not be started")
        return _page(user, chosen, choices, values, {"form": _("系统繁忙，诉求未能登记，请稍后重试。")}, 503)
    session[MADE_KEY] = {"tracking_no": made["tracking_no"], "instance_id": made["instance_id"],
                         "phone": mask_phone(values["contact_phone"]), "company": values["company"].strip()}
    return redirect(url_for("qihu_register.form", d=chosen["key"]))
