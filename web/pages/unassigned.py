"""待分派: the queue of user tasks that name nobody (no assignee, candidate group or user, no
lane), as Camunda 7 runs them: they wait unassigned until someone gives them out.

Who: administrators and members of the dispatcher group (engine Settings.dispatcher_group,
QIHU_DISPATCHER_GROUP), within their region (engine.access). Each task can be 指派给个人 (its
assignee) or 分派给候选组/候选人 (who then claim it from their inbox); each is a POST with a CSRF
token, audited by the engine, and flashes a Chinese result. A task someone else dispatched
meanwhile, or a person or group that cannot take it, is said on the page, never a 500.
The header shows 待分派 with the count for those who may dispatch (`qihu_unassigned_count()`).
"""
from flask import flash, redirect, render_template, request, url_for

from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.redirects import safe_target
from qihu.web.context import current_engine, current_qihu

blueprint = QihuBlueprint("qihu_unassigned", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

PAGE_SIZE = 50


@blueprint.app_context_processor
def unassigned_badge():
    """qihu_unassigned_count(): tasks in the caller's 待分派 queue, None for someone who may not
    dispatch (the header shows the link to dispatchers and administrators only)."""
    def qihu_unassigned_count():
        user = current_qihu().user()
        engine = current_engine()
        if not user or not engine.access.is_dispatcher(user):
            return None
        return engine.tasks.unassigned_count(user)
    return {"qihu_unassigned_count": qihu_unassigned_count}


def _back():
    """Where an action returns: the queue with the filters it was posted from."""
    base = url_for("qihu_unassigned.queue")
    return safe_target(request.form.get("next", ""), base, under=base)


@blueprint.get("/inbox/unassigned")
@ui.signed_in
def queue(user):
    engine = current_engine()
    f = {k: (request.args.get(k) or "").strip()[:200] for k in ("definition", "region")}
    try:
        page = max(1, min(int(request.args.get("page") or 1), 100000))
    except ValueError:
        return ui._error_page(400, _("请求有误"), f"{_('筛选')}: page")
    result = engine.tasks.unassigned(user, definition_key=f["definition"] or None, region=f["region"] or None,
                                     limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    everything = engine.tasks.unassigned(user, limit=500)["tasks"] if any(f.values()) else result["tasks"]
    names = {d["key"]: d["name"] or d["key"] for d in engine.repository.definitions()}
    regions = sorted({t["region"] for t in everything if t["region"]} | ({f["region"]} - {""}))
    processes = sorted({t["definition_key"] for t in everything} | ({f["definition"]} - {""}))
    targets = {r: engine.tasks.dispatch_targets(r) for r in {t["region"] for t in result["tasks"]}}
    return render_template("qihu/unassigned.html", result=result, f=f, page=page,
                           pages=max(1, -(-result["total"] // PAGE_SIZE)), names=names, regions=regions,
                           processes=[(k, names.get(k, k)) for k in processes], targets=targets,
                           is_admin=engine.access.is_admin(user), back=request.full_path.rstrip("?"),
                           group=engine.access.dispatcher_group)


@blueprint.post("/inbox/unassigned/<task_id>/assign")
@ui.signed_in
def assign(task_id, user):
    to_user = request.form.get("to_user", "").strip()

    def display_name():
        return current_engine().accounts.person_names([to_user]).get(to_user) or to_user
    return _act(lambda e: e.tasks.assign(task_id, user, to_user, note=request.form.get("note")),
                lambda t: _("已将「{task}」指派给 {who}", task=t, who=display_name()), task_id)


@blueprint.post("/inbox/unassigned/<task_id>/offer")
@ui.signed_in
def offer(task_id, user):
    groups, users = request.form.get("groups", ""), request.form.get("users", "")
    return _act(lambda e: e.tasks.offer(task_id, user, groups=groups, users=users, note=request.form.get("note")),
                lambda t: _("已将「{task}」分派给 {who}，待其认领", task=t, who=_offered_to(groups, users)), task_id)


def _offered_to(groups, users):
    """"政策咨询承办部门、张三": the groups and people a task was offered to, by their names."""
    accounts = current_engine().accounts
    groups = [n.strip() for n in groups.split(",") if n.strip()]
    users = [n.strip() for n in users.split(",") if n.strip()]
    group_names, people = accounts.group_names(groups), accounts.person_names(users)
    return "、".join([*(group_names.get(g) or g for g in groups), *(people.get(u) or u for u in users)])


def _act(do, done, task_id):
    engine = current_engine()
    try:
        task = engine.tasks.get(task_id)
        do(engine)
    except ValidationFailed as e:
        flash(f"{_('分派未完成')}：{'；'.join(e.errors.values()) if e.errors else e}", "error")
    except (Conflict, InvalidState):
        flash(_("分派未完成：该任务已被他人分派或已办结，请刷新后查看"), "error")
    except NotFound:
        flash(_("分派未完成：没有找到该任务"), "error")
    else:
        flash(done(task["name"] or task["element_id"]), "ok")
    return redirect(_back())


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("待分派任务仅限管理员和分派员处理。"))
