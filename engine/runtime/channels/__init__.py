"""Notice channels: how a notice (one text to one recipient) leaves the system.

A notice is an outbox row of kind notice (Runtime.notice / send_notice), written in the
step's transaction and delivered after the commit (engine.runtime.outbox). The channel a
notice names ("sms", "dingtalk", "wecom", "email", ...) is served by an adapter chosen in
Settings.notice_adapters (default "log": the Python log and the 通知记录 page, so the demo and
the tests show the flow without outside services). Where a notice lands it is recorded in
notice_sent, one row per (channel, recipient, business id): a redelivery finds the row and
sends nothing twice (engine.runtime.channels.ledger).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from qihu.engine.runtime.channels import dingtalk, log, mail, sms, wecom
from qihu.engine.runtime.channels.base import (CHANNEL_LABELS, LIMITS, STATUS_LABELS, Adapter, ChannelError,
                                              DailyLimits, Notice)

if TYPE_CHECKING:
    from qihu.engine.config import Settings

__all__ = ["Adapter", "CHANNEL_LABELS", "ChannelError", "DailyLimits", "LIMITS", "Notice", "Registry", "STATUS_LABELS"]


class Registry:
    """channel name -> the adapter serving it, built from the settings on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._adapters: dict[str, Adapter] = {}

    def register(self, channel: str, adapter: Adapter) -> None:
        """Serve `channel` by `adapter` (tests; a region's own gateway)."""
        self._adapters[channel] = adapter

    def get(self, channel: str) -> Adapter:
        if channel not in self._adapters:
            kind = self.settings.notice_adapters.get(channel, "log")
            make = _factories().get(kind)
            if make is None:
                raise ChannelError(f"通知渠道「{channel}」配置的发送方式 {kind!r} 不存在 (no notice adapter {kind!r})")
            self._adapters[channel] = make(self.settings)
        return self._adapters[channel]


def _factories() -> dict[str, Callable[[Settings], Adapter]]:
    return {"log": log.LogAdapter.from_settings, "sms": sms.SmsAdapter.from_settings,
            "dingtalk": dingtalk.DingTalkAdapter.from_settings, "wecom": wecom.WeComAdapter.from_settings,
            "email": mail.EmailAdapter.from_settings}
