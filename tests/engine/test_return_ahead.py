"""退单 after a merging gateway: the returnable task sits behind a gateway (and a boundary-event
split) that the engine had not expanded yet when the state was pruned between passes; the
dispatch step it returns to must still be kept (found by the Dinghai variant)."""
import pytest

from tests.bpmn_util import bpmn, chain, flow

RETURNS = ('<bpmn:extensionElements><camunda:properties><camunda:property name="returnTo" value="dispatch"/>'
           '</camunda:properties></bpmn:extensionElements>')
LATE = ('<bpmn:boundaryEvent id="late" attachedToRef="handle" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent><bpmn:endEvent id="e2" />' + flow("fl", "late", "e2"))


def diagram(pid, scripts, merge_is_gateway):
    steps = "".join(f'<bpmn:scriptTask id="z{i}" scriptFormat="python"><bpmn:script>x = {i}</bpmn:script>'
                    '</bpmn:scriptTask>' for i in range(scripts))
    merge = ('<bpmn:exclusiveGateway id="merge" />' if merge_is_gateway else
             '<bpmn:scriptTask id="merge" scriptFormat="python"><bpmn:script>y = 1</bpmn:script></bpmn:scriptTask>')
    zs = [f"z{i}" for i in range(scripts)]
    return bpmn(pid, f"""
<bpmn:startEvent id="s" />
<bpmn:userTask id="dispatch" name="派单" camunda:candidateGroups="center" />
<bpmn:exclusiveGateway id="split" default="f_plain" />
<bpmn:scriptTask id="copy" scriptFormat="python"><bpmn:script>copied = True</bpmn:script></bpmn:scriptTask>
{merge}{steps}
<bpmn:userTask id="handle" name="办理" camunda:candidateGroups="dept">{RETURNS}</bpmn:userTask>
{LATE}
<bpmn:endEvent id="e" />
{chain("s", "dispatch", "split")}
{flow("f_copy", "split", "copy", "go == True")}{flow("f_plain", "split", "merge")}{flow("f_copied", "copy", "merge")}
{chain("merge", *zs, "handle", "e")}""")


@pytest.mark.parametrize("go", [True, False])
@pytest.mark.parametrize("scripts", [1, 2])
@pytest.mark.parametrize("merge_is_gateway", [True, False])
def test_return_through_a_merge_reaches_the_dispatch_step(engine, go, scripts, merge_is_gateway):
    pid = f"p{int(go)}{scripts}{int(merge_is_gateway)}"
    engine.repository.deploy([(f"{pid}.bpmn", diagram(pid, scripts, merge_is_gateway))])
    engine.tasks.add_member("zhou", "center")
    engine.tasks.add_member("wang", "dept")
    iid = engine.runtime.start(pid, {"go": go})
    [dispatch] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(dispatch["id"], "zhou", {})
    [handle] = engine.tasks.list(instance_id=iid)
    assert handle["element_id"] == "handle"
    engine.handoff.return_task(handle["id"], "wang", "材料不全，请重新派单")
    [back] = engine.tasks.list(instance_id=iid)
    assert back["element_id"] == "dispatch" and back["id"] != dispatch["id"]
    assert engine.runtime.data(iid)["return_reason"] == "材料不全，请重新派单"
    engine.tasks.complete(back["id"], "zhou", {})                  # re-dispatched: the flow goes on
    assert [t["element_id"] for t in engine.tasks.list(instance_id=iid)] == ["handle"]
