"""Helpers for tests of the signed-in UI: CSRF tokens from pages, sign-in, seeded users."""
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

BASIC = Path(__file__).resolve().parent.parent / "bpmn" / "appeal_basic.bpmn"
PASSWORD = "pw-for-tests"
PEOPLE = {"li": ("李受理", ["acceptor"]), "liu": ("刘受理", ["acceptor"]),
          "wang": ("王部门", ["dept_policy", "dept_general"]), "zhao": ("赵督查", ["supervisor"])}


def add_people(engine):
    for name, (display, groups) in PEOPLE.items():
        engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups)


def token(html):
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(client, name, password=PASSWORD, next_url=None):
    page = client.get("/login" + (f"?next={next_url}" if next_url else "")).get_data(as_text=True)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token(page),
                                       "next": next_url or ""})


def browser_sign_in(page, base, name, password=PASSWORD):
    """Sign in through the real login page in the browser (a fresh session), landing in the inbox."""
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/inbox")


def post_form(client, page_url, action, data=None):
    """POST `data` to `action` with the CSRF token of the page at `page_url`."""
    html = client.get(page_url).get_data(as_text=True)
    return client.post(action, data={**(data or {}), "csrf_token": token(html)})


@contextmanager
def live_server(app):
    """Serve `app` on a free local port in a thread (for the browser tests); yields its base URL."""
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(5)
