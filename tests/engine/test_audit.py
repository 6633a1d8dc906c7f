"""The security audit (issue 16, "audit that holds"): a hash chain, append-only, with a retention
sweep that keeps it verifiable — on SQLite and PostgreSQL."""
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from qihu.engine.config import Settings
from qihu.engine.identity.audit import GENESIS, Audit, AuditConfigError, acting_as, row_hash


def _rows(engine):
    with engine.db.read() as s:
        return [dict(r._mapping) for r in s.execute(text("SELECT * FROM security_audit ORDER BY id"))]


def _fill(engine, n=5):
    for i in range(n):
        engine.audit.record("deploy", actor="admin", target=f"p{i}", detail={"version": i, "说明": "部署"},
                            client="10.0.0.1")


@contextmanager
def _trigger_off(engine):
    """On PostgreSQL the append-only trigger refuses what a tamperer does: switch it off for the test."""
    pg = not engine.db.is_sqlite
    if pg:
        with engine.db.write() as s:
            s.execute(text("ALTER TABLE security_audit DISABLE TRIGGER security_audit_append_only"))
    try:
        yield
    finally:
        if pg:
            with engine.db.write() as s:
                s.execute(text("ALTER TABLE security_audit ENABLE TRIGGER security_audit_append_only"))


def _sql(engine, sql, **params):
    with engine.db.write() as s:
        s.execute(text(sql), params)


def test_a_record_chains_to_the_previous_one_and_verifies(engine):
    _fill(engine, 3)
    rows = _rows(engine)
    assert [r["action"] for r in rows] == ["deploy"] * 3
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[2]["prev_hash"] == rows[1]["hash"]
    assert all(r["algorithm"] == "sha256" for r in rows)
    assert engine.audit.verify() is None
    newest = engine.audit.list()[0]
    assert newest["target"] == "p2" and newest["actor"] == "admin" and newest["client"] == "10.0.0.1"
    assert newest["detail"] == {"version": 2, "说明": "部署"}


def test_who_and_from_where_come_from_the_request_context(engine):
    with acting_as("li", "192.0.2.7"):
        engine.audit.record("export", target="ranking.xlsx")
        engine.audit.record("export", actor="wang", client="198.51.100.1")   # named: wins
    first, second = engine.audit.list()[::-1]
    assert (first["actor"], first["client"]) == ("li", "192.0.2.7")
    assert (second["actor"], second["client"]) == ("wang", "198.51.100.1")
    engine.audit.record("export")        # outside any request: nobody, nowhere
    assert engine.audit.list()[0]["actor"] is None


def test_odd_values_are_fitted_and_still_verify(engine):
    engine.audit.record("personal_data_viewed", actor="a" * 300, target="t\x00" * 400, client="c" * 100,
                        detail={"when": datetime(2026, 1, 2, tzinfo=timezone.utc), "nested": {"b": [1, 2.5, None]}})
    r = engine.audit.list()[0]
    assert len(r["actor"]) == 100 and len(r["target"]) == 300 and len(r["client"]) == 64 and "\x00" not in r["target"]
    assert engine.audit.verify() is None


def test_in_the_callers_transaction_it_commits_or_rolls_back_with_it(engine):
    with pytest.raises(RuntimeError):
        with engine.db.write() as s:
            engine.audit.record("activate", target="p", session=s)
            raise RuntimeError("the step failed")
    assert engine.audit.count() == 0
    with engine.db.write() as s:
        engine.audit.record("activate", target="p", session=s)
        engine.audit.record("activate", target="q", session=s)
    assert engine.audit.count() == 2 and engine.audit.verify() is None


def test_tampering_with_a_rows_detail_names_that_row(engine):
    _fill(engine)
    third = _rows(engine)[2]["id"]
    if not engine.db.is_sqlite:            # PostgreSQL: the trigger refuses the change
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(engine, "UPDATE security_audit SET detail = :d WHERE id = :i", d='{"version": 99}', i=third)
    with _trigger_off(engine):
        _sql(engine, "UPDATE security_audit SET detail = :d WHERE id = :i", d='{"version": 99}', i=third)
    broken = engine.audit.verify()
    assert broken is not None and broken.id == third
    assert "被改动" in broken.reason and "altered" in broken.reason


