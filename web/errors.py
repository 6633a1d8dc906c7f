"""Engine errors -> HTTP status and a JSON body {"error": ...}; never a stack trace."""
import logging
import re

from flask import current_app, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from qihu.engine.errors import (Conflict, DeployError, Forbidden, InvalidState, NotFound, QihuError,
                           ValidationFailed)
from qihu.web.responses import error_response

log = logging.getLogger(__name__)

STATUS = [(NotFound, 404), (Forbidden, 403), (Conflict, 409), (InvalidState, 409)]
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


class ApiError(Exception):
    """A request the API refuses before it reaches the engine (bad JSON, missing field, ...)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def _qihu_error(e):
    if isinstance(e, ValidationFailed):
        return error_response(422, str(e), errors=e.errors)
    if isinstance(e, DeployError):
        return error_response(400, str(e), problems=[p.as_dict() for p in e.problems])
    if isinstance(e, Forbidden) and not _CHINESE.search(str(e)):
        # engine.tasks refuses in English only; the person refused reads Chinese first
        return error_response(403, f"没有权限 (forbidden: {e})")
    for cls, status in STATUS:
        if isinstance(e, cls):
            return error_response(status, str(e))
    # EngineStepError and the like: a script or expression of the process failed on this
    # request's data; nothing was saved. Where it failed helps whoever fixes the diagram.
    where = {k: getattr(e, k) for k in ("file", "line", "element") if getattr(e, k, None) is not None}
    return error_response(422, str(e), **where)


def _api_error(e):
    return error_response(e.status, str(e))


def _http_error(e):
    return error_response(e.code or 500, e.description or e.name)


def _unexpected(e):
    log.exception("qihu API request %s %s failed", request.method, request.path)
    return error_response(500, "服务器内部错误 (internal error)")


def register(blueprint):
    """Error handlers for the API blueprint's own views."""
    blueprint.register_error_handler(QihuError, _qihu_error)
    blueprint.register_error_handler(ApiError, _api_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(Exception, _unexpected)


def _under(path, prefix):
    return path == prefix or path.startswith(prefix + "/")


def install_http_errors(app, api_prefix):
    """JSON for HTTP errors that happen before a view is chosen (unknown /api/ path: 404,
    wrong method: 405). Other paths keep the host app's handler, or Flask's default page."""
    previous = app.error_handler_spec[None][None].get(HTTPException)

    def handle(e):
        if _under(request.path, api_prefix):
            return _http_error(e)
        return previous(e) if previous is not None else e

    app.register_error_handler(HTTPException, handle)


# -- input at the edge (issue 16) ------------------------------------------------------------------
# NUL and the other control characters no form needs (a textarea sends \t \n \r): PostgreSQL
# refuses NUL in any text, so such a value must never reach a query. The same set as the
# engine's qihu.engine.storage.limits, which also checks lengths against the columns.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refused_field():
    """The name of the first query parameter, path part, form field or upload's file name of
    this request that holds a control character, or None."""
    def bad(value):
        return isinstance(value, str) and CONTROL_CHARACTERS.search(value) is not None
    for name, value in (request.view_args or {}).items():
        if bad(value):
            return name
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            if bad(name):
                return CONTROL_CHARACTERS.sub("?", name)
            if bad(value):
                return name
    if request.mimetype == "multipart/form-data":
        for name, upload in request.files.items(multi=True):
            if bad(upload.filename):
                return name
    return None


def _limit_mb():
    return (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)


def install_input_guard(app, api_prefix):
    """A before_request check, cheap and before any SQL: a control character anywhere in the query
    string, the path or a form is a 400 naming the field; a body over MAX_CONTENT_LENGTH is a 413
    in Chinese naming the limit (JSON under the API, a page elsewhere)."""

    @app.before_request
    def _refuse_control_characters():
        field = refused_field()
        if field is None:
            return None
        message = (f"字段 {field} 含有不允许的字符（如 NUL 等控制字符），未保存 "
                   f"(field {field!r} contains a control character; nothing was saved)")
        if _under(request.path, api_prefix) or request.accept_mimetypes.best == "application/json":
            return error_response(400, message, errors={field: "含有不允许的字符"})
        return _page(400, "请求有误", message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(e):
        n = _limit_mb()
        message = (f"提交的内容超过 {n} MB 的上限，未保存。请压缩或拆分文件后重新提交。"
                   f" (request body larger than {n} MB; nothing was saved)")
        if _under(request.path, api_prefix) or request.is_json:
            return error_response(413, message, limit_bytes=current_app.config.get("MAX_CONTENT_LENGTH"))
        return _page(413, "文件过大", message)


def _page(status, title, message):
    try:
        from qihu.web.i18n import gettext, say
        return render_template("qihu/error.html", status=status, title=gettext(title), text=say(message)), status
    except Exception:        # noqa: BLE001 - a host app without qihu's page context: plain text
        log.debug("error page not rendered", exc_info=True)
        return f"{status} {title}: {message}", status, {"Content-Type": "text/plain; charset=utf-8"}
