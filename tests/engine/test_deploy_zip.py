"""A bundle may come as a zip (as designers mail them): its .bpmn/.dmn files deploy together;
anything else in it, or an unsafe archive, refuses the whole bundle with the zip's name."""
import io
import zipfile

import pytest
from click.testing import CliRunner

from qihu.engine.errors import DeployError

from tests.conftest import BPMN


def zipped(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


HUZHOU = [("variants/huzhou_joint_meeting.bpmn", (BPMN / "huzhou_joint_meeting.bpmn").read_bytes()),
          ("variants/huzhou_boards.dmn", (BPMN / "huzhou_boards.dmn").read_bytes())]


def keys(result):
    return sorted(d["key"] for d in result.definitions)


def test_a_zip_deploys_its_diagrams_and_tables_as_one_bundle(engine):
    extras = [("__MACOSX/._huzhou.bpmn", b"junk"), (".DS_Store", b"junk"), ("variants/", b"")]
    result = engine.repository.deploy([("huzhou.zip", zipped(HUZHOU + extras))])
    assert result.created and keys(result) == ["huzhou_joint_meeting"]
    assert engine.runtime.get(engine.runtime.start("huzhou_joint_meeting", {}))["region"] == "湖州市"


def test_a_zip_is_the_same_bundle_as_its_files(engine):
    files = [(n.split("/")[-1], d) for n, d in HUZHOU]
    first = engine.repository.deploy(files)
    again = engine.repository.deploy([("huzhou.zip", zipped(HUZHOU))])
    assert not again.created and again.deployment_id == first.deployment_id


@pytest.mark.parametrize("entries, says", [
    ([("readme.txt", b"hi")] + HUZHOU, "zip entry 'readme.txt' is not a .bpmn or .dmn file"),
    ([("x/run.exe", b"MZ")], "zip entry 'x/run.exe' is not a .bpmn or .dmn file"),
    ([], "zip holds no .bpmn or .dmn file"),
    ([("../../etc/evil.bpmn", b"<x")], "evil.bpmn"),            # a name, never a path: parsed and refused as XML
])
def test_bad_zips_deploy_nothing(engine, entries, says):
    with pytest.raises(DeployError) as e:
        engine.repository.deploy([("bundle.zip", zipped(entries))])
    assert says in str(e.value)
    assert engine.repository.definitions(latest_only=False) == []


def test_not_a_zip(engine):
    with pytest.raises(DeployError, match=r"bundle.zip.*not a readable zip file"):
        engine.repository.deploy([("bundle.zip", b"PK\x03\x04 but not really")])


def test_a_zip_bomb_is_refused_before_it_is_unpacked(engine, monkeypatch):
    from qihu.engine.repository import service as repository
    monkeypatch.setattr(repository, "ZIP_MAX_BYTES", 1000)
    with pytest.raises(DeployError, match="more than 200 files or 0 MB unpacked"):
        engine.repository.deploy([("bomb.zip", zipped([("a.bpmn", b" " * 5000)]))])
    assert engine.repository.definitions(latest_only=False) == []


def test_cli_deploys_a_zip(engine, db_url, tmp_path):
    from qihu.cli import main
    path = tmp_path / "huzhou.zip"
    path.write_bytes(zipped(HUZHOU))
    r = CliRunner().invoke(main, ["deploy", str(path)], env={"QIHU_DATABASE_URL": db_url}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "huzhou_joint_meeting v1" in r.output
