"""The instance page (/instances/<id>), its diagram data (diagram.json) and attachment downloads
(/attachments/<id>): who may see them, what the diagram marks as done and current, the audit
trail in plain Chinese, download headers, escaping. On SQLite and PostgreSQL.
"""
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from qihu import appeals
from qihu.engine.topics import HandlerRegistry
from qihu.web.app import create_app
from qihu.web.i18n import EN

from tests.bpmn_util import bpmn, chain, flow
from tests.scenario import Scenario
from tests.web_util import BASIC, PASSWORD, add_people, sign_in

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"

WAIT = bpmn("wait_then_check", f"""
<bpmn:startEvent id="s" />
<bpmn:intermediateCatchEvent id="cool_off" name="冷静期">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:userTask id="check" name="回访核实" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "cool_off", "check", "e")}""", name="冷静期回访")

PARALLEL = bpmn("joint_check", f"""
<bpmn:startEvent id="s" />
<bpmn:parallelGateway id="fork" />
<bpmn:userTask id="a" name="部门甲会签" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="b" name="部门乙会签" camunda:candidateGroups="acceptor" />
<bpmn:parallelGateway id="join" />
<bpmn:subProcess id="sub" name="复核">
  <bpmn:startEvent id="ss" /><bpmn:userTask id="inner" name="复核材料" camunda:candidateGroups="acceptor" />
  <bpmn:endEvent id="se" />{chain("ss", "inner", "se")}
</bpmn:subProcess>
<bpmn:endEvent id="e" />
{chain("s", "fork")}{flow("fa", "fork", "a")}{flow("fb", "fork", "b")}{flow("aj", "a", "join")}{flow("bj", "b", "join")}
{chain("join", "sub", "e")}""", name="会签")

CALLER = bpmn("caller", f"""
<bpmn:startEvent id="s" />
<bpmn:callActivity id="call" name="转交县区办理" calledElement="county" />
<bpmn:endEvent id="e" />
{chain("s", "call", "e")}""", name="转办")
COUNTY = bpmn("county", f"""
<bpmn:startEvent id="cs" />
<bpmn:userTask id="e" name="县区办理" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="ce" />
{chain("cs", "e", "ce")}""", name="县区")

FAILING = bpmn("failing_step", f"""
<bpmn:startEvent id="s" />
<bpmn:serviceTask id="push" name="推送省平台" camunda:type="external" camunda:topic="test.push" />
<bpmn:endEvent id="e" />
{chain("s", "push", "e")}""", name="推送")


@pytest.fixture
def app(engine):
    add_people(engine)
    engine.accounts.add_user("boss", PASSWORD, display_name="管理员", is_admin=True)
    engine.accounts.add_user("out", PASSWORD, display_name="外单位", groups=["elsewhere"])
    engine.repository.deploy([BASIC])
    engine.repository.deploy([("wait.bpmn", WAIT)])
    engine.repository.deploy([("joint.bpmn", PARALLEL)])
    return create_app(engine=engine, config={"TESTING": True})


def client_for(app, name):
    c = app.test_client()
    assert sign_in(c, name).status_code == 302
    return c


def ready(engine, iid, element):
    [t] = [t for t in engine.tasks.list(instance_id=iid) if t["element_id"] == element]
    return t


def accept(engine, iid, category="policy", summary="用地指标迟迟未落实"):
    engine.tasks.complete(ready(engine, iid, "Task_accept")["id"], "li", {"category": category, "summary": summary})


def diagram(client, iid):
    r = client.get(f"/instances/{iid}/diagram.json")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/json"
    return r.get_json()


# -- who may see it --------------------------------------------------------------------------

