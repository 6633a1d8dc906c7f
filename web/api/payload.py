"""Reading request bodies and query strings; every refusal is an ApiError
(400; 415 for a body that is not application/json) with a clear message."""
import json
from pathlib import PurePosixPath

from flask import request

from qihu.web.errors import CONTROL_CHARACTERS, ApiError

MAX_LIMIT = 500


def json_body():
    """The request body as a JSON object ({} when empty)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        # Also keeps plain cross-site HTML forms (text/plain, urlencoded) from posting JSON-looking bodies.
        raise ApiError("请求体应为 JSON，Content-Type: application/json (body must be application/json)", 415)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(f"请求体不是有效的 JSON (body is not valid JSON): {e}") from None
    if not isinstance(value, dict):
        raise ApiError("请求体应为 JSON 对象 (body must be a JSON object)")
    bad = _control_in(value)
    if bad is not None:
        raise ApiError(f"字段 {bad} 含有不允许的字符（如 NUL 等控制字符），未保存 "
                       f"(field {bad!r} contains a control character; nothing was saved)")
    return value


def _control_in(value, path=""):
    """The path ("data.note", "files[0].name") of the first string of a JSON value, key or value,
    holding a control character (PostgreSQL refuses NUL in any text), or None."""
    stack = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if CONTROL_CHARACTERS.search(v):
                return where or "body"
        elif isinstance(v, dict):
            for k, item in v.items():
                here = f"{where}.{k}" if where else str(k)
                if CONTROL_CHARACTERS.search(str(k)):
                    return CONTROL_CHARACTERS.sub("?", here)
                stack.append((here, item))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
    return None


def required_str(body, name):
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(f"缺少字段 {name} (missing field {name!r}: a non-empty string)")
    return value


def optional_str(body, name):
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(f"字段 {name} 应为字符串 ({name!r} must be a string)")
    return value or None


def optional_dict(body, name):
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise ApiError(f"字段 {name} 应为 JSON 对象 ({name!r} must be an object)")
    return value


def optional_int(body, name):
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ApiError(f"字段 {name} 应为整数 ({name!r} must be an integer)")
    return value


def optional_bool(body, name):
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(f"字段 {name} 应为 true 或 false ({name!r} must be a boolean)")
    return value


def int_arg(name, default, low=0, high=MAX_LIMIT):
    text = request.args.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(f"参数 {name} 应为整数 (?{name} must be an integer)") from None
    if not low <= value <= high:
        raise ApiError(f"参数 {name} 应在 {low} 到 {high} 之间 (?{name} must be {low}..{high})")
    return value


def flag_arg(name):
    return request.args.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _base_name(name):
    # Keep the name as given (Chinese included) but never a directory part.
    return PurePosixPath((name or "").replace("\\", "/")).name


def deploy_region():
    """The region a deployment is for (form field or JSON "region"), or None."""
    if request.files or request.form:
        return (request.form.get("region") or "").strip() or None
    return optional_str(json_body(), "region")


def deploy_files():
    """The files of a deployment: multipart uploads, or JSON {"files": [{"name", "content"}]}.

    Returns ([(name, bytes)], deployment name or None, activate): `activate` false ("false",
    "0", "no") stages the new versions.
    """
    if request.files:
        files = [(_base_name(f.filename), f.read()) for _, f in request.files.items(multi=True)]
        name = request.form.get("name") or None
        activate = request.form.get("activate")
    else:
        body = json_body()
        items = body.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("没有要部署的文件 (no files: send multipart files, "
                           'or JSON {"files": [{"name": ..., "content": ...}]})')
        files = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                    or not isinstance(item.get("content"), str):
                raise ApiError(f"files[{i}] 应为 {{\"name\": 字符串, \"content\": 字符串}} "
                               f"(files[{i}] must have a string name and content)")
            files.append((_base_name(item["name"]), item["content"].encode("utf-8")))
        name = optional_str(body, "name")
        activate = body.get("activate")
    missing = [i for i, (n, _) in enumerate(files) if not n]
    if missing:
        raise ApiError("上传的文件缺少文件名 (an uploaded file has no name)")
    return files, name, str(activate if activate is not None else "true").lower() not in ("false", "0", "no")
