"""The audit trail in plain Chinese: what the instance page and the enterprise read of an
appeal's history. The engine records events (engine.history); this says them as people do."""
import hashlib
import threading

from qihu.appeals import incidents
from qihu.appeals.portal import ENTERPRISE_PREFIX
from qihu.engine.dialect.timers import deadline_text, local_text
from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.runtime.sla import COLOUR_NAMES
from qihu.engine.runtime.stalls import named, named_ids

STATUS_NAMES = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销"}
SYSTEM = "系统"
# Steps the engine takes on its own: their events carry the user whose action set them off, but
# the trail names the engine as the one who did them.
ENGINE_STEPS = {"task_created", "task_cancelled", "element_completed", "handler_called", "timer_fired",
                "message_thrown", "signal_thrown", "bpmn_error", "escalation", "incident", "incident_cancelled", "sla_changed", "instance_completed"}


def enterprise_name(user):
    """An enterprise as staff read it: "qiye:QH20261121-7K3F9Q" is 企业（QH20261121-7K3F9Q）
    (an accounts namer: the enterprise has no account, its tracking number names it)."""
    if isinstance(user, str) and user.startswith(ENTERPRISE_PREFIX) and len(user) > len(ENTERPRISE_PREFIX):
        return f"企业（{user[len(ENTERPRISE_PREFIX):]}）"
    return None


def trail(engine, instance_id):
    """The audit trail in plain Chinese, oldest first: [{"at" (ISO, UTC), "time" (Beijing,
    "2026-11-02 09:00"), "who" (display name, 系统 for the engine), "type", "element_id",
    "text" (what happened), "line" (time, who and text in one line)}]. People and groups are
    said by their display names (two queries for the whole trail), messages and signals by
    the diagram's names of the events that throw or catch them."""
    instance = engine.runtime.get(instance_id)
    definition = engine.db_get_definition(instance["definition_id"])
    filename, xml, g = engine.history.graph(definition)
    events = engine.history.events(instance_id)
    users, groups = _ids(events)
    people = engine.accounts.person_names(users)
    group_names = engine.accounts.group_names(groups)

    def person(name):
        return (people.get(name) or name) if name else SYSTEM

    def group(names):
        return "、".join(group_names.get(n) or n for n in names or [])

    events_named = _events_of(xml, filename)
    now = engine.clock.now()
    out = []
    for e in events:
        text = _say(e, g, person, group, events_named, now)
        if text is None:
            continue
        who = SYSTEM if e["type"] in ENGINE_STEPS else person(e["user"])
        time = local_text(e["at"])
        out.append({"at": e["at"], "time": time, "who": who, "type": e["type"], "element_id": e["element_id"],
                    "text": text, "line": f"{time} {who} {text}"})
    return out


def _ids(events):
    """(user ids, group ids) the trail names."""
    users, groups = set(), set()
    for e in events:
        data = e["data"] or {}
        users.update(x for x in (e["user"], data.get("assignee"), data.get("to")) if isinstance(x, str) and x)
        users.update(u for u in data.get("users") or [] if isinstance(u, str))
        groups.update(x for x in data.get("groups") or [] if isinstance(x, str))
        if e["type"] == "incident":                    # a stall names groups and people by id
            g, u = named_ids(data.get("error") if isinstance(data.get("error"), str) else None)
            groups.update(g)
            users.update(u)
    return users, groups


_B = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_THROWING = {"intermediateThrowEvent", "endEvent", "sendTask"}
_EVENTS = {}              # (file, its SHA-256) -> {(kind, name, "throw" | "catch"): [element names],
                          #                          ("error" | "escalation", code): its name}
_LOCK = threading.Lock()


def _events_of(xml, filename):
    """{("message" | "signal", its name, "throw" | "catch"): names of the elements that do it}:
    what the trail says instead of a message's name (an identifier such as say_no); and
    {("error" | "escalation", its code): the name the diagram gives it} (bpmn:error name="材料不全"
    errorCode="INVALID"). Read once per file content (definition ids repeat across databases)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    key = (filename, hashlib.sha256(data).hexdigest())
    hit = _EVENTS.get(key)
    if hit is not None:
        return hit
    root = load_xml(data, filename)
    refs = {kind: {el.get("id"): el.get("name") or el.get("id") for el in root.iter(f"{_B}{kind}")}
            for kind in ("message", "signal")}
    found = {}
    for kind in ("error", "escalation"):
        for el in root.iter(f"{_B}{kind}"):
            code, name = el.get(f"{kind}Code") or el.get("id"), (el.get("name") or "").strip()
            if code and name:
                found.setdefault((kind, code), name)
    for el in root.iter(f"{_B}*"):
        local = el.tag[len(_B):]
        label = (el.get("name") or "").strip()
        if not label:
            continue
        direction = "throw" if local in _THROWING else "catch"
        for kind in ("message", "signal"):
            ref = el.get(f"{kind}Ref") if local in ("sendTask", "receiveTask") else None
            for d in el.findall(f"{_B}{kind}EventDefinition"):
                ref = d.get(f"{kind}Ref") or ref
            if ref in refs[kind]:
                names = found.setdefault((kind, refs[kind][ref], direction), [])
                if label not in names:
                    names.append(label)
    with _LOCK:
        _EVENTS[key] = found
    return found


def _event_label(events, kind, name, direction):
    """「不能办，转说“不”评议」: the diagram's name of the event throwing or catching `name`."""
    labels = events.get((kind, name, direction)) or []
    return "、".join(f"「{x}」" for x in labels)


