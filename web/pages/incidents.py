"""异常处理: the incident page for administrators (Camunda Cockpit's core, in Chinese).

Every open incident, oldest first, with its process, region, business key (a link to the
instance page), element, what went wrong as a Chinese sentence (qihu.appeals.incidents) with the
technical detail on demand, and its age; filters by process, region and kind. Actions, each a
POST with a CSRF token that flashes a Chinese result: 重试, 补录结果并继续 (a handler's result as
JSON) or 标记为已处理 (kinds whose resolve means that), 取消案件 (with a reason), and 批量重试.
An action that can no longer be done (the task no longer waits, the incident was handled
meanwhile) is said in Chinese on the page it came from, never a 500.

Who: administrators (engine.access.is_admin); an administrator bound to a region sees and acts
on that region's incidents only (engine.access.incidents / require_incident). The header's
badge is `qihu_open_incidents()`, one count query.
"""
import json
import logging

from flask import flash, redirect, render_template, request, url_for

from qihu.appeals import incidents as said
from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, QihuError, ValidationFailed

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.admin import admin_only_to
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.redirects import safe_target
from qihu.web.context import current_engine, current_qihu

log = logging.getLogger(__name__)

blueprint = QihuBlueprint("qihu_incidents", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

LIMIT = 500                    # the oldest ones; an operator works through them from the top
MAX_BULK = 200
MAX_REASON = 500
MAX_DATA = 64 * 1024           # a handler's result typed by hand is a few fields


@blueprint.app_context_processor
def incident_badge():
    """qihu_open_incidents(): the open incidents the caller may act on (the header's badge)."""
    def qihu_open_incidents() -> int:
        user = current_qihu().user()
        return current_engine().access.open_incident_count(user) if user else 0
    return {"qihu_open_incidents": qihu_open_incidents}


admin_only = admin_only_to("handle incidents")


def describe(incidents: list) -> list[dict]:
    """The incidents as the pages show them (sentence, display names, age: qihu.appeals.incidents)."""
    return said.describe(current_engine(), incidents)


# -- the page --------------------------------------------------------------------------------
@blueprint.get("/admin/incidents")
@admin_only
def incidents(user: str):
    engine = current_engine()
    f = {k: (request.args.get(k) or "").strip()[:200] for k in ("process", "region", "kind")}
    if f["kind"] and f["kind"] not in said.KIND_NAMES:
        return ui._error_page(400, _("请求有误"), f"{_('筛选')}: kind {f['kind'][:20]!r}")
    everything = engine.access.incidents(user, limit=LIMIT)
    shown = everything if not any(f.values()) else engine.access.incidents(
        user, key=f["process"] or None, region=f["region"] or None, kind=f["kind"] or None, limit=LIMIT)
    names = {d["key"]: d["name"] or d["key"] for d in engine.repository.definitions()}
    processes = sorted({i["definition_key"] for i in everything if i["definition_key"]} | ({f["process"]} - {""}))
    regions = sorted({i["region"] for i in everything if i["region"]} | ({f["region"]} - {""}))
    return render_template(
        "qihu/incidents.html", rows=describe(shown), f=f, limit=LIMIT, total=len(everything),
        processes=[(k, names.get(k, k)) for k in processes], regions=regions, kinds=list(said.KIND_NAMES.items()),
        back=request.full_path.rstrip("?"))


# -- actions ---------------------------------------------------------------------------------
def _back():
    """Where an action returns: the page the form came from (a path of this site), else the list."""
    return redirect(safe_target(request.form.get("next", ""), url_for("qihu_incidents.incidents")))


def _why(e: Exception, what: str) -> str:
    """A refused or failed action in Chinese: `what` (e.g. 重试未完成) and why."""
    if isinstance(e, NotFound):
        return f"{what}：{_('该异常已处理或已不存在，请刷新页面查看。')}"
    if isinstance(e, NotApplicable):
        return f"{what}：{_('这类异常不能这样处理。')}"
    if isinstance(e, InvalidState):      # before Conflict, of which it is a kind
        return f"{what}：{_('该环节已不在等待处理（可能已被他人处理，或案件已结束），请刷新页面查看。')}"
    if isinstance(e, Conflict):
        return f"{what}：{_('案件正在被他人办理，请稍后再试。')}"
    if isinstance(e, ValidationFailed):
        return f"{what}：{_('数据有误')}：{said.short_cause(type(e).__name__, str(e))}"
    if isinstance(e, QihuError):
        return f"{what}：{said.short_cause(type(e).__name__, str(e))}"
    return f"{what}：{_('系统内部错误，已记录日志，请联系技术支持。')}"


def _act(incident_id: int, user: str, what: str, action):
    """Run action(incident) on an incident `user` may act on; a refusal is flashed, not raised
    (Forbidden stays a 403 page: another region's incident is not theirs to see)."""
    try:
        incident = current_engine().access.require_incident(user, incident_id)
        return action(incident)
    except Forbidden:
        raise
    except QihuError as e:
        flash(_why(e, what), "error")
    except Exception as e:  # noqa: BLE001 - an operator's action ends in a sentence, never a 500
        log.exception("incident %s: %s failed", incident_id, what)
        flash(_why(e, what), "error")
    return None


def _name(incident) -> str:
    return describe([incident])[0]["element_name"] or incident.get("business_key") or incident["instance_id"][:8]


class NotApplicable(QihuError):
    """The action does not apply to the incident's kind (its can_retry / can_resolve is false)."""


def _still_open(incident: dict, can: str) -> None:
    if incident["status"] != "open":
        raise NotFound(f"incident {incident['id']} is {incident['status']}")
    if not incident[can]:
        raise NotApplicable(f"incident {incident['id']} of kind {incident['kind']}: {can} is false")


def _retry_one(incident: dict, user: str) -> dict:
    """Retry; the incident as it is afterwards."""
    _still_open(incident, "can_retry")
    return current_engine().runtime.retry_incident(incident["id"], user=user)


@blueprint.post("/admin/incidents/<int:incident_id>/retry")
@admin_only
def retry(incident_id: int, user: str):
    def action(incident):
        after = _retry_one(incident, user)
        if after["status"] == "open":
            flash(_("已重试「{name}」，仍未成功：{cause}", name=_name(incident),
                    cause=said.short_cause(after["error_type"], after["message"])), "error")
        else:
            flash(_("已重试「{name}」，流程继续办理", name=_name(incident)), "ok")
    _act(incident_id, user, _("重试未完成"), action)
    return _back()


@blueprint.post("/admin/incidents/<int:incident_id>/resolve")
@admin_only
def resolve(incident_id: int, user: str):
    def action(incident):
        _still_open(incident, "can_resolve")
        data = None
        if incident["kind"] == "handler":
            data = _data(request.form.get("data", ""))
            if data is None:
                flash(_("补录未完成：结果须为 JSON 对象，例如 {example}", example='{"notified": true}'), "error")
                return
        current_engine().runtime.resolve_incident(incident_id, data, user=user)
        if incident["kind"] == "handler":
            flash(_("已补录「{name}」的结果，流程继续办理", name=_name(incident)), "ok")
        else:
            flash(_("已将异常标记为已处理：{name}", name=_name(incident)), "ok")
    _act(incident_id, user, _("处理未完成"), action)
    return _back()


def _data(text: str):
    """The result an operator typed: a JSON object (empty: {}), else None."""
    text = text.strip()
    if not text:
        return {}
    if len(text) > MAX_DATA:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@blueprint.post("/admin/incidents/<int:incident_id>/cancel")
@admin_only
def cancel(incident_id: int, user: str):
    def action(incident):
        reason = request.form.get("reason", "").strip()
        if not reason:
            flash(_("取消未完成：请填写取消原因"), "error")
            return
        current_engine().runtime.cancel(incident["instance_id"], user=user, reason=reason[:MAX_REASON])
        flash(_("已取消案件 {key}", key=incident["business_key"] or incident["instance_id"][:8]), "ok")
    _act(incident_id, user, _("取消未完成"), action)
    return _back()


@blueprint.post("/admin/incidents/retry")
@admin_only
def retry_many(user: str):
    ids = []
    for value in request.form.getlist("incident")[:MAX_BULK]:
        try:
            ids.append(int(value))
        except ValueError:
            continue
    if not ids:
        flash(_("请先勾选要重试的异常"), "info")
        return _back()
    done, failing, refused = 0, 0, []
    for incident_id in dict.fromkeys(ids):
        try:
            incident = current_engine().access.require_incident(user, incident_id)
            after = _retry_one(incident, user)
        except Exception as e:  # noqa: BLE001 - one refusal must not stop the others
            if not isinstance(e, QihuError):
                log.exception("incident %s: bulk retry failed", incident_id)
            refused.append(incident_id)
            continue
        if after["status"] == "open":
            failing += 1
        else:
            done += 1
    kind = "ok" if not failing and not refused else ("error" if not done else "info")
    text = _("批量重试 {n} 个异常：成功 {done} 个", n=done + failing + len(refused), done=done)
    if failing:
        text += _("，仍未成功 {n} 个", n=failing)
    if refused:
        text += _("，无法重试 {n} 个（已处理、不可重试或无权处理）", n=len(refused))
    flash(text, kind)
    return _back()


# -- errors ----------------------------------------------------------------------------------
@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("异常处理仅限管理员使用，地区管理员只能处理本地区的异常。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return ui._error_page(404, _("未找到"), _("没有找到该异常。"))
