"""The clerk's desk (web/pages/inbox.py, desk.py): the case on the task page, the earlier work a
step builds on, 已办, the search, bulk 认领/转办/催办, the 办理单 to print, and the start page
that shows engine counters to signed-in staff only. Signed in through the real sign-in form;
on SQLite and PostgreSQL.
"""
import re

import pytest

from qihu import appeals
from qihu.web.app import create_app

from tests.domain.test_portal import BASIC, PDF
from tests.web_util import PASSWORD, add_people, sign_in, token

APPEAL = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
          "contact_phone": "13812345678", "category": "policy", "summary": "惠企政策兑现资金迟迟未到账"}
OTHER = {"company": "德清绿能科技有限公司", "credit_code": "914403001922038216", "contact_name": "李总",
         "contact_phone": "0572-2345678", "category": "resource", "summary": "新厂房用地指标迟迟未落实"}


@pytest.fixture
def app(engine):
    add_people(engine)        # li, liu: acceptor; wang: dept_policy, dept_general; zhao: supervisor
    engine.accounts.add_user("zhang", PASSWORD, display_name="张科长", groups=["dept_policy"])
    engine.accounts.add_user("sun", PASSWORD, display_name="孙资源", groups=["dept_resource"])
    engine.accounts.set_group_name("acceptor", "受理员")
    engine.accounts.set_group_name("dept_policy", "政策法规科")
    engine.repository.deploy([BASIC])
    return create_app(engine=engine, config={"TESTING": True})


def submit(engine, appeal=APPEAL, files=()):
    return appeals.of(engine).portal.submit("appeal_basic", files=files, **appeal)


def only(engine, iid):
    [t] = engine.tasks.list(instance_id=iid)
    return t


def accept(engine, iid, category="policy"):
    engine.tasks.complete(only(engine, iid)["id"], "li", {"category": category, "summary": "资金未到账"})
    return only(engine, iid)


