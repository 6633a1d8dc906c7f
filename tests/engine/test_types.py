"""The engine's typed face (qihu.engine.types), on SQLite and PostgreSQL.

- the StrEnums keep today's values, and a member is its string: written to the database it
  reads back equal (as plain text), and the JSON of a result is what plain strings give;
- what the services return matches its TypedDict at run time, key for key and value for
  value (statuses as members of their StrEnum);
- every public method of the face is annotated, and mypy passes over it with the
  settings of setup.cfg [mypy] (test_the_face_type_checks).
"""
import configparser
import dataclasses
import inspect
import json
import types
import typing
from enum import Enum, StrEnum
from pathlib import Path

import pytest
from sqlalchemy import select, text

from qihu.engine import clock, config, errors, listeners, topics, types as T
from qihu.engine.core import Engine
from qihu.engine.history.service import History
from qihu.engine.repository.service import Repository
from qihu.engine.runtime import unit_of_work
from qihu.engine.runtime.service import Runtime
from qihu.engine.storage.models import Incident, Job, Task
from qihu.engine.tasks.service import TaskService

from tests.bpmn_util import bpmn, chain, typed_flow

ROOT = Path(__file__).resolve().parents[2]

TYPED = typed_flow("typed_flow", "typed.work", "类型检查")

BY_MESSAGE = bpmn("typed_msg", f"""
<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m" /></bpmn:startEvent>
<bpmn:userTask id="look" name="查看" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "look", "e")}""", extra='<bpmn:message id="m" name="typed_message" />\n')


def work(note, qihu, **_):
    """The external task: leaves a notification and a file, fails on a note saying so."""
    qihu.notify("已收到", body=note, to_groups="clerks")
    qihu.attach("回执.txt", "收到".encode(), "text/plain", meta={"n": 1})
    if note == "fail":
        raise RuntimeError("故意失败 (failing on purpose)")
    return {"done": True}


@pytest.fixture
def typed(engine):
    engine.handlers.register("typed.work", work)
    engine.tasks.add_member("li", "clerks")
    return engine


# -- the enums ------------------------------------------------------------------------------------
def test_the_enums_keep_todays_values():
    def values(e):
        return [m.value for m in e]
    assert values(T.InstanceStatus) == ["running", "suspended", "completed", "cancelled"]
    assert values(T.TaskStatus) == ["ready", "completed", "cancelled", "returned"]
    assert values(T.IncidentStatus) == ["open", "resolved", "cancelled"]
    assert values(T.JobKind) == ["timer", "retry", "sla"]
    assert values(T.SlaColour) == ["blue", "green", "yellow", "orange", "red"]
    assert values(T.CandidateKind) == ["group", "user"]
    assert values(T.PriorityBand) == ["high", "normal", "low"]
    assert "task_returned" in values(T.EventType) and "sla_changed" in values(T.EventType)
    # the constants that used to be literals still say the same
    from qihu.engine.tasks import handoff, service as tasks_service
    from qihu.engine.runtime import sla
    assert handoff.RETURNED == "returned"
    assert tasks_service.COLOURS == ("blue", "green", "yellow", "orange", "red")
    assert all(type(c) is str for c in tasks_service.COLOURS)
    assert list(tasks_service.PRIORITIES) == ["high", "normal", "low"]
    assert set(sla.COLOUR_NAMES) == set(values(T.SlaColour))


@pytest.mark.parametrize("enum", [T.InstanceStatus, T.TaskStatus, T.IncidentStatus, T.JobKind, T.SlaColour,
                                  T.CandidateKind, T.PriorityBand, T.EventType])
def test_a_member_is_its_string(enum):
    for m in enum:
        assert isinstance(m, str) and issubclass(enum, StrEnum)
        assert m == m.value and str(m) == m.value and f"{m}" == m.value and hash(m) == hash(m.value)
        assert json.dumps({"s": m, "l": [m]}, ensure_ascii=False) == json.dumps({"s": m.value, "l": [m.value]})
        assert json.dumps(m, ensure_ascii=False, default=str) == f'"{m.value}"'
        assert {m.value: 1}[m] == 1 and m in (m.value,)


