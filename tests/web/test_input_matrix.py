"""Issue 16, finding 4: NUL bytes, other control characters and over-long values in every text a
person or an API caller sends. PostgreSQL refuses NUL in any text and a value longer than its
VARCHAR (SQLite stores both), and that used to be a 500. Now: never a 500, a 400 (or the page's
own form error) naming the field, and nothing written. On SQLite and PostgreSQL.

- the API: every row of tests/web/test_api_permissions.py's TABLE with a body (plus the text
  fields the sample bodies leave out), each leaf string of the body in turn;
- the pages: FORMS below names every write route of the UI with the text fields it reads, and
  a test fails when a POST route is missing from it;
- every route at all, GET included (/inbox?q=a%00b, /search?q=...), with a control character in
  the query string, a form field and the path.
"""
import re

import pytest

from qihu.web.app import create_app

from tests.engine.test_handoff import basic_with_return
from tests.web.test_api_permissions import TABLE, call, world  # noqa: F401 - the fixture
from tests.web_util import PASSWORD, add_people, sign_in, token

NUL = "a\x00b"
CONTROLS = ["a\x00b", "a\x1bb", "a\x7fb", "\x08"]
LONG = "长" * 2100            # longer than every String column (the longest is 2000)

# sample bodies leave some text fields out: the API must check them too
EXTRA = {("POST", "/api/instances"): {"business_key": "P-9", "region": "湖州市", "data": {"note": "说明"}},
         ("POST", "/api/messages"): {"correlation": {"编号": "M-1"}, "data": {"note": "说明"}},
         ("POST", "/api/instances/{instance_id}/cancel"): {"reason": "撤回"},
         ("POST", "/api/tasks/{task_id}/assign"): {"note": "请办理"},
         ("POST", "/api/tasks/{task_id}/offer"): {"note": "请办理"},
         ("POST", "/api/definitions/{key}/migrate"): {"instances": ["x"]},
         ("POST", "/api/deployments"): {"name": "部署", "region": "湖州市"}}


