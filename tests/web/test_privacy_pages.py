"""个人信息保护 on the pages (issue 18, web/pages/privacy.py, web/pages/personal.py): the task
page, the instance page, the search, the 办理单 and the REST API show the complainant's contact
masked to readers without the right; 显示完整信息 (POST, CSRF) reveals and logs; the
个人信息查看记录 page lists the reads per appeal and per user for administrators and
supervisors; the 台账 export masks by the reader's role and is logged once."""
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from qihu import appeals
from qihu.appeals.models import PersonalDataRead
from qihu.web.app import create_app
from tests.web_util import BASIC, PASSWORD, add_people, sign_in, token

APPEAL = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
          "contact_phone": "13812345678", "category": "policy", "summary": "惠企政策兑现资金迟迟未到账"}
FULL, MASKED = "13812345678", "138****5678"


@pytest.fixture
def app(engine):
    add_people(engine)          # li: acceptor; wang: dept_policy; zhao: supervisor
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.accounts.add_user("lingdao", PASSWORD, display_name="市领导", groups=["dashboard"], region="湖州市")
    engine.repository.deploy([BASIC], region="湖州市")
    return create_app(engine=engine, config={"TESTING": True})


def client_for(app, name):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert sign_in(c, name).status_code == 302
    return c


def html_of(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:300])
    return r.get_data(as_text=True)


def accepted(engine):
    iid = appeals.of(engine).portal.submit("appeal_basic", **APPEAL)["instance_id"]
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "资金未到账"})
    [t] = engine.tasks.list(instance_id=iid)
    return iid, t


def logged(engine):
    with engine.db.read() as s:
        return [(r.user, r.source, r.full) for r in s.scalars(select(PersonalDataRead).order_by(PersonalDataRead.id))]


def reveal(client, page_url, iid, page, back=None):
    html = html_of(client, page_url)
    return client.post(f"/instances/{iid}/reveal", data={"csrf_token": token(html), "page": page,
                                                         "back": page_url if back is None else back})


def test_the_task_page_masks_for_the_department_and_reveals_on_request(app, engine):
    iid, t = accepted(engine)
    wang = client_for(app, "wang")
    html = html_of(wang, f"/tasks/{t['id']}")
    assert MASKED in html and FULL not in html and "张*" in html and "张经理" not in html
    assert 'data-personal="masked"' in html and "显示完整信息" in html and f"tel:{FULL}" not in html
    assert wang.post(f"/instances/{iid}/reveal", data={"page": "task"}).status_code == 400     # no CSRF token
    r = reveal(wang, f"/tasks/{t['id']}", iid, "task")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/tasks/{t['id']}")
    html = html_of(wang, f"/tasks/{t['id']}")
    assert f'href="tel:{FULL}"' in html and "张经理" in html and "完整信息，查看已记录" in html
    # (the page read twice masked: once above, once for the form's CSRF token)
    assert logged(engine) == [("wang", "task", False), ("wang", "task", False), ("wang", "reveal", True),
                              ("wang", "task", True)]
    [audited] = engine.audit.list(action="personal_data_revealed")
    assert (audited["actor"], audited["client"], audited["target"]) == ("wang", "198.51.100.7", iid)
    # the 办理单 printed in the same session reads in full too (logged), another session masked
    assert FULL in html_of(wang, f"/instances/{iid}/print")
    assert logged(engine)[-1] == ("wang", "print", True)
    assert FULL not in html_of(client_for(app, "wang"), f"/instances/{iid}/print")


def test_the_acceptor_reads_in_full_without_asking(app, engine):
    iid = appeals.of(engine).portal.submit("appeal_basic", **APPEAL)["instance_id"]
    [t] = engine.tasks.list(instance_id=iid)
    html = html_of(client_for(app, "li"), f"/tasks/{t['id']}")
    assert f'<a class="qh-case-phone" href="tel:{FULL}">{FULL}</a>' in html and "显示完整信息" not in html
    assert logged(engine) == [("li", "task", True)]


def test_a_region_reader_who_takes_no_part_reads_masked_and_may_not_reveal(app, engine):
    iid, _t = accepted(engine)
    lingdao = client_for(app, "lingdao")
    html = html_of(lingdao, f"/instances/{iid}")
    assert MASKED in html and FULL not in html and "显示完整信息" not in html
    html = html_of(lingdao, "/search?q=" + APPEAL["company"])
    r = lingdao.post(f"/instances/{iid}/reveal", data={"csrf_token": token(html), "page": "instance"})
    assert r.status_code == 403 and "无权查看此诉求的完整个人信息" in r.get_data(as_text=True)
    assert ("lingdao", "reveal", True) not in logged(engine)


