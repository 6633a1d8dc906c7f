"""The demo's first run: `make demo PORT=…`, an install without a screen of pip's location warnings
(issue 15, Demo and first run)."""
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from qihu.cli import main
from tests.conftest import ROOT

NOISE = "WARNING: Location 'file:///opt/pypi-more/simple/flask/' is ignored: it is neither a file nor a directory."
pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which("bash") is None,
                                reason="needs make and bash")


def make(*args, cwd=ROOT):
    return subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def fake_venv(tmp_path, exit_status):
    """A virtualenv whose pip prints the location warnings, a real warning and an error, then exits."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text("#!/bin/sh\n")
    pip = bin_dir / "pip"
    pip.write_text("#!/bin/sh\n"
                   f'echo "{NOISE}" >&2\n'
                   f'echo "{NOISE.replace("flask", "wtforms")}" >&2\n'
                   'echo "WARNING: The script qihu is installed in a folder not on PATH" >&2\n'
                   'echo "ERROR: No matching distribution found for nothing" >&2\n'
                   'echo "installed: $*"\n'
                   f"exit {exit_status}\n")
    for f in (bin_dir / "python", pip):
        os.chmod(f, 0o755)
    return tmp_path / "venv"


@pytest.mark.parametrize("status", [0, 3])
def test_install_drops_only_the_location_warnings_and_keeps_the_exit_status(tmp_path, status):
    venv = fake_venv(tmp_path, status)
    result = make("install", f"VENV={venv}")
    assert "is ignored: it is neither a file nor a directory" not in result.stderr + result.stdout
    assert "WARNING: The script qihu is installed in a folder not on PATH" in result.stderr
    assert "ERROR: No matching distribution found for nothing" in result.stderr
    assert "installed: install -q -e .[test]" in result.stdout                  # pip's own output untouched
    assert (result.returncode == 0) == (status == 0), result.stderr


def test_make_demo_takes_a_port_and_a_host():
    assert "qihu demo --host 127.0.0.1 --port 5000" in make("-n", "demo").stdout
    assert "qihu demo --host 0.0.0.0 --port 8080" in make("-n", "demo", "PORT=8080", "HOST=0.0.0.0").stdout


def test_the_demo_command_names_its_port_and_host_options():
    out = CliRunner().invoke(main, ["demo", "--help"]).output
    assert "--port" in out and "--host" in out and "5000" in out


def test_seed_adds_sample_appeals_on_request_only(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    monkeypatch.setenv("QIHU_NOW", "2026-11-23T09:00:00+08:00")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(main, ["seed"], catch_exceptions=False)
    assert plain.exit_code == 0 and "sample appeal" not in plain.output
    first = runner.invoke(main, ["seed", "--samples"], catch_exceptions=False)
    assert first.exit_code == 0 and first.output.count("sample appeal") >= 16
    again = runner.invoke(main, ["seed", "--samples"], catch_exceptions=False)
    assert again.exit_code == 0 and "sample appeal" not in again.output
