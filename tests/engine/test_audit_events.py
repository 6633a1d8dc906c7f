"""The engine's security events land in the audit (issue 16): deploys and activations, incident
actions, group name changes, the command line's `qihu audit`, the worker's daily sweep."""
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from qihu.cli import main
from qihu.engine.identity.audit import acting_as
from qihu.engine.runtime.worker import Worker
from tests.bpmn_util import bpmn, chain
from tests.engine.test_runtime import FAILING, registry

SIMPLE = bpmn("simple", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="u" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "u", "e")}""", name="简单")


def _actions(engine, action):
    return [r for r in engine.audit.list(action=action)]


def test_deploys_and_activations_are_audited_with_who_and_from_where(engine):
    with acting_as(None, "203.0.113.9"):
        engine.repository.deploy([("s.bpmn", SIMPLE)], name="第一版", user="admin")
        engine.repository.deploy([("s.bpmn", SIMPLE)], name="同一版", user="admin")   # nothing new: nothing stored
        engine.repository.deploy([("s.bpmn", SIMPLE.replace("受理".encode(), "受理登记".encode()))], user="admin", activate=False)
        engine.repository.activate("simple", 2, user="admin")
    deploys = _actions(engine, "deploy")
    assert len(deploys) == 2
    assert deploys[-1]["target"] == "第一版" and deploys[-1]["detail"]["versions"] == ["simple:1"]
    assert deploys[0]["detail"]["versions"] == ["simple:2"] and deploys[0]["detail"]["activate"] is False
    assert all(d["actor"] == "admin" and d["client"] == "203.0.113.9" for d in deploys)
    [act] = _actions(engine, "activate")
    assert act["target"] == "simple" and act["detail"] == {"version": 2} and act["actor"] == "admin"
    assert engine.audit.verify() is None


def test_a_refused_deploy_records_nothing(engine):
    from qihu.engine.errors import DeployError
    with pytest.raises(DeployError):
        engine.repository.deploy([("bad.bpmn", b"<not-bpmn/>")], user="admin")
    assert _actions(engine, "deploy") == []


def test_incident_retry_and_resolve_are_audited(make_engine):
    def flaky(**_):
        raise RuntimeError("下游系统不可用")
    e = make_engine(handlers=registry(t_flaky=flaky), handler_retries=0)
    e.repository.deploy([("f.bpmn", FAILING)])
    a, b = e.runtime.start("fails"), e.runtime.start("fails")
    [ia], [ib] = e.runtime.incidents(a), e.runtime.incidents(b)
    e.runtime.retry_incident(ia["id"], user="ops")
    e.runtime.resolve_incident(ib["id"], {"fixed": "by hand"}, user="admin")
    [retry] = _actions(e, "incident_retry")
    assert retry["actor"] == "ops" and retry["target"] == f"incident {ia['id']}" and retry["detail"]["instance"] == a
    [resolve] = _actions(e, "incident_resolve")
    assert resolve["actor"] == "admin" and resolve["detail"]["instance"] == b
    assert resolve["detail"]["fields"] == ["fixed"]          # the keys, not what an operator typed
    assert e.audit.verify() is None


def test_group_name_changes_are_audited(engine):
    engine.accounts.set_group_name("dept_land", "自然资源局", user="admin")
    engine.accounts.set_group_name("dept_land", "自然资源局", user="admin")      # unchanged: no record
    engine.accounts.set_group_name("dept_land", "", user="admin")
    rows = _actions(engine, "group_name_changed")[::-1]
    assert [(r["target"], r["detail"]["from"], r["detail"]["to"]) for r in rows] == [
        ("dept_land", None, "自然资源局"), ("dept_land", "自然资源局", None)]
    assert all(r["actor"] == "admin" for r in rows)


def test_the_worker_sweeps_the_audit_once_a_day(engine):
    w = Worker(engine)
    engine.audit.now = lambda: datetime(2025, 1, 1, tzinfo=timezone.utc)
    engine.audit.record("deploy", target="old")
    engine.audit.now = lambda: datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert w.sweep_audit() == 1
    assert w.sweep_audit() is None                  # asked again within the hour: not even checked
    w._next_audit_check = 0.0
    assert w.sweep_audit() is None                  # checked, but another sweep ran today
    engine.audit.now = lambda: datetime(2026, 1, 2, 1, tzinfo=timezone.utc)
    w._next_audit_check = 0.0
    assert w.sweep_audit() == 0
    assert [r["action"] for r in engine.audit.list()] == ["retention_sweep", "retention_sweep"]
    assert engine.audit.verify() is None


# -- the command line --------------------------------------------------------------------------------
@pytest.fixture
def qihu(db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result
    return run


def test_qihu_audit_verify_and_list(qihu, engine, db_url):
    engine.repository.deploy([("s.bpmn", SIMPLE)], user="admin")
    engine.repository.activate("simple", 1, user="root")
    out = qihu("audit", "verify").output
    assert "审计链完整" in out and "2 条" in out
    listed = qihu("audit", "list").output.splitlines()
    assert [line.split("\t")[3] for line in listed] == ["activate", "deploy"]
    assert qihu("audit", "list", "--action", "deploy").output.count("\n") == 1
    assert qihu("audit", "list", "--since", "2099-01-01").output == ""
    assert "YYYY-MM-DD" in qihu("audit", "list", "--since", "yesterday", code=2).output
    # the command line's own actions name it as the address
    qihu("deploy", "--user", "ops", str(__import__("pathlib").Path(__file__).parents[2] / "bpmn" / "appeal_basic.bpmn"))
    newest = engine.audit.list(limit=1)[0]
    assert newest["action"] == "deploy" and newest["actor"] == "ops" and newest["client"].startswith("cli:")
    # tamper, then verify fails with the first broken link, in Chinese
    pg = not engine.db.is_sqlite
    with engine.db.write() as s:
        if pg:
            s.execute(text("ALTER TABLE security_audit DISABLE TRIGGER security_audit_append_only"))
        s.execute(text("UPDATE security_audit SET target = 'x' WHERE id = 1"))
        if pg:
            s.execute(text("ALTER TABLE security_audit ENABLE TRIGGER security_audit_append_only"))
    result = qihu("audit", "verify", code=1)
    assert "审计链断裂" in result.output and "#1" in result.output and "被改动" in result.output


def test_qihu_audit_sweep(qihu, engine):
    engine.audit.now = lambda: datetime.now(timezone.utc) - timedelta(days=400)
    engine.audit.record("deploy", target="long ago")
    assert "已清理 1 条" in qihu("audit", "sweep").output
    assert "审计链完整" in qihu("audit", "verify").output


def test_calendar_loads_are_audited(engine):
    with acting_as(None, "192.0.2.40"):
        engine.calendar.load_year(2027, ["2027-01-01"], [], user="admin")
    r = engine.audit.list(action="calendar_loaded")[0]
    assert (r["actor"], r["client"], r["detail"]["year"]) == ("admin", "192.0.2.40", 2027)
    assert engine.audit.verify() is None
