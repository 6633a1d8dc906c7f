"""Issue 16, finding 2: sessions that end when they should (both databases).

A session carries the account's session_version from sign-in; every request's user loader
compares it with the database, so sign-out, a new password, disabling the account and an
administrator's 强制下线 end every session of the account, in every process. Sessions also end
after QIHU_SESSION_IDLE_MINUTES without a request and QIHU_SESSION_MAX_HOURS after sign-in
(the engine clock), and the cookie is HttpOnly, SameSite=Lax, Secure over HTTPS.
"""
import pytest
from click.testing import CliRunner

from qihu.web.app import create_app

from tests.web_util import BASIC, PASSWORD, add_people, post_form, sign_in, token


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.repository.deploy([BASIC])
    return create_app(engine=engine, config={"TESTING": True, "QIHU_SESSION_CLOCK": "engine"})


def signed_in(app, name="li"):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    assert c.get("/inbox").status_code == 200
    return c


def copy_of(app, client):
    """Another browser holding the same session cookie (a copied cookie)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def is_signed_out(client):
    r = client.get("/inbox")
    return r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_logout_no_longer_opens_the_inbox(app):
    c = signed_in(app)
    stolen = copy_of(app, c)
    assert stolen.get("/inbox").status_code == 200
    assert post_form(c, "/inbox", "/logout").status_code == 302
    assert is_signed_out(stolen)
    assert is_signed_out(c)
    assert signed_in(app).get("/inbox").status_code == 200          # signing in again works


def test_a_new_password_ends_every_session_in_every_process(app, make_engine):
    other_process = create_app(engine=make_engine(), config={"TESTING": True, "QIHU_SESSION_CLOCK": "engine"})
    here, there = signed_in(app), signed_in(other_process)
    stolen = copy_of(other_process, here)
    make_engine().accounts.set_password("li", "a-new-password-1")
    assert is_signed_out(here) and is_signed_out(there) and is_signed_out(stolen)
    assert signed_in(app, "liu").get("/inbox").status_code == 200   # others keep theirs


def test_qihu_user_password_and_signout_end_sessions(app, db_url, monkeypatch):
    from qihu.cli import main
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    c = signed_in(app)
    r = CliRunner().invoke(main, ["user", "password", "li", "--password", "another-pw-2"])
    assert r.exit_code == 0, r.output
    assert is_signed_out(c)
    c = app.test_client()
    assert sign_in(c, "li", "another-pw-2").status_code == 302 and c.get("/inbox").status_code == 200
    r = CliRunner().invoke(main, ["user", "signout", "li"])
    assert r.exit_code == 0 and "li" in r.output, r.output
    assert is_signed_out(c)
    r = CliRunner().invoke(main, ["user", "signout", "nobody"])
    assert r.exit_code != 0


def test_disabling_and_sign_out_everywhere(app, engine):
    a, b = signed_in(app), signed_in(app)
    before = engine.accounts.get("li")["session_version"]
    engine.accounts.sign_out_everywhere("li")
    assert engine.accounts.get("li")["session_version"] == before + 1
    assert is_signed_out(a) and is_signed_out(b)
    c = signed_in(app)
    engine.accounts.set_active("li", False)
    engine.accounts.set_active("li", True)                 # enabled again: the old session stays over
    assert is_signed_out(c)


def test_idle_timeout_and_absolute_lifetime(app, clock):
    c = signed_in(app)
    clock.advance(minutes=29)
    assert c.get("/inbox").status_code == 200              # a request keeps the session alive
    clock.advance(minutes=29)
    assert c.get("/inbox").status_code == 200
    clock.advance(minutes=31)
    r = c.get("/inbox")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/inbox"
    said = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "登录已超时，请重新登录" in said and "请先登录" not in said      # why, said once

    c = signed_in(app)
    for step in range(1, 30):                               # busy all day: 12 hours, then over
        clock.advance(minutes=29)
        if is_signed_out(c):
            break
    assert step == 25                                       # 25 × 29 minutes = 12 h 5 min


def test_idle_and_lifetime_are_settings(engine, clock):
    add_people(engine)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_SESSION_IDLE_MINUTES": 5,
                                            "QIHU_SESSION_MAX_HOURS": 1, "QIHU_SESSION_CLOCK": "engine"})
    c = signed_in(app)
    clock.advance(minutes=6)
    assert is_signed_out(c)
    c = signed_in(app)
    for _ in range(14):                                     # 56 minutes, a request every 4
        clock.advance(minutes=4)
        assert c.get("/inbox").status_code == 200
    clock.advance(minutes=5)                                # 61 minutes after sign-in
    assert is_signed_out(c)


def test_sessions_keep_real_time_while_the_engine_clock_moves(engine, clock):
    """By default the engine clock (fixed by QIHU_NOW in a demo, moved by days in tests of
    deadlines) neither ends nor keeps sessions: they run on the real time."""
    add_people(engine)
    app = create_app(engine=engine, config={"TESTING": True})
    c = signed_in(app)
    clock.advance(days=3)
    assert c.get("/inbox").status_code == 200
    with c.session_transaction() as s:                      # 31 real minutes ago
        s["qihu_seen"] -= 31 * 60
    assert is_signed_out(c)


def test_idle_from_the_environment(engine, monkeypatch):
    monkeypatch.setenv("QIHU_SESSION_IDLE_MINUTES", "7")
    monkeypatch.setenv("QIHU_SESSION_MAX_HOURS", "2")
    app = create_app(engine=engine, config={"TESTING": True})
    assert app.config["QIHU_SESSION_IDLE_MINUTES"] == 7 and app.config["QIHU_SESSION_MAX_HOURS"] == 2


def test_a_new_session_at_sign_in(app):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    before = c.get_cookie("session").value
    r = c.post("/login", data={"name": "li", "password": PASSWORD, "csrf_token": token(page), "next": ""})
    assert r.status_code == 302
    after = c.get_cookie("session").value
    assert after != before
    # nothing of the anonymous session survives: a planted value is gone
    with c.session_transaction() as s:
        assert "qihu_sid" in s
        sid = s["qihu_sid"]
    c2 = app.test_client()
    with c2.session_transaction() as s:
        s["qihu_sid"] = "planted-by-an-attacker"
        s["planted"] = 1
    assert sign_in(c2, "li").status_code == 302
    with c2.session_transaction() as s:
        assert s["qihu_sid"] not in ("planted-by-an-attacker", sid) and "planted" not in s


def _session_cookie(response):
    [cookie] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return {part.strip().split("=")[0].lower(): part for part in cookie.split(";")}


def test_cookie_flags(engine):
    add_people(engine)
    plain = create_app(engine=engine, config={"TESTING": True})
    flags = _session_cookie(plain.test_client().get("/login"))
    assert "httponly" in flags and flags["samesite"].strip() == "SameSite=Lax" and "secure" not in flags
    # served over HTTPS (directly, or a trusted proxy's X-Forwarded-Proto made it so): Secure
    flags = _session_cookie(plain.test_client().get("/login", base_url="https://qihu.example"))
    assert "secure" in flags and "httponly" in flags
    for config in ({"QIHU_SECURE_COOKIES": True}, {"PREFERRED_URL_SCHEME": "https"}):
        app = create_app(engine=engine, config={"TESTING": True, **config})
        flags = _session_cookie(app.test_client().get("/login"))
        assert "secure" in flags and "httponly" in flags, config
    forced_off = create_app(engine=engine, config={"TESTING": True, "QIHU_SECURE_COOKIES": False})
    assert "secure" not in _session_cookie(forced_off.test_client().get("/login"))


def test_secure_cookies_from_the_environment(engine, monkeypatch):
    monkeypatch.setenv("QIHU_SECURE_COOKIES", "1")
    app = create_app(engine=engine, config={"TESTING": True})
    assert "secure" in _session_cookie(app.test_client().get("/login"))
    monkeypatch.setenv("QIHU_SECURE_COOKIES", "0")
    app = create_app(engine=engine, config={"TESTING": True})
    assert "secure" not in _session_cookie(app.test_client().get("/login"))


# -- the administrators' accounts page --------------------------------------------------------
def test_accounts_page_is_for_administrators(app, engine):
    c = signed_in(app, "li")
    assert c.get("/admin/accounts").status_code == 403
    assert app.test_client().get("/admin/accounts").status_code == 302
    admin = signed_in(app, "boss")
    html = admin.get("/admin/accounts").get_data(as_text=True)
    acceptors = engine.accounts.group_names(["acceptor"])["acceptor"]
    assert "用户账号" in html and "李受理" in html and acceptors in html and "全部地区" in html
    assert "强制下线" in html and "停用" in html and "解除锁定" not in html
    assert 'href="/admin/accounts"' in admin.get("/admin/processes").get_data(as_text=True)


def test_a_locked_account_shows_until_when_and_can_be_unlocked(app, engine, clock):
    from datetime import timedelta
    from qihu.engine.storage.models import UserAccount
    engine.accounts.signin_clock = clock.now      # locks run on the limiter's clock (real time by default)
    with engine.db.write() as s:
        s.get(UserAccount, "li").locked_until = clock.now() + timedelta(minutes=15)
    admin = signed_in(app, "boss")
    html = admin.get("/admin/accounts").get_data(as_text=True)
    assert "解除锁定" in html and "锁定至 2026-11-02 09:15" in html             # Beijing time
    assert post_form(admin, "/admin/accounts", "/admin/accounts/li/unlock").status_code == 302
    assert not engine.accounts.get("li")["locked_until"]
    assert "已解除锁定" in admin.get("/admin/accounts").get_data(as_text=True)


def test_administrator_signs_a_person_out_everywhere(app, engine):
    a, b = signed_in(app, "li"), signed_in(app, "li")
    admin = signed_in(app, "boss")
    r = post_form(admin, "/admin/accounts", "/admin/accounts/li/signout")
    assert r.status_code == 302
    assert is_signed_out(a) and is_signed_out(b)
    assert "已强制下线" in admin.get("/admin/accounts").get_data(as_text=True)
    assert admin.get("/inbox").status_code == 200           # the administrator's own session stays


def test_administrator_disables_and_enables(app, engine):
    c = signed_in(app, "li")
    admin = signed_in(app, "boss")
    assert post_form(admin, "/admin/accounts", "/admin/accounts/li/active", {"active": "0"}).status_code == 302
    assert engine.accounts.get("li")["is_active"] is False and is_signed_out(c)
    assert sign_in(app.test_client(), "li").status_code == 200       # refused
    assert post_form(admin, "/admin/accounts", "/admin/accounts/li/active", {"active": "1"}).status_code == 302
    assert engine.accounts.get("li")["is_active"] is True
    assert signed_in(app, "li").get("/inbox").status_code == 200
    # an administrator cannot disable themselves (and lock everyone out)
    post_form(admin, "/admin/accounts", "/admin/accounts/boss/active", {"active": "0"})
    assert engine.accounts.get("boss")["is_active"] is True
    assert post_form(admin, "/admin/accounts", "/admin/accounts/nobody/signout").status_code == 404


def test_audit_events_of_sessions(app, engine):
    audit = getattr(engine, "audit", None)
    if audit is None or not hasattr(audit, "record"):
        pytest.skip("engine.audit not there yet (helper S3)")
    c = signed_in(app, "li")
    post_form(c, "/inbox", "/logout")
    engine.accounts.set_password("li", "yet-another-pw-3")
    engine.accounts.sign_out_everywhere("li", user="boss")
    engine.accounts.set_active("li", False, user="boss")
    actions = [e["action"] for e in _audit_events(engine)]
    for action in ("signout", "password_changed", "signout_everywhere", "account_disabled"):
        assert action in actions, (action, actions)


def _audit_events(engine):
    for name in ("events", "list", "entries", "recent"):
        fn = getattr(engine.audit, name, None)
        if callable(fn):
            return list(fn())
    from sqlalchemy import select
    from qihu.engine.storage.models import SecurityAudit
    with engine.db.read() as s:
        return [{"action": a} for a in s.scalars(select(SecurityAudit.action))]


def test_qihu_serve_sends_secure_cookies_unless_told_not_to(db_url, monkeypatch):
    """`qihu serve` is production: Secure cookies (HTTPS) by default; `qihu demo` is plain HTTP."""
    from flask import Flask
    from qihu.cli import main
    served = []
    monkeypatch.setattr(Flask, "run", lambda app, **kw: served.append(app))                      # qihu demo
    monkeypatch.setattr("qihu.serving.serve", lambda factory, **options: served.append(factory()))  # qihu serve
    monkeypatch.setattr("qihu.web.app.start_worker", lambda engine: None)
    monkeypatch.setattr("qihu.appeals.demo.seed", lambda engine, folder, **options: iter(["seeded"]))
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.setenv("QIHU_SECRET_KEY", "serve-secret-" + "x" * 30)
    monkeypatch.delenv("QIHU_SECURE_COOKIES", raising=False)
    r = CliRunner().invoke(main, ["serve", "--no-worker"])
    assert r.exit_code == 0 and "HTTPS" in r.output, r.output
    assert "secure" in _session_cookie(served[-1].test_client().get("/login"))
    monkeypatch.setenv("QIHU_SECURE_COOKIES", "0")
    assert CliRunner().invoke(main, ["serve", "--no-worker"]).exit_code == 0
    assert "secure" not in _session_cookie(served[-1].test_client().get("/login"))
    monkeypatch.delenv("QIHU_SECURE_COOKIES")
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0
    assert "secure" not in _session_cookie(served[-1].test_client().get("/login"))
