"""Regions: staff bound to a region see and act on that region's work only; the dashboard
scope follows region and groups; an instance counts working days on its region's calendar."""
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from qihu import appeals
from qihu.appeals.scope import DashboardScope
from qihu.engine.errors import DeployError, Forbidden, ValidationFailed

from tests.bpmn_util import bpmn, chain

BJ = timezone(timedelta(hours=8))

# The same process serves two counties: the same candidate group in both.
TWO_STEPS = bpmn("regional", chain("s", "handle", "e") + """
<bpmn:startEvent id="s" />
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="acceptor" camunda:dueDate="${workdays(1)}" />
<bpmn:endEvent id="e" />""", name="地区流程")


@pytest.fixture
def deployed(engine):
    engine.repository.deploy([("regional.bpmn", TWO_STEPS)], user="admin")
    for name, region in (("qy", "丽水市庆元县"), ("jn", "丽水市景宁县"), ("free", None)):
        engine.accounts.add_user(name, "pw-1234", groups=["acceptor"], region=region)
    return engine


def _start(engine, region):
    return engine.runtime.start("regional", {}, region=region, user="admin")


def test_staff_of_a_region_see_its_tasks_and_regionless_ones(deployed):
    e = deployed
    qy, jn, national = _start(e, "丽水市庆元县"), _start(e, "丽水市景宁县"), _start(e, None)

    def seen(user):
        inbox = {t["instance_id"] for t in e.tasks.inbox(user, limit=50)["tasks"]}
        listed = {t["instance_id"] for t in e.tasks.list(user=user)}
        assert inbox == listed
        return inbox

    assert seen("qy") == {qy, national}
    assert seen("jn") == {jn, national}
    assert seen("free") == {qy, jn, national}
    assert e.tasks.inbox("qy", limit=0)["total"] == 2
    # the region facet only offers what the person may see
    assert set(e.tasks.inbox("qy")["regions"]) == {"丽水市庆元县"}


def test_staff_may_not_act_on_another_regions_task(deployed):
    e = deployed
    jn = _start(e, "丽水市景宁县")
    task = e.tasks.list(instance_id=jn)[0]
    for act in (lambda: e.tasks.claim(task["id"], "qy"), lambda: e.tasks.complete(task["id"], "qy", {}),
                lambda: e.tasks.visible_get(task["id"], "qy")):
        with pytest.raises(Forbidden, match="丽水市景宁县"):
            act()
    assert e.tasks.get(task["id"])["status"] == "ready" and e.tasks.get(task["id"])["assignee"] is None
    e.tasks.complete(task["id"], "jn", {})
    assert e.runtime.get(jn)["status"] == "completed"


def test_instances_follow_the_region(deployed):
    e = deployed
    qy, jn = _start(e, "丽水市庆元县"), _start(e, "丽水市景宁县")
    assert {i["id"] for i in e.access.instances("qy")} == {qy}
    assert e.access.can_see_instance("jn", jn) and not e.access.can_see_instance("jn", qy)
    assert {i["id"] for i in e.access.instances("free")} == {qy, jn}
    assert {i["id"] for i in e.access.instances("admin")} == {qy, jn}      # who started them, unbound
    with pytest.raises(Forbidden):
        e.access.require_instance("jn", qy)


def test_an_administrator_is_never_bound(engine):
    engine.accounts.add_user("boss", "pw-1234", is_admin=True, region="丽水市庆元县")
    assert engine.access.user_region("boss") is None
    assert appeals.of(engine).dashboard_scope("boss") == DashboardScope(None, None)


def test_region_is_set_cleared_and_checked(engine):
    a = engine.accounts.add_user("zhang", "pw-1234", groups=["acceptor"], region=" 湖州市 ")
    assert a["region"] == "湖州市" and engine.access.user_region("zhang") == "湖州市"
    engine.accounts.set_region("zhang", "")
    assert engine.accounts.get("zhang")["region"] is None and engine.access.user_region("zhang") is None
    for bad in ("a,b", "长" * 101):
        with pytest.raises(ValidationFailed, match="地区"):
            engine.accounts.set_region("zhang", bad)
        with pytest.raises(ValidationFailed, match="地区"):
            engine.accounts.add_user("li", "pw-1234", region=bad)
    assert engine.accounts.get("li") is None and engine.accounts.get("zhang")["region"] is None


def test_dashboard_scope(engine):
    add = engine.accounts.add_user
    add("leader", "pw-1234", groups=["dashboard", "hz_city_leader"], region="湖州市")
    add("national_leader", "pw-1234", groups=["dashboard"])
    add("dept", "pw-1234", groups=["hz_board_finance", "hz_board_talent"], region="湖州市")
    add("firm", "pw-1234", groups=["enterprise"])
    add("nobody", "pw-1234")
    add("gone", "pw-1234", groups=["dashboard"])
    engine.accounts.set_active("gone", False)
    scope = appeals.of(engine).dashboard_scope
    assert scope("leader") == DashboardScope("湖州市", None)
    assert scope("national_leader") == DashboardScope(None, None)
    assert scope("dept") == DashboardScope("湖州市", frozenset({"hz_board_finance", "hz_board_talent"}))
    assert scope("firm") is None and scope("nobody") is None and scope("gone") is None
    assert scope(None) is None
    engine.tasks.add_member("group_only_admin", "admin")          # a host app's administrator
    assert scope("group_only_admin") == DashboardScope(None, None)


