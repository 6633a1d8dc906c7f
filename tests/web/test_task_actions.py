"""The task page's actions (web/pages/task_actions.py): reassign (转办), return (退单), comments and
attachments. Every endpoint: anonymous -> sign-in, no CSRF token -> 400, wrong group -> 403,
bad input -> the error next to its field and nothing saved, good input -> done and audited.
Signed in through the real sign-in form; on SQLite and PostgreSQL.
"""
import io
import re

import pytest
from sqlalchemy import select

from qihu.engine.storage.models import Attachment, TaskComment
from qihu.web.app import create_app

from tests.engine.test_handoff import PDF, basic_with_return
from tests.web_util import PASSWORD, add_people, sign_in, token

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 512


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("zhang", PASSWORD, display_name="张科长", groups=["dept_policy"])
    engine.repository.deploy([("appeal_basic.bpmn", basic_with_return())])
    return create_app(engine=engine, config={"TESTING": True})


@pytest.fixture
def appeal(engine, app):
    """An appeal accepted by li and routed to 部门办理 (dept_policy: wang, zhang)."""
    iid = engine.runtime.start("appeal_basic", {"企业名称": "湖州某新材料有限公司"}, business_key="HZ-7")
    [accept] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(accept["id"], "li", {"category": "policy", "summary": "用地指标迟迟未落实"})
    [handle] = engine.tasks.list(instance_id=iid)
    return {"iid": iid, "handle": handle["id"]}


