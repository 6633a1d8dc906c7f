"""Telemetry: what an operator reads of a running qihu — logs with a request id, and metrics.

Logs. `request_id` is a context variable: the web layer sets it for each request (web/ops.py),
it is None elsewhere (a worker's timer, the command line). `configure_logging(settings)` puts one
handler on the root logger, text (Python's usual lines, the request id in brackets) or, with
`Settings.log_format == "json"` (QIHU_LOG_FORMAT=json), one JSON object a line — time (UTC,
ISO 8601), level, logger, message, request_id and the record's `extra` fields, Chinese as it is.
The JSON is python-json-logger's (a small, well-kept formatter: it already carries extras,
exceptions and odd values); this module only fixes the field names and order.
With json, the logger "qihu.step" writes one line per step (install(engine) adds the listener)
and "qihu.request" one line per web request (web/ops.py); with text, only the steps that did
not succeed (a conflict, a failure) are written, and gunicorn's access log has the requests.

Metrics (Prometheus, prometheus-client). Per process, counted as steps end (step_done):
  qihu_steps_total{definition, outcome}       steps by outcome: ok | conflict | error
  qihu_step_seconds{definition}               histogram of a step's transaction, BEGIN to COMMIT
  qihu_automatic_steps_total{definition}      engine steps (scripts, gateways, events) run in them
Read from the database when /metrics is scraped, once per scrape (the database is one, however
many processes serve /metrics; each query is one indexed read, counts stop at COUNT_CAP):
  qihu_database_up                            1, or 0 when the queries below failed
  qihu_incidents_open{kind}                   open incidents by kind (handler, delivery, ...)
  qihu_outbox_rows, qihu_outbox_lag_seconds   undelivered outbox rows; age of the oldest
  qihu_jobs_due, qihu_timer_lag_seconds       due, unfired jobs (timers, retries, colours) of running
                                              instances; how long the oldest has been due
  qihu_processes_alive{kind}                  web processes and workers whose heartbeat is recent
Lags are measured on the engine's clock, which is the clock jobs are due on.

Several processes. gunicorn runs several web processes, and a scrape reaches one of them. When
PROMETHEUS_MULTIPROC_DIR is set, prometheus-client keeps each process's counters in files there
and a scrape adds up every process's files (its multiprocess mode); otherwise a process reports
its own. `qihu serve` calls prepare_multiprocess() before the web processes start: it uses the
directory the operator set, emptied, or makes a fresh temporary one. prometheus-client decides
the mode when it is first imported, so this module imports it only when metrics are first
made, and prepare_multiprocess refuses to run after that. `qihu worker` is one process and
serves its own counters on --metrics-port (serve_metrics); it must not write into the web's
directory, or its steps would be counted twice (see prepare_worker).
"""
from __future__ import annotations

import contextvars
import logging
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, MutableMapping

from sqlalchemy import func, select

from qihu.engine.listeners import StepDone
from qihu.engine.runtime import heartbeats
from qihu.engine.storage.models import Incident, Instance, Job, Outbox
from qihu.engine.types import IncidentKind, IncidentStatus, InstanceStatus

if TYPE_CHECKING:
    from qihu.engine.config import Settings
    from qihu.engine.core import Engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
EXTENSION = "telemetry"          # engine.extensions key: the engine's step listeners are installed
COUNT_CAP = 100_000              # rows counted at most per scrape (a backlog past this is "at least")
STEP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The id of the web request being served in this thread (web/ops.py sets it), else None.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("qihu_request_id", default=None)

STEP_LOG = logging.getLogger("qihu.step")
REQUEST_LOG = logging.getLogger("qihu.request")
LINE_LOGGERS = (STEP_LOG, REQUEST_LOG)
_HANDLER_MARK = "_qihu_telemetry"       # the root handler configure_logging made, to replace it


