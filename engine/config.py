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
    # Notices (engine.runtime.channels): which adapter serves each channel, e.g. {"sms": "sms",
    # "dingtalk": "dingtalk"} (QIHU_NOTICE_ADAPTERS="sms=sms,dingtalk=dingtalk"); a channel not
    # named is served by "log" (the Python log and the 通知记录 page), as in the demo and tests
    notice_adapters: dict[str, str] = field(default_factory=dict)
    notice_timeout: float = 10.0          # seconds one call to a gateway may take
    # the channel of notices to staff (a handler's notification, person by person) and to an
    # enterprise's contact phone (QIHU_STAFF_NOTICE_CHANNEL, QIHU_ENTERPRISE_NOTICE_CHANNEL)
    staff_notice_channel: str = "dingtalk"
    enterprise_notice_channel: str = "sms"
    sms_url: str | None = None            # the SMS gateway: POST {phone, text, business_id}
    sms_key: str | None = None            # sent in the header sms_key_header
    sms_key_header: str = "X-Api-Key"
    dingtalk_url: str | None = None       # 浙政钉 open platform, e.g. https://openplatform.dg-work.cn
    dingtalk_app_key: str | None = None
    dingtalk_app_secret: str | None = None
    dingtalk_tenant_id: str | None = None
    wecom_url: str = "https://qyapi.weixin.qq.com"    # 企业微信 server API
    wecom_corp_id: str | None = None
    wecom_secret: str | None = None
    wecom_agent_id: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # The security audit (engine.audit): the hash of its chain, sha256 or sm3 (国密, needs the
    # optional gmssl package: pip install 'qihu[gm]') (QIHU_AUDIT_HASH), and how many days rows
    # are kept, at least 183 (网络安全法 §21: six months) (QIHU_AUDIT_RETENTION_DAYS)
    audit_hash: str = "sha256"
    audit_retention_days: int = 183

    # Sign-in (engine/identity/signin.py): failures per account name within the window lock the
    # name for login_lock_seconds; failures per client address mark the address (its wrong
    # attempts get 429) but never refuse a right password (QIHU_LOGIN_MAX_FAILURES,
    # QIHU_LOGIN_MAX_FAILURES_PER_ADDRESS, QIHU_LOGIN_WINDOW_SECONDS, QIHU_LOGIN_LOCK_SECONDS)
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window_seconds: float = 15 * 60
    login_lock_seconds: float = 15 * 60
    # Passwords (engine/identity/accounts.py): at least password_min_length characters of at
    # least password_min_classes of the four classes (lower case, upper case, digits, others),
    # and none of the commonest passwords (engine/identity/common_passwords.txt)
    # (QIHU_PASSWORD_MIN_LENGTH, QIHU_PASSWORD_MIN_CLASSES, QIHU_PASSWORD_REFUSE_COMMON=0/1)
    password_min_length: int = 10
    password_min_classes: int = 3
    password_refuse_common: bool = True

    # Production serving (docs/deploy.md). `qihu serve` runs web_processes gunicorn processes
    # of web_threads threads each (QIHU_WEB_PROCESSES, QIHU_WEB_THREADS); each process holds a
    # database pool of db_pool_size connections plus up to db_max_overflow more
    # (QIHU_DB_POOL_SIZE, QIHU_DB_MAX_OVERFLOW); on PostgreSQL a statement running longer than
    # db_statement_timeout seconds is cancelled (QIHU_DB_STATEMENT_TIMEOUT, 0: never).
    web_processes: int = 2
    web_threads: int = 4
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout: float = 0.0
    # Every web process and worker writes a heartbeat row this often (QIHU_HEARTBEAT_INTERVAL);
    # /readyz counts a worker as alive while its last beat is younger than heartbeat_stale
    # seconds (QIHU_HEARTBEAT_STALE).
    heartbeat_interval: float = 10.0
    heartbeat_stale: float = 60.0
    # Logs: "text" (the Python default) or "json", one JSON object a line, one line per
    # request and per step, with the request id (QIHU_LOG_FORMAT).
    log_format: str = "text"

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
        if env.get("QIHU_NOTICE_ADAPTERS", "").strip():
            pairs = [p.split("=", 1) for p in env["QIHU_NOTICE_ADAPTERS"].split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError(f"QIHU_NOTICE_ADAPTERS={env['QIHU_NOTICE_ADAPTERS']!r} is not channel=adapter,...")
            s.notice_adapters = {k.strip(): v.strip() for k, v in pairs}
        for name in ("sms_url", "sms_key", "sms_key_header", "dingtalk_url", "dingtalk_app_key", "dingtalk_app_secret",
                     "dingtalk_tenant_id", "wecom_url", "wecom_corp_id", "wecom_secret", "wecom_agent_id",
                     "smtp_host", "smtp_from", "smtp_user", "smtp_password", "staff_notice_channel",
                     "enterprise_notice_channel"):
            if env.get(f"QIHU_{name.upper()}"):
                setattr(s, name, env[f"QIHU_{name.upper()}"])
        if env.get("QIHU_SMTP_STARTTLS"):
            s.smtp_starttls = env["QIHU_SMTP_STARTTLS"].strip().lower() in ("1", "true", "yes", "on")
        if env.get("QIHU_AUDIT_HASH", "").strip():
            s.audit_hash = env["QIHU_AUDIT_HASH"].strip().lower()
            if s.audit_hash not in ("sha256", "sm3"):
                raise ValueError(f"QIHU_AUDIT_HASH={env['QIHU_AUDIT_HASH']!r} is not sha256 or sm3 "
                                 "(审计哈希算法只能是 sha256 或 sm3)")
        if env.get("QIHU_AUDIT_RETENTION_DAYS", "").strip():
            try:
                s.audit_retention_days = int(env["QIHU_AUDIT_RETENTION_DAYS"])
            except ValueError:
                raise ValueError(f"QIHU_AUDIT_RETENTION_DAYS={env['QIHU_AUDIT_RETENTION_DAYS']!r} is not a whole "
                                 "number of days (审计保存期须为整数天)") from None
            if s.audit_retention_days < 183:
                raise ValueError(f"QIHU_AUDIT_RETENTION_DAYS={s.audit_retention_days} is below 183 days "
                                 "(审计记录至少保存六个月，网络安全法第二十一条)")
        if env.get("QIHU_PASSWORD_REFUSE_COMMON", "").strip():
            flag = env["QIHU_PASSWORD_REFUSE_COMMON"].strip().lower()
            if flag not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(f"QIHU_PASSWORD_REFUSE_COMMON={env['QIHU_PASSWORD_REFUSE_COMMON']!r} is not 0 or 1")
            s.password_refuse_common = flag in ("1", "true", "yes", "on")
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
            ("QIHU_NOTICE_TIMEOUT", "notice_timeout", float),
            ("QIHU_SMTP_PORT", "smtp_port", int),
            ("QIHU_LOGIN_MAX_FAILURES", "login_max_failures", int),
            ("QIHU_LOGIN_MAX_FAILURES_PER_ADDRESS", "login_max_failures_per_address", int),
            ("QIHU_LOGIN_WINDOW_SECONDS", "login_window_seconds", float),
            ("QIHU_LOGIN_LOCK_SECONDS", "login_lock_seconds", float),
            ("QIHU_PASSWORD_MIN_LENGTH", "password_min_length", int),
            ("QIHU_PASSWORD_MIN_CLASSES", "password_min_classes", int),
            ("QIHU_WEB_PROCESSES", "web_processes", int),
            ("QIHU_WEB_THREADS", "web_threads", int),
            ("QIHU_DB_POOL_SIZE", "db_pool_size", int),
            ("QIHU_DB_MAX_OVERFLOW", "db_max_overflow", int),
            ("QIHU_DB_STATEMENT_TIMEOUT", "db_statement_timeout", float),
            ("QIHU_HEARTBEAT_INTERVAL", "heartbeat_interval", float),
            ("QIHU_HEARTBEAT_STALE", "heartbeat_stale", float),
        ]
        for name, attr, conv in conversions:
            if env.get(name):
                try:
                    setattr(s, attr, conv(env[name]))
                except ValueError:
                    raise ValueError(f"{name}={env[name]!r} is not a valid {conv.__name__}") from None
        if env.get("QIHU_LOG_FORMAT", "").strip():
            s.log_format = env["QIHU_LOG_FORMAT"].strip().lower()
            if s.log_format not in ("text", "json"):
                raise ValueError(f"QIHU_LOG_FORMAT={env['QIHU_LOG_FORMAT']!r} is not text or json "
                                 "(日志格式只能是 text 或 json)")
        return s
