"""The inbox's region filter and counts, the trigger-kept inbox copy in task_candidate, and saved
filters (engine and web pages); on SQLite and PostgreSQL."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from qihu import appeals
from qihu.engine.errors import NotFound, ValidationFailed
from qihu.appeals.saved_filters import MAX_PER_USER
from qihu.engine.storage.models import Task, TaskCandidate
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.conftest import START
from tests.web_util import add_people, post_form, sign_in, token

REVIEW = bpmn("review", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="check" name="核查材料" camunda:candidateGroups="${{groups}}" camunda:dueDate="${{due}}"
    camunda:priority="${{prio}}" />
<bpmn:endEvent id="e" />
{chain("s", "check", "e")}""", name="材料核查")

BJ = "+08:00"


@pytest.fixture
def started(engine, clock):
    """Open review tasks: business key -> (instance id, task id). li and liu are in acceptor,
    wang in dept_policy and dept_general (tests/web_util.PEOPLE)."""
    add_people(engine)
    engine.repository.deploy([("review.bpmn", REVIEW)])
    made = {}
    for key, groups, region, due, prio in [
            ("HZ-1", "acceptor", "湖州市", f"2026-11-03T09:00:00{BJ}", 80),
            ("HZ-2", "acceptor", "湖州市", f"2026-11-20T09:00:00{BJ}", 50),
            ("NB-3", "acceptor", "宁波市", f"2026-11-04T09:00:00{BJ}", 10),
            ("QH-4", "acceptor", None, f"2026-11-25T09:00:00{BJ}", 50),
            ("WZ-5", "dept_policy,dept_general", "温州市", f"2026-11-06T09:00:00{BJ}", 50)]:
        iid = engine.runtime.start("review", {"groups": groups, "due": due, "prio": prio}, business_key=key,
                                   region=region)
        [t] = engine.tasks.list(instance_id=iid)
        made[key] = (iid, t["id"])
        clock.advance(minutes=1)
    return made


def keys(result):
    return [t["business_key"] for t in result["tasks"]]


def colour(engine, task_id, value):
    """What an SLA job does when working time passes (runtime: task.sla_colour updated)."""
    with engine.db.write() as s:
        s.execute(update(Task).where(Task.id == task_id).values(sla_colour=value))


# -- engine: region filter and counts ------------------------------------------------------
def test_region_filter_keeps_the_counts_of_the_other_filters(engine, started):
    r = engine.tasks.inbox("li")
    assert keys(r) == ["HZ-1", "NB-3", "HZ-2", "QH-4"] and r["total"] == 4
    assert r["regions"] == {"宁波市": 1, "湖州市": 2}        # regions of li's tasks only (no 温州市)
    hz = engine.tasks.inbox("li", region="湖州市")
    assert keys(hz) == ["HZ-1", "HZ-2"] and hz["total"] == 2
    assert sum(hz["counts"].values()) == 2
    assert hz["regions"] == {"宁波市": 1, "湖州市": 2}       # the region list ignores the region filter
    assert engine.tasks.inbox("li", region="杭州市")["total"] == 0
    assert keys(engine.tasks.inbox("li", region="湖州市", priority="high")) == ["HZ-1"]
    assert keys(engine.tasks.inbox("wang", region="温州市")) == ["WZ-5"]
    colour(engine, started["HZ-1"][1], "red")
    red = engine.tasks.inbox("li", region="湖州市", colour="red")
    assert keys(red) == ["HZ-1"] and red["total"] == 1 and red["counts"]["red"] == 1
    assert red["counts"]["green"] == 1                        # HZ-2: colour chips count the region's tasks
    assert red["regions"] == {"湖州市": 1}                     # regions under the colour filter
    assert engine.tasks.list(user="li", region="宁波市")[0]["region"] == "宁波市"
    counts_only = engine.tasks.inbox("li", limit=0)
    assert counts_only["tasks"] == [] and counts_only["total"] == 4


