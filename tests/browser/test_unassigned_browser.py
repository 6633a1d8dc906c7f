"""待分派 in a real browser (Debian Chromium), at desktop (1280×800) and phone (390×844) width,
issue 14 finding 1: real Camunda Modeler diagrams whose user tasks name nobody are deployed
from the admin page (the warnings shown), their tasks wait in the 待分派 queue; a dispatcher
follows the header's link, assigns one to a person and offers another to a group; the person
and the group's member find them in their inbox. No page scrolls sideways on the phone, no
script error. Screenshots: tests/artifacts/unassigned_*.png.
"""
import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.engine.config import Settings
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, START
from tests.web.test_unassigned_page import HZ, INVOICE, JUNIT, LS, PEOPLE
from tests.web_util import PASSWORD, browser_sign_in as sign_in, live_server
from tests.conftest import RELAXED_PASSWORDS   # its accounts' test passwords

DESKTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def server(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'qihu.sqlite3'}", **RELAXED_PASSWORDS)
    engine = Engine(settings=settings, clock=ManualClock(START))
    appeals.install(engine)
    for name, (display, groups, region, is_admin) in PEOPLE.items():
        engine.accounts.add_user(name, PASSWORD, display_name=display, groups=groups, region=region,
                                 is_admin=is_admin)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-unassigned"})
    with live_server(app) as base:
        yield base, engine
    engine.close()


def watch(page):
    """Script errors and failed loads, by URL (the browser's own favicon.ico request is no page's)."""
    errors = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return errors


# The right edge of the widest of these elements, less the window's width (> 0: cut off or scrolling)
SPILL = """(sel) => Math.max(0, ...[...document.querySelectorAll(sel)].map(e => e.getBoundingClientRect().right))
                      - document.documentElement.clientWidth"""


def shoot(page, name, within=None):
    """Screenshots at desktop and phone width; the page (or only the elements `within`, where the
    page around them is not ours to fix) must not scroll sideways on the phone."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"unassigned_{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    if within:
        assert page.evaluate(SPILL, within) <= 0, f"{name}: {within} is wider than the phone"
    else:
        assert page.evaluate(OVERFLOW) <= 0, f"{name}: the phone page scrolls sideways"
    page.screenshot(path=str(ARTIFACTS / f"unassigned_{name}_phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_deploy_with_warnings_then_dispatch(server, page):
    base, engine = server
    errors = watch(page)

    # the administrator deploys two real diagrams from the admin page: accepted, with warnings
    sign_in(page, base, "boss")
    page.goto(f"{base}/admin/processes")
    page.set_input_files("input[type=file]", [str(JUNIT), str(INVOICE)])
    page.click("form[action$='/admin/deploy'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/processes")
    warned = page.locator(".qh-flash-warn")
    assert warned.count() == 4
    texts = warned.all_inner_texts()
    assert sum(t.startswith("部署提醒：camex__invoicePayment.bpmn:") for t in texts) == 3
    assert any(t.startswith("部署提醒：camex__junit5-testProcess.bpmn:8 [UserTask_1] 用户任务") for t in texts)
    # the admin page's process table is wider than a phone (not this issue's): the warnings fit
    shoot(page, "deploy_warnings", within=".qh-flash")

    engine.runtime.start("testProcess", business_key="HZ-7", region=HZ)
    engine.runtime.start("embeddedFormsBpmnEvents", business_key="LS-9", region=LS)

    # a dispatcher: the header's 待分派 with its count, the queue, assign one, offer the other
    sign_in(page, base, "disp")
    badge = page.locator(".qh-nav-unassigned .qh-badge")
    assert badge.inner_text() == "2"
    assert page.locator(".qh-tabs").is_visible()
    shoot(page, "inbox_tab")
    page.click(".qh-nav-unassigned")
    page.wait_for_url(f"{base}/inbox/unassigned")
    assert page.locator("tr[data-task]").count() == 2
    shoot(page, "queue")

    hz_row = page.locator("tr[data-task]", has_text="HZ-7")
    hz_row.locator("details[data-action=assign] summary").click()
    hz_row.locator("select[name=to_user]").select_option("hz_clerk")
    hz_row.locator("details[data-action=assign] input[name=note]").fill("请今天内处理")
    shoot(page, "assign_open")
    hz_row.locator("details[data-action=assign] button[type=submit]").click()
    page.wait_for_load_state()
    assert "指派给 湖州科员" in page.locator(".qh-flash-ok").inner_text()
    assert page.locator("tr[data-task]").count() == 1

    ls_row = page.locator("tr[data-task]", has_text="LS-9")
    ls_row.locator("details[data-action=offer] summary").click()
    ls_row.locator("input[name=groups]").fill("clerks")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    assert page.evaluate(OVERFLOW) <= 0, "the open offer form scrolls sideways on the phone"
    page.screenshot(path=str(ARTIFACTS / "unassigned_offer_open_phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    ls_row.locator("details[data-action=offer] button[type=submit]").click()
    page.wait_for_load_state()
    assert "分派给 clerks，待其认领" in page.locator(".qh-flash-ok").inner_text()
    assert page.locator("tr[data-task]").count() == 0
    shoot(page, "done")

    # the person and the group's member find them in their inbox
    sign_in(page, base, "hz_clerk")
    assert page.locator("tr[data-task]", has_text="HZ-7").count() == 1
    sign_in(page, base, "li")
    assert page.locator("tr[data-task]", has_text="LS-9").count() == 1
    assert page.locator(".qh-nav-unassigned").count() == 0
    assert errors == []
