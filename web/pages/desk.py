"""The clerk's desk beyond 待办: 已办 (what I handled), the search over every appeal I may see,
bulk actions on selected inbox tasks (认领, 转办, 催办) and a case's 办理单 to print.

Only calls the engine (engine.tasks.done, claim, engine.handoff.reassign,
engine.notifications.remind, engine.access) and the domain (appeals.search, appeals.case),
which decide who may see and do what. Every page needs a signed-in user; every form carries a
CSRF token.
"""
from flask import current_app, render_template, request, url_for

from qihu.appeals import search as appeal_search
from qihu.appeals.case import steps as case_steps
from qihu.appeals.privacy import mask_steps
from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, QihuError, ValidationFailed

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.pages import personal, task_panel
from qihu.web.i18n import gettext as _, install as install_i18n, say
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_appeals, current_engine

blueprint = QihuBlueprint("qihu_desk", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)
for _error, _handler in ((Forbidden, ui._forbidden), (NotFound, ui._not_found), (csrf.CSRFError, ui._csrf_failed)):
    blueprint.register_error_handler(_error, _handler)

PAGE_SIZE = 20
MAX_BULK = 100
STATUS_NAMES = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销"}
TASK_STATUS_NAMES = {"completed": "已办结", "returned": "已退单"}
BULK_ACTIONS = {"claim": "认领", "reassign": "转办", "remind": "催办"}


def _page_arg():
    try:
        page = int(request.args.get("page", "1") or 1)
    except ValueError:
        return None
    return page if 1 <= page <= 100000 else None


def _definitions(engine):
    return {d["key"]: d["name"] or d["key"] for d in engine.repository.definitions()}


