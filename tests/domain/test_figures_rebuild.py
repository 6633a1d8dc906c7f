"""Rebuilding the 晾晒 figures from the instances (Figures.rebuild, check_consistency, `qihu figures`).

The appeals are driven through the engine with the diagram and helpers of tests/domain/test_figures.py;
then their fact rows and counters are deleted (as after an upgrade from a release without the
figures) or tampered with, rebuilt, and compared with what on_save had written.
"""
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from qihu import appeals
from qihu.engine.errors import Conflict, NotFound
from qihu.engine.storage.models import Instance
from qihu.appeals.models import AppealFact, FigureMonth
from tests.domain.test_figures import ALL, KEY, at, diagram, fact, sc, start, step  # noqa: F401  (sc: fixture)

NO_FIGURES = "fig_none"


def facts(engine):
    """Every fact row, every column but updated_at."""
    cols = [c for c in AppealFact.__table__.columns if c.name != "updated_at"]
    with engine.db.read() as s:
        return {r["instance_id"]: dict(r) for r in s.execute(select(*cols)).mappings()}


def dashboard(engine):
    f = appeals.of(engine).figures
    return {"monthly": f.monthly(ALL, "2026-01", "2026-12", by=("month", "region", "mechanism", "department")),
            "ranking": f.ranking(ALL, "2026-11"), "colours": f.colour_counts(ALL), "open": f.open_items(ALL),
            "ledger": [{k: v for k, v in r.items() if k != "updated_at"}
                       for r in f.ledger(ALL, "2026-01", "2026-12")],
            "months": f.months(ALL), "options": f.options(ALL)}


def wipe(engine):
    with engine.db.write() as s:
        s.execute(delete(AppealFact))
        s.execute(delete(FigureMonth))


@pytest.fixture
def started(sc, engine):
    """Appeals in every state on_save knows: completed (solved, late), closed but running (rating
    pending), reopened by a bad rating and still open, reopened then closed again, returned, cancelled,
    red (SLA jobs), in two regions and two months."""
    ids = {}
    ids["done"] = a = start(sc, (2026, 11, 2, 9), "d_a")
    step(sc, a, "Task_sign", "a", (2026, 11, 2, 10))
    step(sc, a, "Task_handle", "a", (2026, 11, 3, 9), {"result": "solved"})
    step(sc, a, "Task_rate", "acc", (2026, 11, 3, 10), {"rating": "5"})
    ids["late"] = a = start(sc, (2026, 11, 4, 9), "d_a")
    step(sc, a, "Task_sign", "a", (2026, 11, 5, 12))
    step(sc, a, "Task_handle", "a", (2026, 11, 11, 9), {"result": "solved"})
    step(sc, a, "Task_rate", "acc", (2026, 11, 11, 10), {"rating": "3"})
    ids["closed_running"] = a = start(sc, (2026, 11, 5, 9), "d_b")
    step(sc, a, "Task_sign", "b", (2026, 11, 5, 10))
    step(sc, a, "Task_handle", "b", (2026, 11, 6, 9), {"result": "explain"})
    ids["reopened"] = a = start(sc, (2026, 11, 12, 9), "d_a")
    step(sc, a, "Task_sign", "a", (2026, 11, 12, 10))
    step(sc, a, "Task_handle", "a", (2026, 11, 13, 9), {"result": "explain"})
    step(sc, a, "Task_rate", "acc", (2026, 11, 13, 10), {"rating": "1"})
    ids["reclosed"] = a = start(sc, (2026, 11, 9, 9), "d_b", region="R2")
    step(sc, a, "Task_sign", "b", (2026, 11, 9, 10))
    step(sc, a, "Task_handle", "b", (2026, 11, 10, 9), {"result": "explain"})
    step(sc, a, "Task_rate", "acc", (2026, 11, 10, 10), {"rating": "2"})
    step(sc, a, "Task_second", "sup", (2026, 11, 16, 9))
    step(sc, a, "Task_handle", "b", (2026, 11, 17, 9), {"result": "solved"})
    step(sc, a, "Task_rate", "acc", (2026, 11, 17, 10), {"rating": "4"})
    ids["returned"] = a = start(sc, (2026, 11, 18, 9), "d_b")
    step(sc, a, "Task_sign", "b", (2026, 11, 18, 10))
    at(sc, 2026, 11, 18, 11)
    sc.engine.handoff.return_task(sc.task(a, "Task_handle")["id"], "b", "不属于本部门职责")
    ids["cancelled"] = a = start(sc, (2026, 11, 18, 12), "d_b")
    step(sc, a, "Task_sign", "b", (2026, 11, 18, 13))
    at(sc, 2026, 11, 18, 14)
    engine.runtime.cancel(a, user="admin")
    ids["red"] = a = start(sc, (2026, 12, 3, 9), "d_a")
    step(sc, a, "Task_sign", "a", (2026, 12, 3, 10))
    sc.wait_until(2026, 12, 9, 9)
    return ids


