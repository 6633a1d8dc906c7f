"""Notifications written by handlers, shown to their users: to them or to one of their groups,
never to anyone else; unread counts, marking read (per user, also for group notifications),
the header badge and the /notifications page. On SQLite and PostgreSQL."""
import re

import pytest

from qihu.engine.errors import NotFound
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.web_util import add_people, post_form, sign_in, token

# notify.remind (handlers/supervision.py) writes the rows, as in the bundled mechanisms
REMIND = bpmn("remind", f"""<bpmn:startEvent id="s" />
<bpmn:serviceTask id="remind" camunda:type="external" camunda:topic="notify.remind">
  <bpmn:extensionElements><camunda:inputOutput>
    <camunda:inputParameter name="to_groups">${{groups}}</camunda:inputParameter>
    <camunda:inputParameter name="to_users">${{users}}</camunda:inputParameter>
    <camunda:inputParameter name="title">${{title}}</camunda:inputParameter>
    <camunda:inputParameter name="message">${{"请尽快办理：" + summary}}</camunda:inputParameter>
  </camunda:inputOutput></bpmn:extensionElements>
</bpmn:serviceTask>
<bpmn:userTask id="check" name="核查" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "remind", "check", "e")}""")

XSS = "<script>alert('x')</script>催办"


@pytest.fixture
def sent(engine, clock):
    """Three reminders: to acceptor (li, liu) and to wang by name; to supervisor (zhao); to wang."""
    add_people(engine)
    engine.repository.deploy([("remind.bpmn", REMIND)])
    made = {}
    for key, groups, users, title in [("A-1", "acceptor", "wang", XSS), ("S-2", "supervisor", "", "督查提醒"),
                                      ("W-3", "", "wang", "请王部门办理")]:
        made[key] = engine.runtime.start("remind", {"groups": groups, "users": users, "title": title,
                                                    "summary": key}, business_key=key)
        clock.advance(minutes=1)
    return made


def titles(page):
    return [n["title"] for n in page["items"]]


def test_each_user_sees_only_theirs_and_their_groups(engine, sent):
    n = engine.notifications
    assert titles(n.page("li")) == [XSS] and titles(n.page("liu")) == [XSS]
    assert titles(n.page("wang")) == ["请王部门办理", XSS]                # newest first; to him by name
    assert titles(n.page("zhao")) == ["督查提醒"]
    assert n.page("nobody") == {"items": [], "total": 0, "unread": 0}
    assert (n.unread_count("li"), n.unread_count("wang"), n.unread_count("zhao"), n.unread_count(None)) == (1, 2, 1, 0)
    [item] = n.page("li")["items"]
    assert item["recipient_kind"] == "group" and item["recipient"] == "acceptor"
    assert item["business_key"] == "A-1" and item["instance_id"] == sent["A-1"] and item["body"] == "请尽快办理：A-1"
    assert item["read"] is False and item["user_task_id"] is None     # sent by a service task: no task page
    engine.tasks.add_member("li", "supervisor")
    assert titles(n.page("li")) == ["督查提醒", XSS]                  # a group's notes follow membership


def test_mark_read_is_per_user(engine, sent):
    n = engine.notifications
    [note] = n.page("li")["items"]
    n.mark_read("li", note["id"])
    n.mark_read("li", note["id"])                                       # again: fine
    assert n.unread_count("li") == 0 and n.page("li")["items"][0]["read"] is True
    assert n.unread_count("liu") == 1                                   # the same group note, unread for liu
    assert n.page("li", unread_only=True) == {"items": [], "total": 0, "unread": 0}
    zhao_note = n.page("zhao")["items"][0]["id"]
    with pytest.raises(NotFound, match=f"no notification {zhao_note} for li"):
        n.mark_read("li", zhao_note)                                    # not his group's: not there for him
    with pytest.raises(NotFound):
        n.mark_read("li", 999999)
    assert n.unread_count("zhao") == 1
    assert n.mark_all_read("wang") == 2 and n.unread_count("wang") == 0 and n.mark_all_read("wang") == 0
    assert n.unread_count("liu") == 1 and n.unread_count("zhao") == 1


