"""Year-end: every bundled mechanism started in late December with next year's holidays not
announced (not loaded): it runs on provisional (暂定) deadlines instead of stopping; when the
year is loaded its open deadlines are re-planned and audited, and the appeal walks on."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from qihu.appeals import demo
from qihu.engine.runtime.worker import Worker
from qihu.engine.storage.models import Job, Task
from qihu.engine.types import EventType
from tests.conftest import BPMN
from tests.engine.test_calendar_reload import HOLIDAYS_2027, WORKDAYS_2027
from tests.mechanisms.test_mech_lucheng import OBSERVED

BJ = ZoneInfo("Asia/Shanghai")
KEYS = sorted(p.stem for p in BPMN.glob("*.bpmn"))
START_DATA = {"enterprise_user": "qiye_a", "company": "某公司", "summary": "年底提出的诉求"}


def form_data(engine, task_id):
    """What a member of staff fills in: every field, with its first option, smallest number, no."""
    data = {}
    for f in engine.tasks.get(task_id)["form"]["fields"]:
        kind, rules = f["type"], f["validation"] or {}
        if f.get("options"):
            data[f["id"]] = f["options"][0]["id"]
        elif kind == "boolean":
            data[f["id"]] = False
        elif kind == "long":
            data[f["id"]] = int(rules.get("min") or 1)
        elif kind == "date":
            data[f["id"]] = "2027-01-08"
        else:
            data[f["id"]] = "年底办理意见"
    return data


def step(engine, iid):
    """Complete one ready task of the instance, as its handler would."""
    tasks = engine.tasks.list(instance_id=iid)
    if not tasks:
        return None
    t = tasks[0]
    engine.tasks.complete(t["id"], "staff", form_data(engine, t["id"]), check=False)
    return t["element_id"]


def deadlines(engine, iid):
    """(what, id, due) of the instance's open deadlines: task due dates and armed timers."""
    with engine.db.read() as s:
        out = [("task", t.id, t.due_at) for t in s.scalars(select(Task).where(
            Task.instance_id == iid, Task.status == "ready", Task.due_at.is_not(None)))]
        out += [("timer", j.task_id, j.due_at) for j in s.scalars(select(Job).where(
            Job.instance_id == iid, Job.kind == "timer"))]
    return out


@pytest.fixture
def started(engine, clock):
    list(demo.seed(engine, BPMN))
    clock.set(datetime(2026, 12, 31, 9, tzinfo=BJ))        # Thursday: one working day is in 2027
    out = {}
    for key in KEYS:
        data = dict(OBSERVED) if key == "lucheng_mock_accountability" else dict(START_DATA)
        iid = engine.runtime.start(key, data, business_key=f"YE-{key}", user="admin")
        step(engine, iid)                                    # the first step: the next deadlines are set
        out[key] = iid
    return out


def test_every_mechanism_runs_into_an_unannounced_year(engine, started):
    cal = engine.calendar
    provisional = set()
    for key, iid in started.items():
        assert engine.runtime.get(iid)["status"] in ("running", "completed"), key
        assert engine.runtime.incidents(iid) == [], key               # no calendar incident, nothing stuck
        for what, _, due in deadlines(engine, iid):
            if due.astimezone(BJ).year == 2027:
                assert cal.is_provisional(due), (key, what, due)
                provisional.add(key)
    # most mechanisms count working days into 2027 at once; the rest by calendar time or later steps
    assert len(provisional) >= len(started) // 2, provisional


def test_loading_2027_replans_audits_and_the_appeals_walk_on(engine, clock, started):
    with engine.db.read() as s:
        flagged = {t.instance_id for t in s.scalars(select(Task).where(Task.due_provisional.is_(True)))} | \
                  {j.instance_id for j in s.scalars(select(Job).where(Job.provisional.is_(True)))}
    assert flagged
    clock.set(datetime(2026, 12, 31, 16, tzinfo=BJ))
    moved = engine.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, user="admin")
    assert moved                                     # 4 January is off in the loaded year: dues move
    by_instance = {}
    for m in moved:
        by_instance.setdefault(m["instance_id"], []).append(m)
        assert not m["provisional"]
        assert datetime.fromisoformat(m["new"]) > datetime.fromisoformat(m["old"])
    for key, iid in started.items():
        events = [e for e in engine.history.events(iid) if e["type"] == EventType.DEADLINE_REPLANNED]
        assert len(events) == len(by_instance.get(iid, [])), key
        for e in events:
            assert e["user"] == "admin" and e["data"]["year"] == 2027 and e["data"]["old"] != e["data"]["new"]
        with engine.db.read() as s:
            assert not s.scalars(select(Task).where(Task.instance_id == iid, Task.status == "ready",
                                                    Task.due_provisional.is_(True))).all(), key
            left = s.scalars(select(Job).where(Job.instance_id == iid, Job.provisional.is_(True))).all()
            assert not left, (key, [(j.kind, j.element_id, j.due_at, j.note) for j in left])
        for what, _, due in deadlines(engine, iid):
            assert not engine.calendar.is_provisional(due) or due.astimezone(BJ).year > 2027, key

    # the appeals walk on into the new year: the next step of each, then time passes
    worker = Worker(engine)
    clock.set(datetime(2027, 1, 5, 10, tzinfo=BJ))
    while worker.run_once():
        pass
    for key, iid in started.items():
        if engine.runtime.get(iid)["status"] == "running":
            step(engine, iid)
        assert engine.runtime.incidents(iid) == [], key
        assert engine.runtime.get(iid)["status"] in ("running", "completed"), key



def test_a_provisional_deadline_is_shown_as_such_and_no_longer_once_loaded(engine, clock, started):
    """Wherever a deadline is shown (task rows, inbox, task and instance pages, the board, the
    enterprise's tracking page) a 暂定 one says so, until the year is loaded."""
    from qihu.appeals import of as appeals_of
    provisional = [t for t in engine.tasks.list() if t["due_provisional"]]
    assert provisional and all(engine.calendar.is_provisional(t["due_at"]) for t in provisional)
    board = appeals_of(engine).figures.open_items(appeals_of(engine).dashboard_scope("admin"))
    assert any(item["deadline_provisional"] for item in board)
    clock.set(datetime(2026, 12, 31, 16, tzinfo=BJ))
    engine.calendar.load_year(2027, HOLIDAYS_2027, WORKDAYS_2027, user="admin")
    assert not [t for t in engine.tasks.list() if t["due_provisional"] and t["due_at"] < "2028"]
    board = appeals_of(engine).figures.open_items(appeals_of(engine).dashboard_scope("admin"))
    assert not any(item["deadline_provisional"] for item in board)
