"""Issue 17, operating it: steps reach the Prometheus counters and the JSON log with the request
id, and a scrape reads the backlogs from the database (engine/runtime/telemetry.py).

The per-process metrics live in prometheus-client's default registry for the whole test
process (both halves of db_url included), so each test compares a figure before and after
what it does, on definition keys of its own.
"""
import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from qihu.engine.config import Settings
from qihu.engine.errors import Conflict
from qihu.engine.runtime.service import EngineStepError
from qihu.engine.runtime import heartbeats, outbox, telemetry
from qihu.engine.storage.models import Instance, ProcessHeartbeat
from tests.bpmn_util import bpmn, chain

ROOT = Path(__file__).resolve().parents[2]

TWO_STEPS = bpmn("tele_two", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="clerks" />
<bpmn:exclusiveGateway id="g" />
<bpmn:userTask id="b" name="办理" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "a", "g", "b", "e")}""", name="两步")

FAILS = bpmn("tele_fails", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="clerks" />
<bpmn:scriptTask id="boom" name="计算" scriptFormat="python"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="e" />
{chain("s", "a", "boom", "e")}""", name="会失败")

WAITS = bpmn("tele_waits", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="wait" name="等一小时"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "wait", "a", "e")}""", name="等待")


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def steps(definition, outcome):
    return sample("qihu_steps_total", definition=definition, outcome=outcome)


def open_task(engine, iid, element):
    [t] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
    return t["id"]


def json_lines(stream, logger=None):
    out = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [r for r in out if logger is None or r["logger"] == logger]


def test_steps_are_counted_by_outcome_with_their_time(engine):
    telemetry.install(engine)
    telemetry.install(engine)          # once per engine: a second call adds no second count
    assert engine.listeners.step_done.count(telemetry.count_step) == 1
    engine.repository.deploy([("two.bpmn", TWO_STEPS), ("fails.bpmn", FAILS)])
    before = {o: steps("tele_two", o) for o in ("ok", "conflict", "error")}
    seconds_before = sample("qihu_step_seconds_count", definition="tele_two")
    slow_before = sample("qihu_step_seconds_bucket", definition="tele_two", le="10.0")
    auto_before = sample("qihu_automatic_steps_total", definition="tele_two")

    iid = engine.runtime.start("tele_two", {"n": 1})                              # a start is a step
    assert steps("tele_two", "ok") == before["ok"] + 1
    engine.tasks.complete(open_task(engine, iid, "a"), "li", {}, check=False)      # ok: a, the gateway
    assert steps("tele_two", "ok") == before["ok"] + 2
    assert sample("qihu_automatic_steps_total", definition="tele_two") > auto_before

    def changed_meanwhile(uow):        # another writer moved the instance's version meanwhile
        uow.session.execute(update(Instance).where(Instance.id == iid).values(version=Instance.version + 1))
    with pytest.raises(Conflict):
        engine.runtime.transaction(iid, changed_meanwhile)
    assert steps("tele_two", "conflict") == before["conflict"] + 1
    assert steps("tele_two", "error") == before["error"]
    assert sample("qihu_step_seconds_count", definition="tele_two") == seconds_before + 3
    assert sample("qihu_step_seconds_bucket", definition="tele_two", le="10.0") == slow_before + 3
    assert sample("qihu_step_seconds_sum", definition="tele_two") > 0

    fails_ok_before = steps("tele_fails", "ok")
    failing = engine.runtime.start("tele_fails")
    error_before = steps("tele_fails", "error")
    with pytest.raises(EngineStepError):
        engine.tasks.complete(open_task(engine, failing, "a"), "li", {}, check=False)   # 1 / 0
    assert steps("tele_fails", "error") == error_before + 1
    assert steps("tele_fails", "ok") == fails_ok_before + 1                       # its start


def test_a_step_is_one_json_log_line_with_the_request_id(engine, logs):
    telemetry.install(engine)
    engine.repository.deploy([("two.bpmn", TWO_STEPS)])
    iid = engine.runtime.start("tele_two")
    token = telemetry.request_id.set("req-天-1")
    try:
        engine.tasks.complete(open_task(engine, iid, "a"), "张三", {}, check=False)
    finally:
        telemetry.request_id.reset(token)
    start, line = json_lines(logs, "qihu.step")         # the start, then the completion
    assert start["instance"] == iid and start["request_id"] is None and start["outcome"] == "ok"
    raw = [x for x in logs.getvalue().splitlines() if '"qihu.step"' in x and "req-" in x]
    assert len(raw) == 1 and "张三" in raw[0]             # one line, Chinese as it is (not \u5f20)
    assert line["request_id"] == "req-天-1" and line["level"] == "INFO"
    assert line["instance"] == iid and line["definition"] == "tele_two" and line["user"] == "张三"
    assert line["outcome"] == "ok" and line["error"] is None and line["automatic_steps"] >= 1
    assert isinstance(line["ms"], float) and line["ms"] >= 0
    assert datetime.fromisoformat(line["time"]).tzinfo is not None and iid in line["message"]

    # outside a request the id is null, and a failed step says what failed
    engine.repository.deploy([("fails.bpmn", FAILS)])
    failing = engine.runtime.start("tele_fails")
    with pytest.raises(EngineStepError):
        engine.tasks.complete(open_task(engine, failing, "a"), "li", {}, check=False)
    last = json_lines(logs, "qihu.step")[-1]
    assert last["request_id"] is None and last["outcome"] == "error" and last["level"] == "WARNING"
    assert last["error"] and last["definition"] == "tele_fails"


def test_configure_logging_is_idempotent_and_text_by_default():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    step_level = telemetry.STEP_LOG.level
    try:
        first, second = io.StringIO(), io.StringIO()
        telemetry.configure_logging(Settings(log_format="json"), stream=first)
        telemetry.configure_logging(Settings(), stream=second)           # text replaces json
        assert len([h for h in root.handlers if h not in handlers]) == 1
        token = telemetry.request_id.set("r-42")
        try:
            logging.getLogger("qihu.test").warning("出错了 %s", 1)
        finally:
            telemetry.request_id.reset(token)
        logging.getLogger("qihu.test").warning("no request")
        assert first.getvalue() == ""
        text = second.getvalue().splitlines()
        assert text[0].endswith("WARNING qihu.test [r-42] 出错了 1") and text[1].endswith("[-] no request")
        assert not telemetry.STEP_LOG.isEnabledFor(logging.INFO)         # text: only steps that failed
        with pytest.raises(ValueError, match="text 或 json"):
            telemetry.configure_logging(Settings(log_format="xml"))
    finally:
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
        telemetry.STEP_LOG.setLevel(step_level)


def test_a_scrape_reads_incidents_backlogs_and_workers_from_the_database(engine, clock):
    engine.repository.deploy([("fails.bpmn", FAILS), ("waits.bpmn", WAITS)])
    quiet = telemetry.database_figures(engine)
    assert quiet["incidents_open"]["script"] == 0 and quiet["outbox_rows"] == 0 and quiet["jobs_due"] == 0
    assert quiet["outbox_lag_seconds"] == 0 and quiet["timer_lag_seconds"] == 0
    assert quiet["processes_alive"] == {"web": 0, "worker": 0}

    failing = engine.runtime.start("tele_fails")
    with pytest.raises(EngineStepError):
        engine.tasks.complete(open_task(engine, failing, "a"), "li", {}, check=False)   # an open script incident
    engine.runtime.start("tele_waits")                                             # a timer due in an hour
    with engine.db.write() as s:                     # a notice written and not delivered (no worker ran)
        s.add(outbox.notice_row("sms", "13800000000", "您的诉求已受理", "tele-1", None, failing, clock.now()))
    heartbeats.beat(engine, "worker")
    with engine.db.write() as s:                     # a worker that died two hours ago is not alive
        old = datetime.now(timezone.utc) - timedelta(hours=2)
        s.add(ProcessHeartbeat(name="gone:1:worker", kind="worker", host="gone", pid=1, started_at=old, beat_at=old,
                               steps=0))
    clock.advance(hours=2)

    f = telemetry.database_figures(engine)
    assert f["incidents_open"]["script"] == 1 and f["incidents_open"]["handler"] == 0
    assert f["outbox_rows"] == 1 and f["outbox_lag_seconds"] == 7200
    assert f["jobs_due"] == 1 and f["timer_lag_seconds"] == 3600
    assert f["processes_alive"] == {"web": 0, "worker": 1}

    body, content_type = telemetry.metrics_text(engine)
    text = body.decode()
    assert content_type.startswith("text/plain")
    for line in ('qihu_incidents_open{kind="script"} 1.0', "qihu_outbox_rows 1.0", "qihu_outbox_lag_seconds 7200.0",
                 "qihu_jobs_due 1.0", "qihu_timer_lag_seconds 3600.0", 'qihu_processes_alive{kind="worker"} 1.0',
                 "qihu_database_up 1.0"):
        assert line in text.splitlines(), line
    assert "# TYPE qihu_steps_total counter" in text and "# TYPE qihu_step_seconds histogram" in text


def test_a_suspended_instance_s_timer_is_no_lag(engine, clock):
    """The worker fires jobs of running instances only; a suspended one's timer waits on purpose."""
    engine.repository.deploy([("waits.bpmn", WAITS)])
    iid = engine.runtime.start("tele_waits")
    with engine.db.write() as s:
        s.execute(update(Instance).where(Instance.id == iid).values(status="suspended"))
    clock.advance(hours=2)
    f = telemetry.database_figures(engine)
    assert f["jobs_due"] == 0 and f["timer_lag_seconds"] == 0


