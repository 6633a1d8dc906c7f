"""异常处理 (web/pages/incidents.py): the incident page for administrators, its actions (retry,
resolve with data, mark handled, cancel, bulk retry), region narrowing, refusals, the header's
count, the instance page's incidents and the 晾晒 warning board's stalled appeals; and the
Chinese sentences of qihu.appeals.incidents. On SQLite and PostgreSQL.

The incidents are real: a service task whose handler raises (handler_retries=0, so each waits
for a person), in processes that declare their 晾晒 figures so the warning board holds them.
"""
import html as htmllib
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from qihu import appeals
from qihu.appeals import incidents as said
from qihu.engine.topics import HandlerRegistry
from qihu.web.app import create_app

from tests.bpmn_util import bpmn, chain
from tests.web_util import PASSWORD, sign_in, token

HZ, LS = "湖州市", "丽水市"
FIGURES = """
  <bpmn:extensionElements><camunda:properties>
    <camunda:property name="figure.department" value="'dept'" />
    <camunda:property name="figure.title" value="var('summary')" />
    <camunda:property name="figure.solved" value="True" />
  </camunda:properties></bpmn:extensionElements>"""
PUSH = bpmn("inc_push", FIGURES + f"""
<bpmn:startEvent id="s" />
<bpmn:serviceTask id="push" name="推送省平台" camunda:type="external" camunda:topic="test.push" />
<bpmn:userTask id="handle" name="部门办理" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" />
{chain("s", "push", "handle", "e")}""", name="省平台推送")
SMS = bpmn("inc_sms", FIGURES + f"""
<bpmn:startEvent id="s" />
<bpmn:serviceTask id="sms" name="短信告知企业" camunda:type="external" camunda:topic="test.sms" />
<bpmn:userTask id="handle" name="部门办理" camunda:candidateGroups="dept" camunda:dueDate="P1D" />
<bpmn:endEvent id="e" />
{chain("s", "sms", "handle", "e")}""", name="短信告知")
# a healthy appeal whose step turns red: the board must still put the stalled ones first
CALM = bpmn("inc_calm", FIGURES + f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="部门办理" camunda:candidateGroups="dept" camunda:dueDate="PT1H" />
<bpmn:endEvent id="e" />
{chain("s", "handle", "e")}""", name="平稳办理")

PEOPLE = {  # name -> (display, groups, region, is_admin)
    "boss": ("系统管理员", ["admin"], None, True),
    "hz_admin": ("湖州管理员", ["admin"], HZ, False),       # an administrator bound to 湖州
    "clerk": ("王科员", ["dept"], HZ, False),                # takes part, is no administrator
    "leader": ("李领导", ["dashboard"], None, False),        # sees the 晾晒 board
}


class World:
    def __init__(self, engine, clock):
        self.engine, self.clock = engine, clock
        self.failing = {"test.push": True, "test.sms": True}
        for name, (display, groups, region, is_admin) in PEOPLE.items():
            engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups, region=region,
                                     is_admin=is_admin)
        engine.repository.deploy([("inc_push.bpmn", PUSH), ("inc_sms.bpmn", SMS), ("inc_calm.bpmn", CALM)])
        self.app = create_app(engine=engine, config={"TESTING": True})

    def start(self, key, bk, region, minutes_later=0):
        self.clock.advance(minutes=minutes_later)
        return self.engine.runtime.start(key, {"summary": f"{bk} 的诉求"}, business_key=bk, region=region,
                                         user="clerk")

    def client(self, name):
        c = self.app.test_client()
        assert sign_in(c, name).status_code == 302
        return c

    def incident_of(self, iid):
        [i] = self.engine.runtime.incidents(iid)
        return i


@pytest.fixture
def world(make_engine, clock):
    handlers = HandlerRegistry()
    holder = {}

    def push(**_):
        if holder["w"].failing["test.push"]:
            raise RuntimeError("省平台无响应")
        return {"pushed": True}

    def sms(**_):
        if holder["w"].failing["test.sms"]:
            raise ConnectionError("connection refused by sms gateway")
        return {"sms_sent": True}
    handlers.register("test.push", push)
    handlers.register("test.sms", sms)
    w = holder["w"] = World(make_engine(handlers=handlers, handler_retries=0), clock)
    return w


@pytest.fixture
def three(world):
    """HZ-1 (湖州, push fails) oldest, LS-1 (丽水, push fails), HZ-2 (湖州, sms fails) newest."""
    ids = {"HZ-1": world.start("inc_push", "HZ-1", HZ),
           "LS-1": world.start("inc_push", "LS-1", LS, minutes_later=30),
           "HZ-2": world.start("inc_sms", "HZ-2", HZ, minutes_later=30)}
    world.clock.advance(hours=3)
    return ids


def text(r):
    return r.get_data(as_text=True)


def rows(html):
    """The business keys of the page's incident rows, in order."""
    return re.findall(r'<tr data-incident="\d+"[^>]*>.*?<td data-label="业务编号"><a [^>]*>([^<]+)</a>', html, re.S)


def post(client, url, data=None, page="/admin/incidents"):
    return client.post(url, data={**(data or {}), "csrf_token": token(text(client.get(page)))})


def flashes(html):
    return [htmllib.unescape(m) for m in re.findall(r'class="qh-flash qh-flash-\w+" role="status">([^<]*)<', html)]


# -- the page ----------------------------------------------------------------------------------
def test_every_open_incident_in_chinese_oldest_first(world, three):
    html = text(world.client("boss").get("/admin/incidents"))
    assert rows(html) == ["HZ-1", "LS-1", "HZ-2"]                      # oldest first
    assert "未处理的异常共 3 个" in html
    assert "自动任务「推送省平台」执行失败：省平台无响应" in html
    # an English message is not shown as the sentence: its class is said in Chinese
    assert "自动任务「短信告知企业」执行失败：无法连接对方系统" in html
    assert "省平台推送" in html and "短信告知" in html                 # process display names
    assert HZ in html and LS in html
    assert f'href="/instances/{three["HZ-1"]}"' in html
    assert "3 小时前" in html and "4 小时前" in html                    # ages
    # the technical detail on demand
    detail = re.search(r'<tr data-incident="\d+" data-kind="handler">.*?</tr>', html, re.S).group(0)
    assert "<details class=\"qh-inc-detail\">" in detail and "RuntimeError" in detail and "Traceback" in detail
    # actions with CSRF tokens: retry, resolve with data, cancel; bulk retry
    assert html.count('data-action="retry"') == 3 and html.count('name="data"') == 3
    assert html.count('data-action="cancel"') == 3 and 'data-action="retry-many"' in html
    for form in re.findall(r'<form method="post".*?</form>', html, re.S):
        assert 'name="csrf_token"' in form


def test_filters_by_process_region_and_kind(world, three):
    c = world.client("boss")
    assert rows(text(c.get("/admin/incidents?process=inc_sms"))) == ["HZ-2"]
    assert rows(text(c.get(f"/admin/incidents?region={LS}"))) == ["LS-1"]
    assert rows(text(c.get(f"/admin/incidents?region={HZ}&process=inc_push"))) == ["HZ-1"]
    assert rows(text(c.get("/admin/incidents?kind=handler"))) == ["HZ-1", "LS-1", "HZ-2"]
    html = text(c.get("/admin/incidents?kind=calendar"))
    assert rows(html) == [] and "没有符合条件的异常。" in html
    page = text(c.get("/admin/incidents"))
    assert '<option value="inc_push">省平台推送</option>' in page and f'<option value="{LS}">' in page
    assert '<option value="stall">案件无法流转</option>' in page          # kinds by their Chinese names
    r = c.get("/admin/incidents?kind=nonsense")
    assert r.status_code == 400 and "请求有误" in text(r)


def test_the_page_in_english(world, three):
    html = text(world.client("boss").get("/admin/incidents?lang=en"))
    assert "<h1>Incidents</h1>" in html and ">Retry<" in html and "Service task failed" in html
    assert "Technical detail" in html and "Retry selected" in html


def test_no_incident_says_so(world):
    html = text(world.client("boss").get("/admin/incidents"))
    assert "没有未处理的异常，所有案件都在正常流转。" in html


def test_retry_still_failing_then_succeeding(world, three):
    c, inc = world.client("boss"), world.incident_of(three["HZ-1"])
    r = post(c, f"/admin/incidents/{inc['id']}/retry", {"next": "/admin/incidents?region=湖州市"})
    assert r.status_code == 302 and unquote(r.headers["Location"]) == "/admin/incidents?region=湖州市"
    assert flashes(text(c.get(r.headers["Location"]))) == ["已重试「推送省平台」，仍未成功：省平台无响应"]
    world.failing["test.push"] = False
    r = post(c, f"/admin/incidents/{inc['id']}/retry")
    assert flashes(text(c.get(r.headers["Location"]))) == ["已重试「推送省平台」，流程继续办理"]
    assert world.engine.runtime.incidents(three["HZ-1"]) == []
    assert world.engine.runtime.data(three["HZ-1"])["pushed"] is True
    assert [t["name"] for t in world.engine.tasks.list(instance_id=three["HZ-1"])] == ["部门办理"]
    # a second retry of the same incident is said in Chinese, never a 500
    r = post(c, f"/admin/incidents/{inc['id']}/retry")
    assert r.status_code == 302
    assert flashes(text(c.get(r.headers["Location"]))) == ["重试未完成：该异常已处理或已不存在，请刷新页面查看。"]


def test_resolve_with_data_continues_and_bad_json_is_refused(world, three):
    c, inc = world.client("boss"), world.incident_of(three["HZ-2"])
    r = post(c, f"/admin/incidents/{inc['id']}/resolve", {"data": "[1, 2"})
    assert flashes(text(c.get(r.headers["Location"]))) == ['补录未完成：结果须为 JSON 对象，例如 {"notified": true}']
    assert world.incident_of(three["HZ-2"])["status"] == "open"              # nothing changed
    r = post(c, f"/admin/incidents/{inc['id']}/resolve", {"data": '{"sms_sent": "电话告知"}'})
    assert flashes(text(c.get(r.headers["Location"]))) == ["已补录「短信告知企业」的结果，流程继续办理"]
    assert world.engine.runtime.incidents(three["HZ-2"]) == []
    assert world.engine.runtime.data(three["HZ-2"])["sms_sent"] == "电话告知"
    assert [t["name"] for t in world.engine.tasks.list(instance_id=three["HZ-2"])] == ["部门办理"]
    [event] = world.engine.history.events(three["HZ-2"], ["incident_resolved"])
    assert event["user"] == "boss"


def test_cancel_needs_a_reason_then_ends_the_case(world, three):
    c, inc = world.client("boss"), world.incident_of(three["LS-1"])
    r = post(c, f"/admin/incidents/{inc['id']}/cancel", {"reason": "  "})
    assert flashes(text(c.get(r.headers["Location"]))) == ["取消未完成：请填写取消原因"]
    assert world.engine.runtime.get(three["LS-1"])["status"] == "running"
    r = post(c, f"/admin/incidents/{inc['id']}/cancel", {"reason": "重复登记，已合并办理"})
    html = text(c.get(r.headers["Location"]))
    assert flashes(html) == ["已取消案件 LS-1"] and rows(html) == ["HZ-1", "HZ-2"]
    assert world.engine.runtime.get(three["LS-1"])["status"] == "cancelled"
    [event] = world.engine.history.events(three["LS-1"], ["instance_cancelled"])
    assert event["data"]["reason"] == "重复登记，已合并办理" and event["user"] == "boss"


def test_bulk_retry(world, three):
    c = world.client("boss")
    world.failing["test.push"] = False                     # the provincial platform is back; SMS is not
    ids = [world.incident_of(three[k])["id"] for k in ("HZ-1", "LS-1", "HZ-2")]
    r = post(c, "/admin/incidents/retry", {"incident": [str(i) for i in ids] + ["x"]})
    html = text(c.get(r.headers["Location"]))
    assert flashes(html) == ["批量重试 3 个异常：成功 2 个，仍未成功 1 个"]
    assert rows(html) == ["HZ-2"]
    r = post(c, "/admin/incidents/retry", {"incident": [str(ids[0]), str(ids[2])]})
    assert flashes(text(c.get(r.headers["Location"]))) == [
        "批量重试 2 个异常：成功 0 个，仍未成功 1 个，无法重试 1 个（已处理、不可重试或无权处理）"]
    r = post(c, "/admin/incidents/retry", {})
    assert flashes(text(c.get(r.headers["Location"]))) == ["请先勾选要重试的异常"]


def test_actions_return_only_to_pages_of_this_site(world, three):
    c, inc = world.client("boss"), world.incident_of(three["HZ-1"])
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = post(c, f"/admin/incidents/{inc['id']}/retry", {"next": evil})
        assert r.headers["Location"] == "/admin/incidents", evil


def test_a_region_administrator_sees_and_acts_on_their_region_only(world, three):
    c = world.client("hz_admin")
    html = text(c.get("/admin/incidents"))
    assert rows(html) == ["HZ-1", "HZ-2"] and LS not in html.split("</form>", 1)[1]
    assert 'data-incidents="2"' in html                                  # the header counts the same
    ls = world.incident_of(three["LS-1"])
    for action in ("retry", "resolve", "cancel"):
        r = post(c, f"/admin/incidents/{ls['id']}/{action}", {"reason": "越权", "data": "{}"})
        assert r.status_code == 403 and "地区管理员只能处理本地区的异常" in text(r), action
    r = post(c, "/admin/incidents/retry", {"incident": [str(ls["id"])]})
    assert "无法重试 1 个" in flashes(text(c.get(r.headers["Location"])))[0]
    assert world.incident_of(three["LS-1"])["status"] == "open"
    assert world.engine.runtime.get(three["LS-1"])["status"] == "running"
    # the nationwide administrator sees all three
    assert 'data-incidents="3"' in text(world.client("boss").get("/inbox"))


def test_non_administrators_are_refused_and_anonymous_callers_sign_in(world, three):
    inc = world.incident_of(three["HZ-1"])
    c = world.client("clerk")
    r = c.get("/admin/incidents")
    assert r.status_code == 403 and "异常处理仅限管理员使用" in text(r)
    for action in ("retry", "resolve", "cancel"):
        r = post(c, f"/admin/incidents/{inc['id']}/{action}", {"reason": "x"}, page="/inbox")
        assert r.status_code == 403, action
    assert post(c, "/admin/incidents/retry", {"incident": [str(inc["id"])]}, page="/inbox").status_code == 403
    assert world.incident_of(three["HZ-1"])["status"] == "open"
    assert "/admin/incidents" not in text(c.get("/inbox"))                # no header link
    anonymous = world.app.test_client()
    r = anonymous.get("/admin/incidents")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_post_without_a_csrf_token_is_refused(world, three):
    c, inc = world.client("boss"), world.incident_of(three["HZ-1"])
    r = c.post(f"/admin/incidents/{inc['id']}/cancel", data={"reason": "无令牌"})
    assert r.status_code == 400 and "页面已过期" in text(r)
    assert world.engine.runtime.get(three["HZ-1"])["status"] == "running"


def test_the_header_shows_the_open_count_to_administrators(world, three):
    html = text(world.client("boss").get("/inbox"))
    assert re.search(r'<a class="qh-nav-incidents" href="/admin/incidents">异常 <span class="qh-badge"[^>]*'
                     r'data-incidents="3">3</span></a>', html)
    world.failing["test.push"] = False
    for key in ("HZ-1", "LS-1"):
        world.engine.runtime.retry_incident(world.incident_of(three[key])["id"])
    assert 'data-incidents="1"' in text(world.client("boss").get("/inbox"))
    assert "qh-nav-incidents" not in text(world.client("clerk").get("/inbox"))


def test_the_header_count_is_one_query(world, three, monkeypatch):
    """The badge is on every page of an administrator: one count, not a list."""
    from qihu.engine.runtime.service import Runtime
    monkeypatch.setattr(Runtime, "incidents", lambda *a, **k: pytest.fail("the header lists incidents"))
    c = world.client("hz_admin")
    assert 'data-incidents="2"' in text(c.get("/inbox"))


ORPHAN = bpmn("inc_orphan", FIGURES + f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="review" name="专班研判" camunda:candidateGroups="task_force" />
<bpmn:endEvent id="e" />
{chain("s", "review", "e")}""", name="专班研判")


def test_a_stall_is_marked_handled_with_a_confirmation_not_a_data_form(world):
    from qihu.engine.runtime.stalls import StallCheck
    world.engine.repository.deploy([("inc_orphan.bpmn", ORPHAN)])
    iid = world.start("inc_orphan", "HZ-7", HZ)
    StallCheck(world.engine).run()                     # nobody is in task_force
    inc = world.incident_of(iid)
    assert inc["kind"] == "stall" and inc["can_resolve"] and not inc["can_retry"]
    c = world.client("boss")
    html = text(c.get("/admin/incidents"))
    row = re.search(r'<tr data-incident="%d".*?</tr>' % inc["id"], html, re.S).group(0)
    assert "案件无法继续流转：「专班研判」的候选组" in row and "案件无法继续流转：案件无法继续流转" not in row
    assert "标记为已处理" in row and 'name="data"' not in row and 'data-action="retry"' not in row
    assert 'name="incident"' not in row                 # not retryable: no box for the bulk retry
    r = post(c, f"/admin/incidents/{inc['id']}/retry")  # a crafted retry is refused in words
    assert flashes(text(c.get(r.headers["Location"]))) == ["重试未完成：这类异常不能这样处理。"]
    r = post(c, f"/admin/incidents/{inc['id']}/resolve")
    assert flashes(text(c.get(r.headers["Location"]))) == ["已将异常标记为已处理：专班研判"]
    assert world.engine.runtime.incidents(iid) == []


# -- the instance page -------------------------------------------------------------------------
def test_the_instance_page_shows_its_incidents_and_the_actions_to_administrators(world, three):
    iid = three["HZ-1"]
    html = text(world.client("boss").get(f"/instances/{iid}"))
    section = re.search(r'<section class="qh-panel qh-inst-incidents.*?</section>', html, re.S).group(0)
    assert "流程异常（1）" in section and "自动任务「推送省平台」执行失败：省平台无响应" in section
    assert "4 小时前" in section and 'data-action="retry"' in section and 'name="data"' in section
    inc = world.incident_of(iid)
    assert f'action="/admin/incidents/{inc["id"]}/retry"' in section
    assert f'name="next" value="/instances/{iid}"' in section
    # the retry from the instance page comes back to it, and the incident moves to the handled ones
    world.failing["test.push"] = False
    c = world.client("boss")
    r = post(c, f"/admin/incidents/{inc['id']}/retry", {"next": f"/instances/{iid}"}, page=f"/instances/{iid}")
    assert r.headers["Location"] == f"/instances/{iid}"
    html = text(c.get(r.headers["Location"]))
    assert "已重试「推送省平台」，流程继续办理" in html and "qh-inst-incidents " not in html
    assert 'data-past-incidents="1"' in html and "已处理的异常（1）" in html


def test_the_trail_says_the_failure_in_chinese_without_the_technical_message(world, three):
    texts = [e["text"] for e in appeals.of(world.engine).trail(three["HZ-2"])]
    assert "「短信告知企业」出错：无法连接对方系统" in texts
    assert not any("ConnectionError" in t or "sms gateway" in t for t in texts)


def test_a_participant_reads_the_incident_without_the_actions(world, three):
    html = text(world.client("clerk").get(f"/instances/{three['HZ-1']}"))
    assert "自动任务「推送省平台」执行失败：省平台无响应" in html
    assert 'data-action="retry"' not in html and "/admin/incidents/" not in html


def test_another_regions_administrator_gets_no_buttons_on_the_instance_page(world, three):
    html = text(world.client("hz_admin").get(f"/instances/{three['LS-1']}"))
    assert "执行失败" in html and 'data-action="retry"' not in html
    assert 'data-action="retry"' in text(world.client("hz_admin").get(f"/instances/{three['HZ-1']}"))


# -- the 晾晒 warning board ----------------------------------------------------------------------
def test_the_warning_board_lists_stalled_appeals_first_with_the_reason(world, three):
    calm = world.start("inc_calm", "HZ-9", HZ)
    world.clock.advance(days=3)
    from qihu.engine.runtime.worker import Worker
    Worker(world.engine).run_once()                      # the calm appeal's step turns red
    board = appeals.of(world.engine).figures.open_items(appeals.of(world.engine).dashboard_scope("leader"))
    keys = [b["business_key"] for b in board]
    assert set(keys[:3]) == {"HZ-1", "HZ-2", "LS-1"} and keys[3] == "HZ-9"
    assert [b["stalled"] for b in board] == [True, True, True, False]
    # the board is read in two bounded parts (stalled, then the rest): a short page is still in order
    figures, scope = appeals.of(world.engine).figures, appeals.of(world.engine).dashboard_scope("leader")
    assert [b["business_key"] for b in figures.open_items(scope, limit=2)] == keys[:2]
    assert [b["business_key"] for b in figures.open_items(scope, limit=4)] == keys[:4]
    by_key = {b["business_key"]: b for b in board}
    assert by_key["HZ-1"]["stall_reason"] == "自动任务「推送省平台」执行失败：省平台无响应"
    assert by_key["HZ-9"]["colour"] == "red"
    html = text(world.client("leader").get("/dashboard"))
    board_html = html.split('id="board"', 1)[1]
    assert re.findall(r'data-open-item="([^"]+)"', board_html)[3] == calm
    assert board_html.count("data-stall-reason") == 3 and "自动任务「短信告知企业」执行失败：无法连接对方系统" in board_html
    assert 'data-stalled="3"' in board_html and "无法流转" in board_html
    assert "前往异常处理" not in board_html                # the leader is no administrator
    assert "前往异常处理" in text(world.client("boss").get("/dashboard"))
    assert appeals.of(world.engine).figures.stalled_count(appeals.of(world.engine).dashboard_scope("leader")) == 3


# -- the sentences (qihu.appeals.incidents) ----------------------------------------------------
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


def incident(**kw):
    base = {"kind": "handler", "error_type": "RuntimeError", "message": "boom", "topic": "t.x", "element_id": "x"}
    return {**base, **kw}


def test_a_sentence_for_every_kind():
    assert said.sentence(incident(message="省平台无响应"), "推送省平台") == "自动任务「推送省平台」执行失败：省平台无响应"
    assert said.sentence(incident(error_type="TimeoutError", message="read timed out"), "推送") \
        == "自动任务「推送」执行失败：调用超时"
    assert said.sentence(incident(error_type="NameError", message="name 'enterprise_user' is not defined"),
                         "评价") == "自动任务「评价」执行失败：变量 enterprise_user 未定义"
    assert said.sentence(incident(error_type="WeirdError", message="x"), None) == "自动任务「t.x」执行失败：程序出错"
    assert said.sentence(incident(kind="delivery", message="no instance waits for 说不评议"), "说\"不\"评议") \
        == "消息投递给「说\"不\"评议」失败：程序出错"
    assert said.sentence(incident(kind="delivery", receiver="路桥区·说“不”评议", message="接收方流程未启用")) \
        == "消息投递给「路桥区·说“不”评议」失败：接收方流程未启用"
    cal = incident(kind="calendar", error_type="CalendarYearUnknown",
                   message="2027 年的法定节假日安排尚未公布或未导入 (calendar of 2027 is not announced/loaded): x")
    assert said.sentence(cal, "登记省级答复") == "2027 年工作日历尚未导入，「登记省级答复」的办理期限无法计算"
    assert said.sentence({**cal, "element_id": None}) == "2027 年工作日历尚未导入"
    assert said.sentence(incident(kind="script", error_type="ScriptTimeout", message="script ran over 2s"), "分类") \
        == "「分类」的脚本出错：运行超过时间上限"
    assert said.sentence(incident(kind="script", error_type="MemoryError", message=""), None) \
        == "脚本出错：占用内存超过上限"
    assert said.sentence(incident(kind="timer", error_type="ValueError", message="bad date"), "超期提醒") \
        == "定时「超期提醒」未能触发：数据格式有误"
    assert said.sentence(incident(kind="stall", error_type="Stalled",
                                  message="办理组 dept_x 没有在岗人员 (no active member in dept_x)")) \
        == "案件无法继续流转：办理组 dept_x 没有在岗人员"
    assert said.sentence(incident(kind="stall", error_type="NoWayForward", message="no open task")) \
        == "案件无法继续流转：没有待办环节、定时、待收消息或待投递的消息"
    assert set(said.KIND_NAMES) == {"handler", "delivery", "calendar", "script", "timer", "stall"}


def test_the_engines_own_sentences_are_not_said_twice():
    # a delivery: the engine names the receiving process; its typed cause is said in words
    delivery = incident(kind="delivery", error_type="CalendarYearUnknown", element_id="Task_review",
                        message="消息「说不评议」投递给「路桥区说“不”评议」（环节 Task_review）失败，已尝试 5 次："
                                "CalendarYearUnknown: 2027 年的法定节假日安排尚未公布或未导入 (calendar of 2027)")
    assert said.sentence(delivery, "评议") == "消息投递给「路桥区说“不”评议」失败：2027 年的法定节假日安排尚未公布或未导入"
    webhook = incident(kind="delivery", error_type="ConnectionError",
                       message="通知推送投递给失败，已尝试 5 次：ConnectionError: refused")
    assert said.sentence(webhook) == "通知推送失败：无法连接对方系统"
    # a stall: the worker's sentence already says 案件无法继续流转
    stall = incident(kind="stall", error_type="Stalled",
                     message="案件无法继续流转：「部门办理」的候选组（dept_x）没有在岗成员，无人能看到这项待办")
    assert said.sentence(stall) == "案件无法继续流转：「部门办理」的候选组（dept_x）没有在岗成员，无人能看到这项待办"
    # the trail's events
    assert said.plain("RuntimeError: 省平台无响应") == "省平台无响应"
    assert said.plain("ConnectionError: connection refused by 10.0.0.8") == "无法连接对方系统"
    assert said.plain("消息「X」投递给「Y」失败，已尝试 3 次：TimeoutError: timed out") \
        == "消息「X」投递给「Y」失败，已尝试 3 次：调用超时"
    assert said.plain("案件无法继续流转：没有待办任务") == "案件无法继续流转：没有待办任务"


def test_chinese_part_drops_the_english_aside_and_clips():
    assert said.chinese_part("无权查看 (forbidden: x)") == "无权查看"
    assert said.chinese_part("plain English") is None
    assert said.chinese_part("接口超时 #1") == "接口超时 #1"
    assert len(said.chinese_part("很长" * 100)) == said.MAX_CAUSE


@pytest.mark.parametrize("ago, words", [
    (timedelta(seconds=20), "刚刚"), (timedelta(minutes=5), "5 分钟前"), (timedelta(hours=3, minutes=59), "3 小时前"),
    (timedelta(days=2, hours=5), "2 天前"), (timedelta(seconds=-30), "刚刚")])
def test_ages_as_people_say_them(ago, words):
    assert said.age_text((NOW - ago).isoformat(), NOW) == words
