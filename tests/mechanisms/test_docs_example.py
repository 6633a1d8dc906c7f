"""docs/designers.md stays true: its example diagram deploys and runs to the end, and every
handler topic the guide names is registered."""
import re
from pathlib import Path

from qihu import appeals
from qihu.engine.topics import HandlerRegistry

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "designers.md"
EXAMPLE = ROOT / "docs" / "examples" / "minimal_appeal.bpmn"
# `supervision.letter`, `ledger.record(...)`: a lower-case name, a dot, a lower-case name
TOPIC = re.compile(r"`([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(?:\(|`)")
NOT_TOPICS = {"designers.md", "minimal_appeal.bpmn"}
# process properties named like topics: `figure.department`, … (the dashboard's figures)
PROPERTY = re.compile(r"^figure\.")


def test_example_deploys_and_runs(engine):
    result = engine.repository.deploy([str(EXAMPLE)], user="admin")
    assert [d["key"] for d in result.definitions] == ["minimal_appeal"]
    iid = engine.runtime.start("minimal_appeal", {"company": "某某科技有限公司", "summary": "厂房用电增容迟迟未办"},
                               business_key="DOC-1", user="admin")
    engine.tasks.add_member("bumen", "dept_general")
    [task] = engine.tasks.list(user="bumen")
    assert task["element_id"] == "Task_handle" and task["due_at"] is not None
    engine.tasks.complete(task["id"], "bumen", {"reply": "已协调供电公司增容", "responsible_unit": "区发改局"})
    assert engine.tasks.list(instance_id=iid) == []
    assert engine.runtime.get(iid)["status"] == "completed"
    [letter] = appeals.of(engine).records(iid)["attachments"]
    assert letter["kind"] == "letter" and letter["meta"]["to_unit"] == "区发改局"
    assert engine.runtime.data(iid)["letter_no"].startswith("督办〔")


def test_guide_names_only_registered_topics():
    text = GUIDE.read_text(encoding="utf-8")
    named = {n for n in TOPIC.findall(text) if not PROPERTY.match(n)} - NOT_TOPICS
    assert len(named) >= 14, sorted(named)   # the 14 bundled topics
    known = set(HandlerRegistry().discover().topics())
    assert named <= known, f"docs/designers.md names unregistered topics: {sorted(named - known)}"
