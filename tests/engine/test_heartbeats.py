"""Heartbeats (issue 17, Serve and operate): every web process and worker writes a row of
process_heartbeat while it runs and deletes it when it stops cleanly; /readyz counts the
workers whose beat is recent. Beats use the wall clock, never the engine's (which may be a
fixed training "now"). And a stopping worker lets the step in flight finish."""
import os
import socket
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from qihu.engine import HandlerRegistry
from qihu.engine.runtime import heartbeats
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import Job, ProcessHeartbeat
from tests.bpmn_util import bpmn, chain

TIMER = bpmn("hb_timed", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="wait" name="等五分钟"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:serviceTask id="svc" name="对接" camunda:type="external" camunda:topic="hb.slow" />
<bpmn:userTask id="u" name="到期后" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "wait", "svc", "u", "e")}""")

TWO_STEPS = bpmn("hb_two", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="b" name="办理" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "a", "b", "e")}""")

WAIT = 10.0      # the most a test waits for a thread to do what it must (a bound, not a timing)


def rows(engine):
    with engine.db.read() as s:
        return {r.name: (r.kind, r.pid, r.steps) for r in s.scalars(select(ProcessHeartbeat))}


def handlers(fn=None):
    r = HandlerRegistry()
    r.register("hb.slow", fn or (lambda **_: {"done": True}))
    return r


def wait_for(predicate, what):
    """Polls until predicate() is true; fails naming what did not happen."""
    done = threading.Event()
    for _ in range(int(WAIT / 0.02)):
        if predicate():
            return
        done.wait(0.02)
    raise AssertionError(f"not within {WAIT}s: {what}")


def test_beat_alive_forget(engine):
    name = heartbeats.beat(engine, "worker", steps=3)
    assert name == f"{socket.gethostname()}:{os.getpid()}:worker"
    [row] = heartbeats.alive(engine, "worker")
    assert (row["name"], row["kind"], row["host"], row["pid"], row["steps"]) == \
        (name, "worker", socket.gethostname(), os.getpid(), 3)
    assert heartbeats.alive(engine, "web") == []
    assert heartbeats.beat(engine, "worker", steps=8) == name       # the same row, updated
    [again] = heartbeats.alive(engine, "worker")
    assert again["steps"] == 8 and again["started_at"] == row["started_at"] and again["beat_at"] >= row["beat_at"]
    web = heartbeats.beat(engine, "web", name="other-host:7:web")
    assert [r["name"] for r in heartbeats.alive(engine, "web")] == [web]
    heartbeats.forget(engine, name)
    assert heartbeats.alive(engine, "worker") == [] and set(rows(engine)) == {web}
    heartbeats.forget(engine, name)                                  # twice is harmless


def test_beats_use_the_wall_clock_not_the_engines(engine, clock):
    """The test engine's clock is fixed a month or more away from today: a beat still counts
    as recent, and its time is today's."""
    assert abs(clock.now() - datetime.now(timezone.utc)) > timedelta(days=1)
    heartbeats.beat(engine, "worker")
    [row] = heartbeats.alive(engine, "worker")
    assert abs(row["beat_at"] - datetime.now(timezone.utc)) < timedelta(minutes=5)