def test_tampering_with_the_actor_or_time_is_seen_too(engine):
    _fill(engine, 3)
    second = _rows(engine)[1]["id"]
    with _trigger_off(engine):
        _sql(engine, "UPDATE security_audit SET actor = 'someone' WHERE id = :i", i=second)
    assert engine.audit.verify().id == second


def test_deleting_a_middle_row_names_the_row_after_it(engine):
    _fill(engine)
    rows = _rows(engine)
    if not engine.db.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(engine, "DELETE FROM security_audit WHERE id = :i", i=rows[2]["id"])
    with _trigger_off(engine):
        _sql(engine, "DELETE FROM security_audit WHERE id = :i", i=rows[2]["id"])
    broken = engine.audit.verify()
    assert broken is not None and broken.id == rows[3]["id"]
    assert "删除" in broken.reason


def test_deleting_the_first_rows_is_not_a_retention_sweep(engine):
    _fill(engine)
    with _trigger_off(engine):
        _sql(engine, "DELETE FROM security_audit WHERE id <= 2")
    broken = engine.audit.verify()
    assert broken is not None and broken.id == 3 and "保存期" in broken.reason


def test_reordering_rows_names_the_first_one_out_of_place(engine):
    _fill(engine)
    with _trigger_off(engine):      # swap rows 2 and 4 (their ids)
        _sql(engine, "UPDATE security_audit SET id = -4 WHERE id = 4")
        _sql(engine, "UPDATE security_audit SET id = 4 WHERE id = 2")
        _sql(engine, "UPDATE security_audit SET id = 2 WHERE id = -4")
    broken = engine.audit.verify()
    assert broken is not None and broken.id == 2


def test_a_recomputed_hash_without_the_next_link_is_still_caught(engine):
    """Rewrite row 2 and fix its own hash: row 3 no longer follows it."""
    _fill(engine, 4)
    r = _rows(engine)[1]
    at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(r["at"])
    at = at.replace(tzinfo=timezone.utc)
    forged = row_hash(r["prev_hash"], at, r["actor"], r["client"], r["action"], "forged", {"version": 1, "说明": "部署"},
                      "sha256")
    with _trigger_off(engine):
        _sql(engine, "UPDATE security_audit SET target = 'forged', hash = :h WHERE id = 2", h=forged)
    broken = engine.audit.verify()
    assert broken is not None and broken.id == 3


