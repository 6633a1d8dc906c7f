"""The modeler page in a real browser (Debian Chromium): an administrator opens the deployed v1
of docs/examples/minimal_appeal.bpmn from the process list, sees the Camunda 7 properties of
a user task in the properties panel, changes its name and candidate groups there, checks and
deploys it as v2; the instance started on v1 stays on v1 and finishes there. A lint failure
(an external task's topic with no handler) is listed with its element, a click on it selects
the element, and deploying it stores nothing. The palette, context pad, replace menu and
properties panel speak Chinese on the default page and English with ?lang=en
(web/frontend/src/zh-cn.js). Any console error fails the test.
Screenshots: tests/artifacts/modeler_*.png.
"""
import re

import pytest
from playwright.sync_api import expect

from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, ROOT, START
from tests.web_util import PASSWORD, browser_sign_in, live_server

EXAMPLE = ROOT / "docs" / "examples" / "minimal_appeal.bpmn"


@pytest.fixture
def server(tmp_path):
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=ManualClock(START))
    engine.accounts.add_user("admin", PASSWORD, display_name="系统管理员", groups=["admin"], is_admin=True)
    engine.repository.deploy([str(EXAMPLE)], user="admin")
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-modeler"})
    with live_server(app) as base:
        yield base, engine
    engine.close()


