"""Excel exports of the 晾晒评价 dashboard (openpyxl): the ledger (台账, one row per appeal) and
the monthly figures with a sheet of definitions (指标说明). Both return the .xlsx file as bytes.

Headers are Chinese, the header row is frozen and filtered, instants are shown as Beijing
wall-clock time (engine.timers.TIMEZONE) with a date format, rates as percentages. Text comes
from enterprises and staff, so every text cell is written as a string, never as a formula (a
company called "=HYPERLINK(...)" stays text), and characters Excel cannot hold are dropped.
"""
import io
import json
from datetime import date, datetime, timezone

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from qihu.appeals import ratings
from qihu.engine.runtime.sla import COLOUR_NAMES
from qihu.engine.dialect.timers import TIMEZONE

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
PERCENT_FORMAT = "0.0%"
DAYS_FORMAT = "0.0"
MAX_CELL = 32767                         # Excel's limit on the characters of one cell
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
# the warning colours as light fills a printed ledger still reads well in (ARGB without alpha)
COLOUR_FILLS = {"red": "F8CBAD", "orange": "FCD5B4", "yellow": "FFF2A8", "green": "C6EFCE", "blue": "BDD7EE"}
OUTCOME_NAMES = {"solved": "办成", "unsolved": "未办成"}
STATUS_NAMES = {"running": "办理中", "completed": "已办结", "cancelled": "已撤销", "suspended": "已暂停"}
STAGE_STATUS = {"ready": "办理中", "completed": "办结", "returned": "退单", "cancelled": "撤销"}

# (header, key, width, kind): kind says how the value is written
LEDGER_COLUMNS = [
    ("受理编号", "business_key", 20, "text"),
    ("企业", "company", 24, "text"),
    ("诉求摘要", "title", 36, "text"),
    ("机制", "mechanism_name", 22, "text"),
    ("地区", "region", 10, "text"),
    ("承办部门", "department_name", 18, "text"),
    ("受理时间", "started_at", 17, "time"),
    ("签收期限", "sign_due_at", 17, "time"),
    ("签收时间", "signed_at", 17, "time"),
    ("办理期限", "deadline", 17, "time"),
    ("办结时间", "closed_at", 17, "time"),
    ("当前环节", "open_task", 18, "text"),
    ("预警颜色", "colour", 9, "colour"),
    ("办理结果", "outcome", 10, "text"),
    ("是否超期", "overdue", 9, "text"),
    ("退单次数", "returns", 9, "int"),
    ("满意度评价", "rating", 12, "text"),
    ("办结用时（工作日）", "workdays", 12, "days"),
    ("各环节", "stages", 60, "text"),
    # the complainant's contact, last so that the columns before keep their places
    # (appeals/privacy.py: masked by the reader's right; blank for an appeal without a ticket)
    ("联系人", "contact_name", 10, "text"),
    ("联系电话", "contact_phone", 15, "text"),
]

# grouping columns of the monthly figures, in this order when a row has them
GROUP_COLUMNS = [
    ("月份", "month", 10),
    ("地区", "region", 10),
    ("机制", "mechanism_name", 22),
    ("承办部门", "department_name", 18),
]
FIGURE_COLUMNS = [
    ("受理量", "accepted", "int"),
    ("办结量", "closed", "int"),
    ("办结率", "closed_rate", "rate"),
    ("办成量", "solved", "int"),
    ("办成率", "solved_rate", "rate"),
    ("超时办成量", "solved_late", "int"),
    ("超时办成率", "late_rate", "rate"),
    ("应签收量", "sign_counted", "int"),
    ("按时签收量", "signed_on_time", "int"),
    ("签收率", "sign_rate", "rate"),
    ("退单量", "returned", "int"),
    ("退单率", "return_rate", "rate"),
    ("评价量", "rated", "int"),
    ("满意量", "satisfied", "int"),
    ("满意率", "satisfaction_rate", "rate"),
    ("平均办结用时（工作日）", "avg_workdays", "days"),
]


class ReportError(ValueError):
    """A row the export cannot write: names the row and the field."""


