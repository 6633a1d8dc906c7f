"""The template filters every staff page uses: times, deadlines and working days as people say
them, sizes, and groups and users by their display names instead of their ids."""
from qihu.engine.dialect.timers import deadline_text, local_text
from qihu.web.context import current_engine
from qihu.web.i18n import gettext as _
from qihu.web.pages.task_panel import size_text


def register(blueprint):
    """Register the filters app-wide through `blueprint` (the staff UI's)."""
    for name, fn in FILTERS.items():
        blueprint.add_app_template_filter(fn, name)


def local_time(value):
    """An ISO date-time (UTC) shown in the engine's zone (Asia/Shanghai by default)."""
    return local_text(value)


def workdays_text(value):
    """Working days left as staff read them: "2.5 个工作日", "超期 1.0 个工作日"."""
    if value is None:
        return "—"
    if value < 0:
        return _("超期 {n} 个工作日", n=f"{-value:.1f}")
    if value < 1:
        return _("不足 1 个工作日")
    return _("{n} 个工作日", n=f"{value:.1f}")


def _ids(value):
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [v for v in value if v]


def group_label(value):
    """Groups (an id, a comma-separated string or a list) as people read them: "受理员、督查室"."""
    ids = _ids(value)
    names = current_engine().accounts.group_names(ids)
    return "、".join(names.get(i, i) for i in ids) or "—"


def person_label(value):
    """Users (an id or a list) by their display names."""
    ids = _ids(value)
    names = current_engine().accounts.person_names(ids)
    return "、".join(names.get(i, i) for i in ids) or "—"


FILTERS = {"qihu_time": local_time, "qihu_deadline": deadline_text, "qihu_workdays": workdays_text, "qihu_size": size_text,
           "group_label": group_label, "person_label": person_label}
