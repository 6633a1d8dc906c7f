"""The modeler page (web/pages/modeler.py): who may open it, what it opens (the stored XML of a
version, or a blank diagram), 检查 (lint without storing) on good and on every kind of bad
input, and 部署为新版本: v2 is created while v1 instances stay on v1 and finish there; staged
deploys; a refused diagram stores nothing; a process deployed with a DMN table keeps its table.
On SQLite and PostgreSQL. The browser side: tests/browser/test_browser_modeler.py.
"""
import io
import json
import re

import pytest

from qihu.engine.errors import DeployError
from qihu.web.app import create_app
from qihu.web.pages.modeler import BLANK, MAX_XML

from tests.conftest import BPMN, ROOT
from tests.web_util import PASSWORD, add_people, sign_in, token

EXAMPLE = (ROOT / "docs" / "examples" / "minimal_appeal.bpmn").read_bytes()
BASIC = (BPMN / "appeal_basic.bpmn").read_bytes()
CHECK, DEPLOY = "/admin/modeler/check", "/admin/modeler/deploy"


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    return create_app(engine=engine, config={"TESTING": True})


def client_for(app, name=None):
    c = app.test_client()
    if name:
        assert sign_in(c, name).status_code == 302
    return c


@pytest.fixture
def admin(app):
    return client_for(app, "admin")


@pytest.fixture
def v1(engine):
    engine.repository.deploy([("minimal_appeal.bpmn", EXAMPLE)], user="admin")
    return engine


def page_data(client, url):
    """The page's #qh-modeler-data (what web/static/modeler.js starts from)."""
    r = client.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    html = r.get_data(as_text=True)
    m = re.search(r'<script type="application/json" id="qh-modeler-data">(.*?)</script>', html, re.S)
    assert m, "no page data"
    return json.loads(m.group(1)), html


def post(client, url, body, csrf="from-page", **kw):
    if csrf == "from-page":
        csrf = token(client.get("/admin/processes").get_data(as_text=True))
    headers = {"X-CSRFToken": csrf} if csrf else {}
    if isinstance(body, (bytes, str)):
        return client.post(url, data=body, headers=headers, **kw)
    return client.post(url, json=body, headers=headers, **kw)


def versions(engine, key="minimal_appeal"):
    return [(v["version"], v["active"]) for v in engine.repository.versions(key)]


def edited(xml=EXAMPLE, old="部门办理", new="部门办理（新）"):
    return xml.decode("utf-8").replace(f'name="{old}"', f'name="{new}"', 1)


# -- who may open it ---------------------------------------------------------------------------------
def test_anonymous_callers_sign_in_and_others_get_403(app, v1):
    anon = client_for(app)
    for url in ("/admin/modeler/minimal_appeal", "/admin/modeler/new", "/admin/modeler/minimal_appeal?version=1"):
        r = anon.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url
    li = client_for(app, "li")
    for url in ("/admin/modeler/minimal_appeal", "/admin/modeler/new"):
        r = li.get(url)
        assert r.status_code == 403 and "没有权限" in r.get_data(as_text=True), url
    # the JSON endpoints answer JSON, never a redirect, and store nothing
    for client, status, words in ((anon, 401, "请先登录"), (li, 403, "管理员")):
        csrf = token(client.get("/login").get_data(as_text=True))
        for url in (CHECK, DEPLOY):
            r = post(client, url, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}}, csrf=csrf)
            assert r.status_code == status and r.is_json and words in r.get_json()["error"], (url, r.get_json())
    assert versions(v1) == [(1, True)]


