"""The inbox (/inbox) and the task page (/tasks/<id>): filters, counts, sorting, paging, forms.

Signed in through the real sign-in form; on SQLite and PostgreSQL.
"""
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from qihu import appeals
from qihu.engine.storage.models import Task
from qihu.web.app import create_app
from qihu.web.i18n import EN

from tests.bpmn_util import bpmn, chain
from tests.conftest import START
from tests.web_util import BASIC, add_people, post_form, sign_in

TRIAGE = bpmn("triage", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="check" name="核查材料" camunda:candidateGroups="acceptor" camunda:dueDate="${{due}}"
    camunda:priority="${{prio}}" />
<bpmn:endEvent id="e" />
{chain("s", "check", "e")}""", name="材料核查")


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.repository.deploy([BASIC])
    engine.repository.deploy([("triage.bpmn", TRIAGE)])
    return create_app(engine=engine, config={"TESTING": True})


@pytest.fixture
def li(app):
    c = app.test_client()
    assert sign_in(c, "li").status_code == 302
    return c


def rows(html):
    """Business keys of the inbox rows, in order."""
    return re.findall(r'<tr data-task="[^"]+">.*?<code>([^<]+)</code>', html, re.S)


def chip(html, colour):
    m = re.search(r'data-colour="' + colour + r'">.*?<b>(\d+)</b>', html, re.S)
    return int(m.group(1)) if m else None


@pytest.fixture
def started(engine, clock):
    bj = "+08:00"
    made = {}
    for key, due, prio, colour in [("HZ-001", f"2026-11-03T09:00:00{bj}", 80, "red"),
                                   ("HZ-002", f"2026-11-09T09:00:00{bj}", 50, "green"),
                                   ("NB-003", f"2026-11-16T09:00:00{bj}", 10, "green"),
                                   ("NB-004", f"2026-11-04T09:00:00{bj}", 50, "yellow")]:
        iid = engine.runtime.start("triage", {"due": due, "prio": prio}, business_key=key)
        with engine.db.write() as s:     # the colour the SLA jobs would have set by now
            s.execute(update(Task).where(Task.instance_id == iid).values(sla_colour=colour))
        made[key] = iid
        clock.advance(minutes=1)
    made["QH-9"] = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="QH-9")
    with engine.db.write() as s:         # a task without a deadline (受理登记 has one since issue 15)
        s.execute(update(Task).where(Task.instance_id == made["QH-9"]).values(due_at=None, sla_colour=None))
    clock.set(START + timedelta(days=1, hours=2))      # Tuesday 11:00 Beijing: HZ-001 is overdue
    return made


def test_inbox_filters_counts_and_sorting(li, started, app):
    html = li.get("/inbox").get_data(as_text=True)
    assert rows(html) == ["HZ-001", "NB-004", "HZ-002", "NB-003", "QH-9"]        # by deadline, none last
    assert (chip(html, "red"), chip(html, "yellow"), chip(html, "green"), chip(html, "orange"),
            chip(html, "none")) == (1, 1, 2, 0, 1)
    assert "共 5 项" in html and "李受理" in html
    assert "11月3日 09:00" in html                           # Beijing time, as people say deadlines
    assert "超期 2 小时" in html                                # HZ-001: 2 hours of a working day late
    assert "剩余 22 小时" in html                               # NB-004: due Wednesday 09:00 (13 h + 9 h)
    assert "剩余 3.9 个工作日" in html                          # HZ-002: due next Monday 09:00, weekend free

    green = li.get("/inbox?colour=green").get_data(as_text=True)
    assert rows(green) == ["HZ-002", "NB-003"]
    assert chip(green, "red") == 1 and "共 2 项" in green   # counts stay those of the other filters
    assert rows(li.get("/inbox?colour=none").get_data(as_text=True)) == ["QH-9"]
    assert rows(li.get("/inbox?overdue=1").get_data(as_text=True)) == ["HZ-001"]
    assert rows(li.get("/inbox?priority=high").get_data(as_text=True)) == ["HZ-001"]
    assert rows(li.get("/inbox?priority=low").get_data(as_text=True)) == ["NB-003"]
    assert rows(li.get("/inbox?q=nb-00").get_data(as_text=True)) == ["NB-004", "NB-003"]
    assert rows(li.get("/inbox?q=受理").get_data(as_text=True)) == ["QH-9"]          # task name 受理登记
    assert rows(li.get("/inbox?q=%25").get_data(as_text=True)) == []               # % is literal
    assert rows(li.get("/inbox?definition=appeal_basic").get_data(as_text=True)) == ["QH-9"]
    both = li.get("/inbox?definition=triage&colour=green&q=HZ").get_data(as_text=True)
    assert rows(both) == ["HZ-002"] and chip(both, "red") == 1 and chip(both, "green") == 1

    assert rows(li.get("/inbox?order=priority").get_data(as_text=True))[:1] == ["HZ-001"]
    assert rows(li.get("/inbox?order=priority").get_data(as_text=True))[-1] == "NB-003"
    assert rows(li.get("/inbox?order=-created").get_data(as_text=True)) == ["QH-9", "NB-004", "NB-003",
                                                                           "HZ-002", "HZ-001"]
    assert rows(li.get("/inbox?order=created").get_data(as_text=True))[0] == "HZ-001"


def test_inbox_pages_and_bad_filters(li, started, app):
    app.config["QIHU_PAGE_SIZE"] = 2
    first = li.get("/inbox").get_data(as_text=True)
    assert rows(first) == ["HZ-001", "NB-004"] and "第 1 / 3 页" in first and 'rel="prev"' not in first
    nxt = re.search(r'href="([^"]+)" rel="next"|rel="next" href="([^"]+)"', first)
    second = li.get((nxt.group(1) or nxt.group(2)).replace("&amp;", "&")).get_data(as_text=True)
    assert rows(second) == ["HZ-002", "NB-003"] and "第 2 / 3 页" in second
    last = li.get("/inbox?page=3").get_data(as_text=True)
    assert rows(last) == ["QH-9"] and 'rel="next"' not in last and "共 5 项" in last
    assert rows(li.get("/inbox?page=9").get_data(as_text=True)) == []
    filtered = li.get("/inbox?colour=green&page=2").get_data(as_text=True)
    assert rows(filtered) == [] and "第 2 / 1 页" in filtered
    for bad in ("page=abc", "page=0", "colour=purple", "priority=urgent", "order=name", "q=" + "x" * 101):
        r = li.get("/inbox?" + bad)
        assert r.status_code == 400, bad
        assert "请求有误" in r.get_data(as_text=True)


def test_form_error_then_success_keeps_values(app, engine, started):
    li = app.test_client()
    sign_in(li, "li")
    [task] = engine.tasks.list(instance_id=started["QH-9"])
    url = f"/tasks/{task['id']}"
    page = li.get(url).get_data(as_text=True)
    assert "受理登记" in page and "某公司" in page and "QH-9" in page
    assert "认领后即可办理此任务" in page and 'name="summary"' not in page
    r = post_form(li, url, f"{url}/claim")
    assert r.status_code == 302 and r.headers["Location"].endswith(url)
    page = li.get(url).get_data(as_text=True)
    assert "任务已认领" in page and "取消认领" in page
    assert re.search(r'<label for="f-summary">诉求摘要<abbr class="qh-req"', page)         # required mark
    assert '<option value="resource">要素保障</option>' in page

    r = post_form(li, url, url, {"category": "resource", "summary": "", "urgent": "true"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "表单有误" in html
    field = re.search(r'data-field="summary">(.*?)</div>', html, re.S).group(1)
    assert "has-error" in re.search(r'<div class="qh-field[^"]*" data-field="summary"', html).group(0)
    assert "必填" in field
    assert '<option value="resource" selected>要素保障</option>' in html
    assert 'value="true" checked' in html
    assert engine.tasks.get(task["id"])["status"] == "ready"

    r = post_form(li, url, url, {"category": "resource", "summary": "用地<指标>迟迟未落实", "urgent": "false"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    inbox = li.get("/inbox").get_data(as_text=True)
    assert "任务已办结：受理登记" in inbox and "QH-9" not in rows(inbox)
    assert engine.runtime.data(started["QH-9"])["summary"] == "用地<指标>迟迟未落实"
    wang = app.test_client()
    sign_in(wang, "wang")
    assert engine.runtime.data(started["QH-9"])["department"] == "dept_resource"
    engine.tasks.add_member("wang", "dept_resource")
    html = wang.get("/inbox").get_data(as_text=True)
    assert rows(html) == ["QH-9"] and "部门办理" in html
    [handle] = engine.tasks.list(instance_id=started["QH-9"])
    page = wang.get(f"/tasks/{handle['id']}").get_data(as_text=True)
    assert "用地&lt;指标&gt;迟迟未落实" in page and "<指标>" not in page     # escaped


def test_other_field_types_render(app, engine):
    form = bpmn("kinds", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="u" name="登记" camunda:candidateGroups="acceptor" camunda:assignee="li">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="count" label="人数" type="long" defaultValue="3" />
    <camunda:formField id="day" label="日期" type="date" />
    <camunda:formField id="code" label="编码" type="string"><camunda:validation>
      <camunda:constraint name="maxlength" config="18" /></camunda:validation></camunda:formField>
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="e" />
{chain("s", "u", "e")}""")
    engine.repository.deploy([("kinds.bpmn", form)])
    iid = engine.runtime.start("kinds")
    [t] = engine.tasks.list(instance_id=iid)
    c = app.test_client()
    sign_in(c, "li")
    url = f"/tasks/{t['id']}"
    html = c.get(url).get_data(as_text=True)
    assert 'name="count" type="number" step="1" value="3"' in html
    assert 'name="day" type="date"' in html and 'name="code" type="text" value="" maxlength="18"' in html
    r = post_form(c, url, url, {"count": "多", "day": "2026-13-45", "code": "X"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="多"' in html and 'value="2026-13-45"' in html and html.count('class="qh-field has-error"') == 2
    assert post_form(c, url, url, {"count": "4", "day": "2026-11-20", "code": "X"}).status_code == 302
    assert engine.runtime.get(iid)["status"] == "completed"


def test_english_by_link_and_cookie(li, started):
    html = li.get("/inbox?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "My inbox" in html and "Sign out" in html
    html = li.get("/inbox").get_data(as_text=True)                    # the cookie keeps it
    assert "My inbox" in html and "Working days left" in html
    assert "我的待办" in li.get("/inbox?lang=zh").get_data(as_text=True)


def test_every_page_text_has_an_english_translation():
    import pathlib
    texts = set()
    for path in (pathlib.Path(__file__).resolve().parents[2] / "web" / "templates").glob("*.html"):
        if path.name == "index.html":
            continue
        texts |= set(re.findall(r'_\(\s*"([^"]+)"', path.read_text(encoding="utf-8")))
    texts |= set(re.findall(r'_\("([^"]+)"', (pathlib.Path(__file__).resolve().parents[2] / "web" / "pages" / "inbox.py").read_text()))
    from qihu.web.pages.inbox import PRIORITY_NAMES
    from qihu.engine.runtime.sla import COLOUR_NAMES
    texts |= set(PRIORITY_NAMES.values()) | set(COLOUR_NAMES.values())
    assert sorted(texts - set(EN)) == []


def test_every_post_form_of_the_inbox_carries_a_csrf_token(li, started, engine):
    appeals.of(engine).filters.save("li", "红灯", "colour=red")
    html = li.get("/inbox").get_data(as_text=True)
    forms = re.findall(r'<form method="post".*?</form>', html, re.S)
    assert len(forms) >= 3                                 # sign out, delete the saved filter, save filters
    assert all('name="csrf_token"' in f for f in forms)
    assert 'href="/notifications"' in html and "qh-badge" not in html      # no unread notifications
