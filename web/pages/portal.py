"""The enterprise portal: submit an appeal without an account, follow it and rate it.

    /appeal              choose where to submit (the processes enterprises may start), then the form
    /track/<token>       progress in plain words; the 好差评 form when a rating step is open. Right
                         after submitting (?new=1) it also shows the tracking number and the link to
                         keep: the success page is the tracking page, so a refresh or the language
                         switch keeps it (the token is in the URL, never stored in clear)
    /appeal/find         找回我的诉求: the tracking number, then a code sent to the contact phone,
                         opens a new private link (appeals/lookup.py)

Only calls current_appeals().portal. The private link is the key: whoever holds it follows and
rates the appeal; its token is 256 random bits, only its hash is stored, and these pages
are sent with no-referrer and no-store so it does not leak to other sites or caches.
"""
import logging
import re

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField, MultipleFileField, StringField, TextAreaField

from qihu.appeals.lookup import normalise
from qihu.appeals.portal import LIMITS, MAX_FILES
from qihu.engine.errors import Conflict, Forbidden, InvalidState, NotFound, QihuError, ValidationFailed
from qihu.engine.tasks.uploads import ALLOWED

from qihu.web import csrf
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_engine, current_appeals

blueprint = QihuBlueprint("qihu_portal", __name__)
blueprint.before_request(csrf.protect)
install_i18n(blueprint)

_TOKEN_IN_PATH = re.compile(r"(/track/)[A-Za-z0-9_-]{16,}")


class RedactTrackingTokens(logging.Filter):
    """Access logs name the path; a tracking link's token is cut out of it ("/track/…")."""

    def filter(self, record):
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_PATH.sub(r"\1…", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_PATH.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


@blueprint.record_once
def _redact_access_log(state):
    # Werkzeug's request log (qihu serve); other servers' access logs need the same care.
    log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactTrackingTokens) for f in log.filters):
        log.addFilter(RedactTrackingTokens())

FIND_KEY = "qihu_portal_find"          # the tracking number a code was asked for, between the two steps
# the form's fields in page order, with the labels the error summary names them by
FIELDS = {"form": None, "definition": None, "company": "企业名称", "credit_code": "统一社会信用代码",
          "contact_name": "联系人姓名", "contact_phone": "联系电话", "category": "诉求类别", "summary": "诉求描述",
          "files": "附件材料"}
_BILINGUAL = re.compile(r"^(.*\S)\s*\(([^()]*)\)\s*$", re.S)


def one_language(message):
    """An engine message "中文 (English)" in the page's language only; parts joined by "；" each."""
    from qihu.web.i18n import current_lang
    parts = []
    for part in str(message).split("；"):
        m = _BILINGUAL.match(part)
        parts.append((m.group(2) if current_lang() == "en" else m.group(1)) if m else part)
    return "；".join(parts)


def _errors(raw):
    """Engine field errors in page order and in the page's language."""
    return {k: one_language(raw[k]) for k in sorted(raw, key=lambda k: list(FIELDS).index(k) if k in FIELDS else 99)}



class AppealForm(FlaskForm):
    """The fields of an appeal; the engine checks them (current_appeals().portal.validate)."""
    definition = HiddenField()
    company = StringField()
    credit_code = StringField()
    contact_name = StringField()
    contact_phone = StringField()
    category = StringField()
    summary = TextAreaField()
    files = MultipleFileField()


@blueprint.context_processor
def portal_context():
    limit = current_engine().settings.upload_max_bytes
    return {"field_labels": FIELDS, "allowed_types": sorted(ALLOWED), "max_file_mb": limit // (1024 * 1024),
            "max_files": MAX_FILES, "limits": LIMITS,
            "request_mb": (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)}


@blueprint.after_request
def _private(response):
    # A tracking link must not travel to other sites in a Referer, nor stay in shared caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"
    return response