def test_cli_sets_a_region(engine, monkeypatch):
    from qihu import cli
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    runner = CliRunner()
    r = runner.invoke(cli.main, ["user", "add", "wang", "acceptor", "--password", "pw-1234", "--region", "徐州市"])
    assert r.exit_code == 0, r.output
    assert engine.accounts.get("wang")["region"] == "徐州市"
    r = runner.invoke(cli.main, ["user", "list"])
    assert "region=徐州市" in r.output
    r = runner.invoke(cli.main, ["user", "region", "wang"])
    assert r.exit_code == 0 and "every region" in r.output
    assert engine.accounts.get("wang")["region"] is None
    r = runner.invoke(cli.main, ["user", "region", "nosuch", "徐州市"])
    assert r.exit_code != 0 and "nosuch" in r.output


def test_deadlines_count_the_instances_regional_calendar(deployed, clock):
    """庆元县 keeps 3 November 2026 (a Tuesday) as a local holiday: a one-working-day deadline
    set on Monday 2 November lands on Wednesday there, on Tuesday elsewhere."""
    e = deployed
    e.calendar.set_day(date(2026, 11, 3), False, "丽水市庆元县", note="县庆")
    qy, jn = _start(e, "丽水市庆元县"), _start(e, "丽水市景宁县")
    due = {iid: e.tasks.list(instance_id=iid)[0]["due_at"] for iid in (qy, jn)}
    monday_9 = clock.now().astimezone(BJ)
    assert datetime.fromisoformat(due[qy]).astimezone(BJ) == monday_9 + timedelta(days=2)
    assert datetime.fromisoformat(due[jn]).astimezone(BJ) == monday_9 + timedelta(days=1)
    # the SLA colour changes are planned on it: none of 庆元's falls on its holiday
    from sqlalchemy import select
    from qihu.engine.storage.models import Job
    with e.db.read() as session:
        moments = {iid: [j.due_at.astimezone(BJ) for j in session.scalars(select(Job).where(
            Job.instance_id == iid, Job.kind == "sla"))] for iid in (qy, jn)}
    assert moments[qy] and moments[jn]
    assert all(m.date() != date(2026, 11, 3) for m in moments[qy])
    assert any(m.date() == date(2026, 11, 3) for m in moments[jn])
    # the inbox counts working days left on the same calendar: on Tuesday 09:00 景宁's task is
    # due now; 庆元's still has Wednesday 00:00-09:00, 9/24 of a working day
    clock.advance(days=1)
    left = {t["instance_id"]: t["workdays_left"] for t in e.tasks.inbox("free", limit=50)["tasks"]}
    assert left[jn] == pytest.approx(0.0)
    assert left[qy] == pytest.approx(9 / 24)


# -- deploying for a region (tenant) --------------------------------------------------------------
def test_a_bundle_deployed_for_a_region_carries_it_to_its_instances(engine):
    r = engine.repository.deploy([("regional.bpmn", TWO_STEPS)], user="admin", region=" 丽水市庆元县 ")
    assert r.definitions[0]["region"] == "丽水市庆元县"
    assert engine.repository.versions("regional")[0]["region"] == "丽水市庆元县"
    iid = engine.runtime.start("regional", {}, user="admin")
    assert engine.runtime.get(iid)["region"] == "丽水市庆元县"
    assert engine.tasks.list(instance_id=iid)[0]["region"] == "丽水市庆元县"
    # the start may still name a region (an appeal handed over from elsewhere)
    assert engine.runtime.get(engine.runtime.start("regional", {}, region="丽水市景宁县"))["region"] == "丽水市景宁县"
    # the same bundle again for the same region: nothing new
    again = engine.repository.deploy([("regional.bpmn", TWO_STEPS)], user="admin", region="丽水市庆元县")
    assert not again.created and again.definitions[0]["version"] == 1


def test_without_a_deploy_region_the_process_property_is_the_definitions_region(engine):
    xml = TWO_STEPS.replace(b'<bpmn:startEvent id="s" />', b'<bpmn:extensionElements><camunda:properties>'
                            b'<camunda:property name="region" value="\xe5\xbe\x90\xe5\xb7\x9e\xe5\xb8\x82" />'
                            b'</camunda:properties></bpmn:extensionElements><bpmn:startEvent id="s" />')
    engine.repository.deploy([("regional.bpmn", xml)], user="admin")
    assert engine.repository.definitions(key="regional")[0]["region"] == "徐州市"
    assert engine.runtime.get(engine.runtime.start("regional", {}))["region"] == "徐州市"


@pytest.mark.parametrize("first, second", [("丽水市庆元县", "丽水市景宁县"), (None, "丽水市景宁县"),
                                           ("丽水市庆元县", None)])
