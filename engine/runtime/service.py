"""Runtime: start instances, run engine steps, serve external tasks, correlate messages,
fire timers; cancel, suspend, resume. Every change to an instance is one transaction
that writes its state, its inbox rows, subscriptions, due jobs and audit events together.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeVar, cast
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, bindparam, func, select, delete, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition, EscalationEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from qihu.engine.dialect import state as state_mod
from qihu.engine.dialect import event_subprocess
from qihu.engine.runtime import sla as sla_mod
from qihu.engine.dialect import timers
from qihu.engine import workcalendar as workcal
from qihu.engine.errors import Conflict, InvalidState, NotFound, NotWaiting, QihuError, bilingual
from qihu.engine.listeners import Listeners, StepDone
from qihu.engine.workcalendar import CalendarYearUnknown
from qihu.engine.topics import BpmnError, Escalation, HandlerContext, HandlerRegistry
from qihu.engine.storage.models import Definition, HistoryEvent, Incident, Instance, Job, MessageStart, Subscription, Task, TaskCandidate
from qihu.engine.dialect.specs import ExternalTask, QihuMessageEventDefinition, QihuUserTask, expression_of
from qihu.engine.dialect.state import all_tasks, find_task
from qihu.engine.runtime import outbox
from qihu.engine.runtime.catching import end_path, find_catcher, implicit_end_data
from qihu.engine.runtime.step_writes import StepWrites
from qihu.engine.runtime.unit_of_work import INCIDENT, InstanceRow, Snapshot, UnitOfWork
from qihu.engine.storage.limits import check_text, check_tree, check_values
from qihu.engine.types import (ENDED_INSTANCE, LIVE_INSTANCE, CandidateKind, Correlated, EventType, IncidentInfo, IncidentKind,
                               IncidentStatus, InstanceInfo, InstanceStatus, JobKind, OutboxKind, Overview, TaskStatus,
                               WaitKind)

log = logging.getLogger(__name__)

if TYPE_CHECKING:   # the types of the engine's parts (RuntimeEngine); importing them here would loop
    from qihu.engine.identity.audit import Audit
    from qihu.engine.clock import Clock
    from qihu.engine.config import Settings
    from qihu.engine.dialect.sandbox import SandboxScriptEngine
    from qihu.engine.repository.service import Repository
    from qihu.engine.storage.db import Database
    from qihu.engine.workcalendar import WorkCalendar

T = TypeVar("T")


class EngineStepError(QihuError):
    """A script, condition or expression failed while the engine ran; nothing was saved."""

    def __init__(self, message: str, element: str | None = None, line: int | None = None,
                 file: str | None = None) -> None:
        super().__init__(message)
        self.element, self.line, self.file = element, line, file


def correlation_key(values: Mapping[str, Any] | None) -> str | None:
    if not values:
        return None
    canon = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


# Hot-path statements are built once: building a statement costs more than running it on SQLite.
_I = cast(Table, Instance.__table__)
_ROW_COLS = (_I.c.id, _I.c.definition_id, _I.c.definition_key, _I.c.business_key, _I.c.region, _I.c.status,
             _I.c.version, _I.c.started_at)
_SELECT_ROW = select(*_ROW_COLS).where(_I.c.id == bindparam("iid"))
_SELECT_ROW_LOCKED = _SELECT_ROW.with_for_update()
_SELECT_STATE = select(_I.c.state).where(_I.c.id == bindparam("iid"))
_HISTORY = cast(Table, HistoryEvent.__table__)
_T, _S, _J = cast(Table, Task.__table__), cast(Table, Subscription.__table__), cast(Table, Job.__table__)
_TC = cast(Table, TaskCandidate.__table__)
# a timer's or retry's job, locked, with its instance's row (a fired job's one read)
_SELECT_JOB_STEP = (select(_J.c.kind, _J.c.task_id, _J.c.locked_by, *(c.label(f"i_{c.name}") for c in _ROW_COLS))
                    .select_from(_J.join(_I, _I.c.id == _J.c.instance_id)).where(_J.c.id == bindparam("jid"))
                    .with_for_update(of=_J))
_SELECT_SLA_JOB = select(_J).where(_J.c.id == bindparam("jid")).with_for_update()
MAYBE_INCIDENT = "qihu_maybe_incident"   # internal_data: an external task that may have an open incident row


class RuntimeEngine(Protocol):
    """What the runtime uses of the engine it belongs to (qihu.engine.Engine is one)."""

    @property
    def db(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def audit(self) -> Audit: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def repository(self) -> Repository: ...

    @property
    def listeners(self) -> Listeners: ...

    @property
    def handlers(self) -> HandlerRegistry: ...

    @property
    def calendar(self) -> WorkCalendar: ...

    @property
    def script_engine(self) -> SandboxScriptEngine: ...

    @property
    def context_helpers(self) -> dict[str, Callable[..., Any]]: ...

    def db_get_definition(self, definition_id: int) -> Definition: ...


class Runtime:
    def __init__(self, engine: RuntimeEngine) -> None:
        self.engine = engine
        # instance id -> (version, workflow, snapshot)
        self._cache: OrderedDict[str, tuple[int, BpmnWorkflow, Snapshot]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_size = 256
        self.deliveries = outbox.Deliveries(self)

    # -- loading and saving --------------------------------------------------------------
    def _take(self, session: Session, row: InstanceRow) -> tuple[BpmnWorkflow, Snapshot]:
        """The instance's workflow and snapshot: the cached ones if at the stored version."""
        with self._cache_lock:
            hit = self._cache.pop(row.id, None)
        if hit is not None and hit[0] == row.version:
            return hit[1], hit[2]
        text_ = session.connection().execute(_SELECT_STATE, {"iid": row.id}).scalar()
        definition = self.engine.db_get_definition(row.definition_id)
        info = self.engine.repository.process(definition)
        wf = state_mod.loads(text_, info.spec, info.subprocess_specs, self.engine.script_engine)
        return wf, Snapshot(wf)

    def _put(self, row: InstanceRow, wf: BpmnWorkflow, snapshot: Snapshot) -> None:
        with self._cache_lock:
            self._cache[row.id] = (row.version, wf, snapshot)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _evict(self, instance_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(instance_id, None)

    def _row(self, session: Session, instance_id: str, lock: bool = False) -> InstanceRow:
        r = session.connection().execute(_SELECT_ROW_LOCKED if lock else _SELECT_ROW, {"iid": instance_id}).first()
        if r is None:
            raise NotFound(f"no instance {instance_id}")
        return InstanceRow(**r._mapping)

    def transaction(self, target: str | Callable[[Session], str | InstanceRow], fn: Callable[[UnitOfWork], T],
                    user: str | None = None,
                    lock: bool = False, require_running: bool = True, incident_on_error: bool = True) -> T:
        """Run fn(uow) on one instance in one transaction and save everything or nothing
        (engine.runtime.unit_of_work says what a UnitOfWork offers); returns what fn returns.

        `target` is the instance id, or a function of the session that finds it (so a task
        completion reads its task row and the instance in the same transaction); the function
        may return the instance row itself (an InstanceRow it read with its own query, so that
        the step reads once), used as it is unless `lock` is asked for. `lock`
        takes the instance row's lock first (SELECT ... FOR UPDATE on PostgreSQL); without
        it a concurrent step is caught by the row's version and raises Conflict.
        `require_running`: refuse (InvalidState) unless the instance is running.
        `incident_on_error`: a failing step leaves an incident on the instance (off for a
        caller that reports the failure its own way, e.g. a message delivery).
        """
        instance_id: str | None = None
        row: InstanceRow | None = None
        ctx: UnitOfWork | None = None
        started, outcome, error = time.perf_counter(), "error", None
        try:
            with self.engine.db.write() as s:
                found = target(s) if callable(target) else target
                if isinstance(found, InstanceRow) and not lock:
                    instance_id, row = found.id, found
                else:
                    instance_id = found.id if isinstance(found, InstanceRow) else found
                    row = self._row(s, instance_id, lock=lock)
                if require_running and row.status != InstanceStatus.RUNNING:
                    raise InvalidState(f"instance {instance_id} is {row.status}")
                wf, before = self._take(s, row)
                ctx = self._unit(s, row, wf, user, self.engine.clock.now(), before)
                try:
                    result = fn(ctx)
                    after = self._save(ctx)
                except BaseException:
                    self._evict(row.id)
                    raise
                finally:
                    s.info.pop(outbox.STEP_KEY, None)
            self._put(row, wf, after)
            outcome = "ok"
        except StaleDataError:
            outcome = "conflict"
            if instance_id:
                self._evict(instance_id)
            raise Conflict(f"instance {instance_id} was changed by someone else at the same time; "
                           "reload and try again") from None
        except EngineStepError as e:
            error = type(e).__name__
            if instance_id and incident_on_error:
                self._step_incident(instance_id, e)
            raise
        except BaseException as e:
            if isinstance(e, Conflict):
                outcome = "conflict"
            else:
                error = type(e).__name__
            raise
        finally:
            self._step_done(StepDone(instance_id, row.definition_key if row else None, user,
                                     time.perf_counter() - started, ctx.ran if ctx else 0, outcome, error))
        self.deliveries.deliver_now(ctx.sent)
        return result

    @staticmethod
    def _unit(s: Session, row: InstanceRow, wf: BpmnWorkflow, user: str | None, now: datetime,
              before: Snapshot) -> UnitOfWork:
        """A unit of work that saves: the outbox rows written in its session join its writes."""
        ctx = UnitOfWork(s, row, wf, user, now, before)
        s.info[outbox.STEP_KEY] = ctx.writes
        return ctx

    def _step_done(self, done: StepDone) -> None:
        """Tell the step_done listeners (metrics, logs); the step is over, so nothing they
        raise may change its outcome."""
        for listener in self.engine.listeners.step_done:
            try:
                listener(done)
            except Exception:
                log.exception("step_done listener %r failed", listener)

    def _step_incident(self, instance_id: str, e: EngineStepError) -> None:
        """The step was rolled back (a script failed, a year's calendar is missing): leave a
        visible incident on the instance, one open per element and kind, so that nobody has
        to have seen the error message to know the case is held up."""
        missing = _calendar_cause(e)
        kind = IncidentKind.CALENDAR if missing is not None else IncidentKind.SCRIPT
        cause: BaseException = missing if missing is not None else e
        with self.engine.db.write() as s:
            if s.get(Instance, instance_id) is None:
                return
            open_one = s.scalars(select(Incident).where(Incident.instance_id == instance_id, Incident.kind == kind,
                                                        Incident.element_id == e.element,
                                                        Incident.status == IncidentStatus.OPEN)).first()
            if open_one is None:
                s.add(Incident(instance_id=instance_id, task_id="", element_id=e.element,
                               topic="calendar" if missing is not None else None, kind=kind,
                               error_type=type(cause).__name__, message=str(cause),
                               traceback="".join(traceback.format_exception(e)), status=IncidentStatus.OPEN,
                               created_at=self.engine.clock.now(), retries_left=0))

    def _save(self, ctx: UnitOfWork) -> Snapshot:
        # Scripts, timers and due dates count the working days of the instance's region.
        with workcal.region_scope(ctx.instance.region):
            return self._save_in_region(ctx)

    def _save_in_region(self, ctx: UnitOfWork) -> Snapshot:
        row, s = ctx.instance, ctx.session
        if row.new:
            # The row first and at once: the handlers of the first steps may write rows of their
            # own that refer to it (ledger lines, notifications), as task and job rows do.
            s.execute(insert(_I).values(
                id=row.id, definition_id=row.definition_id, definition_key=row.definition_key,
                business_key=row.business_key, region=row.region, version=row.version, started_by=ctx.user,
                started_at=ctx.now,
                state="", updated_at=ctx.now, status=row.status))
        # whether a timer armed now counted working days of a year not announced yet (暂定)
        with workcal.provisional_watch() as used:
            self._advance(ctx)
            if ctx.start_message is not None:
                # A message start event waits only after the first steps; then it can catch.
                name, payload, kind, result_var = ctx.start_message
                ctx.start_message = None
                _catch(ctx.workflow, name, payload, kind, result_var)
                self._advance(ctx)
        after = ctx.after = self._sync(ctx, timers_provisional=used.value)
        for name, payload, element, kind, result_var in ctx.outbox:
            outbox.add(s, outbox.message_row(ctx, name, _jsonable(payload), element, kind, result_var))
        Listeners.call(self.engine.listeners.step_saved, ctx)   # e.g. the 晾晒 figures, same transaction
        state = state_mod.dumps(ctx.workflow)
        if len(state) > self.engine.settings.variable_size_limit:
            _check_variable_sizes(ctx.workflow, self.engine.settings.variable_size_limit)
        # the optimistic check: a step saved meanwhile raised the version, and this one is refused
        ctx.writes.update(_I, ("id", "version"), [{
            "k_id": row.id, "k_version": row.version, "version": row.version + 1, "state": state,
            "updated_at": ctx.now, "status": row.status, "ended_at": row.ended_at}],
            expect=(1, lambda: StaleDataError("instance version changed")))
        ctx.writes.insert(_HISTORY, ctx.history)
        s.flush()            # rows the step added through the ORM (incidents, receipts) first, as before
        ctx.writes.flush(s.connection())
        s.info.pop(outbox.STEP_KEY, None)
        row.version += 1
        row.new = False
        ctx.sent = outbox.written(s)
        return after

    # -- the engine loop -----------------------------------------------------------------
    def _advance(self, ctx: UnitOfWork) -> None:
        wf = ctx.workflow
        if ctx.instance.status != InstanceStatus.RUNNING:
            return

        settings = self.engine.settings
        max_steps, deadline = settings.automatic_steps_limit, time.monotonic() + settings.automatic_time_limit
        throwers: dict[str, str] = {}

        def did_complete(task: Any) -> None:
            ctx.ran += 1
            event_subprocess.on_completed(task)   # an interrupting one cancels its scope before it moves on
            spec = task.task_spec
            # A run of automatic steps is bounded: an endless loop without a wait state (or a
            # very long one) is an error that rolls the step back, not a held write lock.
            if ctx.ran > max_steps:
                raise EngineStepError(f"自动步骤超过 {max_steps} 步仍未停下（没有等待点的死循环？）"
                                      f" (more than {max_steps} automatic steps in one go)", element=spec.bpmn_id)
            if time.monotonic() > deadline:
                raise EngineStepError(f"自动步骤连续运行超过 {settings.automatic_time_limit:g} 秒仍未停下"
                                      f" (automatic steps ran longer than {settings.automatic_time_limit:g} s)",
                                      element=spec.bpmn_id)
            # An external task only starts here; its completion is logged as handler_called.
            if spec.bpmn_id is not None and not spec.manual and task.state == TaskState.COMPLETED:
                kind = EventType.TIMER_FIRED if timers.is_timer(spec) else EventType.ELEMENT_COMPLETED
                ctx.log(kind, spec.bpmn_id, str(task.id))
                ed = getattr(spec, "event_definition", None)
                if isinstance(ed, MessageEventDefinition):
                    throwers[ed.name] = spec.bpmn_id   # who threw it, for the outbox row
                elif isinstance(ed, SignalEventDefinition) and isinstance(spec, ThrowingEvent):
                    # a signal is broadcast to every instance waiting for it (Camunda), even when
                    # this instance caught it itself (SpiffWorkflow then reports no event)
                    ctx.outbox.append((ed.name, None, spec.bpmn_id, OutboxKind.SIGNAL, None))
                    ctx.log(EventType.SIGNAL_THROWN, spec.bpmn_id, str(task.id), {"signal": ed.name})

        try:
            while True:
                while wf._do_engine_steps(did_complete_task=did_complete):
                    state_mod.prune(wf)   # keep the tree short inside long automatic loops
                state_mod.prune(wf)
                if event_subprocess.settle(wf):   # interrupting / disarmed event sub-processes (BPMN)
                    continue
                if self._serve_external(ctx):
                    continue
                wf.refresh_timers()
                live = all_tasks(wf)
                # conditional events look at the variables again whenever a step changed them
                for t in live:
                    if t.state == TaskState.WAITING and isinstance(getattr(t.task_spec, "event_definition", None),
                                                                   ConditionalEventDefinition):
                        t.task_spec._update(t)
                # scanned again, not reused: the updates above change which tasks are live
                if any(t.state == TaskState.READY and not t.task_spec.manual for t in all_tasks(wf)):
                    continue
                break
        except SpiffWorkflowException as e:
            raise self._step_error(ctx, e) from e
        for event in wf.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                payload = event.payload.get("payload") if isinstance(event.payload, dict) else event.payload
                result_var = event.payload.get("result_var") if isinstance(event.payload, dict) else None
                name = event.event_definition.name
                ctx.outbox.append((name, payload, throwers.get(name), OutboxKind.MESSAGE, result_var))
                ctx.log(EventType.MESSAGE_THROWN, data={"message": event.event_definition.name})

    def _step_error(self, ctx: UnitOfWork, e: SpiffWorkflowException) -> EngineStepError:
        task = getattr(e, "task", None)
        element = getattr(getattr(task, "task_spec", None), "bpmn_id", None) if task else None
        definition = self.engine.db_get_definition(ctx.instance.definition_id)
        # the file of the (sub)process the failing task belongs to, not of the first process of
        # the deployment that happens to use the same element id
        own_file = getattr(getattr(getattr(task, "workflow", None), "spec", None), "file", None)
        file, line = (self.engine.repository.bundle(definition.deployment_id).where(element, own_file)
                      if element else (None, None))
        msg = str(e).split("\n")[0]
        detail = getattr(e, "line_number", None)
        if detail:
            msg += f" (script line {detail})"
        where = f"{file}:{line} [{element}] " if element else ""
        # Chinese first; SpiffWorkflow's English detail (the exception, the script line) stays in
        # brackets for the administrator who reads the incident
        zh = f"{getattr(getattr(task, 'task_spec', None), 'bpmn_name', None) or element or '流程'}运行出错"
        if detail:
            zh += f"（脚本第 {detail} 行）"
        return EngineStepError(f"{where}{bilingual(zh, msg)}", element=element, line=line, file=file)

    def _serve_external(self, ctx: UnitOfWork) -> bool:
        """Serve STARTED external tasks: call the topic's handler, complete the task."""
        served = False
        for task in list(all_tasks(ctx.workflow)):
            spec = task.task_spec
            if (task.state != TaskState.STARTED or not isinstance(spec, ExternalTask)
                    or task.id in ctx.failed or task.internal_data.get(INCIDENT)):
                continue
            self._call_handler(ctx, task)
            served = True
        return served

    def _call_handler(self, ctx: UnitOfWork, task: Any, retries: int | None = None) -> None:
        spec = task.task_spec
        se = self.engine.script_engine
        try:
            func = self.engine.handlers.get(spec.topic)
            if func is None:
                raise LookupError(f"no handler is registered for topic {spec.topic!r}")
            if spec.in_params:
                inputs = {n: p.evaluate(se, dict(task.data)) for n, p in spec.in_params}
            else:
                inputs = dict(task.data)
            if "qihu" in inspect.signature(func).parameters:
                inputs["qihu"] = HandlerContext(self.engine, ctx.session, ctx.instance.id, ctx.instance.business_key,
                                                str(task.id), spec.bpmn_id, ctx.now, ctx.user)
            result = HandlerRegistry.call(func, inputs)
            if result is None:
                result = {}
            if not isinstance(result, dict):
                raise TypeError(f"handler for {spec.topic!r} returned {type(result).__name__}, not a dict")
        except (BpmnError, Escalation) as e:
            # a business outcome the diagram models, not a technical failure: no incident
            if not self._throw_from_handler(ctx, task, e):
                return
            result = e.variables
        except Exception as e:
            self._incident(ctx, task, e, retries)
            return
        if spec.out_params:
            scope = {**task.data, **result}
            for n, p in spec.out_params:
                task.data[n] = p.evaluate(se, scope)
        else:
            task.data.update(result)
        ctx.log(EventType.HANDLER_CALLED, spec.bpmn_id, str(task.id), {"topic": spec.topic, "result": _jsonable(result)})
        self._resolve_open_incident(ctx, task)
        task.complete()

    def _throw_from_handler(self, ctx: UnitOfWork, task: Any, exc: BpmnError | Escalation) -> bool:
        """Throw the handler's BPMN error or escalation from its external task, as Camunda's
        external-task `handleBpmnError` does. True when the task should still complete (an
        escalation nothing interrupted); False when the throw ended it."""
        spec = task.task_spec
        is_error = isinstance(exc, BpmnError)
        definition = (ErrorEventDefinition if is_error else EscalationEventDefinition)(exc.code, code=exc.code)
        catcher = find_catcher(task, definition)
        interrupting = catcher is not None and catcher.interrupting
        data: dict[str, Any] = {"topic": spec.topic, "code": exc.code, "message": exc.message,
                                "variables": _jsonable(exc.variables),
                                "caught_by": catcher.element_id if catcher else None}
        ctx.log(EventType.BPMN_ERROR if is_error else EventType.ESCALATION, spec.bpmn_id, str(task.id), data)
        self._resolve_open_incident(ctx, task)
        if catcher is not None:
            catcher.catch(task, definition, exc.code, exc.message, exc.variables)
        if is_error or interrupting:
            if catcher is None or not catcher.cancels_thrower:
                # Camunda 7: an uncaught BPMN error ends the path of its activity (none end
                # event semantics, engine log ENGINE-02001); so does one an event sub-process caught
                task.data.update(exc.variables)
                end_path(task)
            ctx.failed.add(task.id)     # never served again in this step, whatever state it is left in
            return False
        return True

    def _resolve_open_incident(self, ctx: UnitOfWork, task: Any) -> None:
        # Only a task that failed before can have an open incident: _incident marks it (INCIDENT),
        # and whoever takes the mark off to try it again leaves MAYBE_INCIDENT, so the common
        # handler call reads no incident row.
        if task.internal_data.get(INCIDENT) is None and not task.internal_data.pop(MAYBE_INCIDENT, False):
            return
        open_incident = ctx.session.scalars(select(Incident).where(
            Incident.task_id == str(task.id), Incident.status == IncidentStatus.OPEN)).first()
        if open_incident is not None:
            open_incident.status, open_incident.resolved_at = IncidentStatus.RESOLVED, ctx.now
            ctx.log(EventType.INCIDENT_RESOLVED, task.task_spec.bpmn_id, str(task.id), {"incident": open_incident.id})

    def _incident(self, ctx: UnitOfWork, task: Any, exc: BaseException, retries: int | None = None) -> None:
        spec = task.task_spec
        settings = self.engine.settings
        inc = ctx.session.scalars(select(Incident).where(
            Incident.task_id == str(task.id), Incident.status == IncidentStatus.OPEN)).first()
        if inc is None:
            left = settings.handler_retries if retries is None else retries
            inc = Incident(instance_id=ctx.instance.id, task_id=str(task.id), element_id=spec.bpmn_id, topic=spec.topic,
                           kind=IncidentKind.HANDLER,
                           status=IncidentStatus.OPEN, created_at=ctx.now, retries_left=left)
            ctx.session.add(inc)
        elif retries is not None:
            inc.retries_left = retries
        inc.error_type = type(exc).__name__
        inc.message = str(exc) or type(exc).__name__
        inc.traceback = "".join(traceback.format_exception(exc))
        ctx.session.flush()
        task.internal_data[INCIDENT] = inc.id
        ctx.failed.add(task.id)
        if inc.retries_left > 0:
            inc.retries_left -= 1
            backoff = settings.handler_retry_backoff * (2 ** max(0, settings.handler_retries - inc.retries_left - 1))
            ctx.session.add(Job(instance_id=ctx.instance.id, task_id=str(task.id), element_id=spec.bpmn_id,
                                kind=JobKind.RETRY, due_at=ctx.now + timedelta(seconds=backoff)))
        ctx.log(EventType.INCIDENT, spec.bpmn_id, str(task.id),
                {"incident": inc.id, "topic": spec.topic, "error": f"{inc.error_type}: {inc.message}",
                 "retries_left": inc.retries_left})

    # -- keeping the rows in step with the tree --------------------------------------------
    def _sync(self, ctx: UnitOfWork, timers_provisional: bool = False) -> Snapshot:
        """Gather what changed between the tree as loaded and as it is now in ctx.writes (the
        save writes it at the end of the step); return the new snapshot."""
        row, wf, w = ctx.instance, ctx.workflow, ctx.writes
        before = ctx.before
        assert before is not None, "a unit of work that saves knows the tree as it was loaded"
        after = Snapshot(wf)
        listeners = self.engine.listeners
        # An instance that ends in this step keeps nothing waiting: its open rows are closed and
        # its subscriptions and jobs dropped, and rows it would open now are written closed (the
        # writes of a step are one statement on PostgreSQL: none may change a row another writes).
        completing = row.status == InstanceStatus.RUNNING and not state_mod.unfinished(wf)
        ending = completing or row.status in ENDED_INSTANCE

        # inbox rows
        closed: list[dict[str, Any]] = []
        for tid in before.ready.keys() - after.ready.keys() - ctx.done_rows.keys():
            t = before.ready[tid]
            status = TaskStatus.COMPLETED if t.state == TaskState.COMPLETED else TaskStatus.CANCELLED
            closed.append({"k_id": tid, "k_status": TaskStatus.READY, "status": status, "completed_at": ctx.now})
            if status == TaskStatus.CANCELLED:
                ctx.log(EventType.TASK_CANCELLED, t.task_spec.bpmn_id, tid)
            Listeners.call(listeners.task_closed, ctx, tid, status)
        for tid, closed_as in ctx.done_rows.items():
            Listeners.call(listeners.task_closed, ctx, tid, closed_as)
        new_tasks: list[dict[str, Any]] = []
        new_cands: list[dict[str, Any]] = []
        new_jobs: list[dict[str, Any]] = []
        for tid in after.ready.keys() - before.ready.keys():
            task_row, cands, sla_jobs = self._task_row(ctx, after.ready[tid])
            new_tasks.append(task_row)
            new_cands.extend(cands)
            new_jobs.extend(sla_jobs)
        for task_row in new_tasks:      # offered now (its row is written with the step's others)
            Listeners.call(listeners.task_created, ctx, task_row)
        if ending:
            # what was still open is cancelled; a row opened now is written cancelled, as the
            # insert and the update that followed it wrote it before
            closed += [{"k_id": tid, "k_status": TaskStatus.READY, "status": TaskStatus.CANCELLED,
                        "completed_at": ctx.now} for tid in before.ready.keys() & after.ready.keys()
                       if tid not in ctx.done_rows]
            new_tasks = [{**task_row, "status": TaskStatus.CANCELLED, "completed_at": ctx.now,
                          "version": task_row["version"] + 1} for task_row in new_tasks]
            new_jobs = []
        w.update(_T, ("id", "status"), closed, add=("version",))
        if not ending:
            w.delete(_J, ("task_id", "kind"), [
                {"k_task_id": tid, "k_kind": JobKind.SLA} for tid in before.ready.keys() - after.ready.keys()
                if (getattr(before.ready[tid].task_spec, "assignment", None) or {}).get("dueDate")])
        w.insert(_T, new_tasks)
        w.insert(_TC, new_cands)      # after their task rows: the copy trigger reads them

        # message subscriptions
        if ending:
            w.delete(_S, ("instance_id",), [{"k_instance_id": row.id}])
        else:
            w.delete(_S, ("instance_id", "task_id", "message_name", "kind"), [
                {"k_instance_id": row.id, "k_task_id": tid, "k_message_name": name, "k_kind": kind}
                for tid, name, kind in before.subs - after.subs])
            new_subs: list[dict[str, Any]] = []
            for tid, name, kind in after.subs - before.subs:
                t = find_task(wf, tid)
                keys = [k.strip() for k in (getattr(t.task_spec, "extensions", None) or {}).get("correlationKeys", "").split(",")
                        if k.strip()]
                values = {k: t.data.get(k) for k in keys}
                new_subs.append({"instance_id": row.id, "task_id": tid, "message_name": name, "kind": kind,
                                 "business_key": row.business_key,
                                 "correlation_key": correlation_key(values), "correlation": values or None})
            w.insert(_S, new_subs)

        # due jobs: waiting timers; retries of external tasks that no longer wait for one.
        # A timer is 暂定 when the step counted provisional working days and it falls in a
        # provisional year (counting forward from now, only days up to the due are asked).
        def provisional(due: datetime) -> bool:
            return timers_provisional and self.engine.calendar.is_provisional(due, row.region)

        if ending:
            w.delete(_J, ("instance_id",), [{"k_instance_id": row.id}])
        else:
            w.delete(_J, ("instance_id", "task_id", "kind"), [
                {"k_instance_id": row.id, "k_task_id": tid, "k_kind": JobKind.TIMER}
                for tid in before.timers.keys() - after.timers.keys()])
            w.update(_J, ("instance_id", "task_id", "kind"), [
                {"k_instance_id": row.id, "k_task_id": tid, "k_kind": JobKind.TIMER, "due_at": after.timers[tid],
                 "locked_by": None, "locked_until": None, "provisional": provisional(after.timers[tid])}
                for tid in before.timers.keys() & after.timers.keys() if before.timers[tid] != after.timers[tid]])
            new_jobs += [{"instance_id": row.id, "task_id": tid, "element_id": find_task(wf, tid).task_spec.bpmn_id,
                          "kind": JobKind.TIMER, "note": None, "due_at": after.timers[tid],
                          "provisional": provisional(after.timers[tid])}
                         for tid in after.timers.keys() - before.timers.keys()]
            w.insert(_J, new_jobs)
            w.delete(_J, ("instance_id", "task_id", "kind"), [
                {"k_instance_id": row.id, "k_task_id": tid, "k_kind": JobKind.RETRY}
                for tid in before.incidents - after.incidents])

        # completion
        if completing:
            row.status, row.ended_at = InstanceStatus.COMPLETED, ctx.now
            ctx.log(EventType.INSTANCE_COMPLETED)
        if ending:
            after = Snapshot()
        return after

    def _task_row(self, ctx: UnitOfWork, t: Any) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """The inbox row (and candidate rows) of a READY user task, assignment evaluated now."""
        spec = t.task_spec
        se = self.engine.script_engine
        a = getattr(spec, "assignment", {}) or {}
        if isinstance(spec, QihuUserTask) and spec.in_params:
            for n, p in spec.in_params:
                t.data[n] = p.evaluate(se, dict(t.data))

        def value(attr: str) -> Any:
            raw = a.get(attr)
            expr = expression_of(raw)
            if expr is None:
                return raw
            try:
                return se.environment.evaluate(expr, dict(t.data))
            except Exception as e:
                said = f"任务「{spec.bpmn_name or spec.bpmn_id}」的 camunda:{attr} 表达式计算出错"
                if isinstance(e, QihuError):     # says why in both languages (a calendar not loaded): keep both
                    raise EngineStepError(f"{said}：{e}", element=spec.bpmn_id) from e
                raise EngineStepError(bilingual(said, f"camunda:{attr} of {spec.bpmn_id}: {type(e).__name__}: {e}"),
                                      element=spec.bpmn_id) from e

        def names(v: Any) -> list[str]:
            if v is None:
                return []
            if isinstance(v, str):
                return [x.strip() for x in v.split(",") if x.strip()]
            return [str(x) for x in v]

        groups, users, assignee = names(value("candidateGroups")), names(value("candidateUsers")), value("assignee")
        if not groups and not users and not assignee and spec.lane:
            groups = [spec.lane]   # lanes are groups when the designer named none
        priority = value("priority")
        try:
            priority = int(priority) if priority not in (None, "") else 50
        except (TypeError, ValueError):
            raise EngineStepError(bilingual(f"任务「{spec.bpmn_name or spec.bpmn_id}」的优先级不是数字",
                                            f"camunda:priority of {spec.bpmn_id} is not a number: {priority!r}"),
                                  element=spec.bpmn_id) from None
        with workcal.provisional_watch() as used:
            due = _due(value("dueDate"), ctx.now, spec.bpmn_id)
        tid = str(t.id)
        colour, sla_jobs = self._sla(ctx, spec, tid, due)
        groups, users = list(dict.fromkeys(groups)), list(dict.fromkeys(users))
        row = {"id": tid, "instance_id": ctx.instance.id, "definition_key": ctx.instance.definition_key,
               "element_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id, "lane": spec.lane,
               "region": ctx.instance.region,
               "candidate_groups": ",".join(groups) or None, "candidate_users": ",".join(users) or None,
               "assignee": str(assignee) if assignee else None, "due_at": due, "priority": priority,
               "status": TaskStatus.READY, "created_at": ctx.now, "version": 1, "sla_colour": colour,
               "due_provisional": used.value}
        cands = ([{"task_id": tid, "kind": CandidateKind.GROUP, "name": g} for g in groups]
                 + [{"task_id": tid, "kind": CandidateKind.USER, "name": u} for u in users])
        ctx.log(EventType.TASK_CREATED, spec.bpmn_id, tid, {"name": row["name"], "groups": groups, "assignee": row["assignee"],
                                                    "due_at": due.isoformat() if due else None, "sla_colour": colour})
        return row, cands, sla_jobs

    def _sla(self, ctx: UnitOfWork, spec: Any, task_id: str,
             due: datetime | None) -> tuple[str | None, list[dict[str, Any]]]:
        """The task's colour now and the jobs that change it as working time passes."""
        if due is None:
            return None, []
        info = self.engine.repository.process(self.engine.db_get_definition(ctx.instance.definition_id))
        steps = sla_mod.scheme(info.properties)
        provisional = False
        try:
            region = ctx.instance.region
            with workcal.provisional_watch() as used:
                colour, moments = sla_mod.plan(ctx.now, due, steps,
                                               lambda day: self.engine.calendar.is_workday(day, region), timers.TIMEZONE)
            provisional = used.value
        except CalendarYearUnknown as e:
            # Measure in plain time meanwhile, and make the missing calendar visible.
            colour, moments = sla_mod.plan(ctx.now, due, steps, lambda day: True, timers.TIMEZONE)
            ctx.session.add(Incident(instance_id=ctx.instance.id, task_id=task_id, element_id=spec.bpmn_id, topic="calendar",
                                     kind=IncidentKind.CALENDAR,
                                     error_type=type(e).__name__, message=str(e), status=IncidentStatus.OPEN,
                                     created_at=ctx.now, retries_left=0))
            ctx.log(EventType.INCIDENT, spec.bpmn_id, task_id, {"error": str(e)})
        jobs = [{"instance_id": ctx.instance.id, "task_id": task_id, "element_id": spec.bpmn_id, "kind": JobKind.SLA,
                 "note": c, "due_at": m, "provisional": provisional} for m, c in moments]
        return colour, jobs

    # -- public operations -----------------------------------------------------------------
    def start(self, key: str, data: Mapping[str, Any] | None = None, business_key: str | None = None,
              version: int | None = None, user: str | None = None, region: str | None = None,
              also: Callable[[Session, str], object] | None = None) -> str:
        """Start an instance of the latest (or given) version; runs until it waits.

        region: where the appeal belongs (e.g. 湖州市), kept on the instance and its tasks.
        also: also(session, instance_id) writes the caller's own rows in the same transaction
            (e.g. an enterprise's ticket and files): if it raises, the instance is not started.
        """
        check_text(key, "key", Definition.key)
        with self.engine.db.read() as s:
            definition = self.engine.repository.get_definition(s, key, version)
        return self._start(definition, data, business_key, user, region=region, also=also)

    def _start(self, definition: Definition, data: Mapping[str, Any] | Any = None, business_key: str | None = None,
               user: str | None = None, message: str | None = None, region: str | None = None,
               also: Callable[[Session, str], object] | None = None, kind: str = WaitKind.MESSAGE,
               result_var: str | None = None) -> str:
        """Start `definition`; with `message`, at the start event of that message (or signal: kind)."""
        check_values({"business_key": (business_key, Instance.business_key),
                      "region": (region, Instance.region)})
        if isinstance(data, Mapping):
            check_tree(data, "data")
        info = self.engine.repository.process(definition)
        wf = BpmnWorkflow(info.spec, info.subprocess_specs, script_engine=self.engine.script_engine)
        if message is not None:
            _only_message_start(wf, message, kind)
        if message is None:
            # camunda:initiator="name" on the start event: the starting user, as that variable
            start_data = {**({info.initiator: user} if info.initiator else {}), **(data or {})}
            if start_data:
                for t in wf.get_tasks(state=TaskState.READY):
                    t.data.update(start_data)
        instance_id = str(uuid.uuid4())
        now = self.engine.clock.now()
        row = InstanceRow(id=instance_id, definition_id=definition.id, definition_key=definition.key,
                   business_key=business_key, status=InstanceStatus.RUNNING, version=1,
                   # given, else the one it was deployed for, else the process's own
                   # (<camunda:property name="region" value="湖州市"/>)
                   region=(region or "").strip() or self.engine.repository.region_of(definition),
                   started_at=now)
        row.new = True
        ctx: UnitOfWork | None = None
        started, error = time.perf_counter(), None
        try:
            with self.engine.db.write() as s:
                ctx = self._unit(s, row, wf, user, now, Snapshot())
                if message is not None:
                    # a thrown message's payload is whatever its expression gave (not only variables)
                    ctx.start_message = (message, dict(data) if isinstance(data, Mapping) else data, kind, result_var)
                ctx.log(EventType.INSTANCE_STARTED, data={"version": definition.version, "business_key": business_key,
                                                  "message": message, "data": _jsonable(data or {})})
                after = self._save(ctx)
                if also is not None:
                    also(s, instance_id)
                    ctx.sent += outbox.written(s)
        except BaseException as e:
            error = type(e).__name__
            raise
        finally:   # a start is a step too, for metrics and logs
            self._step_done(StepDone(instance_id, definition.key, user, time.perf_counter() - started,
                                     ctx.ran if ctx else 0, "ok" if error is None else "error", error))
        self._put(row, wf, after)
        self.deliveries.deliver_now(ctx.sent)
        return instance_id

    # -- notices (engine.runtime.channels) --------------------------------------------------
    def notice(self, session: Session, *, channel: str, to: str, text: str, business_id: str,
               title: str | None = None, instance_id: str | None = None) -> None:
        """A notice to `to` on `channel` (sms, dingtalk, ...), written in the caller's transaction
        and delivered once it commits (never for one rolled back). `business_id` is stable per
        (instance, event): a notice with the same (channel, to, business_id) is sent once."""
        outbox.add(session, outbox.notice_row(channel, to, text, business_id, title, instance_id,
                                              self.engine.clock.now()), after_commit=self.deliveries.deliver_now)

    def send_notice(self, *, channel: str, to: str, text: str, business_id: str, title: str | None = None,
                    instance_id: str | None = None) -> None:
        """The same as notice, in a transaction of its own, delivered at once after it."""
        with self.engine.db.write() as s:
            self.notice(s, channel=channel, to=to, text=text, business_id=business_id, title=title,
                        instance_id=instance_id)

    def correlate(self, message: str, business_key: str | None = None, correlation: Mapping[str, Any] | None = None,
                  payload: Any = None, all: bool = False, user: str | None = None,
                  region: str | None = None) -> Correlated:
        """Deliver a message to waiting instances, or start the definition it starts.

        Matches by message name, and business key and/or correlation values when given
        (both indexed). Returns {"delivered": [instance ids], "started": [instance ids]}.
        """
        check_values({"name": (message, MessageStart.message_name), "business_key": (business_key, Instance.business_key),
                      "region": (region, Instance.region)})
        check_tree(correlation, "correlation")
        check_tree(payload, "data")
        instances, starts = self._receivers(message, WaitKind.MESSAGE, business_key, correlation)
        if len(instances) > 1 and not all:
            raise Conflict(f"message {message!r} matches {len(instances)} instances; "
                           "give a business key or correlation values, or deliver to all")
        delivered: list[str] = []
        for iid in instances:
            self.transaction(iid, lambda ctx: self._deliver(ctx, message, payload), user=user)
            delivered.append(iid)
        started: list[str] = []
        if not instances:
            if not starts:
                raise NotFound(f"no instance or definition is waiting for message {message!r}")
            for d in starts:
                started.append(self._start(d, payload or {}, business_key, user, message=message, region=region))
        return {"delivered": delivered, "started": started}

    def set_variables(self, instance_id: str, variables: Mapping[str, Any], user: str | None = None) -> None:
        """Set variables on a running instance, as Camunda's setVariables on the process
        instance: every live task of it sees them; conditional events that now hold fire."""
        values = dict(variables)
        check_tree(values, "data")
        if not values:
            return

        def run(ctx: UnitOfWork) -> None:
            wf = ctx.workflow
            wf.data.update(values)
            for t in all_tasks(wf):
                if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
                    t.data.update(values)
                    if t.parent is not None:      # a waiting event takes its parent's data again when looked at
                        t.parent.data.update(values)
            ctx.log(EventType.VARIABLES_SET, data={"variables": _jsonable(values)})
        self.transaction(instance_id, run, user=user)

    def signal(self, name: str, variables: Mapping[str, Any] | None = None, user: str | None = None,
               region: str | None = None) -> Correlated:
        """Broadcast a signal: every instance waiting for it catches it (catch and boundary
        events, event-based gateway branches), and every process with a signal start event for
        it starts; `variables` become variables of what catches it. Returns the instances
        reached ("delivered") and started. Unlike a message, nobody waiting is not an error."""
        check_values({"name": (name, MessageStart.message_name), "region": (region, Instance.region)})
        check_tree(variables, "data")
        waiting, starts = self._receivers(name, WaitKind.SIGNAL)
        delivered: list[str] = []
        for iid in waiting:
            try:
                self.transaction(iid, lambda ctx: self._deliver(ctx, name, dict(variables or {}), WaitKind.SIGNAL),
                                 user=user)
                delivered.append(iid)
            except NotWaiting:
                pass
        started = [self._start(d, dict(variables or {}), None, user, message=name, region=region, kind=WaitKind.SIGNAL)
                   for d in starts]
        return {"delivered": delivered, "started": started}

    def _receivers(self, name: str, kind: str, business_key: str | None = None,
                   correlation: Mapping[str, Any] | None = None,
                   sender: str | None = None) -> tuple[list[str], list[Definition]]:
        """Who a message or signal reaches: the instances waiting for it (in the order they
        began to wait; by business key and correlation values when given, both indexed; never
        the `sender`), and the definitions it starts (the version each key starts on now,
        sorted by key). A message starts them only when nobody waits; a signal always does."""
        with self.engine.db.read() as s:
            q = select(Subscription.instance_id).where(Subscription.message_name == name, Subscription.kind == kind)
            if business_key is not None:
                q = q.where(Subscription.business_key == business_key)
            if correlation:
                q = q.where(Subscription.correlation_key == correlation_key(correlation))
            if sender is not None:
                q = q.where(Subscription.instance_id != sender)
            waiting = list(dict.fromkeys(s.scalars(q.order_by(Subscription.id))))
            starts: list[Definition] = []
            if kind == WaitKind.SIGNAL or not waiting:
                starts = list(s.scalars(select(Definition).join(MessageStart, MessageStart.definition_id == Definition.id)
                                        .where(MessageStart.message_name == name, MessageStart.kind == kind,
                                               Definition.id.in_(self.engine.repository.current_ids()))
                                        .order_by(Definition.key)))
        return waiting, starts

    def _deliver(self, ctx: UnitOfWork, message: str, payload: Any, kind: str = WaitKind.MESSAGE,
                 result_var: str | None = None) -> None:
        _catch(ctx.workflow, message, payload if payload is not None else {}, kind, result_var)
        if kind == WaitKind.SIGNAL:
            ctx.log(EventType.SIGNAL_RECEIVED, data={"signal": message, "payload": _jsonable(payload)})
        else:
            ctx.log(EventType.MESSAGE_RECEIVED, data={"message": message, "payload": _jsonable(payload)})

    def fire_job(self, job_id: int, worker: str | None = None) -> bool:
        """Fire one due job (timer or handler retry), in the same transaction that deletes it."""
        found: dict[str, Any] = {}

        def locate(s: Session) -> str | InstanceRow:
            # the job (locked) and its instance's row in one read
            r = s.connection().execute(_SELECT_JOB_STEP, {"jid": job_id}).first()
            found["job"] = r
            return iid if r is None else InstanceRow(**{c.name: getattr(r, f"i_{c.name}") for c in _ROW_COLS})

        def run(ctx: UnitOfWork) -> bool:
            job = found["job"]
            if job is None or (worker is not None and job.locked_by not in (None, worker)):
                return False
            ctx.writes.delete(_J, ("id",), [{"k_id": job_id}])     # with the step's other rows
            if job.kind == JobKind.RETRY:
                t = find_task(ctx.workflow, job.task_id)
                if t is not None and t.state == TaskState.STARTED:
                    t.internal_data.pop(INCIDENT, None)
                    t.internal_data[MAYBE_INCIDENT] = True
                    inc = ctx.session.scalars(select(Incident).where(Incident.task_id == job.task_id,
                                                                     Incident.status == IncidentStatus.OPEN)).first()
                    self._call_handler(ctx, t, retries=inc.retries_left if inc else None)
                    return True
            if job.kind == JobKind.TIMER and ctx.before is not None:
                ctx.before.timers.pop(job.task_id, None)   # a cycle timer waits again: _sync inserts its next job
            return True
        with self.engine.db.read() as s:
            job = s.get(Job, job_id)
            if job is None:
                return False
            iid, kind = job.instance_id, job.kind
        if kind == JobKind.SLA:
            return self._fire_sla(job_id, worker)
        # a failure is the worker's to record (a timer incident, retried by firing it again)
        return self.transaction(locate, run, user=None, incident_on_error=False)

    def _fire_sla(self, job_id: int, worker: str | None) -> bool:
        """Turn a task to its next colour: a row update, the instance's state is not touched.
        The colour, its audit event and the job's deletion are one write (as a step's are);
        the colour_changed listeners run after it, so they read the task's new colour."""
        with self.engine.db.write() as s:
            conn = s.connection()
            job = conn.execute(_SELECT_SLA_JOB, {"jid": job_id}).first()
            if job is None or (worker is not None and job.locked_by not in (None, worker)):
                return False
            writes = StepWrites()
            writes.update(_T, ("id", "status"), [{"k_id": job.task_id, "k_status": TaskStatus.READY,
                                                  "sla_colour": job.note}])
            writes.insert(_HISTORY, [{"instance_id": job.instance_id, "at": self.engine.clock.now(),
                                      "type": EventType.SLA_CHANGED, "element_id": job.element_id,
                                      "task_id": job.task_id, "user": None, "data": {"colour": job.note}}])
            writes.delete(_J, ("id",), [{"k_id": job_id}])
            writes.flush(conn)
            Listeners.call(self.engine.listeners.colour_changed, s, job.instance_id)
        return True

    def _with_incident_task(self, incident_id: int, act: Callable[[UnitOfWork, Any, Incident], None],
                            user: str | None) -> IncidentInfo:
        """Run act(ctx, task, incident) on the still-waiting external task of an open incident."""
        with self.engine.db.read() as s:
            inc = s.get(Incident, incident_id)
            if inc is None or inc.status != IncidentStatus.OPEN:
                raise NotFound(f"no open incident {incident_id}")

        def run(ctx: UnitOfWork) -> None:
            t = find_task(ctx.workflow, inc.task_id)
            if t is None or t.state != TaskState.STARTED:
                raise InvalidState(f"task of incident {incident_id} is no longer waiting")
            t.internal_data.pop(INCIDENT, None)
            t.internal_data[MAYBE_INCIDENT] = True
            act(ctx, t, inc)
        self.transaction(inc.instance_id, run, user=user)
        return self.incident(incident_id)

    def retry_incident(self, incident_id: int, user: str | None = None) -> IncidentInfo:
        """Call the failed handler again now (no automatic retries after this one); for a
        delivery, deliver the message again now; for a timer, fire it now."""
        info = self.incident(incident_id)
        if info["status"] != IncidentStatus.OPEN:
            raise NotFound(f"no open incident {incident_id}")
        if not info["can_retry"]:
            raise InvalidState(f"incident {incident_id} ({info['kind']}) cannot be retried")
        self.engine.audit.record("incident_retry", actor=user, target=f"incident {incident_id}", detail={
            "instance": info["instance_id"], "element": info["element_id"], "kind": str(info["kind"])})
        if info["kind"] == IncidentKind.DELIVERY:
            assert info["outbox_id"] is not None
            self.deliveries.retry(info["outbox_id"], worker=f"retry:{user or ''}:{uuid.uuid4().hex[:8]}")
            return self.incident(incident_id)
        if info["kind"] == IncidentKind.TIMER:
            with self.engine.db.write() as s:
                s.execute(update(Job).where(Job.instance_id == info["instance_id"], Job.task_id == info["task_id"])
                          .values(due_at=self.engine.clock.now(), locked_by=None, locked_until=None))
            return self.incident(incident_id)
        def act(ctx: UnitOfWork, t: Any, inc: Incident) -> None:
            ctx.session.execute(delete(Job).where(Job.task_id == inc.task_id, Job.kind == JobKind.RETRY))
            ctx.log(EventType.INCIDENT_RETRIED, inc.element_id, inc.task_id, {"incident": incident_id})
            self._call_handler(ctx, t, retries=0)
        return self._with_incident_task(incident_id, act, user)

    def resolve_incident(self, incident_id: int, data: Mapping[str, Any] | None = None,
                         user: str | None = None) -> IncidentInfo:
        """Complete the failed external task with data an operator supplies, skipping the
        handler; a calendar, script or stall incident is marked as handled."""
        info = self.incident(incident_id)
        if info["status"] != IncidentStatus.OPEN:
            raise NotFound(f"no open incident {incident_id}")
        if not info["can_resolve"]:
            raise InvalidState(f"incident {incident_id} ({info['kind']}) cannot be resolved")
        self.engine.audit.record("incident_resolve", actor=user, target=f"incident {incident_id}", detail={
            "instance": info["instance_id"], "element": info["element_id"], "kind": str(info["kind"]),
            "fields": sorted(data or {})})
        if info["kind"] != IncidentKind.HANDLER:
            now = self.engine.clock.now()
            with self.engine.db.write() as s:
                s.execute(update(Incident).where(Incident.id == incident_id, Incident.status == IncidentStatus.OPEN)
                          .values(status=IncidentStatus.RESOLVED, resolved_at=now, resolved_by=user))
                s.add(HistoryEvent(instance_id=info["instance_id"], at=now, type=EventType.INCIDENT_RESOLVED,
                                   element_id=info["element_id"], user=user, data={"incident": incident_id}))
            return self.incident(incident_id)
        def act(ctx: UnitOfWork, t: Any, inc: Incident) -> None:
            t.data.update(data or {})
            row = ctx.session.get(Incident, incident_id)
            assert row is not None      # read as open before the transaction; incidents are never deleted
            row.status, row.resolved_at, row.resolved_by = IncidentStatus.RESOLVED, ctx.now, user
            ctx.log(EventType.INCIDENT_RESOLVED, inc.element_id, inc.task_id, {"incident": incident_id, "data": _jsonable(data)})
            t.complete()
        return self._with_incident_task(incident_id, act, user)

    def incident(self, incident_id: int) -> IncidentInfo:
        with self.engine.db.read() as s:
            found = s.execute(_INCIDENT_ROWS.where(Incident.id == incident_id)).first()
            if found is None:
                raise NotFound(f"no incident {incident_id}")
            return _incident_dict(*found)

    def overview(self) -> Overview:
        """Totals for a start page: running instances and open tasks (also per definition key),
        open incidents. One grouped query each, on indexed columns."""
        with self.engine.db.read() as s:
            running = dict(s.execute(select(Instance.definition_key, func.count())
                                     .where(Instance.status == InstanceStatus.RUNNING)
                                     .group_by(Instance.definition_key)).all())
            tasks = dict(s.execute(select(Task.definition_key, func.count())
                                   .where(Task.status == TaskStatus.READY).group_by(Task.definition_key)).all())
            incidents = s.scalar(select(func.count()).select_from(Incident).where(Incident.status == IncidentStatus.OPEN))
        return {"running": sum(running.values()), "tasks": sum(tasks.values()), "incidents": incidents or 0,
                "running_by_key": running, "tasks_by_key": tasks}

    def incidents(self, instance_id: str | None = None,
                  status: IncidentStatus | str | None = IncidentStatus.OPEN, key: str | None = None,
                  where: ColumnElement[bool] | None = None, limit: int | None = None) -> list[IncidentInfo]:
        """Incidents, oldest first, with their instance's process, business key and region.
        `key`: one process; `where`: one more SQL condition on the instance (engine.access
        narrows the list to the regions a user may see with it)."""
        with self.engine.db.read() as s:
            q = _INCIDENT_ROWS
            if instance_id:
                q = q.where(Incident.instance_id == instance_id)
            if status:
                q = q.where(Incident.status == status)
            if key:
                q = q.where(Instance.definition_key == key)
            if where is not None:
                q = q.where(where)
            return [_incident_dict(*r) for r in s.execute(q.order_by(Incident.created_at, Incident.id).limit(limit))]

    def cancel(self, instance_id: str, user: str | None = None, reason: str | None = None) -> None:
        """Cancel a running or suspended instance: its open tasks, timers and subscriptions go
        with it, and its open incidents are closed as cancelled (nobody should retry them)."""
        def run(ctx: UnitOfWork) -> None:
            if ctx.instance.status not in LIVE_INSTANCE:
                raise InvalidState(f"instance {instance_id} is already {ctx.instance.status}")
            ctx.workflow.cancel()
            ctx.instance.status, ctx.instance.ended_at = InstanceStatus.CANCELLED, ctx.now
            closed = ctx.session.execute(
                update(Incident).where(Incident.instance_id == instance_id, Incident.status == IncidentStatus.OPEN)
                .values(status=IncidentStatus.CANCELLED, resolved_at=ctx.now, resolved_by=ctx.user)
                .returning(Incident.id)).scalars().all()
            ctx.log(EventType.INSTANCE_CANCELLED, data={"reason": reason, **({"incidents": sorted(closed)} if closed else {})})
        self.transaction(instance_id, run, user=user, require_running=False)

    def suspend(self, instance_id: str, user: str | None = None) -> None:
        def run(ctx: UnitOfWork) -> None:
            if ctx.instance.status != InstanceStatus.RUNNING:
                raise InvalidState(f"instance {instance_id} is {ctx.instance.status}")
            ctx.instance.status = InstanceStatus.SUSPENDED
            ctx.log(EventType.INSTANCE_SUSPENDED)
        self.transaction(instance_id, run, user=user, require_running=False)

    def resume(self, instance_id: str, user: str | None = None) -> None:
        def run(ctx: UnitOfWork) -> None:
            if ctx.instance.status != InstanceStatus.SUSPENDED:
                raise InvalidState(f"instance {instance_id} is {ctx.instance.status}, not suspended")
            ctx.instance.status = InstanceStatus.RUNNING
            ctx.log(EventType.INSTANCE_RESUMED)
        self.transaction(instance_id, run, user=user, require_running=False)

    def get(self, instance_id: str) -> InstanceInfo:
        with self.engine.db.read() as s:
            row = s.get(Instance, instance_id)
            if row is None:
                raise NotFound(f"no instance {instance_id}")
            return _instance_dict(row)

    def workflow(self, instance_id: str) -> BpmnWorkflow:
        """The instance's tree as stored now, to read (a change goes through transaction())."""
        with self.engine.db.read() as s:
            row = self._row(s, instance_id)
            wf, snap = self._take(s, row)
        self._put(row, wf, snap)
        return wf

    def read_unit(self, session: Session, instance_id: str) -> UnitOfWork:
        """A unit of work on the instance as stored, in the caller's transaction, that is never
        saved: for recomputing what listeners keep (e.g. rebuilding the 晾晒 figures)."""
        row = self._row(session, instance_id)
        wf, snapshot = self._take(session, row)
        return UnitOfWork(session, row, wf, None, self.engine.clock.now(), snapshot)

    def data(self, instance_id: str) -> dict[str, Any]:
        """The instance's current variables (merged over its live tasks)."""
        wf = self.workflow(instance_id)
        data = implicit_end_data(wf)
        data.update(wf.data)
        for t in wf.tasks.values():
            if t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) or t is wf.task_tree:
                data.update(t.data)
        return data

    def instances(self, key: str | None = None, status: InstanceStatus | str | None = None,
                  business_key: str | None = None, limit: int = 100,
                  where: ColumnElement[bool] | None = None) -> list[InstanceInfo]:
        """Instances, newest first; `where`: one more SQL condition (engine.access narrows the
        list to what a user may see with it)."""
        with self.engine.db.read() as s:
            q = select(Instance) if where is None else select(Instance).where(where)
            if key:
                q = q.where(Instance.definition_key == key)
            if status:
                q = q.where(Instance.status == status)
            if business_key:
                q = q.where(Instance.business_key == business_key)
            return [_instance_dict(r) for r in s.scalars(q.order_by(Instance.started_at.desc(), Instance.id)
                                                         .limit(limit))]