def test_admin_opens_the_stored_xml_of_a_version(admin, v1):
    data, html = page_data(admin, "/admin/modeler/minimal_appeal")
    assert data["xml"] == EXAMPLE.decode("utf-8")
    assert data["base"] == {"key": "minimal_appeal", "version": 1} and data["file"] == "minimal_appeal.bpmn"
    assert data["checkUrl"] == CHECK and data["deployUrl"] == DEPLOY and data["csrf"]
    assert data["texts"]["检查通过，没有发现问题。"] == "检查通过，没有发现问题。"
    assert data["lang"] == "zh-CN"                      # the palette and properties panel speak Chinese
    for text in ("检查", "部署为新版本", "立即启用", "仅暂存", "下载 .bpmn", "基于 v1 编辑", "vendor/modeler/qihu-modeler.min.js",
                 "vendor/modeler/properties-panel.css", "vendor/modeler/bpmn-font/css/bpmn.css"):
        assert text in html, text
    # the page is in English too, texts of the script included
    data, html = page_data(admin, "/admin/modeler/minimal_appeal?lang=en")
    assert "Deploy as a new version" in html and data["texts"]["检查通过，没有发现问题。"] == "Check passed: no problems found."
    assert data["lang"] == "en"
    assert page_data(admin, "/admin/modeler/new")[0]["lang"] == "en"        # the language is remembered (cookie)


def test_version_argument_default_latest_and_bad_values(admin, v1):
    v1.repository.deploy([("minimal_appeal.bpmn", edited().encode())], activate=False)   # v2, staged
    data, html = page_data(admin, "/admin/modeler/minimal_appeal")
    assert data["base"]["version"] == 2 and "部门办理（新）" in data["xml"]        # the latest, staged or not
    assert "当前启用" not in html.split('class="qh-pagehead"')[1].split("</div>")[0]
    data, html = page_data(admin, "/admin/modeler/minimal_appeal?version=1")
    assert data["base"]["version"] == 1 and data["xml"] == EXAMPLE.decode("utf-8") and "最新为 v2" in html
    for url, status in (("/admin/modeler/minimal_appeal?version=abc", 400), ("/admin/modeler/minimal_appeal?version=-1", 400),
                        ("/admin/modeler/minimal_appeal?version=9", 404), ("/admin/modeler/no_such?version=1", 404),
                        ("/admin/modeler/no_such", 404)):
        r = admin.get(url)
        assert r.status_code == status, url
        assert ("版本号无效" if status == 400 else "没有找到该流程或版本") in r.get_data(as_text=True)


def test_blank_diagram_page(admin):
    data, html = page_data(admin, "/admin/modeler/new")
    assert data["xml"] == BLANK and data["base"] is None and "新建流程" in html


def test_process_list_and_versions_pages_link_to_the_modeler(admin, v1):
    html = admin.get("/admin/processes").get_data(as_text=True)
    assert 'href="/admin/modeler/minimal_appeal"' in html and 'href="/admin/modeler/new"' in html
    assert "在浏览器中编辑" in html
    html = admin.get("/admin/processes/minimal_appeal").get_data(as_text=True)
    assert 'href="/admin/modeler/minimal_appeal?version=1"' in html


# -- 检查 ------------------------------------------------------------------------------------------
def test_check_a_good_diagram(admin, v1):
    r = post(admin, CHECK, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "file": "minimal_appeal.bpmn", "problems": [], "warnings": [],
                            "processes": [{"key": "minimal_appeal", "name": "最小诉求办理示例"}]}
    r = post(admin, CHECK, {"xml": BLANK, "file": "new_process.bpmn"})
    assert r.get_json()["ok"] is True and r.get_json()["processes"][0]["key"] == "new_process"
    assert versions(v1) == [(1, True)]                               # checking stores nothing


