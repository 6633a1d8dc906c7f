"""Staff sign-in with local accounts (engine.accounts) and Flask-Login sessions.

Mounted by `Qihu` when the host app gives no `current_user` of its own (the stand-alone
app, `qihu serve`): /login and /logout under the extension's prefix.

Failed sign-ins are limited by the engine (engine.accounts.sign_in, engine/identity/signin.py):
the failures live in the database, per account name and per client address, so every process
and every restart agree; a locked name is refused (429) with its time left, a marked address
never keeps a right password out. The client address is request.remote_addr, which
QIHU_TRUSTED_PROXIES (the number of reverse proxies in front, config or environment) makes the
real client's through werkzeug's ProxyFix; without it, X-Forwarded-For is ignored. The return
address after sign-in (`next`) goes through web/redirects.py.

Sessions (issue 16): at sign-in the session gets a fresh random id (qihu_sid), the account's
session_version (qihu_sv) and the sign-in time; every request's user loader (`_load_account`)
refuses the session when the account is gone or disabled, when its session_version has moved
on (sign-out, a new password, disabling, 强制下线 — in any process: the number is in the
database), after QIHU_SESSION_IDLE_MINUTES (30) without a request, or QIHU_SESSION_MAX_HOURS
(12) after sign-in. The person is then sent to sign in again.

Those times are the real time by default, not the engine clock: a demo may fix the engine's
clock (QIHU_NOW) and tests move it by days to reach deadlines, and neither should end or keep
sessions. App config QIHU_SESSION_CLOCK = "engine" measures them on the engine clock (tests
of the timeout move it), or give any object with now().
"""
import logging
import os
import secrets
import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user, user_logged_in
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n, say
from qihu.web.redirects import safe_target
from qihu.web.identity import trusted_header_user
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_qihu

blueprint = QihuBlueprint("qihu_auth", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)


log = logging.getLogger(__name__)

PROXIES_KEY = "qihu_trusted_proxies"


class Account(UserMixin):
    """The signed-in person, as Flask-Login wants it."""

    def __init__(self, row):
        self.name, self.display_name = row["name"], row["display_name"]
        self.is_admin, self._active = row["is_admin"], row["is_active"]
        self.session_version = row.get("session_version", 0)

    def get_id(self):
        return self.name

    @property
    def is_active(self):
        return self._active


SESSION_DEFAULTS = {"QIHU_SESSION_IDLE_MINUTES": 30, "QIHU_SESSION_MAX_HOURS": 12}
# what qihu keeps in the session beside Flask-Login's keys
SID, VERSION, SIGNED_IN_AT, SEEN_AT = "qihu_sid", "qihu_sv", "qihu_at", "qihu_seen"


def _now():
    """Seconds since the epoch on the sessions' clock (QIHU_SESSION_CLOCK; default: real time)."""
    clock = current_app.config.get("QIHU_SESSION_CLOCK")
    if clock == "engine":
        clock = current_qihu().engine.clock
    return clock.now().timestamp() if clock is not None else time.time()


def _stamp_session(sender, user, **_):
    """At sign-in (Flask-Login's user_logged_in): a new session id, the account's version, the time."""
    now = _now()
    session[SID] = secrets.token_urlsafe(24)
    session[VERSION] = getattr(user, "session_version", 0)
    session[SIGNED_IN_AT] = session[SEEN_AT] = now


def _end_session(message):
    session.clear()
    flash(message, "error")


def _load_account(name):
    """The signed-in account of this request's session, or None (signed out) when the session is
    over: account gone or disabled, session_version moved on, idle or too old."""
    row = current_qihu().engine.accounts.get(name)
    if not row or not row["is_active"] or session.get(VERSION) != row["session_version"]:
        _end_session(_("登录已失效，请重新登录"))
        return None
    config, now = current_app.config, _now()
    seen, signed_in_at = session.get(SEEN_AT), session.get(SIGNED_IN_AT)
    if (not isinstance(seen, (int, float)) or not isinstance(signed_in_at, (int, float))
            or now - seen > float(config["QIHU_SESSION_IDLE_MINUTES"]) * 60
            or now - signed_in_at > float(config["QIHU_SESSION_MAX_HOURS"]) * 3600):
        _end_session(_("登录已超时，请重新登录"))
        return None
    if now != seen:
        session[SEEN_AT] = now
    return Account(row)


def init_app(app):
    if getattr(app, "login_manager", None) is not None:
        raise RuntimeError("the app has its own Flask-Login LoginManager: pass Qihu(current_user=...) "
                           "to use that login instead of qihu's")
    manager = LoginManager(app)
    manager.user_loader(_load_account)
    manager.session_protection = "basic"
    for key, value in SESSION_DEFAULTS.items():
        app.config.setdefault(key, value)
    user_logged_in.connect(_stamp_session, app)
    trust_proxies(app)


def trust_proxies(app):
    """Behind QIHU_TRUSTED_PROXIES reverse proxies (app config, else the environment; default 0),
    take the client's address (and scheme) from the X-Forwarded-For / -Proto headers those
    proxies set, through werkzeug's ProxyFix — and only then: without the setting a client
    could write its own X-Forwarded-For and escape the sign-in limit. (A host app that already
    wraps itself in ProxyFix leaves the setting unset.)"""
    if PROXIES_KEY in app.extensions:
        return
    raw = app.config.get("QIHU_TRUSTED_PROXIES", os.environ.get("QIHU_TRUSTED_PROXIES", 0))
    try:
        proxies = int(raw or 0)
        if proxies < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"QIHU_TRUSTED_PROXIES={raw!r} is not a number of proxies (应为代理的层数，如 1)") from None
    app.extensions[PROXIES_KEY] = proxies
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0)


def session_user():
    """The name of the account signed in with qihu's session cookie, or None."""
    if getattr(current_app, "login_manager", None) is None:
        return None
    return current_user.name if current_user.is_authenticated else None


def local_user():
    """Default identity of the extension: the trusted header (tests, trusted networks only), else the session."""
    return trusted_header_user() or session_user()


def safe_next(target):
    """A redirect target after sign-in: a path on this site only (web/redirects.py), else None."""
    return safe_target(target, None)


class LoginForm(FlaskForm):
    name = StringField(validators=[DataRequired(), Length(max=100)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next", "")) or ""
    error = None
    if form.validate_on_submit():
        name, address = form.name.data.strip(), request.remote_addr
        attempt = current_qihu().engine.accounts.sign_in(name, form.password.data, client=address)
        if attempt.ok:
            row = attempt.account
            target = safe_target(form.next.data, url_for("qihu_ui.inbox"))
            session.clear()                         # nothing from before sign-in carries over
            login_user(Account(row))
            flash(_("欢迎，{name}", name=row["display_name"]), "ok")
            return redirect(target)
        error = say(attempt.message)
        if attempt.reason in ("locked", "address"):
            log.warning("sign-in refused (%s): %r from %s", attempt.reason, name, address)
            response = current_app.make_response((render_template("qihu/login.html", form=form, error=error), 429))
            response.headers["Retry-After"] = str(max(1, attempt.wait))
            return response
    elif request.method == "POST":
        error = _("请填写用户名和密码")
    return render_template("qihu/login.html", form=form, error=error), 200


@blueprint.post("/logout")
def logout():
    """Sign out: every session of the account ends (session_version), a copied cookie included."""
    name = current_user.name if current_user.is_authenticated else None
    logout_user()
    session.clear()
    if name is not None:
        current_qihu().engine.accounts.sign_out_everywhere(name, user=name, action="signout")
    flash(_("已退出登录"), "ok")
    return redirect(url_for("qihu_auth.login"))