def test_rebuilt_rows_equal_what_on_save_kept(started, engine):
    f = appeals.of(engine).figures
    kept, shown = facts(engine), dashboard(engine)
    assert kept.keys() == set(started.values())
    by = {name: kept[iid] for name, iid in started.items()}
    # the states the comparison is meant to cover are really there
    assert (by["done"]["status"], by["done"]["outcome"]) == ("completed", "solved")
    assert (by["closed_running"]["status"], by["closed_running"]["outcome"]) == ("running", "unsolved")
    assert (by["reopened"]["status"], by["reopened"]["closed_at"], by["reopened"]["open_task"]) == \
        ("running", None, "二次督办")
    assert (by["reclosed"]["outcome"], [st["element"] for st in by["reclosed"]["stages"]].count("Task_rate")) == \
        ("solved", 2)
    assert (by["returned"]["returns"], by["cancelled"]["status"], by["red"]["colour"]) == (1, "cancelled", "red")
    assert f.check_consistency() == []

    wipe(engine)          # as after an upgrade from a release without the figures
    assert f.monthly(ALL, "2026-01", "2026-12") == []
    seen = []
    r = f.rebuild(batch=3, progress=lambda scanned, written: seen.append((scanned, written)))
    assert r == {"scanned": 8, "written": 8, "removed": 0, "months": len(f.recount()), "failed": []}
    assert seen == [(3, 3), (6, 6), (8, 8)]
    rebuilt = facts(engine)
    for name, iid in started.items():
        assert rebuilt[iid] == kept[iid], name
    assert dashboard(engine) == shown
    assert f.check_consistency() == []

    # idempotent: nothing to write the second time, the same summary
    stored = f.stored()
    assert f.rebuild(batch=200) == {"scanned": 8, "written": 0, "removed": 0, "months": r["months"], "failed": []}
    assert facts(engine) == kept and f.stored() == stored

    # one key only; the rows stay as they were
    assert f.rebuild(key=KEY)["scanned"] == 8 and facts(engine) == kept
    with pytest.raises(NotFound, match="nosuch"):
        f.rebuild(key="nosuch")
    for bad in (0, -1, "x"):
        with pytest.raises(ValueError, match="batch"):
            f.rebuild(batch=bad)


def test_a_bundled_mechanism_rebuilds_to_the_same_rows(engine, clock):
    """The bundled 通用企业诉求办理: one appeal closed and rated, one waiting for its department."""
    from tests.scenario import Scenario
    sc = Scenario(engine, clock, "bpmn/appeal_basic.bpmn", members={"acc": "acceptor", "p": "dept_policy"})
    done = sc.start("appeal_basic", {}, business_key="A-1")
    sc.complete(done, "Task_accept", "acc", {"category": "policy", "summary": "申请政策兑现的诉求"})
    sc.complete(done, "Task_handle", "p", {"result": "solved", "reply": "已兑现"})
    sc.complete(done, "Task_rate", "acc", {"rate_plan": "5", "rate_process": "4", "rate_result": "4"})
    waiting = sc.start("appeal_basic", {}, business_key="A-2")
    sc.complete(waiting, "Task_accept", "acc", {"category": "policy", "summary": "另一件诉求"})
    kept, shown = facts(engine), dashboard(engine)
    assert kept[done]["rating"] == "4" and kept[waiting]["outcome"] is None
    wipe(engine)
    assert appeals.of(engine).figures.rebuild()["written"] == 2
    assert facts(engine) == kept and dashboard(engine) == shown