def client_for(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def html_of(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r.get_data(as_text=True)


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- the case on the task page ------------------------------------------------------------------
def test_the_task_page_shows_whom_to_call_and_what_was_asked(app, engine):
    got = submit(engine, files=[("政策文件.pdf", PDF)])
    t = only(engine, got["instance_id"])
    html = html_of(client_for(app, "li"), f"/tasks/{t['id']}")
    plain = text(html)
    for said in ("湖州某新材料有限公司", "91330100799655058B", "张经理", "政策咨询", "企业自主提交",
                 APPEAL["summary"], got["tracking_no"], "政策文件.pdf"):
        assert said in plain, said
    assert '<a class="qh-case-phone" href="tel:13812345678">13812345678</a>' in html
    assert ">policy<" not in html                                     # the category by its name
    assert 'id="history"' in html and "发起流程" in plain                 # the history in plain words
    assert f'href="/instances/{got["instance_id"]}/print"' in html
    assert 'title="acceptor">受理员</span>' in html                       # candidate groups by name


def test_the_inbox_says_which_company_each_task_is_for(app, engine):
    """A clerk picks the next case by who it is for, not by its number alone."""
    got = submit(engine)
    html = html_of(client_for(app, "li"), "/inbox")
    assert '<div class="qh-company">湖州某新材料有限公司</div>' in html and got["tracking_no"] in html


def rate_badly(engine, iid):
    t = accept(engine, iid)
    engine.tasks.complete(t["id"], "wang", {"result": "solved", "reply": "已兑现"})
    rate = only(engine, iid)
    engine.tasks.complete(rate["id"], rate["assignee"], {"rate_plan": "3", "rate_process": "2", "rate_result": "1",
                                                         "rate_comment": "资金仍未到账"})
    return only(engine, iid)


def test_second_supervision_shows_the_ratings_and_complaint_and_a_redo_the_opinion(app, engine):
    got = submit(engine)
    iid = got["instance_id"]
    second = rate_badly(engine, iid)
    assert second["element_id"] == "Task_second_supervision"
    plain = text(html_of(client_for(app, "zhao"), f"/tasks/{second['id']}"))
    assert "前序办理情况" in plain
    assert "对办理过程 不满意" in plain and "对办理结果 非常不满意" in plain and "评价意见 资金仍未到账" in plain
    assert "答复内容 已兑现" in plain and "办理结果 已解决" in plain
    engine.tasks.complete(second["id"], "zhao", {"second_result": "redo", "second_opinion": "五个工作日内兑现"})
    redo = only(engine, iid)
    html = html_of(client_for(app, "wang"), f"/tasks/{redo['id']}")
    latest = re.search(r'<article class="qh-prior-step is-latest"[^>]*>(.*?)</article>', html, re.S).group(1)
    assert "二次督办" in latest and "五个工作日内兑现" in latest and "责令承办部门重新办理" in latest


# -- 7: the start page ------------------------------------------------------------------------
def test_anonymous_visitors_see_no_engine_counters(app, engine):
    submit(engine)
    anonymous = html_of(app.test_client(), "/")
    assert 'class="qh-num"' not in anonymous and "已部署的流程" not in anonymous and "运行中的流程实例" not in anonymous
    assert "appeal_basic" not in anonymous and 'id="portal-entry"' in anonymous and 'href="/login"' in anonymous
    staff = html_of(client_for(app, "li"), "/")
    assert 'class="qh-num"' in staff and "已部署的流程" in staff


# -- 已办 ----------------------------------------------------------------------------------------
def test_done_lists_what_i_handled_newest_first_and_nobody_elses(app, engine, clock):
    from datetime import timedelta
    first, second = submit(engine), submit(engine, OTHER)
    accept(engine, first["instance_id"])
    clock.set(clock.now() + timedelta(hours=1))
    accept(engine, second["instance_id"], "resource")
    page = engine.tasks.done("li")
    assert page["total"] == 2 and [t["business_key"] for t in page["tasks"]] == \
        [second["tracking_no"], first["tracking_no"]]
    assert engine.tasks.done("li", limit=1, offset=1)["tasks"][0]["business_key"] == first["tracking_no"]
    assert engine.tasks.done("wang")["total"] == 0
    html = html_of(client_for(app, "li"), "/done")
    assert html.index(second["tracking_no"]) < html.index(first["tracking_no"]) and "受理登记" in html
    assert first["tracking_no"] not in html_of(client_for(app, "wang"), "/done")
    assert app.test_client().get("/done").status_code == 302                      # anonymous: sign in


def test_a_returned_task_counts_as_handled(app, engine):
    iid = submit(engine)["instance_id"]
    t = accept(engine, iid)
    # 退单 needs returnTo: appeal_basic's 部门办理 declares it
    engine.handoff.return_task(t["id"], "wang", "不属于本科室职责")
    [row] = engine.tasks.done("wang")["tasks"]
    assert row["status"] == "returned"
    assert "已退单" in text(html_of(client_for(app, "wang"), "/done"))


# -- search ----------------------------------------------------------------------------------------
def test_search_finds_by_company_code_phone_and_number_and_leaks_nothing(app, engine):
    mine, theirs = submit(engine), submit(engine, OTHER)
    accept(engine, mine["instance_id"])
    accept(engine, theirs["instance_id"], "resource")
    wang = client_for(app, "wang")
    for q in ("新材料", "91330100799655058B", "13812345678", mine["tracking_no"]):
        html = html_of(wang, f"/search?q={q}")
        assert f'data-instance="{mine["instance_id"]}"' in html, q
    for q in ("德清", "914403001922038216", "0572-2345678", theirs["tracking_no"], "有限公司"):
        assert f'data-instance="{theirs["instance_id"]}"' not in html_of(wang, f"/search?q={q}"), q
    li = html_of(client_for(app, "li"), "/search?q=有限公司&status=running")
    assert mine["tracking_no"] in li and theirs["tracking_no"] in li
    assert "没有找到" in html_of(wang, "/search?q=不存在的企业")
    assert html_of(wang, "/search?status=gone", 400)


# -- bulk actions ---------------------------------------------------------------------------------
def bulk(client, data):
    html = client.get("/inbox").get_data(as_text=True)
    return client.post("/inbox/bulk", data={**data, "csrf_token": token(html)})


def outcomes(html):
    """{task id: ("ok" | "refused", "step name + what was said")} of the bulk result page."""
    out = {}
    for m in re.finditer(r'<li class="is-(ok|refused)" data-task="([^"]+)">(.*?)</li>', html, re.S):
        name = text(re.search(r"<strong>(.*?)</strong>", m.group(3), re.S).group(1)).strip()
        said = text(re.search(r'<span class="qh-bulk-text">(.*?)</span>', m.group(3), re.S).group(1)).strip()
        out[m.group(2)] = (m.group(1), f"{name} {said}")
    return out


def test_bulk_claim_reports_each_task(app, engine):
    a, b = (accept(engine, submit(engine)["instance_id"]) for _ in range(2))
    engine.tasks.claim(b["id"], "zhang")
    r = bulk(client_for(app, "wang"), {"action": "claim", "task": [a["id"], b["id"]]})
    assert r.status_code == 200
    said = outcomes(r.get_data(as_text=True))
    assert said[a["id"]] == ("ok", "部门办理 已认领")
    assert said[b["id"]][0] == "refused" and re.search(r"[\u4e00-\u9fff]", said[b["id"]][1])
    assert engine.tasks.get(a["id"])["assignee"] == "wang" and engine.tasks.get(b["id"])["assignee"] == "zhang"
    assert "完成 1 项，未完成 1 项" in text(r.get_data(as_text=True))


def test_bulk_reassign_hands_tasks_to_a_colleague(app, engine):
    a, b = (accept(engine, submit(engine)["instance_id"]) for _ in range(2))
    other = accept(engine, submit(engine, OTHER)["instance_id"], "resource")      # sun's, not wang's
    wang = client_for(app, "wang")
    inbox = html_of(wang, "/inbox")
    assert '<option value="zhang">张科长</option>' in inbox and 'name="task" value="' + a["id"] in inbox
    r = bulk(wang, {"action": "reassign", "to_user": "zhang", "note": "请张科长办理", "task": [a["id"], b["id"], other["id"]]})
    said = outcomes(r.get_data(as_text=True))
    assert said[a["id"]][0] == said[b["id"]][0] == "ok" and "张科长" in said[a["id"]][1]
    assert said[other["id"]] == ("refused", f"{other['name']} 您无权对此任务执行该操作")
    assert engine.tasks.get(a["id"])["assignee"] == "zhang" and engine.tasks.get(other["id"])["assignee"] is None


def test_bulk_remind_notifies_the_assignee_or_the_groups(app, engine):
    a, b = (accept(engine, submit(engine)["instance_id"]) for _ in range(2))
    engine.tasks.claim(b["id"], "zhang")
    r = bulk(client_for(app, "wang"), {"action": "remind", "task": [a["id"], b["id"]], "note": "今天办结"})
    said = outcomes(r.get_data(as_text=True))
    assert said[a["id"]][0] == said[b["id"]][0] == "ok"
    zhang = engine.notifications.page("zhang")["items"]
    assert {n["task_id"] for n in zhang if n["title"].startswith("催办")} == {a["id"], b["id"]}   # own + group's
    assert any(n["body"] == "wang 催办此任务：今天办结" for n in zhang)
    # one's own task needs no reminder
    engine.tasks.claim(a["id"], "wang")
    said = outcomes(bulk(client_for(app, "wang"), {"action": "remind", "task": [a["id"]]}).get_data(as_text=True))
    assert said[a["id"]] == ("refused", "部门办理 任务由您本人办理，无需催办")


def test_bulk_needs_a_token_a_selection_and_a_known_action(app, engine):
    t = accept(engine, submit(engine)["instance_id"])
    wang = client_for(app, "wang")
    assert wang.post("/inbox/bulk", data={"action": "claim", "task": [t["id"]]}).status_code == 400   # no CSRF
    assert bulk(wang, {"action": "claim"}).status_code == 400
    assert bulk(wang, {"action": "delete", "task": [t["id"]]}).status_code == 400
    assert bulk(wang, {"action": "reassign", "task": [t["id"]]}).status_code == 400                 # nobody named
    assert engine.tasks.get(t["id"])["assignee"] is None


# -- print ---------------------------------------------------------------------------------------------
def test_the_handling_sheet_prints_the_appeal_every_step_and_the_ratings(app, engine):
    got = submit(engine)
    rate_badly(engine, got["instance_id"])
    engine.comments.add(got["instance_id"], "zhao", "已约谈承办科室")
    zhao = client_for(app, "zhao")
    html = html_of(zhao, f"/instances/{got['instance_id']}/print")
    plain = text(html)
    assert "涉企诉求办理单" in plain and got["tracking_no"] in plain
    # 督查室 is not the 受理 group: the contact is printed masked (issue 18, appeals/privacy.py)
    assert "张*" in plain and "138****5678" in plain and "张经理" not in plain and "13812345678" not in plain
    for step in ("受理登记", "部门办理", "企业评价"):
        assert step in plain
    assert "答复内容 已兑现" in plain and "对办理结果 非常不满意" in plain and "已约谈承办科室" in plain
    assert "<button" not in html and 'class="qh-nav"' not in html and "<form" not in html
    css = zhao.get(re.search(r'href="([^"]+print\.css)"', html).group(1)).get_data(as_text=True)
    assert "@page { size: A4;" in css and ".qp-toolbar { display: none !important; }" in css
    # someone who takes no part in the appeal may not print it
    assert client_for(app, "sun").get(f"/instances/{got['instance_id']}/print").status_code == 403


# -- 8 / 9: the inbox by display names, task names whole on phones ------------------------------------
def test_the_inbox_names_groups_and_people_and_keeps_task_names_whole(app, engine):
    accept(engine, submit(engine)["instance_id"])
    html = html_of(client_for(app, "wang"), "/inbox")
    assert 'title="dept_policy">政策法规科</span>' in html
    css = app.test_client().get("/qihu-static/inbox.css").get_data(as_text=True)
    assert "word-break: keep-all" in css and "@media (max-width: 640px)" in css
