"""SMS through an HTTP gateway: POST JSON {phone, text, business_id} with the key in a header
(settings.sms_url, sms_key, sms_key_header). The gateway may de-duplicate by business_id."""
from __future__ import annotations

from typing import TYPE_CHECKING

from qihu.engine.runtime.channels import gateway
from qihu.engine.runtime.channels.base import Adapter, ChannelError, Notice

if TYPE_CHECKING:
    from qihu.engine.config import Settings


class SmsAdapter(Adapter):
    name = "sms"
    max_receivers = 1       # one phone a call: the gateway's plain form

    def __init__(self, url: str, key: str | None, key_header: str = "X-Api-Key", timeout: float = 10.0) -> None:
        self.url, self.key, self.key_header, self.timeout = url, key, key_header, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmsAdapter:
        if not settings.sms_url:
            raise ChannelError("短信网关地址未配置 (QIHU_SMS_URL is not set)")
        return cls(settings.sms_url, settings.sms_key, settings.sms_key_header, settings.notice_timeout)

    def send(self, notices: list[Notice]) -> None:
        for n in notices:
            text = f"【{n.title}】{n.text}" if n.title else n.text
            answer = gateway.post_json(self.url, {"phone": n.to, "text": text, "business_id": n.business_id},
                                    {self.key_header: self.key} if self.key else {}, self.timeout)
            if isinstance(answer, dict) and answer.get("ok") is False:
                raise ChannelError(f"短信网关拒绝：{answer.get('error', '')} (the SMS gateway refused)")
