"""Blueprints whose templates are looked up as "qihu/<file>", so a host app's own index.html
cannot shadow ours (and a host may still override qihu/inbox.html on purpose)."""
import os

from flask import Blueprint
from jinja2 import FileSystemLoader, PrefixLoader

WEB = os.path.dirname(os.path.dirname(__file__))
TEMPLATES = os.path.join(WEB, "templates")
STATIC = os.path.join(WEB, "static")
_LOADER = PrefixLoader({"qihu": FileSystemLoader(TEMPLATES)})


class QihuBlueprint(Blueprint):
    @property
    def jinja_loader(self):
        return _LOADER
