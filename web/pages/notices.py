"""通知记录: the notices as they landed on their channels (SMS, 浙政钉, 企业微信, e-mail, the log),
newest first, for administrators: who was told what, when, and whether a channel's limits
held it back. In the demo every channel is the log, and this page is where the enterprise's
SMS (and its lookup code) is read. An administrator bound to a region sees its notices only.
"""
from flask import render_template, request

from qihu.engine.errors import Forbidden
from qihu.engine.runtime.channels import CHANNEL_LABELS, STATUS_LABELS, ledger

from qihu.web import csrf
from qihu.web.context import current_engine
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages import inbox as ui
from qihu.web.pages.admin import admin_only_to
from qihu.web.pages.templating import QihuBlueprint

blueprint = QihuBlueprint("qihu_notices", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)

PER_PAGE = 50
STAFF_CHANNELS = ("dingtalk", "wecom")      # recipients are accounts: shown by their names

admin_only = admin_only_to("see the notices sent")


@blueprint.get("/admin/notices")
@admin_only
def notices(user: str):
    engine = current_engine()
    f = {k: (request.args.get(k) or "").strip()[:200] for k in ("channel", "status", "instance")}
    if f["channel"] not in ("", *CHANNEL_LABELS) or f["status"] not in ("", *STATUS_LABELS):
        return ui._error_page(400, _("请求有误"), f"{_('筛选')}: {f['channel'][:20]!r} {f['status'][:20]!r}")
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    found = ledger.page(engine.db, channel=f["channel"] or None, status=f["status"] or None,
                        instance=f["instance"] or None, region=engine.access.user_region(user),
                        limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    pages = max(1, -(-found["total"] // PER_PAGE))
    # the notices hold enterprises' phone numbers and what they were told: reading them is audited
    engine.audit.record("notices_viewed", actor=user, detail={**{k: v for k, v in f.items() if v}, "page": page})
    return render_template("qihu/notices.html", rows=found["items"], total=found["total"], f=f, page=page,
                           pages=pages, channel_names=CHANNEL_LABELS, status_names=STATUS_LABELS,
                           staff_channels=STAFF_CHANNELS)


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("通知记录仅限管理员查看。"))
