"""The 晾晒评价 dashboard (web/pages/dashboard.py): who sees what (administrator, region-wide viewer,
department, another region, no scope, anonymous), the filters and crafted parameters, the
warning board's links, the Excel exports (downloaded and parsed). On SQLite and PostgreSQL.

The data are real appeals run through the engine with a fixed clock: a small process that
declares its figures (figure.* properties, appeals/figures.py), dispatched, signed for, handled,
returned, rated; time moves on so that open appeals turn yellow and red.
"""
import io
import re
from urllib.parse import unquote

import openpyxl
import pytest

from tests.bpmn_util import bpmn, chain
from tests.scenario import Scenario, beijing
from tests.web_util import PASSWORD, sign_in
from qihu import appeals
from qihu.web.app import create_app

KEY = "dash_appeal"
DIAGRAM = bpmn(KEY, name="测试诉求办理", extra="", body=f"""
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="figure.department" value="department" />
      <camunda:property name="figure.departmentName" value="department_name" />
      <camunda:property name="figure.title" value="summary" />
      <camunda:property name="figure.company" value="company" />
      <camunda:property name="figure.solved" value="result == 'solved'" />
      <camunda:property name="figure.closedAt" value="Task_rate" />
      <camunda:property name="figure.signFor" value="Task_sign" />
      <camunda:property name="figure.rating" value="rating" />
      <camunda:property name="figure.satisfied" value="5,4,3" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1" />
    <bpmn:userTask id="Task_dispatch" name="分派" camunda:candidateGroups="dispatcher" />
    <bpmn:userTask id="Task_sign" name="签收" camunda:candidateGroups="${{department}}"
                   camunda:dueDate="${{workdays(1)}}" />
    <bpmn:userTask id="Task_handle" name="部门办理" camunda:candidateGroups="${{department}}"
                   camunda:dueDate="${{workdays(5)}}">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="returnTo" value="Task_dispatch" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Task_rate" name="企业评价" camunda:candidateGroups="rater" />
    <bpmn:endEvent id="EndEvent_1" />
    {chain("StartEvent_1", "Task_dispatch", "Task_sign", "Task_handle", "Task_rate", "EndEvent_1")}
""")

HZ, LS = "湖州市", "丽水市"
# user -> (groups, region, is_admin)
PEOPLE = {
    "boss": (["admin"], None, True),
    "nation": (["dashboard"], None, False),             # a national supervisor: every region
    "hz_leader": (["dashboard"], HZ, False),            # 湖州 leader: all of 湖州
    "ls_leader": (["dashboard"], LS, False),            # 丽水 leader: nothing of 湖州
    "hz_a_user": (["hz_a"], HZ, False),                 # a department of 湖州: its own rows only
    "ls_a_user": (["ls_a"], LS, False),
    "nobody": (["enterprise"], None, False),            # no department, no dashboard: 403
    "desk": (["dispatcher", "rater"], None, False),     # dispatches and records the ratings
}
APPEALS = {   # business key -> (region, department, department name, company, summary)
    "HZ-A-1": (HZ, "hz_a", "审批科", "织里童装有限公司", "厂房用电增容审批慢"),
    "HZ-A-2": (HZ, "hz_a", "审批科", "南浔木业有限公司", "消防验收反复退回"),
    "HZ-B-1": (HZ, "hz_b", "金融科", "德清生物科技公司", "贷款贴息未兑现"),
    "HZ-B-2": (HZ, "hz_b", "金融科", "长兴电池有限公司", "融资担保费率高"),
    "LS-A-1": (LS, "ls_a", "丽水审批科", "龙泉青瓷有限公司", "林地审批慢"),
    "HZ-A-0": (HZ, "hz_a", "审批科", "安吉竹业有限公司", "十月份的诉求"),
    "HZ-B-3": (HZ, "hz_b", "金融科", "吴兴丝绸有限公司", "出口退税慢"),
    "HZ-A-3": (HZ, "hz_a", "审批科", "=HYPERLINK(\"http://evil\")", "<script>alert(1)</script>"),
}