def test_a_process_key_belongs_to_one_region(engine, first, second):
    engine.repository.deploy([("regional.bpmn", TWO_STEPS)], user="admin", region=first)
    changed = TWO_STEPS.replace("办理".encode(), "办理（新）".encode())
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("regional.bpmn", changed)], user="admin", region=second)
    [p] = e.value.problems
    assert p.element == "regional" and p.file == "regional.bpmn" and p.line
    assert (first or "全国通用") in p.message and (second or "全国通用") in p.message and "流程标识" in p.message
    assert [v["version"] for v in engine.repository.versions("regional")] == [1]      # nothing stored


@pytest.mark.parametrize("bad", ["a,b", "长" * 101, 7])
def test_a_bad_deploy_region_is_refused_before_anything_is_stored(engine, bad):
    with pytest.raises(ValidationFailed, match="地区"):
        engine.repository.deploy([("regional.bpmn", TWO_STEPS)], user="admin", region=bad)
    assert engine.repository.definitions() == []


def test_rest_cli_and_admin_page_deploy_for_a_region(engine, monkeypatch, tmp_path):
    import io
    from qihu import cli
    from qihu.web.app import create_app
    from tests.web_util import PASSWORD, sign_in, token
    engine.accounts.add_user("admin", PASSWORD, groups=["admin"], is_admin=True)
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    c = app.test_client()
    assert sign_in(c, "admin").status_code == 302
    api = app.test_client()
    api.environ_base["HTTP_X_QIHU_USER"] = "admin"
    r = api.post("/api/deployments", json={"files": [{"name": "regional.bpmn", "content": TWO_STEPS.decode()}],
                                         "region": "丽水市庆元县"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["definitions"][0]["region"] == "丽水市庆元县"
    r = api.post("/api/deployments", json={"files": [{"name": "regional.bpmn", "content": TWO_STEPS.decode()
                                                      .replace("办理", "办理二")}], "region": "丽水市景宁县"})
    assert r.status_code == 400 and "流程标识" in r.get_data(as_text=True)
    r = api.post("/api/deployments", data={"files": (io.BytesIO(TWO_STEPS.replace(b"regional", b"regional_b")),
                                                   "b.bpmn"), "region": "丽水市景宁县"})
    assert r.status_code == 201 and r.get_json()["definitions"][0]["region"] == "丽水市景宁县"
    # the CLI
    monkeypatch.setattr(cli, "_engine", lambda: engine)
    path = tmp_path / "c.bpmn"
    path.write_bytes(TWO_STEPS.replace(b"regional", b"regional_c"))
    out = CliRunner().invoke(cli.main, ["deploy", str(path), "--region", "徐州市"])
    assert out.exit_code == 0, out.output
    assert engine.repository.definitions(key="regional_c")[0]["region"] == "徐州市"
    # the administrator page: the form's region field, shown in the list
    page = c.get("/admin/processes").get_data(as_text=True)
    assert 'name="region"' in page
    r = c.post("/admin/deploy", data={"csrf_token": token(page), "activate": "1", "region": "安宁市",
                                      "files": (io.BytesIO(TWO_STEPS.replace(b"regional", b"regional_d")), "d.bpmn")},
               content_type="multipart/form-data")
    assert r.status_code in (200, 302), r.get_data(as_text=True)[:500]
    assert engine.repository.definitions(key="regional_d")[0]["region"] == "安宁市"
    assert "安宁市" in c.get("/admin/processes").get_data(as_text=True)


def test_leaders_and_supervisors_see_every_instance_of_their_region(deployed):
    e = deployed
    qy, jn, national = _start(e, "丽水市庆元县"), _start(e, "丽水市景宁县"), _start(e, None)
    e.accounts.add_user("qy_leader", "pw-1234", groups=["dashboard"], region="丽水市庆元县")
    e.accounts.add_user("city_leader", "pw-1234", groups=["dashboard"])
    e.accounts.add_user("clerk", "pw-1234", groups=["elsewhere"], region="丽水市庆元县")
    assert {i["id"] for i in e.access.instances("qy_leader")} == {qy, national}
    assert e.access.can_see_instance("qy_leader", qy) and not e.access.can_see_instance("qy_leader", jn)
    assert {i["id"] for i in e.access.instances("city_leader")} == {qy, jn, national}
    assert e.access.instances("clerk") == [] and not e.access.can_see_instance("clerk", qy)
    # seeing is not acting: a leader is no candidate of the task
    with pytest.raises(Forbidden):
        e.tasks.claim(e.tasks.list(instance_id=qy)[0]["id"], "qy_leader")


def test_a_folder_deployed_without_a_name_gets_a_name_that_fits(engine):
    """The default name lists the files: the bundled folder lists more than 200 characters."""
    from tests.conftest import BPMN
    r = engine.repository.deploy([str(BPMN)], user="admin")
    name = engine.repository.versions("appeal_basic")[0]["deployment"]
    assert r.created and len(name) == 200 and name.endswith("…") and name.startswith("an_four_ways.bpmn")
