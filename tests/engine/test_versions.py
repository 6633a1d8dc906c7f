"""Versions of a process: who deployed each and when, which one new instances start on
(activation, staging), what changed between two, and that running instances keep theirs."""
import re

import pytest

from qihu.engine.errors import NotFound

from tests.bpmn_util import bpmn, chain

V1 = bpmn("variant", f"""<bpmn:startEvent id="s" name="开始" />
<bpmn:userTask id="Task_accept" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="Task_handle" name="办理" camunda:candidateGroups="dept" />
<bpmn:endEvent id="e" name="结束" />
{chain("s", "Task_accept", "Task_handle", "e")}""", name="区域变体")

# v2: the handling step gets a deadline, a review step is added, nothing is removed but a flow
V2 = bpmn("variant", f"""<bpmn:startEvent id="s" name="开始" />
<bpmn:userTask id="Task_accept" name="受理" camunda:candidateGroups="acceptor" />
<bpmn:userTask id="Task_handle" name="办理" camunda:candidateGroups="dept" camunda:dueDate="${{workdays(5)}}" />
<bpmn:userTask id="Task_review" name="复核" camunda:candidateGroups="supervisor" />
<bpmn:endEvent id="e" name="结束" />
{chain("s", "Task_accept", "Task_handle", "Task_review", "e")}""", name="区域变体")


def elements(items):
    return [(i["id"], i["type"]) for i in items]


def test_versions_list_who_deployed_when_and_which_is_active(engine):
    engine.repository.deploy([("variant.bpmn", V1)], user="admin")
    iid = engine.runtime.start("variant")
    engine.repository.deploy([("variant.bpmn", V2)], user="designer")
    v = engine.repository.versions("variant")
    assert [(x["version"], x["deployed_by"], x["active"], x["pinned"], x["running"]) for x in v] == [
        (1, "admin", False, False, 1), (2, "designer", True, False, 0)]
    assert v[0]["deployed_at"] == "2026-11-02T01:00:00+00:00"       # the engine's clock
    # new instances take v2; the running one stays on v1 and finishes there
    new = engine.runtime.start("variant")
    assert engine.runtime.get(new)["definition_id"] == v[1]["id"]
    assert engine.runtime.get(iid)["definition_id"] == v[0]["id"]
    for user, group in (("li", "acceptor"), ("wang", "dept")):
        engine.tasks.add_member(user, group)
        [t] = engine.tasks.list(instance_id=iid)
        engine.tasks.complete(t["id"], user, {})
    assert engine.runtime.get(iid)["status"] == "completed"        # v1's path: no review step


def test_activating_an_older_version_and_staging_a_new_one(engine):
    engine.repository.deploy([("variant.bpmn", V1)])
    engine.repository.deploy([("variant.bpmn", V2)])
    v = engine.repository.activate("variant", 1, user="admin")
    assert [(x["version"], x["active"], x["pinned"]) for x in v] == [(1, True, True), (2, False, False)]
    assert [d["version"] for d in engine.repository.definitions(key="variant")] == [1]
    iid = engine.runtime.start("variant")
    assert engine.runtime.get(iid)["definition_id"] == v[0]["id"]
    # a staged v3 does not move the choice; an activated deploy does
    v3 = V2.replace(b'name="\xe5\xa4\x8d\xe6\xa0\xb8"', 'name="复核（督查室）"'.encode())
    engine.repository.deploy([("variant.bpmn", v3)], activate=False)
    assert [x["version"] for x in engine.repository.versions("variant") if x["active"]] == [1]
    engine.repository.activate("variant", 3)
    assert engine.repository.definitions(key="variant")[0]["version"] == 3
    with pytest.raises(NotFound, match="no definition 'variant' version 9"):
        engine.repository.activate("variant", 9)
    with pytest.raises(NotFound):
        engine.repository.versions("nothing")


def test_staging_the_second_version_pins_the_first(engine):
    engine.repository.deploy([("variant.bpmn", V1)])
    engine.repository.deploy([("variant.bpmn", V2)], activate=False)
    assert [(x["version"], x["active"]) for x in engine.repository.versions("variant")] == [(1, True), (2, False)]
    assert engine.runtime.start("variant", version=2)                # an explicit version still starts


