"""UI language: Chinese (zh-CN) by default, English by a ?lang=en link (kept in a cookie).

A dict catalogue keyed by the Chinese text: `_("待办")` is "待办", or "Inbox" in English.
Texts missing from the English catalogue stay Chinese (tests/test_web_inbox.py checks
that the pages' texts are all here).
"""
from flask import g, request

LANGS = {"zh": "zh-CN", "en": "en"}
COOKIE = "qihu_lang"

EN = {
    # frame
    "企业诉求办理": "Enterprise appeals", "首页": "Home", "待办": "Inbox", "接口文档": "API docs",
    "当前用户：{name}": "Signed in: {name}", "退出": "Sign out", "登录": "Sign in",
    "BPMN 流程引擎": "BPMN process engine", "切换语言": "Language",
    # sign-in
    "工作人员登录": "Staff sign-in", "用户名": "User name", "密码": "Password",
    "用户名或密码不正确": "Wrong user name or password", "请填写用户名和密码": "Enter your user name and password",
    "欢迎，{name}": "Welcome, {name}", "已退出登录": "You have signed out",
    "请先登录": "Please sign in first",
    "使用本单位分配的账号登录，办理企业诉求。": "Sign in with the account your office gave you to handle enterprise appeals.",
    # inbox
    "我的待办": "My inbox", "流程": "Process", "全部流程": "All processes", "预警": "Warning",
    "全部": "All", "已超期": "Overdue", "仅看超期": "Overdue only", "优先级": "Priority", "全部优先级": "Any priority",
    "高": "High", "中": "Normal", "低": "Low", "搜索任务名称或业务编号": "Search task name or business key",
    "排序": "Sort", "按截止时间": "By deadline", "按优先级": "By priority", "按创建时间（新到旧）": "Newest first",
    "按创建时间（旧到新）": "Oldest first", "筛选": "Filter", "清除": "Clear",
    "任务": "Task", "业务编号": "Business key", "办理人": "Assignee", "截止时间": "Deadline",
    "剩余工作日": "Working days left", "状态": "Status", "待认领": "Unclaimed", "我": "me",
    "没有符合条件的待办任务。": "No tasks match.", "共 {n} 项": "{n} tasks", "上一页": "Previous", "下一页": "Next",
    "第 {page} / {pages} 页": "Page {page} of {pages}", "无期限": "No deadline",
    "超期 {n} 个工作日": "{n} working days overdue", "{n} 个工作日": "{n} working days",
    "不足 1 个工作日": "under 1 working day", "候选组": "Candidate groups",
    "绿": "Green", "黄": "Yellow", "橙": "Orange", "红": "Red", "蓝": "Blue", "无": "None",
    # task
    "返回待办": "Back to inbox", "企业": "Company", "诉求摘要": "Summary", "流程实例": "Instance",
    "认领": "Claim", "取消认领": "Unclaim", "提交": "Submit", "办理表单": "Form", "必填": "required",
    "请选择": "Please choose", "是": "Yes", "否": "No", "此任务由 {name} 办理中。": "{name} is working on this task.",
    "认领后即可办理此任务。": "Claim this task to work on it.", "已认领，可以办理。": "Claimed: you can work on it.",
    "已取消认领": "Unclaimed", "任务已认领": "Task claimed", "任务已办结：{name}": "Task done: {name}",
    "表单有误，请按提示修改。": "The form has errors; see the notes next to the fields.",
    "此任务已办结。": "This task is done.", "办结人": "Done by", "创建时间": "Created", "此任务没有表单字段。":
        "This task has no form fields.", "任务详情": "Task",
    # errors
    "没有权限": "Forbidden", "您没有办理此任务的权限。": "You may not see or work on this task.",
    "未找到": "Not found", "没有找到该任务。": "No such task.", "请求有误": "Bad request",
    "页面已过期，请刷新后重试。": "The page has expired; reload it and try again.",
    "操作未完成": "Not done",
}


def current_lang():
    lang = g.get("qihu_lang")
    if lang is None:
        asked = request.args.get("lang")
        lang = asked if asked in LANGS else request.cookies.get(COOKIE)
        g.qihu_lang = lang = lang if lang in LANGS else "zh"
    return lang


def gettext(text, **values):
    if current_lang() == "en":
        text = EN.get(text, text)
    return text.format(**values) if values else text


def lang_url(lang):
    """The current page in another language."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [lang]
    from urllib.parse import urlencode
    return f"{request.path}?{urlencode(args, doseq=True)}"


def _remember(response):
    asked = request.args.get("lang")
    if asked in LANGS:
        response.set_cookie(COOKIE, asked, max_age=3600 * 24 * 365, samesite="Lax", httponly=True)
    return response


def install(blueprint):
    """`_`, `lang` and `html_lang` in the blueprint's templates; ?lang= remembered in a cookie."""
    blueprint.context_processor(lambda: {"_": gettext, "lang": current_lang(),
                                         "html_lang": LANGS[current_lang()], "lang_url": lang_url})
    blueprint.after_request(_remember)
