"""Operating qihu: /healthz, /readyz, /metrics, and a request id with a log line per request.

- GET /healthz: 200 {"status": "ok"} while the process answers; asks nothing of the database.
- GET /readyz: 200 when the database answers, its schema is at the head revision and a worker
  is alive, else 503; the body is the checks as JSON (engine/runtime/health.py), Chinese and
  English, no address and no stack trace. A web-only deployment whose workers are watched
  elsewhere sets QIHU_READY_REQUIRE_WORKERS=0 (app config or environment; default 1).
- GET /metrics: Prometheus text (engine/runtime/telemetry.py). Who may read it:
  with QIHU_METRICS_TOKEN set (app config, else the environment), only requests carrying
  `Authorization: Bearer <token>`; without a token, only requests straight from this machine
  (a loopback address and no X-Forwarded-For, X-Real-IP or Forwarded header: a reverse proxy
  on the same machine would otherwise make every outside client look local). Anyone else gets
  403 with a JSON body saying which rule refused them (the endpoint's existence is no secret;
  qihu is open source). A scrape from another machine needs the token.

None of them needs a sign-in or is sent to /login: they are views of this blueprint, with no
`signed_in` wrapper (web/pages/inbox.py) and outside the API's access rules (web/api/routes.py).

Every request of the app gets an id: the caller's X-Request-Id when it is well formed (1-64
characters of letters, digits and . _ : -, starting with a letter or digit; a proxy's
$request_id or a UUID passes), else a new uuid4 hex. It is set in telemetry.request_id for the
request's logs and steps and echoed in the X-Request-Id response header. The logger
"qihu.request" writes one line per request (with QIHU_LOG_FORMAT=json: method, path, route,
status, ms, user, client address as ProxyFix gives it, request id); a path's private-link
token (the portal's /track/<token>) is written as ***.
"""
import hmac
import ipaddress
import logging
import os
import re
import time
import uuid

from flask import Blueprint, Response, current_app, g, request

from qihu.engine.runtime import health, telemetry
from qihu.web.context import current_engine, current_qihu
from qihu.web.responses import error_response, json_response

blueprint = Blueprint("qihu_ops", __name__)

REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
TOKEN_KEY = "QIHU_METRICS_TOKEN"
REQUIRE_WORKERS_KEY = "QIHU_READY_REQUIRE_WORKERS"
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
NO_STORE = {"Cache-Control": "no-store"}


def _setting(key, default=None):
    """App config, else the environment (as QIHU_TRUSTED_PROXIES is read)."""
    value = current_app.config.get(key)
    return os.environ.get(key, default) if value is None else value


def request_id_from(header):
    """The caller's request id when well formed, else a new one."""
    if header and REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


# -- every request of the app ----------------------------------------------------------------
@blueprint.before_app_request
def _begin():
    g.qihu_started = time.perf_counter()
    g.qihu_request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.qihu_request_token = telemetry.request_id.set(g.qihu_request_id)


@blueprint.after_app_request
def _end(response):
    rid = g.get("qihu_request_id") or request_id_from(None)   # a hook before ours answered first
    response.headers[REQUEST_ID_HEADER] = rid
    _log_request(response.status_code, rid)
    return response


@blueprint.teardown_app_request
def _forget(_exc=None):
    token = g.pop("qihu_request_token", None)
    if token is not None:
        telemetry.request_id.reset(token)


def _user():
    try:
        return current_qihu().user()
    except Exception:       # the host's current_user could not answer for this request
        return None


def _logged_path():
    path = request.path
    for key, value in (request.view_args or {}).items():
        if "token" in key.lower() and value:
            path = path.replace(str(value), "***")
    return path


def _log_request(status, rid):
    # INFO whatever the status: a 503 of /readyz is an answer, not a fault, and a failing view
    # is logged with its traceback where it fails
    level = logging.INFO
    if not telemetry.REQUEST_LOG.isEnabledFor(level):
        return
    started = g.get("qihu_started")
    ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    path = _logged_path()
    telemetry.REQUEST_LOG.log(level, "%s %s %s in %s ms", request.method, path, status, ms,
                              extra={"method": request.method, "path": path,
                                     "route": request.url_rule.rule if request.url_rule else None,
                                     "status": status, "ms": ms, "user": _user(), "client": request.remote_addr,
                                     "request_id": rid})


# -- the endpoints ---------------------------------------------------------------------------
@blueprint.get("/healthz")
def healthz():
    return json_response(health.liveness()), 200, NO_STORE


def _flag(value):
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{REQUIRE_WORKERS_KEY}={value!r} is not 0 or 1 (应为 0 或 1)")


@blueprint.record_once
def _check_settings(state):
    """A wrong QIHU_READY_REQUIRE_WORKERS stops the app at start (`qihu serve` says so and
    exits), not at the first probe."""
    with state.app.app_context():
        _flag(_setting(REQUIRE_WORKERS_KEY, "1"))


@blueprint.get("/readyz")
def readyz():
    try:
        engine = current_engine()
    except Exception as e:      # the engine could not be made: not ready, and say so as JSON
        result = health.no_engine(e)
    else:
        result = health.readiness(engine, require_workers=_flag(_setting(REQUIRE_WORKERS_KEY, "1")))
    return json_response(result.as_dict(), 200 if result.ok else 503), NO_STORE


def _loopback(address):
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _metrics_refusal():
    """None when the caller may read /metrics, else the 403 response saying why."""
    token = _setting(TOKEN_KEY)
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), str(token).encode()):
            return None
        return error_response(403, "需要正确的访问令牌才能读取监控指标（Authorization: Bearer <QIHU_METRICS_TOKEN>） "
                                   "(metrics need the bearer token set in QIHU_METRICS_TOKEN)")
    if _loopback(request.remote_addr) and not any(request.headers.get(h) for h in FORWARDING_HEADERS):
        return None
    return error_response(403, "未设置 QIHU_METRICS_TOKEN 时，只能从本机直接读取监控指标 "
                               "(without QIHU_METRICS_TOKEN, metrics are served to this machine only, "
                               "not through a proxy)")


@blueprint.get("/metrics")
def metrics():
    refused = _metrics_refusal()
    if refused is not None:
        return refused
    engine = current_engine()
    body, content_type = telemetry.metrics_text(engine, request.headers.get("Accept", ""))
    return Response(body, status=200, content_type=content_type, headers=NO_STORE)