def test_anonymous_callers_are_sent_to_sign_in(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    att = engine.uploads.add(iid, "材料.pdf", PDF, "li")["id"]
    c = app.test_client()
    for url in (f"/instances/{iid}", f"/instances/{iid}/diagram.json", f"/attachments/{att}"):
        r = c.get(url)
        assert r.status_code == 302, url
        assert r.headers["Location"].startswith("/login?next=") and quote(url, safe="/") in r.headers["Location"], url


def test_wrong_group_gets_403_everywhere(app, engine):
    iid = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="HZ-1")
    att = engine.uploads.add(iid, "材料.pdf", PDF, "li")["id"]
    out = client_for(app, "out")
    r = out.get(f"/instances/{iid}")
    assert r.status_code == 403
    html = r.get_data(as_text=True)
    assert "没有权限" in html and "某公司" not in html and "HZ-1" not in html
    r = out.get(f"/instances/{iid}/diagram.json")
    assert r.status_code == 403 and r.get_json() == {"error": "forbidden"}
    r = out.get(f"/attachments/{att}")
    assert r.status_code == 403 and PDF not in r.data
    # the department sees it only once the appeal is routed to one of its groups
    wang = client_for(app, "wang")
    assert wang.get(f"/instances/{iid}").status_code == 403
    accept(engine, iid, "policy")
    assert wang.get(f"/instances/{iid}").status_code == 200


def test_involved_user_and_admin_see_the_page(app, engine):
    iid = engine.runtime.start("appeal_basic", {"企业名称": "湖州某新材料有限公司"}, business_key="HZ-2026-001",
                               user="li", region="湖州市")
    for name in ("li", "boss"):
        r = client_for(app, name).get(f"/instances/{iid}")
        assert r.status_code == 200, name
        html = r.get_data(as_text=True)
        assert "通用企业诉求办理" in html and "HZ-2026-001" in html and "湖州某新材料有限公司" in html
        assert "湖州市" in html and "李受理" in html and "办理中" in html          # region, started by, status
        assert "2026-11-02 09:00" in html                                       # started at, Beijing time
        assert f'data-src="/instances/{iid}/diagram.json"' in html
        assert "<script>" not in html.replace("<script src=", "")              # no inline script
        assert re.search(r'<script src="/qihu-static/vendor/bpmn-js/bpmn-navigated-viewer\.production\.min\.js"', html)
    html = client_for(app, "li").get(f"/instances/{iid}").get_data(as_text=True)
    tid = ready(engine, iid, "Task_accept")["id"]
    assert f'href="/tasks/{tid}"' in html                                      # li may open the task
    html = client_for(app, "boss").get(f"/instances/{iid}").get_data(as_text=True)
    assert "受理登记" in html and f'href="/tasks/{tid}"' not in html            # not the admin's task: no dead link


def test_unknown_instance_and_attachment_are_404(app, engine):
    li = client_for(app, "li")
    r = li.get("/instances/no-such-instance")
    assert r.status_code == 404 and "没有找到该流程实例" in r.get_data(as_text=True)
    r = li.get("/instances/no-such-instance/diagram.json")
    assert r.status_code == 404 and r.get_json() == {"error": "not found"}
    r = li.get("/attachments/999999")
    assert r.status_code == 404 and "没有找到该附件" in r.get_data(as_text=True)
    assert li.get("/attachments/abc").status_code == 404
    assert client_for(app, "boss").get("/instances/no-such-instance").status_code == 404


# -- what the diagram marks -----------------------------------------------------------------