def _check_variable_sizes(wf: BpmnWorkflow, limit: int) -> None:
    """Refuse a step that leaves a variable larger than `limit` (its JSON, in bytes): an
    instance's state is read and written whole at every step, so one huge value would slow
    every later step of the appeal (and a 100 MB value was once stored without complaint).
    Called only when the whole state is over the limit, so the common step pays nothing."""
    for t in [wf.task_tree, *all_tasks(wf)]:
        for name, value in list(t.data.items()):
            size = len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))
            if size > limit:
                spec = t.task_spec
                raise EngineStepError(
                    f"变量「{name}」有 {size / 1048576:.1f} MB，超过每个变量 {limit / 1048576:g} MB 的上限"
                    f" (variable {name!r} is {size} bytes, over the limit of {limit})",
                    element=getattr(spec, "bpmn_id", None))


def _calendar_cause(exc: BaseException | None) -> CalendarYearUnknown | None:
    """The CalendarYearUnknown behind an engine step error, if that is what stopped it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, CalendarYearUnknown):
            return exc
        exc = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    return None


def _only_message_start(wf: BpmnWorkflow, message: str, kind: str = WaitKind.MESSAGE) -> None:
    """An instance started by a message starts at that message's start event only.

    SpiffWorkflow splits to every start event and lets the first to fire cancel the
    others, so a process with a none start *and* a message start would run from the none
    start at once and the message would find nobody waiting. Run the split by hand and
    cancel the start events that are not this message's before anything fires.
    """
    for _ in range(3):     # Start, then the split over start events when there are several
        ready = [t for t in wf.get_tasks(state=TaskState.READY) if t.task_spec.name in ("Start", "StartEventSplit")]
        if not ready:
            break
        for t in ready:
            t.run()
    for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.FUTURE | TaskState.LIKELY
                          | TaskState.MAYBE):
        spec = t.task_spec
        if type(spec).__name__ != "StartEvent" or t.parent.task_spec.name not in ("Start", "StartEventSplit"):
            continue
        ed = getattr(spec, "event_definition", None)
        wanted = SignalEventDefinition if kind == WaitKind.SIGNAL else MessageEventDefinition
        if not (isinstance(ed, wanted) and ed.name == message):
            t.cancel()


def _catch(wf: BpmnWorkflow, message: str, payload: Any, kind: str = WaitKind.MESSAGE,
           result_var: str | None = None) -> None:
    """Deliver a message (or a signal) from outside; an instance that no longer waits for it
    is a conflict (SpiffWorkflow would otherwise queue it as if the instance had thrown it).
    A signal's dict payload becomes variables of the tasks that catch it, as Camunda's
    signal event received with variables does."""
    if kind == WaitKind.SIGNAL:
        event = BpmnEvent(SignalEventDefinition(message))
        catching = [t for t in wf.event_manager.tasks.values() if t.task_spec.catches(t, event)]
        if isinstance(payload, dict):
            for t in catching:
                t.data.update(payload)
    else:
        event = BpmnEvent(QihuMessageEventDefinition(message), payload={"payload": payload, "result_var": result_var})
    if wf.event_manager.catch(event, internal=False) == 0:
        raise NotWaiting(f"the instance is no longer waiting for {kind} {message!r}")




def _due(value: Any, now: datetime, element: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timers.TIMEZONE)
    if isinstance(value, timedelta):
        return now + value
    text = str(value).strip()
    try:
        if text.upper().startswith("P"):
            parsed = timers.TimerEventDefinition.parse_iso_duration(text)
            due: datetime = now + timers.TimerEventDefinition.get_timedelta_from_start(parsed, now)
            return due
        dt = datetime.fromisoformat(text)
        return dt if dt.tzinfo else dt.replace(tzinfo=timers.TIMEZONE)
    except Exception:
        raise EngineStepError(bilingual(f"任务 {element} 的到期时间 {text!r} 不是日期或时长",
                                        f"camunda:dueDate of {element} is not a date or duration: {text!r}"),
                              element=element) from None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, ensure_ascii=False)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _instance_dict(r: Instance) -> InstanceInfo:
    return {"id": r.id, "definition_key": r.definition_key, "definition_id": r.definition_id,
            "business_key": r.business_key, "region": r.region, "status": InstanceStatus(r.status),
            "started_by": r.started_by,
            "started_at": r.started_at.isoformat(), "ended_at": r.ended_at.isoformat() if r.ended_at else None}


_INCIDENT_ROWS = select(Incident, Instance.definition_key, Instance.business_key, Instance.region).outerjoin(
    Instance, Instance.id == Incident.instance_id)
# what retry and resolve mean for each kind (see IncidentKind)
_RETRYABLE = {IncidentKind.HANDLER, IncidentKind.DELIVERY, IncidentKind.TIMER}
_RESOLVABLE = {IncidentKind.HANDLER, IncidentKind.CALENDAR, IncidentKind.SCRIPT, IncidentKind.STALL}


def _incident_dict(i: Incident, key: str | None = None, business_key: str | None = None,
                   region: str | None = None) -> IncidentInfo:
    kind = IncidentKind(i.kind or IncidentKind.HANDLER)
    is_open = i.status == IncidentStatus.OPEN
    return {"id": i.id, "instance_id": i.instance_id, "task_id": i.task_id, "element_id": i.element_id,
            "topic": i.topic, "kind": kind, "error_type": i.error_type, "message": i.message, "traceback": i.traceback,
            "retries_left": i.retries_left, "status": IncidentStatus(i.status), "created_at": i.created_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None, "outbox_id": i.outbox_id, "receiver": i.receiver,
            "definition_key": key, "business_key": business_key, "region": region,
            "can_retry": is_open and kind in _RETRYABLE, "can_resolve": is_open and kind in _RESOLVABLE}