def test_diff_lists_added_removed_and_changed_elements(engine):
    engine.repository.deploy([("variant.bpmn", V1)])
    engine.repository.deploy([("variant.bpmn", V2)])
    d = engine.repository.diff("variant", 1, 2)
    assert (d["from"], d["to"]) == (1, 2)
    assert elements(d["added"]) == [("Task_review", "userTask"), ("f_Task_handle_Task_review", "sequenceFlow"),
                                    ("f_Task_review_e", "sequenceFlow")]
    assert elements(d["removed"]) == [("f_Task_handle_e", "sequenceFlow")]
    assert elements(d["changed"]) == [("Task_handle", "userTask")]       # its new deadline
    assert d["added"][0]["name"] == "复核"
    back = engine.repository.diff("variant", 2, 1)
    assert elements(back["removed"]) == elements(d["added"])
    assert engine.repository.diff("variant", 1, 1) == {"key": "variant", "from": 1, "to": 1,
                                                       "added": [], "removed": [], "changed": []}


def test_moving_shapes_is_not_a_change(engine):
    """A designer who only tidies the layout (BPMNDI) changes no behaviour."""
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "bpmn" / "appeal_basic.bpmn"
    text = path.read_text(encoding="utf-8")
    moved = text.replace('<dc:Bounds x="', '<dc:Bounds x="1', 3)
    assert moved != text
    engine.repository.deploy([("appeal_basic.bpmn", text)])
    engine.repository.deploy([("appeal_basic.bpmn", moved)])
    assert engine.repository.diff("appeal_basic", 1, 2) == {"key": "appeal_basic", "from": 1, "to": 2,
                                                            "added": [], "removed": [], "changed": []}


def test_cli_versions_activate_diff_and_staged_deploy(engine, db_url, tmp_path):
    from click.testing import CliRunner
    from qihu.cli import main

    def qihu(*args):
        r = CliRunner().invoke(main, list(args), env={"QIHU_DATABASE_URL": db_url}, catch_exceptions=False)
        return r.exit_code, r.output

    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    (tmp_path / "v1" / "variant.bpmn").write_bytes(V1)
    (tmp_path / "v2" / "variant.bpmn").write_bytes(V2)
    assert qihu("deploy", str(tmp_path / "v1"), "--user", "admin") == (0, "variant v1\n")
    assert qihu("deploy", str(tmp_path / "v2"), "--no-activate") == (0, "variant v2 (staged: not active)\n")
    code, out = qihu("versions", "variant")
    lines = out.splitlines()
    assert code == 0 and re.fullmatch(r"\* v1\t\d{4}-\d\d-\d\d \d\d:\d\d\tadmin\t0 running\t区域变体", lines[0])
    assert lines[1].startswith("  v2\t")
    assert qihu("activate", "variant", "2", "--user", "admin") == (0, "variant v2 is active\n")
    assert qihu("versions", "variant")[1].splitlines()[1].startswith("* v2")
    code, out = qihu("diff", "variant", "1", "2")
    assert code == 0 and out.splitlines() == ["+ Task_review\tuserTask\t复核", "+ f_Task_handle_Task_review\tsequenceFlow\t",
                                              "+ f_Task_review_e\tsequenceFlow\t", "- f_Task_handle_e\tsequenceFlow\t",
                                              "~ Task_handle\tuserTask\t办理"]
    code, out = qihu("activate", "variant", "7")
    assert code != 0 and "no definition 'variant' version 7" in out