def test_inbox_copy_follows_the_task_whoever_writes_it(engine, started, clock):
    _, tid = started["HZ-1"]
    with engine.db.read() as s:
        [row] = s.scalars(select(TaskCandidate).where(TaskCandidate.task_id == tid)).all()
        assert (row.kind, row.name, row.status, row.task_name, row.business_key, row.region, row.priority) == \
            ("group", "acceptor", "ready", "核查材料", "HZ-1", "湖州市", 80)
        assert row.due_at == s.get(Task, tid).due_at and row.created_at == s.get(Task, tid).created_at
    engine.tasks.claim(tid, "li")
    assert "HZ-1" in keys(engine.tasks.inbox("li")) and engine.tasks.inbox("li")["total"] == 4
    assert "HZ-1" not in keys(engine.tasks.inbox("liu")) and engine.tasks.inbox("liu")["total"] == 3
    engine.tasks.unclaim(tid, "li")
    assert engine.tasks.inbox("liu")["total"] == 4
    colour(engine, tid, "orange")
    assert engine.tasks.inbox("liu", colour="orange")["total"] == 1
    engine.tasks.complete(tid, "liu", {})
    assert "HZ-1" not in keys(engine.tasks.inbox("li")) and engine.tasks.inbox("li")["total"] == 3
    with engine.db.read() as s:
        row = s.scalars(select(TaskCandidate).where(TaskCandidate.task_id == tid)).one()
        assert (row.status, row.assignee, row.sla_colour) == ("completed", "liu", "orange")
    # a completed task still counts for "who took part" (engine.access), but not in any inbox
    assert engine.access.can_see_instance("li", started["HZ-1"][0])
    engine.runtime.cancel(started["NB-3"][0], user="li")
    assert engine.tasks.inbox("li")["total"] == 2
    assert engine.tasks.list(user="liu", status="completed")[0]["id"] == tid


def test_task_offered_to_two_of_my_groups_and_to_me_counts_once(engine, started):
    r = engine.tasks.inbox("wang")
    assert keys(r) == ["WZ-5"] and r["total"] == 1 and sum(r["counts"].values()) == 1
    assert engine.tasks.inbox("li", text="WZ")["total"] == 0          # not offered to li at all
    assert engine.tasks.inbox("wang", text="wz-")["total"] == 1       # business key, any case
    assert engine.tasks.inbox("wang", text="核查")["total"] == 1       # task name
    engine.tasks.claim(started["WZ-5"][1], "wang")
    assert engine.tasks.inbox("wang")["total"] == 1


