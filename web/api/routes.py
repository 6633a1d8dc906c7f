"""JSON REST API under /api/: the CLI's operations over HTTP. Only calls the engine (and the
appeal domain's privacy, which masks the complainant's contact in what it gives back).

Who may call what (RULES, checked before every view; tests/web/test_api_permissions.py checks
each endpoint): anonymous callers get the OpenAPI document only (401 elsewhere); deploying,
messages, incidents and cancel/suspend/resume are for administrators (engine.access); any
signed-in user lists definitions, and starts, sees and acts on what engine.access and the
task's candidates allow them (403 otherwise).
"""
from dataclasses import asdict

from flask import Blueprint, request

from qihu.engine.errors import DeployError
from qihu.engine.tasks.service import ORDERS as TASK_ORDERS

from qihu.web.pages import auth
from qihu.web import csrf, errors
from qihu.web.api import payload
from qihu.web.errors import ApiError
from qihu.web.identity import trusted_header_user
from qihu.web.api.openapi import ADMIN, PUBLIC, SIGNED_IN, openapi_document
from qihu.web.responses import json_response
from qihu.web.context import current_appeals, current_qihu, current_engine
from qihu.appeals.privacy import mask_nested, personal_nested

blueprint = Blueprint("qihu_api", __name__)
errors.register(blueprint)

# Who may call a view: PUBLIC anyone; SIGNED_IN any signed-in user (the view may check more:
# instance visibility, starters, task candidates); ADMIN administrators only.
RULES = {}                      # view name -> rule; a view without one is refused (fail closed)


def rule(level):
    def mark(view):
        RULES[view.__name__] = level
        return view
    return mark


@blueprint.before_request
def _csrf_for_session_cookie():
    """A request authenticated by qihu's session cookie needs the CSRF token (X-CSRFToken);
    the trusted header identity (tests, trusted networks) and anonymous calls do not."""
    if current_qihu().local_login and trusted_header_user() is None and auth.session_user() is not None:
        csrf.protect()


@blueprint.before_request
def _authorize():
    level = RULES.get((request.endpoint or "").rpartition(".")[2])
    if level == PUBLIC:
        return
    user = _acting_user()
    if level == ADMIN and not current_engine().access.is_admin(user):
        raise ApiError(f"仅管理员可以执行此操作 ({user} may not {request.method} {request.path}: "
                       "administrators only)", 403)
    if level not in (SIGNED_IN, ADMIN):
        raise ApiError(f"此接口未设置访问权限 (no access rule for {request.endpoint})", 403)




def _user():
    return current_qihu().user()


def _acting_user():
    """The calling user: required (401 when unknown)."""
    user = _user()
    if user is None:
        raise ApiError("需要登录 (no user: sign in; where the app trusts it, "
                       "send the X-Qihu-User header or ?user=)", 401)
    return user


def _status_arg(default):
    value = request.args.get("status", default)
    return None if value in ("all", "") else value


# -- deployments and definitions -------------------------------------------------------------
@blueprint.post("/deployments")
@rule(ADMIN)
def deploy():
    files, name, activate = payload.deploy_files()
    result = current_engine().repository.deploy(files, name=name, user=_user(), activate=activate,
                                         region=payload.deploy_region())
    return json_response(asdict(result), 201 if result.created else 200)


@blueprint.post("/deployments/check")
@rule(ADMIN)
def check_deployment():
    """Lint a bundle as POST /deployments would, storing nothing: the same payload; 200
    {"ok", "problems": [{file, line, element, message}], "warnings" (ok true: what deploy would
    warn of, e.g. a user task naming nobody), "processes"} (ok false: problems)."""
    files, _name, _activate = payload.deploy_files()
    try:
        bundle = current_engine().repository.check(files)
    except DeployError as e:
        return json_response({"ok": False, "problems": [p.as_dict() for p in e.problems], "processes": []})
    return json_response({"ok": True, "problems": [], "warnings": current_engine().repository.warnings(bundle),
                          "processes": [{"key": k, "name": p.name, "file": p.filename}
                                        for k, p in sorted(bundle.processes.items())]})


