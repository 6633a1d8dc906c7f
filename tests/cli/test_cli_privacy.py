"""`qihu privacy anonymise` (issue 18): what the worker does hourly, on demand, on SQLite and
PostgreSQL: lists what is due with --dry-run, anonymises it once."""
import os
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from qihu.cli import main
from qihu.engine import Engine
from qihu.engine.storage.models import Instance
from tests.conftest import BPMN


@pytest.fixture
def qihu(db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.setenv("QIHU_NOW", "2026-11-02T09:00:00+08:00")
    monkeypatch.setenv("QIHU_PRIVACY_ANONYMISE_DAYS", "0;湖州市=1")       # never, but 1 day in 湖州市
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output
    return run


def test_anonymise_from_the_command_line(qihu):
    qihu("deploy", str(BPMN / "appeal_basic.bpmn"))
    iid = qihu("start", "appeal_basic", "--business-key", "HZ-P1", "--data",
               '{"企业名称": "湖州某公司", "contact_name": "张经理", "contact_phone": "13812345678"}').split()[0]
    assert "到期待脱敏 0 件" in qihu("privacy", "anonymise", "--dry-run")           # still open
    e = Engine(os.environ["QIHU_DATABASE_URL"])
    try:
        e.runtime.cancel(iid, user="admin")
        with e.db.write() as s:        # cancelled a month ago, in 湖州市
            s.execute(update(Instance).where(Instance.id == iid).values(
                region="湖州市", ended_at=datetime(2026, 10, 1, tzinfo=timezone.utc)))
    finally:
        e.close()
    out = qihu("privacy", "anonymise", "--dry-run")
    assert iid in out and "到期待脱敏 1 件" in out
    assert "已脱敏 1 件" in qihu("privacy", "anonymise")
    assert "已脱敏 0 件" in qihu("privacy", "anonymise")
    shown = qihu("show", iid)
    assert "13812345678" not in shown and "张经理" not in shown and "已脱敏" in shown
