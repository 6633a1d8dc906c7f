"""Administrator pages (流程管理): the processes and their versions, deploying diagrams and
decision tables from the browser (.bpmn, .dmn or a .zip of them), activating a staged version
and the differences between two versions, moving running instances to a newer version
(engine/runtime/migration.py: a dry-run plan first, then a confirm button), and the display
names of the groups (用户组名称: engine.accounts.groups / set_group_name). Only calls the engine.

Every page is for administrators only (engine.access.is_admin): anyone else signed in gets
403, anonymous callers go to sign in. A refused bundle shows the page again with every
problem found (file, line, element, message) and nothing is stored.
"""
import os
from functools import wraps

from flask import flash, redirect, render_template, request, url_for

from qihu.engine.errors import DeployError, Forbidden, NotFound, Problem, QihuError, ValidationFailed
from qihu.appeals.trail import STATUS_NAMES

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n, say
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_qihu, current_engine

blueprint = QihuBlueprint("qihu_admin", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

ALLOWED = (".bpmn", ".dmn", ".zip")
MAX_FILES = 50
MAX_WARNINGS = 20             # flashed one by one; the CLI and the REST API give them all



@blueprint.app_context_processor
def admin_nav():
    """qihu_is_admin(): whether the caller is an administrator (the 流程管理 link of the header)."""
    def qihu_is_admin():
        user = current_qihu().user()
        return bool(user) and current_engine().access.is_admin(user)
    return {"qihu_is_admin": qihu_is_admin}


def admin_only_to(what):
    """A decorator: a signed-in administrator's view (gets `user`); anyone else signed in
    gets 403 saying they may not `what`."""
    def decorate(view):
        @ui.signed_in
        @wraps(view)
        def wrapper(*args, user, **kwargs):
            if not current_engine().access.is_admin(user):
                raise Forbidden(f"{user} may not {what}: administrators only")
            return view(*args, user=user, **kwargs)
        return wrapper
    return decorate


admin_only = admin_only_to("manage processes")


def _processes_page(problems=None, form=None, status=200):
    engine = current_engine()
    definitions = engine.repository.definitions()
    for d in definitions:
        d["region"] = engine.repository.region_of(engine.db_get_definition(d["id"]))
    # from 1 November, next year's holidays not loaded yet: the engine says so, the page shows it
    return render_template("qihu/admin_processes.html", definitions=definitions, problems=problems,
                           form=form or {"name": "", "activate": True, "region": ""},
                           allowed=", ".join(ALLOWED), year_to_load=engine.calendar.year_to_load()), status


@blueprint.get("/admin/processes")
@admin_only
def processes(user):
    return _processes_page()


@blueprint.post("/admin/deploy")
@admin_only
def deploy(user):
    engine = current_engine()
    name = request.form.get("name", "").strip()[:200]
    activate = request.form.get("activate") in ("1", "on", "true")
    region = request.form.get("region", "").strip()
    form = {"name": name, "activate": activate, "region": region}
    items, problems = [], []
    for f in request.files.getlist("files"):
        filename = os.path.basename((f.filename or "").replace("\\", "/")).strip()
        if not filename:
            continue
        if not filename.lower().endswith(ALLOWED):
            problems.append(Problem(_("只能部署 {types} 文件", types=", ".join(ALLOWED)), file=filename))
            continue
        items.append((filename, f.read()))
    if not items and not problems:
        problems.append(Problem(_("请选择要部署的文件")))
    if len(items) > MAX_FILES:
        problems.append(Problem(_("一次最多部署 {n} 个文件", n=MAX_FILES)))
    if problems:
        return _processes_page(problems, form, 422)
    try:
        result = engine.repository.deploy(items, name=name or None, user=user, activate=activate,
                                          region=region or None)
    except DeployError as e:
        return _processes_page(e.problems, form, 422)
    except (Forbidden, NotFound):
        raise
    except QihuError as e:
        return _processes_page([Problem(str(e))], form, 422)
    parts = [f"{d['key']} v{d['version']}" + ("" if d["new"] else _("（未变化）")) for d in result.definitions]
    if not result.created:
        flash(_("内容与已部署的版本相同，未新建版本：{list}", list="、".join(parts)), "info")
    elif activate:
        flash(_("部署完成：{list}", list="、".join(parts)), "ok")
    else:
        flash(_("已部署但未启用（新实例仍按当前启用的版本发起）：{list}", list="、".join(parts)), "ok")
    # accepted with warnings (e.g. user tasks naming nobody: the 待分派 queue), each with its place
    for w in result.warnings[:MAX_WARNINGS]:
        where = ":".join(str(x) for x in (w["file"], w["line"]) if x)
        flash(f"{_('部署提醒')}：{where} [{w['element']}] {say(w['message'])}", "warn")
    if len(result.warnings) > MAX_WARNINGS:
        flash(_("另有 {n} 条部署提醒未显示", n=len(result.warnings) - MAX_WARNINGS), "warn")
    return redirect(url_for("qihu_admin.processes"))


@blueprint.get("/admin/processes/<key>")
@admin_only
def versions(key, user):
    engine = current_engine()
    rows = engine.repository.versions(key)
    people = {}
    for v in rows:
        by = v["deployed_by"]
        if by and by not in people:
            people[by] = (engine.accounts.get(by) or {}).get("display_name") or by
        v["deployed_by_name"] = people.get(by) or "—"
    latest = rows[-1]
    # 迁移运行中的实例: ?migrate_from=&migrate_to= shows the dry-run plan with a confirm button
    plan, plan_error = None, None
    if "migrate_from" in request.args:
        try:
            plan = engine.migrations.plan(key, request.args.get("migrate_from"), request.args.get("migrate_to"))
        except (ValidationFailed, NotFound) as e:
            plan_error = str(e)
    return render_template("qihu/admin_versions.html", key=key, rows=rows, latest=latest,
                           current=next(v for v in rows if v["active"]),
                           diff_from=rows[-2]["version"] if len(rows) > 1 else latest["version"],
                           plan=plan, plan_error=plan_error, status_names=STATUS_NAMES,
                           migrate_from=next((v["version"] for v in rows if v["running"]), rows[0]["version"]))


@blueprint.post("/admin/processes/<key>/migrate")
@admin_only
def migrate(key, user):
    """Carry out a previewed migration: the instances listed as movable in the plan."""
    ids = [i for i in request.form.getlist("instance") if i.strip()]
    back = redirect(url_for("qihu_admin.versions", key=key))
    if not ids:
        flash(_("没有可迁移的实例"), "info")
        return back
    try:
        r = current_engine().migrations.migrate(key, request.form.get("from"), request.form.get("to"),
                                         instance_ids=ids, user=user)
    except (ValidationFailed, NotFound) as e:
        flash(f"{_('迁移未完成')}：{say(str(e))}", "error")
        return back
    if r["migrated"]:
        flash(_("已将 {n} 个实例从 v{a} 迁移到 v{b}", n=len(r["migrated"]), a=r["from"], b=r["to"]), "ok")
    if r["refused"]:
        lines = "；".join(f"{m['business_key'] or m['id']}：{say(m['reasons'][0]['text'])}" for m in r["refused"])
        flash(_("{n} 个实例未迁移：{list}", n=len(r["refused"]), list=lines), "error")
    return back


@blueprint.post("/admin/processes/<key>/activate")
@admin_only
def activate(key, user):
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        return ui._error_page(400, _("请求有误"), _("版本号无效"))
    current_engine().repository.activate(key, version, user=user)
    flash(_("已启用 {key} v{version}，新发起的实例将按此版本办理", key=key, version=version), "ok")
    return redirect(url_for("qihu_admin.versions", key=key))


@blueprint.get("/admin/processes/<key>/diff")
@admin_only
def diff(key, user):
    try:
        a, b = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        return ui._error_page(400, _("请求有误"), _("版本号无效"))
    engine = current_engine()
    rows = engine.repository.versions(key)
    result = engine.repository.diff(key, a, b)
    return render_template("qihu/admin_diff.html", key=key, rows=rows, d=result,
                           name=rows[-1]["name"] or key)


# -- 用户组名称: what people read for each group ------------------------------------------------
@blueprint.get("/admin/groups")
@admin_only
def groups(user):
    """Every group, filtered by ?q= (a piece of its id or name) and ?process= (a process naming
    it), in one section per process (the one that declares its name, else the first naming it)."""
    engine = current_engine()
    everything = engine.accounts.groups()
    found = {d["key"]: d for d in engine.repository.definitions()}
    q = request.args.get("q", "").strip()[:100]
    process = request.args.get("process", "").strip()
    process = process if process in found else ""
    shown = [g for g in everything if _group_matches(g, q.casefold()) and (not process or process in g["processes"])]
    sections: dict[str, list] = {}
    for g in shown:
        sections.setdefault(process or g["declared_by"] or next(iter(g["processes"]), ""), []).append(g)
    # by region, then process name; groups no process names last
    order = sorted(sections, key=lambda k: (k == "", *((found[k]["region"] or "", found[k]["name"] or k) if k else ())))
    return render_template(
        "qihu/admin_groups.html", groups=everything, shown=len(shown), q=q, process=process,
        definitions={k: d["name"] or k for k, d in found.items()},
        processes=sorted(((k, d["name"] or k) for k, d in found.items() if any(k in g["processes"] for g in everything)),
                         key=lambda kd: kd[1]),
        sections=[{"key": k, "name": (found[k]["name"] or k) if k else None, "region": found[k]["region"] if k else None,
                   "groups": sections[k]} for k in order])


def _group_matches(group: dict, q: str) -> bool:
    """Whether `q` (casefolded) is part of the group's id, its display name or its declared name."""
    return not q or any(q in (x or "").casefold() for x in (group["name"], group["display_name"], group["declared"]))


@blueprint.post("/admin/groups")
@admin_only
def name_group(user):
    """Set (or, with 恢复默认 or an empty name, clear) a group's display name."""
    name = request.form.get("name", "").strip()
    display_name = "" if request.form.get("clear") else request.form.get("display_name", "").strip()
    try:
        current_engine().accounts.set_group_name(name, display_name, user)
    except ValidationFailed as e:
        flash(f"{_('保存未完成')}：{say(str(e))}", "error")
    else:
        shown = current_engine().accounts.group_names([name]).get(name) or name
        flash(_("已保存用户组名称「{name}」", name=display_name) if display_name
              else _("已清除管理员设置的名称，现显示为「{name}」", name=shown), "ok")
    kept = {k: v for k in ("q", "process") if (v := request.form.get(k, "").strip())}    # the filter it was saved from
    return redirect(url_for("qihu_admin.groups", **kept) + f"#g-{name}")


# -- errors ----------------------------------------------------------------------------------
@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("流程管理仅限管理员使用。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return ui._error_page(404, _("未找到"), _("没有找到该流程或版本。"))
