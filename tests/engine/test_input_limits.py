"""Issue 16, finding 4 in the engine: text checked against the column it lands in
(engine/storage/limits.py), and deploy refusing names and ids longer than their columns.
PostgreSQL refused them at run time (a 500 on every start); SQLite stored them."""
import pytest

from qihu.engine.errors import DeployError, ValidationFailed
from qihu.engine.storage import limits
from qihu.engine.storage.models import Instance, Task

from tests.bpmn_util import bpmn, chain


def test_the_helper_reads_lengths_from_the_models_and_refuses_control_characters():
    assert limits.column_length(Instance.business_key) == 200 and limits.column_length(Task.name) == 300
    assert limits.check_text("第一行\n第二行\t", "note", Task.name) == "第一行\n第二行\t"
    with pytest.raises(ValidationFailed) as e:
        limits.check_text("a\x00b", "note", Task.name)
    assert e.value.errors == {"note": "note含有不允许的字符"} and "U+0000" in str(e.value)
    with pytest.raises(ValidationFailed) as e:
        limits.check_values({"business_key": ("x" * 201, Instance.business_key), "region": ("湖州市", Instance.region)})
    assert set(e.value.errors) == {"business_key"} and "200" in str(e.value) and "过长" in str(e.value)


FLOW = bpmn("limit_flow", f"""
<bpmn:startEvent id="s" /><bpmn:userTask id="t" name="办理" camunda:candidateGroups="g" /><bpmn:endEvent id="e" />
{chain("s", "t", "e")}""")


@pytest.mark.parametrize("field,value", [("business_key", "长" * 300), ("region", "区" * 150),
                                         ("business_key", "a\x00b"), ("region", "a\x00b")])
def test_start_refuses_over_long_or_nul_keys_and_regions(engine, field, value):
    engine.repository.deploy([("limit_flow.bpmn", FLOW)])
    with pytest.raises(ValidationFailed) as e:
        engine.runtime.start("limit_flow", **{field: value})
    assert field in e.value.errors
    assert engine.runtime.instances() == []


@pytest.mark.parametrize("old,new,says", [
    ('name="办理"', 'name="' + "办" * 400 + '"', "任务名称过长"),
    ('id="t"', 'id="' + "t" * 250 + '"', "元素 id过长"),
    ('camunda:candidateGroups="g"', 'camunda:candidateGroups="' + "g" * 250 + '"', "camunda:candidateGroups"),
])
def test_deploy_refuses_names_and_ids_longer_than_their_columns(engine, old, new, says):
    xml = FLOW.decode().replace(old, new)
    if old == 'id="t"':
        xml = xml.replace('"t"', '"' + "t" * 250 + '"')
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("limit_flow.bpmn", xml.encode())])
    text = str(e.value)
    assert says in text and "limit_flow.bpmn" in text and "longer than" in text, text
    assert engine.repository.definitions(latest_only=False) == []


def test_deploy_refuses_a_long_process_id_and_file_name(engine):
    long_id = "p" * 220
    xml = FLOW.decode().replace('id="limit_flow"', f'id="{long_id}"')
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("limit_flow.bpmn", xml.encode())])
    assert "流程 id过长" in str(e.value) and "process id" in str(e.value)
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("长" * 320 + ".bpmn", FLOW)])
    assert "文件名过长" in str(e.value) and "file name" in str(e.value)
    assert engine.repository.definitions(latest_only=False) == []


def test_a_400_character_task_name_no_longer_deploys_and_breaks_every_start(engine):
    xml = FLOW.replace('name="办理"'.encode(), ('name="' + "名" * 400 + '"').encode())
    with pytest.raises(DeployError):
        engine.repository.deploy([("limit_flow.bpmn", xml)])
    engine.repository.deploy([("limit_flow.bpmn", FLOW)])
    assert engine.runtime.start("limit_flow", business_key="B-" + "1" * 190)


def test_an_account_display_name_is_checked_against_its_column(engine):
    """A 201-character or NUL display name is refused naming the field, before PostgreSQL sees it."""
    for bad in ("名" * 201, "张\x00三"):
        with pytest.raises(ValidationFailed) as e:
            engine.accounts.add_user("someone", "pw-for-tests", display_name=bad)
        assert "display_name" in e.value.errors
    assert engine.accounts.get("someone") is None