def leaves(value, path=""):
    """(path, setter) of every string in a JSON-like body: files[0].name, data.note ..."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}" if path else k) if not isinstance(v, str) else \
                [(f"{path}.{k}" if path else k, (value, k))]
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]") if not isinstance(v, str) else [(f"{path}[{i}]", (value, i))]


def replaced(body, path, new):
    import copy
    body = copy.deepcopy(body)
    for p, (holder, key) in leaves(body):
        if p == path:
            holder[key] = new
    return body


API_CASES = []
for _row in TABLE:
    if _row.method != "POST":
        continue
    _body = {**(_row.body or {}), **EXTRA.get((_row.method, _row.path), {})}
    for _path, _ in leaves(_body):
        for _kind in ("nul", "long"):
            if _kind == "long" and _path.endswith("content"):
                continue            # a long diagram is a diagram; its names are checked at deploy
            API_CASES.append(pytest.param(_row, _body, _path, _kind, id=f"{_row.path}:{_path}:{_kind}"))


def named(response, path):
    """The refusal names the field (its last part: business_key, note, name ...)."""
    field = re.split(r"[.\[\]]", path.rstrip("]"))[-1] or path
    text = response.get_data(as_text=True)
    return field in text


@pytest.mark.parametrize("row,body,path,kind", API_CASES)
def test_api_refuses_nul_and_over_long_text(world, row, body, path, kind):
    if row.prepare:
        row.prepare(world)
    url = row.path.format(**world.ids())
    before = world.state()
    r = call(world.client(row.allowed), row.method, url, replaced(body, path, NUL if kind == "nul" else LONG))
    assert r.status_code != 500, r.get_data(as_text=True)
    if kind == "nul":
        assert r.status_code == 400, r.get_data(as_text=True)
    if r.status_code >= 400:
        # an over-long id or key names nothing that exists: 404 is an honest answer for it
        assert r.status_code < 500 and (named(r, path) or r.status_code == 404), \
            (r.status_code, r.get_data(as_text=True)[:300])
        assert world.state() == before


# -- the pages -------------------------------------------------------------------------------------
@pytest.fixture
def site(engine):
    add_people(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    iid = engine.runtime.start("appeal_basic", {"企业名称": "湖州某新材料有限公司"}, business_key="HZ-7")
    [accept] = engine.tasks.list(instance_id=iid)
    app = create_app(engine=engine, config={"TESTING": True})
    return {"app": app, "engine": engine, "iid": iid, "accept": accept["id"]}


def state(engine, iid):
    from sqlalchemy import func, select
    from qihu.engine.storage.models import Attachment, Definition, HistoryEvent, Instance, Task, TaskComment
    from qihu.appeals.models import SavedFilter
    with engine.db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in
                     (Attachment, Definition, HistoryEvent, Instance, Task, TaskComment, SavedFilter))


# (route, who, form fields, files): every POST route of the UI. Path parts: {task}, {iid}.
FORMS = [
    ("/tasks/{task}", "li", {"category": "policy", "summary": "用地指标"}),
    ("/tasks/{task}/comments", "li", {"body": "已联系企业"}),
    ("/tasks/{task}/reassign", "li", {"to_user": "liu", "note": "请办理"}),
    ("/tasks/{task}/return", "li", {"reason": "不属于本部门"}),
    ("/tasks/{task}/attachments", "li", {"file": "说明.txt"}),
    ("/tasks/{task}/claim", "li", {}),
    ("/tasks/{task}/unclaim", "li", {}),
    ("/inbox/filters", "li", {"name": "我的筛选", "query": "q=用地"}),
    ("/inbox/filters/1/delete", "li", {}),
    ("/inbox/bulk", "li", {"action": "reassign", "task": "{task}", "to_user": "liu", "note": "请办理"}),
    ("/inbox/unassigned/{task}/assign", "boss", {"to_user": "li", "note": "请办理"}),
    ("/inbox/unassigned/{task}/offer", "boss", {"groups": "acceptor", "users": "li", "note": "请办理"}),
    ("/instances/{iid}/reveal", "li", {"page": "task", "back": "/inbox"}),
    ("/notifications/1/read", "li", {"back": "/notifications"}),
    ("/notifications/read-all", "li", {"back": "/notifications"}),
    ("/register", "li", {"definition": "appeal_basic", "company": "某公司", "credit_code": "91330100799655058B",
                         "contact_name": "张经理", "contact_phone": "13812345678", "category": "policy",
                         "summary": "用地", "channel": "电话"}),
    ("/appeal", None, {"definition": "appeal_basic", "company": "某公司", "credit_code": "91330100799655058B",
                       "contact_name": "张经理", "contact_phone": "13812345678", "category": "policy",
                       "summary": "用地"}),
    ("/appeal/find", None, {"number": "HZ-7"}),
    ("/appeal/find/code", None, {"code": "123456"}),
    ("/track/tok/rate", None, {"task_id": "x", "rating": "满意"}),
    ("/admin/deploy", "boss", {"name": "部署", "region": "湖州市"}),
    ("/admin/groups", "boss", {"name": "acceptor", "display_name": "受理组"}),
    ("/admin/processes/appeal_basic/activate", "boss", {"version": "1"}),
    ("/admin/processes/appeal_basic/migrate", "boss", {"from": "1", "to": "1", "instance": "{iid}"}),
    ("/admin/incidents/1/retry", "boss", {"next": "/admin/incidents"}),
    ("/admin/incidents/1/resolve", "boss", {"data": "{{}}"}),
    ("/admin/incidents/1/cancel", "boss", {"reason": "撤回"}),
    ("/admin/incidents/retry", "boss", {"incident": "1"}),
    ("/admin/modeler/check", "boss", {}),
    ("/admin/modeler/deploy", "boss", {}),
    ("/admin/accounts/li/active", "boss", {}),
    ("/admin/accounts/li/signout", "boss", {}),
    ("/admin/accounts/li/unlock", "boss", {}),
    ("/login", None, {"name": "li", "password": PASSWORD}),
    ("/logout", "li", {}),
]


def ui_post_routes(app):
    out = set()
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.endpoint.startswith("qihu_api."):
            out.add(re.sub(r"<(?:[^:>]+:)?([^>]+)>", "*", rule.rule))
    return out


def test_forms_names_every_write_route_of_the_pages(site):
    written = {re.sub(r"\{[a-z]+\}|/(?:1|li|tok|appeal_basic)(?=/)", lambda m: "/*" if m.group(0)[0] == "/" else "*",
                      path) for path, _, _ in FORMS}
    assert ui_post_routes(site["app"]) <= written, ui_post_routes(site["app"]) - written


def client_for(app, name):
    c = app.test_client()
    if name:
        assert sign_in(c, name).status_code == 302
    return c


def post(site, path, who, fields, field=None, value=None):
    c = client_for(site["app"], who)
    html = c.get("/login").get_data(as_text=True) if who is None else c.get("/inbox").get_data(as_text=True)
    data = {k: v.format(task=site["accept"], iid=site["iid"]) for k, v in fields.items() if k != "file"}
    if field is not None and field != "file":
        data[field] = value
    files = {}
    if "file" in fields:
        name = value if field == "file" else fields["file"]
        import io
        files["file"] = (io.BytesIO("说明".encode()), name)
    url = path.format(task=site["accept"], iid=site["iid"])
    return c.post(url, data={**data, **files, "csrf_token": token(html)}, content_type="multipart/form-data")


PAGE_CASES = [pytest.param(p, who, fields, f, kind, id=f"{p}:{f}:{kind}")
              for p, who, fields in FORMS for f in fields for kind in ("nul", "long")]


@pytest.mark.parametrize("path,who,fields,field,kind", PAGE_CASES)
def test_pages_refuse_nul_and_over_long_text(site, path, who, fields, field, kind):
    before = state(site["engine"], site["iid"])
    r = post(site, path, who, fields, field, NUL if kind == "nul" else LONG)
    text = r.get_data(as_text=True)
    assert r.status_code != 500, text[-2000:]
    if kind == "nul":
        assert r.status_code == 400 and field in text, (r.status_code, text[-1500:])
    if kind == "nul" or r.status_code >= 400:
        assert state(site["engine"], site["iid"]) == before


@pytest.mark.parametrize("char", CONTROLS, ids=["nul", "esc", "del", "backspace"])
def test_every_route_refuses_control_characters_in_query_form_and_path(site, char):
    """Each route of the app (API and pages, GET as well as POST): the guard answers 400 naming the
    field before anything else runs."""
    app = site["app"]
    c = client_for(app, "boss")
    seen = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static"):
            continue
        url = re.sub(r"<int:[^>]+>", "1", rule.rule)
        url = re.sub(r"<(?:[^:>]+:)?[^>]+>", "x", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = c.open(url, method=method, query_string={"q": char})
            assert r.status_code == 400 and "q" in r.get_data(as_text=True), (method, url, r.status_code)
            if method == "POST":
                r = c.open(url, method="POST", data={"note": f"x{char}y"})
                assert r.status_code == 400 and "note" in r.get_data(as_text=True), (url, r.status_code)
            seen += 1
        if "<" in rule.rule and "int:" not in rule.rule and "path:" not in rule.rule:
            bad = re.sub(r"<(?:[^:>]+:)?[^>]+>", f"x{char}y", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                r = c.open(bad, method=method)
                assert r.status_code in (400, 404), (method, bad, r.status_code)
    assert seen > 80


def test_inbox_and_search_with_nul_in_the_query(site):
    c = client_for(site["app"], "li")
    for url in ("/inbox?q=a%00b", "/search?q=a%00b", "/done?definition=a%00b", "/api/tasks?q=a%00b"):
        r = c.get(url)
        field = "definition" if "definition=" in url else "q"
        assert r.status_code == 400 and field in r.get_data(as_text=True), (url, r.status_code)
    for url in ("/inbox?q=" + LONG, "/search?q=" + LONG, "/inbox?region=" + LONG, "/search?region=" + LONG,
                "/inbox/unassigned?region=" + LONG, "/done?definition=" + LONG):
        r = c.get(url)
        assert r.status_code in (200, 400, 403), (url, r.status_code)