def test_closed_at_comes_from_the_step_that_closed_it(started, engine):
    """The dates the dashboard counts by, spelt out: closed when 企业评价 opened, reopened by a bad
    rating, closed anew when it opened again; a cancelled appeal is never closed."""
    from tests.scenario import beijing
    wipe(engine)
    appeals.of(engine).figures.rebuild()
    got = facts(engine)
    assert got[started["done"]]["closed_at"] == beijing(2026, 11, 3, 9)
    assert got[started["closed_running"]]["closed_at"] == beijing(2026, 11, 6, 9)
    assert got[started["reclosed"]]["closed_at"] == beijing(2026, 11, 17, 9)
    assert got[started["reopened"]]["closed_at"] is None
    assert got[started["cancelled"]]["closed_at"] is None
    assert got[started["done"]]["started_at"] == beijing(2026, 11, 2, 9)


def test_tampered_counters_and_facts_are_repaired(started, engine):
    f = appeals.of(engine).figures
    kept, stored = facts(engine), f.stored()
    with engine.db.write() as s:
        s.execute(update(FigureMonth).values(closed=FigureMonth.closed + 1))
        s.execute(insert(FigureMonth).values(month="2026-10", region="R9", definition_key=KEY, department="d_x",
                                             accepted=2, closed=0, solved=0, solved_late=0, sign_counted=0,
                                             signed_on_time=0, returned=0, rated=0, satisfied=0, workdays_sum=0.0))
        s.execute(update(AppealFact).where(AppealFact.instance_id == started["done"])
                  .values(outcome="unsolved", department="d_b"))
    diffs = f.check_consistency()
    assert {"key": ("2026-10", "R9", KEY, "d_x"), "counter": "accepted", "stored": 2, "recount": 0} in diffs
    assert any(d["counter"] == "closed" and d["stored"] == d["recount"] + 1 for d in diffs)
    r = f.rebuild()
    assert (r["written"], r["failed"]) == (1, [])
    assert facts(engine) == kept
    assert f.check_consistency() == []
    assert f.stored().keys() == stored.keys()


def test_a_process_without_figures_keeps_no_row(sc, engine):
    props = {k: None for k in ("figure.department", "figure.departmentName", "figure.title", "figure.company",
                               "figure.solved", "figure.closedAt", "figure.signFor", "figure.rating",
                               "figure.satisfied")}
    engine.repository.deploy([(f"{NO_FIGURES}.bpmn", diagram(props, key=NO_FIGURES))])
    at(sc, 2026, 11, 2, 9)
    plain = engine.runtime.start(NO_FIGURES, {}, business_key="N-1")
    sc.complete(plain, "Task_accept", "acc", {"department": "d_a", "summary": "s", "company": "c"})
    counted = start(sc, (2026, 11, 2, 10), "d_a")
    assert fact(engine, plain) is None
    # a stale row (its definition declares no figures: e.g. migrated to a version without them) and an
    # orphan one (no such instance) are removed, and only the key asked for is touched
    row = facts(engine)[counted]
    with engine.db.write() as s:
        s.execute(insert(AppealFact).values(**{**row, "instance_id": plain, "definition_key": NO_FIGURES}))
        s.execute(insert(AppealFact).values(**{**row, "instance_id": "gone"}))
    r = appeals.of(engine).figures.rebuild(key=NO_FIGURES)
    assert (r["scanned"], r["written"], r["removed"]) == (0, 0, 1)
    assert fact(engine, plain) is None and fact(engine, "gone") is not None
    r = appeals.of(engine).figures.rebuild()
    assert (r["scanned"], r["written"], r["removed"]) == (1, 0, 1)
    assert set(facts(engine)) == {counted}
    assert appeals.of(engine).figures.check_consistency() == []


