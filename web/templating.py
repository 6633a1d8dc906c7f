"""Blueprints whose templates are looked up as "qihu/<file>", so a host app's own index.html
cannot shadow ours (and a host may still override qihu/inbox.html on purpose)."""
import os

from flask import Blueprint
from jinja2 import FileSystemLoader, PrefixLoader

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
_LOADER = PrefixLoader({"qihu": FileSystemLoader(TEMPLATES)})


class QihuBlueprint(Blueprint):
    @property
    def jinja_loader(self):
        return _LOADER