def test_check_lists_each_problem_with_element_and_line(admin, v1):
    xml = edited().replace('camunda:topic="supervision.letter"', 'camunda:topic="no.such.topic"')
    r = post(admin, CHECK, {"xml": xml, "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is False
    [problem] = body["problems"]
    line = next(i for i, text in enumerate(xml.splitlines(), 1) if 'id="Task_letter"' in text)
    assert problem["element"] == "Task_letter" and problem["line"] == line
    assert problem["file"] == "minimal_appeal.bpmn" and "no.such.topic" in problem["message"]
    # not XML at all: the parser's message, with the line
    r = post(admin, CHECK, {"xml": "这不是 XML", "base": {"key": "minimal_appeal", "version": 1}})
    [problem] = r.get_json()["problems"]
    assert r.status_code == 200 and problem["line"] == 1 and "malformed XML" in problem["message"]
    assert versions(v1) == [(1, True)]


@pytest.mark.parametrize("body, status, words", [
    ({"xml": ""}, 400, "xml"),
    ({"xml": "   \n"}, 400, "xml"),
    ({}, 400, "xml"),
    ({"xml": 12}, 400, "xml"),
    ([1, 2], 400, "JSON"),
    ({"xml": BLANK, "file": "new.txt"}, 400, ".bpmn"),
    ({"xml": BLANK, "base": "minimal_appeal"}, 400, "base"),
    ({"xml": BLANK, "base": {"key": "minimal_appeal", "version": "1"}}, 400, "base"),
    ({"xml": BLANK, "base": {"key": "minimal_appeal", "version": True}}, 400, "base"),
    ({"xml": BLANK, "base": {"key": "no_such", "version": 1}}, 404, "no_such"),
    ({"xml": BLANK, "base": {"key": "minimal_appeal", "version": 7}}, 404, "version 7"),
])
@pytest.mark.parametrize("url", [CHECK, DEPLOY])
def test_bad_requests_are_refused_with_what_is_wrong(admin, v1, url, body, status, words):
    r = post(admin, url, body)
    assert r.status_code == status and r.is_json, r.get_data(as_text=True)
    assert r.get_json()["ok"] is False and words in r.get_json()["error"], r.get_json()
    assert versions(v1) == [(1, True)]


@pytest.mark.parametrize("url", [CHECK, DEPLOY])
def test_not_json_oversize_and_no_csrf_token(admin, v1, url):
    r = post(admin, url, "xml=<bpmn/>", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415 and "JSON" in r.get_json()["error"]
    r = post(admin, url, "{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.get_json()["error"]
    big = edited().replace("</bpmn:definitions>", "<!--" + "x" * MAX_XML + "--></bpmn:definitions>")
    r = post(admin, url, {"xml": big, "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 413 and "过大" in r.get_json()["error"] and "4 MB" in r.get_json()["error"]
    # just under the request limit but over the diagram limit once decoded: still refused
    wide = "中" * (MAX_XML // 3 + 10)
    r = post(admin, url, {"xml": edited().replace("最小诉求办理示例", wide), "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 413
    r = post(admin, url, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}}, csrf=None)
    assert r.status_code == 400 and "页面已过期" in r.get_json()["error"]
    r = post(admin, url, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}}, csrf="forged")
    assert r.status_code == 400 and r.is_json
    assert versions(v1) == [(1, True)]


# -- 部署为新版本 ------------------------------------------------------------------------------------
def test_deploy_creates_v2_while_v1_instances_finish_on_v1(admin, v1):
    engine = v1
    engine.tasks.add_member("bumen", "dept_general")
    old = engine.runtime.start("minimal_appeal", {"company": "甲公司", "summary": "用电增容"}, business_key="OLD-1",
                               user="admin")
    r = post(admin, DEPLOY, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1},
                             "name": "改名", "activate": True})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["ok"] is True and body["created"] is True and body["message"] == "已部署 minimal_appeal v2"
    assert body["versions_url"] == "/admin/processes/minimal_appeal"
    assert [(d["key"], d["version"], d["new"]) for d in body["definitions"]] == [("minimal_appeal", 2, True)]
    assert versions(engine) == [(1, False), (2, True)]
    [row] = [v for v in engine.repository.versions("minimal_appeal") if v["version"] == 2]
    assert row["deployed_by"] == "admin" and row["deployment"] == "改名"
    info, content = engine.repository.xml("minimal_appeal", 2)
    assert content.decode("utf-8") == edited()
    # the running instance keeps v1 (its task keeps the old name) and finishes there
    v1_id = engine.repository.versions("minimal_appeal")[0]["id"]
    assert engine.runtime.get(old)["definition_id"] == v1_id
    [task] = engine.tasks.list(instance_id=old)
    assert task["name"] == "部门办理"
    engine.tasks.complete(task["id"], "bumen", {"reply": "已协调供电公司", "responsible_unit": "区发改局"})
    assert engine.runtime.get(old)["status"] == "completed"
    # a new instance starts on v2
    new = engine.runtime.start("minimal_appeal", {"company": "乙公司", "summary": "用地"}, user="admin")
    assert engine.runtime.get(new)["definition_id"] == info["id"]
    assert [t["name"] for t in engine.tasks.list(instance_id=new)] == ["部门办理（新）"]


def test_deploy_staged_keeps_v1_active(admin, v1):
    r = post(admin, DEPLOY, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}, "activate": False})
    assert r.status_code == 201 and "未启用" in r.get_json()["message"]
    assert versions(v1) == [(1, True), (2, False)]
    r = post(admin, DEPLOY, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}, "activate": "yes"})
    assert r.status_code == 400 and "activate" in r.get_json()["error"]
    r = post(admin, DEPLOY, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}, "name": 5})
    assert r.status_code == 400 and "name" in r.get_json()["error"]


