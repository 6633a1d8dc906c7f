"""The OpenAPI 3.0 description of the REST API (web/api.py), written by hand.

tests/test_web_api.py checks it is valid and names every route of the API blueprint;
tests/test_api_permissions.py that each operation's x-qihu-access is web/api.py's rule.
"""
import copy

from qihu.engine.tasks.service import ORDERS as TASK_ORDERS


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _array(item):
    return {"type": "array", "items": item}


def _json(schema, description="成功"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description):
    return _json(_ref("Error"), description)


def _query(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name, description, schema=None):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


def _body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# Who may call an operation (web/api.py RULES; tests/test_api_permissions.py keeps both in step).
PUBLIC, SIGNED_IN, ADMIN = "public", "signed_in", "admin"
ACCESS_TEXT = {PUBLIC: "公开，无需登录", SIGNED_IN: "需登录", ADMIN: "仅管理员"}
SECURITY = [{"qihuSession": []}, {"qihuUserHeader": []}]
SECURITY_SCHEMES = {
    "qihuSession": {"type": "apiKey", "in": "cookie", "name": "session",
                    "description": "qihu 自带登录（/login）的会话 Cookie；POST 请求须带 X-CSRFToken 请求头"},
    "qihuUserHeader": {"type": "apiKey", "in": "header", "name": "X-Qihu-User",
                       "description": "调用者用户名（也可用 ?user=）；仅当应用设置 QIHU_TRUST_USER_HEADER 时有效："
                                      "用于测试和受信网关之后，不可用于公网"},
}


def _op(summary, tag, responses, params=None, body=None, access=SIGNED_IN, forbidden=None):
    """An operation; `access` says who may call it and `forbidden` when a signed-in caller gets 403
    (administrators-only operations always say so)."""
    if access == ADMIN:
        forbidden = forbidden or "不是管理员"
    rule = ACCESS_TEXT[access] + (f"；{forbidden}时返回 403" if forbidden and access != ADMIN else "")
    op = {"summary": summary, "description": f"权限：{rule}。", "tags": [tag], "x-qihu-access": access,
          "security": [] if access == PUBLIC else copy.deepcopy(SECURITY), "responses": dict(responses)}
    if access != PUBLIC:
        op["responses"]["401"] = _error("未登录")
    if forbidden:
        op["responses"]["403"] = _error(f"没有权限：{forbidden}")
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


NOT_FOUND, BAD = _error("不存在"), _error("请求有误")
CONFLICT = _error("状态不允许或并发冲突")
INSTANCE_ID, TASK_ID = _path("instance_id", "流程实例 id"), _path("task_id", "任务 id")
INCIDENT_ID = _path("incident_id", "异常 id", {"type": "integer"})

_STR, _INT, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_NSTR, _NINT = {"type": "string", "nullable": True}, {"type": "integer", "nullable": True}
_TIME, _NTIME = {"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time",
                                                             "nullable": True}
_FREE = {"type": "object", "additionalProperties": True}
_NFREE = {"type": "object", "additionalProperties": True, "nullable": True}


def _object(props, required=None):
    return {"type": "object", "properties": props, "required": required or list(props)}