# -- 已办 -----------------------------------------------------------------------------------
@blueprint.get("/done")
@ui.signed_in
def done(user):
    engine = current_engine()
    page = _page_arg()
    definitions = _definitions(engine)
    key = request.args.get("definition", "").strip()
    if page is None or (key and key not in definitions):
        return ui._error_page(400, _("请求有误"), _("筛选条件无效"))
    size = current_app.config.get("QIHU_PAGE_SIZE", PAGE_SIZE)
    result = engine.tasks.done(user, limit=size, offset=(page - 1) * size, definition_key=key or None)
    pages = max(1, -(-result["total"] // size))

    def link(**changes):
        args = {"definition": key, **changes}
        return url_for("qihu_desk.done", **{k: v for k, v in args.items() if v not in ("", None)})

    return render_template("qihu/done.html", result=result, page=page, pages=pages, link=link, key=key,
                           definitions=definitions, status_names=TASK_STATUS_NAMES)


# -- search -----------------------------------------------------------------------------------
@blueprint.get("/search")
@ui.signed_in
def search(user):
    engine = current_engine()
    f = {k: request.args.get(k, "").strip() for k in ("q", "definition", "region", "colour", "status")}
    page = _page_arg()
    size = current_app.config.get("QIHU_PAGE_SIZE", PAGE_SIZE)
    asked = any(f.values())
    try:
        if page is None:
            raise ValueError("page")
        result = appeal_search.search(engine, user, text=f["q"], definition_key=f["definition"] or None,
                                      region=f["region"] or None, colour=f["colour"] or None,
                                      status=f["status"] or None, limit=size, offset=(page - 1) * size) \
            if asked else {"items": [], "total": 0, "total_capped": False}
    except ValueError as e:
        return ui._error_page(400, _("请求有误"), f"{_('筛选')}: {e}")
    pages = max(1, -(-result["total"] // size))
    if asked:
        # each appeal's contact as the reader may read it (one read row each), and, in the same
        # transaction, the security audit's record of what was asked and which appeals were shown
        filters = {k: v[:100] for k, v in f.items() if v}
        audit = {"target": "search", "detail": {
            "page": "search", "filters": filters, "total": result["total"],
            "shown": [i.get("business_key") or i.get("instance_id") for i in result["items"]][:100]}}
        result = {**result, "items": current_appeals().privacy.shown_many(
            user, result["items"], "search", detail={"filters": filters}, audit=audit)}
    if result.get("total_capped"):    # nobody counted beyond the cap: the pager says "200+", not "200"
        result = {**result, "total": f"{result['total']}+"}
    regions = sorted({d["region"] for d in engine.repository.definitions() if d.get("region")} | (
        {f["region"]} if f["region"] else set()))

    def link(**changes):
        args = {**f, **changes}
        return url_for("qihu_desk.search", **{k: v for k, v in args.items() if v not in ("", None)})

    return render_template("qihu/search.html", result=result, f=f, page=page, pages=pages, link=link,
                           asked=asked, definitions=_definitions(engine), regions=regions,
                           colours=appeal_search.COLOURS, statuses=STATUS_NAMES)


# -- bulk actions on selected inbox tasks ---------------------------------------------------
def _why(e):
    """A refusal as the reader reads it: the engine's own Chinese where it gives one."""
    if isinstance(e, ValidationFailed) and e.errors:
        return "；".join(str(v) for v in e.errors.values())
    if isinstance(e, Forbidden):
        return _("您无权对此任务执行该操作")
    if isinstance(e, NotFound):
        return _("没有找到该任务")
    if isinstance(e, InvalidState):
        return _("任务已办结或已退单")
    text = say(str(e))
    if isinstance(e, Conflict) and not any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return _("任务已被他人认领或办理，请刷新后重试")
    return text


def _act(engine, user, action, task_id, to_user, note):
    """Do one action on one task; the outcome's text (Chinese) or raises the refusal."""
    if action == "claim":
        engine.tasks.visible_get(task_id, user)
        engine.tasks.claim(task_id, user)
        return _("已认领")
    if action == "reassign":
        engine.tasks.visible_get(task_id, user)
        engine.handoff.reassign(task_id, user, to_user, note)
        return _("已转办给 {name}", name=(engine.accounts.get(to_user) or {}).get("display_name") or to_user)
    to = engine.notifications.remind(task_id, user, note)
    return _("已催办 {n} 位（组）", n=len(to))


@blueprint.post("/inbox/bulk")
@ui.signed_in
def bulk(user):
    """One request, one action on every selected task: what was done and what was refused, per task."""
    engine = current_engine()
    action = request.form.get("action", "")
    ids = list(dict.fromkeys(i for i in request.form.getlist("task") if i))
    to_user = request.form.get("to_user", "").strip()
    note = request.form.get("note", "")
    if action not in BULK_ACTIONS or not ids or len(ids) > MAX_BULK:
        why = _("请先选择任务") if not ids else _("一次最多 {n} 项", n=MAX_BULK) if len(ids) > MAX_BULK \
            else _("未知的批量操作")
        return ui._error_page(400, _("请求有误"), why)
    if action == "reassign" and not to_user:
        return ui._error_page(400, _("请求有误"), _("请选择转办给哪位同事"))
    outcomes = []
    for task_id in ids:
        try:
            t = engine.tasks.get(task_id)
        except NotFound:
            outcomes.append({"id": task_id, "name": task_id, "ok": False, "text": _("没有找到该任务")})
            continue
        row = {"id": task_id, "name": t["name"] or t["element_id"], "instance_id": t["instance_id"],
               "business_key": engine.runtime.get(t["instance_id"])["business_key"]}
        try:
            row.update(ok=True, text=_act(engine, user, action, task_id, to_user, note))
        except QihuError as e:
            row.update(ok=False, text=_why(e))
        outcomes.append(row)
    done_n = sum(1 for o in outcomes if o["ok"])
    return render_template("qihu/bulk_result.html", outcomes=outcomes, action=_(BULK_ACTIONS[action]),
                           done_n=done_n, refused_n=len(outcomes) - done_n)


# -- the 办理单 to print -------------------------------------------------------------------------
@blueprint.get("/instances/<instance_id>/print")
@ui.signed_in
def print_case(instance_id, user):
    engine = current_engine()
    engine.access.require_instance(user, instance_id)
    instance = engine.runtime.get(instance_id)
    case = current_appeals().case(instance_id)
    for a in case["attachments"]:
        a["url"] = task_panel.attachment_url(a["id"])
    definition = next(iter(engine.repository.definitions(key=instance["definition_key"])), None)
    # printed as read on screen: masked unless the reader reads in full or revealed it (logged)
    case, privacy = personal.shown(user, instance_id, case, "print", audit={
        "page": "print", "business_key": instance.get("business_key")})
    steps = case_steps(engine, instance_id)
    if not privacy["full"]:
        steps = mask_steps(steps)
    return render_template("qihu/case_print.html", instance=instance, case=case,
                           steps=steps, comments=engine.comments.list(instance_id),
                           definition_name=(definition or {}).get("name") or instance["definition_key"],
                           status_names=STATUS_NAMES, printed_at=engine.clock.now().isoformat())
