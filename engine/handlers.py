"""Service-task handlers: plain functions registered for a topic.

A handler is marked with `@topic("name")`, which only tags the function; discovery
imports the bundled `handlers` package and every installed package that declares a
`qihu.handlers` entry point (a module or package), so a region can add handlers
without touching this repository.
"""
import importlib
import inspect
import logging
import pkgutil
from importlib.metadata import entry_points

log = logging.getLogger(__name__)
ATTR = "__qihu_topic__"


def topic(name):
    """Mark a function as the handler of `name`. Returns the function unchanged."""
    def mark(func):
        setattr(func, ATTR, name)
        return func
    return mark


class HandlerRegistry:
    def __init__(self):
        self._handlers = {}

    def register(self, name, func, replace=False):
        old = self._handlers.get(name)
        if old is not None and old is not func and not replace:
            raise ValueError(f"topic {name!r} already has a handler: {old.__module__}.{old.__qualname__}")
        self._handlers[name] = func

    def register_module(self, module):
        for obj in vars(module).values():
            name = getattr(obj, ATTR, None)
            if name and callable(obj):
                self.register(name, obj)

    def register_package(self, package):
        """A module, or a package and all its submodules."""
        module = importlib.import_module(package) if isinstance(package, str) else package
        self.register_module(module)
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
                self.register_module(importlib.import_module(info.name))

    def discover(self):
        """Load the `qihu.handlers` entry points (the bundled package declares one too)."""
        seen = set()
        for ep in entry_points(group="qihu.handlers"):
            if ep.value in seen:
                continue
            seen.add(ep.value)
            self.register_package(ep.load())
        if "handlers" not in seen:  # running from a checkout without the package installed
            try:
                self.register_package("handlers")
            except ModuleNotFoundError:
                pass
        return self

    def get(self, name):
        return self._handlers.get(name)

    def __contains__(self, name):
        return name in self._handlers

    def topics(self):
        return sorted(self._handlers)

    @staticmethod
    def call(func, inputs):
        """Call with the inputs the function accepts (all of them if it takes **kwargs)."""
        sig = inspect.signature(func)
        params = sig.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return func(**inputs)
        accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        return func(**{k: v for k, v in inputs.items() if k in accepted})
