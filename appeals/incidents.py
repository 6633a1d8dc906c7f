"""Incidents in plain Chinese: what the incident page, the instance page and the 晾晒 warning
board say about something that stopped an appeal. The engine records incidents with a kind and
the technical error (engine.runtime.incidents); this says them as an administrator reads them:
one sentence by kind ("自动任务「推送省平台」执行失败：省平台无响应"), the process and element by
their display names, the groups and people a stall names by theirs (the engine keeps their ids),
and the age ("3 小时前"). The technical detail stays on the incident for whoever fixes the cause.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select

from qihu.engine.errors import QihuError
from qihu.engine.runtime.stalls import named, named_ids
from qihu.engine.storage.models import Instance

if TYPE_CHECKING:
    from qihu.engine.core import Engine
    from qihu.engine.types import IncidentInfo

# the filter of the incident page and the label of each incident
KIND_NAMES = {"handler": "自动任务失败", "delivery": "消息投递失败", "calendar": "工作日历未导入",
              "script": "脚本出错", "timer": "定时未触发", "stall": "案件无法流转"}
STATUS_NAMES = {"open": "未处理", "resolved": "已处理", "cancelled": "已撤销"}
# what an exception's class means to someone who did not write the handler; a message that is
# already Chinese is said as it is (handlers raise "省平台无响应", the engine "… (English)")
CAUSES = {
    "TimeoutError": "调用超时", "ReadTimeout": "调用超时", "ConnectTimeout": "连接超时", "Timeout": "调用超时",
    "ConnectionError": "无法连接对方系统", "ConnectionRefusedError": "对方系统拒绝连接",
    "ConnectionResetError": "与对方系统的连接中断", "HTTPError": "对方系统返回错误",
    "KeyError": "缺少必要的数据", "ValueError": "数据格式有误", "TypeError": "数据类型不符",
    "NameError": "引用了未定义的变量", "AttributeError": "数据结构不符", "ZeroDivisionError": "除数为零",
    "PermissionError": "没有权限", "FileNotFoundError": "找不到文件", "MemoryError": "占用内存超过上限",
    "RecursionError": "计算层次过深", "OverflowError": "数值超出范围",
    "ScriptTimeout": "运行超过时间上限", "SandboxError": "脚本不被允许执行", "SandboxSyntaxError": "脚本语法有误",
    "CalendarYearUnknown": "工作日历尚未导入", "WorkflowTaskException": "流程脚本出错",
}
DEFAULT_CAUSE = "程序出错"
MAX_CAUSE = 80
_CJK = re.compile(r"[\u4e00-\u9fff]")
_ENGLISH_TAIL = re.compile(r"\s*[（(][^()（）]*[A-Za-z][^()（）]*[)）]?\s*$")
_NAME = re.compile(r"name '([^']+)' is not defined")
_YEAR = re.compile(r"(?<!\d)((?:19|20|21)\d\d)(?!\d)")


def chinese_part(message: str | None) -> str | None:
    """The Chinese of an engine or handler message, without its English aside in brackets
    ("2027 年的法定节假日安排尚未导入 (calendar of 2027 …)" → the Chinese); None when it is not
    mostly Chinese."""
    if not message or not _CJK.search(message):
        return None
    line = message.strip().splitlines()[0]
    while True:
        shorter = _ENGLISH_TAIL.sub("", line)
        if shorter == line or not _CJK.search(shorter):
            break
        line = shorter
    line = line.strip()
    # an English sentence that merely names something Chinese ("no instance waits for 说不评议")
    # is not Chinese: the kind's own words say it better
    letters = [c for c in line if not c.isspace()]
    if len(_CJK.findall(line)) < 0.3 * len(letters):
        return None
    return _clip(line)


def _clip(text: str, limit: int = MAX_CAUSE) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def short_cause(error_type: str | None, message: str | None) -> str:
    """What went wrong, in a few Chinese words (the rest is in the technical detail)."""
    said = chinese_part(message)
    if said:
        return said
    if error_type == "NameError" and message and _NAME.search(message):
        return f"变量 {_NAME.search(message).group(1)} 未定义"
    if error_type == "KeyError" and message and 0 < len(message.strip("'\" ")) <= 40:
        return f"缺少数据 {message.strip(chr(39) + chr(34) + ' ')}"
    return CAUSES.get(error_type or "", DEFAULT_CAUSE)


_TYPED = re.compile(r"^([A-Za-z_][\w.]*): (.*)$", re.S)
_DELIVERY = re.compile(r"投递给「([^」]+)」")
_STALL = "案件无法继续流转："


def plain(error: str | None) -> str:
    """An audit event's error in words: "RuntimeError: 省平台无响应" → 省平台无响应; a Chinese
    sentence whose cause is typed ("…失败，已尝试 3 次：ConnectionError: refused") keeps its
    Chinese and says the cause; a Chinese sentence stays as it is."""
    error = (error or "").strip()
    typed = _TYPED.match(error)
    if typed:
        return short_cause(typed.group(1), typed.group(2))
    head, sep, tail = error.rpartition("：")
    typed = _TYPED.match(tail) if sep else None
    if typed and _CJK.search(head):
        return f"{head}：{short_cause(typed.group(1), typed.group(2))}"
    return chinese_part(error) or short_cause(None, error)


def sentence(incident: IncidentInfo | dict, element: str | None = None) -> str:
    """The incident as one Chinese sentence; `element`: the display name of its element."""
    kind = str(incident.get("kind") or "handler")
    error_type, message = incident.get("error_type"), incident.get("message")
    cause = short_cause(error_type, message)
    if kind == "delivery":
        # the engine names the receiving process in its message ("消息「X」投递给「路桥区说不」…失败，
        # 已尝试 3 次：ConnectionError: …"); a webhook has no receiving process
        said = message or ""
        named = _DELIVERY.search(said)
        _head, sep, tail = said.rpartition("：")
        if sep:
            typed = _TYPED.match(tail)
            cause = short_cause(typed.group(1), typed.group(2)) if typed else (chinese_part(tail) or cause)
        if said.startswith("通知推送"):
            return f"通知推送失败：{cause}"
        receiver = incident.get("receiver") or (named.group(1) if named else None) or element \
            or incident.get("topic") or "接收流程"
        return f"消息投递给「{receiver}」失败：{cause}"
    if kind == "calendar":
        year = _YEAR.search(message or "")
        head = f"{year.group(1)} 年工作日历尚未导入" if year else "工作日历尚未导入"
        return head + (f"，「{element}」的办理期限无法计算" if element else "")
    if kind == "script":
        return f"「{element}」的脚本出错：{cause}" if element else f"脚本出错：{cause}"
    if kind == "timer":
        return f"定时「{element}」未能触发：{cause}" if element else f"定时未能触发：{cause}"
    if kind == "stall":
        reason = chinese_part(message)
        reason = reason[len(_STALL):] if reason and reason.startswith(_STALL) else reason
        return f"{_STALL}{reason or stall_reason(error_type)}"
    return f"自动任务「{element or incident.get('topic') or '未命名'}」执行失败：{cause}"


STALL_REASONS = {
    "NoWayForward": "没有待办环节、定时、待收消息或待投递的消息",
    "NoActiveCandidates": "待办环节的办理组没有在岗人员",
    "DeliveryOverdue": "消息投递重试已超过一小时",
}


def stall_reason(error_type: str | None) -> str:
    return STALL_REASONS.get(error_type or "", "没有可以继续办理的环节")


def age_text(created_at: str | datetime, now: datetime) -> str:
    """How long ago, as people say it: 刚刚, 5 分钟前, 3 小时前, 2 天前."""
    at = datetime.fromisoformat(created_at) if isinstance(created_at, str) else created_at
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def describe(engine: Engine, incidents: Iterable[IncidentInfo], now: datetime | None = None) -> list[dict[str, Any]]:
    """Each incident with what people read of it: process_name (the definition's display
    name), element_name, kind_name, sentence, cause and age. Definitions are read once per
    instance (their rows and diagrams are cached by the engine)."""
    now = now or engine.clock.now()
    incidents = list(incidents)
    with engine.db.read() as s:      # one query for every instance's definition
        definition_of = dict(s.execute(select(Instance.id, Instance.definition_id).where(
            Instance.id.in_(sorted({i["instance_id"] for i in incidents}) or [""]))).all())
    graphs: dict[str, Any] = {}
    groups, users = set(), set()                  # what the stalls name, by id: two queries for all
    for i in incidents:
        if i.get("kind") == "stall":
            g, u = named_ids(i.get("message"))
            groups.update(g)
            users.update(u)
    group_names = engine.accounts.group_names(groups) if groups else {}
    person_names = engine.accounts.person_names(users) if users else {}

    def graph_of(instance_id: str) -> tuple[str | None, Any]:
        if instance_id not in graphs:
            try:
                definition = engine.db_get_definition(definition_of[instance_id])
                graphs[instance_id] = (definition.name or definition.key, engine.history.graph(definition)[2])
            except (QihuError, KeyError):
                graphs[instance_id] = (None, None)
        return graphs[instance_id]

    out = []
    for i in incidents:
        process, g = graph_of(i["instance_id"])
        element = (g.name(i["element_id"]) if g is not None else i["element_id"]) if i.get("element_id") else None
        kind = str(i.get("kind") or "handler")
        # said with names; the message itself (the technical detail) keeps the engine's ids
        said = {**i, "message": named(i.get("message"), lambda x: group_names.get(x) or x,
                                           lambda x: person_names.get(x) or x)} if kind == "stall" else i
        out.append({**i, "kind": kind, "process_name": process or i.get("definition_key") or "—",
                    "element_name": element, "kind_name": KIND_NAMES.get(kind, kind),
                    "sentence": sentence(said, element), "cause": short_cause(said.get("error_type"), said.get("message")),
                    "age": age_text(i["created_at"], now)})
    return out
