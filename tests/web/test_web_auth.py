"""Sign-in, sign-out, CSRF and who may see and act on which task, per endpoint."""
import pytest
from flask import Flask, g, request
from sqlalchemy import select

from qihu.engine.storage.models import UserAccount
from qihu.web import Qihu
from qihu.web.app import create_app

from tests.web_util import BASIC, PASSWORD, add_people, post_form, sign_in, token


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.repository.deploy([BASIC])
    return create_app(engine=engine, config={"TESTING": True})


@pytest.fixture
def accept_task(engine):
    iid = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="HZ-7")
    [t] = engine.tasks.list(instance_id=iid)
    return t["id"]


def signed_in(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def test_sign_in_and_out(app):
    c = app.test_client()
    r = c.get("/inbox")
    assert r.status_code == 302 and r.headers["Location"] == "/login?next=/inbox"
    login = c.get("/login?next=/inbox").get_data(as_text=True)
    assert "工作人员登录" in login and 'name="password"' in login and 'value="/inbox"' in login
    r = sign_in(c, "li", next_url="/inbox?colour=red")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?colour=red"
    html = c.get("/inbox").get_data(as_text=True)
    assert "当前用户：李受理" in html and "欢迎，李受理" in html and "退出" in html
    r = post_form(c, "/inbox", "/logout")
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert "已退出登录" in c.get("/login").get_data(as_text=True)
    assert c.get("/inbox").status_code == 302
    assert c.get("/logout").status_code == 405                       # sign-out is a POST with a token


def test_wrong_password_unknown_user_and_disabled_account(app, engine):
    c = app.test_client()
    for name, password in [("li", "wrong-password"), ("nobody", PASSWORD), ("li", "")]:
        r = sign_in(c, name, password)
        assert r.status_code == 200, name
        html = r.get_data(as_text=True)
        assert "用户名或密码不正确" in html or "请填写用户名和密码" in html
        assert c.get("/inbox").status_code == 302
    assert f'value="{PASSWORD}"' not in html                            # the password is never echoed
    ok = signed_in(app, "liu")
    assert ok.get("/inbox").status_code == 200
    engine.accounts.set_active("liu", False)                             # disabled: signed out at once
    assert ok.get("/inbox").status_code == 302
    assert sign_in(app.test_client(), "liu").status_code == 200


def test_password_is_stored_hashed(real_password_hashing, app, engine):
    with engine.db.read() as s:
        hashes = s.scalars(select(UserAccount.password_hash)).all()
    assert len(hashes) == 4 and all(PASSWORD not in h and ":" in h for h in hashes)


def test_next_cannot_leave_the_site(app):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = sign_in(app.test_client(), "li", next_url=target)
        assert r.headers["Location"] == "/inbox", target


def test_csrf_is_required(app, engine, accept_task):
    c = app.test_client()
    c.get("/login")
    r = c.post("/login", data={"name": "li", "password": PASSWORD})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    assert c.get("/inbox").status_code == 302                        # not signed in
    c = signed_in(app, "li")
    for path in (f"/tasks/{accept_task}/claim", f"/tasks/{accept_task}", "/logout"):
        r = c.post(path, data={"summary": "x", "category": "policy"})
        assert r.status_code == 400, path
        r = c.post(path, data={"summary": "x", "category": "policy", "csrf_token": "forged"})
        assert r.status_code == 400, path
    assert engine.tasks.get(accept_task)["assignee"] is None and engine.tasks.get(accept_task)["status"] == "ready"
    assert c.get("/inbox").status_code == 200                        # still signed in

    # the JSON API with qihu's session cookie needs the token too (X-CSRFToken header)
    r = c.post(f"/api/tasks/{accept_task}/claim")
    assert r.status_code == 400 and r.is_json and "CSRF" in r.get_json()["error"]
    page_token = token(c.get("/inbox").get_data(as_text=True))
    r = c.post(f"/api/tasks/{accept_task}/claim", headers={"X-CSRFToken": page_token})
    assert r.status_code == 200 and r.get_json()["assignee"] == "li"


def test_user_header_is_not_trusted_by_default(app, accept_task):
    c = app.test_client()
    r = c.post(f"/api/tasks/{accept_task}/claim", headers={"X-Qihu-User": "li"})
    assert r.status_code == 401
    assert c.post(f"/api/tasks/{accept_task}/claim?user=li").status_code == 401
    assert c.get("/inbox", headers={"X-Qihu-User": "li"}).status_code == 302
    app.config["QIHU_TRUST_USER_HEADER"] = True
    assert c.get("/inbox", headers={"X-Qihu-User": "li"}).status_code == 200
    assert c.post(f"/api/tasks/{accept_task}/claim", headers={"X-Qihu-User": "li"}).status_code == 200


def test_anonymous_is_sent_to_sign_in(app, accept_task):
    c = app.test_client()
    for path in ("/inbox", "/inbox?colour=red", f"/tasks/{accept_task}"):
        r = c.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/"), path
    tok = token(c.get("/login").get_data(as_text=True))
    for path in (f"/tasks/{accept_task}/claim", f"/tasks/{accept_task}/unclaim", f"/tasks/{accept_task}"):
        r = c.post(path, data={"csrf_token": tok})
        assert r.status_code == 302 and r.headers["Location"].startswith("/login"), path
    assert c.get("/").status_code == 200                              # the start page is public


def test_wrong_group_is_refused_on_every_endpoint(app, engine, accept_task):
    wang = signed_in(app, "wang")                                      # a department, not an acceptor
    tok = token(wang.get("/inbox").get_data(as_text=True))
    assert "HZ-7" not in wang.get("/inbox").get_data(as_text=True)
    for query in ("", "?q=HZ-7", "?definition=appeal_basic", "?colour=none", "?q=受理", "?order=priority",
                  "?overdue=1", "?priority=normal", "?page=1"):
        html = wang.get("/inbox" + query).get_data(as_text=True)
        assert "data-task=" not in html and "受理登记" not in html and "共 0 项" in html, query
    r = wang.get(f"/tasks/{accept_task}")
    assert r.status_code == 403 and "没有权限" in r.get_data(as_text=True)
    assert "HZ-7" not in r.get_data(as_text=True) and "某公司" not in r.get_data(as_text=True)
    assert wang.post(f"/tasks/{accept_task}/claim", data={"csrf_token": tok}).status_code == 403
    assert wang.post(f"/tasks/{accept_task}/unclaim", data={"csrf_token": tok}).status_code == 403
    r = wang.post(f"/tasks/{accept_task}", data={"csrf_token": tok, "category": "policy", "summary": "越权"})
    assert r.status_code == 403
    t = engine.tasks.get(accept_task)
    assert t["status"] == "ready" and t["assignee"] is None
    assert wang.get("/tasks/no-such-task").status_code == 404

    # claimed by li: liu (same group) sees it read-only, and cannot unclaim or complete it
    li = signed_in(app, "li")
    assert post_form(li, f"/tasks/{accept_task}", f"/tasks/{accept_task}/claim").status_code == 302
    liu = signed_in(app, "liu")
    page = liu.get(f"/tasks/{accept_task}").get_data(as_text=True)
    assert "此任务由 李受理 办理中" in page and 'name="summary"' not in page
    assert "data-task=" not in liu.get("/inbox").get_data(as_text=True)   # not in her inbox either
    tok = token(page)
    r = liu.post(f"/tasks/{accept_task}/claim", data={"csrf_token": tok}, follow_redirects=True)
    assert "已经" in r.get_data(as_text=True) or "already claimed" in r.get_data(as_text=True)
    assert liu.post(f"/tasks/{accept_task}/unclaim", data={"csrf_token": tok}).status_code == 403
    r = liu.post(f"/tasks/{accept_task}", data={"csrf_token": tok, "category": "policy", "summary": "抢办"})
    assert r.status_code == 403
    assert engine.tasks.get(accept_task)["assignee"] == "li"


def test_unclaim_gives_the_task_back(app, engine, accept_task):
    li = signed_in(app, "li")
    url = f"/tasks/{accept_task}"
    post_form(li, url, f"{url}/claim")
    assert engine.tasks.get(accept_task)["assignee"] == "li"
    r = post_form(li, url, f"{url}/unclaim")
    assert r.status_code == 302 and engine.tasks.get(accept_task)["assignee"] is None
    assert "已取消认领" in li.get(url).get_data(as_text=True)


def test_user_text_is_escaped_on_every_page(app, engine):
    engine.accounts.add_user("eve", PASSWORD, display_name="<b>eve</b>", groups=["acceptor"])
    iid = engine.runtime.start("appeal_basic", {"企业名称": "<script>alert(1)</script>"},
                               business_key="<img src=x onerror=alert(1)>")
    [t] = engine.tasks.list(instance_id=iid)
    eve = signed_in(app, "eve")
    for path in ("/inbox", f"/tasks/{t['id']}", "/inbox?q=<img"):
        html = eve.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>eve</b>" not in html, path
        assert "&lt;b&gt;eve&lt;/b&gt;" in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in eve.get(f"/tasks/{t['id']}").get_data(as_text=True)


def test_host_login_replaces_qihu_sign_in(engine):
    engine.repository.deploy([BASIC])
    engine.tasks.add_member("li", "acceptor")
    host = Flask("host")
    host.config.update(TESTING=True, SECRET_KEY="host-secret")

    @host.before_request
    def who():
        g.login = request.cookies.get("host_session")

    Qihu(host, engine=engine, url_prefix="/qihu", current_user=lambda: g.login)
    c = host.test_client()
    assert c.get("/qihu/login").status_code == 404                   # no qihu sign-in next to the host's
    assert c.get("/qihu/inbox").status_code == 401
    host.config["QIHU_LOGIN_URL"] = "/sso/login"
    r = c.get("/qihu/inbox")
    assert r.status_code == 302 and r.headers["Location"] == "/sso/login?next=%2Fqihu%2Finbox"
    c.set_cookie("host_session", "li")
    assert "我的待办" in c.get("/qihu/inbox").get_data(as_text=True)


def test_host_with_its_own_login_manager_must_pass_current_user(engine):
    from flask_login import LoginManager
    host = Flask("host")
    LoginManager(host)
    with pytest.raises(RuntimeError, match="current_user"):
        Qihu(host, engine=engine)
