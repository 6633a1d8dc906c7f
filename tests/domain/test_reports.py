"""The Excel exports of the dashboard (appeals/reports.py), read back with openpyxl."""
import io
from datetime import datetime, timezone

import openpyxl
import pytest

from qihu.appeals import reports

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)

SOLVED = {
    "instance_id": "i-1", "business_key": "HZ-2026-0001", "company": "湖州织里童装有限公司",
    "title": "厂房用电增容审批慢", "definition_key": "huzhou_joint_meeting", "mechanism_name": "湖州 联席会议",
    "region": "湖州", "department": "hz_board_licensing", "department_name": "审批服务板块",
    "started_at": datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc),
    "sign_due_at": datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc),
    "signed_at": datetime(2026, 11, 2, 6, 30, tzinfo=timezone.utc),
    "deadline": datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc),
    "closed_at": datetime(2026, 11, 10, 8, 0, tzinfo=timezone.utc), "open_task": None, "colour": None,
    "outcome": "solved", "solved_late": False, "returns": 1, "rating": "满意", "satisfied": True,
    "workdays": 6.5, "status": "completed",
    "stages": [{"element": "register", "name": "受理登记", "status": "completed", "created": "2026-11-02T01:00:00+00:00",
                "due": None, "done": "2026-11-02T01:00:00+00:00", "by": "hz_qifu"},
               {"element": "handle", "name": "板块办理", "status": "returned", "created": "2026-11-02T01:00:00+00:00",
                "due": None, "done": "2026-11-05T02:00:00+00:00", "by": "hz_bankuai"},
               {"element": "handle", "name": "板块办理", "status": "completed", "created": "2026-11-05T02:00:00+00:00",
                "due": "2026-11-16T09:00:00+00:00", "done": "2026-11-10T08:00:00+00:00", "by": "hz_bankuai"}],
}
OPEN_LATE = {
    "instance_id": "i-2", "business_key": "HZ-2026-0002", "company": "=HYPERLINK(\"http://evil\",\"点我\")",
    "title": "融资\x07难", "definition_key": "huzhou_joint_meeting", "mechanism_name": None,
    "region": "湖州", "department": "hz_board_finance", "department_name": None,
    "started_at": "2026-11-03T02:00:00+00:00", "sign_due_at": None, "signed_at": None,
    "deadline": "2026-11-17T09:00:00+00:00", "closed_at": None, "open_task": "板块办理", "colour": "red",
    "outcome": None, "solved_late": False, "returns": 0, "rating": None, "satisfied": None, "workdays": None,
    "status": "running",
    "stages": '[{"element": "register", "name": "受理登记", "status": "completed", "done": "2026-11-03T02:00:00", '
              '"by": null}, {"element": "handle", "name": "板块办理", "status": "ready", "done": null, "by": null}]',
}

DEFINITIONS = [
    {"key": "closed_rate", "name": "办结率", "formula": "办结量 ÷ 受理量 × 100%"},
    {"key": "satisfaction_rate", "name": "满意率", "formula": "满意评价数 ÷ 评价总数 × 100%"},
]


