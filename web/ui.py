"""The Chinese start page: deployed definitions and what is running. (The inbox comes later.)"""
import os
from datetime import datetime

from flask import Blueprint, current_app, render_template
from jinja2 import FileSystemLoader, PrefixLoader

from engine.parser import TIMEZONE

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
_LOADER = PrefixLoader({"qihu": FileSystemLoader(TEMPLATES)})


class _Blueprint(Blueprint):
    # Templates are looked up as "qihu/<file>", so a host app's own index.html cannot
    # shadow ours (and a host may still override qihu/index.html on purpose).
    @property
    def jinja_loader(self):
        return _LOADER


blueprint = _Blueprint("qihu_ui", __name__, static_folder="static", static_url_path="/qihu-static")


@blueprint.app_template_filter("qihu_time")
def local_time(value):
    """An ISO date-time (UTC) shown in the engine's zone (Asia/Shanghai by default)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")


@blueprint.get("/")
def index():
    qihu = current_app.extensions["qihu"]
    engine = qihu.engine
    return render_template("qihu/index.html", definitions=engine.repository.definitions(),
                           stats=engine.runtime.overview(), user=qihu.user())