def seed(engine, clock):
    """The appeals of APPEALS, run to these states (Beijing time):
    - HZ-A-0 accepted in October, solved and rated 5;
    - HZ-A-1 (Nov 2) signed on time, solved, rated 5;  HZ-A-2 returned once, then not solved, rated 2;
    - HZ-B-1 signed late, open at 部门办理 (red by Nov 16); HZ-B-2 never signed, open at 签收;
    - LS-A-1 open at 签收 in 丽水;
    - HZ-B-3 (Nov 10) and HZ-A-3 (Nov 11) signed, open at 部门办理: orange and yellow on Nov 16.
    Returns {business key: instance id}."""
    for name, (groups, region, is_admin) in PEOPLE.items():
        engine.accounts.add_user(name, PASSWORD, display_name=name, groups=groups, is_admin=is_admin, region=region)
    engine.accounts.add_user("hz_b_user", PASSWORD, display_name="hz_b_user", groups=["hz_b"], region=HZ)
    engine.repository.deploy([("dash_appeal.bpmn", DIAGRAM)])
    sc = Scenario(engine, clock)

    ids = {}
    clock.set(beijing(2026, 10, 12))
    ids["HZ-A-0"] = _start(engine, sc, "HZ-A-0")
    _walk(sc, ids["HZ-A-0"], "hz_a_user", result="solved", rating="5")
    clock.set(beijing(2026, 11, 2))
    for bk in ("HZ-A-1", "HZ-A-2", "HZ-B-1", "HZ-B-2", "LS-A-1"):
        ids[bk] = _start(engine, sc, bk)
        sc.complete(ids[bk], "Task_dispatch", "desk")
    sc.complete(ids["HZ-A-1"], "Task_sign", "hz_a_user")
    sc.complete(ids["HZ-A-2"], "Task_sign", "hz_a_user")
    sc.wait_until(2026, 11, 4, 10)                       # past the one-day sign-for deadline
    sc.complete(ids["HZ-B-1"], "Task_sign", "hz_b_user")
    handle = sc.task(ids["HZ-A-2"], "Task_handle")
    engine.handoff.return_task(handle["id"], "hz_a_user", "不属于本科室职责")
    sc.complete(ids["HZ-A-2"], "Task_dispatch", "desk")
    sc.complete(ids["HZ-A-2"], "Task_sign", "hz_a_user")
    sc.complete(ids["HZ-A-1"], "Task_handle", "hz_a_user", {"result": "solved"})
    sc.complete(ids["HZ-A-1"], "Task_rate", "desk", {"rating": "5"})
    sc.complete(ids["HZ-A-2"], "Task_handle", "hz_a_user", {"result": "explained"})
    sc.complete(ids["HZ-A-2"], "Task_rate", "desk", {"rating": "2"})
    for bk, day in (("HZ-B-3", 10), ("HZ-A-3", 11)):
        sc.wait_until(2026, 11, day, 10)
        ids[bk] = _start(engine, sc, bk)
        sc.complete(ids[bk], "Task_dispatch", "desk")
        sc.complete(ids[bk], "Task_sign", f"{APPEALS[bk][1]}_user")
    sc.wait_until(2026, 11, 16, 10)                      # HZ-B-1's five working days are gone: red
    return ids


def _start(engine, sc, bk):
    region, dept, dept_name, company, summary = APPEALS[bk]
    return engine.runtime.start(KEY, {"department": dept, "department_name": dept_name, "company": company,
                                      "summary": summary}, business_key=bk, region=region)


def _walk(sc, iid, user, result, rating):
    sc.complete(iid, "Task_dispatch", "desk")
    sc.complete(iid, "Task_sign", user)
    sc.complete(iid, "Task_handle", user, {"result": result})
    sc.complete(iid, "Task_rate", "desk", {"rating": rating})


# -- the page ---------------------------------------------------------------------------------
@pytest.fixture
def ids(engine, clock):
    return seed(engine, clock)


@pytest.fixture
def app(engine, ids):
    return create_app(engine=engine, config={"TESTING": True})


