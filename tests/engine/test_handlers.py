"""Handler discovery: the bundled package and any installed package's entry point."""
import pytest

from qihu.engine.topics import HandlerRegistry, topic


def test_bundled_handlers_are_discovered():
    reg = HandlerRegistry().discover()
    assert {"appeal.route", "appeal.notify", "appeal.remind"} <= set(reg.topics())


def test_a_region_package_adds_handlers_through_an_entry_point(tmp_path, monkeypatch):
    pkg = tmp_path / "lishui_handlers"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from qihu import topic\n\n"
        "@topic('lishui.notify')\n"
        "def notify(phone, **_):\n"
        "    return {'sms_to': phone}\n", encoding="utf-8")
    dist = tmp_path / "lishui_handlers-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lishui-handlers\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[qihu.handlers]\nlishui = lishui_handlers\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    importlib.invalidate_caches()
    reg = HandlerRegistry().discover()
    assert "lishui.notify" in reg and "appeal.route" in reg
    assert HandlerRegistry.call(reg.get("lishui.notify"), {"phone": "138", "other": 1}) == {"sms_to": "138"}


def test_handlers_are_plain_functions_called_with_what_they_accept():
    @topic("x.add")
    def add(a, b):
        return {"sum": a + b}

    assert add(1, 2) == {"sum": 3}                      # still a plain function
    assert HandlerRegistry.call(add, {"a": 1, "b": 2, "unused": 3}) == {"sum": 3}
    reg = HandlerRegistry()
    reg.register_module(type("m", (), {"add": add}))
    assert reg.get("x.add") is add


def test_two_handlers_for_one_topic_is_an_error():
    reg = HandlerRegistry()
    reg.register("t", lambda: None)
    with pytest.raises(ValueError, match="already has a handler"):
        reg.register("t", lambda: None)
