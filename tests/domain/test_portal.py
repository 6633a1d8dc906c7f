"""The enterprise portal: appeals submitted without an account (appeals.of(engine).portal, web/pages/portal.py).

Engine half: the unified social credit code and phone checks, submit (everything checked
first, the instance, its ticket and files written together or not at all), the private
token (only its hash kept, nowhere else), progress (what the enterprise may see and nothing
internal) and rating (only the enterprise's own open steps; a bad rating reopens the appeal
for 二次督办). Web half: the pages, CSRF, escaping, the link shown once, 404 that says
nothing, and the staff UI that never sees a token. Every test runs on SQLite and PostgreSQL.
"""
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from qihu import appeals
from qihu.appeals.portal import (CREDIT_CHARS, CREDIT_WEIGHTS, ORG_WEIGHTS, CreditCodeError, validate_credit_code,
                            validate_phone)
from qihu.engine.errors import Forbidden, NotFound, ValidationFailed
from qihu.engine.storage.models import Attachment, Base, HistoryEvent, Instance, Task, TaskComment
from qihu.appeals.models import AppealTicket
from tests.bpmn_util import bpmn, chain
from tests.web_util import add_people, post_form, sign_in, token as csrf_of
from qihu.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
BASIC = ROOT / "bpmn" / "appeal_basic.bpmn"
HUZHOU = [ROOT / "bpmn" / "huzhou_joint_meeting.bpmn", ROOT / "bpmn" / "huzhou_boards.dmn"]
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64

# Real, published codes (business licences on public record), each checked by both check digits.
REAL_CODES = [
    "914403001922038216",   # 华为技术有限公司
    "9144030071526726XG",   # 腾讯科技（深圳）有限公司
    "91330100799655058B",   # 阿里巴巴（中国）有限公司
    "91110000710925462X",   # 中国石油天然气股份有限公司
    "91110108551385082Q",   # 小米科技有限责任公司
    "12100000400000624D",   # a central public institution (机构编制, 事业单位, region 100000)
    "53100000500021676K",   # a national foundation (民政, 基金会)
]
ENTERPRISE_STARTS = b'isExecutable="true" camunda:candidateStarterGroups="enterprise"'
GOOD = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
        "contact_phone": "13812345678", "category": "policy", "summary": "新厂房用地指标迟迟未落实，影响投产"}


def with_checks(first17):
    """A code with the right final check character for its first 17 characters."""
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS))
    return first17 + CREDIT_CHARS[(31 - total % 31) % 31]


def with_org_check(first16):
    """The first 17 characters with a correct GB 11714 organisation-code check digit."""
    org = first16[8:16]
    body = sum((int(ch) if ch.isdigit() else ord(ch) - 55) * w for ch, w in zip(org, ORG_WEIGHTS))
    return first16 + {10: "X", 11: "0"}.get(11 - body % 11, str(11 - body % 11))


def submit(engine, files=(), **changes):
    fields = {**GOOD, **changes}
    key = fields.pop("definition", "appeal_basic")
    return appeals.of(engine).portal.submit(key, fields["company"], fields["credit_code"], fields["contact_name"],
                                 fields["contact_phone"], fields["category"], fields["summary"], files=files)


def counts(engine):
    with engine.db.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Instance, Task, AppealTicket, Attachment, HistoryEvent)}


@pytest.fixture
def portal(engine):
    engine.repository.deploy([BASIC])
    engine.repository.deploy(HUZHOU)
    for user, groups in {"li": ["acceptor"], "wang": ["dept_policy", "dept_general"], "zhao": ["supervisor"],
                         "zhou": ["hz_centre"], "du": ["hz_supervision"]}.items():
        engine.tasks.add_member(user, *groups)
    return engine


def one_task(engine, iid):
    [t] = engine.tasks.list(instance_id=iid)
    return t


def handle(engine, iid, reply="已协调自然资源部门落实用地指标", result="solved"):
    """Staff accept, the department handles and replies: the enterprise's rating step is open."""
    t = one_task(engine, iid)
    if t["element_id"] == "Task_accept":
        engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "用地指标未落实"})
        t = one_task(engine, iid)
    assert t["element_id"] == "Task_handle"
    engine.tasks.complete(t["id"], "wang", {"result": result, "reply": reply})
    t = one_task(engine, iid)
    assert t["element_id"] == "Task_rate"
    return t


# -- unified social credit code ------------------------------------------------------------------
@pytest.mark.parametrize("code", REAL_CODES)
def test_real_credit_codes_pass(code):
    assert validate_credit_code(code) == code


def test_credit_code_is_uppercased_and_spaces_are_dropped():
    assert validate_credit_code(" 9144 0300 7152 6726xg ") == "9144030071526726XG"
    assert validate_credit_code("９１３３０１００７９９６５５０５８Ｂ") == "91330100799655058B"   # full-width digits