def ledger_workbook(rows, now=None, person=None):
    """The 台账 workbook of appeal_fact dicts (engine.figures.ledger): one row per appeal.
    `now` (aware datetime, default: the current time) decides whether an open appeal is overdue;
    `person(user id)` gives who did a step as people read it (default: the id)."""
    now = now or datetime.now(timezone.utc)
    person = person or (lambda name: name)
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    _header(ws, [(h, w) for h, _k, w, _kind in LEDGER_COLUMNS])
    for n, row in enumerate(rows, start=1):
        values = _ledger_values(row, now, n, person)
        for col, (_h, key, _w, kind) in enumerate(LEDGER_COLUMNS, start=1):
            cell = ws.cell(row=n + 1, column=col)
            try:
                _put(cell, values.get(key), kind, n, key)
            except ReportError:
                raise
            except (TypeError, ValueError) as e:
                raise ReportError(f"台账第 {n} 行「{_h}」无法导出 (ledger row {n}, {key}: {e})") from None
            if kind == "colour" and values.get(key) in COLOUR_FILLS:
                cell.fill = PatternFill("solid", fgColor=COLOUR_FILLS[values[key]])
                cell.value = COLOUR_NAMES.get(values[key], values[key])
    return _bytes(wb)


def figures_workbook(rows, definitions):
    """The monthly figures (engine.figures.monthly rows, grouped by any of month, region,
    mechanism, department) and a sheet 指标说明 with `definitions` ({key, name, formula})."""
    rows = list(rows)
    groups = [(h, k, w) for h, k, w in GROUP_COLUMNS
              if any(k in r or _GROUP_KEYS.get(k, k) in r for r in rows)] or GROUP_COLUMNS[:1]
    wb = Workbook()
    ws = wb.active
    ws.title = "月度指标"
    _header(ws, [(h, w) for h, _k, w in groups] + [(h, max(9, len(h) * 2 + 2)) for h, _k, _kind in FIGURE_COLUMNS])
    for n, row in enumerate(rows, start=1):
        col = 1
        for h, key, _w in groups:
            value = row.get(key)
            if value is None:            # a department or mechanism row without its name: the id
                value = row.get(_GROUP_KEYS.get(key, key))
            _put(ws.cell(row=n + 1, column=col), value, "text")
            col += 1
        for h, key, kind in FIGURE_COLUMNS:
            try:
                _put(ws.cell(row=n + 1, column=col), row.get(key), kind)
            except ReportError:
                raise
            except (TypeError, ValueError) as e:
                raise ReportError(f"指标第 {n} 行「{h}」无法导出 (figures row {n}, {key}: {e})") from None
            col += 1
    about = wb.create_sheet("指标说明")
    _header(about, [("指标", 18), ("计算方法", 90)])
    for n, d in enumerate(definitions, start=1):
        for col, key in enumerate(("name", "formula"), start=1):
            cell = about.cell(row=n + 1, column=col)
            _put(cell, d.get(key), "text")
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return _bytes(wb)


_GROUP_KEYS = {"mechanism_name": "mechanism", "department_name": "department"}


def _ledger_values(row, now, n, person=lambda name: name):
    """The ledger's cell values of one appeal_fact dict (dates still instants)."""
    if not isinstance(row, dict):
        raise ReportError(f"台账第 {n} 行不是记录 (ledger row {n} is a {type(row).__name__}, not a dict)")
    values = dict(row)
    values["mechanism_name"] = row.get("mechanism_name") or row.get("definition_key")
    values["department_name"] = row.get("department_name") or row.get("department")
    values["company"] = row.get("company")
    if row.get("outcome") in OUTCOME_NAMES:
        values["outcome"] = OUTCOME_NAMES[row["outcome"]]
    else:
        values["outcome"] = STATUS_NAMES.get(row.get("status"), row.get("outcome") or "办理中")
    values["overdue"] = _overdue(row, now, n)
    values["rating"] = _rating(row.get("rating"), row.get("satisfied"))
    values["stages"] = _stages(row.get("stages"), n, person)
    if row.get("status") != "running" and not row.get("open_task"):
        values["open_task"] = None
    return values