def test_appends_from_two_processes_never_fork_the_chain(make_engine):
    a, b = make_engine(), make_engine()
    errors = []

    def work(e, who):
        try:
            for i in range(15):
                e.audit.record("export", actor=who, target=str(i))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(e, n)) for e, n in ((a, "a"), (b, "b"), (a, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = _rows(a)
    assert len(rows) == 45
    assert len({r["prev_hash"] for r in rows}) == 45       # no two rows follow the same one
    assert a.audit.verify() is None


# -- algorithms ------------------------------------------------------------------------------------
def test_sm3_rows_and_sha256_rows_verify_in_one_chain(make_engine):
    pytest.importorskip("gmssl")
    sha = make_engine()
    sha.audit.record("deploy", target="a")
    gm = make_engine(audit_hash="sm3")
    gm.audit.record("deploy", target="b")
    gm.audit.record("deploy", target="c")
    sha.audit.record("deploy", target="d")
    assert [r["algorithm"] for r in _rows(sha)] == ["sha256", "sm3", "sm3", "sha256"]
    assert sha.audit.verify() is None and gm.audit.verify() is None
    # SM3 of "abc", GB/T 32905-2016 appendix A
    from qihu.engine.identity.audit import digest
    assert digest("sm3", b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    with _trigger_off(sha):
        _sql(sha, "UPDATE security_audit SET target = 'x' WHERE id = 3")
    assert sha.audit.verify().id == 3


def test_sm3_without_gmssl_is_refused_in_chinese(make_engine, monkeypatch):
    monkeypatch.setitem(sys.modules, "gmssl", None)     # as if not installed
    with pytest.raises(AuditConfigError, match="未安装 gmssl"):
        make_engine(audit_hash="sm3")


def test_the_settings_refuse_an_unknown_hash_and_a_short_retention():
    assert Settings.from_env({}).audit_hash == "sha256"
    assert Settings.from_env({}).audit_retention_days == 183
    assert Settings.from_env({"QIHU_AUDIT_HASH": "SM3"}).audit_hash == "sm3"
    assert Settings.from_env({"QIHU_AUDIT_RETENTION_DAYS": "400"}).audit_retention_days == 400
    with pytest.raises(ValueError, match="sha256 or sm3"):
        Settings.from_env({"QIHU_AUDIT_HASH": "md5"})
    with pytest.raises(ValueError, match="六个月"):
        Settings.from_env({"QIHU_AUDIT_RETENTION_DAYS": "90"})
    with pytest.raises(ValueError, match="整数"):
        Settings.from_env({"QIHU_AUDIT_RETENTION_DAYS": "half a year"})


def test_the_audit_refuses_a_short_retention_set_in_code(make_engine):
    with pytest.raises(AuditConfigError, match="至少 183 天"):
        make_engine(audit_retention_days=30)


# -- retention -------------------------------------------------------------------------------------
def test_the_sweep_deletes_old_rows_from_the_start_and_the_chain_still_verifies(engine):
    now = datetime(2026, 9, 1, tzinfo=timezone.utc)
    for days_ago in (400, 300, 200, 100, 10):
        engine.audit.now = lambda d=days_ago: now - timedelta(days=d)
        engine.audit.record("deploy", target=f"{days_ago} days ago")
    engine.audit.now = lambda: now
    if not engine.db.is_sqlite:          # only the sweep may delete
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(engine, "DELETE FROM security_audit WHERE id = 1")
    assert engine.audit.sweep() == 3
    rows = _rows(engine)
    assert [r["target"] for r in rows[:2]] == ["100 days ago", "10 days ago"]
    last = rows[-1]
    assert last["action"] == "retention_sweep" and last["actor"] == "system"
    assert engine.audit.list()[0]["detail"]["first_hash"] == rows[0]["hash"]
    assert engine.audit.verify() is None
    # a second sweep deletes nothing and still verifies; so does a tamperer's delete afterwards not
    assert engine.audit.sweep() == 0 and engine.audit.verify() is None
    with _trigger_off(engine):
        _sql(engine, "DELETE FROM security_audit WHERE id = :i", i=rows[0]["id"])
    assert engine.audit.verify().id == rows[1]["id"]


def test_a_sweep_that_deletes_everything_leaves_a_chain_that_verifies(engine):
    engine.audit.now = lambda: datetime(2020, 1, 1, tzinfo=timezone.utc)
    _fill(engine, 3)
    engine.audit.now = lambda: datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert engine.audit.sweep() == 3
    assert engine.audit.count() == 1 and engine.audit.verify() is None
    engine.audit.record("deploy", target="after")
    assert engine.audit.verify() is None


def test_an_empty_audit_verifies(engine):
    assert engine.audit.verify() is None and engine.audit.list() == []


def test_no_code_path_updates_or_deletes_audit_rows():
    """Append-only in the code: only the sweep in engine/identity/audit.py deletes rows."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for p in list((root / "engine").rglob("*.py")) + list((root / "web").rglob("*.py")) + \
            list((root / "appeals").rglob("*.py")) + list((root / "qihu").rglob("*.py")):
        if "migrations" in p.parts or p.name == "audit.py" and p.parent.name == "identity":
            continue
        src = p.read_text(encoding="utf-8")
        if "SecurityAudit" in src and ("delete(SecurityAudit" in src or "update(SecurityAudit" in src):
            offenders.append(str(p))
        if "UPDATE security_audit" in src or "DELETE FROM security_audit" in src:
            offenders.append(str(p))
    assert offenders == []
    assert "Audit" in Audit.__name__
