"""Outbound webhook for notifications: sent only once the step that made them commits.

A POST inside the transaction could announce a reminder that a rollback then undoes;
so the payloads wait in the session and go out after commit, in a background thread
(a slow receiver must not hold up the engine). Failures are logged, never raised.
"""
import json
import logging
import threading
import urllib.request

from sqlalchemy import event

log = logging.getLogger(__name__)
KEY = "qihu_webhooks"


def post_after_commit(session, url, payloads):
    pending = session.info.setdefault(KEY, [])
    if not pending:
        event.listen(session, "after_commit", _send, once=True)
        event.listen(session, "after_rollback", _drop, once=True)
    pending.extend((url, p) for p in payloads)


def _drop(session):
    session.info.pop(KEY, None)


def _send(session):
    pending = session.info.pop(KEY, [])
    if pending:
        threading.Thread(target=_post_all, args=(pending,), name="qihu-webhook", daemon=True).start()


def _post_all(pending):
    for url, payload in pending:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
        except Exception as e:  # noqa: BLE001 - a receiver's failure must not reach the engine
            log.warning("notification webhook %s failed: %s", url, e)
