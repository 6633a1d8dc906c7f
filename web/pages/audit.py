"""安全审计 (administrators): the security audit, newest first — who did what, when, from
where — filtered by action, person and day, with the hash chain's state at the top
(engine.audit.verify: intact, or the first broken link). Reading the audit is itself recorded
(audit_viewed). Only calls the engine.
"""
import json
from datetime import date, datetime, time, timedelta

from flask import render_template, request

from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.errors import Forbidden
from qihu.web import csrf
from qihu.web.context import current_engine
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages import inbox as ui
from qihu.web.pages.admin import admin_only_to
from qihu.web.pages.templating import QihuBlueprint

blueprint = QihuBlueprint("qihu_audit", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)

PER_PAGE = 100
# what each action id reads as (the engine and the other pages record these)
ACTION_LABELS = {
    "signin": "登录", "signin_failed": "登录失败", "signout": "退出登录", "signout_everywhere": "强制下线",
    "password_changed": "修改密码", "account_created": "创建账号", "account_disabled": "停用账号",
    "account_enabled": "启用账号", "account_unlocked": "解除锁定", "account_locked": "账号锁定",
    "group_name_changed": "修改用户组名称", "deploy": "部署流程", "activate": "启用流程版本",
    "incident_retry": "异常重试", "incident_resolve": "异常处理完成", "export": "导出数据",
    "personal_data_viewed": "查看个人信息", "calendar_loaded": "加载工作日历", "notices_viewed": "查看通知记录",
    "audit_viewed": "查看安全审计", "retention_sweep": "清理过期审计记录",
    "personal_data_revealed": "查看个人信息完整内容", "personal_data_anonymised": "个人信息到期脱敏",
}

admin_only = admin_only_to("read the security audit")


def _day(text):
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@blueprint.get("/admin/audit")
@admin_only
def audit(user):
    engine = current_engine()
    f = {k: (request.args.get(k) or "").strip()[:100] for k in ("action", "actor", "since", "until")}
    since, until = _day(f["since"]), _day(f["until"])
    if (f["since"] and since is None) or (f["until"] and until is None):
        return ui._error_page(400, _("请求有误"), _("日期应为 YYYY-MM-DD"))
    try:
        page = max(1, min(10_000, int(request.args.get("page") or 1)))
    except ValueError:
        page = 1
    rows = engine.audit.list(
        action=f["action"] or None, actor=f["actor"] or None,
        since=datetime.combine(since, time(), TIMEZONE) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), TIMEZONE) if until else None,
        limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    more = len(rows) > PER_PAGE
    for r in rows:
        r["at_text"] = datetime.fromisoformat(r["at"]).astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        r["detail_text"] = "" if r["detail"] is None else json.dumps(r["detail"], ensure_ascii=False)
    broken = engine.audit.verify()
    engine.audit.record("audit_viewed", actor=user, detail={k: v for k, v in f.items() if v} or None)
    actions = sorted(set(engine.audit.actions()) | {f["action"]} - {""}, key=lambda a: (a not in ACTION_LABELS, a))
    return render_template("qihu/audit.html", rows=rows[:PER_PAGE], f=f, page=page, more=more, broken=broken,
                           total=engine.audit.count(), actions=actions, labels=ACTION_LABELS,
                           algorithm=engine.audit.algorithm, retention=engine.audit.retention_days)


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("安全审计仅限管理员查看。"))
