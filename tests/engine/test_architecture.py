"""The floor plan, checked: which wing may import which (docs/architecture.md draws it).

- engine/ (qihu.engine) imports nothing of the appeal domain, the handlers, web/ or the CLI;
- web/ (qihu.web) imports no SQLAlchemy, no engine tables and no SpiffWorkflow: it calls the
  engine's services and the domain;
- the domain, the handlers and web/ import no private name (`_x`) of the engine;
- the import graph of the whole package has no cycle, counting imports inside functions too;
- the installed package claims one top-level name, qihu.

Imports are read from the source (ast), so a lazy import inside a function counts as much
as one at the top of a module.
"""
import ast
import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINGS = {"qihu.engine": ROOT / "engine", "qihu.appeals": ROOT / "appeals", "qihu.web": ROOT / "web",
         "qihu.handlers": ROOT / "handlers", "qihu": ROOT / "qihu"}


def _modules():
    """{dotted name: path} of every module of the package (Alembic's scripts are not modules
    of the package: Alembic loads them by path)."""
    out = {}
    for prefix, folder in WINGS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder)
            if "migrations" in rel.parts or "frontend" in rel.parts or "templates" in rel.parts:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts]) if parts else prefix] = path
    return out


MODULES = _modules()


def _imports(name, path):
    """[(imported module, imported names, line)] of a module, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((a.name, [], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.append((target, [a.name for a in node.names], node.lineno))
    return found


def _graph():
    """{module: {module it imports: line}}, within the package; `from pkg import mod` counts
    as an import of pkg.mod."""
    graph = {}
    for name, path in MODULES.items():
        edges = graph.setdefault(name, {})
        for target, names, line in _imports(name, path):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            for t in subs or ([target] if target in MODULES else []):
                if t != name:
                    edges.setdefault(t, line)
    return graph


def _where(name, line):
    return f"{MODULES[name].relative_to(ROOT)}:{line}"


def _in(name, wing):
    return name == wing or name.startswith(wing + ".")


def test_every_wing_has_modules():
    for wing in WINGS:
        assert any(_in(m, wing) for m in MODULES), wing
    # the four nouns are folders a reader finds with ls engine/
    for noun in ("repository", "runtime", "tasks", "history"):
        assert (ROOT / "engine" / noun / "__init__.py").exists(), noun


def test_the_engine_imports_no_domain_handlers_web_or_cli():
    bad = [f"{_where(m, line)} imports {t}"
           for m, edges in _graph().items() if _in(m, "qihu.engine")
           for t, line in edges.items()
           if any(_in(t, w) for w in ("qihu.appeals", "qihu.handlers", "qihu.web", "qihu.cli"))
           or t == "qihu"]
    assert bad == []


def test_the_engine_imports_no_web_library():
    bad = [f"{_where(m, line)} imports {t}"
           for m, path in MODULES.items() if _in(m, "qihu.engine")
           for t, _names, line in _imports(m, path)
           if t and (t.split(".")[0] in ("flask", "flask_login", "flask_wtf", "wtforms", "openpyxl", "docxtpl",
                                         "jinja2")
                     or (t.split(".")[0] == "werkzeug" and t != "werkzeug.security"))]   # its password hashes
    assert bad == []


def test_web_imports_no_sqlalchemy_tables_or_spiffworkflow():
    bad = [f"{_where(m, line)} imports {t}"
           for m, path in MODULES.items() if _in(m, "qihu.web")
           for t, _names, line in _imports(m, path)
           if t and (t.split(".")[0] in ("sqlalchemy", "SpiffWorkflow", "alembic")
                     or _in(t, "qihu.engine.storage") or _in(t, "qihu.appeals.models"))]
    assert bad == []


def test_nothing_outside_the_engine_imports_its_private_names():
    bad = []
    for m, path in MODULES.items():
        if _in(m, "qihu.engine"):
            continue
        for t, names, line in _imports(m, path):
            if t and _in(t, "qihu.engine"):
                bad += [f"{_where(m, line)} imports {t}.{n}" for n in names if n.startswith("_")]
                bad += [f"{_where(m, line)} imports {t}" for part in t.split(".") if part.startswith("_")]
    assert bad == []


def test_handlers_use_the_front_door_only():
    """A region's handler package imports `qihu` (or qihu.engine) and nothing deeper, so the
    bundled handlers show the way and keep to it."""
    bad = [f"{_where(m, line)} imports {t}"
           for m, path in MODULES.items() if _in(m, "qihu.handlers")
           for t, _names, line in _imports(m, path)
           if t and _in(t, "qihu") and t not in ("qihu", "qihu.engine") and not _in(t, "qihu.handlers")]
    assert bad == []


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    graph = _graph()
    cycles = _cycles(graph)
    described = [" -> ".join(c) + "  (" + ", ".join(f"{a}→{b} {_where(a, graph[a][b])}" for a in c for b in c
                                                   if b in graph[a]) + ")" for c in cycles]
    assert described == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []


def test_one_top_level_name_installed():
    """setup.cfg maps every package under qihu; nothing else lands in site-packages."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    packages = [p.strip() for p in cfg["options"]["packages"].split() if p.strip()]
    assert {p.split(".")[0] for p in packages} == {"qihu"}
    # every package of the tree is listed (a folder left out would be missing from a wheel)
    on_disk = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert on_disk - set(packages) == set()


@pytest.mark.parametrize("name", ["engine", "web", "handlers", "appeals"])
def test_generic_names_are_not_importable_outside_the_checkout(name, tmp_path):
    """From any other folder, `import engine` (or web, handlers) finds nothing of ours."""
    import subprocess
    import sys
    code = (f"import importlib.util as u; s = u.find_spec({name!r}); "
            f"print('' if s is None else s.origin)")
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert not found.startswith(str(ROOT)), found
