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
    # What one script may take (engine/dialect/sandbox.py says why these sizes): the growth of
    # the process's resident memory while it runs (QIHU_SCRIPT_MEMORY_LIMIT, bytes), the items,
    # characters or bytes one operation may build (QIHU_SCRIPT_MAX_ITEMS) and the bits of an
    # integer (QIHU_SCRIPT_MAX_INT_BITS).
    script_memory_limit: int = 256 * 1024 * 1024
    script_max_items: int = 10**7
    script_max_int_bits: int = 15_000
    # one transaction's run of automatic steps (scripts, gateways, events) until a wait state:
    # past either bound the step is rolled back and becomes an incident, instead of holding
    # the database's write lock while other users wait
    automatic_steps_limit: int = 10_000
    automatic_time_limit: float = 5.0
    variable_size_limit: int = 1024 * 1024   # one instance variable, as JSON (QIHU_VARIABLE_SIZE_LIMIT, bytes)
    handler_retries: int = 3
    handler_retry_backoff: float = 10.0
    upload_max_bytes: int = 10 * 1024 * 1024   # one attachment (QIHU_UPLOAD_MAX_BYTES)
    notify_webhook: str | None = None    # POSTed a JSON copy of every notification, after commit
    # what a step sends beyond its instance (engine.runtime.outbox): failures before it is an
    # incident, the first back-off (doubling) and the longest wait between two tries
    delivery_retries: int = 3
    delivery_backoff: float = 10.0
    delivery_backoff_max: float = 300.0
    stall_check_interval: float = 60.0   # seconds between the worker's checks for stalled instances
    # A fixed "now" (ISO date-time) for training and for tests of the command line: every
    # deadline is computed from it and timers fire only when it is moved. Never in production.
    fixed_now: str | None = None
    # Deadlines in a year the State Council has not announced yet are computed provisionally
    # (暂定) from the statutory holidays and weekends, and re-planned once the year is loaded
    # (QIHU_CALENDAR_PROVISIONAL=0: refuse them with CalendarYearUnknown instead).
    calendar_provisional: bool = True
    # Seconds between checks for a calendar changed by another process (QIHU_CALENDAR_REFRESH)
    calendar_refresh: float = 30.0
    # The group whose members, besides the administrators, see the 待分派 queue (user tasks that
    # name nobody) and assign or offer its tasks within their region (QIHU_DISPATCHER_GROUP)
    dispatcher_group: str = "dispatcher"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        s = cls()
        if env.get("QIHU_DATABASE_URL"):
            s.database_url = env["QIHU_DATABASE_URL"]
        if env.get("QIHU_NOTIFY_WEBHOOK"):
            s.notify_webhook = env["QIHU_NOTIFY_WEBHOOK"]
        if env.get("QIHU_DISPATCHER_GROUP", "").strip():
            s.dispatcher_group = env["QIHU_DISPATCHER_GROUP"].strip()
        if env.get("QIHU_NOW"):
            from datetime import datetime
            try:
                datetime.fromisoformat(env["QIHU_NOW"])
            except ValueError:
                raise ValueError(f"QIHU_NOW={env['QIHU_NOW']!r} is not an ISO date-time") from None
            s.fixed_now = env["QIHU_NOW"]
        if env.get("QIHU_CALENDAR_PROVISIONAL"):
            flag = env["QIHU_CALENDAR_PROVISIONAL"].strip().lower()
            if flag not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(f"QIHU_CALENDAR_PROVISIONAL={env['QIHU_CALENDAR_PROVISIONAL']!r} is not 0 or 1")
            s.calendar_provisional = flag in ("1", "true", "yes", "on")
        conversions: list[tuple[str, str, type[float] | type[int]]] = [
            ("QIHU_WORKER_POLL_INTERVAL", "worker_poll_interval", float),
            ("QIHU_SCRIPT_TIME_LIMIT", "script_time_limit", float),
            ("QIHU_SCRIPT_MEMORY_LIMIT", "script_memory_limit", int),
            ("QIHU_SCRIPT_MAX_ITEMS", "script_max_items", int),
            ("QIHU_SCRIPT_MAX_INT_BITS", "script_max_int_bits", int),
            ("QIHU_AUTOMATIC_STEPS_LIMIT", "automatic_steps_limit", int),
            ("QIHU_AUTOMATIC_TIME_LIMIT", "automatic_time_limit", float),
            ("QIHU_VARIABLE_SIZE_LIMIT", "variable_size_limit", int),
            ("QIHU_HANDLER_RETRIES", "handler_retries", int),
            ("QIHU_HANDLER_RETRY_BACKOFF", "handler_retry_backoff", float),
            ("QIHU_DELIVERY_RETRIES", "delivery_retries", int),
            ("QIHU_DELIVERY_BACKOFF", "delivery_backoff", float),
            ("QIHU_UPLOAD_MAX_BYTES", "upload_max_bytes", int),
            ("QIHU_CALENDAR_REFRESH", "calendar_refresh", float),
        ]
        for name, attr, conv in conversions:
            if env.get(name):
                try:
                    setattr(s, attr, conv(env[name]))
                except ValueError:
                    raise ValueError(f"{name}={env[name]!r} is not a valid {conv.__name__}") from None
        return s
