"""Settings from the environment (twelve-factor): one source for CLI, web and worker."""
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _default_database_url() -> str:
    # A SQLite file in a local data folder: zero set-up for the demo and for developers.
    data_dir = Path(os.environ.get("QIHU_DATA_DIR", "data"))
    return f"sqlite:///{data_dir / 'qihu.sqlite3'}"


@dataclass
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    worker_poll_interval: float = 0.5
    script_time_limit: float = 2.0
    handler_retries: int = 3
    handler_retry_backoff: float = 10.0
    upload_max_bytes: int = 10 * 1024 * 1024   # one attachment (QIHU_UPLOAD_MAX_BYTES)
    notify_webhook: str | None = None    # POSTed a JSON copy of every notification, after commit
    # A fixed "now" (ISO date-time) for training and for tests of the command line: every
    # deadline is computed from it and timers fire only when it is moved. Never in production.
    fixed_now: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        s = cls()
        if env.get("QIHU_DATABASE_URL"):
            s.database_url = env["QIHU_DATABASE_URL"]
        if env.get("QIHU_NOTIFY_WEBHOOK"):
            s.notify_webhook = env["QIHU_NOTIFY_WEBHOOK"]
        if env.get("QIHU_NOW"):
            from datetime import datetime
            try:
                datetime.fromisoformat(env["QIHU_NOW"])
            except ValueError:
                raise ValueError(f"QIHU_NOW={env['QIHU_NOW']!r} is not an ISO date-time") from None
            s.fixed_now = env["QIHU_NOW"]
        conversions: list[tuple[str, str, type[float] | type[int]]] = [
            ("QIHU_WORKER_POLL_INTERVAL", "worker_poll_interval", float),
            ("QIHU_SCRIPT_TIME_LIMIT", "script_time_limit", float),
            ("QIHU_HANDLER_RETRIES", "handler_retries", int),
            ("QIHU_HANDLER_RETRY_BACKOFF", "handler_retry_backoff", float),
            ("QIHU_UPLOAD_MAX_BYTES", "upload_max_bytes", int),
        ]
        for name, attr, conv in conversions:
            if env.get(name):
                try:
                    setattr(s, attr, conv(env[name]))
                except ValueError:
                    raise ValueError(f"{name}={env[name]!r} is not a valid {conv.__name__}") from None
        return s
