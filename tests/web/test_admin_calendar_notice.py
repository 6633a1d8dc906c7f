"""From 1 November the administrator pages say that next year's holidays are not loaded yet
(the engine's WorkCalendar.year_to_load decides; the page only shows it)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from qihu.web.app import create_app
from tests.web.test_admin_pages import admin, app, text  # noqa: F401 - fixtures
from tests.web_util import PASSWORD, sign_in

BJ = ZoneInfo("Asia/Shanghai")
PROVISIONAL = "2027 年节假日安排尚未导入：截止期限按法定节假日暂定计算，国务院公布后请用 qihu calendar load 导入"


def test_the_warning_from_november_until_the_year_is_loaded(admin, engine, clock):  # noqa: F811
    clock.set(datetime(2026, 10, 31, 12, tzinfo=BJ))
    assert "节假日安排尚未导入" not in text(admin.get("/admin/processes"))
    clock.set(datetime(2026, 11, 1, 8, tzinfo=BJ))
    page = text(admin.get("/admin/processes"))
    assert PROVISIONAL in page and 'data-calendar-year="2027"' in page
    assert "The 2027 holiday calendar is not loaded yet" in text(admin.get("/admin/processes?lang=en"))
    engine.calendar.load_year(2027, [date(2027, 1, 1)], [])
    assert "节假日安排尚未导入" not in text(admin.get("/admin/processes?lang=zh"))


def test_without_provisional_years_the_warning_says_deadlines_fail(make_engine, clock):
    strict = make_engine(calendar_provisional=False)
    strict.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    c = create_app(engine=strict, config={"TESTING": True}).test_client()
    assert sign_in(c, "admin").status_code == 302
    page = text(c.get("/admin/processes"))
    assert "2027 年节假日安排尚未导入：涉及该年的截止期限无法计算" in page


def test_a_provisional_deadline_says_暂定_in_the_inbox_and_on_the_task_page(admin, engine, clock):  # noqa: F811
    from tests.bpmn_util import bpmn, chain
    engine.repository.deploy([("due.bpmn", bpmn("due", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="work" name="办理" camunda:candidateGroups="admin" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "work", "e")}"""))])
    clock.set(datetime(2026, 12, 28, 9, tzinfo=BJ))
    iid = engine.runtime.start("due")
    [t] = engine.tasks.list(instance_id=iid)
    assert t["due_provisional"]
    assert "暂定" in text(admin.get("/inbox")) and "暂定" in text(admin.get(f"/tasks/{t['id']}"))
    engine.calendar.load_year(2027, [date(2027, 1, 1)], [])
    assert not engine.tasks.get(t["id"])["due_provisional"]
    assert "暂定" not in text(admin.get(f"/tasks/{t['id']}"))
