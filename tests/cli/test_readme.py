"""The README's walk-through runs as written: every command of its marked blocks, in order.

A new user follows these commands by hand; if a diagram, a form or a demo user changes and
the README does not, this fails. Deadlines quoted in a `qihu tasks` comment ("due
2026-11-30 09:00") must be what the command prints.
"""
import re
import shlex

from click.testing import CliRunner

from qihu.cli import main
from tests.conftest import ROOT

MARK = "<!-- walkthrough -->"


def walkthrough():
    """(line number, shell words, comment) of every command in the README's marked blocks."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].strip() == MARK:
            assert lines[i + 1].startswith("```"), f"README.md:{i + 2}: a code block must follow {MARK}"
            i += 2
            while not lines[i].startswith("```"):
                text = lines[i].strip()
                if text:
                    command, _, comment = text.partition("  #")
                    out.append((i + 1, shlex.split(command), comment.strip()))
                i += 1
        i += 1
    return out


def test_the_readme_has_a_walkthrough_for_each_mechanism():
    started = {words[2] for _, words, _ in walkthrough() if words[:2] == ["qihu", "start"]}
    assert {"huzhou_joint_meeting", "qiantang_target_tracking", "lucheng_mock_accountability"} <= started
    words = [w for _, ws, _ in walkthrough() for w in ws]
    assert "HZ-2026-002/Task_research" in words          # Luqiao, reached by the say_no message


def test_the_walkthrough_runs_as_written(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for lineno, words, comment in walkthrough():
        where = f"README.md:{lineno}: {' '.join(words)}"
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            monkeypatch.setenv(name, value)
            continue
        assert words[0] == "qihu", f"{where}: only qihu commands are run"
        result = runner.invoke(main, words[1:], catch_exceptions=False)
        assert result.exit_code == 0, f"{where}\n{result.output}"
        for due in re.findall(r"due (\d{4}-\d\d-\d\d \d\d:\d\d)", comment):
            assert f"due {due}" in result.output, f"{where}: expected due {due}\n{result.output}"
        if words[1] == "show":
            assert '"status": "completed"' in result.output, f"{where}\n{result.output[:400]}"
    from qihu.engine import Engine
    e = Engine(database_url=db_url, migrate=False)
    try:
        done = {(i["definition_key"], i["business_key"]): i["status"] for i in e.runtime.instances(limit=100)}
    finally:
        e.close()
    assert done == {("huzhou_joint_meeting", "HZ-2026-001"): "completed",
                    ("huzhou_joint_meeting", "HZ-2026-002"): "completed",
                    ("luqiao_say_no_review", "HZ-2026-002"): "completed",
                    ("qiantang_target_tracking", "QT-2026-001"): "completed",
                    ("lucheng_mock_accountability", "LC-2026-001"): "completed"}
