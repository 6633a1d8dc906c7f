"""JSON REST API under /api/: the CLI's operations over HTTP. Only calls the engine."""
from dataclasses import asdict

from flask import Blueprint, current_app, request

from engine.tasks import ORDERS as TASK_ORDERS

from . import auth, csrf, errors, payload
from .errors import ApiError
from .identity import trusted_header_user
from .openapi import openapi_document
from .responses import json_response

blueprint = Blueprint("qihu_api", __name__)
errors.register(blueprint)


@blueprint.before_request
def _csrf_for_session_cookie():
    """A request authenticated by qihu's session cookie needs the CSRF token (X-CSRFToken);
    the trusted header identity (tests, trusted networks) and anonymous calls do not."""
    if _qihu().local_login and trusted_header_user() is None and auth.session_user() is not None:
        csrf.protect()


def _qihu():
    return current_app.extensions["qihu"]


def _engine():
    return _qihu().engine


def _user():
    return _qihu().user()


def _acting_user():
    """The user a task operation acts as: required (401 when unknown)."""
    user = _user()
    if user is None:
        raise ApiError("需要用户身份 (no user: sign in; where the app trusts it, "
                       "send the X-Qihu-User header or ?user=)", 401)
    return user


def _status_arg(default):
    value = request.args.get("status", default)
    return None if value in ("all", "") else value


# -- deployments and definitions -------------------------------------------------------------
@blueprint.post("/deployments")
def deploy():
    files, name = payload.deploy_files()
    result = _engine().repository.deploy(files, name=name, user=_user())
    return json_response(asdict(result), 201 if result.created else 200)


@blueprint.get("/definitions")
def definitions():
    rows = _engine().repository.definitions(key=request.args.get("key") or None,
                                            latest_only=not payload.flag_arg("all_versions"))
    return json_response(rows)


# -- instances --------------------------------------------------------------------------------
@blueprint.post("/instances")
def start_instance():
    body = payload.json_body()
    iid = _engine().runtime.start(payload.required_str(body, "key"), payload.optional_dict(body, "data"),
                                  business_key=payload.optional_str(body, "business_key"),
                                  version=payload.optional_int(body, "version"), user=_user())
    return json_response({"id": iid}, 201)


@blueprint.get("/instances")
def instances():
    args = request.args
    rows = _engine().runtime.instances(key=args.get("key") or None, status=args.get("status") or None,
                                       business_key=args.get("business_key") or None,
                                       limit=payload.int_arg("limit", 100, low=1))
    return json_response(rows)


@blueprint.get("/instances/<instance_id>")
def instance(instance_id):
    e = _engine()
    return json_response({"instance": e.runtime.get(instance_id), "data": e.runtime.data(instance_id),
                          "tasks": e.tasks.list(instance_id=instance_id, limit=payload.MAX_LIMIT),
                          "incidents": e.runtime.incidents(instance_id)})


@blueprint.get("/instances/<instance_id>/history")
def instance_history(instance_id):
    e = _engine()
    e.runtime.get(instance_id)   # 404 for an unknown instance, not an empty list
    types = [t for t in request.args.get("types", "").split(",") if t.strip()] or None
    return json_response(e.history.events(instance_id, types))


@blueprint.post("/instances/<instance_id>/cancel")
def cancel_instance(instance_id):
    reason = payload.optional_str(payload.json_body(), "reason")
    _engine().runtime.cancel(instance_id, user=_user(), reason=reason)
    return json_response(_engine().runtime.get(instance_id))


@blueprint.post("/instances/<instance_id>/suspend")
def suspend_instance(instance_id):
    _engine().runtime.suspend(instance_id, user=_user())
    return json_response(_engine().runtime.get(instance_id))


@blueprint.post("/instances/<instance_id>/resume")
def resume_instance(instance_id):
    _engine().runtime.resume(instance_id, user=_user())
    return json_response(_engine().runtime.get(instance_id))


# -- tasks ------------------------------------------------------------------------------------
@blueprint.get("/tasks")
def tasks():
    args = request.args
    order = args.get("order", "due")
    if order not in TASK_ORDERS:
        raise ApiError(f"参数 order 应为以下之一 (?order must be one of): {', '.join(TASK_ORDERS)}")
    rows = _engine().tasks.list(user=args.get("user") or None, status=_status_arg("ready"),
                                definition_key=args.get("definition_key") or None,
                                instance_id=args.get("instance") or None, order=order,
                                limit=payload.int_arg("limit", 50, low=1),
                                offset=payload.int_arg("offset", 0, high=10**9))
    return json_response(rows)


@blueprint.get("/tasks/<task_id>")
def task(task_id):
    return json_response(_engine().tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/claim")
def claim_task(task_id):
    _engine().tasks.claim(task_id, _acting_user())
    return json_response(_engine().tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id):
    _engine().tasks.unclaim(task_id, _acting_user())
    return json_response(_engine().tasks.get(task_id))


@blueprint.post("/tasks/<task_id>/complete")
def complete_task(task_id):
    user = _acting_user()
    data = payload.optional_dict(payload.json_body(), "data")
    e = _engine()
    e.tasks.complete(task_id, user, data)
    iid = e.tasks.get(task_id)["instance_id"]
    return json_response({"task_id": task_id, "instance": e.runtime.get(iid),
                          "tasks": e.tasks.list(instance_id=iid, limit=payload.MAX_LIMIT)})


# -- messages and incidents -------------------------------------------------------------------
@blueprint.post("/messages")
def correlate_message():
    body = payload.json_body()
    result = _engine().runtime.correlate(
        payload.required_str(body, "name"), business_key=payload.optional_str(body, "business_key"),
        correlation=payload.optional_dict(body, "correlation"), payload=payload.optional_dict(body, "data"),
        all=payload.optional_bool(body, "all"), user=_user())
    return json_response(result)


@blueprint.get("/incidents")
def incidents():
    rows = _engine().runtime.incidents(instance_id=request.args.get("instance") or None,
                                       status=_status_arg("open"))
    return json_response(rows)


@blueprint.post("/incidents/<int:incident_id>/retry")
def retry_incident(incident_id):
    return json_response(_engine().runtime.retry_incident(incident_id, user=_user()))


@blueprint.post("/incidents/<int:incident_id>/resolve")
def resolve_incident(incident_id):
    data = payload.optional_dict(payload.json_body(), "data")
    return json_response(_engine().runtime.resolve_incident(incident_id, data, user=_user()))


# -- the description of all of the above ------------------------------------------------------
@blueprint.get("/openapi.json")
def openapi():
    return json_response(openapi_document(server_url=request.script_root + _qihu().url_prefix))
