"""安全审计 (/admin/audit, web/pages/audit.py) and what the pages record in the security audit
(issue 16): exports, views of personal data (task page, 办理单, search, instance page), the
notices page; who, when, from which address. In the browser at desktop and phone width."""
import pytest
from sqlalchemy import text

from qihu.web.app import create_app
from tests.conftest import ARTIFACTS
from tests.web_util import BASIC, PASSWORD, add_people, browser_sign_in, live_server, sign_in


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.repository.deploy([BASIC], user="boss")
    return create_app(engine=engine, config={"TESTING": True})


def signed(app, name, addr="198.51.100.23"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = addr
    assert sign_in(c, name).status_code == 302
    return c


def last(engine, action):
    rows = engine.audit.list(action=action, limit=1)
    assert rows, f"no {action} recorded"
    return rows[0]


def test_views_of_personal_data_are_recorded_with_who_and_from_where(app, engine):
    iid = engine.runtime.start("appeal_basic", {"company": "湖州某新材料有限公司", "summary": "用地指标未落实"},
                               business_key="QH-AUDIT-1", user="li")
    [t] = engine.tasks.list(instance_id=iid)
    li = signed(app, "li")
    assert li.get(f"/tasks/{t['id']}").status_code == 200
    r = last(engine, "personal_data_viewed")
    assert (r["actor"], r["client"], r["target"]) == ("li", "198.51.100.23", iid)
    assert r["detail"]["page"] == "task" and r["detail"]["business_key"] == "QH-AUDIT-1"
    assert "company" in r["detail"]["fields"]
    assert li.get(f"/instances/{iid}/print").status_code == 200
    assert last(engine, "personal_data_viewed")["detail"]["page"] == "print"
    assert li.get(f"/instances/{iid}").status_code == 200
    assert last(engine, "personal_data_viewed")["detail"] == {"page": "instance", "business_key": "QH-AUDIT-1"}
    assert li.get("/search?q=QH-AUDIT").status_code == 200
    s = last(engine, "personal_data_viewed")["detail"]
    assert s["page"] == "search" and s["filters"] == {"q": "QH-AUDIT"} and s["shown"] == ["QH-AUDIT-1"]
    n = engine.audit.count()
    li.get("/search")                                   # the empty form lists nothing: nothing recorded
    assert engine.audit.count() == n
    assert engine.audit.verify() is None


def test_exports_and_the_notices_page_are_recorded(app, engine):
    boss = signed(app, "boss", "203.0.113.5")
    r = boss.get("/dashboard/ledger.xlsx?month=2026-11")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    e = last(engine, "export")
    assert e["actor"] == "boss" and e["client"] == "203.0.113.5" and e["target"].endswith(".xlsx")
    assert e["detail"] == {"month": "2026-11"}
    assert boss.get("/admin/notices?channel=sms").status_code == 200
    assert last(engine, "notices_viewed")["detail"] == {"channel": "sms", "page": 1}


def test_the_audit_page_is_for_administrators(app, engine):
    li = signed(app, "li")
    r = li.get("/admin/audit")
    assert r.status_code == 403 and "仅限管理员" in r.get_data(as_text=True)
    anon = app.test_client().get("/admin/audit")
    assert anon.status_code == 302 and "/login" in anon.headers["Location"]


def test_the_page_lists_newest_first_filters_and_shows_the_chain(app, engine):
    engine.repository.activate("appeal_basic", 1, user="boss")
    engine.accounts.set_group_name("acceptor", "受理员", user="boss")
    boss = signed(app, "boss")
    html = boss.get("/admin/audit").get_data(as_text=True)
    assert 'data-chain="ok"' in html and "审计链完整" in html and "SHA256" in html
    actions = [a for a in __import__("re").findall(r'data-action="([a-z_]+)"', html)]
    assert actions[:3] == ["group_name_changed", "activate", "deploy"] or actions[0] == "signin"
    assert "修改用户组名称" in html and "启用流程版本" in html and "受理员" in html
    html = boss.get("/admin/audit?action=deploy").get_data(as_text=True)
    assert __import__("re").findall(r'data-action="([a-z_]+)"', html) == ["deploy"]
    html = boss.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert "没有符合条件的审计记录" in html
    html = boss.get("/admin/audit?since=2099-01-01").get_data(as_text=True)
    assert "没有符合条件的审计记录" in html
    assert boss.get("/admin/audit?since=yesterday").status_code == 400
    assert last(engine, "audit_viewed")["actor"] == "boss"
    assert 'data-audit-link' in boss.get("/admin/processes").get_data(as_text=True)
    en = boss.get("/admin/audit?lang=en").get_data(as_text=True)
    assert "Security audit" in en and "Audit chain intact" in en


def test_a_broken_chain_is_shown_at_the_top(app, engine):
    engine.repository.activate("appeal_basic", 1, user="boss")
    pg = not engine.db.is_sqlite
    with engine.db.write() as s:
        if pg:
            s.execute(text("ALTER TABLE security_audit DISABLE TRIGGER security_audit_append_only"))
        s.execute(text("UPDATE security_audit SET actor = 'mallory' WHERE id = 1"))
        if pg:
            s.execute(text("ALTER TABLE security_audit ENABLE TRIGGER security_audit_append_only"))
    html = signed(app, "boss").get("/admin/audit").get_data(as_text=True)
    assert 'data-chain="broken"' in html and 'data-broken-id="1"' in html and "被改动" in html


def test_nothing_of_a_request_stays_with_the_thread(app, engine):
    signed(app, "li", "192.0.2.99").get("/inbox")
    engine.audit.record("export", target="after the request")
    r = last(engine, "export")
    assert r["actor"] is None and r["client"] is None


def test_the_page_at_desktop_and_phone_width(app, engine, page):
    engine.repository.activate("appeal_basic", 1, user="boss")
    engine.accounts.set_group_name("dept_policy", "政策兑现科（发改局）", user="boss")
    with live_server(app) as base:
        browser_sign_in(page, base, "boss")
        for width in (1366, 375):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto(f"{base}/admin/audit")
            assert page.locator("[data-chain=ok]").is_visible()
            assert page.locator("tr[data-audit]").count() >= 3
            page.screenshot(path=str(ARTIFACTS / f"audit_{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