def test_an_instance_that_cannot_be_read_is_listed_and_left_alone(started, engine):
    f = appeals.of(engine).figures
    broken = started["returned"]
    kept = facts(engine)
    engine.runtime._evict(broken)
    with engine.db.write() as s:
        s.execute(update(Instance).where(Instance.id == broken).values(state="{not json"))
        s.execute(update(AppealFact).where(AppealFact.instance_id == broken).values(returns=5))
        s.execute(delete(AppealFact).where(AppealFact.instance_id == started["done"]))
    r = f.rebuild()
    assert [iid for iid, _ in r["failed"]] == [broken]
    assert "JSONDecodeError" in r["failed"][0][1]
    assert r["written"] == 1
    got = facts(engine)
    assert got[started["done"]] == kept[started["done"]]
    assert got[broken]["returns"] == 5            # left as it was
    assert f.check_consistency() == []            # the summary counts the facts as they are


def test_cli_rebuild_and_check(started, engine, monkeypatch):
    from qihu import cli
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    runner = CliRunner()
    r = runner.invoke(cli.main, ["figures", "check"])
    assert r.exit_code == 0, r.output
    assert "一致" in r.output
    with engine.db.write() as s:
        s.execute(update(FigureMonth).where(FigureMonth.month == "2026-12").values(accepted=7))
        s.execute(delete(AppealFact).where(AppealFact.instance_id == started["late"]))
    r = runner.invoke(cli.main, ["figures", "check"])
    assert r.exit_code == 1, r.output
    assert "2026-12" in r.output and "accepted" in r.output and "qihu figures rebuild" in r.output
    r = runner.invoke(cli.main, ["figures", "rebuild", "--key", KEY, "--batch", "5"])
    assert r.exit_code == 0, r.output
    assert "scanned 8" in r.output and "wrote 1" in r.output and "months" in r.output
    r = runner.invoke(cli.main, ["figures", "check"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli.main, ["figures", "rebuild", "--key", "nosuch"])
    assert r.exit_code == 1 and "nosuch" in r.output
    r = runner.invoke(cli.main, ["figures", "rebuild", "--batch", "0"])
    assert r.exit_code == 2 and "batch" in r.output


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_step_overlapping_a_rebuild_batch_is_refused(sc, engine, monkeypatch):
    """PostgreSQL: a step that loaded the instance before a rebuild batch rewrote its fact row fails
    its save with Conflict and leaves nothing (on SQLite the write lock serialises them). A step that
    has already written rows of the instance holds a key-share lock on it: the batch waits for it."""
    iid = start(sc, (2026, 11, 2, 9), "d_a")
    with engine.db.write() as s:
        s.execute(delete(AppealFact).where(AppealFact.instance_id == iid))
    f, rt = appeals.of(engine).figures, engine.runtime
    advance, done = rt._advance, {}

    def rebuild_meanwhile(ctx):
        if not done:      # the step has read the instance and its state; its transaction is open
            t = threading.Thread(target=lambda: done.setdefault("r", f.rebuild()))
            t.start()
            t.join(30)
            assert not t.is_alive()
        return advance(ctx)
    monkeypatch.setattr(rt, "_advance", rebuild_meanwhile)
    at(sc, 2026, 11, 2, 10)
    with pytest.raises(Conflict):
        sc.complete(iid, "Task_sign", "a")
    assert done["r"]["written"] == 1
    assert fact(engine, iid).open_task == "签收"          # the rebuild's row; the step left nothing
    assert f.check_consistency() == []
    sc.complete(iid, "Task_sign", "a")                   # tried again, it goes through
    assert fact(engine, iid).open_task == "办理"
    assert f.check_consistency() == []
