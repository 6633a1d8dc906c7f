"""The 晾晒评价 dashboard: a month's figures (cards), the ranking of departments (晾晒排名), the
warning board of open appeals (预警看板: stalled ones first, with the reason the domain gives, then by colour), trends over twelve months (ECharts, vendored)
and the definitions of every rate; and the Excel exports of the ledger (台账) and of the monthly
figures, with the page's filters. Only calls the engine (engine.figures, engine.reports).

Who sees what is engine.access.dashboard_scope: administrators everything, leaders and
supervisors (group "dashboard") all of their region, a department its own rows; anyone else
signed in gets 403, anonymous callers go to sign in. The scope narrows every query; a filter
value outside what the scope offers (a crafted ?department=) is refused with 400, so it never
widens nor silently changes what is shown.
"""
import logging
import re
from functools import wraps
from urllib.parse import quote

from flask import Response, render_template, request, url_for

from qihu.appeals import reports
from qihu.engine.errors import Forbidden
from qihu.engine.dialect.timers import TIMEZONE

from qihu.web import csrf
from qihu.web.pages import inbox as ui
from qihu.web.i18n import gettext as _, install as install_i18n
from qihu.web.pages.templating import QihuBlueprint
from qihu.web.context import current_qihu, current_engine, current_appeals