@blueprint.get("/definitions/<key>/versions/<int:version>/xml")
@rule(ADMIN)                    # its scripts, expressions and topics are the designers' business, not every user's
def definition_xml(key, version):
    info, content = current_engine().repository.xml(key, version)
    return json_response({"key": info["key"], "version": info["version"], "name": info["name"],
                          "region": info["region"], "file": info["resource_name"],
                          "xml": content.decode("utf-8")})


@blueprint.get("/definitions")
@rule(SIGNED_IN)
def definitions():
    rows = current_engine().repository.definitions(key=request.args.get("key") or None,
                                            latest_only=not payload.flag_arg("all_versions"))
    return json_response(rows)


@blueprint.get("/definitions/<key>/versions")
@rule(SIGNED_IN)
def versions(key):
    return json_response(current_engine().repository.versions(key))


@blueprint.post("/definitions/<key>/activate")
@rule(ADMIN)
def activate(key):
    version = payload.optional_int(payload.json_body(), "version")
    if version is None:
        raise ApiError("缺少版本号 (version is required)")
    return json_response(current_engine().repository.activate(key, version, user=_user()))


@blueprint.get("/definitions/<key>/diff")
@rule(SIGNED_IN)
def diff(key):
    a, b = payload.int_arg("from", None, low=1, high=10**6), payload.int_arg("to", None, low=1, high=10**6)
    if a is None or b is None:
        raise ApiError("需要 ?from=旧版本&to=新版本 (from and to versions are required)")
    return json_response(current_engine().repository.diff(key, a, b))


@blueprint.post("/definitions/<key>/migrate")
@rule(ADMIN)
def migrate_instances(key):
    """Move running instances to a newer version: {from, to, instances?, dry_run?} ->
    {migrated: [...], refused: [... with reasons]} (engine/runtime/migration.py). Without
    `instances`, every running and suspended instance of `from`; [] is none."""
    body = payload.json_body()
    a, b = payload.optional_int(body, "from"), payload.optional_int(body, "to")
    if a is None or b is None:
        raise ApiError("需要 from 与 to 两个版本号 (from and to versions are required)")
    ids = body.get("instances")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise ApiError("字段 instances 应为实例编号列表 ('instances' must be a list of instance ids)")
    return json_response(current_engine().migrations.migrate(key, a, b, instance_ids=ids, user=_user(),
                                                      dry_run=payload.optional_bool(body, "dry_run")))


# -- instances --------------------------------------------------------------------------------
@blueprint.post("/instances")
@rule(SIGNED_IN)                # and a starter of the process (engine.access.require_start)
def start_instance():
    user = _acting_user()
    body = payload.json_body()
    key, version = payload.required_str(body, "key"), payload.optional_int(body, "version")
    data, business_key = payload.optional_dict(body, "data"), payload.optional_str(body, "business_key")
    e = current_engine()
    e.access.require_start(user, key, version)
    iid = e.runtime.start(key, data, business_key=business_key, version=version, user=user,
                          region=payload.optional_str(body, "region"))
    return json_response({"id": iid}, 201)


@blueprint.get("/instances")
@rule(SIGNED_IN)                # administrators see all; others those they take part in
def instances():
    args = request.args
    rows = current_engine().access.instances(_acting_user(), key=args.get("key") or None,
                                      status=args.get("status") or None,
                                      business_key=args.get("business_key") or None,
                                      limit=payload.int_arg("limit", 100, low=1))
    return json_response(rows)


@blueprint.get("/instances/<instance_id>")
@rule(SIGNED_IN)                # engine.access.require_instance
def instance(instance_id):
    e, user = current_engine(), _acting_user()
    e.access.require_instance(user, instance_id)
    # the complainant's contact in the variables: masked for those without the right, the read
    # logged (appeals/privacy.py); in full for those who read so on the pages
    data, _full = current_appeals().privacy.shown(user, instance_id, e.runtime.data(instance_id), "api",
                                                  detail={"endpoint": "instance"})
    return json_response({"instance": e.runtime.get(instance_id), "data": data,
                          "tasks": e.tasks.list(instance_id=instance_id, limit=payload.MAX_LIMIT),
                          "incidents": e.runtime.incidents(instance_id)})