SCHEMAS = {
    "Error": _object({"error": _STR}),
    # 422: form data rejected (errors: field -> message), or a script/expression of the
    # process failed on the data (file, line, element say where); nothing was saved.
    "Unprocessable": _object({"error": _STR, "errors": {"type": "object", "additionalProperties": _STR},
                              "file": _NSTR, "line": _NINT, "element": _NSTR}, ["error"]),
    "Problem": _object({"file": _NSTR, "element": _NSTR, "line": _NINT, "message": _STR}),
    "DeployError": _object({"error": _STR, "problems": _array(_ref("Problem"))}),
    "DeployedDefinition": _object({"id": _INT, "key": _STR, "version": _INT, "name": _NSTR, "new": _BOOL}),
    "DeployResult": _object({"deployment_id": _INT, "created": _BOOL,
                             "definitions": _array(_ref("DeployedDefinition"))}),
    "Definition": _object({"id": _INT, "key": _STR, "version": _INT, "name": _NSTR, "deployment_id": _INT,
                           "created_at": _TIME}),
    "Version": _object({"id": _INT, "key": _STR, "version": _INT, "name": _NSTR, "deployment_id": _INT,
                        "deployment": _STR, "deployed_by": _NSTR, "deployed_at": _TIME, "active": _BOOL,
                        "pinned": _BOOL, "running": _INT}),
    "VersionDiff": _object({"key": _STR, "from": _INT, "to": _INT,
                            **{k: _array(_object({"id": _STR, "type": _STR, "name": _NSTR}))
                               for k in ("added", "removed", "changed")}}),
    "Instance": _object({"id": _STR, "definition_key": _STR, "definition_id": _INT, "business_key": _NSTR,
                         "region": _NSTR,
                         "status": {"type": "string", "enum": ["running", "suspended", "completed", "cancelled"]},
                         "started_by": _NSTR, "started_at": _TIME, "ended_at": _NTIME}),
    "InstanceDetail": _object({"instance": _ref("Instance"), "data": _FREE, "tasks": _array(_ref("Task")),
                               "incidents": _array(_ref("Incident"))}),
    "Task": _object({"id": _STR, "instance_id": _STR, "definition_key": _STR, "element_id": _STR, "name": _NSTR,
                     "lane": _NSTR, "region": _NSTR, "candidate_groups": _array(_STR),
                     "candidate_users": _array(_STR),
                     "assignee": _NSTR, "due_at": _NTIME, "priority": _INT,
                     "status": {"type": "string", "enum": ["ready", "completed", "cancelled", "returned"]},
                     "created_at": _TIME, "completed_at": _NTIME, "completed_by": _NSTR}),
    "FormField": {"type": "object", "required": ["id", "label", "type"], "properties": {
        "id": _STR, "label": _STR, "type": _STR, "default": {"nullable": True},
        "validation": _FREE, "properties": _FREE,
        "options": _array(_object({"id": _STR, "name": _NSTR}))}},
    "Form": _object({"key": _NSTR, "fields": _array(_ref("FormField"))}),
    "TaskDetail": {"allOf": [_ref("Task"), _object({"form": _ref("Form")})]},
    "Completed": _object({"task_id": _STR, "instance": _ref("Instance"), "tasks": _array(_ref("Task"))}),
    "HistoryEvent": _object({"id": _INT, "instance_id": _STR, "at": _TIME, "type": _STR, "element_id": _NSTR,
                             "task_id": _NSTR, "user": _NSTR, "data": {"nullable": True}}),
    "Incident": _object({"id": _INT, "instance_id": _STR, "task_id": _STR, "element_id": _NSTR, "topic": _NSTR,
                         "error_type": _NSTR, "message": _NSTR, "traceback": _NSTR, "retries_left": _INT,
                         "status": {"type": "string", "enum": ["open", "resolved", "cancelled"]},
                         "created_at": _TIME, "resolved_at": _NTIME}),
    "Correlated": _object({"delivered": _array(_STR), "started": _array(_STR)}),
}

_DEPLOY_JSON = _object({"name": _STR, "files": _array(_object({"name": _STR, "content": _STR}))}, ["files"])
_DEPLOY_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": _array({"type": "string", "format": "binary"}), "name": _STR,
        "activate": {"type": "string", "enum": ["true", "false"]}}}},
    "application/json": {"schema": _DEPLOY_JSON}}}
_START = _object({"key": _STR, "data": _NFREE, "business_key": _NSTR, "version": _NINT, "region": _NSTR}, ["key"])
_MESSAGE = _object({"name": _STR, "business_key": _NSTR, "correlation": _NFREE, "data": _NFREE, "all": _BOOL},
                   ["name"])
_DATA = _object({"data": _NFREE}, [])
_INSTANCE_OK = {"200": _json(_ref("Instance")), "404": NOT_FOUND, "409": CONFLICT}
_TASK_OK = {"200": _json(_ref("TaskDetail")), "404": NOT_FOUND, "409": CONFLICT}
_UNPROCESSABLE = _json(_ref("Unprocessable"), "表单数据有误，或流程脚本、表达式出错；未保存任何更改")
_NOT_INVOLVED = "未参与此流程实例（发起、办理或候选）"
_NOT_CANDIDATE = "不是此任务的办理人或候选人"

