"""The modeler page (在浏览器中编辑, administrators only): a deployed version of a process, or a
blank diagram, in bpmn-js with the properties panel and the Camunda 7 extension
(web/static/vendor/modeler/, built by web/frontend/build.sh), in the page's language (its palette,
menus and properties panel in Chinese from web/frontend/src/zh-cn.js, or English with ?lang=en);
检查 lints it and 部署为新版本 deploys it, both through engine/repository/service.py. The page script
(web/static/modeler.js) posts JSON with the CSRF token in the X-CSRFToken header.

An edited process is checked and deployed together with the other files of the deployment it
was opened from (its decision tables, the processes it calls), the edited file in place of the
stored one: a process using a DMN table still deploys, and the processes that were not edited
keep their versions (the repository gives a new version only to what changed). A refused
diagram stores nothing; the answer lists every problem (file, line, element, message).
"""
from functools import wraps
from pathlib import PurePosixPath

from flask import jsonify, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from qihu.engine.errors import DeployError, Forbidden, NotFound, QihuError

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.pages.admin import admin_only
from qihu.web.i18n import LANGS, current_lang, gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_qihu, current_engine

blueprint = QihuBlueprint("qihu_modeler", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
install_i18n(blueprint)

MAX_XML = 4 * 1024 * 1024          # one diagram is tens of KB; the app's 16 MB limit is for bundles
JSON_VIEWS = ("qihu_modeler.check", "qihu_modeler.deploy")

# A blank diagram: one executable process with a start event, drawn (bpmn-js needs the DI).
BLANK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_new"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="new_process" name="新流程" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="开始" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="new_process">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


class Refused(Exception):
    """A post the page endpoints refuse before the engine sees it (JSON answer with `status`)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status



def admin_json(view):
    """A JSON view for administrators: 401 anonymous, 403 anyone else (never a redirect)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = current_qihu().user()
        if not user:
            raise Refused(_("请先登录") + " (sign in first)", 401)
        if not current_engine().access.is_admin(user):
            raise Refused(_("流程管理仅限管理员使用。") + f" ({user} may not deploy: administrators only)", 403)
        return view(*args, user=user, **kwargs)
    return wrapper


# -- pages -----------------------------------------------------------------------------------
def _page(xml, source, filename):
    data = {
        "xml": xml,
        "base": {"key": source["key"], "version": source["version"]} if source else None,
        "file": filename,
        "checkUrl": url_for("qihu_modeler.check"),
        "deployUrl": url_for("qihu_modeler.deploy"),
        "csrf": csrf.generate_csrf(),
        "texts": {k: _(k) for k in TEXTS},
        "lang": LANGS[current_lang()],      # the palette, menus and properties panel follow the page
    }
    return render_template("qihu/modeler.html", source=source, data=data)


@blueprint.get("/admin/modeler/new")
@admin_only
def new(user):
    return _page(BLANK, None, "new_process.bpmn")


@blueprint.get("/admin/modeler/<key>")
@admin_only
def edit(key, user):
    """A version of `key` (?version=N; default: the latest, staged or not) in the modeler."""
    version = request.args.get("version", "").strip()
    if version and not (version.isdigit() and 0 < int(version) < 10**6):
        return ui._error_page(400, _("请求有误"), _("版本号无效"))
    engine = current_engine()
    rows = engine.repository.versions(key)                      # NotFound: 404 below
    version = int(version) if version else rows[-1]["version"]
    info, content = engine.repository.xml(key, version)
    source = dict(info, active=next(v["active"] for v in rows if v["version"] == version),
                  latest=rows[-1]["version"])
    return _page(content.decode("utf-8"), source, info["resource_name"])


# -- JSON endpoints of the page ----------------------------------------------------------------
def _posted():
    """(body, [(file name, bytes)] to check or deploy, name of the edited file, region): an
    edited version is deployed for the region its version was deployed for."""
    if request.content_length is not None and request.content_length > MAX_XML + 64 * 1024:
        raise RequestEntityTooLarge()
    if not request.is_json:
        raise Refused("请求体应为 JSON (body must be application/json)", 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused("请求体不是有效的 JSON 对象 (body is not a JSON object)")
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        raise Refused("缺少流程图 XML (missing field 'xml': the diagram as a non-empty string)")
    content = xml.encode("utf-8")
    if len(content) > MAX_XML:
        raise RequestEntityTooLarge()
    base = body.get("base")
    if base is None:
        filename = PurePosixPath(str(body.get("file") or "").replace("\\", "/")).name or "diagram.bpmn"
        if not filename.lower().endswith(".bpmn"):
            raise Refused(f"文件名应以 .bpmn 结尾 (file {filename!r} must end with .bpmn)")
        return body, [(filename, content)], filename, None
    if not isinstance(base, dict) or not isinstance(base.get("key"), str) \
            or isinstance(base.get("version"), bool) or not isinstance(base.get("version"), int):
        raise Refused('base 应为 {"key": 字符串, "version": 整数} (base must be {"key": string, "version": integer})')
    repository = current_engine().repository
    info, _old = repository.xml(base["key"], base["version"])   # NotFound: 404
    files = [(n, content if n == info["resource_name"] else c)
             for n, c in repository.resources(info["deployment_id"])]
    return body, files, info["resource_name"], info["region"]


@blueprint.post("/admin/modeler/check")
@admin_json
def check(user):
    """Lint without storing: 200 {"ok", "problems": [{file, line, element, message}], "processes"}."""
    _body, files, filename, _region = _posted()
    try:
        bundle = current_engine().repository.check(files)
    except DeployError as e:
        return jsonify(ok=False, file=filename, problems=[p.as_dict() for p in e.problems])
    processes = [{"key": k, "name": p.name} for k, p in sorted(bundle.processes.items()) if p.filename == filename]
    return jsonify(ok=True, file=filename, problems=[], processes=processes,
                   warnings=current_engine().repository.warnings(bundle))


@blueprint.post("/admin/modeler/deploy")
@admin_json
def deploy(user):
    """Deploy as new versions: 201 (200 when nothing changed) {"ok", "created", "definitions",
    "message", "versions_url"}; a refused diagram: 422 {"ok": false, "problems"} and nothing stored."""
    body, files, filename, region = _posted()
    activate = body.get("activate", True)
    name = body.get("name")
    if not isinstance(activate, bool):
        raise Refused("activate 应为 true 或 false ('activate' must be a boolean)")
    if name is not None and not isinstance(name, str):
        raise Refused("name 应为字符串 ('name' must be a string)")
    try:
        result = current_engine().repository.deploy(files, name=(name or "").strip()[:200] or None,
                                             user=user, activate=activate, region=region)
    except DeployError as e:
        return jsonify(ok=False, file=filename, problems=[p.as_dict() for p in e.problems]), 422
    new = [d for d in result.definitions if d["new"]]
    parts = "、".join(f"{d['key']} v{d['version']}" for d in (new or result.definitions))
    if not result.created:
        message = _("内容与已部署的版本相同，未新建版本：{list}", list=parts)
    elif activate:
        message = _("已部署 {list}", list=parts)
    else:
        message = _("已部署但未启用（新实例仍按当前启用的版本发起）：{list}", list=parts)
    shown = (new or result.definitions)[0]["key"]
    return jsonify(ok=True, created=result.created, definitions=result.definitions, message=message,
                   warnings=result.warnings, versions_url=url_for("qihu_admin.versions", key=shown)), 201 if result.created else 200


# -- errors ----------------------------------------------------------------------------------
def _json_error(status, message):
    return jsonify(ok=False, error=message), status


@blueprint.errorhandler(Refused)
def _bad_request(e):
    return _json_error(e.status, str(e))


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(e):
    return _json_error(413, _("流程图过大（上限 {n} MB）", n=MAX_XML // (1024 * 1024))
                       + f" (the diagram is larger than {MAX_XML // (1024 * 1024)} MB)")


@blueprint.errorhandler(csrf.CSRFError)
def _csrf_failed(e):
    if request.endpoint in JSON_VIEWS:
        return _json_error(400, _("页面已过期，请刷新后重试。") + " (CSRF token missing or expired)")
    return ui._csrf_failed(e)


@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("流程管理仅限管理员使用。"))


@blueprint.errorhandler(NotFound)
def _not_found(e):
    if request.endpoint in JSON_VIEWS:
        return _json_error(404, _("没有找到该流程或版本。") + f" ({e})")
    return ui._error_page(404, _("未找到"), _("没有找到该流程或版本。"))


@blueprint.errorhandler(QihuError)
def _engine_error(e):
    if request.endpoint in JSON_VIEWS:
        return _json_error(422, str(e))
    return ui._error_page(422, _("请求有误"), str(e))


# Texts of the page script, translated on the server (web/i18n.py).
TEXTS = (
    "正在检查…", "检查通过，没有发现问题。", "发现 {n} 个问题：", "正在部署…", "部署未完成，没有保存任何文件。请修改以下问题后重新部署：",
    "查看版本", "请求失败", "流程图无法打开", "打开流程图时有警告", "文件", "行", "元素", "问题", "点击问题可在图中选中该元素。",
    "警告", "有 {n} 个警告（不影响部署，请留意）：", "检查通过，可以部署。",
)
