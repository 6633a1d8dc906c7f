"""Issue 16, finding 1: every next/back parameter goes through one allow-list (web/redirects.py)
and no known bypass leaves the site or gives a 500."""
import html
import re

import pytest

from qihu.web.app import create_app
from qihu.web.redirects import safe_target

from tests.web_util import PASSWORD, add_people, token

# (what the attacker sends, as the view receives it after the query string or form is decoded)
BYPASSES = [
    "/\t/evil.example",            # /%09/evil.example: browsers drop the tab -> //evil.example
    "/\n/x",                       # /%0A/x: a 500 with a right password before
    "/\r/x", "/\r\n/x", "/\x00/x", "/\x0b/x", "/\x0c/x", "/\x7f/x",
    "//x", "//evil.example/path", "///evil.example",
    "/\\x", "/\\/x", "\\\\x", "\\/x", "/ /x", " /x", "/x\n", "\t//x",
    "/%2F%2Fx", "/%2f/x", "/%2F/evil.example", "/%252F%252Fx", "/%25252F%25252Fx",
    "/%5Cevil.example", "/%5C%5Cx", "/%09/evil.example", "/%0A/x", "/%0D%0A/x", "/%00/x",
    "/%E2%80%8B/x", "/\u200b/x", "/\u2028/x", "/\u3000/x", "/\ufeff/x", "/%ff/x",
    "https://x", "http://evil.example/", "HTTPS://evil.example", "//evil.example@x",
    "javascript:alert(1)", "JavaScript:alert(1)", "javascript:alert(1)//",
    "data:text/html,x", "x", "evil.example", "", None, 42, "/" + "a" * 3000,
    "https:/evil.example", "https:evil.example", "/\\\\evil.example", "%2F%2Fevil.example",
]
SAFE = ["/inbox", "/inbox?colour=red", "/inbox?q=%E6%9F%90%20%E5%85%AC%E5%8F%B8&page=2", "/tasks/1#comments",
        "/instances/3f2a", "/admin/incidents?region=湖州市", "/"]


@pytest.mark.parametrize("target", BYPASSES, ids=repr)
def test_every_known_bypass_gives_the_default(target):
    assert safe_target(target, "/inbox") == "/inbox"


@pytest.mark.parametrize("target", SAFE)
def test_same_site_paths_pass(target):
    assert safe_target(target, "/inbox") == target


def test_under_keeps_the_target_below_a_page():
    assert safe_target("/notifications?page=2", "/notifications", under="/notifications") == "/notifications?page=2"
    assert safe_target("/notifications/x", "/d", under="/notifications") == "/notifications/x"
    assert safe_target("/notificationsevil", "/d", under="/notifications") == "/d"
    assert safe_target("/inbox", "/d", under="/notifications") == "/d"
    assert safe_target("/notifications/%2F%2Fx", "/d", under="/notifications") == "/d"


@pytest.fixture
def app(engine):
    add_people(engine)
    return create_app(engine=engine, config={"TESTING": True})


def _sign_in(app, next_value):
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    return c.post("/login", data={"name": "li", "password": PASSWORD, "csrf_token": token(page), "next": next_value})


LOGIN_BYPASSES = [t for t in BYPASSES if isinstance(t, str) and t]


def test_sign_in_with_any_bypass_lands_in_the_inbox_never_a_500(app):
    for target in LOGIN_BYPASSES:
        r = _sign_in(app, target)
        if r.status_code == 400 and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", target):
            continue                     # control characters a form never sends: refused at the edge (finding 4)
        assert r.status_code == 302, (target, r.status_code)
        assert r.headers["Location"] == "/inbox", (target, r.headers["Location"])


def test_the_query_string_forms_of_the_issue(app):
    """/login?next=/%09/evil.example and next=/%0A/x, as a browser sends them, with the right password."""
    for raw in ("/%09/evil.example", "/%0A/x", "//evil.example", "/%5Cevil.example", "%2F%2Fevil.example",
                "/%252F%252Fevil.example"):
        c = app.test_client()
        page = c.get(f"/login?next={raw}").get_data(as_text=True)
        carried = re.search(r'name="next"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="next"', page)
        value = next(g for g in carried.groups() if g is not None) if carried else ""
        r = c.post("/login", data={"name": "li", "password": PASSWORD, "csrf_token": token(page),
                                   "next": html.unescape(value)})
        assert r.status_code == 302 and r.headers["Location"] == "/inbox", (raw, r.status_code, r.headers.get("Location"))


def test_a_good_next_is_kept(app):
    r = _sign_in(app, "/inbox?colour=red")
    assert r.status_code == 302 and r.headers["Location"] == "/inbox?colour=red"


def test_every_return_address_in_the_web_app_goes_through_the_one_check():
    """Each view that reads a next/back parameter hands it to safe_target (web/redirects.py)."""
    import ast
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2] / "web"
    readers = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            reads = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                        and n.args and isinstance(n.args[0], ast.Constant)
                        and n.args[0].value in ("next", "back", "return_to", "return")
                        and "request" in ast.unparse(n.func.value) for n in ast.walk(fn))
            if reads:
                checked = any(isinstance(n, ast.Name) and n.id in ("safe_target", "safe_next") for n in ast.walk(fn))
                readers.append((path.relative_to(root).as_posix(), fn.name, checked))
    assert {(p, f) for p, f, _ in readers} >= {("pages/auth.py", "login"), ("pages/incidents.py", "_back"),
                                              ("pages/inbox_extras.py", "_back"), ("pages/unassigned.py", "_back")}
    assert [r for r in readers if not r[2]] == []
