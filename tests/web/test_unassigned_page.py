"""待分派 (web/pages/unassigned.py), issue 14 finding 1: the queue of user tasks that name nobody,
for administrators and the dispatcher group within their region; assign and offer with CSRF;
the header's link and count, the inbox's tab; deploy warnings on the admin page, the REST API
and the command line. Real diagrams as Camunda Modeler saved them. On SQLite and PostgreSQL.
"""
import html as htmllib
import io
import re

import pytest
from click.testing import CliRunner

from qihu.web.app import create_app

from tests.conftest import DATA
from tests.web_util import PASSWORD, sign_in, token

REAL = DATA / "real"
JUNIT = REAL / "camex__junit5-testProcess.bpmn"
INVOICE = REAL / "camex__invoicePayment.bpmn"
HZ, LS = "湖州市", "丽水市"
PEOPLE = {  # name -> (display, groups, region, is_admin)
    "boss": ("系统管理员", [], None, True),
    "disp": ("张分派", ["dispatcher"], None, False),
    "hz_disp": ("湖州分派员", ["dispatcher"], HZ, False),
    "li": ("李科员", ["clerks"], None, False),
    "hz_clerk": ("湖州科员", ["clerks"], HZ, False),
}


class World:
    def __init__(self, engine):
        self.engine = engine
        for name, (display, groups, region, admin) in PEOPLE.items():
            engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups, region=region,
                                     is_admin=admin)
        engine.repository.deploy([str(JUNIT)], region=HZ)
        engine.repository.deploy([("invoice.bpmn", INVOICE.read_bytes())], region=LS)
        self.hz = engine.runtime.start("testProcess", business_key="HZ-7")
        self.ls = engine.runtime.start("embeddedFormsBpmnEvents", business_key="LS-9")
        [self.hz_task] = engine.tasks.list(instance_id=self.hz)
        [self.ls_task] = engine.tasks.list(instance_id=self.ls)
        self.app = create_app(engine=engine, config={"TESTING": True})

    def client(self, name):
        c = self.app.test_client()
        assert sign_in(c, name).status_code == 302
        return c


@pytest.fixture
def world(engine):
    return World(engine)


def rows(html):
    return re.findall(r'<tr data-task="([^"]+)">', html)


def flashes(html):
    return [htmllib.unescape(t) for t in re.findall(r'class="qh-flash qh-flash-\w+" role="status">(.*?)</div>', html, re.S)]


def post(client, url, data):
    page = client.get("/inbox/unassigned").get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": token(page), "next": "/inbox/unassigned"})


def test_the_queue_by_role_and_region(world):
    boss = world.client("boss").get("/inbox/unassigned").get_data(as_text=True)
    assert set(rows(boss)) == {world.hz_task["id"], world.ls_task["id"]}
    assert "Handle \nRequest" in boss and "Pay Invoice" in boss and "HZ-7" in boss and "LS-9" in boss
    assert 'data-total="2"' in boss and 'data-unassigned="2"' in boss          # the header's count
    assert f'/instances/{world.hz}' in boss                                     # administrators open the instance
    disp = world.client("disp").get("/inbox/unassigned").get_data(as_text=True)
    assert set(rows(disp)) == {world.hz_task["id"], world.ls_task["id"]} and f'/instances/{world.hz}' not in disp
    hz = world.client("hz_disp").get("/inbox/unassigned").get_data(as_text=True)
    assert rows(hz) == [world.hz_task["id"]] and "湖州科员" in hz and 'value="clerks"' in hz
    only_ls = world.client("boss").get(f"/inbox/unassigned?region={LS}").get_data(as_text=True)
    assert rows(only_ls) == [world.ls_task["id"]]
    # the inbox's tab and the header link are for dispatchers only
    inbox = world.client("disp").get("/inbox").get_data(as_text=True)
    assert 'class="qh-tabs"' in inbox and 'href="/inbox/unassigned"' in inbox
    li = world.client("li")
    inbox = li.get("/inbox").get_data(as_text=True)
    assert "/inbox/unassigned" not in inbox          # the desk's tabs without 待分派
    r = li.get("/inbox/unassigned")
    assert r.status_code == 403 and "待分派任务仅限管理员和分派员处理" in r.get_data(as_text=True)