def mutate(code, pos, ch):
    return code[:pos] + ch + code[pos + 1:]


@pytest.mark.parametrize("code,rule", [
    ("", "请填写"),
    ("91330100799655058", "应为18位，现为17位"),
    ("91330100799655058BB", "应为18位，现为19位"),
    (mutate("91330100799655058B", 10, "I"), "不允许的字符 I"),
    (mutate("91330100799655058B", 10, "O"), "不允许的字符 O"),
    (mutate("91330100799655058B", 10, "Z"), "不允许的字符 Z"),
    (mutate("91330100799655058B", 10, "S"), "不允许的字符 S"),
    (mutate("91330100799655058B", 17, "V"), "不允许的字符 V"),
    ("91330100799655058!", "不允许的字符 !"),
    ("91330100799655058C", "第18位校验码不正确"),
    ("91330100799655058A", "第18位校验码不正确"),
    (with_checks("B" + "1330100799655058"), "第1位登记管理部门代码 B 无效"),
    (with_checks("95330100799655058"), "第2位机构类别代码 5 与登记管理部门（市场监管（工商））不符"),
    (with_checks("91990100799655058"), "第3-8位登记管理机关行政区划码 990100 无效"),
    (with_checks("91330100799655050"), "第9-17位组织机构代码校验位不正确"),
])
def test_bad_credit_codes_say_which_rule_fails(code, rule):
    with pytest.raises(CreditCodeError) as e:
        validate_credit_code(code)
    assert rule in str(e.value)
    assert re.search(r"\([a-z].*\)$", str(e.value)), "the message carries an English part"


def test_generated_codes_pass_both_checks():
    code = with_checks(with_org_check("91330502MA2B7K3J"))
    assert validate_credit_code(code) == code == "91330502MA2B7K3J8J"


# -- phone -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,clean", [("13812345678", "13812345678"), ("138 1234 5678", "13812345678"),
                                       ("+86 138-1234-5678", "13812345678"), ("0572-2345678", "0572-2345678"),
                                       ("010-62345678", "010-62345678"), ("(0572) 2345678-123", "05722345678-123")])
def test_good_phones(raw, clean):
    assert validate_phone(raw) == clean


@pytest.mark.parametrize("raw", ["", "12812345678", "1381234567", "138123456789", "2345678", "0572-1234567",
                                 "phone", "13812345678; drop table"])
def test_bad_phones(raw):
    with pytest.raises(ValueError) as e:
        validate_phone(raw)
    assert "电话" in str(e.value) or "手机" in str(e.value)


# -- submit ------------------------------------------------------------------------------------------
def test_submit_starts_the_appeal_with_its_ticket_and_files(portal):
    engine = portal
    made = submit(engine, files=[("用地申请.pdf", PDF), ("现场.png", PNG)])
    no, tok = made["tracking_no"], made["token"]
    assert re.fullmatch(r"QH20261102-[34679ACDEFGHJKMNPQRTWXY]{6}", no)     # Beijing date of the clock
    assert len(tok) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", tok)          # 32 random bytes
    instance = engine.runtime.get(made["instance_id"])
    assert instance["business_key"] == no and instance["started_by"] == f"qiye:{no}"
    data = engine.runtime.data(made["instance_id"])
    assert {k: data[k] for k in ("企业名称", "company", "credit_code", "contact_name", "contact_phone", "category",
                                 "summary", "channel", "enterprise_user")} == {
        "企业名称": "湖州某新材料有限公司", "company": "湖州某新材料有限公司", "credit_code": "91330100799655058B",
        "contact_name": "张经理", "contact_phone": "13812345678", "category": "policy",
        "summary": "新厂房用地指标迟迟未落实，影响投产", "channel": "企业自主提交", "enterprise_user": f"qiye:{no}"}
    t = one_task(engine, made["instance_id"])
    assert t["element_id"] == "Task_accept" and t["candidate_groups"] == ["acceptor"]
    files = engine.uploads.list(made["instance_id"])
    assert [(f["name"], f["content_type"], f["created_by"]) for f in files] == [
        ("用地申请.pdf", "application/pdf", f"qiye:{no}"), ("现场.png", "image/png", f"qiye:{no}")]
    with engine.db.read() as s:
        ticket = s.scalars(select(AppealTicket)).one()
    assert ticket.token_hash == hashlib.sha256(tok.encode()).hexdigest()
    assert (ticket.tracking_no, ticket.instance_id, ticket.definition_key, ticket.credit_code) == \
        (no, made["instance_id"], "appeal_basic", "91330100799655058B")
    assert appeals.of(engine).portal.by_token(tok)["tracking_no"] == no


