"""Around the inbox: saved filters (save, delete) and the notifications page (mark read).

Only calls the engine (appeals/saved_filters.py, engine/tasks/notifications.py). Every page needs a
signed-in user and every form carries a CSRF token; a user sees, marks and deletes only what
is theirs (someone else's saved filter or a notification for a group they are not in: 404).
The unread badge of the page header comes from `qihu_unread()`, a template global.
"""
from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from qihu.engine.errors import NotFound, ValidationFailed
from qihu.appeals.saved_filters import canonical, parse_query

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.redirects import safe_target
from qihu.web.context import current_qihu, current_engine, current_appeals

blueprint = QihuBlueprint("qihu_inbox", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)

PAGE_SIZE = 20



@blueprint.app_context_processor
def unread_badge():
    """qihu_unread(): the caller's unread notifications, asked only where a page shows it."""
    def qihu_unread():
        user = current_qihu().user()
        return current_engine().notifications.unread_count(user) if user else 0
    return {"qihu_unread": qihu_unread}


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return ui._error_page(404, _("未找到"), _("没有找到该记录。"))


# -- saved filters ---------------------------------------------------------------------------
def inbox_url(query=""):
    base = url_for("qihu_ui.inbox")
    return f"{base}?{query}" if query else base


@blueprint.post("/inbox/filters")
@ui.signed_in
def save_filter(user):
    """Save the inbox view the form came from (its query string) under a name."""
    query = request.form.get("query", "")
    try:
        saved = current_appeals().filters.save(user, request.form.get("name", ""), query)
    except ValidationFailed as e:
        why = {"name": _("名称必填，最多 100 个字"), "query": _("筛选条件无效")}
        text = "；".join(why.get(k, k) + f"（{v}）" for k, v in e.errors.items())
        flash(f"{_('筛选未保存')}：{text}", "error")
        try:
            back = canonical(parse_query(query))
        except ValueError:
            back = ""
        return redirect(inbox_url(back))
    flash(_("已保存筛选：{name}", name=saved["name"]), "ok")
    return redirect(inbox_url(saved["query"]))


@blueprint.post("/inbox/filters/<int:filter_id>/delete")
@ui.signed_in
def delete_filter(filter_id, user):
    name = current_appeals().filters.get(user, filter_id)["name"]
    current_appeals().filters.delete(user, filter_id)
    flash(_("已删除筛选：{name}", name=name), "ok")
    return redirect(inbox_url())


# -- notifications ---------------------------------------------------------------------------
def instance_url(instance_id):
    try:
        return url_for("qihu_instance.instance", instance_id=instance_id)
    except BuildError:      # a host app without the instance page
        return None


@blueprint.get("/notifications")
@ui.signed_in
def notifications(user):
    unread_only = request.args.get("unread", "") in ("1", "on", "true")
    try:
        page = int(request.args.get("page", "1") or 1)
    except ValueError:
        page = 0
    if not 1 <= page <= 100000:
        return ui._error_page(400, _("请求有误"), f"page: {request.args.get('page')}")
    size = current_app.config.get("QIHU_PAGE_SIZE", PAGE_SIZE)
    result = current_engine().notifications.page(user, unread_only=unread_only, limit=size, offset=(page - 1) * size)
    for n in result["items"]:
        n["instance_url"] = instance_url(n["instance_id"]) if n["instance_id"] else None
        n["task_url"] = url_for("qihu_ui.task", task_id=n["user_task_id"]) if n["user_task_id"] else None
    pages = max(1, -(-result["total"] // size))

    def link(**changes):
        args = {"unread": "1" if unread_only else "", "page": ""}
        args.update(changes)
        return url_for("qihu_inbox.notifications", **{k: v for k, v in args.items() if v not in ("", None)})

    return render_template("qihu/notifications.html", result=result, unread_only=unread_only, page=page,
                           pages=pages, link=link)


def _back():
    """Where to go after marking: the notifications page the form was on (never elsewhere)."""
    base = url_for("qihu_inbox.notifications")
    return safe_target(request.form.get("back", ""), base, under=base)


@blueprint.post("/notifications/<int:notification_id>/read")
@ui.signed_in
def mark_read(notification_id, user):
    current_engine().notifications.mark_read(user, notification_id)
    return redirect(_back())


@blueprint.post("/notifications/read-all")
@ui.signed_in
def mark_all_read(user):
    n = current_engine().notifications.mark_all_read(user)
    flash(_("已将 {n} 条通知标为已读", n=n), "ok")
    return redirect(_back())