# -- logs --------------------------------------------------------------------------------------
class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id` (the current request's, unless the record brings one)."""

    def __init__(self, missing: str | None = None) -> None:
        super().__init__()
        self.missing = missing

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get() or self.missing
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, request_id, then the record's
    extra fields (and exc_info when there is one); Chinese unescaped."""
    from pythonjsonlogger.json import JsonFormatter

    class QihuJsonFormatter(JsonFormatter):
        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                       message_dict: dict[str, Any]) -> None:
            log_data["time"] = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            super().add_fields(log_data, record, message_dict)
            log_data.setdefault("request_id", request_id.get())

    return QihuJsonFormatter(["levelname", "name", "message"], rename_fields={"levelname": "level", "name": "logger"},
                             json_ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


# libraries that log at INFO what is not an operator's business: SpiffWorkflow's "State changed"
# of every task, Alembic's plugin set-up on every start
LIBRARY_LOGGERS = ("spiff", "alembic.runtime.plugins")


def configure_logging(settings: Settings, stream: Any = None) -> None:
    """Log to stderr (or `stream`) as `settings.log_format` says: "text" or "json".

    Replaces the handler an earlier call added, so calling it again (a second app in one
    process, a test) changes the format instead of printing every line twice."""
    fmt = getattr(settings, "log_format", "text") or "text"
    if fmt not in ("text", "json"):
        raise ValueError(f"log_format={fmt!r} is not text or json (日志格式只能是 text 或 json)")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    if fmt == "json":
        handler.setFormatter(json_formatter())
        handler.addFilter(RequestIdFilter(None))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        handler.addFilter(RequestIdFilter("-"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for line_logger in LINE_LOGGERS:     # one line per step and per request: json only
        line_logger.setLevel(logging.INFO if fmt == "json" else logging.WARNING)
    for chatty in LIBRARY_LOGGERS:       # a line per task state change would drown the steps
        logging.getLogger(chatty).setLevel(logging.WARNING)


def log_step(done: StepDone) -> None:
    """The step_done listener of the logs: one line per step (INFO; WARNING when it failed)."""
    level = logging.INFO if done.outcome == "ok" else logging.WARNING
    if not STEP_LOG.isEnabledFor(level):
        return
    ms = round(done.seconds * 1000, 1)
    STEP_LOG.log(level, "step %s of %s: %s in %s ms", done.instance_id, done.definition_key,
                 done.outcome if done.error is None else f"{done.outcome} ({done.error})", ms,
                 extra={"instance": done.instance_id, "definition": done.definition_key, "user": done.user,
                        "ms": ms, "automatic_steps": done.automatic_steps, "outcome": done.outcome,
                        "error": done.error, "request_id": request_id.get()})


# -- metrics: per process -------------------------------------------------------------------
@dataclass(frozen=True)
class _StepMetrics:
    steps: Any
    seconds: Any
    automatic: Any


_metrics: _StepMetrics | None = None
_metrics_lock = threading.Lock()


def _step_metrics() -> _StepMetrics:
    """This process's step metrics, made on first use (see the module doc: the import of
    prometheus_client fixes whether it runs in multiprocess mode)."""
    global _metrics
    if _metrics is None:
        with _metrics_lock:
            if _metrics is None:
                from prometheus_client import Counter, Histogram
                _metrics = _StepMetrics(
                    Counter("qihu_steps", "Steps of process instances, by outcome (ok, conflict, error)",
                            ["definition", "outcome"]),
                    Histogram("qihu_step_seconds", "Time of a step's transaction, from BEGIN to after COMMIT",
                              ["definition"], buckets=STEP_SECONDS_BUCKETS),
                    Counter("qihu_automatic_steps", "Engine steps (scripts, gateways, events) run inside steps",
                            ["definition"]))
    return _metrics


def count_step(done: StepDone) -> None:
    """The step_done listener of the metrics."""
    m = _step_metrics()
    definition = done.definition_key or ""
    m.steps.labels(definition, done.outcome).inc()
    m.seconds.labels(definition).observe(done.seconds)
    if done.automatic_steps:
        m.automatic.labels(definition).inc(done.automatic_steps)


def install(engine: Engine) -> None:
    """Count and log the engine's steps (its step_done listeners); once per engine. Every
    process that runs steps calls it: the web extension for its engine, `qihu worker`."""
    if EXTENSION in engine.extensions:
        return
    # the metrics themselves are made at the first step (count_step): `qihu serve` builds an
    # app in the arbiter before gunicorn forks, and importing prometheus_client there would
    # fix its mode before prepare_multiprocess could choose the multiprocess one
    engine.listeners.step_done.extend([count_step, log_step])
    engine.extensions[EXTENSION] = True


# -- metrics: from the database, at scrape time ----------------------------------------------
def _capped_count(session: Any, query: Any) -> int:
    """COUNT(*) of at most COUNT_CAP rows: a backlog of millions is not counted row by row."""
    return int(session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery())) or 0)


def database_figures(engine: Engine) -> dict[str, Any]:
    """What the database says now: open incidents by kind, outbox and timer backlogs and lags,
    processes alive. One short read transaction, each query on an indexed column."""
    now = engine.clock.now()
    with engine.db.read() as s:
        incidents = {str(kind): 0 for kind in IncidentKind}
        for kind, n in s.execute(select(Incident.kind, func.count()).where(Incident.status == IncidentStatus.OPEN)
                                 .group_by(Incident.kind)):
            incidents[str(kind)] = int(n)
        outbox_rows = _capped_count(s, select(Outbox.id))
        oldest_outbox = s.scalar(select(Outbox.created_at).order_by(Outbox.id).limit(1))
        due = (select(Job.due_at).join(Instance, Instance.id == Job.instance_id)
               .where(Job.due_at <= now, Instance.status == InstanceStatus.RUNNING))
        jobs_due = _capped_count(s, due)
        oldest_due = s.scalar(due.order_by(Job.due_at).limit(1))
    return {"incidents_open": incidents, "outbox_rows": outbox_rows,
            "outbox_lag_seconds": max(0.0, (now - oldest_outbox).total_seconds()) if oldest_outbox else 0.0,
            "jobs_due": jobs_due,
            "timer_lag_seconds": max(0.0, (now - oldest_due).total_seconds()) if oldest_due else 0.0,
            "processes_alive": {kind: len(heartbeats.alive(engine, kind)) for kind in ("web", "worker")}}


class DatabaseCollector:
    """The database gauges, read afresh on every collect (a scrape)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        up = GaugeMetricFamily("qihu_database_up", "1 when the database answered this scrape's queries, else 0")
        try:
            f = database_figures(self.engine)
        except Exception:
            logging.getLogger(__name__).exception("metrics: the database figures could not be read")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        incidents = GaugeMetricFamily("qihu_incidents_open", "Open incidents, by kind", labels=["kind"])
        for kind, n in sorted(f["incidents_open"].items()):
            incidents.add_metric([kind], n)
        yield incidents
        yield GaugeMetricFamily("qihu_outbox_rows", f"Undelivered outbox rows (counted up to {COUNT_CAP})",
                                value=f["outbox_rows"])
        yield GaugeMetricFamily("qihu_outbox_lag_seconds", "Age of the oldest undelivered outbox row (0: none)",
                                value=f["outbox_lag_seconds"])
        yield GaugeMetricFamily("qihu_jobs_due", f"Due, unfired jobs of running instances (counted up to {COUNT_CAP})",
                                value=f["jobs_due"])
        yield GaugeMetricFamily("qihu_timer_lag_seconds", "How long the oldest due, unfired job has been due (0: none)",
                                value=f["timer_lag_seconds"])
        alive = GaugeMetricFamily("qihu_processes_alive", "Processes whose heartbeat is recent, by kind",
                                  labels=["kind"])
        for kind, n in sorted(f["processes_alive"].items()):
            alive.add_metric([kind], n)
        yield alive


class _ThisProcess:
    """This process's own metrics (prometheus-client's default registry: ours, and the
    process's CPU and memory), for a scrape registry."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client import REGISTRY
        yield from REGISTRY.collect()


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def scrape_registry(engine: Engine | None) -> Any:
    """A registry for one scrape: every web process's step metrics (multiprocess mode) or this
    process's, plus the database gauges when an engine is given."""
    from prometheus_client import CollectorRegistry
    _step_metrics()
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        from prometheus_client.multiprocess import MultiProcessCollector
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    if engine is not None:
        registry.register(DatabaseCollector(engine))
    return registry


def metrics_text(engine: Engine, accept: str = "") -> tuple[bytes, str]:
    """The Prometheus exposition of the metrics above, and its content type (the text format,
    or OpenMetrics when the scraper's Accept header asks for it)."""
    from prometheus_client.exposition import choose_encoder
    encoder, content_type = choose_encoder(accept)
    return encoder(scrape_registry(engine)), content_type


def serve_metrics(port: int, host: str = "127.0.0.1", engine: Engine | None = None) -> Any:
    """Serve this process's metrics over HTTP on host:port, in a daemon thread (`qihu worker
    --metrics-port`); returns the server (call .shutdown() to stop it). Loopback by default: the
    port has no authentication, so expose it on purpose (host="0.0.0.0") or through a proxy.
    The database gauges come from the web's /metrics; give `engine` to serve them here too (a
    deployment without a web process)."""
    from prometheus_client import start_http_server
    server, _thread = start_http_server(port, addr=host, registry=scrape_registry(engine))
    return server


# -- several processes -------------------------------------------------------------------------
def _prometheus_imported() -> bool:
    return "prometheus_client.values" in sys.modules


def prepare_multiprocess(env: MutableMapping[str, str] | None = None) -> tuple[str, bool]:
    """Before gunicorn starts the web processes (`qihu serve`): the directory where each process
    keeps its counters, set in PROMETHEUS_MULTIPROC_DIR. The operator's directory (emptied of
    the last run's files, which would be added up again), else a fresh temporary one. Returns
    (directory, made): remove it at exit when `made`.

    Must run before anything in this process imports prometheus_client (it chooses the mode
    once, when first imported); raises RuntimeError after that."""
    env = os.environ if env is None else env
    if _prometheus_imported() and not multiprocess_mode():
        raise RuntimeError("prometheus_client was imported before prepare_multiprocess(): the web processes "
                           "would each count alone (指标多进程模式须在导入 prometheus_client 之前设置)")
    path, made = env.get(MULTIPROC_ENV, "").strip(), False
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        path, made = tempfile.mkdtemp(prefix="qihu-metrics-"), True
    env[MULTIPROC_ENV] = path
    return path, made


def remove_multiprocess_dir(path: str) -> None:
    """Remove the directory prepare_multiprocess made (at exit of `qihu serve`)."""
    shutil.rmtree(path, ignore_errors=True)


def prepare_worker(env: MutableMapping[str, str] | None = None) -> None:
    """Before a worker starts (`qihu worker`): it counts alone and serves its own metrics, so it
    must not write into the web processes' directory (a PROMETHEUS_MULTIPROC_DIR inherited from
    a shared environment file), or the web's /metrics would count its steps as well."""
    env = os.environ if env is None else env
    if _prometheus_imported() and multiprocess_mode():
        raise RuntimeError("prometheus_client was imported in multiprocess mode before prepare_worker(): the "
                           "worker would write into the web processes' directory (须在导入 prometheus_client 之前调用)")
    env.pop(MULTIPROC_ENV, None)
