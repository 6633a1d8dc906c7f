"""Staff registration (登记诉求, appeals/register.py): appeals that arrive by phone, at the counter,
through 企业码 … registered by a clerk for any process the clerk's groups may start, with the
portal's fields plus the channel and the process's own start fields (鹿城); the enterprise gets
its number and link by SMS, follows and rates its appeal like a portal one. Both databases.
"""
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qihu import appeals
from qihu.appeals.models import AppealTicket
from qihu.engine.errors import Forbidden, ValidationFailed
from qihu.engine.storage.models import Attachment, Instance, NoticeSent, Task

ROOT = Path(__file__).resolve().parents[2]
BPMN = ROOT / "bpmn"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPEAL = {"company": "玳能科技（杭州）有限公司", "credit_code": "91330100799655058B", "contact_name": "刘经理",
          "contact_phone": "138 1234 5678", "category": "项目建设", "summary": "南侧土地回收后无货运出入口，需开设新的货运出入口"}
OBSERVED = {"observation_point": "鹿城区鞋革行业协会观测点", "observer": "周观察员"}


@pytest.fixture
def reg(engine):
    for f in ("appeal_basic.bpmn", "qiantang_target_tracking.bpmn", "lucheng_mock_accountability.bpmn",
              "luqiao_say_no_review.bpmn"):
        engine.repository.deploy([BPMN / f])
    engine.repository.deploy([BPMN / "huzhou_joint_meeting.bpmn", BPMN / "huzhou_boards.dmn"])
    for user, groups in {"li": ["acceptor"], "wang": ["qt_centre"], "zhao": ["qt_board_project"],
                         "police": ["qt_unit_police"], "guan": ["lc_observer"], "zhou": ["hz_centre"],
                         "lu": ["lc_centre"], "lin": ["lq_centre"]}.items():
        engine.tasks.add_member(user, *groups)
    return engine


def register(engine, user="wang", key="qiantang_target_tracking", channel="企业码", extra=None, files=(), **changes):
    f = {**APPEAL, **changes}
    return appeals.of(engine).portal.registration.register(
        user, key, f["company"], f["credit_code"], f["contact_name"], f["contact_phone"], f["category"], f["summary"],
        channel, files=files, extra=extra, link=lambda token: f"https://qihu.example/track/{token}")


def sms(engine):
    with engine.db.read() as s:
        return [(n.recipient, n.text) for n in s.scalars(select(NoticeSent).where(NoticeSent.channel == "sms")
                                                         .order_by(NoticeSent.id))]


def counts(engine):
    with engine.db.read() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (Instance, Task, AppealTicket, Attachment,
                                                                        NoticeSent)]


def test_a_clerk_may_register_what_their_groups_may_start(reg):
    registration = appeals.of(reg).portal.registration
    # each diagram names its starters (camunda:candidateStarterGroups): appeal_basic enterprise and
    # acceptor; 湖州 enterprise and hz_centre; 钱塘 its centre; 鹿城 observers and its centre; 路桥 the
    # 1187 platform. Nobody else sees them on the form or may register them.
    keys = {user: {c["key"] for c in registration.choices(user)} for user in ("li", "wang", "guan", "lu", "lin",
                                                                               "zhou", "zhao", "police")}
    assert keys == {"li": {"appeal_basic"}, "wang": {"qiantang_target_tracking"},
                    "guan": {"lucheng_mock_accountability"}, "lu": {"lucheng_mock_accountability"},
                    "lin": {"luqiao_say_no_review"}, "zhou": {"huzhou_joint_meeting"}, "zhao": set(), "police": set()}
    assert registration.choices("") == []
    for user, key in (("li", "huzhou_joint_meeting"), ("li", "qiantang_target_tracking"),
                      ("zhao", "qiantang_target_tracking"), ("li", "lucheng_mock_accountability"),
                      ("guan", "luqiao_say_no_review")):
        with pytest.raises(Forbidden):
            register(reg, user=user, key=key, category="policy", extra=OBSERVED)


def test_the_start_form_is_the_diagrams_own(reg):
    """鹿城 declares its start fields on its start event (camunda:formField, as Camunda Modeler writes a
    start form); the form is read from the diagram, nothing about a process is hard-coded here."""
    from qihu.appeals import register as module
    assert not hasattr(module, "START_FIELDS")
    registration = appeals.of(reg).portal.registration
    lucheng = next(c for c in registration.choices("guan") if c["key"] == "lucheng_mock_accountability")
    assert [(f["id"], f["label"], "required" in f["validation"]) for f in lucheng["fields"]] == [
        ("observation_point", "观测点", True), ("observer", "观察员", True)]
    [qiantang] = registration.choices("wang")
    assert qiantang["fields"] == []                          # declares none: the portal's fields only


