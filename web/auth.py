"""Staff sign-in with local accounts (engine.accounts) and Flask-Login sessions.

Mounted by `Qihu` when the host app gives no `current_user` of its own (the stand-alone
app, `qihu serve`): /login and /logout under the extension's prefix.
"""
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import csrf, ui
from .i18n import gettext as _, install as install_i18n
from .identity import trusted_header_user
from .templating import QihuBlueprint

blueprint = QihuBlueprint("qihu_auth", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)


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
    row = current_app.extensions["qihu"].engine.accounts.get(name)
    return Account(row) if row and row["is_active"] else None


def init_app(app):
    if getattr(app, "login_manager", None) is not None:
        raise RuntimeError("the app has its own Flask-Login LoginManager: pass Qihu(current_user=...) "
                           "to use that login instead of qihu's")
    manager = LoginManager(app)
    manager.user_loader(_load_account)
    manager.session_protection = "basic"


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
        row = current_app.extensions["qihu"].engine.accounts.check_password(form.name.data.strip(),
                                                                           form.password.data)
        if row is not None:
            target = safe_next(form.next.data) or url_for("qihu_ui.inbox")
            session.clear()                         # nothing from before sign-in carries over
            login_user(Account(row))
            flash(_("欢迎，{name}", name=row["display_name"]), "ok")
            return redirect(target)
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