def test_the_token_is_kept_nowhere(portal):
    engine = portal
    made = submit(engine, files=[("a.pdf", PDF)])
    handle(engine, made["instance_id"])
    appeals.of(engine).portal.rate(made["token"], one_task(engine, made["instance_id"])["id"],
                        {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    with engine.db.read() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                dump = json.dumps([str(v) for v in row], ensure_ascii=False)
                assert made["token"] not in dump, f"the token is stored in {table.name}"


def test_huzhou_appeals_belong_to_the_city(portal):
    engine = portal
    made = submit(engine, definition="huzhou_joint_meeting", category="investment")
    assert engine.runtime.get(made["instance_id"])["region"] == "湖州市"
    t = one_task(engine, made["instance_id"])
    assert (t["element_id"], t["candidate_groups"], t["region"]) == ("Task_register", ["hz_centre"], "湖州市")
    choices = {d["key"]: d for d in appeals.of(engine).portal.portal_definitions()}
    assert choices["huzhou_joint_meeting"]["region"] == "湖州市"
    assert [o["id"] for o in choices["huzhou_joint_meeting"]["categories"]][:2] == ["innovation", "finance"]
    assert [o["id"] for o in choices["appeal_basic"]["categories"]] == ["policy", "resource", "approval", "other"]


@pytest.mark.parametrize("changes,field", [
    ({"company": ""}, "company"), ({"company": "  甲 "}, "company"), ({"company": "某" * 101}, "company"),
    ({"credit_code": "91330100799655058A"}, "credit_code"), ({"credit_code": ""}, "credit_code"),
    ({"contact_name": ""}, "contact_name"), ({"contact_phone": "12345"}, "contact_phone"),
    ({"category": ""}, "category"), ({"category": "天气"}, "category"),
    ({"summary": ""}, "summary"), ({"summary": "太短了"}, "summary"), ({"summary": "长" * 2001}, "summary"),
    ({"definition": "no_such_process"}, "definition"),
])
def test_each_bad_field_is_named_and_nothing_is_written(portal, changes, field):
    engine = portal
    before = counts(engine)
    with pytest.raises(ValidationFailed) as e:
        submit(engine, **changes)
    assert field in e.value.errors and e.value.errors[field]
    assert "appeal not submitted" in str(e.value)
    assert counts(engine) == before


def test_all_errors_at_once(portal):
    with pytest.raises(ValidationFailed) as e:
        appeals.of(portal).portal.submit("appeal_basic", "", "X", "", "", "", "", files=[("a.exe", EXE)])
    assert set(e.value.errors) == {"company", "credit_code", "contact_name", "contact_phone", "category", "summary",
                                   "files"}


def test_a_process_enterprises_may_not_start_is_refused(engine):
    engine.repository.deploy([("internal.bpmn", bpmn("internal_only", f"""
<bpmn:startEvent id="s" /><bpmn:userTask id="t" name="内部办理" camunda:candidateGroups="acceptor" />
<bpmn:endEvent id="e" />
{chain("s", "t", "e")}""", name="内部流程"))])
    assert appeals.of(engine).portal.portal_definitions() == []
    with pytest.raises(ValidationFailed) as e:
        submit(engine, definition="internal_only")
    assert "definition" in e.value.errors
    assert counts(engine)["instance"] == 0


@pytest.mark.parametrize("files,says", [
    ([("a.exe", EXE)], "不支持的文件类型 .exe"),
    ([("scan.pdf", EXE)], "文件内容与扩展名 .pdf 不符"),          # a renamed program
    ([("empty.pdf", b"")], "文件为空"),
    ([("noext", PDF)], "须带扩展名"),
    ([(f"f{i}.pdf", PDF) for i in range(6)], "最多上传 5 个附件"),
])
def test_bad_files_are_refused_before_anything_is_written(portal, files, says):
    engine = portal
    with pytest.raises(ValidationFailed) as e:
        submit(engine, files=files)
    assert set(e.value.errors) == {"files"} and says in e.value.errors["files"]
    assert counts(engine)["instance"] == 0 and counts(engine)["attachment"] == 0


def test_a_file_over_the_size_limit_is_refused(make_engine):
    engine = make_engine(upload_max_bytes=1024 * 1024)
    engine.repository.deploy([BASIC])
    with pytest.raises(ValidationFailed) as e:
        submit(engine, files=[("big.pdf", PDF + b"0" * (1024 * 1024))])
    assert "文件超过 1 MB" in e.value.errors["files"]
    assert counts(engine)["instance"] == 0


def test_a_path_in_a_file_name_is_only_text(portal):
    engine = portal
    made = submit(engine, files=[("../../x.pdf", PDF), ("..\\..\\windows\\y.pdf", PDF)])
    assert [f["name"] for f in engine.uploads.list(made["instance_id"])] == ["x.pdf", "y.pdf"]


def test_a_failure_after_the_instance_started_leaves_nothing(portal, monkeypatch):
    engine = portal
    before = counts(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while storing the file")
    monkeypatch.setattr(engine.uploads, "add", broken)
    with pytest.raises(RuntimeError):
        submit(engine, files=[("a.pdf", PDF)])
    assert counts(engine) == before                      # no instance, task, ticket, file or history
    monkeypatch.undo()
    made = submit(engine, files=[("a.pdf", PDF)])           # and the next one goes through
    assert counts(engine)["appeal_ticket"] == before["appeal_ticket"] + 1
    assert appeals.of(engine).portal.by_token(made["token"])["instance_id"] == made["instance_id"]


def test_a_tracking_number_drawn_twice_is_drawn_again(portal, monkeypatch):
    engine = portal
    first = submit(engine)
    drawn = iter([first["tracking_no"], "QH20261102-777777"])
    monkeypatch.setattr(appeals.of(engine).portal, "_new_tracking_no", lambda: next(drawn))   # a race: the check passed
    second = submit(engine)
    assert second["tracking_no"] == "QH20261102-777777"
    assert counts(engine)["appeal_ticket"] == 2 and counts(engine)["instance"] == 2
    assert {i["business_key"] for i in engine.runtime.instances()} == {first["tracking_no"], "QH20261102-777777"}


# -- the private link ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "x", "A" * 43, "A" * 44, "../../etc/passwd", None, 7])
def test_unknown_or_malformed_tokens_are_not_found(portal, bad):
    submit(portal)
    with pytest.raises(NotFound) as e:
        appeals.of(portal).portal.by_token(bad)
    assert str(e.value) == "no appeal for this link"


def test_a_token_one_character_off_is_not_found(portal):
    tok = submit(portal)["token"]
    with pytest.raises(NotFound):
        appeals.of(portal).portal.by_token(tok[:-1] + ("A" if tok[-1] != "A" else "B"))


# -- progress ----------------------------------------------------------------------------------------
def test_progress_shows_steps_replies_and_deadlines_but_nothing_internal(portal, clock):
    engine = portal
    made = submit(engine)
    ticket = appeals.of(engine).portal.by_token(made["token"])
    p = appeals.of(engine).portal.progress(ticket)
    assert (p["tracking_no"], p["status_text"], p["finished"], p["reopened"]) == (made["tracking_no"], "办理中", False,
                                                                                 False)
    assert [s["name"] for s in p["steps"]] == ["企业提交诉求"]
    [current] = p["current"]
    assert (current["name"], current["stage"], current["mine"]) == ("受理登记", "受理", False)
    iid = made["instance_id"]
    t = one_task(engine, iid)
    engine.tasks.complete(t["id"], "li", {"category": "policy", "summary": "用地指标未落实"})
    t = one_task(engine, iid)
    engine.tasks.complete(t["id"], "wang", {"result": "cannot", "reply": "超出本部门权限"})
    t = one_task(engine, iid)
    engine.tasks.complete(t["id"], "zhao", {"approved": "false", "opinion": "内部意见：部门推诿，退回重办"})
    with engine.db.write() as s:
        s.add(TaskComment(instance_id=iid, task_id=None, user="wang", body="已约企业现场踏勘", public=True,
                          created_at=clock.now()))
        s.add(TaskComment(instance_id=iid, task_id=None, user="zhao", body="内部：约谈部门负责人", public=False,
                          created_at=clock.now()))
    p = appeals.of(engine).portal.progress(ticket)
    assert [s["name"] for s in p["steps"]] == ["企业提交诉求", "受理登记", "部门办理", "督查复核", "办理说明"]
    replies = [(s["name"], r["label"], r["text"]) for s in p["steps"] for r in s["replies"]]
    assert replies == [("部门办理", "答复内容", "超出本部门权限"), ("办理说明", "说明", "已约企业现场踏勘")]
    assert [c["name"] for c in p["current"]] == ["部门办理"]
    shown = json.dumps(p, ensure_ascii=False)
    for secret in ("li", "wang", "zhao", "acceptor", "dept_policy", "supervisor", "内部意见", "内部：约谈",
                   "approved", made["token"]):
        assert not re.search(rf'(?<![A-Za-z]){re.escape(secret)}(?![A-Za-z])', shown), f"{secret!r} is shown"


def test_progress_shows_deadlines_in_working_days(engine, clock):
    engine.repository.deploy([("timed.bpmn", bpmn("timed_portal", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="t" name="限期办理" camunda:candidateGroups="acceptor" camunda:dueDate="${{workdays(5)}}" />
<bpmn:endEvent id="e" />
{chain("s", "t", "e")}""", name="限期流程").replace(b'isExecutable="true"', ENTERPRISE_STARTS))])
    made = submit(engine, definition="timed_portal", category="用地")        # no category enum: free text
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    [current] = p["current"]
    assert (current["name"], current["due_text"], current["workdays_left"]) == ("限期办理", "11月9日 09:00", 5.0)
    assert current["due_at"].startswith("2026-11-09T01:00") and current["stage"] == "办理"


LISTENER = bpmn("portal_review", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="Message_portal_say_no" /></bpmn:startEvent>
<bpmn:userTask id="research" name="人大代表调研" camunda:candidateGroups="lq_deputy" />
<bpmn:userTask id="rate" name="企业评价评议结果" camunda:assignee="${{enterprise_user}}">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="rate_result" label="对评议结果" type="enum">
      <camunda:value id="5" name="非常满意" /><camunda:value id="1" name="非常不满意" />
    </camunda:formField>
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:endEvent id="e" />
{chain("s", "research", "rate", "e")}""", name="说不评议",
                extra='  <bpmn:message id="Message_portal_say_no" name="portal_say_no" />\n')


def test_related_instances_and_their_enterprise_steps(portal):
    engine = portal
    engine.repository.deploy([("listener.bpmn", LISTENER)])
    engine.tasks.add_member("dai", "lq_deputy")
    made = submit(engine)
    other = submit(engine)
    data = engine.runtime.data(made["instance_id"])
    engine.runtime.correlate("portal_say_no", business_key=made["tracking_no"], payload=data)
    ticket = appeals.of(engine).portal.by_token(made["token"])
    p = appeals.of(engine).portal.progress(ticket)
    [r] = p["related"]
    assert (r["name"], r["status_text"], [c["name"] for c in r["current"]]) == ("说不评议", "办理中", ["人大代表调研"])
    [review] = engine.runtime.instances(key="portal_review")
    engine.tasks.complete(one_task(engine, review["id"])["id"], "dai", {})
    p = appeals.of(engine).portal.progress(ticket)
    [mine] = p["my_tasks"]
    assert (mine["name"], mine["process"]) == ("企业评价评议结果", "说不评议")
    assert p["related"][0]["current"][0]["mine"] is True
    with pytest.raises(Forbidden):                           # another enterprise's link
        appeals.of(engine).portal.rate(other["token"], mine["id"], {"rate_result": "5"})
    assert appeals.of(engine).portal.rate(made["token"], mine["id"], {"rate_result": "1"})["bad"] is True
    assert engine.runtime.get(review["id"])["status"] == "completed"


# -- rating ------------------------------------------------------------------------------------------
RATED_GOOD = {"rate_plan": "5", "rate_process": "4", "rate_result": "5", "rate_comment": "响应及时"}
RATED_BAD = {"rate_plan": "4", "rate_process": "3", "rate_result": "1", "rate_comment": "用地指标仍未落实"}


def test_a_good_rating_closes_the_appeal(portal):
    engine = portal
    made = submit(engine)
    t = handle(engine, made["instance_id"])
    assert t["assignee"] == f"qiye:{made['tracking_no']}" and t["candidate_groups"] == []
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    [mine] = p["my_tasks"]
    assert mine["id"] == t["id"] and [f["id"] for f in mine["form"]["fields"]] == [
        "rate_plan", "rate_process", "rate_result", "rate_comment"]
    assert appeals.of(engine).portal.rate(made["token"], t["id"], RATED_GOOD) == {"task": "企业评价", "bad": False}
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    assert (p["status"], p["status_text"], p["finished"], p["reopened"], p["my_tasks"]) == \
        ("completed", "已办结", True, False, [])
    assert p["steps"][-1]["answers"] == [{"label": "对办理方案", "text": "非常满意"},
                                         {"label": "对办理过程", "text": "满意"},
                                         {"label": "对办理结果", "text": "非常满意"},
                                         {"label": "评价意见", "text": "响应及时"}]
    [line] = appeals.of(engine).records(made["instance_id"])["ledger"]
    assert (line["kind"], line["title"]) == ("rating", "企业评价：方案5，过程4，结果5")
    assert line["data"] == {"rate_plan": 5, "rate_process": 4, "rate_result": 5, "comment": "响应及时", "bad": False,
                            "by_enterprise": True}


def test_a_bad_rating_reopens_the_appeal_for_second_supervision(portal):
    engine = portal
    made = submit(engine)
    iid = made["instance_id"]
    t = handle(engine, iid)
    with pytest.raises(ValidationFailed) as e:                 # 差评须说明原因
        appeals.of(engine).portal.rate(made["token"], t["id"], {**RATED_BAD, "rate_comment": " "})
    assert set(e.value.errors) == {"rate_comment"}
    assert appeals.of(engine).portal.rate(made["token"], t["id"], RATED_BAD) == {"task": "企业评价", "bad": True}
    t = one_task(engine, iid)
    assert (t["element_id"], t["name"], t["candidate_groups"]) == ("Task_second_supervision", "二次督办", ["supervisor"])
    assert [x["id"] for x in engine.tasks.list(user="zhao")] == [t["id"]]          # the supervisor sees it
    assert engine.tasks.list(user="li") == []
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    assert p["reopened"] is True and [c["name"] for c in p["current"]] == ["二次督办"] and p["my_tasks"] == []
    assert p["steps"][-1]["bad"] is True
    engine.tasks.complete(t["id"], "zhao", {"second_result": "redo", "second_opinion": "责令重新协调用地指标"})
    t = one_task(engine, iid)
    assert (t["element_id"], t["candidate_groups"]) == ("Task_handle", ["dept_policy"])    # back to the department
    t = handle(engine, iid, reply="用地指标已下达")
    assert t["assignee"] == f"qiye:{made['tracking_no']}"                              # rated again
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    assert p["reopened"] is True and [m["name"] for m in p["my_tasks"]] == ["企业评价"]
    appeals.of(engine).portal.rate(made["token"], t["id"], RATED_GOOD)
    p = appeals.of(engine).portal.progress(appeals.of(engine).portal.by_token(made["token"]))
    assert p["finished"] and not p["reopened"]
    assert [(r["label"], r["text"]) for s in p["steps"] for r in s["replies"]] == [
        ("答复内容", "已协调自然资源部门落实用地指标"), ("答复内容", "用地指标已下达")]
    ledger = appeals.of(engine).records(iid)["ledger"]
    assert [(x["kind"], x["data"]["bad"]) for x in ledger] == [("rating", True), ("rating", False)]
    assert "督办意见" not in json.dumps(p, ensure_ascii=False)     # the supervisor's opinion stays internal
    assert "责令重新协调用地指标" not in json.dumps(p, ensure_ascii=False)


def test_rating_only_the_enterprises_own_open_step(portal):
    engine = portal
    mine, theirs = submit(engine), submit(engine, company="长兴某纺织有限公司")
    my_rate = handle(engine, mine["instance_id"])
    their_rate = handle(engine, theirs["instance_id"])
    with pytest.raises(Forbidden):                              # another enterprise's step with my token
        appeals.of(engine).portal.rate(mine["token"], their_rate["id"], RATED_GOOD)
    staff = submit(engine)
    staff_task = one_task(engine, staff["instance_id"])
    with pytest.raises(Forbidden):                              # a staff step
        appeals.of(engine).portal.rate(staff["token"], staff_task["id"], {"category": "policy", "summary": "x"})
    with pytest.raises(NotFound):
        appeals.of(engine).portal.rate(mine["token"], "no-such-task", RATED_GOOD)
    with pytest.raises(NotFound):
        appeals.of(engine).portal.rate("A" * 43, my_rate["id"], RATED_GOOD)
    appeals.of(engine).portal.rate(mine["token"], my_rate["id"], {**RATED_GOOD, "enterprise_user": "li", "department": "x"})
    data = engine.runtime.data(mine["instance_id"])
    assert data["enterprise_user"] == f"qiye:{mine['tracking_no']}" and data["department"] == "dept_policy"
    with pytest.raises(Forbidden):                              # done already
        appeals.of(engine).portal.rate(mine["token"], my_rate["id"], RATED_GOOD)
    assert engine.tasks.get(their_rate["id"])["status"] == "ready"


def test_staff_registered_appeals_are_rated_by_the_acceptor_on_the_phone(portal):
    """Without an enterprise user (phone, window), the acceptor records the rating given by phone."""
    engine = portal
    iid = engine.runtime.start("appeal_basic", {"企业名称": "某公司"}, business_key="HZ-1")
    t = handle(engine, iid)
    assert t["assignee"] is None and t["candidate_groups"] == ["acceptor"]
    engine.tasks.complete(t["id"], "li", {"rate_plan": "5", "rate_process": "5", "rate_result": "5"})
    assert engine.runtime.get(iid)["status"] == "completed"
    [line] = appeals.of(engine).records(iid)["ledger"]
    assert line["data"]["by_enterprise"] is False


# -- web ---------------------------------------------------------------------------------------------
@pytest.fixture
def web(portal):
    add_people(portal)
    app = create_app(engine=portal, config={"SECRET_KEY": "portal-tests", "MAX_CONTENT_LENGTH": 2 * 1024 * 1024})
    return app


@pytest.fixture
def client(web):
    return web.test_client()


def form_post(client, data, files=()):
    page = client.get(f"/appeal?d={data.get('definition', 'appeal_basic')}").get_data(as_text=True)
    body = {"definition": "appeal_basic", **data, "csrf_token": csrf_of(page)}
    if files:
        body["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/appeal", data=body, content_type="multipart/form-data")


def submit_in_browser(client, **changes):
    r = form_post(client, {**GOOD, **changes})
    assert r.status_code == 302 and re.fullmatch(r"/track/[A-Za-z0-9]{43}\?new=1", r.headers["Location"])
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    link = re.search(r'value="(http://localhost/track/[A-Za-z0-9]{43})"', html).group(1)
    number = re.search(r'id="tracking-no" data-copy="(QH[0-9A-Z-]+)"', html).group(1)
    assert link.removeprefix("http://localhost") == r.headers["Location"].removesuffix("?new=1")
    return number, link.removeprefix("http://localhost")


def test_pages_list_the_portal_processes(client):
    html = client.get("/appeal").get_data(as_text=True)
    assert "企业诉求受理（通用）" in html and "湖州市企业综合服务中心" in html and "湖州市" in html
    assert "待办" not in html and "/inbox" not in html                      # no staff navigation
    r = client.get("/appeal?d=huzhou_joint_meeting")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'value="investment"' in html and "项目投资" in html
    assert "pdf" in html and "10 MB" in html
    r = client.get("/appeal?d=nope")
    assert r.status_code == 404 and "所选受理渠道不存在" in r.get_data(as_text=True)


def test_submit_without_a_csrf_token_is_refused(client, portal):
    r = client.post("/appeal", data={**GOOD, "definition": "appeal_basic"})
    assert r.status_code == 400 and "页面已过期" in r.get_data(as_text=True)
    assert counts(portal)["instance"] == 0


def test_errors_stand_next_to_their_fields_and_nothing_typed_is_lost(client, portal):
    r = form_post(client, {**GOOD, "credit_code": "91330100799655058A", "contact_phone": "110",
                           "company": '<script>alert("x")</script>某公司'}, files=[("a.exe", EXE)])
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'id="credit_code-err">第18位校验码不正确，请核对是否抄错<', html)     # Chinese page: no English
    assert re.search(r'id="contact_phone-err">请填写11位手机号', html)
    assert 'id="files-err">附件 &#39;a.exe&#39;: 不支持的文件类型 .exe' in html
    assert 'id="summary-err"' in html and re.search(r'id="summary-err" hidden>', html)
    assert 'value="91330100799655058A"' in html and 'value="110"' in html and "新厂房用地指标迟迟未落实" in html
    assert '<option value="policy" selected>' in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;某公司" in html and "<script>alert" not in html
    assert "请重新选择附件" in html
    assert counts(portal)["instance"] == 0
    r = form_post(client, {**GOOD, "contact_phone": "110"}, files=[("a.exe", EXE)])
    assert "(a mainland mobile" not in r.get_data(as_text=True)
    client.get("/appeal?lang=en")
    r = form_post(client, {**GOOD, "contact_phone": "110"})
    assert "a mainland mobile or landline number" in r.get_data(as_text=True)


def test_the_link_is_shown_once_and_opens_the_progress(client, portal):
    number, path = submit_in_browser(client, company='<script>alert(1)</script>公司')
    assert client.get("/appeal/done").status_code == 410                  # the old success page is gone
    assert path[len("/track/"):] not in client.get("/appeal/done").get_data(as_text=True)
    r = client.get(path)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and number in html and "受理登记" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in html and "<script>alert(1)" not in html
    assert r.headers["Referrer-Policy"] == "no-referrer" and "no-store" in r.headers["Cache-Control"]
    for e in portal.history.events(portal.runtime.instances()[0]["id"]):
        assert path[len("/track/"):] not in json.dumps(e, ensure_ascii=False)


def test_the_request_log_does_not_keep_the_token(client, caplog):
    import logging
    _, path = submit_in_browser(client)
    tok = path[len("/track/"):]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s %s', "127.0.0.1", f"GET {path} HTTP/1.1", "200", "-")
        logging.getLogger("werkzeug").info(f"GET {path}/rate")
    assert "/track/…" in caplog.text and tok not in caplog.text


@pytest.mark.parametrize("path", ["/track/" + "A" * 43, "/track/short", "/track/..%2F..%2Fetc%2Fpasswd"])
def test_an_unknown_link_is_a_404_that_reveals_nothing(client, portal, path):
    submit_in_browser(client)
    r = client.get(path)
    html = r.get_data(as_text=True)
    assert r.status_code == 404
    assert "链接无效" in html or "/" in path[len("/track/"):].replace("%2F", "/")   # a path with / routes nowhere
    assert "no appeal" not in html and "QH2026" not in html and "湖州某新材料" not in html


def test_rating_in_the_browser_bad_then_good(client, portal):
    number, path = submit_in_browser(client)
    iid = portal.runtime.instances(business_key=number)[0]["id"]
    t = handle(portal, iid)
    html = client.get(path).get_data(as_text=True)
    assert "对办理方案" in html and html.count('type="radio"') == 15 and "非常不满意" in html
    r = post_form(client, path, path + "/rate", {"task_id": t["id"], "rate_plan": "5"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-field="rate_process"' in html and html.count('class="pt-scale has-error"') == 2
    assert re.search(r'name="rate_plan" value="5" checked', html)
    r = post_form(client, path, path + "/rate", {"task_id": t["id"], **RATED_BAD})
    assert r.status_code == 302
    html = client.get(path).get_data(as_text=True)
    assert "二次督办" in html and "已转二次督办" in html and "诉求已重新打开" in html
    assert one_task(portal, iid)["element_id"] == "Task_second_supervision"
    portal.tasks.complete(one_task(portal, iid)["id"], "zhao", {"second_result": "redo", "second_opinion": "重办"})
    t = handle(portal, iid, reply="用地指标已下达")
    r = post_form(client, path, path + "/rate", {"task_id": t["id"], **RATED_GOOD})
    assert r.status_code == 302
    html = client.get(path).get_data(as_text=True)
    assert "感谢您的评价" in html and "已办结" in html and "用地指标已下达" in html
    assert portal.runtime.get(iid)["status"] == "completed"


def test_a_second_click_and_a_suspended_appeal(client, portal):
    number, path = submit_in_browser(client)
    iid = portal.runtime.instances(business_key=number)[0]["id"]
    t = handle(portal, iid)
    portal.runtime.suspend(iid, user="li")
    r = post_form(client, path, path + "/rate", {"task_id": t["id"], **RATED_GOOD})
    assert r.status_code == 409 and "诉求暂停办理" in r.get_data(as_text=True)
    assert re.search(r'name="rate_process" value="4" checked', r.get_data(as_text=True))     # kept
    portal.runtime.resume(iid, user="li")
    page = client.get(path).get_data(as_text=True)
    body = {"task_id": t["id"], **RATED_GOOD, "csrf_token": csrf_of(page)}
    assert client.post(path + "/rate", data=body).status_code == 302
    r = client.post(path + "/rate", data=body)                    # the same form sent again
    assert r.status_code == 302
    assert "该评价已经提交" in client.get(path).get_data(as_text=True)
    assert portal.runtime.get(iid)["status"] == "completed"


def test_another_enterprises_task_posted_with_my_link_is_refused(client, portal):
    _, mine = submit_in_browser(client)
    theirs_no, _ = submit_in_browser(client, company="长兴某纺织有限公司")
    theirs = portal.runtime.instances(business_key=theirs_no)[0]["id"]
    t = handle(portal, theirs)
    r = post_form(client, "/appeal?d=appeal_basic", mine + "/rate", {"task_id": t["id"], **RATED_GOOD})
    assert r.status_code == 403 and "不属于本诉求" in r.get_data(as_text=True)
    assert portal.tasks.get(t["id"])["status"] == "ready"
    r = client.post(mine + "/rate", data={"task_id": t["id"], **RATED_GOOD})      # and without a token
    assert r.status_code == 400


def test_staff_pages_never_show_the_token(web, portal):
    client = web.test_client()
    number, path = submit_in_browser(client)
    tok = path[len("/track/"):]
    staff = web.test_client()
    sign_in(staff, "li")
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert number in inbox and tok not in inbox
    iid = portal.runtime.instances(business_key=number)[0]["id"]
    task = staff.get(f"/tasks/{one_task(portal, iid)['id']}").get_data(as_text=True)
    assert "湖州某新材料有限公司" in task and tok not in task
    api = staff.get(f"/api/instances/{iid}").get_data(as_text=True)
    assert tok not in api


def test_the_start_page_offers_the_portal_to_anonymous_visitors(web):
    client = web.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'href="/appeal"' in html and "企业诉求在线提交" in html
    sign_in(client, "li")
    assert 'id="portal-entry"' not in client.get("/").get_data(as_text=True)


def test_too_large_a_request_is_a_clear_page(client, portal):
    r = form_post(client, GOOD, files=[("big.pdf", PDF + b"0" * (3 * 1024 * 1024))])
    assert r.status_code == 413 and "附件过大" in r.get_data(as_text=True)
    assert counts(portal)["instance"] == 0


def test_english_pages(client):
    html = client.get("/appeal?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and "Submit an appeal online" in html
    html = client.get("/appeal?d=appeal_basic").get_data(as_text=True)
    assert "Unified social credit code" in html


def test_no_raw_sql_needed_to_find_a_ticket_by_number(portal):
    """Staff find an enterprise's appeal by its tracking number: it is the business key."""
    made = submit(portal)
    with portal.db.read() as s:
        assert s.execute(text("SELECT business_key FROM instance")).scalar() == made["tracking_no"]