def test_registering_starts_the_appeal_with_its_ticket_and_sends_the_link_by_sms(reg):
    made = register(reg, files=[("现场照片说明.pdf", PDF)])
    iid = made["instance_id"]
    instance = reg.runtime.get(iid)
    assert instance["business_key"] == made["tracking_no"] and instance["started_by"] == "wang"
    data = reg.runtime.data(iid)
    assert data["enterprise_user"] == "qiye:" + made["tracking_no"] and data["channel"] == "企业码"
    assert (data["company"], data["contact_phone"]) == (APPEAL["company"], "13812345678")
    with reg.db.read() as s:
        t = s.scalars(select(AppealTicket)).one()
        assert (t.channel, t.registered_by, t.summary) == ("企业码", "wang", APPEAL["summary"])
    assert [a["name"] for a in reg.uploads.list(iid)] == ["现场照片说明.pdf"]
    [(to, text)] = sms(reg)
    assert to == "13812345678" and made["tracking_no"] in text
    assert f"https://qihu.example/track/{made['token']}" in text
    # the enterprise follows it on the link: registered by phone, what it said, its files
    portal = appeals.of(reg).portal
    p = portal.progress(portal.by_token(made["token"]))
    assert p["steps"][0]["name"] == "诉求登记（企业码）"
    assert p["submitted"]["channel"] == "企业码" and p["submitted"]["contact_phone"] == "138****5678"
    assert p["submitted"]["files"] == [{"name": "现场照片说明.pdf", "size": len(PDF)}]


def test_every_bad_field_is_named_in_chinese_and_nothing_is_written(reg):
    before = counts(reg)
    with pytest.raises(ValidationFailed) as e:
        register(reg, user="guan", key="lucheng_mock_accountability", channel="飞鸽传书", company="",
                 credit_code="91330100799655058A", contact_phone="12345", summary="太短",
                 extra={"observer": "周观察员"})
    errors = e.value.errors
    assert set(errors) == {"channel", "company", "credit_code", "contact_phone", "summary", "observation_point"}
    for text in errors.values():
        assert re.search(r"[\u4e00-\u9fff]", text.split("(")[0]), text
    assert errors["observation_point"].startswith("必填")
    assert counts(reg) == before


def test_a_lucheng_case_starts_from_its_observation_point(reg):
    """鹿城's first script reads observation_point and observer: registered with them it runs on."""
    made = register(reg, user="guan", key="lucheng_mock_accountability", channel="观察员", extra=OBSERVED,
                    category="审批服务", summary="个转企变更登记受理后超过承诺时限未办结")
    iid = made["instance_id"]
    assert reg.runtime.incidents(instance_id=iid) == []
    data = reg.runtime.data(iid)
    assert data["found_by"] == "鹿城区鞋革行业协会观测点（观察员：周观察员）"
    assert [t["element_id"] for t in reg.tasks.list(instance_id=iid)] == ["Task_apply"]


def test_a_qiantang_case_is_rated_by_the_enterprise_on_its_tracking_page(reg):
    """钱塘's 方案满意评价 is assigned to ${enterprise_user}: the registered enterprise rates it on its link."""
    made = register(reg)
    iid, portal = made["instance_id"], appeals.of(reg).portal
    [t] = reg.tasks.list(instance_id=iid)
    reg.tasks.complete(t["id"], "wang", {"multi_handoff": True, "long_cycle": True, "wide_benefit": True,
                                         "board": "qt_board_project", "assess_opinion": "涉及多个部门审批"})
    [t] = reg.tasks.list(instance_id=iid)
    reg.tasks.complete(t["id"], "zhao", {"plan_result": "feasible", "responsible_group": "qt_unit_police",
                                         "measures": "召开专题协调会", "milestones": "11月20日前完成出入口开设",
                                         "plan_deadline": "2026-12-23"})
    p = portal.progress(portal.by_token(made["token"]))
    [mine] = p["my_tasks"]
    assert mine["name"] == "方案满意评价"
    [field] = [f for f in mine["form"]["fields"] if f["type"] == "enum"]
    worst = next(o["id"] for o in field["options"] if o["name"] in ("不满意", "非常不满意"))
    with pytest.raises(ValidationFailed):         # 差评须说明原因 when the step asks for a comment
        portal.rate(made["token"], mine["id"], {field["id"]: worst})
    done = portal.rate(made["token"], mine["id"], {field["id"]: worst, "plan_comment": "出入口位置不合理"})
    assert done == {"task": "方案满意评价", "bad": True}
    [t] = reg.tasks.list(instance_id=iid)
    assert t["element_id"] == "Task_draft_plan"             # sent back for a better plan
