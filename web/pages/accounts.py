"""用户账号 (administrators): every local account with its groups, region, state and lock, and
what an administrator does about a person's sessions: 强制下线 (end every session of the
account, engine.accounts.sign_out_everywhere), 停用/启用 (set_active; disabling ends the
sessions too) and 解除锁定 (engine.accounts.unlock, after too many failed sign-ins).

Mounted with qihu's own sign-in only (a host app's login has accounts of its own). Only calls
the engine; the engine records the audit events (signout_everywhere, account_disabled …).
"""

from flask import flash, redirect, render_template, request, url_for

from qihu.engine.errors import Forbidden, NotFound, QihuError
from qihu.web import csrf
from qihu.web.context import current_engine
from qihu.web.i18n import gettext as _, install as install_i18n, say
from qihu.web.pages import inbox as ui
from qihu.web.pages.admin import admin_only_to
from qihu.web.pages.templating import QihuBlueprint

blueprint = QihuBlueprint("qihu_accounts", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

admin_only = admin_only_to("manage accounts")


@blueprint.app_context_processor
def accounts_link():
    """qihu_accounts_url(): the 用户账号 link of the admin pages (defined only with qihu's own sign-in)."""
    return {"qihu_accounts_url": lambda: url_for("qihu_accounts.accounts")}


@blueprint.get("/admin/accounts")
@admin_only
def accounts(user):
    engine = current_engine()
    rows = engine.accounts.list()
    memberships = {a["name"]: engine.tasks.groups_of(a["name"]) for a in rows}
    groups = engine.accounts.group_names({g for gs in memberships.values() for g in gs})
    for a in rows:
        a["groups"] = [groups.get(g, g) for g in memberships[a["name"]]]
        # on the limiter's clock (real time), which is not the engine's in a training server
        until = engine.accounts.locked_until(a["name"])
        a["locked"], a["locked_until"] = until is not None, until.isoformat() if until else None
    return render_template("qihu/admin_accounts.html", accounts=rows, me=user)


def _back(name):
    return redirect(url_for("qihu_accounts.accounts") + f"#a-{name}")


def _account(name):
    account = current_engine().accounts.get(name)
    if account is None:
        raise NotFound(f"没有用户 {name} (no user {name})")
    return account


@blueprint.post("/admin/accounts/<name>/signout")
@admin_only
def sign_out(user, name):
    account = _account(name)
    current_engine().accounts.sign_out_everywhere(name, user=user)
    flash(_("已强制下线「{name}」：其所有登录均已失效", name=account["display_name"]), "ok")
    return _back(name)


@blueprint.post("/admin/accounts/<name>/active")
@admin_only
def set_active(user, name):
    account = _account(name)
    active = request.form.get("active") == "1"
    if not active and name == user:
        flash(_("不能停用自己的账号"), "error")
        return _back(name)
    current_engine().accounts.set_active(name, active, user=user)
    flash(_("已启用「{name}」", name=account["display_name"]) if active
          else _("已停用「{name}」：其所有登录均已失效", name=account["display_name"]), "ok")
    return _back(name)


@blueprint.post("/admin/accounts/<name>/unlock")
@admin_only
def unlock(user, name):
    account = _account(name)
    accounts = current_engine().accounts
    if not callable(getattr(accounts, "unlock", None)):
        flash(_("解除锁定暂不可用"), "error")
        return _back(name)
    try:
        accounts.unlock(name)
    except QihuError as e:
        flash(f"{_('解除锁定未完成')}：{say(str(e))}", "error")
    else:
        flash(_("已解除锁定「{name}」", name=account["display_name"]), "ok")
    return _back(name)


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("用户账号仅限管理员管理。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return ui._error_page(404, _("未找到"), _("没有这个用户。"))
