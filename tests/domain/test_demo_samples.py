"""The demo starts with sample appeals in every state, across the four named mechanisms, and a
second seed adds nothing (issue 15, Demo and first run)."""
from collections import Counter

from sqlalchemy import func, select

from qihu.appeals.demo import DEMO_USERS, seed
from qihu.appeals.models import AppealFact, AppealTicket
from qihu.engine.storage.models import Instance, Task
from tests.conftest import ROOT

MECHANISMS = {"huzhou_joint_meeting", "qiantang_target_tracking", "lucheng_mock_accountability",
              "luqiao_say_no_review"}


def counts(engine):
    with engine.db.read() as s:
        return (s.scalar(select(func.count()).select_from(Instance)), s.scalar(select(func.count()).select_from(Task)),
                s.scalar(select(func.count()).select_from(AppealTicket)))


def test_seeded_samples_show_every_state_and_a_second_seed_adds_nothing(engine):
    lines = list(seed(engine, ROOT / "bpmn", samples=True))
    assert sum(line.startswith("sample appeal") for line in lines) >= 16
    instances = engine.runtime.instances(limit=500)
    assert MECHANISMS <= {i["definition_key"] for i in instances}
    by_status = Counter(i["status"] for i in instances)
    assert by_status["completed"] >= 3 and by_status["running"] >= 10
    # in progress in each colour, and new (the first step open, no colour yet)
    ready = [t for i in instances for t in engine.tasks.list(instance_id=i["id"])]
    colours = Counter(str(t["sla_colour"].value) if t["sla_colour"] else "none" for t in ready)
    assert all(colours[c] >= 1 for c in ("green", "yellow", "orange", "red")), colours
    assert {"Task_register", "Task_assess"} <= {t["element_id"] for t in ready}
    # returned (退单): the step back at 登记 with the reason
    returned = [i for i in instances if engine.handoff.returns(i["id"])]
    assert returned and "重新登记" in engine.runtime.data(returned[0]["id"])["return_reason"]
    # rated well and badly: a 差评 reopens the appeal for 二次督办
    assert "Task_second_supervision" in {t["element_id"] for t in ready}
    with engine.db.read() as s:
        satisfied = Counter(s.scalars(select(AppealFact.satisfied).where(AppealFact.satisfied.is_not(None))))
    assert satisfied[True] >= 1 and satisfied[False] >= 1
    # stalled: an open incident the administrators see
    stalled = [i for i in instances if i["business_key"] == "DEMO-HZ-STALL"]
    [incident] = engine.runtime.incidents(stalled[0]["id"])
    assert incident["status"] == "open" and "企业账号" in incident["message"]
    # enterprises' appeals came through the portal: tickets, and the inbox of the demo users has work
    assert counts(engine)[2] == 8
    assert engine.tasks.inbox("hz_bankuai")["total"] >= 4
    before = counts(engine)
    again = list(seed(engine, ROOT / "bpmn", samples=True))
    assert not any(line.startswith("sample appeal") for line in again)
    assert counts(engine) == before


def test_a_second_member_in_a_group_to_hand_a_task_to():
    for group in ("acceptor", "hz_centre"):
        assert len([u for u, groups in DEMO_USERS.items() if group in groups]) >= 2


def test_seed_without_samples_adds_no_appeal(engine):
    list(seed(engine, ROOT / "bpmn"))
    assert counts(engine)[0] == 0