PATHS = {
    "/api/deployments": {"post": _op("部署 .bpmn/.dmn 文件（一个或多个为一组）", "部署", {
        "201": _json(_ref("DeployResult"), "已部署新版本"),
        "200": _json(_ref("DeployResult"), "内容未变，未创建新版本"),
        "400": _json(_ref("DeployError"), "文件有误，未部署")}, body=_DEPLOY_BODY, access=ADMIN)},
    # the modeler page's 检查 over REST (web/modeler_page.py): engine.repository.check
    "/api/deployments/check": {"post": _op("检查 .bpmn/.dmn 文件（与部署相同的请求体），不保存任何内容", "部署", {
        "200": _json(_object({"ok": _BOOL, "problems": _array(_ref("Problem")),
                              "processes": _array(_object({"key": _STR, "name": _NSTR, "file": _STR}))}),
                     "检查结果：ok 为 false 时 problems 列出每个问题"),
        "400": BAD}, body=_DEPLOY_BODY, access=ADMIN)},
    "/api/definitions/{key}/versions/{version}/xml": {"get": _op("某个版本的 BPMN 文件（XML 文本）", "部署", {
        "200": _json(_object({"key": _STR, "version": _INT, "name": _NSTR, "region": _NSTR, "file": _STR,
                              "xml": _STR})), "404": NOT_FOUND},
        [_path("key", "流程标识"), _path("version", "版本号", _INT)], access=ADMIN)},
    "/api/definitions": {"get": _op("已部署的流程定义", "部署", {"200": _json(_array(_ref("Definition")))}, [
        _query("key", "只看这个流程标识"),
        _query("all_versions", "为 1 时列出所有版本（默认只列最新版本）")])},
    "/api/definitions/{key}/versions": {"get": _op("流程的全部版本（部署人、时间、是否启用、运行中实例数）", "部署", {
        "200": _json(_array(_ref("Version"))), "404": NOT_FOUND}, [_path("key", "流程标识")])},
    "/api/definitions/{key}/activate": {"post": _op("启用某个版本：新发起的实例使用它，运行中的实例不变", "部署", {
        "200": _json(_array(_ref("Version"))), "400": BAD, "404": NOT_FOUND},
        [_path("key", "流程标识")], body=_body(_object({"version": _INT}, ["version"])), access=ADMIN)},
    "/api/definitions/{key}/diff": {"get": _op("两个版本之间新增、删除、修改的元素（不含布局）", "部署", {
        "200": _json(_ref("VersionDiff")), "400": BAD, "404": NOT_FOUND},
        [_path("key", "流程标识"), _query("from", "旧版本号", _INT), _query("to", "新版本号", _INT)])},
    # engine/instance_migration.py: each instance moves in its own transaction; refused ones say why
    "/api/definitions/{key}/migrate": {"post": _op("把运行中的实例迁移到更新的版本（dry_run 只预览）", "部署", {
        "200": _json(_object({"key": _STR, "from": _INT, "to": _INT, "from_definition_id": _INT,
                              "to_definition_id": _INT, "dry_run": _BOOL, "changes": _FREE,
                              "migrated": _array(_FREE), "refused": _array(_FREE)})),
        "400": BAD, "404": NOT_FOUND, "422": _UNPROCESSABLE},
        [_path("key", "流程标识")], body=_body(_object({"from": _INT, "to": _INT, "instances": _array(_STR),
                                                         "dry_run": _BOOL}, ["from", "to"])), access=ADMIN)},
    "/api/instances": {
        "post": _op("发起流程实例", "流程实例", {
            "201": _json(_object({"id": _STR}), "已发起"), "400": BAD, "404": NOT_FOUND,
            "422": _UNPROCESSABLE}, body=_body(_START),
            forbidden="流程声明了发起人（camunda:candidateStarterGroups/Users）而调用者不在其中"),
        "get": _op("流程实例列表（管理员看全部，其他人只看本人参与的）", "流程实例", {
            "200": _json(_array(_ref("Instance"))), "400": BAD}, [
            _query("key", "流程标识"), _query("status", "running / suspended / completed / cancelled"),
            _query("business_key", "业务编号"), _query("limit", "最多条数（默认 100）", _INT)])},
    "/api/instances/{instance_id}": {"get": _op("流程实例详情：变量、待办任务、异常", "流程实例", {
        "200": _json(_ref("InstanceDetail")), "404": NOT_FOUND}, [INSTANCE_ID], forbidden=_NOT_INVOLVED)},
    "/api/instances/{instance_id}/history": {"get": _op("流程实例的审计记录", "流程实例", {
        "200": _json(_array(_ref("HistoryEvent"))), "404": NOT_FOUND}, [
        INSTANCE_ID, _query("types", "只看这些事件类型（逗号分隔）")], forbidden=_NOT_INVOLVED)},
    "/api/instances/{instance_id}/cancel": {"post": _op("终止流程实例", "流程实例", _INSTANCE_OK, [INSTANCE_ID],
                                                        _body(_object({"reason": _NSTR}, []), False), ADMIN)},
    "/api/instances/{instance_id}/suspend": {"post": _op("挂起流程实例", "流程实例", _INSTANCE_OK, [INSTANCE_ID],
                                                         access=ADMIN)},
    "/api/instances/{instance_id}/resume": {"post": _op("恢复已挂起的流程实例", "流程实例", _INSTANCE_OK,
                                                        [INSTANCE_ID], access=ADMIN)},
    "/api/tasks": {"get": _op("待办任务列表（默认本人的；管理员不指定 user 时为全部）", "任务", {
        "200": _json(_array(_ref("Task"))), "400": BAD}, [
        _query("user", "只看此用户可办的任务（本人的与所在组未认领的）；指定他人仅限管理员"),
        _query("instance", "流程实例 id"),
        _query("definition_key", "流程标识"), _query("region", "地区"), _query("status", "ready（默认）/ completed / cancelled / returned / all"),
        _query("order", "排序（默认 due：到期时间）", {"type": "string", "enum": list(TASK_ORDERS)}),
        _query("limit", "最多条数（默认 50，最大 500）", _INT), _query("offset", "跳过条数", _INT)],
        forbidden="非管理员用 user 指定了他人")},
    "/api/tasks/{task_id}": {"get": _op("任务详情（含表单）", "任务", {
        "200": _json(_ref("TaskDetail")), "404": NOT_FOUND}, [TASK_ID], forbidden=_NOT_CANDIDATE)},
    "/api/tasks/{task_id}/claim": {"post": _op("认领任务", "任务", _TASK_OK, [TASK_ID],
                                               forbidden="不是此任务的候选人")},
    "/api/tasks/{task_id}/unclaim": {"post": _op("退回认领", "任务", _TASK_OK, [TASK_ID],
                                                 forbidden="任务不是由调用者认领的")},
    "/api/tasks/{task_id}/complete": {"post": _op("提交表单，办结任务", "任务", {
        "200": _json(_ref("Completed")), "400": BAD, "404": NOT_FOUND, "409": CONFLICT, "422": _UNPROCESSABLE},
        [TASK_ID], _body(_DATA, False), forbidden=_NOT_CANDIDATE)},
    "/api/messages": {"post": _op("发送消息（送达等待的实例，或发起以此消息开始的流程）", "消息", {
        "200": _json(_ref("Correlated")), "400": BAD, "404": _error("没有等待此消息的实例或流程"),
        "409": _error("匹配到多个实例"), "422": _UNPROCESSABLE}, body=_body(_MESSAGE), access=ADMIN)},
    "/api/incidents": {"get": _op("异常（处理程序失败）", "异常", {"200": _json(_array(_ref("Incident")))}, [
        _query("instance", "流程实例 id"), _query("status", "open（默认）/ resolved / cancelled / all")], access=ADMIN)},
    "/api/incidents/{incident_id}/retry": {"post": _op("立即重试失败的处理程序", "异常", {
        "200": _json(_ref("Incident")), "404": NOT_FOUND, "409": CONFLICT, "422": _UNPROCESSABLE},
        [INCIDENT_ID], access=ADMIN)},
    "/api/incidents/{incident_id}/resolve": {"post": _op("人工补录结果，跳过处理程序", "异常", {
        "200": _json(_ref("Incident")), "400": BAD, "404": NOT_FOUND, "409": CONFLICT,
        "422": _UNPROCESSABLE},
        [INCIDENT_ID], _body(_DATA, False), ADMIN)},
    "/api/openapi.json": {"get": _op("本接口文档（OpenAPI 3.0）", "文档", {"200": _json(_FREE)}, access=PUBLIC)},
}


def openapi_document(server_url=""):
    """The document; `server_url` is where the extension is mounted (its url_prefix)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "企呼 qihu 流程引擎接口", "version": "1",
                 "description": ("企业诉求办理流程引擎的 REST 接口。请求体为 JSON（Content-Type: application/json，"
                                 "否则 415）；部署也可用 multipart 上传文件。所有错误返回 JSON {\"error\": \"...\"}。"
                                 "除本文档外都须登录（否则 401）；部署、消息、异常处理和终止/挂起/恢复实例仅限管理员，"
                                 "其他操作只限调用者参与的实例和任务（否则 403）。每个操作的 x-qihu-access 为 "
                                 "public / signed_in / admin。")},
        "servers": [{"url": server_url or "/"}],
        "paths": copy.deepcopy(PATHS),
        "components": {"schemas": copy.deepcopy(SCHEMAS), "securitySchemes": copy.deepcopy(SECURITY_SCHEMES)},
    }