def _read(data):
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(ws):
    header = [c.value for c in ws[1]]
    return header, [dict(zip(header, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]


def test_ledger_headers_values_and_formats():
    wb = _read(reports.ledger_workbook([SOLVED, OPEN_LATE], now=NOW))
    assert wb.sheetnames == ["台账"]
    ws = wb["台账"]
    header, rows = _rows(ws)
    assert header == [h for h, *_ in reports.LEDGER_COLUMNS]
    assert header[:6] == ["受理编号", "企业", "诉求摘要", "机制", "地区", "承办部门"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:U3"
    assert ws.column_dimensions["C"].width == 36
    solved, late = rows
    assert solved["受理编号"] == "HZ-2026-0001" and solved["企业"] == "湖州织里童装有限公司"
    # instants as Beijing wall-clock time, with a date format
    assert solved["受理时间"] == datetime(2026, 11, 2, 9, 0)
    assert solved["签收时间"] == datetime(2026, 11, 2, 14, 30)
    assert solved["办结时间"] == datetime(2026, 11, 10, 16, 0)
    assert ws["G2"].number_format == reports.DATETIME_FORMAT
    assert solved["办理结果"] == "办成" and solved["是否超期"] == "否"
    assert solved["退单次数"] == 1 and solved["满意度评价"] == "满意" and solved["办结用时（工作日）"] == 6.5
    assert solved["当前环节"] is None and solved["预警颜色"] is None
    assert solved["各环节"] == ("受理登记（11-02 09:00 办结 hz_qifu） → 板块办理（11-05 10:00 退单 hz_bankuai） → "
                             "板块办理（11-10 16:00 办结 hz_bankuai）")
    # the open one: past its deadline at NOW, red, names fall back to the ids
    assert late["办理结果"] == "办理中" and late["是否超期"] == "是" and late["当前环节"] == "板块办理"
    assert late["机制"] == "huzhou_joint_meeting" and late["承办部门"] == "hz_board_finance"
    assert late["预警颜色"] == "红"
    assert ws["M3"].fill.fgColor.rgb.endswith(reports.COLOUR_FILLS["red"])
    assert ws["M2"].fill.fill_type is None
    assert late["各环节"] == "受理登记（11-03 10:00 办结） → 板块办理（办理中）"    # a naive instant is UTC


def test_ledger_text_is_never_a_formula_and_illegal_characters_go():
    ws = _read(reports.ledger_workbook([OPEN_LATE], now=NOW))["台账"]
    assert ws["B2"].data_type == "s" and ws["B2"].value == OPEN_LATE["company"]
    assert ws["C2"].value == "融资难"


def test_ledger_not_yet_overdue_and_closed_late():
    before = reports.ledger_workbook([OPEN_LATE], now=datetime(2026, 11, 5, tzinfo=timezone.utc))
    assert _rows(_read(before)["台账"])[1][0]["是否超期"] == "否"
    late = dict(SOLVED, closed_at=datetime(2026, 11, 18, tzinfo=timezone.utc), solved_late=True)
    assert _rows(_read(reports.ledger_workbook([late], now=NOW))["台账"])[1][0]["是否超期"] == "是"
    unsolved = dict(SOLVED, outcome="unsolved", rating="2", satisfied=False)
    row = _rows(_read(reports.ledger_workbook([unsolved], now=NOW))["台账"])[1][0]
    assert row["办理结果"] == "未办成" and row["满意度评价"] == "2（不满意）"
    rated = dict(SOLVED, rating="4", satisfied=True, status="cancelled", outcome=None)
    row = _rows(_read(reports.ledger_workbook([rated], now=NOW))["台账"])[1][0]
    assert row["办理结果"] == "已撤销" and row["满意度评价"] == "4（满意）"


def test_empty_ledger_has_headers_only():
    ws = _read(reports.ledger_workbook([], now=NOW))["台账"]
    assert [c.value for c in ws[1]][0] == "受理编号" and ws.max_row == 1


@pytest.mark.parametrize("bad, message", [
    (dict(SOLVED, started_at="yesterday"), "台账第 1 行的时间无法识别 (ledger row 1, started_at: 'yesterday')"),
    (dict(SOLVED, stages="[oops"), "ledger row 1: stages is not JSON"),
    (dict(SOLVED, stages=["受理"]), "ledger row 1: a stage is not an object"),
    (dict(SOLVED, stages=[{"name": "受理", "done": "soon"}]), "ledger row 1, stages.done: 'soon'"),
    (dict(SOLVED, returns="two"), "台账第 1 行「退单次数」无法导出 (ledger row 1, returns:"),
    ("not a row", "ledger row 1 is a str"),
])
def test_ledger_bad_rows_are_named(bad, message):
    with pytest.raises(reports.ReportError) as e:
        reports.ledger_workbook([bad], now=NOW)
    assert message in str(e.value)


FIGURES = [
    {"month": "2026-11", "department": "hz_board_licensing", "department_name": "审批服务板块",
     "accepted": 4, "closed": 3, "solved": 2, "solved_late": 1, "sign_counted": 4, "signed_on_time": 3,
     "returned": 1, "rated": 2, "satisfied": 1, "workdays_sum": 15.0,
     "closed_rate": 0.75, "solved_rate": 0.5, "late_rate": 0.5, "sign_rate": 0.75, "return_rate": 0.25,
     "satisfaction_rate": 0.5, "avg_workdays": 5.0},
    {"month": "2026-10", "department": "hz_board_finance", "department_name": None,
     "accepted": 0, "closed": 0, "solved": 0, "solved_late": 0, "sign_counted": 0, "signed_on_time": 0,
     "returned": 0, "rated": 0, "satisfied": 0, "workdays_sum": 0.0,
     "closed_rate": None, "solved_rate": None, "late_rate": None, "sign_rate": None, "return_rate": None,
     "satisfaction_rate": None, "avg_workdays": None},
]


def test_figures_workbook_rates_as_percentages_and_definitions():
    wb = _read(reports.figures_workbook(FIGURES, DEFINITIONS))
    assert wb.sheetnames == ["月度指标", "指标说明"]
    ws = wb["月度指标"]
    header, rows = _rows(ws)
    assert header[:2] == ["月份", "承办部门"]           # only the grouping columns the rows have
    assert header[2:] == [h for h, *_ in reports.FIGURE_COLUMNS]
    assert ws.freeze_panes == "A2"
    first, empty = rows
    assert first["承办部门"] == "审批服务板块" and first["受理量"] == 4 and first["办结率"] == 0.75
    assert first["满意率"] == 0.5 and first["平均办结用时（工作日）"] == 5.0
    rate_col = header.index("办结率") + 1
    assert ws.cell(row=2, column=rate_col).number_format == "0.0%"
    # no denominator: an empty cell, not 0%; a department without a name shows its id
    assert empty["办结率"] is None and empty["受理量"] == 0 and empty["承办部门"] == "hz_board_finance"
    about = wb["指标说明"]
    assert [c.value for c in about[1]] == ["指标", "计算方法"]     # names people read, no internal keys
    assert [c.value for c in about[2]] == ["办结率", "办结量 ÷ 受理量 × 100%"]
    assert about.max_row == 3


def test_figures_workbook_by_mechanism_and_region():
    rows = [dict(FIGURES[0], region="湖州", mechanism="huzhou_joint_meeting", mechanism_name="湖州 联席会议")]
    for r in rows:
        del r["department"], r["department_name"]
    header, out = _rows(_read(reports.figures_workbook(rows, DEFINITIONS))["月度指标"])
    assert header[:3] == ["月份", "地区", "机制"] and out[0]["机制"] == "湖州 联席会议"


def test_empty_figures_workbook():
    wb = _read(reports.figures_workbook([], []))
    assert wb["月度指标"].max_row == 1 and wb["指标说明"].max_row == 1
    assert [c.value for c in wb["月度指标"][1]][:2] == ["月份", "受理量"]


def test_figures_bad_value_is_named():
    with pytest.raises(reports.ReportError) as e:
        reports.figures_workbook([dict(FIGURES[0], accepted="many")], DEFINITIONS)
    assert "指标第 1 行「受理量」无法导出 (figures row 1, accepted:" in str(e.value)