def test_assigned_without_candidates_is_in_the_inbox(engine, clock):
    engine.repository.deploy([("direct.bpmn", bpmn("direct", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="u" name="企业评价" camunda:assignee="qiye" /><bpmn:endEvent id="e" />{chain("s", "u", "e")}"""))])
    engine.runtime.start("direct", business_key="D-1", region="丽水市")
    r = engine.tasks.inbox("qiye")
    assert keys(r) == ["D-1"] and r["regions"] == {"丽水市": 1} and r["counts"] == {"none": 1}
    assert engine.tasks.inbox("someone")["total"] == 0


# -- engine: saved filters -----------------------------------------------------------------
def test_saved_filters_save_replace_list_delete(engine):
    saved = appeals.of(engine).filters.save("li", " 湖州红灯 ", "?colour=red&region=湖州市&overdue=1&order=priority&q=")
    assert saved["name"] == "湖州红灯" and saved["user"] == "li"
    assert saved["query"] == "region=%E6%B9%96%E5%B7%9E%E5%B8%82&colour=red&overdue=1&order=priority"
    again = appeals.of(engine).filters.save("li", "湖州红灯", "colour=yellow")               # same name: replaced
    assert again["id"] == saved["id"] and again["query"] == "colour=yellow"
    appeals.of(engine).filters.save("li", "全部", "")
    assert [f["name"] for f in appeals.of(engine).filters.list("li")] == ["全部", "湖州红灯"]
    assert appeals.of(engine).filters.list("wang") == []
    with pytest.raises(NotFound):
        appeals.of(engine).filters.delete("wang", saved["id"])                   # someone else's: not there for wang
    with pytest.raises(NotFound):
        appeals.of(engine).filters.get("wang", saved["id"])
    assert len(appeals.of(engine).filters.list("li")) == 2
    appeals.of(engine).filters.delete("li", saved["id"])
    assert [f["name"] for f in appeals.of(engine).filters.list("li")] == ["全部"]
    with pytest.raises(NotFound, match=f"no saved filter {saved['id']} of li"):
        appeals.of(engine).filters.delete("li", saved["id"])


@pytest.mark.parametrize("name, query, field, words", [
    ("", "colour=red", "name", "required"),
    ("x" * 101, "colour=red", "name", "longer than 100"),
    ("坏", "foo=1", "query", "unknown parameter 'foo'"),
    ("坏", "page=3", "query", "unknown parameter 'page'"),
    ("坏", "colour=purple", "query", "colour='purple'"),
    ("坏", "priority=urgent", "query", "priority='urgent'"),
    ("坏", "order=name", "query", "order='name'"),
    ("坏", "colour=red&colour=green", "query", "given twice"),
    ("坏", "q=" + "x" * 101, "query", "q: longer than 100"),
    ("坏", "colour", "query", "not a query string"),
    ("坏", "q=" + "x" * 1000, "query", "longer than 1000"),
])
def test_saved_filter_refuses_bad_input(engine, name, query, field, words):
    with pytest.raises(ValidationFailed) as e:
        appeals.of(engine).filters.save("li", name, query)
    assert words in e.value.errors[field] and words in str(e.value)
    assert appeals.of(engine).filters.list("li") == []                            # nothing half-written


def test_saved_filters_per_user_are_capped(engine):
    for i in range(MAX_PER_USER):
        appeals.of(engine).filters.save("li", f"f{i:02d}", "colour=red")
    with pytest.raises(ValidationFailed, match=f"at most {MAX_PER_USER}"):
        appeals.of(engine).filters.save("li", "one more", "colour=red")
    appeals.of(engine).filters.save("li", "f00", "colour=green")                   # replacing is still fine
    appeals.of(engine).filters.save("wang", "mine", "colour=red")                  # and others have their own


# -- web -----------------------------------------------------------------------------------
@pytest.fixture
def app(engine, started):
    return create_app(engine=engine, config={"TESTING": True})


@pytest.fixture
def li(app):
    c = app.test_client()
    assert sign_in(c, "li").status_code == 302
    return c


def rows(html):
    return re.findall(r'<tr data-task="[^"]+">.*?<code>([^<]+)</code>', html, re.S)


def test_inbox_page_region_select_and_filter(li, clock):
    clock.set(START + timedelta(hours=2))
    html = li.get("/inbox").get_data(as_text=True)
    select_ = re.search(r'<select name="region".*?</select>', html, re.S).group(0)
    assert '<option value="">全部地区</option>' in select_
    assert '<option value="宁波市">宁波市 (1)</option>' in select_ and '<option value="湖州市">湖州市 (2)</option>' in select_
    assert "温州市" not in select_                                    # not one of li's tasks
    hz = li.get("/inbox?region=湖州市").get_data(as_text=True)
    assert rows(hz) == ["HZ-1", "HZ-2"] and "共 2 项" in hz
    assert '<option value="湖州市" selected>湖州市 (2)</option>' in hz
    assert 'class="qh-region">湖州市<' in hz
    gone = li.get("/inbox?region=杭州市").get_data(as_text=True)
    assert rows(gone) == [] and '<option value="杭州市" selected>杭州市 (0)</option>' in gone
    r = li.get("/inbox?region=" + "x" * 101)
    assert r.status_code == 400 and "region: longer than 100" in r.get_data(as_text=True)


def test_save_use_and_delete_a_filter_on_the_page(li, app, engine):
    page = li.get("/inbox?region=湖州市&priority=high").get_data(as_text=True)
    assert "保存当前筛选" in page and "尚未保存筛选" in page
    query = re.search(r'name="query" value="([^"]*)"', page).group(1).replace("&amp;", "&")
    assert query == "region=%E6%B9%96%E5%B7%9E%E5%B8%82&priority=high"
    r = li.post("/inbox/filters", data={"name": "湖州<急件>", "query": query, "csrf_token": token(page)})
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?" + query
    html = li.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存筛选：湖州&lt;急件&gt;" in html and "<急件>" not in html          # escaped
    item = re.search(r'<span class="qh-saved-item is-on" data-saved-filter="(\d+)">(.*?)</span>', html, re.S)
    assert item and "湖州&lt;急件&gt; <b>1</b>" in item.group(2)                 # HZ-1 only, counted
    fid = int(item.group(1))
    other = li.get("/inbox").get_data(as_text=True)
    assert 'class="qh-saved-item is-on"' not in other and f'data-saved-filter="{fid}"' in other

    r = li.post("/inbox/filters", data={"name": "", "query": "colour=red", "csrf_token": token(other)})
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?colour=red"
    assert "筛选未保存：名称必填" in li.get(r.headers["Location"]).get_data(as_text=True)
    r = li.post("/inbox/filters", data={"name": "坏", "query": "colour=red&evil=1", "csrf_token": token(other)})
    assert r.status_code == 302 and r.headers["Location"] == "/inbox"
    assert "筛选条件无效（unknown parameter &#39;evil&#39;" in li.get("/inbox").get_data(as_text=True)
    assert len(appeals.of(engine).filters.list("li")) == 1

    wang = app.test_client()
    sign_in(wang, "wang")
    r = post_form(wang, "/inbox", f"/inbox/filters/{fid}/delete")
    assert r.status_code == 404 and "没有找到该记录" in r.get_data(as_text=True)
    assert len(appeals.of(engine).filters.list("li")) == 1                        # someone else's stays
    r = post_form(li, "/inbox", f"/inbox/filters/{fid}/delete")
    assert r.status_code == 302 and appeals.of(engine).filters.list("li") == []
    assert "已删除筛选：湖州&lt;急件&gt;" in li.get("/inbox").get_data(as_text=True)


def test_saved_filter_forms_need_csrf_and_a_user(app, li, engine):
    assert li.post("/inbox/filters", data={"name": "x", "query": "colour=red"}).status_code == 400
    saved = appeals.of(engine).filters.save("li", "x", "colour=red")
    assert li.post(f"/inbox/filters/{saved['id']}/delete").status_code == 400
    anon = app.test_client()
    csrf = token(anon.get("/login").get_data(as_text=True))
    for url in ("/inbox/filters", f"/inbox/filters/{saved['id']}/delete"):
        r = anon.post(url, data={"name": "x", "query": "colour=red", "csrf_token": csrf})
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), url
    assert [f["name"] for f in appeals.of(engine).filters.list("li")] == ["x"]


def test_0005_fills_the_copy_of_existing_rows_and_downgrades(db_url):
    """A database written before 0005 gets its candidate rows filled by the upgrade, and the
    triggers keep them from then on; downgrading removes the copy and keeps the rows."""
    from datetime import datetime
    from alembic import command
    from sqlalchemy import inspect, text
    from qihu.engine.storage.db import Database
    from qihu.engine.storage.migrate import alembic_config
    db = Database(db_url)
    try:
        cfg = alembic_config(db)
        command.downgrade(cfg, "0004")
        assert "status" not in {c["name"] for c in inspect(db.engine).get_columns("task_candidate")}
        due = datetime(2026, 11, 5, 1, 0)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO deployment (id, name, sha256, deployed_at) VALUES (1, 'd', 'x', :t)"),
                      {"t": due})
            c.execute(text("INSERT INTO definition (id, key, version, name, deployment_id, resource_name, sha256, "
                           "created_at) VALUES (1, 'p', 1, 'p', 1, 'p.bpmn', 'x', :t)"), {"t": due})
            c.execute(text("INSERT INTO instance (id, definition_id, definition_key, business_key, region, status, "
                           "version, state, started_at, updated_at) VALUES ('i1', 1, 'p', 'BK-1', '湖州市', "
                           "'running', 1, '', :t, :t)"), {"t": due})
            c.execute(text("INSERT INTO task (id, instance_id, definition_key, element_id, name, region, "
                           "candidate_groups, candidate_users, due_at, priority, sla_colour, status, created_at, "
                           "version) VALUES ('t1', 'i1', 'p', 'u', '核查', '湖州市', 'g1,g2', 'li', :t, 70, 'green', "
                           "'ready', :t, 1)"), {"t": due})
            c.execute(text("INSERT INTO task_candidate (task_id, kind, name) VALUES ('t1', 'group', 'g1'), "
                           "('t1', 'group', 'g2'), ('t1', 'user', 'li')"))
        command.upgrade(cfg, "head")
        with db.engine.begin() as c:
            rows = c.execute(text("SELECT name, status, priority, sla_colour, task_name, business_key, region, "
                                  "definition_key, candidates FROM task_candidate ORDER BY name")).all()
            assert [tuple(r) for r in rows] == [(n, "ready", 70, "green", "核查", "BK-1", "湖州市", "p", 3)
                                                for n in ("g1", "g2", "li")]
            c.execute(text("UPDATE task SET sla_colour = 'red', assignee = 'li' WHERE id = 't1'"))
            assert set(c.execute(text("SELECT sla_colour || assignee FROM task_candidate")).scalars()) == {"redli"}
            c.execute(text("UPDATE task SET status = 'completed' WHERE id = 't1'"))
            assert set(c.execute(text("SELECT status FROM task_candidate")).scalars()) == {"completed"}
        command.downgrade(cfg, "0004")
        assert "status" not in {c["name"] for c in inspect(db.engine).get_columns("task_candidate")}
        with db.engine.begin() as c:
            assert c.execute(text("SELECT count(*) FROM task_candidate")).scalar() == 3
            c.execute(text("UPDATE task SET sla_colour = 'blue' WHERE id = 't1'"))    # no trigger left
        command.upgrade(cfg, "head")
    finally:
        db.dispose()
