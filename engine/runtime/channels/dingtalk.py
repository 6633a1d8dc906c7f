"""浙政钉 work notices to staff (POST /message/workNotification on the open platform, signed with
the app's key and secret). Its published limits are kept: at most 1000 receivers a call (here),
the same content once a day and 100 a day per user (channels.base.LIMITS, counted in
notice_sent), and bizMsgId = the business id so the platform de-duplicates too."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from qihu.engine.runtime.channels import gateway
from qihu.engine.runtime.channels.base import Adapter, ChannelError, Notice

if TYPE_CHECKING:
    from qihu.engine.config import Settings

PATH = "/message/workNotification"


class DingTalkAdapter(Adapter):
    name = "dingtalk"
    max_receivers = 1000    # the platform's limit of receivers per call

    def __init__(self, url: str, app_key: str, app_secret: str, tenant_id: str, timeout: float = 10.0) -> None:
        self.url, self.app_key, self.app_secret, self.tenant_id = url.rstrip("/"), app_key, app_secret, tenant_id
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> DingTalkAdapter:
        if not (settings.dingtalk_url and settings.dingtalk_app_key and settings.dingtalk_app_secret
                and settings.dingtalk_tenant_id):
            raise ChannelError("浙政钉未配置 (QIHU_DINGTALK_URL, _APP_KEY, _APP_SECRET and _TENANT_ID are needed)")
        return cls(settings.dingtalk_url, settings.dingtalk_app_key, settings.dingtalk_app_secret,
                   settings.dingtalk_tenant_id, settings.notice_timeout)

    def send(self, notices: list[Notice]) -> None:
        first = notices[0]
        msg = ({"msgtype": "oa", "oa": {"head": {"text": first.title}, "body": {"title": first.title, "content": first.text}}}
               if first.title else {"msgtype": "text", "text": {"content": first.text}})
        params = {"receiverIds": ",".join(n.to for n in notices), "tenantId": self.tenant_id,
                  "bizMsgId": first.business_id, "msg": json.dumps(msg, ensure_ascii=False)}
        body = urllib.parse.urlencode(params).encode("utf-8")
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **self._signature(params)}
        answer = gateway.call(self.url + PATH, body, headers, self.timeout)
        if not isinstance(answer, dict) or not answer.get("success"):
            why = answer.get("errorMsg") if isinstance(answer, dict) else answer
            raise ChannelError(f"浙政钉拒绝工作通知：{why} (the work notice was refused)")

    def _signature(self, params: dict[str, str]) -> dict[str, str]:
        """The open platform's HMAC-SHA256 headers: method, timestamp, nonce, path and the
        sorted parameters, one a line."""
        stamp = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%dT%H:%M:%S.000%z")
        nonce = uuid.uuid4().hex
        query = "&".join(f"{k}={params[k]}" for k in sorted(params))
        text = "\n".join(("POST", stamp, nonce, PATH, query))
        sig = base64.b64encode(hmac.new(self.app_secret.encode(), text.encode("utf-8"), hashlib.sha256).digest())
        return {"apiKey": self.app_key, "X-Hmac-Auth-Timestamp": stamp, "X-Hmac-Auth-Version": "1.0",
                "X-Hmac-Auth-Nonce": nonce, "X-Hmac-Auth-Signature": sig.decode()}
