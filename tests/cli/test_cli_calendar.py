"""`qihu calendar load YEAR --notice FILE`: the State Council's notice as published, shown as
read and confirmed before it is stored; the provisional deadlines of that year re-planned."""
from datetime import date

import pytest
from click.testing import CliRunner

from qihu.cli import main
from qihu.engine import Engine
from tests.bpmn_util import bpmn, chain
from tests.conftest import ROOT

NOTICES = ROOT / "tests" / "data" / "notices"

# A 2027 notice as it might read (the real one is not out yet): 4 January off, 9 January worked.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知

各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2027年元旦、春节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周五）至4日（周一）放假调休，共4天。1月9日（周六）上班。
二、春节：2月5日（农历除夕、周五）至11日（农历正月初六、周四）放假调休，共7天。2月13日（周六）、2月20日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作。
"""

YEAR_END = bpmn("year_end", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="board" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "handle", "e")}""")


@pytest.fixture
def qihu(db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.setenv("QIHU_NOW", "2026-12-28T09:00:00+08:00")
    runner = CliRunner()

    def run(*args, ok=True, input=None):
        result = runner.invoke(main, list(args), catch_exceptions=False, input=input)
        if ok:
            assert result.exit_code == 0, result.output
        return result
    return run


@pytest.fixture
def notice_file(tmp_path):
    path = tmp_path / "notice-2027.txt"
    path.write_text(NOTICE_2027, encoding="utf-8")
    return path


def test_load_a_notice_after_confirming_and_replan(qihu, db_url, tmp_path, notice_file):
    diagram = tmp_path / "year_end.bpmn"
    diagram.write_bytes(YEAR_END)
    qihu("deploy", str(diagram))
    qihu("start", "year_end", "--business-key", "YE-1")
    assert "due 2027-01-05 09:00" in qihu("tasks").output            # Dec 29, 30, 31, Jan 4, 5 (暂定)
    assert qihu("calendar", "status", "2026", "2027", "2030").output.splitlines() == [
        "2026: 官方日历（chinesecalendar）", "2027: 暂定（按法定节假日推算）", "2030: 未知（截止期限无法计算）"]

    refused = qihu("calendar", "load", "2027", "--notice", str(notice_file), input="n\n", ok=False)
    assert refused.exit_code == 1
    assert refused.output.splitlines()[:4] == [
        "2027 年节假日安排：",
        "  元旦：1月1日至4日 放假，共 4 天；调休上班：1月9日（周六）",
        "  春节：2月5日至11日 放假，共 7 天；调休上班：2月13日（周六）、2月20日（周六）",
        "合计：放假 11 天，调休上班 3 天"]
    assert "按以上安排导入？" in refused.output
    assert "2027: 暂定" in qihu("calendar", "status", "2027").output     # nothing stored

    done = qihu("calendar", "load", "2027", "--notice", str(notice_file), "--user", "admin", input="y\n")
    assert "calendar 2027 loaded" in done.output
    assert "重新计算了 1 个暂定期限：" in done.output
    assert "「办理」期限：2027-01-05 09:00 → 2027-01-06 09:00" in done.output
    assert "due 2027-01-06 09:00" in qihu("tasks").output
    assert qihu("calendar", "status", "2027").output.strip() == "2027: 已导入"
    assert qihu("calendar", "replan", "2027").output.strip() == "没有需要重新计算的暂定期限"
    engine = Engine(db_url)
    try:
        assert not engine.calendar.is_workday(date(2027, 1, 4)) and engine.calendar.is_workday(date(2027, 1, 9))
        assert not engine.calendar.is_workday(date(2027, 2, 11)) and engine.calendar.is_workday(date(2027, 2, 20))
    finally:
        engine.close()


def test_a_notice_from_stdin_needs_yes(qihu):
    r = qihu("calendar", "load", "2027", "--notice", "-", input=NOTICE_2027, ok=False)
    assert r.exit_code == 2 and "--yes" in r.output
    r = qihu("calendar", "load", "2027", "--notice", "-", "--yes", input=NOTICE_2027)
    assert "合计：放假 11 天，调休上班 3 天" in r.output and "calendar 2027 loaded" in r.output


def test_the_2026_notice_as_published(qihu):
    r = qihu("calendar", "load", "2026", "--notice", str(NOTICES / "2026.txt"), "--yes")
    assert "  春节：2月15日至23日 放假，共 9 天；调休上班：2月14日（周六）、2月28日（周六）" in r.output


def test_bad_notice_text_names_the_line(qihu, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(NOTICE_2027.replace("2月13日（周六）", "2月13日（周日）"), encoding="utf-8")
    r = qihu("calendar", "load", "2027", "--notice", str(bad), "--yes", ok=False)
    assert r.exit_code == 2
    assert "无法读取通知：第 6 行：「2月13日(周日)」：2月13日是周六，不是周日" in r.output
    wrong_year = qihu("calendar", "load", "2028", "--notice", str(NOTICES / "2026.txt"), "--yes", ok=False)
    assert "第 1 行：这是 2026 年的通知，不是 2028 年的" in wrong_year.output
    neither = qihu("calendar", "load", "2027", ok=False)
    assert neither.exit_code == 2 and "--notice" in neither.output