def test_a_reveal_goes_back_to_this_site_only(app, engine):
    iid, t = accepted(engine)
    wang = client_for(app, "wang")
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        r = reveal(wang, f"/tasks/{t['id']}", iid, "task", back=evil)
        assert r.status_code == 303 and r.headers["Location"].endswith(f"/instances/{iid}"), evil


def test_search_results_mask_per_reader_and_log_each_appeal_shown(app, engine):
    iid, _t = accepted(engine)
    html = html_of(client_for(app, "wang"), "/search?q=新材料")
    assert MASKED in html and FULL not in html
    html = html_of(client_for(app, "li"), "/search?q=新材料")
    assert FULL in html
    assert logged(engine)[-2:] == [("wang", "search", False), ("li", "search", True)]


def test_the_api_masks_the_variables_and_the_history(app, engine):
    iid, _t = accepted(engine)
    wang = client_for(app, "wang")
    body = wang.get(f"/api/instances/{iid}").get_json()
    assert body["data"]["contact_phone"] == MASKED and body["data"]["contact_name"] == "张*"
    assert FULL not in wang.get(f"/api/instances/{iid}/history").get_data(as_text=True)
    li = client_for(app, "li")
    assert li.get(f"/api/instances/{iid}").get_json()["data"]["contact_phone"] == FULL
    assert FULL in li.get(f"/api/instances/{iid}/history").get_data(as_text=True)
    assert [x for x in logged(engine) if x[1] == "api"] == [("wang", "api", False), ("wang", "api", False),
                                                           ("li", "api", True), ("li", "api", True)]


def test_the_reads_page_per_appeal_and_per_user(app, engine):
    iid, t = accepted(engine)
    html_of(client_for(app, "wang"), f"/tasks/{t['id']}")
    html_of(client_for(app, "li"), f"/instances/{iid}")
    boss = client_for(app, "boss")
    html = html_of(boss, f"/instances/{iid}")
    assert "个人信息查看记录" in html and FULL in html               # an administrator reads in full
    html = html_of(boss, f"/privacy/reads?appeal={iid}")
    assert f'name="appeal" value="{engine.runtime.get(iid)["business_key"]}"' in html   # not the instance id
    rows = re.findall(r'data-read="\d+" data-source="(\w+)" data-full="(\w+)"', html)
    assert rows == [("instance", "true"), ("instance", "true"), ("task", "false")]   # boss, li, wang
    assert "王部门" in html and "任务办理页" in html and "198.51.100.7" in html
    html = html_of(boss, "/privacy/reads?user=wang")
    assert re.findall(r'data-source="(\w+)"', html) == ["task"]
    tracking = engine.runtime.get(iid)["business_key"]
    assert len(re.findall(r'data-read=', html_of(boss, f"/privacy/reads?appeal={tracking}"))) == 3
    assert "没有找到该诉求" in html_of(boss, "/privacy/reads?appeal=QH-NONE")
    assert "个人信息查看记录" in html_of(client_for(app, "lingdao"), "/privacy/reads")   # a supervisor of the region
    r = client_for(app, "wang").get("/privacy/reads")
    assert r.status_code == 403 and "仅限管理员和督查人员" in r.get_data(as_text=True)
    assert "Personal data reads" in html_of(boss, "/privacy/reads?lang=en")
    from flask import render_template                  # the pager the reads and audit pages share
    with app.test_request_context():
        pager = render_template("qihu/more_pager.html", endpoint="qihu_privacy.reads", page=2, more=True,
                                f={"user": "wang"})
    assert 'href="/privacy/reads?page=1&amp;user=wang"' in pager and 'href="/privacy/reads?page=3&amp;user=wang"' in pager


def test_the_ledger_export_masks_by_role_and_is_logged_once(app, engine):
    iid, _t = accepted(engine)

    def ledger(name):
        r = client_for(app, name).get("/dashboard/ledger.xlsx?month=2026-11")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        ws = openpyxl.load_workbook(io.BytesIO(r.data))["台账"]
        rows = list(ws.iter_rows(values_only=True))
        return dict(zip(rows[0], rows[1]))
    row = ledger("lingdao")
    assert (row["联系人"], row["联系电话"]) == ("张*", MASKED)
    row = ledger("boss")
    assert (row["联系人"], row["联系电话"]) == ("张经理", FULL)
    with engine.db.read() as s:
        exports = [(r.user, r.full, r.instances, r.instance_id) for r in
                   s.scalars(select(PersonalDataRead).where(PersonalDataRead.source == "export").order_by(PersonalDataRead.id))]
    assert exports == [("lingdao", False, iid, None), ("boss", True, iid, None)]
    html = html_of(client_for(app, "boss"), f"/privacy/reads?appeal={iid}")
    assert re.findall(r'data-source="(\w+)"', html)[:2] == ["export", "export"] and "1 件" in html
