"""The engine's face: repository, runtime, tasks, history — usable without the web app.

    from qihu.engine import Engine
    e = Engine("sqlite:///qihu.sqlite3")
    e.repository.deploy(["bpmn/appeal_basic.bpmn"])
    iid = e.runtime.start("appeal_basic", {"summary": "..."}, business_key="A-1")
    for t in e.tasks.list(user="li"): ...
"""
import threading
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import select

from qihu.engine.identity.access import Access
from qihu.engine.identity.accounts import AccountService
from qihu.engine.identity.audit import Audit
from qihu.engine.clock import Clock, from_settings as clock_from_settings
from qihu.engine.config import Settings
from qihu.engine.storage.db import Database
from qihu.engine.errors import NotFound
from qihu.engine.listeners import Listeners
from qihu.engine.topics import HandlerRegistry
from qihu.engine.history.service import History
from qihu.engine.storage.models import Definition, Instance
from qihu.engine.repository.service import Repository
from qihu.engine.runtime.service import Runtime
from qihu.engine.dialect.sandbox import SandboxScriptEngine
from qihu.engine.tasks.service import TaskService
from qihu.engine.dialect.timers import TIMEZONE
from qihu.engine.tasks.uploads import Uploads
from qihu.engine.tasks.notifications import Notifications
from qihu.engine.tasks.handoff import Handoff
from qihu.engine.tasks.comments import Comments
from qihu.engine.runtime.migration import InstanceMigration
from qihu.engine.runtime.replan import replan_year
from qihu.engine.workcalendar import WorkCalendar


class EngineScriptEngine(SandboxScriptEngine):
    """The sandbox plus the engine's clock (timers ask it for 'now')."""

    def __init__(self, clock: Clock, helpers: dict[str, Callable[..., Any]] | None = None,
                 time_limit: float = 2.0, **limits: int) -> None:
        base: dict[str, Callable[..., Any]] = {"now": clock.now}
        base.update(helpers or {})
        super().__init__(helpers=base, time_limit=time_limit, **limits)
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()


class Engine:
    def __init__(self, database_url: str | None = None, settings: Settings | None = None,
                 handlers: HandlerRegistry | None = None, clock: Clock | None = None, migrate: bool = True,
                 helpers: dict[str, Callable[..., Any]] | None = None) -> None:
        self.settings: Settings = settings or Settings.from_env()
        if database_url:
            self.settings.database_url = database_url
        self.db: Database = Database(self.settings.database_url, pool_size=self.settings.db_pool_size,
                                     max_overflow=self.settings.db_max_overflow,
                                     statement_timeout=self.settings.db_statement_timeout)
        if migrate:
            self.db.upgrade()
        self.handlers: HandlerRegistry = handlers if handlers is not None else HandlerRegistry().discover()
        # What is built on the engine installs itself here (qihu.appeals.install): listeners
        # called in a step's transaction, verbs for a handler's context, and the installed
        # extension itself by name. The engine builds none of them.
        self.listeners: Listeners = Listeners()
        self.context_helpers: dict[str, Callable[..., Any]] = {}
        self.extensions: dict[str, object] = {}
        self.clock: Clock = clock or clock_from_settings(self.settings)
        self.calendar: WorkCalendar = WorkCalendar(self.db, zone=TIMEZONE, provisional=self.settings.calendar_provisional,
                                                   today=self.clock.now, refresh=self.settings.calendar_refresh)
        # a loaded year re-plans the provisional (暂定) deadlines that fall in it
        self.calendar.on_year_loaded.append(lambda year, region, user: replan_year(self, year, user, region=region))
        # Scripts see the working-day helpers (workdays(5), workdays_between(a, b), is_workday()).
        script_helpers = self.calendar.helpers(self.clock.now)
        script_helpers.update(helpers or {})
        self.script_engine: EngineScriptEngine = EngineScriptEngine(
            self.clock, script_helpers, self.settings.script_time_limit, memory_limit=self.settings.script_memory_limit,
            max_items=self.settings.script_max_items, max_int_bits=self.settings.script_max_int_bits)
        self.audit: Audit = Audit(self)     # the security audit: append-only, hash-chained
        self.repository: Repository = Repository(self)
        self.runtime: Runtime = Runtime(self)
        self.tasks: TaskService = TaskService(self)
        self.history: History = History(self)
        self.accounts: AccountService = AccountService(self)
        self.access: Access = Access(self)
        self.uploads: Uploads = Uploads(self)
        self.notifications: Notifications = Notifications(self)
        self.handoff: Handoff = Handoff(self)      # reassign (转办) and return (退单)
        self.comments: Comments = Comments(self)
        self.migrations: InstanceMigration = InstanceMigration(self)   # move running instances to a newer version
        self._definitions: dict[int, Definition] = {}
        self._lock = threading.Lock()

    def db_get_definition(self, definition_id: int) -> Definition:
        """Definition rows never change once written, so they are cached for good."""
        d = self._definitions.get(definition_id)
        if d is None:
            with self.db.read() as s:
                d = s.get(Definition, definition_id)
                if d is None:
                    raise NotFound(f"no definition id {definition_id}")
                s.expunge(d)
            with self._lock:
                self._definitions[definition_id] = d
        return d

    def db_get_definition_by_instance(self, instance_id: str) -> Definition:
        with self.db.read() as s:
            did = s.scalar(select(Instance.definition_id).where(Instance.id == instance_id))
        if did is None:
            raise NotFound(f"no instance {instance_id}")
        return self.db_get_definition(did)

    def close(self) -> None:
        self.db.dispose()
