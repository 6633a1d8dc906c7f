"""What the task page shows around its form: comments, attachments, colleagues to hand the
task to, where it may be returned, how often it came back. The task page (web/pages/inbox.py)
draws it; the actions that change it are web/pages/task_actions.py."""
from flask import request, url_for
from werkzeug.routing import BuildError

from qihu.engine.tasks.uploads import ALLOWED
from qihu.web.context import current_qihu


def size_text(n):
    """A file size as people read it: 512 B, 12.5 KB, 3.2 MB."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def panel(engine, t, user, action=None):
    """What the task page shows around the form: comments, attachments, who it may be handed
    to, where it may be returned, how often the appeal came back. `action`: the refused
    action's {"name", "values", "errors"} to show again."""
    iid = t["instance_id"]
    ready = t["status"] == "ready"
    may_act = ready and t["assignee"] in (None, user)
    names = {x["id"]: x["name"] or x["element_id"]
             for x in engine.tasks.list(instance_id=iid, status=None, limit=1000, order="created")}
    attachments = engine.comments.files(iid)
    for a in attachments:
        a["url"] = attachment_url(a["id"])
        a["size_text"] = size_text(a["size"])
    colleagues = engine.handoff.candidates(t["id"], exclude=user) if ready else []
    people = {}

    def display(name):
        if name and name not in people:
            people[name] = (engine.accounts.get(name) or {}).get("display_name") or name
        return people.get(name) or "—"

    for a in attachments:
        display(a["created_by"])
    came_back = engine.handoff.return_of(t["id"]) if ready else None
    if came_back is not None:
        came_back["by_name"] = display(came_back["user"])
    handed_over = engine.handoff.reassigned_to(t["id"], user) if ready and t["assignee"] == user else None
    if handed_over is not None:
        handed_over["by_name"] = display(handed_over["user"])
    return {
        "comments": engine.comments.list(iid),
        "attachments": attachments,
        "step_names": names,
        "colleagues": colleagues,
        "can_reassign": ready and engine.handoff.may_reassign(t["id"], user),
        "return_to": engine.handoff.return_target(t["id"]) if may_act else None,
        "return_count": engine.handoff.return_count(iid),
        "came_back": came_back,
        "handed_over": handed_over,
        "people": people,
        "action": action or {"name": None, "values": {}, "errors": {}},
        "max_upload_mb": engine.settings.upload_max_bytes // (1024 * 1024),
        "upload_types": "、".join(sorted(ALLOWED)),
        "upload_accept": ",".join(f".{ext}" for ext in sorted(ALLOWED)),
    }



def colleagues_for(engine, tasks, user):
    """Whom the inbox's bulk 转办 offers: [(name, display name)] of the colleagues any of the
    page's open tasks may be handed to (engine.handoff decides again, task by task)."""
    people = {}
    for t in tasks:
        if t["status"] == "ready":
            for c in engine.handoff.candidates(t["id"], exclude=user):
                people[c["name"]] = c["display_name"]
    return sorted(people.items())


def attachment_url(attachment_id):
    """The download link (the instance page's route, web/pages/instance.py)."""
    try:
        return url_for("qihu_instance.attachment", attachment_id=attachment_id)
    except BuildError:
        return f"{request.script_root}{current_qihu().url_prefix}/attachments/{attachment_id}"
