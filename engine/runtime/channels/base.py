"""What every notice channel shares: the notice, the adapter's face, the channels' daily limits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# Chinese names of the channels and of what happened to a notice (the 通知记录 page)
CHANNEL_LABELS = {"sms": "短信", "dingtalk": "浙政钉", "wecom": "企业微信", "email": "电子邮件", "log": "日志"}
STATUS_LABELS = {"sent": "已发送", "same_today": "当日已发同样内容，未再发", "over_limit": "超过当日上限，未发"}


@dataclass(frozen=True)
class Notice:
    """One notice to one recipient, as its outbox row holds it."""
    channel: str
    to: str
    text: str
    business_id: str           # stable per (instance, event): the key of de-duplication
    title: str | None = None
    instance_id: str | None = None
    outbox_id: int | None = None


class ChannelError(Exception):
    """The channel refused or could not take the notice (the outbox retries it)."""


class Adapter:
    """What sends notices of a channel. `send` gets notices that share text, title and business
    id (one per recipient, at most `max_receivers`) and raises on failure; it is not called for
    a notice already sent or held back by the channel's limits."""
    name: ClassVar[str] = ""
    max_receivers: ClassVar[int] = 1
    inline: ClassVar[bool] = False     # delivered in the committing request (else in a thread)

    def send(self, notices: list[Notice]) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class DailyLimits:
    """What a channel's operator allows a day per recipient (浙政钉: the same content once, 100 in all)."""
    same_content: int | None = None
    per_recipient: int | None = None


# limits belong to the channel, whichever adapter serves it (the log serving 浙政钉 in the
# demo holds back the same notices the real one would)
LIMITS: dict[str, DailyLimits] = {"dingtalk": DailyLimits(same_content=1, per_recipient=100)}