def test_assign_and_offer_from_the_page(world):
    e = world.engine
    disp = world.client("disp")
    r = post(disp, f"/inbox/unassigned/{world.hz_task['id']}/assign", {"to_user": "hz_clerk", "note": "请跟进"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox/unassigned")
    page = disp.get("/inbox/unassigned").get_data(as_text=True)
    assert "已将「Handle \nRequest」指派给 湖州科员" in flashes(page)
    assert rows(page) == [world.ls_task["id"]]
    assert e.tasks.get(world.hz_task["id"])["assignee"] == "hz_clerk"

    r = post(disp, f"/inbox/unassigned/{world.ls_task['id']}/offer", {"groups": "clerks", "users": ""})
    page = disp.get("/inbox/unassigned").get_data(as_text=True)
    assert "已将「Pay Invoice」分派给 clerks，待其认领" in flashes(page) and rows(page) == []
    assert "没有待分派的任务" in page
    inbox = world.client("li").get("/inbox").get_data(as_text=True)
    assert f'data-task="{world.ls_task["id"]}"' in inbox
    trail = [t["text"] for t in __import__("qihu.appeals", fromlist=["of"]).of(e).trail(world.hz)]
    assert "「Handle \nRequest」待分派" in trail
    assert any(t.startswith("将「Handle \nRequest」指派给湖州科员，说明：请跟进") for t in trail)


def test_refusals_are_said_on_the_page(world):
    hz = world.client("hz_disp")
    r = post(hz, f"/inbox/unassigned/{world.hz_task['id']}/assign", {"to_user": "nobody"})
    assert "分派未完成：没有在职用户 nobody" in flashes(hz.get("/inbox/unassigned").get_data(as_text=True))
    r = post(hz, f"/inbox/unassigned/{world.hz_task['id']}/offer", {"groups": "ghosts"})
    assert "分派未完成：候选组 ghosts 没有在岗成员" in flashes(hz.get("/inbox/unassigned").get_data(as_text=True))
    r = post(hz, f"/inbox/unassigned/{world.ls_task['id']}/assign", {"to_user": "li"})      # another region
    assert r.status_code == 403
    boss = world.client("boss")
    post(boss, f"/inbox/unassigned/{world.hz_task['id']}/assign", {"to_user": "li"})
    post(hz, f"/inbox/unassigned/{world.hz_task['id']}/assign", {"to_user": "hz_clerk"})     # too late
    assert "分派未完成：该任务已被他人分派或已办结，请刷新后查看" in flashes(hz.get("/inbox/unassigned").get_data(as_text=True))
    assert world.engine.tasks.get(world.hz_task["id"])["assignee"] == "li"
    # without the page's token nothing happens
    r = world.client("boss").post(f"/inbox/unassigned/{world.ls_task['id']}/assign", data={"to_user": "li"})
    assert r.status_code == 400 and world.engine.tasks.get(world.ls_task["id"])["assignee"] is None


def test_every_post_form_carries_a_csrf_token(world):
    html = world.client("boss").get("/inbox/unassigned").get_data(as_text=True)
    forms = re.findall(r'<form method="post".*?</form>', html, re.S)
    assert len(forms) == 5                           # sign out, and assign + offer for each of two tasks
    assert all('name="csrf_token"' in f for f in forms)


def test_english(world):
    html = world.client("disp").get("/inbox/unassigned?lang=en").get_data(as_text=True)
    assert "Unassigned" in html and "Assign to a person" in html and "Offer to groups" in html
    assert "待分派" not in re.sub(r"<[^>]+>", "", html.split("<main", 1)[1])


# -- deploy warnings: the admin page, the REST API, the command line ------------------------------
def test_the_admin_page_shows_the_warnings(engine):
    engine.accounts.add_user("boss", PASSWORD, is_admin=True)
    c = create_app(engine=engine, config={"TESTING": True}).test_client()
    sign_in(c, "boss")
    page = c.get("/admin/processes").get_data(as_text=True)
    r = c.post("/admin/deploy", data={"files": (io.BytesIO(INVOICE.read_bytes()), INVOICE.name),
                                      "csrf_token": token(page)}, content_type="multipart/form-data")
    assert r.status_code == 302
    html = c.get("/admin/processes").get_data(as_text=True)
    warned = [t for t in flashes(html) if t.startswith("部署提醒：")]
    assert len(warned) == 3 and 'qh-flash-warn' in html
    assert any(t.startswith(f"部署提醒：{INVOICE.name}:") and "[Task_16y91ka] 用户任务「Pay Invoice」" in t for t in warned)


def test_the_rest_api_and_the_cli_give_the_warnings(engine, db_url):
    app = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True})
    engine.accounts.add_user("boss", PASSWORD, is_admin=True)
    c = app.test_client()
    boss = {"X-Qihu-User": "boss"}
    r = c.post("/api/deployments/check", headers=boss, data={"files": (io.BytesIO(JUNIT.read_bytes()), JUNIT.name)},
               content_type="multipart/form-data")
    assert r.get_json()["ok"] and [w["element"] for w in r.get_json()["warnings"]] == ["UserTask_1"]
    r = c.post("/api/deployments", headers=boss, data={"files": (io.BytesIO(JUNIT.read_bytes()), JUNIT.name)},
               content_type="multipart/form-data")
    assert r.status_code == 201
    [w] = r.get_json()["warnings"]
    assert w["file"] == JUNIT.name and w["element"] == "UserTask_1" and w["line"] and "待分派" in w["message"]
    iid = c.post("/api/instances", headers=boss, json={"key": "testProcess", "business_key": "API-1"}).get_json()["id"]
    page = c.get("/api/tasks/unassigned", headers=boss).get_json()
    assert page["total"] == 1 and page["tasks"][0]["instance_id"] == iid and page["tasks"][0]["business_key"] == "API-1"
    tid = page["tasks"][0]["id"]
    engine.tasks.add_member("li", "clerks")
    r = c.post(f"/api/tasks/{tid}/offer", headers=boss, json={"groups": "clerks"})
    assert r.status_code == 200 and r.get_json()["candidate_groups"] == ["clerks"]
    r = c.post(f"/api/tasks/{tid}/assign", headers=boss, json={"user": "li"})
    assert r.status_code == 409 and "已分派" in r.get_json()["error"]
    r = c.post(f"/api/tasks/{tid}/offer", headers=boss, json={"groups": {"x": 1}})
    assert r.status_code == 400
    r = c.get("/api/tasks/unassigned", headers={"X-Qihu-User": "li"})
    assert r.status_code == 403 and "仅管理员和分派员" in r.get_json()["error"]

    from qihu.cli import main
    env = {"QIHU_DATABASE_URL": db_url}
    result = CliRunner().invoke(main, ["deploy", str(INVOICE)], env=env, catch_exceptions=False)
    assert result.exit_code == 0 and "embeddedFormsBpmnEvents v1" in result.stdout
    lines = [x for x in result.stderr.splitlines() if x.startswith("warning: ")]
    assert len(lines) == 3 and all(re.match(rf"warning: {re.escape(INVOICE.name)}:\d+ \[Task_\w+\]: 用户任务", x)
                                   for x in lines), lines
    CliRunner().invoke(main, ["start", "embeddedFormsBpmnEvents", "--business-key", "CLI-1"], env=env)
    listed = CliRunner().invoke(main, ["unassigned"], env=env, catch_exceptions=False).stdout
    assert "CLI-1/Task_16y91ka" in listed
    result = CliRunner().invoke(main, ["assign", "CLI-1/Task_16y91ka", "li", "--user", "li"], env=env)
    assert result.exit_code == 1 and "仅管理员和分派员" in result.stderr
    result = CliRunner().invoke(main, ["assign", "CLI-1/Task_16y91ka", "li", "--user", "boss"], env=env)
    assert result.exit_code == 0 and "assigned to li" in result.stdout
    assert "CLI-1" not in CliRunner().invoke(main, ["unassigned"], env=env).stdout