def test_deploy_refused_lists_problems_and_stores_nothing(admin, v1):
    xml = edited().replace('camunda:topic="supervision.letter"', 'camunda:topic="no.such.topic"')
    r = post(admin, DEPLOY, {"xml": xml, "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 422
    body = r.get_json()
    assert body["ok"] is False and [p["element"] for p in body["problems"]] == ["Task_letter"]
    r = post(admin, DEPLOY, {"xml": "<bpmn:definitions", "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 422 and "malformed XML" in r.get_json()["problems"][0]["message"]
    assert versions(v1) == [(1, True)]
    assert len(v1.repository.definitions(latest_only=False)) == 1


def test_deploy_unchanged_creates_no_version(admin, v1):
    r = post(admin, DEPLOY, {"xml": EXAMPLE.decode("utf-8"), "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 200 and r.get_json()["created"] is False
    assert "未新建版本" in r.get_json()["message"] and "minimal_appeal v1" in r.get_json()["message"]
    assert versions(v1) == [(1, True)]


def test_a_process_with_a_decision_table_deploys_with_its_table(admin, engine):
    """an_four_ways uses an_handling_way.dmn: the edited BPMN is deployed with the stored DMN."""
    engine.repository.deploy([str(BPMN / "an_four_ways.bpmn"), str(BPMN / "an_handling_way.dmn")])
    data, _ = page_data(admin, "/admin/modeler/an_four_ways")
    xml = data["xml"]
    name = re.search(r'<bpmn:userTask id="[^"]+" name="([^"]+)"', xml).group(1)
    changed = xml.replace(f'name="{name}"', f'name="{name}（改）"', 1)
    assert changed != xml
    alone = engine.repository.check
    r = post(admin, CHECK, {"xml": changed, "base": data["base"]})
    assert r.get_json()["ok"] is True, r.get_json()
    r = post(admin, DEPLOY, {"xml": changed, "base": data["base"]})
    assert r.status_code == 201 and r.get_json()["message"] == "已部署 an_four_ways v2", r.get_json()
    info, content = engine.repository.xml("an_four_ways", 2)
    names = [n for n, _ in engine.repository.resources(info["deployment_id"])]
    assert sorted(names) == ["an_four_ways.bpmn", "an_handling_way.dmn"] and content.decode("utf-8") == changed
    # without the table, the same file alone would not deploy: that is why the page sends the bundle
    with pytest.raises(DeployError) as refused:
        alone([("an_four_ways.bpmn", changed.encode())])
    assert "Decision_an_way" in str(refused.value.problems[0])


def test_deploy_a_new_diagram(admin, engine):
    xml = BLANK.replace('<bpmn:startEvent id="StartEvent_1" name="开始" />',
                        '<bpmn:startEvent id="StartEvent_1" name="开始" /><bpmn:endEvent id="End_1" />'
                        '<bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="End_1" />')
    r = post(admin, DEPLOY, {"xml": xml, "base": None, "file": "../new_process.bpmn"})
    assert r.status_code == 201 and r.get_json()["message"] == "已部署 new_process v1", r.get_json()
    info, content = engine.repository.xml("new_process")
    assert info["resource_name"] == "new_process.bpmn" and content.decode("utf-8") == xml


def test_an_edited_version_keeps_the_region_it_was_deployed_for(admin, engine):
    engine.repository.deploy([("minimal_appeal.bpmn", EXAMPLE)], region="丽水市庆元县")   # not the diagram's 示例市
    r = post(admin, DEPLOY, {"xml": edited(), "base": {"key": "minimal_appeal", "version": 1}})
    assert r.status_code == 201, r.get_json()
    assert [(d["version"], d["region"]) for d in engine.repository.definitions(latest_only=False)] == \
        [(1, "丽水市庆元县"), (2, "丽水市庆元县")]


# -- the same over REST (web/api/routes.py) -----------------------------------------------------------------
def test_rest_xml_of_a_version(admin, app, v1):
    r = admin.get("/api/definitions/minimal_appeal/versions/1/xml")
    assert r.status_code == 200
    assert r.get_json() == {"key": "minimal_appeal", "version": 1, "name": "最小诉求办理示例", "region": "示例市",
                            "file": "minimal_appeal.bpmn", "xml": EXAMPLE.decode("utf-8")}
    assert admin.get("/api/definitions/minimal_appeal/versions/2/xml").status_code == 404
    assert admin.get("/api/definitions/no_such/versions/1/xml").status_code == 404
    assert admin.get("/api/definitions/minimal_appeal/versions/x/xml").status_code == 404      # not a number: no route
    r = client_for(app, "li").get("/api/definitions/minimal_appeal/versions/1/xml")
    assert r.status_code == 403 and "仅管理员" in r.get_json()["error"]


def test_rest_check_takes_the_deploy_payload_and_stores_nothing(admin, v1):
    def check(files, **kw):
        return post(admin, "/api/deployments/check", {"files": [{"name": n, "content": c} for n, c in files]}, **kw)
    r = check([("minimal_appeal.bpmn", edited())])
    assert r.status_code == 200 and r.get_json() == {"ok": True, "problems": [], "warnings": [], "processes": [
        {"key": "minimal_appeal", "name": "最小诉求办理示例", "file": "minimal_appeal.bpmn"}]}
    bad = edited().replace('camunda:topic="supervision.letter"', 'camunda:topic="no.such.topic"')
    [problem] = check([("minimal_appeal.bpmn", bad)]).get_json()["problems"]
    assert problem["element"] == "Task_letter" and problem["line"] and "no.such.topic" in problem["message"]
    body = check([("x.bpmn", "not xml"), ("y.bpmn", "")]).get_json()
    assert body["ok"] is False and [(p["file"], p["line"]) for p in body["problems"]] == [("x.bpmn", 1), ("y.bpmn", 1)]
    r = post(admin, "/api/deployments/check", {"files": []})
    assert r.status_code == 400 and "no files" in r.get_json()["error"]
    r = post(admin, "/api/deployments/check", {"files": [{"name": "a.bpmn"}]})
    assert r.status_code == 400 and "files[0]" in r.get_json()["error"]
    r = check([("a.bpmn", "<x>" + "x" * (16 * 1024 * 1024) + "</x>")])
    assert r.status_code == 413
    # multipart, as POST /api/deployments takes it
    csrf = token(admin.get("/admin/processes").get_data(as_text=True))
    r = admin.post("/api/deployments/check", data={"files": [(io.BytesIO(bad.encode()), "m.bpmn")]},
                   headers={"X-CSRFToken": csrf}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["problems"][0]["element"] == "Task_letter"
    assert versions(v1) == [(1, True)]


# -- the committed front-end -------------------------------------------------------------------------
def test_the_built_assets_match_their_readme():
    """web/static/vendor/modeler/README.txt names the sha256 of every file there (build.sh writes
    it): a hand-edited or half-rebuilt bundle fails here. No source maps are shipped."""
    import hashlib
    folder = ROOT / "web" / "static" / "vendor" / "modeler"
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    listed = dict((name, sha) for sha, name in re.findall(r"^  ([0-9a-f]{64})  (\S+)$", readme, re.M))
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file() and p.name != "README.txt"}
    assert sorted(listed) == sorted(files)
    for name, path in files.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[name], name
    assert not [n for n in files if n.endswith(".map")]
    assert "bpmn-js 18.31.1" in readme and "bpmn-js-properties-panel@6.0.1" in readme and "watermark" in readme
    lock = json.loads((ROOT / "web" / "frontend" / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/bpmn-js"]["version"] == "18.31.1"