def _say(e, g, person, group, events, now=None):
    """One audit event in plain Chinese, or None for the engine's inner steps (gateways, starts)."""
    t, data, el = e["type"], e["data"] or {}, e["element_id"]
    step = f"「{g.name(el)}」" if el else ""
    kind = g.kinds.get(el)
    if t == "instance_started":
        if data.get("message"):
            label = _event_label(events, "message", data["message"], "catch")
            return f"由{label}启动流程" if label else "由其他流程转入，启动流程"
        return "发起流程" + (f"，业务编号 {data['business_key']}" if data.get("business_key") else "")
    if t == "task_created":
        to = person(data["assignee"]) if data.get("assignee") else g.lanes.get(el) or group(data.get("groups"))
        due = f"，期限 {deadline_text(data['due_at'], now)}" if data.get("due_at") else ""
        return f"「{data.get('name') or g.name(el)}」" + (f"待{to}办理" if to else "待分派") + due   # nobody named: 待分派
    simple = {"task_claimed": f"认领{step}", "task_unclaimed": f"取消认领{step}", "task_completed": f"办结{step}",
              "task_cancelled": f"{step}已撤销", "timer_fired": f"{step}定时到期", "handler_called": f"完成{step}",
              "incident_retried": f"重试{step}", "instance_completed": "流程办结", "instance_suspended": "暂停流程",
              "instance_resumed": "恢复流程"}
    if t in simple:
        return simple[t]
    if t == "element_completed":
        if kind in ("startEvent", "boundaryEvent") or (kind or "").endswith("Gateway") or el not in g.names:
            return None
        if kind == "endEvent":
            return f"到达{step}"
        if kind == "intermediateThrowEvent":
            return f"发出{step}"
        if kind in ("intermediateCatchEvent", "receiveTask"):
            return f"收到{step}"
        return f"完成{step}"
    if t in ("message_thrown", "message_received"):
        verb = "发出" if t == "message_thrown" else "收到"
        label = _event_label(events, "message", data.get("message"), "throw" if t == "message_thrown" else "catch")
        return f"{verb}消息{label}" if label else f"{verb}消息"
    if t in ("signal_thrown", "signal_received"):
        verb = "发出" if t == "signal_thrown" else "收到"
        label = step if t == "signal_thrown" and step else \
            _event_label(events, "signal", data.get("signal"), "throw" if t == "signal_thrown" else "catch")
        return f"{verb}信号{label}" if label else f"{verb}信号"
    if t in ("bpmn_error", "escalation"):   # a handler reported a business outcome (BpmnError / Escalation)
        what = "业务异常" if t == "bpmn_error" else "升级"
        code = data.get("code")
        title = events.get(("error" if t == "bpmn_error" else "escalation", code)) if code else None
        said = f"：{data['message']}" if data.get("message") else ""
        caught = "，转入相应处理" if data.get("caught_by") else ""
        return f"{step}报告{what}「{title or code}」{said}{caught}"
    if t == "variables_set":
        names = "、".join(sorted((data.get("variables") or {}).keys()))
        return f"修改流程数据（{names}）" if names else "修改流程数据"
    if t == "incident":
        # "RuntimeError: 省平台无响应" as people say it (the technical detail is on the incident)
        if not data.get("error"):
            return f"{step}出错"
        return f"{step}出错：{incidents.plain(named(str(data['error']), lambda x: group([x]), person))}"
    if t == "incident_resolved":
        return f"处理{step}的异常" if e["user"] else f"{step}异常已消除"
    if t == "sla_changed":
        colour = COLOUR_NAMES.get(data.get("colour"), data.get("colour"))
        return f"{step}预警变为{colour}色"
    if t == "instance_cancelled":
        closed = f"，{len(data['incidents'])} 个未处理的异常随之关闭" if data.get("incidents") else ""
        return "撤销流程" + (f"，原因：{data['reason']}" if data.get("reason") else "") + closed
    if t == "task_returned":
        return f"退回{step}" + (f"，理由：{data['reason']}" if data.get("reason") else "")
    if t == "task_reassigned":
        to = f"转交{person(data['to'])}" if data.get("to") else "转交他人"
        return f"将{step}{to}" + (f"，说明：{data['note']}" if data.get("note") else "")
    if t == "task_assigned":         # a 待分派 task given to a person (engine.tasks.assign)
        return f"将{step}指派给{person(data.get('to'))}" + (f"，说明：{data['note']}" if data.get("note") else "")
    if t == "task_offered":          # a 待分派 task offered to groups / users (engine.tasks.offer)
        to = "、".join(x for x in (group(data.get("groups")), *(person(u) for u in data.get("users") or [])) if x)
        return f"将{step}分派给{to}" + (f"，说明：{data['note']}" if data.get("note") else "")
    if t == "comment_added":
        where = f"在{step}" if el else ""
        return f"{where}发表意见" + ("（企业可见）" if data.get("public") else "")
    if t == "attachment_added":
        return f"上传附件「{data.get('name') or ''}」" + (f"（{step}）" if el else "")
    if t == "incident_cancelled":
        return f"{step}异常已撤销"
    if t == "deadline_replanned":    # engine/runtime/replan.py: the year of a 暂定 deadline was loaded
        what = "期限" if data.get("kind") == "task" else "定时"
        still = "（仍为暂定）" if data.get("provisional") else ""
        return (f"{step}{what}按 {data.get('year')} 年节假日安排重新计算："
                f"{local_text(data.get('old'))} 改为 {local_text(data.get('new'))}{still}")
    if t == "instance_migrated":     # engine/runtime/migration.py
        reset = "、".join(f"「{g.name(x)}」" for x in data.get("reset") or [])
        return (f"流程从第 {data.get('from_version')} 版迁移到第 {data.get('to_version')} 版"
                + (f"，重新派发{reset}" if reset else ""))
    return f"{t} {step}".strip()
