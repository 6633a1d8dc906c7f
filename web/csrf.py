"""CSRF protection (Flask-WTF) for qihu's own views only, so a host app keeps its own rules.

Every form of the UI carries `csrf_token()`; the check runs in a before_request of the UI and
sign-in blueprints, and of the API for requests authenticated by qihu's session cookie
(web/api/routes.py). A rejected request is a 400 (CSRFError).
"""
from flask import current_app
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

DEFAULTS = {
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_FIELD_NAME": "csrf_token",
    "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
    "WTF_CSRF_TIME_LIMIT": 3600 * 8,          # a working day with the same page open
    "WTF_CSRF_SSL_STRICT": True,
}

_protector = CSRFProtect()                     # used for its checks only: no global before_request


def init_app(app):
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config["WTF_CSRF_METHODS"] = set(app.config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"]))
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)


def protect():
    """Refuse (400) an unsafe request without a valid token; a no-op for GET and friends."""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        _protector.protect()


__all__ = ["init_app", "protect", "CSRFError"]
