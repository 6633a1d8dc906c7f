"""The engine's "中文 (English)" messages on the administrator pages and the task page are said in
the reader's language (issue 15): deploy refusals and warnings, migration reasons and refusals,
calendar errors. Each page is read without and with ?lang=en: its own half is there, the other
half is not, and no "中文 (English)" pair is shown whole. On SQLite and PostgreSQL.
"""
import html as htmllib
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from qihu.web.app import create_app
from tests.bpmn_util import bpmn, chain
from tests.conftest import DATA
from tests.engine.test_instance_migration import V1, complete
from tests.web_util import PASSWORD, sign_in, token

# a Chinese text followed by a bracketed English one: "…未导入 (calendar of 2028 …)"
PAIR = re.compile(r"[\u4e00-\u9fff」）][^<>()（）\n]{0,80}\s?[(（][^<>()（）\n]*\b[a-z]{3,}\b[^<>\n]*?[)）]")
LATE = bpmn("late_year", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="a" name="受理" camunda:candidateGroups="g" />
<bpmn:userTask id="b" name="办理" camunda:candidateGroups="g" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "a", "b", "e")}""", name="跨年办理")


def shown(response):
    """The page's text as read (tags out, entities decoded)."""
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def one_language(text, zh, en, lang):
    """`zh`/`en`: a piece of each half; the page shows its reader's half only, no pair whole."""
    mine, other = (en, zh) if lang == "en" else (zh, en)
    assert mine in text, (lang, mine)
    assert other not in text, (lang, other)
    assert PAIR.findall(text) == [], PAIR.findall(text)


@pytest.fixture
def admin(engine):
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    c = create_app(engine=engine, config={"TESTING": True}).test_client()
    assert sign_in(c, "admin").status_code == 302
    return c


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_deploy_refusals(admin, lang):
    page = admin.get(f"/admin/processes?lang={lang}").get_data(as_text=True)
    r = admin.post(f"/admin/deploy?lang={lang}", content_type="multipart/form-data",
                   data={"csrf_token": token(page), "activate": "1",
                         "files": [(io.BytesIO((DATA / "bad_two_problems.bpmn").read_bytes()), "bad.bpmn")]})
    assert r.status_code == 422
    one_language(shown(r), "没有注册处理函数", "no handler is registered for topic", lang)
    one_language(shown(r), "脚本第 1 行有误", "import is not allowed", lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_migration_reasons_and_refusals(admin, engine, lang):
    engine.repository.deploy([("mig.bpmn", V1)])
    iid = engine.runtime.start("mig", business_key="MIG-1")
    complete(engine, iid, "A")
    engine.repository.deploy([("mig.bpmn", V1.replace(b'"acceptor"', b'"acceptor2"'))])
    [reason] = next(i for i in engine.migrations.plan("mig", 1, 2)["instances"] if i["id"] == iid)["reasons"]
    page = admin.get(f"/admin/processes/mig?migrate_from=1&migrate_to=2&lang={lang}")
    one_language(shown(page), reason["zh"], reason["en"], lang)
    bad = admin.get(f"/admin/processes/mig?migrate_from=1&migrate_to=9&lang={lang}")
    assert bad.status_code == 200 and PAIR.findall(shown(bad)) == []
    csrf = token(page.get_data(as_text=True))
    r = admin.post(f"/admin/processes/mig/migrate?lang={lang}", data={"csrf_token": csrf, "from": "1", "to": "2",
                                                                       "instance": iid}, follow_redirects=True)
    one_language(shown(r), reason["zh"], reason["en"], lang)      # refused: said in the flash
    r = admin.post(f"/admin/processes/mig/migrate?lang={lang}", data={"csrf_token": csrf, "from": "1", "to": "9",
                                                                       "instance": iid}, follow_redirects=True)
    assert ("迁移未完成" if lang == "zh" else "") in shown(r) and PAIR.findall(shown(r)) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_calendar_error_on_the_task_page(make_engine, clock, lang):
    e = make_engine(calendar_provisional=False)
    clock.set(datetime(2031, 12, 26, 9, tzinfo=ZoneInfo("Asia/Shanghai")))    # 办理's deadline falls in 2032
    e.accounts.add_user("li", PASSWORD, display_name="李科员", groups=["g"])
    e.repository.deploy([("late_year.bpmn", LATE)])
    iid = e.runtime.start("late_year")
    [t] = e.tasks.list(instance_id=iid)
    c = create_app(engine=e, config={"TESTING": True}).test_client()
    assert sign_in(c, "li").status_code == 302
    page = c.get(f"/tasks/{t['id']}?lang={lang}").get_data(as_text=True)
    r = c.post(f"/tasks/{t['id']}?lang={lang}", data={"csrf_token": token(page)})
    assert r.status_code == 422
    one_language(shown(r), "年的法定节假日安排尚未公布或未导入", "is not announced/loaded", lang)

