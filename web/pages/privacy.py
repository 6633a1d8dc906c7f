"""个人信息保护 on the pages: 显示完整信息 (a POST with CSRF that asks the domain to reveal an
appeal's personal fields, which it logs first) and the 个人信息查看记录 page (administrators and
supervisors: the reads of one appeal or of one user).

Who may reveal, who reads in full and who reads the log is the domain's (appeals/privacy.py);
this module keeps only the reader's session: an appeal revealed here reads in full on the task
page, the instance page and the 办理单 for privacy.REVEAL_MINUTES, each read logged again.
"""
from datetime import datetime

from flask import redirect, render_template, request, url_for

from qihu.appeals.privacy import SOURCES
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.errors import Forbidden, NotFound
from qihu.web import csrf
from qihu.web.context import current_appeals, current_engine
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages import inbox as ui
from qihu.web.pages import personal
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.redirects import safe_target

blueprint = QihuBlueprint("qihu_privacy", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)

PER_PAGE = 100
PAGES = ("task", "instance", "print")


def _back(default: str) -> str:
    """Where the reveal returns to: a path of this site only (web/redirects.py)."""
    return safe_target(request.form.get("back", ""), default)


@blueprint.post("/instances/<instance_id>/reveal")
@ui.signed_in
def reveal(instance_id, user):
    page = request.form.get("page", "")
    page = page if page in PAGES else "instance"
    current_appeals().privacy.reveal(user, instance_id, page)       # Forbidden / NotFound; logged
    personal.grant(instance_id)
    return redirect(_back(url_for("qihu_instance.instance", instance_id=instance_id)), 303)


@blueprint.get("/privacy/reads")
@ui.signed_in
def reads(user):
    privacy = current_appeals().privacy
    if not privacy.may_audit(user):
        raise Forbidden(f"{user} may not read the personal data read log")
    engine = current_engine()
    f = {k: (request.args.get(k) or "").strip()[:100] for k in ("appeal", "user")}
    try:
        page = max(1, min(10_000, int(request.args.get("page") or 1)))
    except ValueError:
        page = 1
    instance_id, about = None, None
    if f["appeal"]:       # an instance id, or a business key (受理编号): its newest instance
        try:
            about = engine.runtime.get(f["appeal"])
        except NotFound:
            found = engine.runtime.instances(business_key=f["appeal"], limit=1)
            about = found[0] if found else None
        instance_id = about["id"] if about else None
    rows = privacy.reads(user, instance_id=instance_id, user=f["user"] or None, limit=PER_PAGE + 1,
                         offset=(page - 1) * PER_PAGE) if (not f["appeal"] or about) else []
    names = engine.accounts.person_names(sorted({r["user"] for r in rows}))
    for r in rows:
        r["at_text"] = datetime.fromisoformat(r["at"]).astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        r["user_name"] = names.get(r["user"]) or r["user"]
    # the box shows the 受理编号 people know, also when a link gave the instance's id (the pager's
    # links keep what was asked: a business key may have several instances)
    appeal_shown = (about["business_key"] or f["appeal"]) if about else f["appeal"]
    return render_template("qihu/privacy_reads.html", rows=rows[:PER_PAGE], more=len(rows) > PER_PAGE, page=page,
                           f=f, appeal_shown=appeal_shown, about=about, unknown=bool(f["appeal"] and not about),
                           sources=SOURCES)


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    if request.endpoint == "qihu_privacy.reveal":
        return ui._error_page(403, _("没有权限"), _("您无权查看此诉求的完整个人信息。"))
    return ui._error_page(403, _("没有权限"), _("个人信息查看记录仅限管理员和督查人员查看。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return ui._error_page(404, _("未找到"), _("没有找到该流程实例。"))


blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