log = logging.getLogger("qihu.web.dashboard")
blueprint = QihuBlueprint("qihu_dashboard", __name__)
blueprint.before_request(csrf.protect)
blueprint.context_processor(ui.page_context)
blueprint.register_error_handler(csrf.CSRFError, ui._csrf_failed)
install_i18n(blueprint)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FIRST_YEAR = 1970                   # so that twelve months back is still a real month
TREND_MONTHS = 12
BOARD_LIMIT = 200                   # the most urgent open appeals; the ledger export has them all
MAX_EXPORT_MONTHS = 36              # a ledger of three years is already tens of thousands of rows
BOARD_COLOURS = ("red", "orange", "yellow", "green", "blue", "none")   # worst first; none: no deadline
KINDS = {"台账": "ledger", "月度指标": "figures"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the cards of the month, in the order of the page (key, title; rates are shown as percentages)
CARD_RATES = [("closed_rate", "办结率"), ("solved_rate", "办成率"), ("late_rate", "超时办成率"),
              ("sign_rate", "签收率"), ("return_rate", "退单率"), ("satisfaction_rate", "满意率")]


class BadFilter(Exception):
    """A filter value that is malformed or outside the caller's scope (400)."""



def _figures():
    return current_appeals().figures


@blueprint.app_context_processor
def dashboard_nav():
    """qihu_sees_dashboard(): whether the caller may open the dashboard (the 晾晒 header link)."""
    def qihu_sees_dashboard():
        user = current_qihu().user()
        return bool(user) and current_appeals().dashboard_scope(user) is not None
    return {"qihu_sees_dashboard": qihu_sees_dashboard}


def with_scope(view):
    """A signed-in view of someone who may see the dashboard: gets `user` and `scope`."""
    @ui.signed_in
    @wraps(view)
    def wrapper(*args, user, **kwargs):
        scope = current_appeals().dashboard_scope(user)
        if scope is None:
            raise Forbidden(f"{user} may not see the dashboard: leaders, supervisors and departments only")
        try:
            return view(*args, user=user, scope=scope, **kwargs)
        except BadFilter as e:
            return ui._error_page(400, _("请求有误"), f"{_('筛选')}: {e}")
    return wrapper


def this_month():
    return current_engine().clock.now().astimezone(TIMEZONE).strftime("%Y-%m")


def shift(month, n):
    """The month `n` months after (or before, n < 0) `month`, both "YYYY-MM"."""
    y, m = divmod(int(month[:4]) * 12 + int(month[5:]) - 1 + n, 12)
    return f"{y:04d}-{m + 1:02d}"


def _month(args, name, default):
    value = (args.get(name) or "").strip() or default
    if not MONTH.match(value) or not FIRST_YEAR <= int(value[:4]):
        raise BadFilter(f"{name}: {value[:20]!r} {_('不是有效的月份（YYYY-MM）')}")
    return value


def _filters(args, options):
    """month, region, mechanism, department from the query string, each checked against the
    choices the caller's scope offers (engine.figures.options)."""
    f = {"month": _month(args, "month", this_month())}
    choices = {"region": set(options["regions"]), "mechanism": {k for k, _n in options["mechanisms"]},
               "department": {k for k, _n in options["departments"]}}
    for name, allowed in choices.items():
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            raise BadFilter(f"{name}: {value[:50]!r} {_('不在您可查看的范围内')}")
        f[name] = value or None
    return f


def _narrow(f):
    return {"region": f["region"], "mechanism": f["mechanism"], "department": f["department"]}


def _trend(scope, f):
    """The last TREND_MONTHS months up to the chosen one, every month present (zeros when none)."""
    first = shift(f["month"], 1 - TREND_MONTHS)
    rows = {r["month"]: r for r in _figures().monthly(scope, first, f["month"], by=("month",), **_narrow(f))}
    months = [shift(first, i) for i in range(TREND_MONTHS)]
    pick = ("accepted", "closed", "solved", "closed_rate", "solved_rate", "late_rate", "sign_rate",
            "return_rate", "satisfaction_rate")
    return {"months": months,
            **{k: [(rows.get(m) or {}).get(k, 0 if k in ("accepted", "closed", "solved") else None) for m in months]
               for k in pick}}


@blueprint.get("/dashboard")
@with_scope
def dashboard(user, scope):
    options = _figures().options(scope)
    f = _filters(request.args, options)
    colour = (request.args.get("colour") or "").strip() or None
    if colour is not None and colour not in BOARD_COLOURS:
        raise BadFilter(f"colour: {colour[:20]!r}")
    month_rows = _figures().monthly(scope, f["month"], f["month"], by=("month",), **_narrow(f))
    month = month_rows[0] if month_rows else None
    counts = _figures().colour_counts(scope, **_narrow(f))
    board = _figures().open_items(scope, colour=colour, **_narrow(f), limit=BOARD_LIMIT)
    _mark_visible(board, user, scope)
    months = _figures().months(scope)
    if f["month"] not in months:
        months = sorted({*months, f["month"], this_month()}, reverse=True)

    def link(**changes):
        """This page with some filters changed (empty values dropped)."""
        args = {**{k: v for k, v in f.items() if v}, **({"colour": colour} if colour else {}), **changes}
        return url_for("qihu_dashboard.dashboard", **{k: v for k, v in args.items() if v})

    def export(endpoint):
        return url_for(endpoint, **{k: v for k, v in f.items() if v})

    return render_template(
        "qihu/dashboard.html", f=f, options=options, months=months, month=month, cards=CARD_RATES,
        counts=counts, open_total=sum(counts.values()), board=board, colour=colour,
        board_colours=BOARD_COLOURS, ranking=_figures().ranking(scope, f["month"], region=f["region"]),
        trend=_trend(scope, f), definitions=_figures().DEFINITIONS, scope=scope, link=link,
        ledger_url=export("qihu_dashboard.ledger_xlsx"), figures_url=export("qihu_dashboard.figures_xlsx"),
        department_names=dict(options["departments"]), board_limit=BOARD_LIMIT,
        stalled=_figures().stalled_count(scope, **_narrow(f)))


def _mark_visible(items, user, scope):
    """item["visible"]: whether the warning board links the appeal (the instance page opens
    only for those who may see it: engine.access, not the dashboard scope)."""
    access = current_engine().access
    # administrators, leaders and supervisors (a scope of every department) open every
    # appeal of their scope; the board only holds appeals of that scope
    everything = scope.departments is None
    for item in items:
        item["visible"] = everything or access.can_see_instance(user, item["instance_id"])


def _export_range(f, args):
    """month_from..month_to of an export: ?from=&to=, by default the page's month."""
    first, last = _month(args, "from", f["month"]), _month(args, "to", f["month"])
    if first > last:
        raise BadFilter(f"from {first} > to {last}")
    if shift(first, MAX_EXPORT_MONTHS - 1) < last:
        raise BadFilter(_("一次最多导出 {n} 个月", n=MAX_EXPORT_MONTHS))
    return first, last


def _filename(kind, f, first, last):
    """(Chinese name, ASCII fallback) of an export: 晾晒评价_湖州市_台账_2026-11.xlsx."""
    months = first if first == last else f"{first}至{last}"
    ascii_months = first if first == last else f"{first}_{last}"
    return ("_".join(x for x in ("晾晒评价", f["region"], kind, months) if x) + ".xlsx",
            f"qihu-{KINDS[kind]}-{ascii_months}.xlsx")


def _xlsx(data, names):
    name, fallback = names
    # an export of case data leaves the system: audited (who, from where, what, with which filters)
    current_engine().audit.record("export", target=name, detail={k: v[:200] for k, v in request.args.items()})
    response = Response(data, content_type=XLSX)
    # the ASCII name for old clients, the Chinese one (RFC 5987) for the others
    response.headers["Content-Disposition"] = \
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.get("/dashboard/ledger.xlsx")
@with_scope
def ledger_xlsx(user, scope):
    f = _filters(request.args, _figures().options(scope))
    first, last = _export_range(f, request.args)
    # each appeal's contact masked by the reader's right for its region; the export logged once
    # with the appeals it held (appeals/privacy.py), before the file is given out
    rows = current_appeals().privacy.export_rows(user, _figures().ledger(scope, first, last, **_narrow(f)))
    data = reports.ledger_workbook(rows, now=current_engine().clock.now(), person=_person_names())
    try:
        rows.log({k: v for k, v in {**f, "from": first, "to": last}.items() if v})
    except Exception:
        log.exception("the ledger export of %s could not be logged", user)
        if rows.full:         # nothing in full that is not logged
            return ui._error_page(503, _("暂时无法导出"), _("导出记录无法保存，请稍后再试。"))
    return _xlsx(data, _filename("台账", f, first, last))


def _person_names():
    """user id -> display name for a whole export: every account's at once, an id without one
    (an enterprise) asked when first met."""
    accounts = current_engine().accounts
    known = accounts.person_names()

    def person(name):
        if name not in known:
            known.update(accounts.person_names([name]))
        return known.get(name) or name
    return person


@blueprint.get("/dashboard/figures.xlsx")
@with_scope
def figures_xlsx(user, scope):
    f = _filters(request.args, _figures().options(scope))
    first, last = _export_range(f, request.args)
    rows = _figures().monthly(scope, first, last, by=("month", "region", "mechanism", "department"), **_narrow(f))
    return _xlsx(reports.figures_workbook(rows, _figures().DEFINITIONS), _filename("月度指标", f, first, last))


# -- template helpers ------------------------------------------------------------------------
@blueprint.app_template_filter("qihu_rate")
def rate_text(value):
    """A rate 0..1 as a percentage with one decimal; "—" when there is no denominator."""
    return "—" if value is None else f"{value * 100:.1f}%"


@blueprint.app_template_filter("qihu_days")
def days_text(value):
    return "—" if value is None else f"{value:.1f}"


# -- errors ----------------------------------------------------------------------------------
@blueprint.errorhandler(Forbidden)
def _forbidden(e):
    return ui._error_page(403, _("没有权限"), _("晾晒评价仅限领导、督查和承办部门查看。"))