def test_api_versions_activate_diff_and_staged_deploy(engine):
    from qihu.web.app import create_app
    engine.accounts.add_user("admin", "pw-for-tests", groups=["admin"], is_admin=True)
    engine.accounts.add_user("li", "pw-for-tests", groups=["acceptor"])
    c = create_app(engine=engine, config={"TESTING": True, "QIHU_TRUST_USER_HEADER": True}).test_client()
    admin, li = {"X-Qihu-User": "admin"}, {"X-Qihu-User": "li"}
    assert c.post("/api/deployments", json={"files": [{"name": "variant.bpmn", "content": V1.decode()}]},
                  headers=admin).status_code == 201
    staged = c.post("/api/deployments", json={"activate": False,
                                              "files": [{"name": "variant.bpmn", "content": V2.decode()}]}, headers=admin)
    assert staged.status_code == 201
    v = c.get("/api/definitions/variant/versions", headers=li).get_json()
    assert [(x["version"], x["active"], x["deployed_by"]) for x in v] == [(1, True, "admin"), (2, False, "admin")]
    d = c.get("/api/definitions/variant/diff?from=1&to=2", headers=li).get_json()
    assert [x["id"] for x in d["changed"]] == ["Task_handle"]
    assert c.post("/api/definitions/variant/activate", json={"version": 2}, headers=li).status_code == 403
    r = c.post("/api/definitions/variant/activate", json={"version": 2}, headers=admin)
    assert r.status_code == 200 and [x["version"] for x in r.get_json() if x["active"]] == [2]
    # bad input: what and where
    assert "version is required" in c.post("/api/definitions/variant/activate", json={}, headers=admin).get_json()["error"]
    assert c.post("/api/definitions/variant/activate", json={"version": 5}, headers=admin).status_code == 404
    assert "from and to" in c.get("/api/definitions/variant/diff?from=1", headers=li).get_json()["error"]
    assert c.get("/api/definitions/variant/diff?from=1&to=x", headers=li).status_code == 400
    assert c.get("/api/definitions/nothing/versions", headers=li).status_code == 404


def test_an_elements_meaning_ignores_how_the_xml_was_written():
    """bpmn-js writes a form field's validation before its values, drops or adds namespace
    declarations and may use other prefixes: none of that is a change. The order of the
    values themselves is."""
    from lxml import etree
    from qihu.engine.dialect.meaning import meaning

    def task(xml):
        return etree.fromstring(xml).find(".//{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask")

    head = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"{extra}><bpmn:process id="p">{body}</bpmn:process>'
            '</bpmn:definitions>')
    values = '<camunda:value id="a" name="甲" /><camunda:value id="b" name="乙" />'
    rule = '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'

    def field(inner):
        return ('<bpmn:userTask id="t" name="办理" camunda:assignee="li"><bpmn:extensionElements><camunda:formData>'
                f'<camunda:formField id="k" type="enum">{inner}</camunda:formField></camunda:formData>'
                '</bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming></bpmn:userTask>')
    saved_by_modeler = task(head.format(extra="", body=field(values + rule)))
    saved_by_bpmn_js = task(head.format(extra=' xmlns:modeler="http://camunda.org/schema/modeler/1.0"',
                                        body=field(rule + values).replace("<bpmn:incoming>f1</bpmn:incoming>",
                                                                          "<bpmn:incoming>f9</bpmn:incoming>")))
    other_prefix = task(head.replace("bpmn:", "bpmn2:").replace("xmlns:bpmn=", "xmlns:bpmn2=")
                        .format(extra="", body=field(values + rule).replace("bpmn:", "bpmn2:")))
    assert meaning(saved_by_modeler) == meaning(saved_by_bpmn_js) == meaning(other_prefix)
    swapped = task(head.format(extra="", body=field(values.replace('"a" name="甲"', '"x"').replace(
        '"b" name="乙"', '"a" name="甲"').replace('"x"', '"b" name="乙"') + rule)))
    assert meaning(swapped) != meaning(saved_by_modeler)            # the enum's order is its meaning


def test_a_changed_timer_or_form_field_is_a_change_of_its_element_even_with_ids_of_their_own(engine):
    """Camunda Modeler gives event definitions and form fields ids: they are parts of their
    element, so changing a timer's duration or an enum's values changes that element."""
    from tests.bpmn_util import bpmn, chain

    def doc(duration, label):
        return bpmn("parts", f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="fill" name="填写" camunda:candidateGroups="clerks">
  <bpmn:extensionElements><camunda:formData>
    <camunda:formField id="kind" label="{label}" type="string" />
  </camunda:formData></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:intermediateCatchEvent id="wait" name="等待">
  <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:endEvent id="e" />
{chain("s", "fill", "wait", "e")}""")
    engine.repository.deploy([("parts.bpmn", doc("PT1H", "类别"))])
    engine.repository.deploy([("parts.bpmn", doc("PT2H", "类别"))])
    engine.repository.deploy([("parts.bpmn", doc("PT2H", "种类"))])
    assert [c["id"] for c in engine.repository.diff("parts", 1, 2)["changed"]] == ["wait"]
    assert [c["id"] for c in engine.repository.diff("parts", 2, 3)["changed"]] == ["fill"]