def test_paging(engine, sent):
    page = engine.notifications.page("wang", limit=1, offset=1)
    assert titles(page) == [XSS] and page["total"] == 2 and page["unread"] == 2


# -- web -----------------------------------------------------------------------------------
@pytest.fixture
def app(engine, sent):
    return create_app(engine=engine, config={"TESTING": True})


def client(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def badge(html):
    m = re.search(r'class="qh-badge"[^>]*data-unread="(\d+)"', html)
    return int(m.group(1)) if m else 0


def test_badge_page_and_mark_read(app, sent):
    li = client(app, "li")
    inbox = li.get("/inbox").get_data(as_text=True)
    assert badge(inbox) == 1 and 'href="/notifications"' in inbox
    html = li.get("/notifications").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;催办" in html and "<script>alert" not in html
    assert "请尽快办理：A-1" in html and "督查提醒" not in html and "请王部门办理" not in html
    assert f'href="/instances/{sent["A-1"]}"' in html and "<code>A-1</code>" in html
    assert "发给候选组" in html and "未读 1 条" in html
    nid = re.search(r'data-notification="(\d+)"', html).group(1)
    r = li.post(f"/notifications/{nid}/read", data={"csrf_token": token(html), "back": "/notifications?unread=1"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications?unread=1"
    after = li.get("/notifications").get_data(as_text=True)
    assert badge(after) == 0 and "未读 0 条" in after and "标为已读" not in after and "已读" in after
    assert "没有未读通知。" in li.get("/notifications?unread=1").get_data(as_text=True)
    liu = client(app, "liu")
    assert badge(liu.get("/inbox").get_data(as_text=True)) == 1        # liu has not read it
    r = li.post(f"/notifications/{nid}/read", data={"csrf_token": token(html), "back": "https://evil.example/"})
    assert r.headers["Location"] == "/notifications"                     # never sent elsewhere


def test_no_one_marks_or_sees_another_groups_notes(app, engine, sent):
    zhao_note = engine.notifications.page("zhao")["items"][0]["id"]
    li = client(app, "li")
    r = post_form(li, "/notifications", f"/notifications/{zhao_note}/read")
    assert r.status_code == 404 and "没有找到该记录" in r.get_data(as_text=True)
    assert engine.notifications.unread_count("zhao") == 1
    assert "督查提醒" not in li.get("/notifications?page=1").get_data(as_text=True)


def test_mark_all_read_and_pages(app, engine, sent):
    app.config["QIHU_PAGE_SIZE"] = 1
    wang = client(app, "wang")
    first = wang.get("/notifications").get_data(as_text=True)
    assert "请王部门办理" in first and "第 1 / 2 页" in first and badge(first) == 2
    assert "&lt;script&gt;" in wang.get("/notifications?page=2").get_data(as_text=True)
    r = post_form(wang, "/notifications", "/notifications/read-all")
    assert r.status_code == 302 and r.headers["Location"] == "/notifications"
    html = wang.get("/notifications").get_data(as_text=True)
    assert "已将 2 条通知标为已读" in html and badge(html) == 0
    assert wang.get("/notifications?page=abc").status_code == 400
    assert wang.get("/notifications?page=0").status_code == 400
    en = wang.get("/notifications?lang=en").get_data(as_text=True)
    assert "My notifications" in en and "0 unread" in en


def test_anonymous_and_forged_requests(app, engine, sent):
    anon = app.test_client()
    r = anon.get("/notifications?unread=1")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/notifications?unread%3D1"
    assert 'class="qh-badge"' not in anon.get("/").get_data(as_text=True)
    csrf = token(anon.get("/login").get_data(as_text=True))
    for url in ("/notifications/1/read", "/notifications/read-all"):
        r = anon.post(url, data={"csrf_token": csrf})
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), url
    li = client(app, "li")
    assert li.post("/notifications/read-all").status_code == 400           # no CSRF token
    assert engine.notifications.unread_count("li") == 1