def client_for(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def text(response):
    return response.get_data(as_text=True)


def board(html):
    """{business key: colour} of the warning board's rows."""
    rows = re.findall(r'<tr data-open-item="[^"]+" data-colour="(\w+)"[^>]*>\s*<td>.*?</td>\s*<td[^>]*>(?:<a [^>]*>)?([^<]+)<',
                      html, re.S)
    return {bk.strip(): colour for colour, bk in rows}


def ranking(html):
    return re.findall(r'data-rank-department="([^"]+)"', html)


def card(html, key):
    m = re.search(rf'data-card="{key}"><span>[^<]*</span>\s*<b>([^<]*)</b>', html)
    assert m, f"no card {key}"
    return m.group(1)


def trend(html):
    import json
    m = re.search(r'<script type="application/json" id="qh-dashboard-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


URLS = ("/dashboard", "/dashboard/ledger.xlsx", "/dashboard/figures.xlsx")


def test_anonymous_callers_are_sent_to_sign_in(app):
    c = app.test_client()
    for url in URLS:
        r = c.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url


def test_without_a_scope_403_in_chinese_and_no_header_link(app):
    c = client_for(app, "nobody")
    for url in URLS:
        r = c.get(url)
        assert r.status_code == 403 and "晾晒评价仅限领导、督查和承办部门查看。" in text(r), url
    assert 'href="/dashboard"' not in text(c.get("/inbox"))
    assert 'href="/dashboard"' in text(client_for(app, "hz_leader").get("/inbox"))


def test_who_sees_what(app):
    everything = {"HZ-B-2": "red", "LS-A-1": "red", "HZ-B-1": "red", "HZ-B-3": "orange", "HZ-A-3": "yellow"}
    for name in ("boss", "nation"):
        html = text(client_for(app, name).get("/dashboard"))
        assert board(html) == everything, name
        assert sorted(ranking(html)) == ["hz_a", "hz_b", "ls_a"], name
        assert card(html, "accepted") == "7" and '<select name="region">' in html, name
    html = text(client_for(app, "hz_leader").get("/dashboard"))
    assert board(html) == {k: v for k, v in everything.items() if k != "LS-A-1"}
    assert ranking(html) == ["hz_a", "hz_b"] and card(html, "accepted") == "6"
    assert '<select name="region">' not in html and "湖州市 · 全部部门" in html
    assert "丽水" not in html
    html = text(client_for(app, "ls_leader").get("/dashboard"))
    assert board(html) == {"LS-A-1": "red"} and ranking(html) == ["ls_a"] and card(html, "accepted") == "1"
    assert "湖州" not in html and "HZ-" not in html
    html = text(client_for(app, "hz_a_user").get("/dashboard"))
    assert board(html) == {"HZ-A-3": "yellow"} and ranking(html) == ["hz_a"] and card(html, "accepted") == "3"
    assert "金融科" not in html and "HZ-B" not in html and "本部门（审批科）" in html


def test_cards_trend_ranking_and_definitions(app, engine):
    html = text(client_for(app, "hz_leader").get("/dashboard"))
    assert "2026-11 月度指标" in html                      # this month by the engine's clock
    # 湖州, November: 6 accepted, 2 closed (1 solved, 1 not), 1 returned, 4 of 6 signed for on time,
    # 2 rated (5 and 2: one satisfied), none solved late, about 2 working days each to close
    assert card(html, "accepted") == "6" and "办结 2 · 办成 1" in html
    assert card(html, "closed_rate") == "33.3%" and card(html, "solved_rate") == "16.7%"
    assert card(html, "late_rate") == "0.0%" and card(html, "sign_rate") == "66.7%"
    assert card(html, "return_rate") == "16.7%" and card(html, "satisfaction_rate") == "50.0%"
    assert card(html, "avg_workdays") == "2.0" and card(html, "open") == "4"
    assert 'data-count="red">红 2' in html and 'data-count="orange">橙 1' in html
    t = trend(html)
    assert len(t["trend"]["months"]) == 12 and t["trend"]["months"][-2:] == ["2026-10", "2026-11"]
    assert t["trend"]["accepted"][-2:] == [1, 6] and t["trend"]["accepted"][0] == 0
    assert t["trend"]["closed_rate"][-1] == pytest.approx(2 / 6) and t["trend"]["closed_rate"][0] is None
    assert t["labels"]["satisfaction_rate"] == "满意率"
    # 审批科 closed 2 of 3, 金融科 none: 审批科 first
    assert ranking(html) == ["hz_a", "hz_b"]
    assert re.search(r'data-rank-department="hz_a">\s*<td><b class="qh-dash-rankno">1</b></td><td>审批科</td>'
                     r'\s*<td>3</td><td>2</td><td>66.7%</td>', html)
    for d in appeals.of(engine).figures.DEFINITIONS:
        assert f'<div data-definition="{d["key"]}"><dt>{d["name"]}</dt><dd>{d["formula"]}</dd></div>' in html
    # what enterprises typed is escaped
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in text(client_for(app, "hz_leader").get("/dashboard?colour=yellow"))


def test_filters(app):
    c = client_for(app, "hz_leader")
    html = text(c.get("/dashboard?department=hz_b"))
    assert board(html) == {"HZ-B-2": "red", "HZ-B-1": "red", "HZ-B-3": "orange"} and card(html, "accepted") == "3"
    assert '<option value="hz_b" selected>金融科</option>' in html
    html = text(c.get("/dashboard?month=2026-10"))
    assert card(html, "accepted") == "1" and card(html, "closed_rate") == "100.0%" and ranking(html) == ["hz_a"]
    assert trend(html)["trend"]["months"][-1] == "2026-10"
    html = text(c.get("/dashboard?month=2026-09"))
    assert card(html, "accepted") == "0" and card(html, "closed_rate") == "—" and "本月暂无受理的诉求。" in html
    html = text(c.get("/dashboard?colour=red"))
    assert board(html) == {"HZ-B-2": "red", "HZ-B-1": "red"}
    html = text(c.get("/dashboard?mechanism=dash_appeal&department=hz_a"))
    assert board(html) == {"HZ-A-3": "yellow"}
    html = text(client_for(app, "boss").get("/dashboard?region=丽水市"))
    assert board(html) == {"LS-A-1": "red"} and ranking(html) == ["ls_a"]
    # the export links carry the filters
    assert 'href="/dashboard/ledger.xlsx?month=2026-11&amp;region=%E4%B8%BD%E6%B0%B4%E5%B8%82"' in html


@pytest.mark.parametrize("who, query, message", [
    ("hz_a_user", "department=hz_b", "department: 'hz_b' 不在您可查看的范围内"),
    ("hz_a_user", "region=丽水市", "region: '丽水市' 不在您可查看的范围内"),
    ("hz_leader", "region=丽水市", "region: '丽水市' 不在您可查看的范围内"),
    ("hz_leader", "department=ls_a", "department: 'ls_a' 不在您可查看的范围内"),
    ("hz_leader", "mechanism=nope", "mechanism: 'nope' 不在您可查看的范围内"),
    ("hz_leader", "month=2026-13", "month: '2026-13' 不是有效的月份（YYYY-MM）"),
    ("hz_leader", "month=0000-05", "month: '0000-05' 不是有效的月份（YYYY-MM）"),
    ("hz_leader", "month=%3Cscript%3E", "month: &#39;&lt;script&gt;&#39; 不是有效的月份（YYYY-MM）"),
    ("hz_leader", "colour=purple", "colour: &#39;purple&#39;"),
])
def test_crafted_parameters_are_refused(app, who, query, message):
    c = client_for(app, who)
    r = c.get(f"/dashboard?{query}")
    body = text(r)
    assert r.status_code == 400 and "请求有误" in body
    assert message.replace("'", "&#39;") in body or message in body
    assert "HZ-B" not in body and "LS-A" not in body and "金融科" not in body
    if not query.startswith("colour"):
        for url in URLS[1:]:
            r = c.get(f"{url}?{query}")
            assert r.status_code == 400 and r.content_type.startswith("text/html"), (url, query)


def test_export_ranges_are_checked(app):
    c = client_for(app, "hz_leader")
    r = c.get("/dashboard/ledger.xlsx?from=2026-11&to=2026-10")
    assert r.status_code == 400 and "from 2026-11 &gt; to 2026-10" in text(r)
    r = c.get("/dashboard/figures.xlsx?from=2023-01&to=2026-11")
    assert r.status_code == 400 and "一次最多导出 36 个月" in text(r)


def xlsx(response):
    assert response.status_code == 200
    assert response.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "private, no-store"
    return openpyxl.load_workbook(io.BytesIO(response.data))


def filename(response):
    m = re.search(r"filename\*=UTF-8''(\S+)", response.headers["Content-Disposition"])
    return unquote(m.group(1))


def sheet_rows(ws):
    header = [c.value for c in ws[1]]
    return [dict(zip(header, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]


def test_ledger_export(app, engine):
    c = client_for(app, "hz_leader")
    r = c.get("/dashboard/ledger.xlsx")
    assert filename(r) == "晾晒评价_台账_2026-11.xlsx"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="qihu-ledger-2026-11.xlsx"; ')
    rows = sheet_rows(xlsx(r)["台账"])
    keys = [x["受理编号"] for x in rows]            # by acceptance time (four were accepted together)
    assert sorted(keys[:4]) == ["HZ-A-1", "HZ-A-2", "HZ-B-1", "HZ-B-2"] and keys[4:] == ["HZ-B-3", "HZ-A-3"]
    by = {x["受理编号"]: x for x in rows}
    assert by["HZ-A-1"]["企业"] == "织里童装有限公司" and by["HZ-A-1"]["承办部门"] == "审批科"
    assert by["HZ-A-1"]["机制"] == "测试诉求办理" and by["HZ-A-1"]["地区"] == "湖州市"
    assert by["HZ-A-1"]["办理结果"] == "办成" and by["HZ-A-1"]["满意度评价"] == "5（非常满意）"
    assert by["HZ-A-2"]["办理结果"] == "未办成" and by["HZ-A-2"]["退单次数"] == 1
    assert by["HZ-A-2"]["满意度评价"] == "2（不满意）" and "部门办理（11-04 10:00 退单 hz_a_user）" in by["HZ-A-2"]["各环节"]
    assert by["HZ-B-1"]["预警颜色"] == "红" and by["HZ-B-1"]["是否超期"] == "是" and by["HZ-B-1"]["当前环节"] == "部门办理"
    assert by["HZ-B-3"]["预警颜色"] == "橙" and by["HZ-B-3"]["是否超期"] == "否"
    assert by["HZ-A-3"]["企业"] == '=HYPERLINK("http://evil")'       # text, not a formula
    from datetime import datetime
    assert by["HZ-A-1"]["受理时间"] == datetime(2026, 11, 2, 9, 0)
    # a range of months; a department's ledger has its own rows only, whatever it asks for
    r = c.get("/dashboard/ledger.xlsx?from=2026-10&to=2026-11")
    assert filename(r) == "晾晒评价_台账_2026-10至2026-11.xlsx" and len(sheet_rows(xlsx(r)["台账"])) == 7
    r = client_for(app, "hz_a_user").get("/dashboard/ledger.xlsx?from=2026-01&to=2026-12")
    keys = [x["受理编号"] for x in sheet_rows(xlsx(r)["台账"])]
    assert keys[0] == "HZ-A-0" and sorted(keys[1:3]) == ["HZ-A-1", "HZ-A-2"] and keys[3:] == ["HZ-A-3"]
    r = client_for(app, "ls_leader").get("/dashboard/ledger.xlsx")
    assert [x["受理编号"] for x in sheet_rows(xlsx(r)["台账"])] == ["LS-A-1"]


def test_figures_export(app, engine):
    r = client_for(app, "boss").get("/dashboard/figures.xlsx?from=2026-10&region=湖州市")
    assert filename(r) == "晾晒评价_湖州市_月度指标_2026-10至2026-11.xlsx"
    wb = xlsx(r)
    rows = sheet_rows(wb["月度指标"])
    assert [(x["月份"], x["地区"], x["机制"], x["承办部门"]) for x in rows] == [
        ("2026-10", "湖州市", "测试诉求办理", "审批科"), ("2026-11", "湖州市", "测试诉求办理", "审批科"),
        ("2026-11", "湖州市", "测试诉求办理", "金融科")]
    nov_a = rows[1]
    assert nov_a["受理量"] == 3 and nov_a["办结量"] == 2 and nov_a["办结率"] == pytest.approx(2 / 3)
    assert nov_a["满意率"] == 0.5 and nov_a["退单量"] == 1 and rows[2]["满意率"] is None
    about = sheet_rows(wb["指标说明"])
    assert [x["指标"] for x in about] == [d["name"] for d in appeals.of(engine).figures.DEFINITIONS]
    # a department: its own row only, even when asking for all regions' months
    r = client_for(app, "hz_a_user").get("/dashboard/figures.xlsx?from=2026-01&to=2026-12")
    assert {x["承办部门"] for x in sheet_rows(xlsx(r)["月度指标"])} == {"审批科"}


def test_warning_board_links_where_the_instance_page_opens(app, ids):
    # a department sees links to its own appeals, and the link opens the instance page
    c = client_for(app, "hz_b_user")
    html = text(c.get("/dashboard"))
    link = f'href="/instances/{ids["HZ-B-1"]}">HZ-B-1</a>'
    assert link in html
    assert c.get(f"/instances/{ids['HZ-B-1']}").status_code == 200
    # the administrator opens any; so does a supervisor who took no part (leaders and
    # supervisors see every appeal of their region: engine.access)
    assert link in text(client_for(app, "boss").get("/dashboard"))
    nation = client_for(app, "nation")
    assert link in text(nation.get("/dashboard"))
    assert nation.get(f"/instances/{ids['HZ-B-1']}").status_code == 200


def test_english(app):
    html = text(client_for(app, "hz_leader").get("/dashboard?lang=en"))
    assert '<html lang="en">' in html and "Performance figures" in html and "Warning board" in html
    assert "Definitions" in html and ">Figures</a>" in html
