"""The engine's face: repository, runtime, tasks, history — usable without the web app.

    from engine import Engine
    e = Engine("sqlite:///qihu.sqlite3")
    e.repository.deploy(["bpmn/appeal_basic.bpmn"])
    iid = e.runtime.start("appeal_basic", {"summary": "..."}, business_key="A-1")
    for t in e.tasks.list(user="li"): ...
"""
import threading

from sqlalchemy import select

from .access import Access
from .appeals import Appeals
from .accounts import AccountService
from .clock import from_settings as clock_from_settings
from .config import Settings
from .db import Database
from .errors import NotFound
from .figures import Figures
from .handlers import HandlerRegistry
from .history import History
from .models import Definition, Instance
from .repository import Repository
from .runtime import Runtime
from .sandbox import SandboxScriptEngine
from .tasks import TaskService
from .timers import TIMEZONE
from .uploads import Uploads
from .filters import SavedFilters
from .notifications import Notifications
from .handoff import Handoff
from .comments import Comments
from .instance_migration import InstanceMigration
from .workcal import WorkCalendar


class EngineScriptEngine(SandboxScriptEngine):
    """The sandbox plus the engine's clock (timers ask it for 'now')."""

    def __init__(self, clock, helpers=None, time_limit=2.0):
        base = {"now": clock.now}
        base.update(helpers or {})
        super().__init__(helpers=base, time_limit=time_limit)
        self.clock = clock

    def now(self):
        return self.clock.now()


class Engine:
    def __init__(self, database_url=None, settings=None, handlers=None, clock=None, migrate=True, helpers=None):
        self.settings = settings or Settings.from_env()
        if database_url:
            self.settings.database_url = database_url
        self.db = Database(self.settings.database_url)
        if migrate:
            self.db.upgrade()
        self.handlers = handlers if handlers is not None else HandlerRegistry().discover()
        self.clock = clock or clock_from_settings(self.settings)
        self.calendar = WorkCalendar(self.db, zone=TIMEZONE)
        # Scripts see the working-day helpers (workdays(5), workdays_between(a, b), is_workday()).
        script_helpers = self.calendar.helpers(self.clock.now)
        script_helpers.update(helpers or {})
        self.script_engine = EngineScriptEngine(self.clock, script_helpers, self.settings.script_time_limit)
        self.repository = Repository(self)
        self.runtime = Runtime(self)
        self.tasks = TaskService(self)
        self.history = History(self)
        self.accounts = AccountService(self)
        self.access = Access(self)
        self.uploads = Uploads(self)
        self.filters = SavedFilters(self)
        self.notifications = Notifications(self)
        self.appeals = Appeals(self)
        self.handoff = Handoff(self)      # reassign (转办) and return (退单)
        self.comments = Comments(self)
        self.migrations = InstanceMigration(self)   # move running instances to a newer version
        self.figures = Figures(self)      # the 晾晒 dashboard's figures (engine/figures.py)
        self._definitions = {}
        self._lock = threading.Lock()

    def db_get_definition(self, definition_id):
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

    def db_get_definition_by_instance(self, instance_id):
        with self.db.read() as s:
            did = s.scalar(select(Instance.definition_id).where(Instance.id == instance_id))
        if did is None:
            raise NotFound(f"no instance {instance_id}")
        return self.db_get_definition(did)

    def close(self):
        self.db.dispose()