# -- submit ------------------------------------------------------------------------------------
@blueprint.get("/appeal")
def appeal():
    choices = current_appeals().portal.portal_definitions()
    key = request.args.get("d", "")
    chosen = next((d for d in choices if d["key"] == key), None)
    if chosen is None and len(choices) == 1:
        chosen = choices[0]
    if chosen is None:
        status = 404 if key else 200
        return render_template("qihu/portal_choose.html", choices=choices, unknown=bool(key)), status
    form = AppealForm()
    form.definition.data = chosen["key"]
    return render_template("qihu/portal_appeal.html", form=form, chosen=chosen, choices=choices, errors={})


@blueprint.post("/appeal")
def submit():
    form = AppealForm()
    choices = current_appeals().portal.portal_definitions()
    chosen = next((d for d in choices if d["key"] == form.definition.data), None)
    if chosen is None:
        return render_template("qihu/portal_choose.html", choices=choices, unknown=True), 422
    if not form.validate_on_submit():          # the CSRF token (checked before too; kept for the form's errors)
        return _appeal_form(form, chosen, choices, {"form": _("页面已过期，请刷新后重试。")}, 400)
    files = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and (f.filename or "")]
    try:
        made = current_appeals().portal.submit(chosen["key"], form.company.data, form.credit_code.data,
                                        form.contact_name.data, form.contact_phone.data, form.category.data,
                                        form.summary.data, files=files)
    except ValidationFailed as e:
        return _appeal_form(form, chosen, choices, _errors(e.errors), 422)
    except QihuError:
        current_app.logger.exception("portal: an appeal could not be started")
        return _appeal_form(form, chosen, choices, {"form": _("系统繁忙，诉求未能提交，请稍后重试。")}, 503)
    return redirect(url_for("qihu_portal.track", token=made["token"], new=1))


def _appeal_form(form, chosen, choices, errors, status):
    return render_template("qihu/portal_appeal.html", form=form, chosen=chosen, choices=choices, errors=errors,
                           files_dropped=any(f.filename for f in request.files.getlist("files"))), status


@blueprint.get("/appeal/done")
def done():
    # the success page used to be here, shown once; it is the tracking page now (?new=1)
    return render_template("qihu/portal_done.html"), 410


# -- follow and rate -----------------------------------------------------------------------------
@blueprint.get("/track/<token>")
def track(token):
    return _track_page(token, new=request.args.get("new", ""))


def _track_page(token, values=None, errors=None, task_id=None, status=200, new=""):
    ticket = current_appeals().portal.by_token(token)
    progress = current_appeals().portal.progress(ticket)
    link = url_for("qihu_portal.track", token=token, _external=True)
    return render_template("qihu/portal_track.html", p=progress, token=token, values=values or {},
                           errors=errors or {}, error_task=task_id, link=link,
                           new=new if new in ("1", "found") else ""), status


# -- 找回我的诉求 ------------------------------------------------------------------------------------
def _client():
    """The requester's address, as the rate limits count it (behind a proxy, the host app sets
    request.remote_addr from its forwarded header, e.g. with werkzeug's ProxyFix)."""
    return request.remote_addr or ""


@blueprint.get("/appeal/find")
def find():
    return render_template("qihu/portal_lookup.html", step="number", number=request.args.get("no", "")[:40],
                           errors={})


@blueprint.post("/appeal/find")
def find_send():
    number = (request.form.get("number") or "")[:60]
    if not normalise(number):
        return render_template("qihu/portal_lookup.html", step="number", number=number,
                               errors={"number": _("请填写受理编号")}), 422
    sent = current_appeals().portal.lookup.request_code(number, _client(), current_app.secret_key or "")
    if sent["status"] == "limited":
        return render_template("qihu/portal_lookup.html", step="number", number=number,
                               errors={"number": _("获取验证码过于频繁，请 {n} 分钟后再试。", n=sent["minutes"])}), 429
    session[FIND_KEY] = {"number": normalise(number), "masked": sent["masked"]}
    return redirect(url_for("qihu_portal.find_code"))