@blueprint.get("/instances/<instance_id>/history")
@rule(SIGNED_IN)                # engine.access.require_instance
def instance_history(instance_id):
    e = current_engine()
    e.access.require_instance(_acting_user(), instance_id)   # 404 for an unknown instance first
    types = [t for t in request.args.get("types", "").split(",") if t.strip()] or None
    events = e.history.events(instance_id, types)
    found = personal_nested(events)       # the variables the events carry (started with, completed with)
    if found:
        _values, full = current_appeals().privacy.shown(_acting_user(), instance_id, found, "api",
                                                        detail={"endpoint": "history"})
        if not full:
            events = mask_nested(events)
    return json_response(events)


@blueprint.post("/instances/<instance_id>/cancel")
@rule(ADMIN)
def cancel_instance(instance_id):
    reason = payload.optional_str(payload.json_body(), "reason")
    current_engine().runtime.cancel(instance_id, user=_user(), reason=reason)
    return json_response(current_engine().runtime.get(instance_id))


@blueprint.post("/instances/<instance_id>/variables")
@rule(ADMIN)
def set_instance_variables(instance_id):
    data = payload.optional_dict(payload.json_body(), "data") or {}
    current_engine().runtime.set_variables(instance_id, data, user=_user())
    return json_response(current_engine().runtime.get(instance_id))


@blueprint.post("/instances/<instance_id>/suspend")
@rule(ADMIN)
def suspend_instance(instance_id):
    current_engine().runtime.suspend(instance_id, user=_user())
    return json_response(current_engine().runtime.get(instance_id))


@blueprint.post("/instances/<instance_id>/resume")
@rule(ADMIN)
def resume_instance(instance_id):
    current_engine().runtime.resume(instance_id, user=_user())
    return json_response(current_engine().runtime.get(instance_id))


# -- tasks ------------------------------------------------------------------------------------
def _inbox_owner(caller):
    """Whose tasks GET /tasks lists: the caller's own; ?user=someone else for administrators
    only; None (every task) for an administrator who names nobody."""
    named = (request.args.get("user") or "").strip() or None
    if named == caller:
        return caller
    is_admin = current_engine().access.is_admin(caller)
    if named is None:
        return None if is_admin else caller
    if not is_admin:
        raise ApiError(f"只能查看本人的待办 ({caller} may not list the tasks of {named}: administrators only)", 403)
    return named


@blueprint.get("/tasks")
@rule(SIGNED_IN)                # the caller's own tasks; others' for administrators (_inbox_owner)
def tasks():
    args = request.args
    owner = _inbox_owner(_acting_user())
    order = args.get("order", "due")
    if order not in TASK_ORDERS:
        raise ApiError(f"参数 order 应为以下之一 (?order must be one of): {', '.join(TASK_ORDERS)}")
    rows = current_engine().tasks.list(user=owner, status=_status_arg("ready"),
                                definition_key=args.get("definition_key") or None,
                                region=args.get("region") or None,
                                instance_id=args.get("instance") or None, order=order,
                                limit=payload.int_arg("limit", 50, low=1),
                                offset=payload.int_arg("offset", 0, high=10**9))
    return json_response(rows)


@blueprint.get("/tasks/unassigned")
@rule(SIGNED_IN)                # administrators and the dispatcher group (engine.access), their region's
def unassigned_tasks():
    """The 待分派 queue: open user tasks that name nobody, as the caller may dispatch them."""
    args = request.args
    order = args.get("order", "due")
    if order not in TASK_ORDERS:
        raise ApiError(f"参数 order 应为以下之一 (?order must be one of): {', '.join(TASK_ORDERS)}")
    return json_response(current_engine().tasks.unassigned(
        _acting_user(), definition_key=args.get("definition_key") or None, region=args.get("region") or None,
        order=order, limit=payload.int_arg("limit", 50, low=1), offset=payload.int_arg("offset", 0, high=10**9)))