def _rating(rating, satisfied):
    """The enterprise's rating in the officials' words. On the one 好差评 scale
    (qihu.appeals.ratings) its level and the level's name: "3（基本满意）", or the name alone when
    the mechanism records the name ("满意"); any other value as the mechanism records it, with
    whether it counts as satisfied: "认可（满意）"."""
    if rating in (None, ""):
        return {True: "满意", False: "不满意"}.get(satisfied)
    key = ratings.level(rating)
    if key is not None:
        return ratings.LEVELS[key] if str(rating).strip() in (ratings.LEVELS[key], ratings.LEVELS_EN[key]) \
            else ratings.label(key)
    verdict = {True: "满意", False: "不满意"}.get(satisfied)
    rating = str(rating)
    return rating if verdict is None or verdict in rating else f"{rating}（{verdict}）"


def _overdue(row, now, n):
    """是 when the appeal was closed after its deadline, or is open past it; 否 otherwise."""
    deadline = _instant(row.get("deadline"), n, "deadline")
    if deadline is None:
        return "是" if row.get("solved_late") else "否"
    end = _instant(row.get("closed_at"), n, "closed_at")
    if end is None and row.get("status") in ("cancelled",):
        return "否"
    return "是" if (end or now) > deadline or row.get("solved_late") else "否"


def _stages(stages, n, person=lambda name: name):
    """The steps [{element, name, status, created, done, by}] (engine.figures) as one line:
    受理登记（11-02 09:00 办结 周敏）→ 部门办理（退单 王强）→ 部门办理（办理中）; `person` names who."""
    if not stages:
        return None
    if isinstance(stages, str):
        try:
            stages = json.loads(stages)
        except ValueError:
            raise ReportError(f"台账第 {n} 行的环节记录无法解析 (ledger row {n}: stages is not JSON)") from None
    parts = []
    for s in stages:
        if not isinstance(s, dict):
            raise ReportError(f"台账第 {n} 行的环节记录格式有误 (ledger row {n}: a stage is not an object)")
        at = _instant(s.get("done") or s.get("at"), n, "stages.done")
        status = STAGE_STATUS.get(s.get("status"), "")
        detail = " ".join(x for x in (at.astimezone(TIMEZONE).strftime("%m-%d %H:%M") if at else "", status,
                                      person(s["by"]) if s.get("by") else "") if x)
        parts.append(f"{s.get('name') or s.get('element') or '—'}" + (f"（{detail}）" if detail else ""))
    return " → ".join(parts)


def _instant(value, n, key):
    """An aware datetime from a stored instant (aware datetime, naive = UTC, or ISO text)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ReportError(f"台账第 {n} 行的时间无法识别 (ledger row {n}, {key}: {value!r})") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=TIMEZONE)
    raise ReportError(f"台账第 {n} 行的时间无法识别 (ledger row {n}, {key}: {value!r})")


def _put(cell, value, kind, n=None, key=None):
    """Write `value` as `kind`; `n`, `key`: the row and field an error message names."""
    if value is None or value == "":
        cell.value = None
        return
    if kind == "time":
        value = _instant(value, n, key)
        cell.value = value.astimezone(TIMEZONE).replace(tzinfo=None)      # Excel has no time zones
        cell.number_format = DATETIME_FORMAT
    elif kind == "int":
        cell.value = int(value)
    elif kind == "rate":
        cell.value = float(value)
        cell.number_format = PERCENT_FORMAT
    elif kind == "days":
        cell.value = round(float(value), 2)
        cell.number_format = DAYS_FORMAT
    else:
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL]
        cell.value = text
        cell.data_type = "s"             # "=..." from an enterprise stays text, never a formula


def _header(ws, columns):
    bold = Font(bold=True)
    for col, (title, width) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=col, value=title)
        cell.font = bold
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"


def _bytes(wb):
    for ws in wb.worksheets:
        ws.auto_filter.ref = ws.dimensions          # the header's filter buttons cover every row
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
