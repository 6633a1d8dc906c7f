"""The administrator pages (web/pages/admin.py): process list, deploying from the browser
(files, zip, refused bundles with every problem listed), staged versions, activation and the
diff page; administrators only; CSRF; escaping. On SQLite and PostgreSQL.
"""
import html as htmllib
import io
import re
import zipfile

import pytest

from qihu.web.app import create_app

from tests.conftest import BPMN, DATA
from tests.web_util import PASSWORD, add_people, sign_in, token

BASIC_XML = (BPMN / "appeal_basic.bpmn").read_bytes()


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    return create_app(engine=engine, config={"TESTING": True})


def client_for(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


@pytest.fixture
def admin(app):
    return client_for(app, "admin")


def deploy(client, files, name="", activate=True):
    """POST the deploy form: files as [(filename, bytes)]."""
    csrf = token(client.get("/admin/processes").get_data(as_text=True))
    data = {"csrf_token": csrf, "name": name, "files": [(io.BytesIO(c), n) for n, c in files]}
    if activate:
        data["activate"] = "1"
    return client.post("/admin/deploy", data=data, content_type="multipart/form-data")


def text(response):
    return response.get_data(as_text=True)


def test_anonymous_callers_are_sent_to_sign_in(app, engine):
    engine.repository.deploy([("appeal_basic.bpmn", BASIC_XML)])
    c = app.test_client()
    for url in ("/admin/processes", "/admin/processes/appeal_basic", "/admin/processes/appeal_basic/diff?from=1&to=1"):
        r = c.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_non_admins_get_403_everywhere(app, engine):
    engine.repository.deploy([("appeal_basic.bpmn", BASIC_XML)])
    c = client_for(app, "li")
    for url in ("/admin/processes", "/admin/processes/appeal_basic", "/admin/processes/appeal_basic/diff?from=1&to=1"):
        r = c.get(url)
        assert r.status_code == 403 and "没有权限" in text(r), url
    csrf = token(text(c.get("/inbox")))
    r = c.post("/admin/deploy", data={"csrf_token": csrf, "activate": "1",
                                      "files": [(io.BytesIO(BASIC_XML.replace("受理登记".encode(), "受理".encode())), "x.bpmn")]},
               content_type="multipart/form-data")
    assert r.status_code == 403
    r = c.post("/admin/processes/appeal_basic/activate", data={"csrf_token": csrf, "version": "1"})
    assert r.status_code == 403
    assert [v["version"] for v in engine.repository.versions("appeal_basic")] == [1]
    # and no 流程管理 link in their header; the admin has one
    assert "/admin/processes" not in text(c.get("/inbox"))
    assert 'href="/admin/processes"' in text(client_for(app, "admin").get("/inbox"))


def test_deploy_a_file_and_see_it_listed(admin, engine):
    r = deploy(admin, [("appeal_basic.bpmn", BASIC_XML)], name="通用流程")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/processes")
    page = text(admin.get("/admin/processes"))
    assert "部署完成：appeal_basic v1" in page
    assert 'data-key="appeal_basic"' in page and 'href="/admin/processes/appeal_basic"' in page
    [v] = engine.repository.versions("appeal_basic")
    assert v["deployed_by"] == "admin" and v["deployment"] == "通用流程"
    versions = text(admin.get("/admin/processes/appeal_basic"))
    assert "系统管理员" in versions and "✔" in versions
    # the same again: nothing new
    deploy(admin, [("appeal_basic.bpmn", BASIC_XML)])
    assert "未新建版本" in text(admin.get("/admin/processes"))
    assert len(engine.repository.versions("appeal_basic")) == 1


def test_deploy_a_zip_with_its_decision_table(admin, engine):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(BPMN / "an_four_ways.bpmn", "an_four_ways.bpmn")
        z.write(BPMN / "an_handling_way.dmn", "an_handling_way.dmn")
    r = deploy(admin, [("anning.zip", buf.getvalue())])
    assert r.status_code == 302
    page = text(admin.get("/admin/processes"))
    assert "an_four_ways v1" in page and 'data-key="an_four_ways"' in page
    assert "安宁市" in page                                   # its region property
    assert [d["version"] for d in engine.repository.definitions(key="an_four_ways")] == [1]


def test_a_bad_bundle_lists_every_problem_and_stores_nothing(admin, engine):
    bad = (DATA / "bad_unknown_topic.bpmn").read_bytes()
    r = deploy(admin, [("C:\\models\\appeal_basic.bpmn", BASIC_XML), ("../bad_unknown_topic.bpmn", bad)])
    assert r.status_code == 422
    page = text(r)
    assert "部署未完成" in page
    rows = re.findall(r"<tr data-problem>(.*?)</tr>", page, re.S)
    assert rows
    assert any("bad_unknown_topic.bpmn" in row and "Task_send_sms" in row and "appeal.sms_nobody_handles" in row
               and re.search(r"<td>\d+</td>", row) for row in rows)
    assert "../" not in page and "models" not in page          # base names only
    assert engine.repository.definitions() == []


def test_missing_files_and_wrong_types_are_refused(admin, engine):
    r = deploy(admin, [])
    assert r.status_code == 422 and "请选择要部署的文件" in text(r)
    r = deploy(admin, [("notes.txt", b"hello")])
    assert r.status_code == 422 and "notes.txt" in text(r)
    assert engine.repository.definitions() == []


def test_staged_version_activation_and_diff(admin, engine):
    deploy(admin, [("appeal_basic.bpmn", BASIC_XML)])
    changed = BASIC_XML.replace('name="受理登记"'.encode(), 'name="受理登记（新）"'.encode())
    r = deploy(admin, [("appeal_basic.bpmn", changed)], activate=False)
    assert r.status_code == 302
    assert "已部署但未启用" in text(admin.get("/admin/processes"))
    assert [(v["version"], v["active"]) for v in engine.repository.versions("appeal_basic")] == [(1, True), (2, False)]
    page = text(admin.get("/admin/processes/appeal_basic"))
    assert re.search(r'data-version="1" class="is-active"', page)
    assert 'name="version" value="2"' in page and 'name="version" value="1"' not in page

    diff = text(admin.get("/admin/processes/appeal_basic/diff?from=1&to=2"))
    changed_section = re.search(r'data-diff="changed">(.*?)</section>', diff, re.S).group(1)
    assert "Task_accept" in changed_section and "受理登记（新）" in changed_section
    assert "新增" in diff and "删除" in diff and "修改" in diff

    csrf = token(page)
    r = admin.post("/admin/processes/appeal_basic/activate", data={"csrf_token": csrf, "version": "2"})
    assert r.status_code == 302
    assert [(v["version"], v["active"]) for v in engine.repository.versions("appeal_basic")] == [(1, False), (2, True)]
    assert "已启用 appeal_basic v2" in text(admin.get("/admin/processes/appeal_basic"))
    assert engine.repository.versions("appeal_basic")[1]["pinned"]


def test_unknown_process_version_and_bad_numbers(admin, engine):
    deploy(admin, [("appeal_basic.bpmn", BASIC_XML)])
    assert admin.get("/admin/processes/nope").status_code == 404
    assert admin.get("/admin/processes/appeal_basic/diff?from=1&to=9").status_code == 404
    assert admin.get("/admin/processes/appeal_basic/diff?from=x&to=1").status_code == 400
    csrf = token(text(admin.get("/admin/processes/appeal_basic")))
    assert admin.post("/admin/processes/appeal_basic/activate", data={"csrf_token": csrf, "version": "9"}).status_code == 404
    assert admin.post("/admin/processes/appeal_basic/activate", data={"csrf_token": csrf, "version": "x"}).status_code == 400


def test_posts_without_the_csrf_token_are_refused(admin, engine):
    r = admin.post("/admin/deploy", data={"activate": "1", "files": [(io.BytesIO(BASIC_XML), "a.bpmn")]},
                   content_type="multipart/form-data")
    assert r.status_code == 400
    assert engine.repository.definitions() == []
    engine.repository.deploy([("appeal_basic.bpmn", BASIC_XML)])
    engine.repository.deploy([("appeal_basic.bpmn", BASIC_XML.replace("受理登记".encode(), "受理".encode()))], activate=False)
    r = admin.post("/admin/processes/appeal_basic/activate", data={"version": "2"})
    assert r.status_code == 400
    assert engine.repository.versions("appeal_basic")[0]["active"]


def test_problem_texts_and_file_names_are_escaped(admin, engine):
    # a file name with markup (no "/": names are cut to their base name) and an XML error about it
    name = "<b>x<script>alert(1)<i>.bpmn"
    r = deploy(admin, [(name, b"<not xml")])
    assert r.status_code == 422
    page = text(r)
    assert "<script>alert(1)" not in page and "<b>x" not in page
    assert htmllib.escape(name, quote=False) in page


def test_english_pages(admin, engine):
    deploy(admin, [("appeal_basic.bpmn", BASIC_XML)])
    page = text(admin.get("/admin/processes?lang=en"))
    assert "Activate after deploying" in page and "Processes" in page
    page = text(admin.get("/admin/processes/appeal_basic?lang=en"))
    assert "Running instances" in page


def test_the_admin_reaches_group_names_and_notices_from_the_process_page(app, admin, engine):
    """用户组名称 and 通知记录 are linked from 流程管理 (the administrator's page), and the header
    marks 流程管理 as current on them; nobody else sees those links or reaches the pages."""
    page = text(admin.get("/admin/processes"))
    links = re.search(r'<nav class="qh-admin-links"[^>]*>(.*?)</nav>', page, re.S).group(1)
    found = re.findall(r'href="([^"]+)"[^>]*>([^<]+)<', links)
    assert found[:2] == [("/admin/groups", "用户组名称"), ("/admin/notices", "通知记录")]
    assert ("/admin/accounts", "用户账号") in found                          # issue 16
    for url in ("/admin/groups", "/admin/notices"):
        r = admin.get(url)
        assert r.status_code == 200, url
        assert re.search(r'<a href="/admin/processes" aria-current="page">流程管理</a>', text(r)), url
    english = text(admin.get("/admin/processes?lang=en"))
    assert 'aria-label="Administration"' in english and "Group names" in english and "Notices sent" in english
    clerk = client_for(app, "li")
    for url in ("/inbox", "/"):
        assert "/admin/groups" not in text(clerk.get(url)) and "/admin/notices" not in text(clerk.get(url))
    assert clerk.get("/admin/groups").status_code == 403 and clerk.get("/admin/notices").status_code == 403
