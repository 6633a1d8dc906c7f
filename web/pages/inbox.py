"""The staff UI: start page, inbox and task page (Chinese by default). Only calls the engine.

Every view needs a signed-in user except the start page; anonymous visitors are sent to the
sign-in page (qihu's own, or the host's QIHU_LOGIN_URL), or get a 401 when there is none.
"""
from functools import wraps
from urllib.parse import urlencode

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from qihu.engine.errors import Conflict, Forbidden, NotFound, QihuError, ValidationFailed
from qihu.appeals.saved_filters import canonical, check, inbox_kwargs, parse_query
from qihu.engine.runtime.sla import COLOUR_NAMES
from qihu.appeals import headline
from qihu.engine.tasks.service import COLOURS, PRIORITIES
from qihu.engine.dialect.timers import local_text

from qihu.web import csrf
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages import personal, task_panel
from qihu.web.pages import filters
from qihu.web.pages.templating import STATIC, QihuBlueprint
from qihu.web.context import current_qihu, current_engine, current_appeals

blueprint = QihuBlueprint("qihu_ui", __name__, static_folder=STATIC, static_url_path="/qihu-static")
blueprint.before_request(csrf.protect)
install_i18n(blueprint)
filters.register(blueprint)

PAGE_SIZE = 20
MAX_TEXT = 100
PRIORITY_NAMES = {"high": "高", "normal": "中", "low": "低"}
assert set(PRIORITY_NAMES) == set(PRIORITIES)




def header_user():
    """{"name", "display_name"} of the caller for the page header, or None."""
    if "qihu_header_user" not in g:
        name = current_qihu().user()
        account = current_engine().accounts.get(name) if name else None
        g.qihu_header_user = {"name": name, "display_name": account["display_name"] if account else name} \
            if name else None
    return g.qihu_header_user


def page_context():
    return {"user": header_user(), "local_login": current_qihu().local_login, "colour_names": COLOUR_NAMES,
            "priority_names": PRIORITY_NAMES}


blueprint.context_processor(page_context)


def signed_in(view):
    """Runs the view with the caller's name as `user`; anonymous callers go to sign in."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_qihu().user()
        if user:
            return view(*args, user=user, **kwargs)
        target = request.full_path if request.method == "GET" else request.path
        if current_qihu().local_login:
            if not session.get("_flashes"):     # an ended session has said why already (auth._end_session)
                flash(_("请先登录"), "info")
            return redirect(url_for("qihu_auth.login", next=target.rstrip("?")))
        login_url = current_app.config.get("QIHU_LOGIN_URL")
        if login_url:
            return redirect(f"{login_url}?{urlencode({'next': target.rstrip('?')})}")
        abort(401)
    return wrapper


# -- pages -----------------------------------------------------------------------------------
@blueprint.get("/")
def index():
    """The start page. Anonymous visitors get the way to the portal and to sign in, never the
    engine's counters or the deployed processes: those are for signed-in staff."""
    if not current_qihu().user():
        return render_template("qihu/index.html", definitions=[], stats=None)
    engine = current_engine()
    return render_template("qihu/index.html", definitions=engine.repository.definitions(),
                           stats=engine.runtime.overview())


class BadFilter(Exception):
    pass


def _inbox_args(args):
    """The inbox filters from the query string; BadFilter (400) names a bad one (values are
    checked by engine.filters.check, the same rules a saved filter is held to)."""
    f = {"definition": args.get("definition", "").strip(), "region": args.get("region", "").strip(),
         "colour": args.get("colour", "").strip(),
         "overdue": args.get("overdue", "") in ("1", "on", "true"), "priority": args.get("priority", "").strip(),
         "q": args.get("q", "").strip(), "order": args.get("order", "due").strip() or "due"}
    if len(f["q"]) > MAX_TEXT:
        raise BadFilter(f"q: longer than {MAX_TEXT} characters")
    try:
        check({k: v for k, v in f.items() if v and k != "overdue"})
    except ValueError as e:
        raise BadFilter(str(e)) from None
    try:
        page = int(args.get("page", "1") or 1)
    except ValueError:
        raise BadFilter(f"page: {args.get('page')}") from None
    if not 1 <= page <= 100000:
        raise BadFilter(f"page: {page}")
    return f, page


def _inbox_query(f):
    """The saved-filter form of the filters `f` (engine.filters.canonical)."""
    return canonical({**f, "overdue": "1" if f["overdue"] else "", "order": "" if f["order"] == "due" else f["order"]})


def _saved_filters(engine, user, current):
    """The user's saved filters with their number of tasks now (None if one no longer parses)
    and whether it is the view on screen."""
    saved = current_appeals().filters.list(user)
    for sf in saved:
        try:
            sf["count"] = engine.tasks.inbox(user, **inbox_kwargs(parse_query(sf["query"])), limit=0)["total"]
        except ValueError:
            sf["count"] = None
        sf["url"] = url_for("qihu_ui.inbox") + (f"?{sf['query']}" if sf["query"] else "")
        sf["current"] = sf["query"] == current
    return saved


