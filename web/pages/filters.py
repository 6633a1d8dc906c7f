"""The template filters every staff page uses: times, deadlines and working days as people say
them, sizes, and groups and users by their display names instead of their ids."""
from flask import g

from qihu.engine.dialect import timers
from qihu.engine.dialect.timers import local_text
from qihu.web.context import current_engine
from qihu.web.i18n import current_lang
from qihu.web.i18n import gettext as _
from qihu.web.pages.task_panel import size_text


def register(blueprint):
    """Register the filters app-wide through `blueprint` (the staff UI's)."""
    for name, fn in FILTERS.items():
        blueprint.add_app_template_filter(fn, name)


def local_time(value):
    """An ISO date-time (UTC) shown in the engine's zone (Asia/Shanghai by default)."""
    return local_text(value)


def deadline_text(value):
    """A deadline as people say it, in the reader's language, the year only when it is not the
    engine clock's: "12月18日（当日24时）", "12月18日 17:30" (engine.dialect.timers.deadline_text)."""
    return timers.deadline_text(value, now=current_engine().clock.now(), lang=current_lang())


HOURS_PER_WORKDAY = 24     # the SLA measure counts a working day's 24 local hours (WorkCalendar.workdays_between)


def workdays_text(value):
    """Working days left (negative: overdue) as staff say them, "剩余" or "超期" first:

    - a working day or more: the days, one decimal, ".0" dropped: "剩余 3.9 个工作日", "超期 2 个工作日";
    - less: the working day's hours, rounded ("剩余 7 小时", "超期 2 小时"), a half day
      (11 to 13 hours) as "半天", under an hour as "不足 1 小时";
    English with the switch ("7 hours left", "half a day overdue")."""
    if value is None:
        return "—"
    late = value < 0
    days = abs(value)
    hours = round(days * HOURS_PER_WORKDAY)
    if hours >= HOURS_PER_WORKDAY:
        n = f"{days:.1f}".removesuffix(".0")
        if n == "1":
            return _("超期 1 个工作日") if late else _("剩余 1 个工作日")
        return _("超期 {n} 个工作日", n=n) if late else _("剩余 {n} 个工作日", n=n)
    if days * HOURS_PER_WORKDAY < 1:
        return _("超期不足 1 小时") if late else _("剩余不足 1 小时")
    if 11 <= hours <= 13:
        return _("超期半天") if late else _("剩余半天")
    if hours == 1:
        return _("超期 1 小时") if late else _("剩余 1 小时")
    return _("超期 {n} 小时", n=hours) if late else _("剩余 {n} 小时", n=hours)


def _ids(value):
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [v for v in value if v]


def _known(kind):
    """{id: display name} of every named group or person, read once per request (a list of a
    hundred rows costs two queries, not two hundred)."""
    attr = f"qihu_{kind}_names"
    known = getattr(g, attr, None)
    if known is None:
        accounts = current_engine().accounts
        known = dict(accounts.group_names() if kind == "group" else accounts.person_names())
        setattr(g, attr, known)
    return known


def group_label(value):
    """Groups (an id, a comma-separated string or a list) as people read them: "受理员、督查室"."""
    ids = _ids(value)
    known = _known("group")
    return "、".join(known.get(i, i) for i in ids) or "—"


def person_label(value):
    """Users (an id or a list) by their display names (an enterprise: 企业（QH…）)."""
    ids = _ids(value)
    known = _known("person")
    missing = [i for i in ids if i not in known]
    if missing:       # no account, or no display name: asked once per request
        known.update(current_engine().accounts.person_names(missing))
    return "、".join(known.get(i, i) for i in ids) or "—"


FILTERS = {"qihu_time": local_time, "qihu_deadline": deadline_text, "qihu_workdays": workdays_text, "qihu_size": size_text,
           "group_label": group_label, "person_label": person_label}
