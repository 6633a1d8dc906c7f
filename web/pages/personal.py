"""What a page shows of an appeal's personal fields (appeals/privacy.py decides and logs), and
the appeals this session revealed with 显示完整信息 (web/pages/privacy.py) for
privacy.REVEAL_MINUTES. Imported by the task, instance, 办理单 and search pages."""
import time

from flask import session

from qihu.appeals.privacy import REVEAL_MINUTES, personal_in
from qihu.web.context import current_appeals

SESSION_KEY = "qihu_revealed"
MAX_REVEALED = 20          # appeals revealed at once in one session (the cookie stays small)


def revealed(instance_id: str) -> bool:
    """Whether this session revealed the appeal within REVEAL_MINUTES (the domain decides
    again whether the reader may, and logs the read)."""
    until = (session.get(SESSION_KEY) or {}).get(instance_id)
    return bool(until and until > time.time())


def shown(user: str, instance_id: str, values: dict, page: str, audit: dict | None = None) -> tuple[dict, dict]:
    """`values` (a case) as `user` reads them on `page`, logged by the domain; and what the page
    says of them: {"full", "may_reveal" (the 显示完整信息 button), "fields" (any personal one)}."""
    got = current_appeals().privacy.read(user, instance_id, values, page, revealed=revealed(instance_id), audit=audit)
    return got.values, {"full": got.full, "fields": bool(personal_in(values)), "page": page,
                        "minutes": REVEAL_MINUTES, "may_reveal": got.may_reveal}


def grant(instance_id: str) -> None:
    now = time.time()
    kept = {k: v for k, v in (session.get(SESSION_KEY) or {}).items() if v > now}
    kept[instance_id] = now + REVEAL_MINUTES * 60
    session[SESSION_KEY] = dict(sorted(kept.items(), key=lambda kv: kv[1])[-MAX_REVEALED:])
