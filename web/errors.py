"""Engine errors -> HTTP status and a JSON body {"error": ...}; never a stack trace."""
import logging
import re

from flask import request
from werkzeug.exceptions import HTTPException

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