def test_a_database_that_does_not_answer_is_a_zero_not_a_failed_scrape():
    from qihu.engine import Engine
    engine = Engine("postgresql+psycopg://postgres@127.0.0.1:5398/nothing?connect_timeout=2",
                    settings=Settings(), migrate=False)
    try:
        text = telemetry.metrics_text(engine)[0].decode()
    finally:
        engine.close()
    assert "qihu_database_up 0.0" in text.splitlines() and "qihu_outbox_rows" not in text
    assert "# TYPE qihu_steps_total counter" in text


# -- several processes (gunicorn): prometheus-client's multiprocess mode -------------------------
COUNT = """
from qihu.engine.listeners import StepDone
from qihu.engine.runtime import telemetry
telemetry.count_step(StepDone("i-{n}", "tele_multi", "li", 0.02, 3, "ok"))
telemetry.count_step(StepDone("i-{n}", "tele_multi", "li", 0.5, 0, "conflict"))
"""
SCRAPE = """
from prometheus_client.exposition import generate_latest
from qihu.engine.runtime import telemetry
print(generate_latest(telemetry.scrape_registry(None)).decode())
"""
PREPARE = """
import os
from qihu.engine.runtime import telemetry
path, made = telemetry.prepare_multiprocess()
print(path, made, os.environ["PROMETHEUS_MULTIPROC_DIR"] == path, sorted(os.listdir(path)))
"""


