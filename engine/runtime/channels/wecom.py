"""企业微信 app messages (POST /cgi-bin/message/send with an access token from /cgi-bin/gettoken):
text to up to 1000 users a call, with the platform's duplicate check on."""
from __future__ import annotations

import time
import urllib.parse
from typing import TYPE_CHECKING

from qihu.engine.runtime.channels import gateway
from qihu.engine.runtime.channels.base import Adapter, ChannelError, Notice

if TYPE_CHECKING:
    from qihu.engine.config import Settings

TOKEN_EXPIRED = (40014, 42001)    # the token is invalid or expired: fetch another once


class WeComAdapter(Adapter):
    name = "wecom"
    max_receivers = 1000

    def __init__(self, url: str, corp_id: str, secret: str, agent_id: str, timeout: float = 10.0) -> None:
        self.url, self.corp_id, self.secret, self.agent_id = url.rstrip("/"), corp_id, secret, agent_id
        self.timeout = timeout
        self._token: tuple[str, float] | None = None     # (token, monotonic expiry)

    @classmethod
    def from_settings(cls, settings: Settings) -> WeComAdapter:
        if not (settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id):
            raise ChannelError("企业微信未配置 (QIHU_WECOM_CORP_ID, _SECRET and _AGENT_ID are needed)")
        return cls(settings.wecom_url, settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id,
                   settings.notice_timeout)

    def _access_token(self, fresh: bool = False) -> str:
        if self._token and not fresh and self._token[1] > time.monotonic():
            return self._token[0]
        q = urllib.parse.urlencode({"corpid": self.corp_id, "corpsecret": self.secret})
        answer = gateway.call(f"{self.url}/cgi-bin/gettoken?{q}", None, {}, self.timeout, method="GET")
        if not isinstance(answer, dict) or answer.get("errcode", 0) != 0 or not answer.get("access_token"):
            raise ChannelError(f"企业微信取令牌失败：{answer} (cannot get an access token)")
        self._token = (answer["access_token"], time.monotonic() + int(answer.get("expires_in", 7200)) - 300)
        return self._token[0]

    def send(self, notices: list[Notice]) -> None:
        first = notices[0]
        content = f"{first.title}\n{first.text}" if first.title else first.text
        payload = {"touser": "|".join(n.to for n in notices), "msgtype": "text", "agentid": self.agent_id,
                   "text": {"content": content}, "enable_duplicate_check": 1, "duplicate_check_interval": 14400}
        for fresh in (False, True):
            token = urllib.parse.quote(self._access_token(fresh))
            answer = gateway.post_json(f"{self.url}/cgi-bin/message/send?access_token={token}", payload, {}, self.timeout)
            code = answer.get("errcode") if isinstance(answer, dict) else None
            if code == 0:
                return
            if code not in TOKEN_EXPIRED:
                break
        raise ChannelError(f"企业微信拒绝应用消息：{answer} (the app message was refused)")