def _names(body, name):
    """A list of names, or one comma-separated text, from the body (None when absent)."""
    value = body.get(name)
    if value is None or isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise ApiError(f"字段 {name} 应为字符串列表 ({name!r} must be a list of strings)")


@blueprint.post("/tasks/<task_id>/assign")
@rule(SIGNED_IN)                # an administrator or dispatcher of the task's region (engine.tasks.assign)
def assign_task(task_id):
    body = payload.json_body()
    e = current_engine()
    e.tasks.assign(task_id, _acting_user(), payload.required_str(body, "user"), note=payload.optional_str(body, "note"))
    return json_response(e.tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/offer")
@rule(SIGNED_IN)                # an administrator or dispatcher of the task's region (engine.tasks.offer)
def offer_task(task_id):
    body = payload.json_body()
    e = current_engine()
    e.tasks.offer(task_id, _acting_user(), groups=_names(body, "groups"), users=_names(body, "users"),
                  note=payload.optional_str(body, "note"))
    return json_response(e.tasks.get(task_id))


@blueprint.get("/tasks/<task_id>")
@rule(SIGNED_IN)                # assignee or candidate (tasks.visible_get), or an administrator
def task(task_id):
    user, e = _acting_user(), current_engine()
    return json_response(e.tasks.get(task_id) if e.access.is_admin(user) else e.tasks.visible_get(task_id, user))


@blueprint.post("/tasks/<task_id>/claim")
@rule(SIGNED_IN)                # a candidate (engine.tasks)
def claim_task(task_id):
    current_engine().tasks.claim(task_id, _acting_user())
    return json_response(current_engine().tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/unclaim")
@rule(SIGNED_IN)                # the assignee (engine.tasks)
def unclaim_task(task_id):
    current_engine().tasks.unclaim(task_id, _acting_user())
    return json_response(current_engine().tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/complete")
@rule(SIGNED_IN)                # the assignee, or a candidate of an unclaimed task (engine.tasks)
def complete_task(task_id):
    user = _acting_user()
    data = payload.optional_dict(payload.json_body(), "data")
    e = current_engine()
    e.tasks.complete(task_id, user, data)
    iid = e.tasks.get(task_id)["instance_id"]
    return json_response({"task_id": task_id, "instance": e.runtime.get(iid),
                          "tasks": e.tasks.list(instance_id=iid, limit=payload.MAX_LIMIT)})


# -- messages and incidents -------------------------------------------------------------------
@blueprint.post("/messages")
@rule(ADMIN)
def correlate_message():
    body = payload.json_body()
    result = current_engine().runtime.correlate(
        payload.required_str(body, "name"), business_key=payload.optional_str(body, "business_key"),
        correlation=payload.optional_dict(body, "correlation"), payload=payload.optional_dict(body, "data"),
        all=payload.optional_bool(body, "all"), user=_user())
    return json_response(result)


@blueprint.post("/signals")
@rule(ADMIN)
def broadcast_signal():
    body = payload.json_body()
    return json_response(current_engine().runtime.signal(payload.required_str(body, "name"),
                                                         payload.optional_dict(body, "data"), user=_user()))


@blueprint.get("/incidents")
@rule(ADMIN)
def incidents():
    rows = current_engine().runtime.incidents(instance_id=request.args.get("instance") or None,
                                       status=_status_arg("open"))
    return json_response(rows)


@blueprint.post("/incidents/<int:incident_id>/retry")
@rule(ADMIN)
def retry_incident(incident_id):
    return json_response(current_engine().runtime.retry_incident(incident_id, user=_user()))


@blueprint.post("/incidents/<int:incident_id>/resolve")
@rule(ADMIN)
def resolve_incident(incident_id):
    data = payload.optional_dict(payload.json_body(), "data")
    return json_response(current_engine().runtime.resolve_incident(incident_id, data, user=_user()))


# -- the description of all of the above ------------------------------------------------------
@blueprint.get("/openapi.json")
@rule(PUBLIC)
def openapi():
    return json_response(openapi_document(server_url=request.script_root + current_qihu().url_prefix))
