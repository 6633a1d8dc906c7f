"""An engine step error names the diagram it really came from (issue 13, finding 2): three
bundled diagrams share the element id Task_classify, and an error in one of them used to name
the first file of the deployment that had the id."""
import pytest

from qihu.engine.runtime.service import EngineStepError
from tests.bpmn_util import bpmn, chain


def _process(pid, script, lines_before=0):
    pad = "\n" * lines_before     # the same element on another line of its own file
    return bpmn(pid, f"""{pad}
<bpmn:startEvent id="s" />
<bpmn:scriptTask id="Task_classify" name="分类"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="e" />
{chain("s", "Task_classify", "e")}""")


def _line_of(xml, element_id):
    return next(n for n, text in enumerate(xml.decode().splitlines(), 1) if f'id="{element_id}"' in text)


def test_the_error_names_the_file_and_line_of_its_own_process(engine):
    first, second = _process("first", "kind = 'ok'"), _process("second", "kind = 1 / 0", lines_before=5)
    line = _line_of(second, "Task_classify")
    assert line != _line_of(first, "Task_classify")
    engine.repository.deploy([("a_first.bpmn", first), ("b_second.bpmn", second)])
    engine.runtime.start("first")                      # the same id runs fine in its own file
    with pytest.raises(EngineStepError) as e:
        engine.runtime.start("second")
    assert e.value.file == "b_second.bpmn" and e.value.element == "Task_classify"
    assert e.value.line == line                        # its line in b_second.bpmn, not a_first.bpmn's
    assert str(e.value).startswith(f"b_second.bpmn:{line} [Task_classify] ")