def test_a_stale_row_is_not_alive(engine):
    engine.settings.heartbeat_stale = 60.0
    fresh = heartbeats.beat(engine, "worker", name="a:1:worker")
    stale = heartbeats.beat(engine, "worker", name="b:2:worker")
    with engine.db.write() as s:     # b died two minutes ago: its last beat is that old
        s.execute(update(ProcessHeartbeat).where(ProcessHeartbeat.name == stale)
                  .values(beat_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    assert [r["name"] for r in heartbeats.alive(engine, "worker")] == [fresh]
    assert sorted(r["name"] for r in heartbeats.alive(engine, "worker", within=600)) == [fresh, stale]


def test_rows_of_processes_dead_a_day_are_swept_by_the_worker(make_engine):
    """A process that crashed never deletes its row; the worker's stall check removes rows a
    day stale, so they do not pile up (and leaves the stale-but-recent ones to be seen)."""
    engine = make_engine()
    heartbeats.beat(engine, "web", name="gone:1:web")
    heartbeats.beat(engine, "worker", name="stale:2:worker")
    with engine.db.write() as s:
        s.execute(update(ProcessHeartbeat).where(ProcessHeartbeat.name == "gone:1:web")
                  .values(beat_at=datetime.now(timezone.utc) - timedelta(days=1, minutes=1)))
        s.execute(update(ProcessHeartbeat).where(ProcessHeartbeat.name == "stale:2:worker")
                  .values(beat_at=datetime.now(timezone.utc) - timedelta(hours=2)))
    Worker(engine).check_stalls()
    assert set(rows(engine)) == {"stale:2:worker"}


def test_the_worker_beats_with_its_count_and_forgets_on_stop(make_engine, clock):
    e = make_engine(handlers=handlers(), heartbeat_interval=0.05)
    e.repository.deploy([("t.bpmn", TIMER)])
    e.runtime.start("hb_timed")
    clock.advance(minutes=10)
    w = Worker(e)
    thread = w.start_thread(poll_interval=0.05)
    try:
        wait_for(lambda: any(kind == "worker" and steps >= 1 for kind, _pid, steps in rows(e).values()),
                 "a worker row counting the fired timer")
        [row] = heartbeats.alive(e, "worker")
        assert row["pid"] == os.getpid()
    finally:
        w.stop()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert rows(e) == {}                                            # stopped cleanly: no row left


def test_stop_during_run_once_lets_the_step_in_flight_finish(make_engine, clock):
    entered, release = threading.Event(), threading.Event()

    def slow(**_):
        entered.set()
        assert release.wait(WAIT), "the test never released the handler"
        return {"done": True}

    e = make_engine(handlers=handlers(slow), heartbeat_interval=0.05)
    e.repository.deploy([("t.bpmn", TIMER)])
    first, second = e.runtime.start("hb_timed"), e.runtime.start("hb_timed")
    clock.advance(minutes=10)
    w = Worker(e)
    thread = w.start_thread(poll_interval=0.05)
    try:
        assert entered.wait(WAIT), "the worker never fired the first timer"
        w.stop()                      # asked to stop while the first step is inside its handler
        release.set()
        thread.join(WAIT)
        assert not thread.is_alive()
    finally:
        release.set()
        w.stop()
        thread.join(WAIT)
    # the step in flight was not cut: the first appeal went on to its user task
    assert [t["name"] for t in e.tasks.list(instance_id=first)] == ["到期后"]
    # the second was claimed in the same sweep but not started: released for the next worker
    assert e.tasks.list(instance_id=second) == []
    with e.db.read() as s:
        [job] = s.scalars(select(Job).where(Job.instance_id == second))
        assert job.locked_by is None and job.locked_until is None
    assert rows(e) == {}
    assert Worker(e).run_once() == 1                                # another worker takes it at once
    assert [t["name"] for t in e.tasks.list(instance_id=second)] == ["到期后"]


def test_a_web_process_beats_from_a_thread_counting_its_steps(make_engine):
    """What each gunicorn web process starts after its fork (qihu/serving.py)."""
    e = make_engine(heartbeat_interval=0.05)
    e.repository.deploy([("t.bpmn", TWO_STEPS)])
    e.tasks.add_member("li", "acceptor")
    iid = e.runtime.start("hb_two")
    beat = heartbeats.HeartbeatThread(e, "web").start()
    try:
        wait_for(lambda: heartbeats.alive(e, "web"), "the first beat")
        for _ in range(2):                         # two steps: 受理, then 办理
            [task] = e.tasks.list(instance_id=iid)
            e.tasks.complete(task["id"], "li", {})
        wait_for(lambda: [r["steps"] for r in heartbeats.alive(e, "web")] == [2], "a beat counting two steps")
        [row] = heartbeats.alive(e, "web")
        assert row["name"] == f"{socket.gethostname()}:{os.getpid()}:web"
    finally:
        beat.stop()
    assert rows(e) == {}
