"""How web/ reaches the engine and the domain inside a request: through the Qihu extension
mounted on the app handling it (qihu.web.Qihu), never through a module-level engine."""
from flask import current_app

EXTENSION_KEY = "qihu"


def current_qihu():
    """The Qihu extension of the app handling the request."""
    return current_app.extensions[EXTENSION_KEY]


def current_engine():
    """The engine (qihu.engine.Engine) behind the app."""
    return current_qihu().engine


def current_appeals():
    """The appeal domain (qihu.appeals.AppealDomain) installed on that engine."""
    return current_qihu().appeals
