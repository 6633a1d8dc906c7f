"""Kill -9 an engine process at random moments and count what was lost (issue 13).

An engine process (a child of this script) works as a server with its embedded worker
does: it starts appeals that hand off to another process by a message start, notify a
waiting instance by a message catch, and wait on timers, while a worker thread fires the
timers and delivers the outbox. The parent kills it with SIGKILL after a random time, N
times, then lets a worker of its own (its clock past every lease) finish what is pending,
and checks the database:

- lost: a message a committed step threw that never reached its receiver;
- duplicated: a message that started two receivers, or was caught twice;
- inconsistent: an instance whose rows (open tasks, due timers, subscriptions) disagree
  with its stored tree, or an outbox row still undelivered after recovery;
- double-fired: a timer that fired twice.

    python bench/chaos_bench.py --kills 120 --db both

The last line is `chaos kills: K; lost: L; duplicated: D; inconsistent: I; double-fired: F`.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import add_database_args, on_databases  # noqa: E402

MSG = ('  <bpmn:message id="m_h" name="chaos_handoff" />\n  <bpmn:message id="m_p" name="chaos_ping" />\n')
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">\n')


def _chain(pid, *elements):
    """A process of (id, xml) elements in sequence."""
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a[0]}" targetRef="{b[0]}" />'
                    for i, (a, b) in enumerate(zip(elements, elements[1:])))
    return (HEAD.format(pid=pid) + MSG + f'<bpmn:process id="{pid}" isExecutable="true">'
            + "".join(x for _, x in elements) + flows + '</bpmn:process></bpmn:definitions>').encode()


def _user(i):
    return (i, f'<bpmn:userTask id="{i}" name="{i}" camunda:candidateUsers="bot" />')


DIAGRAMS = [
    ("chaos_sender.bpmn", _chain(
        "chaos_sender", ("s", '<bpmn:startEvent id="s" />'), _user("fill"),
        ("hand", '<bpmn:intermediateThrowEvent id="hand"><bpmn:messageEventDefinition messageRef="m_h" />'
                 '</bpmn:intermediateThrowEvent>'),
        ("ping", '<bpmn:intermediateThrowEvent id="ping"><bpmn:messageEventDefinition messageRef="m_p" />'
                 '</bpmn:intermediateThrowEvent>'),
        _user("after"), ("e", '<bpmn:endEvent id="e" />'))),
    ("chaos_receiver.bpmn", _chain(
        "chaos_receiver", ("s", '<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m_h" /></bpmn:startEvent>'),
        _user("review"), ("e", '<bpmn:endEvent id="e" />'))),
    ("chaos_waiter.bpmn", _chain(
        "chaos_waiter", ("s", '<bpmn:startEvent id="s" />'),
        ("wait", '<bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition messageRef="m_p" />'
                 '</bpmn:intermediateCatchEvent>'),
        _user("next"), ("e", '<bpmn:endEvent id="e" />'))),
    ("chaos_timer.bpmn", _chain(
        "chaos_timer", ("s", '<bpmn:startEvent id="s" />'),
        ("t", '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT0.2S"'
              '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'),
        _user("done"), ("e", '<bpmn:endEvent id="e" />'))),
]


def _engine(url, clock=None, migrate=False):
    from qihu import appeals
    from qihu.engine import Engine
    from qihu.engine.config import Settings
    e = Engine(settings=Settings(database_url=url, worker_poll_interval=0.02), clock=clock, migrate=migrate)
    appeals.install(e)           # as `qihu serve` composes it
    return e


def child(url, seed):
    """The engine process that gets killed: works until it is."""
    from qihu.engine.runtime.worker import Worker
    e = _engine(url)
    Worker(e, name=f"chaos-{seed}").start_thread(0.02)
    rnd = random.Random(seed)
    for i in range(10 ** 9):
        bk = f"C-{seed}-{i}"
        e.runtime.start("chaos_waiter", business_key=bk)
        s = e.runtime.start("chaos_sender", business_key=bk)
        [t] = e.tasks.list(instance_id=s)
        e.tasks.complete(t["id"], "bot", {"n": i})
        if rnd.random() < 0.5:
            e.runtime.start("chaos_timer", business_key=bk)


class _Later:
    """The system clock moved past every lease a killed process may have held."""

    def now(self):
        return datetime.now(timezone.utc) + timedelta(minutes=10)


def _recover(url):
    from qihu.engine.runtime.worker import Worker
    e = _engine(url, clock=_Later())
    w = Worker(e, name="recovery")
    quiet = 0
    while quiet < 3:
        quiet = quiet + 1 if not w.run_once() else 0
    return e


def _count(e):
    from sqlalchemy import func, select
    from qihu.engine.runtime.unit_of_work import Snapshot
    from qihu.engine.storage.models import HistoryEvent, Instance, Job, Outbox, Subscription, Task
    from qihu.engine.types import JobKind, TaskStatus
    with e.db.read() as s:
        inst = {r.id: r for r in s.scalars(select(Instance))}
        by_key = {}
        for r in inst.values():
            by_key.setdefault((r.definition_key, r.business_key), []).append(r.id)
        events = s.execute(select(HistoryEvent.instance_id, HistoryEvent.type, HistoryEvent.task_id, HistoryEvent.data)
                           .where(HistoryEvent.type.in_(["message_thrown", "message_received", "timer_fired"]))).all()
        ready = Counter(s.scalars(select(Task.instance_id).where(Task.status == TaskStatus.READY)))
        timers = Counter(s.scalars(select(Job.instance_id).where(Job.kind == JobKind.TIMER)))
        subs = Counter(s.scalars(select(Subscription.instance_id)))
        pending = s.scalar(select(func.count()).select_from(Outbox))
    lost = duplicated = double = 0
    thrown = Counter((inst[i].business_key, ev["message"]) for i, t, _, ev in events if t == "message_thrown")
    received = Counter(inst[i].business_key for i, t, _, ev in events
                       if t == "message_received" and inst[i].definition_key == "chaos_waiter")
    for (bk, message), n in thrown.items():
        got = (len(by_key.get(("chaos_receiver", bk), [])) if message == "chaos_handoff" else received[bk])
        lost += got < n
        duplicated += got > n
    double = sum(1 for n in Counter((i, task) for i, t, task, _ in events if t == "timer_fired").values() if n > 1)
    inconsistent = pending
    for iid, r in inst.items():
        if r.status != "running":
            continue
        snap = Snapshot(e.runtime.workflow(iid))
        if (len(snap.ready), len(snap.timers), len(snap.subs)) != (ready[iid], timers[iid], subs[iid]):
            inconsistent += 1
    return len(inst), lost, duplicated, inconsistent, double


def run(label, url, kills, rnd):
    e = _engine(url, migrate=True)
    e.repository.deploy(DIAGRAMS)
    e.close()
    for k in range(kills):
        p = subprocess.Popen([sys.executable, __file__, "--child", url, str(rnd.randrange(10 ** 6))],
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(1.5, 3.0))       # the child's start-up (~1 s), then a random moment of work
        p.send_signal(signal.SIGKILL)
        p.wait()
    e = _recover(url)
    instances, lost, dup, inc, double = _count(e)
    e.close()
    print(f"[{label}] kills {kills}, instances {instances}: lost {lost}, duplicated {dup}, "
          f"inconsistent {inc}, double-fired {double}", flush=True)
    return kills, lost, dup, inc, double


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20, help="kills per database")
    ap.add_argument("--seed", type=int, default=13)
    add_database_args(ap)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    results = on_databases(args, "chaos", lambda label, url, reuse: run(label, url, args.kills, rnd))
    total = [sum(r[i] for r in results.values()) for i in range(5)]
    print("chaos kills: {}; lost: {}; duplicated: {}; inconsistent: {}; double-fired: {}".format(*total))


if __name__ == "__main__":
    main()
