"""Staff sign-in with local accounts (engine.accounts) and Flask-Login sessions.

Mounted by `Qihu` when the host app gives no `current_user` of its own (the stand-alone
app, `qihu serve`): /login and /logout under the extension's prefix.

Failed sign-ins are limited (LoginLimiter): after QIHU_LOGIN_MAX_FAILURES (5) failures for one
user name, or QIHU_LOGIN_MAX_FAILURES_PER_ADDRESS (20) from one client address, within
QIHU_LOGIN_WINDOW_SECONDS (900), further attempts for that name / from that address are refused
(429) until the oldest failure leaves the window.
"""
import logging
import math
import threading
import time
from collections import OrderedDict, deque

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.identity import trusted_header_user
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_qihu

blueprint = QihuBlueprint("qihu_auth", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)


log = logging.getLogger(__name__)

LIMITER_KEY = "qihu_login_limiter"
LIMIT_DEFAULTS = {"QIHU_LOGIN_MAX_FAILURES": 5, "QIHU_LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
                  "QIHU_LOGIN_WINDOW_SECONDS": 15 * 60}


class LoginLimiter:
    """Failed sign-ins per user name and per client address over a sliding window, in memory.

    Why not Flask-Limiter: it counts requests, keyed before the view runs, whereas here only
    failures count, keyed by the submitted name as well as the address, and a success clears
    the name; its window follows the wall clock of the `limits` package, and tests here move
    `clock` instead of sleeping. The price of keeping it in memory: each server process counts
    on its own (`qihu serve` is one process), and a restart forgets. The address limit is
    higher than the name limit because a whole office may sign in from one NAT address: one
    person's typos must not lock out their colleagues, while guessing many names from one
    address is still stopped.
    """

    MAX_KEYS = 100_000            # bounded memory whatever names an attacker makes up

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._failures = OrderedDict()          # key -> deque of failure times, oldest first
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name, address):
        return [("name", name, "QIHU_LOGIN_MAX_FAILURES"),
                ("address", address or "-", "QIHU_LOGIN_MAX_FAILURES_PER_ADDRESS")]

    def _recent(self, key, now, window):
        times = self._failures.get(key)
        while times and times[0] <= now - window:
            times.popleft()
        if times is not None and not times:
            del self._failures[key]
            return None
        return times

    def wait(self, name, address, config):
        """Seconds until `name` may try again from `address`; 0 when it may now."""
        window, now = float(config["QIHU_LOGIN_WINDOW_SECONDS"]), self.clock()
        longest = 0.0
        with self._lock:
            for kind, value, limit in self._keys(name, address):
                times = self._recent((kind, value), now, window)
                if times is not None and len(times) >= int(config[limit]):
                    longest = max(longest, times[-int(config[limit])] + window - now)
        return longest

    def failed(self, name, address, config):
        window, now = float(config["QIHU_LOGIN_WINDOW_SECONDS"]), self.clock()
        with self._lock:
            for kind, value, _limit in self._keys(name, address):
                key = (kind, value)
                times = self._recent(key, now, window)
                if times is None:
                    self._make_room(now, window)
                    times = self._failures[key] = deque()
                times.append(now)
                self._failures.move_to_end(key)

    def succeeded(self, name):
        """A right password clears the name's failures (not the address's: an attacker with one
        account must not reset the count for the names they are guessing)."""
        with self._lock:
            self._failures.pop(("name", name), None)

    def _make_room(self, now, window):
        if len(self._failures) < self.MAX_KEYS:
            return
        for key in list(self._failures):                 # least recently failed first
            self._recent(key, now, window)
        while len(self._failures) >= self.MAX_KEYS:
            self._failures.popitem(last=False)


def limiter(app=None):
    return (app or current_app).extensions[LIMITER_KEY]


class Account(UserMixin):
    """The signed-in person, as Flask-Login wants it."""

    def __init__(self, row):
        self.name, self.display_name = row["name"], row["display_name"]
        self.is_admin, self._active = row["is_admin"], row["is_active"]

    def get_id(self):
        return self.name

    @property
    def is_active(self):
        return self._active


def _load_account(name):
    row = current_qihu().engine.accounts.get(name)
    return Account(row) if row and row["is_active"] else None


def init_app(app):
    if getattr(app, "login_manager", None) is not None:
        raise RuntimeError("the app has its own Flask-Login LoginManager: pass Qihu(current_user=...) "
                           "to use that login instead of qihu's")
    manager = LoginManager(app)
    manager.user_loader(_load_account)
    manager.session_protection = "basic"
    for key, value in LIMIT_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions[LIMITER_KEY] = LoginLimiter()


def session_user():
    """The name of the account signed in with qihu's session cookie, or None."""
    if getattr(current_app, "login_manager", None) is None:
        return None
    return current_user.name if current_user.is_authenticated else None


def local_user():
    """Default identity of the extension: the trusted header (tests, trusted networks only), else the session."""
    return trusted_header_user() or session_user()


def safe_next(target):
    """A redirect target after sign-in: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


class LoginForm(FlaskForm):
    name = StringField(validators=[DataRequired(), Length(max=100)])
    password = PasswordField(validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        name, address, config = form.name.data.strip(), request.remote_addr, current_app.config
        wait = limiter().wait(name, address, config)
        if wait > 0:
            # the password is not even checked: refused attempts tell a guesser nothing
            log.warning("sign-in refused: too many failures for %r or from %s", name, address)
            minutes = max(1, math.ceil(wait / 60))
            error = _("登录失败次数过多，请 {minutes} 分钟后再试", minutes=minutes)
            response = current_app.make_response((render_template("qihu/login.html", form=form, error=error), 429))
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        row = current_qihu().engine.accounts.check_password(name, form.password.data)
        if row is not None:
            limiter().succeeded(name)
            target = safe_next(form.next.data) or url_for("qihu_ui.inbox")
            session.clear()                         # nothing from before sign-in carries over
            login_user(Account(row))
            flash(_("欢迎，{name}", name=row["display_name"]), "ok")
            return redirect(target)
        limiter().failed(name, address, config)
        error = _("用户名或密码不正确")
    elif request.method == "POST":
        error = _("请填写用户名和密码")
    return render_template("qihu/login.html", form=form, error=error), 200


@blueprint.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash(_("已退出登录"), "ok")
    return redirect(url_for("qihu_auth.login"))