def test_members_written_read_back_as_their_strings(typed):
    """ORM and Core writes of members, read back with plain SQL: the same text (both databases)."""
    typed.repository.deploy([("t.bpmn", TYPED)])
    iid = typed.runtime.start("typed_flow")
    tid = typed.tasks.list(instance_id=iid)[0]["id"]
    now = typed.clock.now()
    with typed.db.write() as s:
        s.add(Incident(instance_id=iid, task_id=tid, element_id="fill", topic="t", error_type="E", message="m",
                       status=T.IncidentStatus.RESOLVED, created_at=now, retries_left=0))
        s.add(Job(instance_id=iid, task_id=tid, element_id="fill", kind=T.JobKind.RETRY, due_at=now))
    with typed.db.read() as s:
        status = s.execute(text("SELECT status FROM incident WHERE topic = 't'")).scalar_one()
        kind = s.execute(text("SELECT kind FROM job WHERE kind = :k"), {"k": T.JobKind.RETRY}).scalar_one()
        task_status = s.execute(text("SELECT status FROM task WHERE id = :t"), {"t": tid}).scalar_one()
        colour = s.execute(text("SELECT sla_colour FROM task WHERE id = :t"), {"t": tid}).scalar_one()
        # a member compares in SQL as its string
        found = s.scalars(select(Task.id).where(Task.status == T.TaskStatus.READY,
                                                Task.sla_colour.in_(list(T.SlaColour)))).all()
    assert (status, kind, task_status) == ("resolved", "retry", "ready")
    assert type(status) is str and type(kind) is str and type(task_status) is str
    assert colour in [c.value for c in T.SlaColour] and found == [tid]
    # the engine's results carry members that equal what was stored
    [inc] = [i for i in typed.runtime.incidents(iid, status=None) if i["topic"] == "t"]
    assert inc["status"] is T.IncidentStatus.RESOLVED and inc["status"] == status
    task = typed.tasks.get(tid)
    assert task["status"] is T.TaskStatus.READY and task["sla_colour"] == colour
    assert typed.runtime.get(iid)["status"] is T.InstanceStatus.RUNNING


def _plain(value):
    """The same value with every StrEnum member replaced by its string."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k.value if isinstance(k, Enum) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _walk(engine):
    """Every kind of result of the face, from one process run start to end (and a message)."""
    out = {}
    result = engine.repository.deploy([("t.bpmn", TYPED), ("m.bpmn", BY_MESSAGE)], user="admin")
    out["deploy"] = result
    out["deploy_again"] = engine.repository.deploy([("t.bpmn", TYPED), ("m.bpmn", BY_MESSAGE)])
    out["definitions"] = engine.repository.definitions()
    out["versions"] = engine.repository.versions("typed_flow")
    out["activate"] = engine.repository.activate("typed_flow", 1, user="admin")
    out["diff"] = engine.repository.diff("typed_flow", 1, 1)
    out["xml"] = engine.repository.xml("typed_flow")[0]
    iid = engine.runtime.start("typed_flow", {"origin": "测试"}, business_key="T-1", user="li", region="湖州市")
    out["instance"] = engine.runtime.get(iid)
    out["instances"] = engine.runtime.instances()
    [task] = engine.tasks.list(instance_id=iid)
    out["tasks"] = engine.tasks.list(user="li")
    out["task"] = engine.tasks.get(task["id"])
    out["visible"] = engine.tasks.visible_get(task["id"], "li")
    out["inbox"] = engine.tasks.inbox("li")
    engine.tasks.claim(task["id"], "li")
    engine.tasks.complete(task["id"], "li", {"kind": "a", "note": "fail"})
    out["incidents"] = engine.runtime.incidents(iid)
    inc = out["incidents"][-1]
    out["retried"] = engine.runtime.retry_incident(inc["id"], user="admin")
    out["resolved"] = engine.runtime.resolve_incident(inc["id"], {"done": True}, user="admin")
    out["overview"] = engine.runtime.overview()
    out["correlated"] = engine.runtime.correlate("typed_message", business_key="M-1", payload={"a": 1})
    engine.runtime.suspend(iid, user="admin")
    engine.runtime.resume(iid, user="admin")
    out["events"] = engine.history.events(iid)
    out["records"] = engine.history.records(iid)
    out["diagram"] = engine.history.diagram(iid)
    out["problem"] = errors.Problem("缺少", file="a.bpmn", element="x", line=3).as_dict()
    engine.runtime.cancel(iid, user="admin", reason="测试")
    out["cancelled"] = engine.runtime.get(iid)
    return out


EXPECTED = {
    "deploy": T.DeployResult, "deploy_again": T.DeployResult, "definitions": list[T.DefinitionInfo],
    "versions": list[T.VersionInfo], "activate": list[T.VersionInfo], "diff": T.VersionDiff,
    "xml": T.DefinitionFile, "instance": T.InstanceInfo, "instances": list[T.InstanceInfo],
    "tasks": list[T.TaskInfo], "task": T.TaskDetail, "visible": T.TaskDetail, "inbox": T.InboxPage,
    "incidents": list[T.IncidentInfo], "retried": T.IncidentInfo, "resolved": T.IncidentInfo,
    "overview": T.Overview, "correlated": T.Correlated, "events": list[T.HistoryEventInfo],
    "records": T.InstanceRecords, "diagram": T.Diagram, "problem": T.ProblemInfo, "cancelled": T.InstanceInfo,
}


def conforms(value, tp, where="value"):
    """Assert that `value` is what the type says, recursively (TypedDicts key for key)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated or origin in (typing.Required, typing.NotRequired):
        return conforms(value, args[0], where)
    if tp is typing.Any:
        return
    if origin in (typing.Union, types.UnionType):
        failures = []
        for option in args:
            try:
                return conforms(value, option, where)
            except AssertionError as e:
                failures.append(str(e))
        raise AssertionError(f"{where}: {value!r} is none of {tp}: {failures}")
    if tp is type(None):
        assert value is None, f"{where}: {value!r} is not None"
        return
    if isinstance(tp, type) and issubclass(tp, Enum):
        assert isinstance(value, tp), f"{where}: {value!r} is not a member of {tp.__name__}"
        return
    if tp is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: {value!r} not a number"
        return
    if tp in (str, int, bool):
        assert isinstance(value, tp) and (tp is bool or not isinstance(value, bool)), \
            f"{where}: {value!r} is not {tp.__name__}"
        return
    if origin is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, v in enumerate(value):
            conforms(v, args[0], f"{where}[{i}]")
        return
    if origin is dict:
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        for k, v in value.items():
            conforms(k, args[0], f"{where} key")
            conforms(v, args[1], f"{where}[{k!r}]")
        return
    if typing.is_typeddict(tp):
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict ({tp.__name__})"
        hints = typing.get_type_hints(tp, include_extras=True)
        assert tp.__required_keys__ <= set(value) <= set(hints), \
            f"{where} ({tp.__name__}): keys {sorted(value)}, expected {sorted(hints)}"
        for k, v in value.items():
            conforms(v, hints[k], f"{where}.{k}")
        return
    if dataclasses.is_dataclass(tp):
        assert isinstance(value, tp), f"{where}: {value!r} is not a {tp.__name__}"
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            conforms(getattr(value, f.name), hints[f.name], f"{where}.{f.name}")
        return
    raise AssertionError(f"{where}: no rule for {tp!r}")


