"""The audit trail in plain Chinese: what the instance page and the enterprise read of an
appeal's history. The engine records events (engine.history); this says them as people do."""
from qihu.appeals import incidents
from qihu.engine.dialect.timers import local_text
from qihu.engine.runtime.sla import COLOUR_NAMES

STATUS_NAMES = {"running": "办理中", "suspended": "已暂停", "completed": "已办结", "cancelled": "已撤销"}
SYSTEM = "系统"
# Steps the engine takes on its own: their events carry the user whose action set them off, but
# the trail names the engine as the one who did them.
ENGINE_STEPS = {"task_created", "task_cancelled", "element_completed", "handler_called", "timer_fired",
                "message_thrown", "signal_thrown", "bpmn_error", "escalation", "incident", "incident_cancelled", "sla_changed", "instance_completed"}


def trail(engine, instance_id):
    """The audit trail in plain Chinese, oldest first: [{"at" (ISO, UTC), "time" (Beijing,
    "2026-11-02 09:00"), "who" (display name, 系统 for the engine), "type", "element_id",
    "text" (what happened), "line" (time, who and text in one line)}]."""
    instance = engine.runtime.get(instance_id)
    g = engine.history.graph(engine.db_get_definition(instance["definition_id"]))[2]
    people = {}

    def person(name):
        if not name:
            return SYSTEM
        if name not in people:
            account = engine.accounts.get(name)
            people[name] = (account or {}).get("display_name") or name
        return people[name]

    out = []
    for e in engine.history.events(instance_id):
        text = _say(e, g, person)
        if text is None:
            continue
        who = SYSTEM if e["type"] in ENGINE_STEPS else person(e["user"])
        time = local_text(e["at"])
        out.append({"at": e["at"], "time": time, "who": who, "type": e["type"], "element_id": e["element_id"],
                    "text": text, "line": f"{time} {who} {text}"})
    return out


def _say(e, g, person):
    """One audit event in plain Chinese, or None for the engine's inner steps (gateways, starts)."""
    t, data, el = e["type"], e["data"] or {}, e["element_id"]
    step = f"「{g.name(el)}」" if el else ""
    kind = g.kinds.get(el)
    if t == "instance_started":
        if data.get("message"):
            return f"由消息「{data['message']}」启动流程"
        return "发起流程" + (f"，业务编号 {data['business_key']}" if data.get("business_key") else "")
    if t == "task_created":
        to = person(data["assignee"]) if data.get("assignee") else g.lanes.get(el) or "、".join(data.get("groups") or [])
        due = f"，期限 {local_text(data['due_at'])}" if data.get("due_at") else ""
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
        return f"{verb}消息「{data.get('message')}」"
    if t in ("signal_thrown", "signal_received"):
        verb = "发出" if t == "signal_thrown" else "收到"
        return f"{verb}信号「{data.get('signal')}」"
    if t in ("bpmn_error", "escalation"):   # a handler reported a business outcome (BpmnError / Escalation)
        what = "业务异常" if t == "bpmn_error" else "升级"
        said = f"：{data['message']}" if data.get("message") else ""
        caught = "，转入相应处理" if data.get("caught_by") else ""
        return f"{step}报告{what}「{data.get('code')}」{said}{caught}"
    if t == "variables_set":
        names = "、".join(sorted((data.get("variables") or {}).keys()))
        return f"修改流程数据（{names}）" if names else "修改流程数据"
    if t == "incident":
        # "RuntimeError: 省平台无响应" as people say it (the technical detail is on the incident)
        return f"{step}出错：{incidents.plain(data['error'])}" if data.get("error") else f"{step}出错"
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
        to = "、".join([*(data.get("groups") or []), *(person(u) for u in data.get("users") or [])])
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