@blueprint.get("/inbox")
@signed_in
def inbox(user):
    size = current_app.config.get("QIHU_PAGE_SIZE", PAGE_SIZE)
    engine = current_engine()
    try:
        f, page = _inbox_args(request.args)
        result = engine.tasks.inbox(user, definition_key=f["definition"] or None, colour=f["colour"] or None,
                                    overdue=f["overdue"], priority=f["priority"] or None, text=f["q"] or None,
                                    region=f["region"] or None, order=f["order"], limit=size,
                                    offset=(page - 1) * size)
    except (BadFilter, ValueError) as e:
        return _error_page(400, _("请求有误"), f"{_('筛选')}: {e}")
    pages = max(1, -(-result["total"] // size))
    definitions = {d["key"]: d["name"] or d["key"] for d in engine.repository.definitions()}
    regions = dict(result["regions"])
    if f["region"] and f["region"] not in regions:
        regions[f["region"]] = 0           # the chosen one stays choosable, even with no task left
    query = _inbox_query(f)

    def link(**changes):
        """This inbox with some filters changed (page back to 1 unless given)."""
        args = {k: v for k, v in {**f, "overdue": "1" if f["overdue"] else "", "page": ""}.items()}
        args.update(changes)
        return url_for("qihu_ui.inbox", **{k: v for k, v in args.items() if v not in ("", None, False)})

    return render_template("qihu/inbox.html", result=result, f=f, page=page, pages=pages,
                           definitions=definitions, regions=regions, query=query,
                           saved=_saved_filters(engine, user, query),
                           colours=[c for c in COLOURS if c != "blue" or "blue" in result["counts"]],
                           link=link, me=user, colleagues=task_panel.colleagues_for(engine, result["tasks"], user),
                           companies=current_appeals().companies([t["instance_id"] for t in result["tasks"]]))


@blueprint.get("/tasks/<task_id>")
@signed_in
def task(task_id, user):
    return _task_page(task_id, user)


def _task_page(task_id, user, values=None, errors=None, message=None, status=200, action=None):
    """The task page; `action`: a refused side action (web/pages/task_actions.py) shown again."""
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    instance = engine.runtime.get(t["instance_id"])
    try:
        data = engine.runtime.data(t["instance_id"])
    except QihuError:
        data = {}
    about = headline(data)
    case = current_appeals().case(t["instance_id"], t["id"])
    for a in case["attachments"]:
        a["url"] = task_panel.attachment_url(a["id"])
    definition = next((d for d in engine.repository.definitions(key=t["definition_key"])), None)
    # the case file of an enterprise's appeal is personal data: who saw which, from where (等保 安全审计),
    # and its contact masked for those without the right (appeals/privacy.py: 个人信息保护)
    case, privacy = personal.shown(user, t["instance_id"], case, "task", audit={
        "page": "task", "task": t["id"], "business_key": instance.get("business_key"), "fields": sorted(data)[:50]})
    return render_template("qihu/task.html", t=t, instance=instance, about=about, case=case, privacy=privacy,
                           prefill=_prefill(t, data),
                           definition_name=(definition or {}).get("name") or t["definition_key"],
                           workdays_left=(engine.tasks.workdays_left(t["due_at"], region=t["region"])
                                          if t["status"] == "ready" else None),
                           values=values or {}, errors=errors or {}, message=message, me=user,
                           submitted=values is not None, **task_panel.panel(engine, t, user, action)), status


def _prefill(t, data):
    """Form values from the appeal's variables of the same name, as Camunda's forms show them
    (e.g. what an enterprise typed on the portal, at the registration step)."""
    out = {}
    for field in t["form"]["fields"]:
        value = data.get(field["id"])
        if value is None or value == "" or isinstance(value, (dict, list)):
            continue
        out[field["id"]] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


@blueprint.post("/tasks/<task_id>")
@signed_in
def complete(task_id, user):
    engine = current_engine()
    t = engine.tasks.visible_get(task_id, user)
    fields = [f["id"] for f in t["form"]["fields"]]
    values = {k: request.form.get(k, "") for k in fields}
    try:
        engine.tasks.complete(task_id, user, {k: v for k, v in values.items() if v != ""})
    except ValidationFailed as e:
        return _task_page(task_id, user, values, e.errors, _("表单有误，请按提示修改。"), 422)
    except (Forbidden, NotFound):
        raise
    except QihuError as e:
        # a conflict, a suspended instance, a failing script: nothing was saved; keep what was typed
        return _task_page(task_id, user, values, {}, f"{_('操作未完成')}: {e}",
                          409 if isinstance(e, Conflict) else 422)
    flash(_("任务已办结：{name}", name=t["name"] or t["element_id"]), "ok")
    return redirect(url_for("qihu_ui.inbox"))


@blueprint.post("/tasks/<task_id>/claim")
@signed_in
def claim(task_id, user):
    return _claim_or_unclaim(task_id, user, "claim", _("任务已认领"))


@blueprint.post("/tasks/<task_id>/unclaim")
@signed_in
def unclaim(task_id, user):
    return _claim_or_unclaim(task_id, user, "unclaim", _("已取消认领"))


def _claim_or_unclaim(task_id, user, action, done):
    engine = current_engine()
    engine.tasks.visible_get(task_id, user)
    try:
        getattr(engine.tasks, action)(task_id, user)
    except Conflict as e:
        flash(f"{_('操作未完成')}: {e}", "error")
    else:
        flash(done, "ok")
    return redirect(url_for("qihu_ui.task", task_id=task_id))


# -- errors ----------------------------------------------------------------------------------
def _error_page(status, title, text):
    return render_template("qihu/error.html", status=status, title=title, text=text), status


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return _error_page(403, _("没有权限"), _("您没有办理此任务的权限。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return _error_page(404, _("未找到"), _("没有找到该任务。"))


@blueprint.errorhandler(csrf.CSRFError)
def _csrf_failed(e):
    return _error_page(400, _("请求有误"), _("页面已过期，请刷新后重试。"))
