"""No internal id where a person reads (issue 15): every page H4a owns — the instance page with
its trail, ledger and notices, 待分派, 异常处理, the 晾晒 dashboard with its scope line — and
both Excel exports are walked for a set of known ids (group ids, user names, a ledger kind, a
message's name, the enterprise's user id); none may appear as text. And the administrators'
page 用户组名称: list, edit, clear, administrators only. On SQLite and PostgreSQL."""
import html as htmllib
import io
import re
from pathlib import Path

import openpyxl
import pytest

from qihu import appeals
from qihu.engine.topics import HandlerRegistry
from qihu.web.app import create_app
from tests.bpmn_util import bpmn, chain
from tests.domain.test_names import RECEIVER, SENDER
from tests.web_util import PASSWORD, sign_in, token

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = {   # name -> (display name, groups, is_admin)
    "admin": ("系统管理员", ["admin"], True),
    "shouli": ("周受理", ["acceptor", "names_desk"], False),
    "bumen": ("王部门", ["dept_policy", "dept_general"], False),
    "ducha": ("赵督查", ["supervisor", "dashboard"], False),
}
GOOD = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
        "contact_phone": "13812345678", "category": "policy", "summary": "新厂房用地指标迟迟未落实，影响投产"}
RATED_BAD = {"rate_plan": "4", "rate_process": "3", "rate_result": "1", "rate_comment": "用地指标仍未落实"}
# a step naming nobody (待分派) and a service task whose handler fails (异常处理)
ODDS = bpmn("names_odds", name="命名杂项测试", body=f"""
    <bpmn:extensionElements><camunda:properties>
      <camunda:property name="groupName.names_desk" value="综合受理窗口" />
    </camunda:properties></bpmn:extensionElements>
    <bpmn:startEvent id="s" />
    <bpmn:parallelGateway id="split" />
    <bpmn:userTask id="nobody" name="无人指定的环节" />
    <bpmn:serviceTask id="push" name="推送省平台" camunda:type="external" camunda:topic="names.push" />
    <bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" />
    {chain("s", "split")}
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="nobody" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="push" />
    {chain("nobody", "e1")}{chain("push", "e2")}""")
# what must never be read: group ids, user names, a ledger kind, a message's and a signal's names
IDS = ["acceptor", "supervisor", "dept_policy", "dept_general", "names_desk", "names_panel", "shouli", "bumen",
       "ducha", "rating", "names_case_moved", "names_broadcast", "qiye:"]