def _python(code, env):
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_web_processes_add_up_their_counts_in_multiprocess_mode(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != telemetry.MULTIPROC_ENV}
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"left from the last run")
    (shared / "keep.txt").write_text("not ours")
    out = _python(PREPARE, {**env, telemetry.MULTIPROC_ENV: str(shared)}).split(" ", 2)
    assert out[0] == str(shared) and out[1:] == ["False", "True ['keep.txt']\n"]    # the operator's, emptied
    made = _python(PREPARE, env).split()
    assert made[1] == "True" and Path(made[0]).is_dir() and made[0] != str(shared)
    telemetry.remove_multiprocess_dir(made[0])
    assert not Path(made[0]).exists()

    env[telemetry.MULTIPROC_ENV] = str(shared)
    for n in (1, 2):                                   # two web processes, each counting its own steps
        _python(COUNT.format(n=n), env)
    text = _python(SCRAPE, env).splitlines()
    assert 'qihu_steps_total{definition="tele_multi",outcome="ok"} 2.0' in text
    assert 'qihu_steps_total{definition="tele_multi",outcome="conflict"} 2.0' in text
    assert 'qihu_step_seconds_count{definition="tele_multi"} 4.0' in text
    assert 'qihu_automatic_steps_total{definition="tele_multi"} 6.0' in text


def test_multiprocess_mode_cannot_be_chosen_after_prometheus_client_was_imported(monkeypatch):
    import prometheus_client  # noqa: F401 - imported by this test process already
    monkeypatch.delenv(telemetry.MULTIPROC_ENV, raising=False)
    with pytest.raises(RuntimeError, match="prepare_multiprocess"):
        telemetry.prepare_multiprocess({})
    env = {telemetry.MULTIPROC_ENV: "/tmp/web-metrics"}
    telemetry.prepare_worker(env)                      # a worker counts alone: the web's directory is dropped
    assert env == {}
