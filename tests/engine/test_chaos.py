"""Issue 13, finding 1, measured: a bounded run of bench/chaos_bench.py (a few kill -9 of an
engine process at random moments) loses, duplicates and double-fires nothing, and leaves
every instance's rows in step with its tree. The full run is the bench (see its docstring)."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("db", [pytest.param("sqlite", marks=pytest.mark.sqlite),
                                pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_kill_nine_loses_nothing(db):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "chaos_bench.py"), "--kills", "3", "--db", db],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1]
    assert last == "chaos kills: 3; lost: 0; duplicated: 0; inconsistent: 0; double-fired: 0", run.stdout