def visible_text(html):
    """What a person reads of a page: the text outside tags, scripts and styles."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"(?s)<[^>]+>", " ", html)))


def ids_in(text):
    return [i for i in IDS if re.search(rf"(?<![A-Za-z0-9_]){re.escape(i)}(?![A-Za-z0-9_])", text)]


def failing_handlers():
    """The bundled handlers and names.push, which fails (an incident for 异常处理)."""
    handlers = HandlerRegistry().discover()

    def push():
        raise RuntimeError("省平台无响应")
    handlers.register("names.push", push)
    return handlers


@pytest.fixture
def world(make_engine, clock):
    engine = make_engine(handlers=failing_handlers(), handler_retries=0)
    made = seed(engine)
    made["app"] = create_app(engine=engine, config={"TESTING": True})
    return made


def seed(engine):
    """Bundled and test diagrams, four people, and appeals in the states the pages show."""
    engine.repository.deploy([ROOT / "bpmn"])
    engine.repository.deploy([("sender.bpmn", SENDER), ("receiver.bpmn", RECEIVER), ("odds.bpmn", ODDS)])
    for name, (display, groups, is_admin) in PEOPLE.items():
        engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups, is_admin=is_admin)
    engine.accounts.set_group_name("names_panel", "评议团", "admin")
    domain = appeals.of(engine)
    # an enterprise's appeal: accepted, handled, rated badly (a 好差评 ledger line, 二次督办 opens)
    made = domain.portal.submit("appeal_basic", *GOOD.values())
    iid = made["instance_id"]

    def one(element):
        [t] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
        return t
    engine.tasks.complete(one("Task_accept")["id"], "shouli", {"category": "policy", "summary": "用地指标未落实"})
    engine.tasks.complete(one("Task_handle")["id"], "bumen", {"result": "solved", "reply": "已协调落实"})
    domain.portal.rate(made["token"], one("Task_rate")["id"], RATED_BAD)
    # another appeal left open at the department (the warning board), one moved by a message
    open_one = domain.portal.submit("appeal_basic", *{**GOOD, "summary": "消防验收反复退回，请协调"}.values())
    [t] = engine.tasks.list(instance_id=open_one["instance_id"])
    engine.tasks.complete(t["id"], "shouli", {"category": "policy", "summary": "消防验收反复退回"})
    sender = engine.runtime.start("names_sender", {}, business_key="QH-N-1", user="shouli")
    [t] = engine.tasks.list(instance_id=sender)
    engine.tasks.complete(t["id"], "shouli", {})
    [receiver] = [i["id"] for i in engine.runtime.instances(business_key="QH-N-1") if i["id"] != sender]
    odds = engine.runtime.start("names_odds", {}, user="shouli")
    return {"engine": engine, "appeal": iid, "open": open_one["instance_id"], "sender": sender,
            "receiver": receiver, "odds": odds}


def client(world, name):
    c = world["app"].test_client()
    assert sign_in(c, name).status_code == 302
    return c


def test_no_page_of_h4a_and_no_export_shows_an_internal_id(world):
    admin = client(world, "admin")
    pages = {f"/instances/{world[k]}": admin for k in ("appeal", "open", "sender", "receiver", "odds")}
    pages.update({"/inbox/unassigned": admin, "/admin/incidents": admin, "/dashboard": admin})
    pages["/dashboard?x=1"] = client(world, "bumen")             # the department's scope line
    seen = {}
    for url, c in pages.items():
        r = c.get(url.replace("?x=1", ""))
        assert r.status_code == 200, url
        text = visible_text(r.get_data(as_text=True))
        seen[url] = text
        assert ids_in(text) == [], (url, ids_in(text))
    # what the names replaced is there
    trail = seen[f"/instances/{world['appeal']}"]
    assert "王部门 办结「部门办理」" in trail and "周受理 办结「受理登记」" in trail and "发起人 企业（QH" in trail
    assert "企业评价（好差评）" in trail and "「二次督办」待督查室办理" in trail
    assert "部门办理 承办部门 政策咨询承办部门" in seen[f"/instances/{world['open']}"]
    assert "发出消息「转说“不”评议」" in seen[f"/instances/{world['sender']}"]
    assert "由「自动转入评议」启动流程" in seen[f"/instances/{world['receiver']}"]
    assert "评议团" in seen[f"/instances/{world['receiver']}"]
    assert "综合受理窗口" in seen["/inbox/unassigned"] and "周受理" in seen["/inbox/unassigned"]
    assert "推送省平台" in seen["/admin/incidents"]
    assert "本部门（综合承办部门、政策咨询承办部门）" in seen["/dashboard?x=1"]
    assert "政策咨询承办部门" in seen["/dashboard"]
    for export in ("/dashboard/ledger.xlsx", "/dashboard/figures.xlsx"):
        r = admin.get(export)
        assert r.status_code == 200, export
        book = openpyxl.load_workbook(io.BytesIO(r.data))
        cells = "\n".join(str(c.value) for ws in book.worksheets if ws.title != "指标说明"
                          for row in ws.iter_rows() for c in row if c.value is not None)
        assert ids_in(cells) == [], (export, ids_in(cells))
        assert "政策咨询承办部门" in cells
    ledger = openpyxl.load_workbook(io.BytesIO(admin.get("/dashboard/ledger.xlsx").data)).active
    stages = "\n".join(str(c.value) for c in ledger["S"] if c.value)
    assert "周受理" in stages and "王部门" in stages and "企业（QH" in stages


# -- 用户组名称 ----------------------------------------------------------------------------------
def group_card(html, group):
    m = re.search(rf'<li class="qh-panel qh-group" id="g-{group}" data-group="{group}" data-source="(\w+)">(.*?)</li>',
                  html, re.S)
    assert m, group
    return m.group(1), visible_text(m.group(2))


def test_the_group_names_page_lists_edits_and_clears(world):
    admin = client(world, "admin")
    processes = admin.get("/admin/processes").get_data(as_text=True)
    assert 'href="/admin/groups"' in processes                   # linked from the admin pages
    html = admin.get("/admin/groups").get_data(as_text=True)
    assert group_card(html, "dept_policy")[0] == "diagram" and "政策咨询承办部门" in group_card(html, "dept_policy")[1]
    assert "流程图「通用企业诉求办理」声明" in group_card(html, "dept_policy")[1]
    assert group_card(html, "names_panel")[0] == "admin" and "评议团" in group_card(html, "names_panel")[1]
    assert group_card(html, "dashboard")[0] == "none"             # a membership with no name: its id
    data = {"csrf_token": token(html), "name": "dept_policy", "display_name": "市发改委政策法规处"}
    r = admin.post("/admin/groups", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/groups#g-dept_policy")
    html = admin.get("/admin/groups").get_data(as_text=True)
    source, text = group_card(html, "dept_policy")
    assert source == "admin" and "市发改委政策法规处" in text and "流程图声明为「政策咨询承办部门」" in text
    assert "已保存用户组名称「市发改委政策法规处」" in visible_text(html)
    shown = visible_text(admin.get(f"/instances/{world['open']}").get_data(as_text=True))
    assert "市发改委政策法规处" in shown and "政策咨询承办部门" not in shown
    assert "市发改委政策法规处" in visible_text(admin.get("/dashboard").get_data(as_text=True))
    r = admin.post("/admin/groups", data={"csrf_token": token(html), "name": "dept_policy", "clear": "1",
                                          "display_name": "ignored"})
    html = admin.get("/admin/groups").get_data(as_text=True)
    assert group_card(html, "dept_policy")[0] == "diagram"
    assert "现显示为「政策咨询承办部门」" in visible_text(html)
    r = admin.post("/admin/groups", data={"csrf_token": token(html), "name": "dept_policy", "display_name": "长" * 201})
    assert "显示名称最多 200 个字" in visible_text(admin.get("/admin/groups").get_data(as_text=True))
    assert world["engine"].accounts.group_names(["dept_policy"]) == {"dept_policy": "政策咨询承办部门"}


def test_the_group_names_page_is_for_administrators_with_a_csrf_token(world):
    bumen = client(world, "bumen")
    assert bumen.get("/admin/groups").status_code == 403
    html = client(world, "admin").get("/admin/groups").get_data(as_text=True)
    assert bumen.post("/admin/groups", data={"csrf_token": token(html), "name": "dept_policy",
                                             "display_name": "x"}).status_code in (400, 403)
    admin = client(world, "admin")
    assert admin.post("/admin/groups", data={"name": "dept_policy", "display_name": "x"}).status_code == 400
    assert world["engine"].accounts.group_names(["dept_policy"]) == {"dept_policy": "政策咨询承办部门"}
    anonymous = world["app"].test_client().get("/admin/groups")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_english(world):
    html = client(world, "admin").get("/admin/groups?lang=en").get_data(as_text=True)
    assert "Group names" in html and "Declared by the diagram" in html and "用户组名称" not in visible_text(html)


def listed(html):
    return re.findall(r'<li class="qh-panel qh-group" id="g-[^"]+" data-group="([^"]+)"', html)


def sections(html):
    return re.findall(r'<section class="qh-groups-section" data-section="([^"]*)">\s*<h2>(.*?)</h2>', html, re.S)


def test_the_group_names_page_filters_by_id_name_and_process(world):
    """~110 groups: ?q= keeps those whose id or name has the text, ?process= those a process names;
    the list is in one section per process (by region), the groups no process uses last."""
    admin = client(world, "admin")
    everything = admin.get("/admin/groups").get_data(as_text=True)
    total = len(listed(everything))
    assert total > 80 and f'data-total="{total}"' in everything
    keys = [k for k, _ in sections(everything)]
    assert keys[-1] == "" and len(keys) == len(set(keys)) > 10 and "appeal_basic" in keys
    assert "未用于流程的用户组" in visible_text(dict(sections(everything))[""])
    assert "dashboard" in listed(everything[everything.index('data-section=""'):])  # a membership only
    by_id = admin.get("/admin/groups?q=DEPT_").get_data(as_text=True)               # any case
    assert listed(by_id) and all("dept_" in g for g in listed(by_id))
    assert {"dept_policy", "dept_general"} <= set(listed(by_id)) and f'data-shown="{len(listed(by_id))}"' in by_id
    by_name = admin.get("/admin/groups?q=督查").get_data(as_text=True)                # the display name
    names = visible_text(by_name)
    assert listed(by_name) and "hz_supervision" in listed(by_name) and "dept_policy" not in listed(by_name)
    assert 'value="督查"' in by_name and "符合条件的" in names
    one = admin.get("/admin/groups?process=lucheng_mock_accountability").get_data(as_text=True)
    assert set(listed(one)) >= {"lc_observer", "lc_centre", "lc_office"} and not any(
        not g.startswith("lc_") for g in listed(one))
    assert [k for k, _ in sections(one)] == ["lucheng_mock_accountability"]
    assert 'option value="lucheng_mock_accountability" selected' in one
    both = admin.get("/admin/groups?process=lucheng_mock_accountability&q=observer").get_data(as_text=True)
    assert listed(both) == ["lc_observer"]
    none = admin.get("/admin/groups?q=没有这样的组").get_data(as_text=True)
    assert listed(none) == [] and "没有符合条件的用户组" in visible_text(none)
    assert listed(admin.get("/admin/groups?process=no_such").get_data(as_text=True)) == listed(everything)
    # saving from a filtered list comes back to it
    r = admin.post("/admin/groups", data={"csrf_token": token(one), "name": "lc_observer", "display_name": "观察员",
                                          "q": "observer", "process": "lucheng_mock_accountability"})
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/admin/groups?q=observer&process=lucheng_mock_accountability#g-lc_observer")
    english = admin.get("/admin/groups?q=dept&lang=en").get_data(as_text=True)
    assert "matching" in english and "Find a group" in english