@pytest.fixture
def errors(page):
    """Console errors and uncaught exceptions of the page (the test fails on any)."""
    seen = []
    page.on("console", lambda m: seen.append(f"{m.type}: {m.text} @ {m.location.get('url')}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))
    return seen


def sign_in(page, base):
    browser_sign_in(page, base, "admin")


def open_modeler(page, base, errors):
    page.goto(f"{base}/admin/processes")
    page.click('tr[data-key="minimal_appeal"] a:has-text("在浏览器中编辑")')
    page.wait_for_url(f"{base}/admin/modeler/minimal_appeal")
    expect(page.locator('#qh-modeler-canvas[data-ready="1"]')).to_have_count(1)
    errors.clear()              # the sign-in pages' missing favicon is not the modeler's


def select(page, element_id):
    """Select an element by clicking it (a click on a selected element would deselect it)."""
    selected = page.locator(f'#qh-modeler-canvas .djs-element.selected[data-element-id="{element_id}"]')
    if selected.count() == 0:
        page.click(f'#qh-modeler-canvas .djs-element[data-element-id="{element_id}"]')
    expect(selected).to_have_count(1)


def group(page, group_id):
    """Open a group of the properties panel (closed ones are collapsed)."""
    header = page.locator(f'.bio-properties-panel-group[data-group-id="{group_id}"] .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def test_designer_edits_in_the_browser_and_deploys_v2_while_v1_finishes_on_v1(page, server, errors):
    base, engine = server
    engine.tasks.add_member("bumen", "dept_general")
    old = engine.runtime.start("minimal_appeal", {"company": "甲公司", "summary": "用电增容"},
                               business_key="OLD-1", user="admin")
    sign_in(page, base)
    open_modeler(page, base, errors)
    assert "基于 v1 编辑" in page.locator(".qh-pagehead").inner_text()
    assert page.locator(".djs-palette").count() == 1 and page.locator(".bjs-powered-by").count() == 1   # the watermark stays
    # the palette's icons come from the bpmn font: a glyph is drawn, not an empty box
    assert page.evaluate("document.fonts.check('16px bpmn')")
    page.screenshot(path=str(ARTIFACTS / "modeler_open.png"))

    select(page, "Task_handle")
    header = page.locator(".bio-properties-panel-header")
    expect(header).to_contain_text("部门办理")
    group(page, "group-CamundaPlatform__UserAssignment")
    candidates = page.locator("#bio-properties-panel-candidateGroups")
    expect(candidates).to_have_value("dept_general")                # camunda:candidateGroups
    expect(page.locator("#bio-properties-panel-dueDate")).to_have_value("${workdays(5)}")
    group(page, "group-CamundaPlatform__FormData")
    expect(page.locator('.bio-properties-panel-group[data-group-id="group-CamundaPlatform__FormData"]')).to_contain_text("reply")

    # change it through the panel: the name (General) and the candidate groups
    candidates.fill("dept_general,dept_policy")
    group(page, "group-general")
    page.fill("#bio-properties-panel-name", "部门办理并答复")
    expect(page.locator('#qh-modeler-canvas .djs-element[data-element-id="Task_handle"]')).to_contain_text("部门办理并答复")
    page.screenshot(path=str(ARTIFACTS / "modeler_properties.png"))

    page.click("#qh-modeler-check")
    result = page.locator("#qh-modeler-result")
    expect(result).to_have_attribute("data-state", "ok")
    expect(result).to_contain_text("检查通过，没有发现问题。")
    assert [v["version"] for v in engine.repository.versions("minimal_appeal")] == [1]    # checking stores nothing

    page.click("#qh-modeler-deploy")
    expect(result).to_contain_text("已部署 minimal_appeal v2")
    page.screenshot(path=str(ARTIFACTS / "modeler_deployed.png"))

    # v2 holds the change and is active; v1's instance stays on v1 and finishes there
    rows = engine.repository.versions("minimal_appeal")
    assert [(v["version"], v["active"], v["deployed_by"]) for v in rows] == [(1, False, "admin"), (2, True, "admin")]
    info, xml = engine.repository.xml("minimal_appeal", 2)
    xml = xml.decode("utf-8")
    assert re.search(r'<bpmn:userTask id="Task_handle" name="部门办理并答复" '
                     r'camunda:candidateGroups="dept_general,dept_policy"', xml), xml[:2000]
    assert 'camunda:topic="supervision.letter"' in xml and 'camunda:formField id="reply"' in xml
    assert engine.runtime.get(old)["definition_id"] == rows[0]["id"]
    [task] = engine.tasks.list(instance_id=old)
    assert task["name"] == "部门办理"
    engine.tasks.complete(task["id"], "bumen", {"reply": "已协调供电公司", "responsible_unit": "区发改局"})
    assert engine.runtime.get(old)["status"] == "completed"
    new = engine.runtime.start("minimal_appeal", {"company": "乙公司", "summary": "用地"}, user="admin")
    assert engine.runtime.get(new)["definition_id"] == info["id"]
    engine.tasks.add_member("zhou", "dept_policy")                  # the new candidate group works on v2
    assert [t["name"] for t in engine.tasks.list(user="zhou")] == ["部门办理并答复"]

    result.locator("a:has-text('查看版本')").click()
    page.wait_for_url(f"{base}/admin/processes/minimal_appeal")
    assert "✔" in page.locator('tr[data-version="2"]').inner_text()
    assert errors == []


def test_a_lint_failure_is_listed_selectable_and_nothing_is_deployed(page, server, errors):
    base, engine = server
    sign_in(page, base)
    open_modeler(page, base, errors)
    select(page, "Task_letter")
    group(page, "group-CamundaPlatform__Implementation")
    topic = page.locator("#bio-properties-panel-externalTopic")
    expect(topic).to_have_value("supervision.letter")
    topic.fill("no.such.topic")

    select(page, "StartEvent_received")                             # away from the task, so the click below selects it
    page.click("#qh-modeler-check")
    result = page.locator("#qh-modeler-result")
    expect(result).to_have_attribute("data-state", "bad")
    expect(result).to_contain_text("发现 1 个问题")
    row = result.locator('tr[data-element="Task_letter"]')
    expect(row).to_contain_text("no.such.topic")
    line = next(i for i, t in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), 1) if 'id="Task_letter"' in t)
    assert row.locator("td").nth(1).inner_text() == str(line)      # the line in the XML the modeler sends
    expect(page.locator('#qh-modeler-canvas .djs-element.qh-problem[data-element-id="Task_letter"]')).to_have_count(1)
    row.click()
    expect(page.locator('#qh-modeler-canvas .djs-element.selected[data-element-id="Task_letter"]')).to_have_count(1)
    expect(page.locator(".bio-properties-panel-header")).to_contain_text("发督办函")
    page.screenshot(path=str(ARTIFACTS / "modeler_lint.png"))

    page.select_option("#qh-modeler-activate", "0")                # staged or not, nothing is stored
    page.click("#qh-modeler-deploy")
    expect(result).to_contain_text("部署未完成，没有保存任何文件")
    expect(result.locator('tr[data-element="Task_letter"]')).to_have_count(1)
    assert [v["version"] for v in engine.repository.versions("minimal_appeal")] == [1]

    # put back: the modeler writes the file out unchanged, so no new version
    select(page, "Task_letter")
    topic.fill("supervision.letter")
    page.click("#qh-modeler-deploy")
    expect(result).to_contain_text("内容与已部署的版本相同，未新建版本：minimal_appeal v1")
    # another registered topic: deploys, staged, v1 stays active
    topic.fill("supervision.warning")
    page.click("#qh-modeler-deploy")
    expect(result).to_contain_text("已部署但未启用（新实例仍按当前启用的版本发起）：minimal_appeal v2")
    assert [(v["version"], v["active"]) for v in engine.repository.versions("minimal_appeal")] == [(1, True), (2, False)]
    # Chromium logs the refused deploy's 422 answer (the page shows it); nothing else may be logged
    refused = [e for e in errors if "status of 422" in e and e.endswith("/admin/modeler/deploy")]
    assert len(refused) == 1 and [e for e in errors if e not in refused] == [], errors


def test_deploy_warnings_are_listed_as_warnings_not_problems(page, server, errors):
    """Issue 14: a user task naming nobody deploys (it waits in the 待分派 queue); the check and
    the deploy answers carry it as a warning, which the page lists apart from problems."""
    base, engine = server
    sign_in(page, base)
    open_modeler(page, base, errors)
    select(page, "Task_handle")
    group(page, "group-CamundaPlatform__UserAssignment")
    page.locator("#bio-properties-panel-candidateGroups").fill("")     # now it names nobody

    select(page, "StartEvent_received")
    page.click("#qh-modeler-check")
    result = page.locator("#qh-modeler-result")
    expect(result).to_have_attribute("data-state", "warn")
    expect(result).to_contain_text("检查通过，可以部署。")
    expect(result).to_contain_text("有 1 个警告（不影响部署，请留意）：")
    assert result.locator("table.qh-modeler-problems").count() == 0
    row = result.locator('table.qh-modeler-warnings tr.is-warning[data-element="Task_handle"]')
    expect(row).to_contain_text("待分派")
    expect(row).to_contain_text("「部门办理」")
    assert result.locator("th").nth(3).inner_text() == "警告"
    expect(page.locator('#qh-modeler-canvas .djs-element.qh-warning[data-element-id="Task_handle"]')).to_have_count(1)
    assert page.locator("#qh-modeler-canvas .djs-element.qh-problem").count() == 0
    row.click()
    expect(page.locator('#qh-modeler-canvas .djs-element.selected[data-element-id="Task_handle"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "modeler_warnings.png"))

    page.click("#qh-modeler-deploy")
    expect(result).to_contain_text("已部署 minimal_appeal v2")
    expect(result).to_have_attribute("data-state", "warn")
    expect(result.locator('table.qh-modeler-warnings tr[data-element="Task_handle"]')).to_contain_text("待分派")
    # one marker per element, however often it is listed
    expect(page.locator('#qh-modeler-canvas .djs-element.qh-warning[data-element-id="Task_handle"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "modeler_warnings_deployed.png"))
    assert [v["version"] for v in engine.repository.versions("minimal_appeal")] == [1, 2]

    # English page: the headings follow the language
    page.goto(f"{base}/admin/modeler/minimal_appeal?lang=en")
    expect(page.locator('#qh-modeler-canvas[data-ready="1"]')).to_have_count(1)
    page.click("#qh-modeler-check")
    expect(result).to_contain_text("Warnings (1); the diagram deploys, please look:")
    assert errors == []


def test_new_diagram_downloads_as_bpmn(page, server, errors):
    base, engine = server
    sign_in(page, base)
    page.goto(f"{base}/admin/processes")
    page.click("a:has-text('在浏览器中新建流程')")
    page.wait_for_url(f"{base}/admin/modeler/new")
    expect(page.locator('#qh-modeler-canvas[data-ready="1"]')).to_have_count(1)
    errors.clear()
    with page.expect_download() as download:
        page.click("#qh-modeler-download")
    assert download.value.suggested_filename == "new_process.bpmn"
    text = open(download.value.path(), encoding="utf-8").read()
    assert 'id="new_process"' in text and 'id="StartEvent_1"' in text
    page.screenshot(path=str(ARTIFACTS / "modeler_new.png"))
    assert errors == []


def panel_label(page, entry_id):
    return page.locator(f'label[for="bio-properties-panel-{entry_id}"]')


def group_title(page, group_id):
    return page.locator(f'.bio-properties-panel-group[data-group-id="{group_id}"] .bio-properties-panel-group-header-title')


def untranslated(page):
    """The templates the modeler asked its translate service for and found no Chinese text for
    (web/frontend/src/translate.js keeps them)."""
    return page.evaluate("Array.from(window.qihuModeler.get('translate').missing)")


def test_the_modeler_speaks_chinese_by_default_and_english_with_lang_en(page, server, errors):
    base, engine = server
    sign_in(page, base)
    open_modeler(page, base, errors)
    palette = page.locator(".djs-palette")
    start = palette.locator('.entry[data-action="create.start-event"]')
    expect(start).to_have_attribute("aria-label", "创建开始事件")
    expect(palette.locator('.entry[data-action="hand-tool"]')).to_have_attribute("aria-label", "抓手工具（拖动画布）")
    start.hover()                                                   # the palette's tooltip
    expect(page.locator(".djs-hover-tooltip")).to_contain_text("创建开始事件")
    page.screenshot(path=str(ARTIFACTS / "modeler_zh_palette.png"))
    page.mouse.move(0, 0)

    # a user task: the header, the groups and the Camunda 7 labels a designer fills in
    select(page, "Task_handle")
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    expect(group_title(page, "group-general")).to_have_text("常规")
    expect(group_title(page, "group-CamundaPlatform__UserAssignment")).to_have_text("办理人分配")
    expect(group_title(page, "group-CamundaPlatform__FormData")).to_have_text("表单字段")
    group(page, "group-general")
    expect(panel_label(page, "name")).to_have_text("名称")
    group(page, "group-CamundaPlatform__UserAssignment")
    expect(panel_label(page, "candidateGroups")).to_have_text("候选组")
    expect(panel_label(page, "assignee")).to_have_text("办理人（Assignee）")
    expect(panel_label(page, "dueDate")).to_have_text("截止日期（Due date）")
    page.screenshot(path=str(ARTIFACTS / "modeler_zh.png"))

    # the context pad and the replace menu ("更改元素类型")
    replace = page.locator('.djs-context-pad .entry[data-action="replace"]')
    expect(replace).to_have_attribute("title", "更改元素类型")
    expect(page.locator('.djs-context-pad .entry[data-action="append.end-event"]')).to_have_attribute("title", "追加结束事件")
    replace.click()
    menu = page.locator(".djs-popup")
    expect(menu.locator(".djs-popup-title")).to_have_text("更改元素类型")
    expect(menu.locator('[data-id="replace-with-service-task"]')).to_contain_text("服务任务")
    page.screenshot(path=str(ARTIFACTS / "modeler_zh_replace.png"))
    page.keyboard.press("Escape")

    # an external task: its type and the topic, the technical term kept in brackets
    select(page, "Task_letter")
    group(page, "group-CamundaPlatform__Implementation")
    expect(panel_label(page, "implementationType")).to_have_text("类型")
    expect(page.locator("#bio-properties-panel-implementationType option:checked")).to_have_text("外部任务（External）")
    expect(panel_label(page, "externalTopic")).to_have_text("主题（Topic）")
    select(page, "StartEvent_received")
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("开始事件")
    # everything the designer met above had a Chinese text (translate.js notes what had none)
    assert untranslated(page) == []
    # diagram-js's signature translate(template, replacements): {placeholders} filled in after
    # the lookup, an unknown one left as it is, an unknown template passed through (and noted)
    assert page.evaluate("""() => {
        const t = window.qihuModeler.get('translate');
        return [t('Open {element}', {element: '子流程'}), t('{eventType}: {type}', {eventType: '开始（start）'}),
                t('List contains {numOfItems} items', {numOfItems: 0}), t('No such text {x}', {x: 1})];
    }""") == ["打开 子流程", "开始（start）：{type}", "共 0 项", "No such text 1"]
    assert untranslated(page) == ["No such text {x}"]
    # a language the bundle does not have is refused, saying which ones it has
    message = page.evaluate("""() => {
        try { window.QihuModeler.create({container: document.createElement('div'), lang: 'fr'}); return 'created'; }
        catch (e) { return e.message; }
    }""")
    assert message == 'unknown modeler language "fr" (one of zh-CN, en)'
    assert errors == []

    # ?lang=en: the same page in English, no translation at all
    page.goto(f"{base}/admin/modeler/minimal_appeal?lang=en")
    expect(page.locator('#qh-modeler-canvas[data-ready="1"]')).to_have_count(1)
    expect(start).to_have_attribute("aria-label", "Create start event")
    start.hover()
    expect(page.locator(".djs-hover-tooltip")).to_contain_text("Create start event")
    page.mouse.move(0, 0)
    select(page, "Task_handle")
    expect(page.locator(".bio-properties-panel-header-type")).to_have_text("User Task")
    expect(group_title(page, "group-general")).to_have_text("General")
    expect(group_title(page, "group-CamundaPlatform__UserAssignment")).to_have_text("User assignment")
    group(page, "group-CamundaPlatform__UserAssignment")
    expect(panel_label(page, "candidateGroups")).to_have_text("Candidate groups")
    expect(page.locator('.djs-context-pad .entry[data-action="replace"]')).to_have_attribute("title", "Change element")
    assert page.evaluate("window.qihuModeler.get('translate').missing") is None    # diagram-js's own service
    page.screenshot(path=str(ARTIFACTS / "modeler_en.png"))
    assert errors == []
