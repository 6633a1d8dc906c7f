"""The 晾晒评价 dashboard in a real browser (Debian Chromium): a 湖州 leader opens it from the
header, the ECharts trend charts draw (canvases with ink, no console errors, nothing loaded from
another host), the ledger export downloads and parses; a department opens one of its appeals
from the warning board. Screenshots: tests/artifacts/dashboard_*.png.
"""
import openpyxl
import pytest

from qihu import appeals
from qihu.engine import Engine
from qihu.engine.clock import ManualClock
from qihu.web.app import create_app

from tests.conftest import ARTIFACTS, START
from tests.web.test_dashboard_page import seed
from tests.web_util import browser_sign_in as sign_in, live_server

# how many pixels of a chart's canvas are not blank (the axes alone are a few hundred)
INK = """id => {
  const c = document.querySelector('#' + id + ' canvas');
  if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
}"""


@pytest.fixture
def server(tmp_path):
    clock = ManualClock(START)
    engine = Engine(f"sqlite:///{tmp_path / 'qihu.sqlite3'}", clock=clock)
    appeals.install(engine)          # before the seeding steps: they keep the figures
    ids = seed(engine, clock)
    app = create_app(engine=engine, config={"SECRET_KEY": "browser-dashboard"})
    with live_server(app) as base:
        yield base, ids
    engine.close()


def test_leader_sees_charts_and_downloads_the_ledger(page, server, tmp_path):
    base, ids = server
    sign_in(page, base, "hz_leader")
    errors, foreign = [], []            # from here on (the sign-in page's favicon.ico is a 404)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(base) else None)
    page.click("header a:has-text('晾晒')")
    page.wait_for_url(f"{base}/dashboard")
    page.wait_for_selector("body[data-charts-ready='2']")
    assert page.locator("#qh-chart-volume canvas").count() == 1
    assert page.locator("#qh-chart-rates canvas").count() == 1
    page.wait_for_timeout(1200)                       # ECharts animates the series in
    assert page.evaluate(INK, "qh-chart-volume") > 2000
    assert page.evaluate(INK, "qh-chart-rates") > 2000
    assert page.locator("[data-chart-error]").is_hidden()
    assert page.locator('[data-card="accepted"] b').inner_text() == "6"
    assert page.locator('[data-card="closed_rate"] b').inner_text() == "33.3%"
    assert page.locator("tr[data-open-item]").first.get_attribute("data-colour") == "red"
    assert "办结率 = 办结件数 / 受理件数" in page.locator(".qh-dash-defs").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard_leader.png"), full_page=True)

    with page.expect_download() as info:
        page.click("[data-export=ledger]")
    download = info.value
    assert download.suggested_filename == "晾晒评价_台账_2026-11.xlsx"
    path = tmp_path / "ledger.xlsx"
    download.save_as(path)
    ws = openpyxl.load_workbook(path)["台账"]
    assert ws["A1"].value == "受理编号" and ws.max_row == 7

    # a filter chosen from the drop-downs
    page.select_option("select[name=department]", "hz_b")
    page.click(".qh-dash-filters button[type=submit]")
    page.wait_for_selector("body[data-charts-ready='2']")
    assert page.locator('[data-card="accepted"] b').inner_text() == "3"
    assert page.locator("tr[data-open-item]").count() == 3

    assert errors == [] and foreign == []


def test_department_opens_an_appeal_from_the_warning_board(page, server):
    base, ids = server
    sign_in(page, base, "hz_b_user")
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("body[data-charts-ready='2']")
    assert page.locator("tr[data-open-item]").count() == 3          # 金融科's own three, red first
    page.wait_for_timeout(1200)                       # the charts' animation, for the screenshot
    assert page.evaluate(INK, "qh-chart-rates") > 1000              # the month's points and axes
    page.screenshot(path=str(ARTIFACTS / "dashboard_department.png"), full_page=True)
    page.click(f"tr[data-open-item='{ids['HZ-B-1']}'] a")
    page.wait_for_url(f"{base}/instances/{ids['HZ-B-1']}")
    assert "HZ-B-1" in page.locator(".qh-pagehead").inner_text()


def test_the_dashboard_fits_a_phone(page, server):
    """At 375 px nothing is wider than the screen: the trend charts take the screen's width (one
    under the other), the cards, ranking and warning board wrap or scroll inside their own box."""
    base, _ids = server
    sign_in(page, base, "hz_leader")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/dashboard")
    page.wait_for_selector("body[data-charts-ready='2']")
    page.wait_for_timeout(1200)                       # the charts' animation, for the screenshot
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for chart in ("qh-chart-volume", "qh-chart-rates"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (chart, box)
        width = page.evaluate(f"document.querySelector('#{chart} canvas').getBoundingClientRect().width")
        assert width <= box["width"] + 1, (chart, width, box)             # drawn to the box, not beyond
        assert page.evaluate(INK, chart) > 1000
    page.screenshot(path=str(ARTIFACTS / "dashboard_leader_375.png"), full_page=True)
    page.locator(".qh-dash-trends").screenshot(path=str(ARTIFACTS / "dashboard_trends_375.png"))
    page.set_viewport_size({"width": 1366, "height": 900})                # and back: the charts follow
    page.wait_for_timeout(300)
    assert page.locator("#qh-chart-volume").bounding_box()["width"] > 420
    assert page.evaluate("document.querySelector('#qh-chart-volume canvas').getBoundingClientRect().width") > 420
    page.screenshot(path=str(ARTIFACTS / "dashboard_leader_1366.png"), full_page=True)
