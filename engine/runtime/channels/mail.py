"""E-mail through an SMTP server (settings.smtp_host/port/from, optional login and STARTTLS)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

from qihu.engine.runtime.channels.base import Adapter, ChannelError, Notice

if TYPE_CHECKING:
    from qihu.engine.config import Settings


class EmailAdapter(Adapter):
    name = "email"
    max_receivers = 1       # one message a recipient: nobody sees the others' addresses

    def __init__(self, host: str, port: int, sender: str, user: str | None = None, password: str | None = None,
                 starttls: bool = False, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailAdapter:
        if not (settings.smtp_host and settings.smtp_from):
            raise ChannelError("邮件服务器未配置 (QIHU_SMTP_HOST and QIHU_SMTP_FROM are needed)")
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.smtp_user,
                   settings.smtp_password, settings.smtp_starttls, settings.notice_timeout)

    def send(self, notices: list[Notice]) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                for n in notices:
                    smtp.send_message(self._message(n))
        except (smtplib.SMTPException, OSError) as e:
            raise ChannelError(f"邮件发送失败 (the mail server refused or cannot be reached: {e})") from e

    def _message(self, n: Notice) -> EmailMessage:
        m = EmailMessage()
        m["From"], m["To"] = self.sender, n.to
        m["Subject"] = n.title or n.text.splitlines()[0][:60]
        m["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        m["X-Qihu-Business-Id"] = n.business_id      # for the receiving side to de-duplicate too
        m.set_content(n.text)
        return m
