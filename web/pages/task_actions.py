"""Actions on the task page besides completing it: reassign to a colleague (转办), return to the
dispatcher (退单), comments and attachments. Only calls the engine (engine/tasks/handoff.py,
engine/tasks/comments.py, engine/tasks/uploads.py), which decides who may do what.

Every action needs a signed-in user who may see the task (engine.tasks.visible_get): anyone
else gets 403, an unknown task 404. A refused input shows the task page again with the error
next to its field and what was typed kept; nothing is saved.
"""
from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from qihu.engine.errors import Conflict, Forbidden, NotFound, QihuError, ValidationFailed

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_engine

blueprint = QihuBlueprint("qihu_task_actions", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)
for _error, _handler in ((Forbidden, ui._forbidden), (NotFound, ui._not_found), (csrf.CSRFError, ui._csrf_failed)):
    blueprint.register_error_handler(_error, _handler)


def _again(task_id, user, name, values, errors, message, status):
    """The task page again, the refused action's form open with its errors and input."""
    return ui._task_page(task_id, user, message=message, status=status,
                         action={"name": name, "values": values, "errors": errors})


def _back(task_id, anchor=None):
    return redirect(url_for("qihu_ui.task", task_id=task_id) + (f"#{anchor}" if anchor else ""))


@blueprint.post("/tasks/<task_id>/reassign")
@ui.signed_in
def reassign(task_id, user):
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    values = {"to_user": request.form.get("to_user", "").strip(), "note": request.form.get("note", "")}
    try:
        engine.handoff.reassign(task_id, user, values["to_user"], values["note"])
    except ValidationFailed as e:
        return _again(task_id, user, "reassign", values, e.errors, _("转办未完成，请按提示修改。"), 422)
    except Conflict as e:
        flash(f"{_('操作未完成')}: {e}", "error")
        return _back(task_id)
    account = engine.accounts.get(values["to_user"])
    flash(_("已将「{task}」转办给 {name}", task=t["name"] or t["element_id"],
            name=(account or {}).get("display_name") or values["to_user"]), "ok")
    return redirect(url_for("qihu_ui.inbox"))


@blueprint.post("/tasks/<task_id>/return")
@ui.signed_in
def return_task(task_id, user):
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    values = {"reason": request.form.get("reason", "")}
    try:
        engine.handoff.return_task(task_id, user, values["reason"])
    except ValidationFailed as e:
        return _again(task_id, user, "return", values, e.errors, _("退单未完成，请填写退单理由。"), 422)
    except Conflict as e:                       # no returnTo, not on this path, already done, suspended
        return _again(task_id, user, "return", values, {}, f"{_('操作未完成')}: {e}", 409)
    flash(_("已退单：「{task}」已退回重新分派", task=t["name"] or t["element_id"]), "ok")
    return redirect(url_for("qihu_ui.inbox"))


@blueprint.post("/tasks/<task_id>/comments")
@ui.signed_in
def comment(task_id, user):
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    values = {"body": request.form.get("body", ""), "public": request.form.get("public") in ("1", "on", "true")}
    try:
        engine.comments.add(t["instance_id"], user, values["body"], task_id=task_id, public=values["public"])
    except ValidationFailed as e:
        return _again(task_id, user, "comment", values, e.errors, _("意见未保存，请按提示修改。"), 422)
    flash(_("意见已保存"), "ok")
    return _back(task_id, "comments")


@blueprint.post("/tasks/<task_id>/attachments")
@ui.signed_in
def attach(task_id, user):
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _again(task_id, user, "attach", {}, {"file": _("请选择要上传的文件")},
                      _("附件未上传，请按提示修改。"), 422)
    try:
        a = engine.comments.attach(t["instance_id"], user, upload.filename, upload.read(), task_id=task_id)
    except ValidationFailed as e:
        return _again(task_id, user, "attach", {}, e.errors, _("附件未上传，请按提示修改。"), 422)
    except QihuError as e:
        return _again(task_id, user, "attach", {}, {}, f"{_('操作未完成')}: {e}", 409)
    flash(_("附件已上传：{name}", name=a["name"]), "ok")
    return _back(task_id, "attachments")


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(e):
    """A request over the app's MAX_CONTENT_LENGTH is refused before it is read."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    text = _("上传的内容超过 {n} MB 的上限，未保存。请压缩或拆分文件后重新上传。", n=limit // (1024 * 1024))
    task_id = (request.view_args or {}).get("task_id")
    back = url_for("qihu_ui.task", task_id=task_id) if task_id else None
    return render_template("qihu/error.html", status=413, title=_("文件过大"), text=text, back=back), 413
