"""The log channel: a notice written to the Python log (its notice_sent row is the 通知记录
page's). The default for every channel, so the demo and the tests show who was told what."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from qihu.engine.runtime.channels.base import Adapter, Notice

if TYPE_CHECKING:
    from qihu.engine.config import Settings

log = logging.getLogger("qihu.notices")


class LogAdapter(Adapter):
    name = "log"
    max_receivers = 1000
    inline = True      # nothing outside to wait for

    @classmethod
    def from_settings(cls, settings: Settings) -> LogAdapter:
        return cls()

    def send(self, notices: list[Notice]) -> None:
        for n in notices:
            log.info("notice [%s] to %s (%s): %s%s", n.channel, n.to, n.business_id,
                     f"{n.title}: " if n.title else "", n.text)
