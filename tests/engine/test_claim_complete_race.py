"""Claim and complete race (issue 13, finding 5): one user claims while a colleague completes
the same task. Exactly one of them wins; the other gets Conflict (409), and the row never ends
`assignee=A, completed_by=B`.

The completion reads and authorises the task row, then updates it; a claim that commits in
between used to slip through (PostgreSQL, READ COMMITTED). The first test opens that window on
purpose; on SQLite writers are serialised (BEGIN IMMEDIATE), so there the claim waits and loses.
The second races real threads on separate engines, like two server processes.
"""
import threading

import pytest

from qihu.engine.errors import Conflict, Forbidden, InvalidState
from qihu.engine.storage.models import Task
from qihu.engine.tasks import service as task_service
from tests.engine.test_runtime import TWO_TASKS, only_task, registry, route


@pytest.fixture
def two(make_engine):
    """Two engines on one database (two server processes) and an open task offered to both users."""
    a = make_engine(handlers=registry(t_route=route))
    a.repository.deploy([("two.bpmn", TWO_TASKS)])
    for user in ("li", "zhang"):
        a.tasks.add_member(user, "acceptor")
    b = make_engine(handlers=registry(t_route=route))
    return a, b


def _row(engine, task_id):
    with engine.db.read() as s:
        r = s.get(Task, task_id)
        return r.status, r.assignee, r.completed_by


def test_a_claim_inside_the_completion_window_makes_one_of_them_lose(two, monkeypatch):
    a, b = two
    a.runtime.start("two")
    t = only_task(a, user="li")
    claimed, errors = threading.Event(), []
    authorize = task_service.TaskService._authorize

    def authorize_then_let_the_claim_in(self, r, user, check, session=None):
        authorize(self, r, user, check, session=session)
        if user == "zhang":            # zhang's completion is authorised: now li claims
            def claim():
                try:
                    a.tasks.claim(t["id"], "li")
                except Conflict as e:
                    errors.append(e)
                finally:
                    claimed.set()
            threading.Thread(target=claim, daemon=True).start()
            # PostgreSQL: the claim commits meanwhile; SQLite: it waits for this writer
            claimed.wait(timeout=2)

    monkeypatch.setattr(task_service.TaskService, "_authorize", authorize_then_let_the_claim_in)
    try:
        b.tasks.complete(t["id"], "zhang", {})
        completed = True
    except Conflict as e:
        completed = False
        assert "认领" in str(e) or "someone else" in str(e)
    claimed.wait(timeout=10)
    status, assignee, completed_by = _row(a, t["id"])
    if completed:                       # zhang won: li's claim was refused
        assert (status, assignee, completed_by) == ("completed", "zhang", "zhang")
        assert errors, "the claim should have been refused"
    else:                               # li won: the task is li's and still open
        assert (status, assignee, completed_by) == ("ready", "li", None)
        assert not errors
    if b.db.engine.dialect.name == "postgresql":
        assert not completed            # there the claim commits first, so the completion loses


def test_racing_claims_and_completions_never_both_win(two):
    a, b = two
    outcomes = []
    for _ in range(12):
        a.runtime.start("two")
        t = only_task(a, user="li")
        gate, results = threading.Barrier(2), {}

        def act(name, fn):
            gate.wait()
            try:
                fn()
                results[name] = "ok"
            except (Conflict, Forbidden, InvalidState) as e:
                results[name] = type(e).__name__

        threads = [threading.Thread(target=act, args=("claim", lambda: a.tasks.claim(t["id"], "li"))),
                   threading.Thread(target=act, args=("complete", lambda: b.tasks.complete(t["id"], "zhang", {})))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=30)
        status, assignee, completed_by = _row(a, t["id"])
        assert list(results.values()).count("ok") == 1, results
        if results["complete"] == "ok":
            assert (status, assignee, completed_by) == ("completed", "zhang", "zhang")
        else:
            assert (status, assignee, completed_by) == ("ready", "li", None)
        if status == "ready":           # li's now: done, so li's inbox is empty for the next pair
            a.tasks.complete(t["id"], "li", {})