def client_for(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


@pytest.fixture
def wang(app):
    return client_for(app, "wang")


def page(client, task_id):
    r = client.get(f"/tasks/{task_id}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def post(client, task_id, action, data=None, **kw):
    """POST to a task action with the CSRF token of the task page (or of the sign-in page)."""
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    if "csrf_token" not in html:
        html = client.get("/login").get_data(as_text=True)
    return client.post(f"/tasks/{task_id}/{action}", data={**(data or {}), "csrf_token": token(html)}, **kw)


def field_error(html, fid):
    m = re.search(r'<p class="qh-field-error" id="' + fid + r'-err"( hidden)?>([^<]*)</p>', html)
    assert m, fid
    return None if m.group(1) else m.group(2)


def events(engine, iid, type_):
    return engine.history.events(iid, [type_])


def count(engine, model, iid):
    with engine.db.read() as s:
        return len(s.scalars(select(model).where(model.instance_id == iid)).all())


ACTIONS = [("reassign", {"to_user": "zhang"}), ("return", {"reason": "不属于本部门"}),
           ("comments", {"body": "已联系企业"})]


# -- every endpoint: anonymous, CSRF, wrong group, unknown task ---------------------------------
@pytest.mark.parametrize("action,data", ACTIONS + [("attachments", {})])
def test_anonymous_is_sent_to_sign_in(app, appeal, action, data):
    c = app.test_client()
    r = post(c, appeal["handle"], action, data)
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    assert f"/tasks/{appeal['handle']}/{action}" in r.headers["Location"]


@pytest.mark.parametrize("action,data", ACTIONS)
def test_without_csrf_token_nothing_happens(engine, wang, appeal, action, data):
    r = wang.post(f"/tasks/{appeal['handle']}/{action}", data=data)
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    assert engine.tasks.get(appeal["handle"])["status"] == "ready"
    assert engine.tasks.get(appeal["handle"])["assignee"] is None
    assert count(engine, TaskComment, appeal["iid"]) == 0


@pytest.mark.parametrize("action,data", ACTIONS + [("attachments", {})])
def test_wrong_group_gets_403_and_nothing_changes(engine, app, appeal, action, data):
    zhao = client_for(app, "zhao")                        # 督查室: not offered 部门办理
    html = zhao.get("/inbox").get_data(as_text=True)
    if action == "attachments":
        data = {"file": (io.BytesIO(PDF), "a.pdf")}
    r = zhao.post(f"/tasks/{appeal['handle']}/{action}", data={**data, "csrf_token": token(html)})
    assert r.status_code == 403 and "没有权限" in r.get_data(as_text=True)
    t = engine.tasks.get(appeal["handle"])
    assert (t["status"], t["assignee"]) == ("ready", None)
    assert count(engine, TaskComment, appeal["iid"]) == 0 and count(engine, Attachment, appeal["iid"]) == 0


@pytest.mark.parametrize("action,data", ACTIONS)
def test_unknown_task_is_404(wang, action, data):
    html = wang.get("/inbox").get_data(as_text=True)
    r = wang.post(f"/tasks/no-such-task/{action}", data={**data, "csrf_token": token(html)})
    assert r.status_code == 404 and "没有找到该任务" in r.get_data(as_text=True)


# -- return (退单) -------------------------------------------------------------------------------
def test_return_with_an_empty_reason_shows_the_error_and_saves_nothing(engine, wang, appeal):
    html = page(wang, appeal["handle"])
    assert 'action="/tasks/%s/return"' % appeal["handle"] in html and "退回「受理登记」重新分派" in html
    r = post(wang, appeal["handle"], "return", {"reason": "   "})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_error(html, "return-reason") == "请填写退单理由"
    assert "退单未完成" in html and '<details class="qh-return" open>' in html
    too_long = "理由" * 251
    html = post(wang, appeal["handle"], "return", {"reason": too_long}).get_data(as_text=True)
    assert "不能超过 500 个字" in field_error(html, "return-reason")
    assert f">{too_long}</textarea>" in html                   # what was typed is kept
    assert engine.tasks.get(appeal["handle"])["status"] == "ready"
    assert events(engine, appeal["iid"], "task_returned") == []


def test_return_goes_back_to_the_dispatcher_who_sees_the_reason(engine, app, wang, appeal):
    r = post(wang, appeal["handle"], "return", {"reason": "不属于本部门职责<b>请改派</b>"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    assert "已退单" in wang.get("/inbox").get_data(as_text=True)
    assert engine.tasks.get(appeal["handle"])["status"] == "returned"
    [ev] = events(engine, appeal["iid"], "task_returned")
    assert ev["user"] == "wang" and ev["data"]["reason"] == "不属于本部门职责<b>请改派</b>"

    li = client_for(app, "li")
    inbox = li.get("/inbox").get_data(as_text=True)
    new_id = ev["data"]["to_task"]
    assert f"/tasks/{new_id}" in inbox
    html = page(li, new_id)
    assert "此诉求已被退回，请重新分派" in html and "部门办理" in html and "王部门" in html
    assert "不属于本部门职责&lt;b&gt;请改派&lt;/b&gt;" in html and "<b>请改派</b>" not in html
    assert "已退单 1 次" in html
    assert 'action="/tasks/%s/return"' % new_id not in html       # 受理登记 itself cannot be returned
    # the returned task's own page says so, without actions
    html = page(wang, appeal["handle"])
    assert "此任务已退单。" in html and "办理操作" not in html


def test_returning_a_task_claimed_by_a_colleague_is_forbidden(engine, app, appeal):
    engine.tasks.claim(appeal["handle"], "zhang")
    wang = client_for(app, "wang")
    assert "确认退单" not in page(wang, appeal["handle"])        # not offered
    r = post(wang, appeal["handle"], "return", {"reason": "想退"})
    assert r.status_code == 403
    assert engine.tasks.get(appeal["handle"])["status"] == "ready"


# -- reassign (转办) -----------------------------------------------------------------------------
def test_reassign_form_lists_colleagues_and_refuses_bad_input(engine, wang, appeal):
    html = page(wang, appeal["handle"])
    options = re.findall(r'<option value="([^"]*)"', html.split('id="reassign-to"')[1].split("</select>")[0])
    assert options == ["", "zhang"]                              # not wang himself, not other groups
    assert "张科长（zhang）" in html
    for to_user, error in [("", "请填写转办对象"), ("zhao", "zhao 不是该任务的候选人"), ("nobody", "没有在职用户 nobody"),
                           ("wang", "不能转办给自己")]:
        r = post(wang, appeal["handle"], "reassign", {"to_user": to_user, "note": "请协助"})
        assert r.status_code == 422, to_user
        html = r.get_data(as_text=True)
        assert field_error(html, "reassign-to") == error and ">请协助</textarea>" in html
    assert engine.tasks.get(appeal["handle"])["assignee"] is None
    assert events(engine, appeal["iid"], "task_reassigned") == []


def test_reassign_to_a_colleague_who_then_has_it(engine, app, wang, appeal):
    r = post(wang, appeal["handle"], "reassign", {"to_user": "zhang", "note": "<i>请张科长办理</i>"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    assert "已将「部门办理」转办给 张科长" in wang.get("/inbox").get_data(as_text=True)
    assert engine.tasks.get(appeal["handle"])["assignee"] == "zhang"
    [ev] = events(engine, appeal["iid"], "task_reassigned")
    assert ev["data"] == {"from": None, "to": "zhang", "note": "<i>请张科长办理</i>", "by": "wang"}
    zhang = client_for(app, "zhang")
    assert f"/tasks/{appeal['handle']}" in zhang.get("/inbox").get_data(as_text=True)
    html = page(zhang, appeal["handle"])
    assert 'action="/tasks/%s"' % appeal["handle"] in html        # zhang may fill in the form
    assert "王部门 将此任务转办给您：&lt;i&gt;请张科长办理&lt;/i&gt;" in html
    html = page(wang, appeal["handle"])
    assert "此任务由 张科长 办理中。" in html and "确认退单" not in html and 'id="reassign-to"' not in html


# -- comments ----------------------------------------------------------------------------------
def test_comment_is_saved_escaped_and_audited(engine, app, wang, appeal):
    r = post(wang, appeal["handle"], "comments", {"body": "<script>alert('x')</script>已电话联系企业", "public": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{appeal['handle']}#comments")
    html = page(wang, appeal["handle"])
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;已电话联系企业" in html
    assert "<script>alert" not in html and "对企业公开" in html and "意见已保存" in html
    [c] = engine.comments.list(appeal["iid"])
    assert c["user"] == "wang" and c["public"] is True and c["task_id"] == appeal["handle"]
    assert events(engine, appeal["iid"], "comment_added")[0]["user"] == "wang"
    # zhang (same group) sees it on the same page
    assert "已电话联系企业" in page(client_for(app, "zhang"), appeal["handle"])


def test_bad_comment_shows_the_error_and_keeps_the_text(engine, wang, appeal):
    r = post(wang, appeal["handle"], "comments", {"body": "  "})
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "comment-body") == "请填写意见内容"
    long = "意" * 2001
    html = post(wang, appeal["handle"], "comments", {"body": long}).get_data(as_text=True)
    assert "不能超过 2000 个字" in field_error(html, "comment-body") and f">{long}</textarea>" in html
    assert count(engine, TaskComment, appeal["iid"]) == 0


# -- attachments -------------------------------------------------------------------------------
def upload(client, task_id, name, content):
    return post(client, task_id, "attachments", {"file": (io.BytesIO(content), name)},
                content_type="multipart/form-data")


def test_upload_keeps_only_the_base_name_and_links_the_download(engine, wang, appeal):
    r = upload(wang, appeal["handle"], "../../evil.pdf", PDF)
    assert r.status_code == 302 and r.headers["Location"].endswith("#attachments")
    [a] = engine.uploads.list(appeal["iid"])
    assert a["name"] == "evil.pdf" and a["task_id"] == appeal["handle"] and a["created_by"] == "wang"
    html = page(wang, appeal["handle"])
    assert f'href="/attachments/{a["id"]}"' in html and "附件已上传：evil.pdf" in html and "部门办理" in html
    [ev] = events(engine, appeal["iid"], "attachment_added")
    assert ev["data"]["name"] == "evil.pdf"
    download = wang.get(f"/attachments/{a['id']}")
    assert download.status_code == 200 and download.data == PDF


def test_bad_uploads_are_refused_with_a_clear_error(engine, app, wang, appeal):
    cases = [("setup.pdf", EXE, "文件内容与扩展名 .pdf 不符"),
             ("evil.exe", EXE, "不支持的文件类型 .exe"),
             ("big.pdf", PDF + b"0" * (10 * 1024 * 1024), "文件超过 10 MB"),
             ("empty.pdf", b"", "文件为空")]
    for name, content, error in cases:
        r = upload(wang, appeal["handle"], name, content)
        assert r.status_code == 422, name
        html = r.get_data(as_text=True)
        assert error in field_error(html, "upload-file") and "附件未上传" in html
    r = wang.post(f"/tasks/{appeal['handle']}/attachments",
                  data={"csrf_token": token(page(wang, appeal["handle"]))}, content_type="multipart/form-data")
    assert r.status_code == 422 and field_error(r.get_data(as_text=True), "upload-file") == "请选择要上传的文件"
    assert count(engine, Attachment, appeal["iid"]) == 0


def test_a_request_over_the_app_limit_gets_a_friendly_413_page(engine, wang, appeal):
    r = upload(wang, appeal["handle"], "huge.pdf", PDF + b"0" * (17 * 1024 * 1024))
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "文件过大" in html and "超过 16 MB 的上限" in html and f'href="/tasks/{appeal["handle"]}"' in html
    assert count(engine, Attachment, appeal["iid"]) == 0


# -- the page itself ---------------------------------------------------------------------------
def test_task_page_groups_the_actions_and_counts_returns(engine, app, wang, appeal):
    html = page(wang, appeal["handle"])
    side = html.split('<aside class="qh-task-side">')[1]
    assert "办理操作" in side and 'id="reassign-to"' in side and "确认退单" in side
    assert 'id="comments"' in html and 'id="attachments"' in html and 'enctype="multipart/form-data"' in html
    assert re.search(r"退单次数</dt><dd[^>]*>0</dd>", html)
    for form in re.findall(r"<form .*?</form>", html, re.S):
        assert 'name="csrf_token"' in form
    assert "Reassign" in wang.get(f"/tasks/{appeal['handle']}?lang=en").get_data(as_text=True)
