"""The `qihu` command line, on SQLite and PostgreSQL: a whole appeal, and errors as one line."""
import json

import pytest
from click.testing import CliRunner

from qihu.cli import main
from tests.conftest import BPMN


@pytest.fixture
def qihu(db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    return run


def task_id(output, name):
    for line in output.splitlines():
        if name in line:
            return line.split("\t")[0]
    raise AssertionError(f"{name} not in {output!r}")


def test_walk_an_appeal_from_the_command_line(qihu):
    assert "appeal_basic v1" in qihu("deploy", str(BPMN / "appeal_basic.bpmn")).output
    assert "unchanged" in qihu("deploy", str(BPMN / "appeal_basic.bpmn")).output
    assert "appeal_basic\tv1\t通用企业诉求办理" in qihu("definitions").output
    qihu("member", "shouli", "acceptor")
    qihu("member", "bumen", "dept_resource")
    iid = qihu("start", "appeal_basic", "--business-key", "HZ-1", "--data", '{"企业名称": "湖州某公司"}').output.split()[0]
    tid = task_id(qihu("tasks", "--user", "shouli").output, "受理登记")
    assert qihu("tasks", "--user", "bumen").output == ""
    bad = qihu("complete", tid, "--user", "shouli", "--data", '{"category": "nope"}', ok=False)
    assert bad.exit_code == 1
    assert "category" in bad.output and "summary" in bad.output and "error:" in bad.output
    qihu("complete", tid, "--user", "shouli", "--data", '{"category": "resource", "summary": "用地指标未落实"}')
    tid = task_id(qihu("tasks", "--user", "bumen").output, "部门办理")
    qihu("complete", tid, "--user", "bumen", "--data", '{"result": "solved", "reply": "已协调"}')
    tid = task_id(qihu("tasks", "--user", "shouli").output, "企业评价")
    qihu("complete", tid, "--user", "shouli", "--data", '{"rate_plan": "5", "rate_process": "5", "rate_result": "5"}')
    shown = json.loads(qihu("show", iid).output)
    assert shown["instance"]["status"] == "completed"
    assert shown["data"]["department"] == "dept_resource"
    assert shown["history"][-1]["type"] == "instance_completed"


def test_errors_are_one_line_and_non_zero(qihu, tmp_path):
    r = qihu("start", "no_such_process", ok=False)
    assert r.exit_code == 1 and r.output.strip() == "error: no definition 'no_such_process'"
    r = qihu("complete", "no-such-task", "--user", "x", ok=False)
    assert r.exit_code == 1 and "no task" in r.output
    r = qihu("start", "x", "--data", "{not json", ok=False)
    assert r.exit_code == 2 and "--data is not valid JSON" in r.output
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'><oops></bpmn:definitions>")
    r = qihu("deploy", str(bad), ok=False)
    assert r.exit_code == 2 and r.output.startswith("error: bad.bpmn:1: XML 格式错误（malformed XML")
    assert qihu("definitions").output == ""


def test_worker_once_and_incident_commands(qihu, db_url):
    qihu("deploy", str(BPMN / "appeal_basic.bpmn"))
    assert qihu("worker", "--once").output.strip() == "fired 0"
    assert qihu("incidents").output == ""


def test_calendar_commands(qihu, db_url):
    r = qihu("calendar", "load", "2027", "--holidays", "2027-01-01,2027-02-08", "--workdays", "2027-02-06")
    assert r.output.strip() == "calendar 2027 loaded"
    r = qihu("calendar", "day", "2026-11-11", "--region", "庆元县", "--off", "--note", "地方节日")
    assert r.output.strip() == "2026-11-11 庆元县: day off"
    assert qihu("calendar", "day", "2026-11-11", "--region", "庆元县", "--clear").output.strip() == \
        "2026-11-11 庆元县: working day"
    bad = qihu("calendar", "load", "2027", "--holidays", "2026-12-31", ok=False)
    assert bad.exit_code == 2 and "2026-12-31" in bad.output
    from qihu.engine import Engine
    from datetime import date
    e = Engine(db_url)
    try:
        assert not e.calendar.is_workday(date(2027, 2, 8)) and e.calendar.is_workday(date(2027, 2, 6))
    finally:
        e.close()


def test_steps_are_named_by_business_key_and_element(qihu):
    qihu("deploy", str(BPMN / "appeal_basic.bpmn"))
    qihu("member", "shouli", "acceptor")
    qihu("start", "appeal_basic", "--business-key", "HZ-7")
    listed = qihu("tasks", "--user", "shouli").output
    assert "\tHZ-7/Task_accept\t受理登记\tacceptor\tdue " in listed and listed.rstrip().endswith(" green")   # 1 working day
    qihu("complete", "HZ-7/Task_accept", "--user", "shouli", "--data", '{"category": "policy", "summary": "政策咨询"}')
    r = qihu("complete", "HZ-7/Task_accept", "--user", "shouli", ok=False)
    assert r.exit_code == 1 and "no open task Task_accept for business key HZ-7; its open tasks: Task_handle" in r.output
    shown = json.loads(qihu("show", "HZ-7").output)
    assert shown["data"]["department"] == "dept_policy" and shown["instance"]["business_key"] == "HZ-7"
    qihu("start", "appeal_basic", "--business-key", "HZ-7")      # a second appeal under the same key
    r = qihu("complete", "HZ-7/Task_handle", "--user", "x", ok=False)
    assert "no open task Task_handle" not in r.output
    qihu("start", "appeal_basic", "--business-key", "HZ-7")      # and a third
    r = qihu("complete", "HZ-7/Task_accept", "--user", "shouli", ok=False)
    assert r.exit_code == 1 and r.output == ("error: 2 open tasks Task_accept for business key HZ-7 "
                                             "(appeal_basic, appeal_basic): give the task id\n")
    r = qihu("show", "NOPE-1", ok=False)
    assert r.exit_code == 1 and "no instance NOPE-1" in r.output