def test_results_match_their_types(typed):
    out = _walk(typed)
    assert set(out) == set(EXPECTED)
    for name, tp in EXPECTED.items():
        conforms(out[name], tp, name)
    # the walk saw what it should: colours, a form, an incident, a record of each kind
    assert out["task"]["sla_colour"] is not None and out["task"]["form"]["fields"][0]["options"]
    assert out["inbox"]["tasks"] and out["inbox"]["tasks"][0]["workdays_left"] is not None
    assert out["resolved"]["status"] is T.IncidentStatus.RESOLVED
    assert out["records"]["attachments"] and out["records"]["notifications"]
    assert out["cancelled"]["status"] is T.InstanceStatus.CANCELLED
    assert len(out["correlated"]["started"]) == 1 and out["deploy_again"].created is False


def test_json_of_results_is_what_plain_strings_give(typed):
    out = _walk(typed)
    for name, value in out.items():
        value = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        for ensure_ascii in (True, False):
            assert json.dumps(value, ensure_ascii=ensure_ascii, default=str) == \
                json.dumps(_plain(value), ensure_ascii=ensure_ascii, default=str), name
    assert '"status": "cancelled"' in json.dumps(out["cancelled"])
    assert json.loads(json.dumps(out["tasks"]))[0]["status"] == "ready"


# -- the annotations --------------------------------------------------------------------------------
FACE_CLASSES = [Engine, Repository, Runtime, TaskService, History]
FACE_MODULES = [errors, clock, config, topics, listeners, unit_of_work, T]


def _unannotated(fn, owner):
    sig = inspect.signature(fn)
    missing = [p.name for i, p in enumerate(sig.parameters.values())
               if p.annotation is inspect.Parameter.empty and not (i == 0 and p.name in ("self", "cls"))]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return [f"{owner}.{fn.__name__}: {', '.join(missing)}"] if missing else []


def _functions_of(cls):
    for name, member in vars(cls).items():
        if name.startswith("_") and (name != "__init__" or getattr(cls, "_is_protocol", False)):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member):
            yield member


def test_the_public_face_is_annotated():
    bad = []
    for cls in FACE_CLASSES:
        for fn in _functions_of(cls):
            bad += _unannotated(fn, cls.__name__)
    for module in FACE_MODULES:
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                bad += _unannotated(obj, module.__name__)
            elif inspect.isclass(obj) and not issubclass(obj, Enum):
                for fn in _functions_of(obj):
                    bad += _unannotated(fn, f"{module.__name__}.{name}")
    assert bad == []


def _installed_layout(tmp_path):
    """The package as a wheel installs it, as links (setup.cfg's package_dir): what mypy can read."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    mapping = dict(line.split("=") for line in cfg["options"]["package_dir"].strip().splitlines())
    mapping = {k.strip(): v.strip() for k, v in mapping.items()}
    tree = tmp_path / "layout"
    top = tree / "qihu"
    top.mkdir(parents=True)
    for child in (ROOT / mapping.pop("qihu")).iterdir():
        if child.name != "__pycache__":
            (top / child.name).symlink_to(child)
    for package, folder in sorted(mapping.items()):
        (tree / package.replace(".", "/")).symlink_to(ROOT / folder, target_is_directory=True)
    return tree


def test_the_face_type_checks(tmp_path, monkeypatch):
    """mypy with setup.cfg [mypy] over the face modules it lists passes without a complaint."""
    from mypy import api
    tree = _installed_layout(tmp_path)
    monkeypatch.setenv("MYPYPATH", str(tree))
    monkeypatch.chdir(tree)
    out, err, status = api.run(["--config-file", str(ROOT / "setup.cfg"),
                                "--cache-dir", str(ROOT / "build" / "mypy_cache"), "--no-error-summary"])
    assert (status, out.strip(), err.strip()) == (0, "", "")