@blueprint.get("/appeal/find/code")
def find_code():
    asked = session.get(FIND_KEY)
    if not asked:
        return redirect(url_for("qihu_portal.find"))
    return render_template("qihu/portal_lookup.html", step="code", number=asked["number"], masked=asked["masked"],
                           errors={})


@blueprint.post("/appeal/find/code")
def find_verify():
    asked = session.get(FIND_KEY)
    if not asked:
        return redirect(url_for("qihu_portal.find"))
    found = current_appeals().portal.lookup.verify(asked["number"], request.form.get("code", ""), _client())
    if found is None:
        left = current_appeals().portal.lookup.attempts_left(asked["number"])
        text = (_("验证码不正确或已过期，还可再试 {n} 次。", n=left) if left
                else _("验证码已失效，请重新获取验证码。"))
        return render_template("qihu/portal_lookup.html", step="code", number=asked["number"], masked=asked["masked"],
                               errors={"code": text}, spent=not left), 422
    session.pop(FIND_KEY, None)
    return redirect(url_for("qihu_portal.track", token=found["token"], new="found"))


@blueprint.post("/track/<token>/rate")
def rate(token):
    engine = current_engine()
    ticket = current_appeals().portal.by_token(token)             # an unknown link: 404 before anything else
    task_id = request.form.get("task_id", "")
    values = {k: v for k, v in request.form.items() if k not in ("csrf_token", "task_id")}
    try:
        result = current_appeals().portal.rate(token, task_id, values)
    except ValidationFailed as e:
        return _track_page(token, values, {k: one_language(v) for k, v in e.errors.items()}, task_id, 422)
    except (Forbidden, NotFound):
        if _done_by(engine, task_id, ticket["user"]):        # a second click on the same form
            flash(_("该评价已经提交，无需重复评价。"), "info")
            return redirect(url_for("qihu_portal.track", token=token))
        return _track_page(token, values, {"form": _("该评价不属于本诉求，或已经提交。")}, task_id, 403)
    except (InvalidState, Conflict):
        if engine.tasks.get(task_id)["status"] != "ready":
            flash(_("该评价已经提交，无需重复评价。"), "info")
            return redirect(url_for("qihu_portal.track", token=token))
        return _track_page(token, values, {"form": _("诉求暂停办理或正在更新，评价未能提交，请稍后再试。")}, task_id, 409)
    except QihuError:
        current_app.logger.exception("portal: a rating could not be completed")
        return _track_page(token, values, {"form": _("系统繁忙，评价未能提交，请稍后重试。")}, task_id, 503)
    if result["bad"]:
        flash(_("您的评价已提交。您对办理情况不满意，诉求已重新打开，转督查室二次督办。"), "warn")
    else:
        flash(_("感谢您的评价！"), "ok")
    return redirect(url_for("qihu_portal.track", token=token))


def _done_by(engine, task_id, user):
    try:
        t = engine.tasks.get(task_id)
    except NotFound:
        return False
    return t["status"] == "completed" and t["completed_by"] == user


# -- errors ----------------------------------------------------------------------------------------
def _error(status, title, text):
    return render_template("qihu/portal_error.html", status=status, title=title, text=text), status


@blueprint.errorhandler(NotFound)
def _not_found(e):
    return _error(404, _("链接无效"), _("没有找到对应的诉求。请核对链接是否完整；如已遗失，请凭受理编号致电受理单位查询。"))


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return _error(403, _("无法操作"), _("该操作不属于本诉求。"))


@blueprint.errorhandler(csrf.CSRFError)
def _csrf_failed(e):
    return _error(400, _("页面已过期"), _("页面已过期，请返回刷新后重新提交。"))


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(e):
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return _error(413, _("附件过大"), _("本次提交的附件合计超过 {n} MB，诉求未提交。请返回上一页，压缩或减少附件后重新选择文件提交。",
                                    n=limit))