def test_appeal_basic_before_and_after_a_step(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    li = client_for(app, "li")
    d = diagram(li, iid)
    assert d["process_key"] == "appeal_basic" and d["has_diagram"] and d["file"] == "appeal_basic.bpmn"
    # a participant gets the drawing alone (issue 16: the XML is for administrators, tests/web/test_exposure.py)
    from qihu.web.pages.instance import drawing_only
    whole = (ROOT / "bpmn" / "appeal_basic.bpmn").read_text(encoding="utf-8")
    assert d["xml"] == drawing_only(whole)
    assert diagram(client_for(app, "boss"), iid)["xml"] == whole
    assert d["completed"] == ["Flow_submit_accept", "StartEvent_submit"]
    assert d["active"] == ["Task_accept"] and d["waiting"] == [] and d["incidents"] == []

    accept(engine, iid, "policy")
    d = diagram(li, iid)
    assert d["completed"] == ["Flow_accept_route", "Flow_route_handle", "Flow_submit_accept", "StartEvent_submit",
                              "Task_accept", "Task_route"]
    assert d["flows"] == ["Flow_accept_route", "Flow_route_handle", "Flow_submit_accept"]
    assert d["active"] == ["Task_handle"]
    assert d["waiting"] == ["Event_handle_overdue"]          # the 5-day reminder timer is armed


def test_boundary_timer_fires_and_the_task_stays_current(app, engine, clock):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    accept(engine, iid, "policy")
    clock.set(clock.now() + timedelta(days=5, minutes=1))
    Scenario(engine, clock).worker.run_once()
    d = engine.history.diagram(iid)
    assert {"Event_handle_overdue", "Task_remind", "EndEvent_reminded", "Flow_overdue_remind",
            "Flow_remind_end"} <= set(d["completed"])
    assert d["active"] == ["Task_handle"]
    assert "Event_handle_overdue" not in d["waiting"]
    lines = [e["text"] for e in appeals.of(engine).trail(iid)]
    assert "「超期5天」定时到期" in lines and "完成「催办提醒」" in lines and "到达「提醒已发送」" in lines


def test_waiting_intermediate_timer_is_the_current_token(app, engine, clock):
    iid = engine.runtime.start("wait_then_check", {})
    d = engine.history.diagram(iid)
    assert not d["has_diagram"]                              # a diagram without DI: the page says so
    assert d["active"] == ["cool_off"] and d["completed"] == ["f_s_cool_off", "s"]
    clock.set(clock.now() + timedelta(hours=3))
    Scenario(engine, clock).worker.run_once()
    d = engine.history.diagram(iid)
    assert d["active"] == ["check"]
    assert d["completed"] == ["cool_off", "f_cool_off_check", "f_s_cool_off", "s"]
    assert "「冷静期」定时到期" in [e["text"] for e in appeals.of(engine).trail(iid)]


def test_parallel_join_and_subprocess(app, engine):
    iid = engine.runtime.start("joint_check", {})
    d = engine.history.diagram(iid)
    assert d["active"] == ["a", "b"] and d["completed"] == ["f_s_fork", "fa", "fb", "fork", "s"]
    engine.tasks.complete(ready(engine, iid, "a")["id"], "li", {})
    d = engine.history.diagram(iid)
    # a token waits at the join for the other branch; a's flow into it is taken, b's not yet
    assert d["active"] == ["b", "join"]
    assert "aj" in d["flows"] and "bj" not in d["flows"]
    engine.tasks.complete(ready(engine, iid, "b")["id"], "li", {})
    d = engine.history.diagram(iid)
    # inside a subprocess both the subprocess and its current step are current
    assert d["active"] == ["inner", "sub"]
    assert {"aj", "bj", "join", "f_join_sub", "ss", "f_ss_inner"} <= set(d["completed"])
    engine.tasks.complete(ready(engine, iid, "inner")["id"], "li", {})
    d = engine.history.diagram(iid)
    assert d["status"] == "completed" and d["active"] == [] and d["waiting"] == []
    assert {"sub", "inner", "se", "e", "f_sub_e"} <= set(d["completed"])


def test_call_activity_is_current_while_the_called_process_runs(app, engine):
    """The called process lives in another file: its steps are not drawn here, the call activity
    stands for them (its own ids may even clash with this file's: county's user task is `e`)."""
    engine.repository.deploy([("caller.bpmn", CALLER), ("county.bpmn", COUNTY)])
    iid = engine.runtime.start("caller", {})
    d = engine.history.diagram(iid)
    assert d["active"] == ["call"] and d["completed"] == ["f_s_call", "s"]
    assert "e" not in d["active"]
    engine.tasks.complete(ready(engine, iid, "e")["id"], "li", {})
    d = engine.history.diagram(iid)
    assert d["status"] == "completed" and d["active"] == []
    assert {"call", "e", "f_call_e", "f_s_call", "s"} <= set(d["completed"])


def test_cancelled_instance_has_no_current_step(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    accept(engine, iid, "policy")
    engine.runtime.cancel(iid, user="boss", reason="企业撤回诉求")
    d = engine.history.diagram(iid)
    assert d["status"] == "cancelled" and d["active"] == [] and d["waiting"] == []
    assert "Task_accept" in d["completed"] and "Task_handle" not in d["completed"]
    trail = appeals.of(engine).trail(iid)
    assert [(e["who"], e["text"]) for e in trail[-2:]] == [("管理员", "撤销流程，原因：企业撤回诉求"),
                                                           ("系统", "「部门办理」已撤销")]
    html = client_for(app, "boss").get(f"/instances/{iid}").get_data(as_text=True)
    assert "已撤销" in html and "没有待办环节" in html


def test_returned_task_reassignment_and_comments_in_trail_and_diagram(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    accept(engine, iid, "other")
    engine.accounts.add_user("wang2", PASSWORD, display_name="王二", groups=["dept_general"])
    handle = ready(engine, iid, "Task_handle")
    engine.comments.add(iid, "wang", "已联系企业核实", task_id=handle["id"], public=True)
    engine.handoff.reassign(handle["id"], "wang", "wang2", note="请王二跟进")
    engine.handoff.return_task(handle["id"], "wang2", "不属于本部门职责")
    d = engine.history.diagram(iid)
    assert d["active"] == ["Task_accept"]                    # back at the dispatcher
    assert "Task_handle" not in d["completed"] and "Task_accept" in d["completed"]
    texts = [(e["who"], e["text"]) for e in appeals.of(engine).trail(iid)]
    assert ("王部门", "在「部门办理」发表意见（企业可见）") in texts
    assert ("王部门", "将「部门办理」转交王二，说明：请王二跟进") in texts
    assert ("王二", "退回「部门办理」，理由：不属于本部门职责") in texts
    assert texts[-1][1].startswith("「受理登记」待受理员办理")


def test_loop_back_marks_only_the_flows_taken(app, engine):
    """不能办 → 督查复核 rejects → 部门办理 again → 已解决: the flow from the review gateway to 答复企业
    was never taken although both its ends ran."""
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    accept(engine, iid, "policy")
    engine.tasks.complete(ready(engine, iid, "Task_handle")["id"], "wang", {"result": "cannot", "reply": "不能办"})
    engine.tasks.complete(ready(engine, iid, "Task_review")["id"], "zhao", {"approved": False, "opinion": "重办"})
    d = engine.history.diagram(iid)
    assert d["active"] == ["Task_handle"] and "Task_handle" in d["completed"]   # done once, current again
    assert {"Flow_result_cannot", "Flow_review_gateway", "Flow_review_rejected"} <= set(d["flows"])
    engine.tasks.complete(ready(engine, iid, "Task_handle")["id"], "wang", {"result": "solved", "reply": "已解决"})
    d = engine.history.diagram(iid)
    assert d["active"] == ["Task_rate"]
    assert "Flow_result_other" in d["flows"] and "Flow_review_approved" not in d["flows"]


def test_huzhou_board_steps(make_engine, clock):
    engine = make_engine()
    sc = Scenario(engine, clock, "bpmn/huzhou_joint_meeting.bpmn", "bpmn/huzhou_boards.dmn",
                  members={"zhou": "hz_centre", "kc": "hz_board_innovation", "zh": "hz_board_general",
                           "dd": "hz_board_fallback"})
    iid = sc.start("huzhou_joint_meeting", {"enterprise_user": "ent_a"}, business_key="HZ-2026-001")
    assert engine.history.diagram(iid)["active"] == ["Task_register"]
    sc.complete(iid, "Task_register", "zhou", {"company": "湖州某新材料有限公司", "summary": "配套企业对接难",
                                               "category": "innovation", "channel": "hotline"})
    d = engine.history.diagram(iid)
    assert d["active"] == ["Task_board_handle"] and d["waiting"] == ["Event_board_overdue"]
    assert {"Task_register", "Task_pick_board", "Flow_register_pick", "Flow_pick_handle"} <= set(d["completed"])
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "unsolved", "board_reply": "需多部门协调"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "汇总流转兜底板块"})
    d = engine.history.diagram(iid)
    assert d["active"] == ["Task_fallback_handle"] and d["waiting"] == []
    assert {"Task_board_handle", "Gateway_board_solved", "Flow_board_unsolved", "Task_collect",
            "Flow_collect_fallback"} <= set(d["completed"])
    assert "Flow_board_solved" not in d["completed"] and "Task_reply" not in d["completed"]
    trail = appeals.of(engine).trail(iid)
    texts = [e["text"] for e in trail]
    assert "「一般问题板块办」待服务板块牵头部门办理，期限 11月9日 09:00" in texts    # deadline_text
    assert "办结「一般问题板块办」" in texts
    assert [e["who"] for e in trail if e["text"] == "办结「一般问题板块办」"] == ["kc"]   # no account: the name
    assert {e["who"] for e in trail if e["type"] in ("task_created", "element_completed")} == {"系统"}


def test_incident_is_current_and_listed(make_engine):
    handlers = HandlerRegistry()

    def push():
        raise RuntimeError("省平台无响应")
    handlers.register("test.push", push)
    engine = make_engine(handlers=handlers, handler_retries=0)
    engine.repository.deploy([("failing.bpmn", FAILING)])
    iid = engine.runtime.start("failing_step", {})
    d = engine.history.diagram(iid)
    assert d["active"] == ["push"]
    [inc] = d["incidents"]
    assert inc["element_id"] == "push" and inc["name"] == "推送省平台" and "省平台无响应" in inc["message"]
    assert "「推送省平台」出错：省平台无响应" in [e["text"] for e in appeals.of(engine).trail(iid)]


# -- trail, files, escaping -----------------------------------------------------------------

def test_trail_in_plain_chinese(app, engine, clock):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1", user="li")
    t = ready(engine, iid, "Task_accept")
    engine.tasks.claim(t["id"], "li")
    clock.set(clock.now() + timedelta(minutes=30))
    accept(engine, iid, "policy")
    lines = [e["line"] for e in appeals.of(engine).trail(iid)]
    assert lines == [
        "2026-11-02 09:00 李受理 发起流程，业务编号 HZ-1",
        "2026-11-02 09:00 系统 「受理登记」待受理员办理，期限 11月3日 09:00",        # 1 working day
        "2026-11-02 09:00 李受理 认领「受理登记」",
        "2026-11-02 09:30 李受理 办结「受理登记」",
        "2026-11-02 09:30 系统 完成「分派承办部门」",
        "2026-11-02 09:30 系统 「部门办理」待承办部门办理，期限 11月5日 09:30",      # 政策咨询: 3 working days
    ]
    html = client_for(app, "li").get(f"/instances/{iid}").get_data(as_text=True)
    assert '<time datetime="' in html and "认领「受理登记」" in html and "2026-11-02 09:30" in html


def test_attachment_download_headers(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    name = "情况说明 (终稿);\"x\".pdf"
    att = engine.uploads.add(iid, name, PDF, "li")
    li = client_for(app, "li")
    html = li.get(f"/instances/{iid}").get_data(as_text=True)
    assert f'href="/attachments/{att["id"]}"' in html and "上传材料" in html
    r = li.get(f"/attachments/{att['id']}")
    assert r.status_code == 200 and r.data == PDF
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(att['name'], safe='')}" in cd
    fallback = re.search(r'filename="([^"]*)"', cd).group(1)
    assert fallback.isascii() and fallback.endswith(".pdf") and ";" not in fallback and '"' not in fallback
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert client_for(app, "boss").get(f"/attachments/{att['id']}").status_code == 200


def test_letters_ledger_and_notifications_are_listed(make_engine, clock):
    engine = make_engine()
    sc = Scenario(engine, clock, "bpmn/huzhou_joint_meeting.bpmn", "bpmn/huzhou_boards.dmn",
                  members={"zhou": "hz_centre", "kc": "hz_board_innovation", "zh": "hz_board_general",
                           "dd": "hz_board_fallback"})
    engine.accounts.add_user("zhou2", PASSWORD, groups=["hz_centre"])
    iid = sc.start("huzhou_joint_meeting", {"enterprise_user": "ent_a"}, business_key="HZ-2026-009")
    sc.complete(iid, "Task_register", "zhou", {"company": "湖州某公司", "summary": "摘要", "category": "innovation",
                                               "channel": "talks"})
    sc.complete(iid, "Task_board_handle", "kc", {"board_result": "unsolved", "board_reply": "无法解决"})
    sc.complete(iid, "Task_collect", "zh", {"collect_note": "流转"})
    sc.complete(iid, "Task_fallback_handle", "dd", {"fallback_result": "unsolved", "fallback_reply": "上会"})
    sc.complete(iid, "Task_prepare_agenda", "zhou", {"agenda_title": "议题甲", "agenda_content": "内容",
                                                     "invite_enterprise": True})
    records = appeals.of(engine).records(iid)
    assert records["ledger"] and records["notifications"]
    c = create_app(engine=engine, config={"TESTING": True}).test_client()
    assert sign_in(c, "zhou2").status_code == 302
    html = c.get(f"/instances/{iid}").get_data(as_text=True)
    assert "联席会议议题" in html and "议题甲" in html                  # the ledger line, its kind in Chinese
    assert "联席会议参会邀请" in html and "ent_a" in html               # the notification and its recipient


def test_related_instances_of_the_same_appeal_are_linked(app, engine):
    first = engine.runtime.start("appeal_basic", {}, business_key="HZ-7", user="li")
    second = engine.runtime.start("wait_then_check", {}, business_key="HZ-7", user="li")
    hidden = engine.runtime.start("wait_then_check", {}, business_key="HZ-7", user="out")
    html = client_for(app, "li").get(f"/instances/{first}").get_data(as_text=True)
    assert "关联流程" in html and f'href="/instances/{second}"' in html and "冷静期回访" in html
    assert f'href="/instances/{hidden}"' not in html            # not li's to see
    assert f'href="/instances/{first}"' not in html


def test_user_text_is_escaped(app, engine):
    key = "<script>alert(1)</script>"
    iid = engine.runtime.start("appeal_basic", {"企业名称": "<b>恶意</b>", "summary": "<img src=x onerror=alert(2)>"},
                               business_key=key)
    engine.uploads.add(iid, "<svg onload=alert(3)>.txt", "说明".encode(), "li")
    html = client_for(app, "li").get(f"/instances/{iid}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>恶意</b>" not in html and "&lt;b&gt;恶意&lt;/b&gt;" in html
    assert "<img src=x" not in html and "<svg onload" not in html
    assert html.count("&lt;script&gt;alert(1)") >= 3                # title, header, facts and trail


def test_task_page_links_to_the_instance(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1")
    html = client_for(app, "li").get(f"/tasks/{ready(engine, iid, 'Task_accept')['id']}").get_data(as_text=True)
    assert f'href="/instances/{iid}"' in html


def test_english_page_and_every_text_translated(app, engine):
    iid = engine.runtime.start("appeal_basic", {}, business_key="HZ-1", user="li")
    html = client_for(app, "li").get(f"/instances/{iid}?lang=en").get_data(as_text=True)
    assert "Process diagram" in html and "Audit trail" in html and "Current step" in html
    texts = set(re.findall(r'_\(\s*"([^"]+)"', (ROOT / "web" / "templates" / "instance.html").read_text("utf-8")))
    texts |= set(re.findall(r"_\(\s*'([^']+)'", (ROOT / "web" / "templates" / "instance.html").read_text("utf-8")))
    texts |= set(re.findall(r'_\("([^"]+)"', (ROOT / "web" / "pages" / "instance.py").read_text("utf-8")))
    from qihu.appeals.trail import STATUS_NAMES
    from qihu.web.pages.instance import KIND_NAMES
    texts |= set(STATUS_NAMES.values()) | set(KIND_NAMES.values())
    assert sorted(texts - set(EN)) == []
