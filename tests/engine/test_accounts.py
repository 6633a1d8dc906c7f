"""Accounts (engine/identity/accounts.py) and `qihu user`: hashed passwords, groups, clear refusals."""
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from qihu.cli import main
from qihu.engine.errors import Conflict, NotFound, ValidationFailed
from qihu.engine.storage.models import UserAccount


def test_add_user_hashes_password_and_sets_groups(real_password_hashing, engine):
    a = engine.accounts.add_user("li", "s3cret-pw", display_name="李受理", groups=["acceptor", "受理员"])
    assert a["name"] == "li" and a["display_name"] == "李受理" and a["is_active"] and not a["is_admin"]
    assert engine.tasks.groups_of("li") == sorted(["acceptor", "受理员"])
    with engine.db.read() as s:
        stored = s.scalar(select(UserAccount.password_hash).where(UserAccount.name == "li"))
    assert "s3cret-pw" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert engine.accounts.check_password("li", "s3cret-pw")["name"] == "li"
    assert engine.accounts.check_password("li", "wrong") is None
    assert engine.accounts.check_password("nobody", "s3cret-pw") is None
    assert engine.accounts.get("nobody") is None


def test_password_change_and_disabled_accounts(real_password_hashing, engine):
    engine.accounts.add_user("wang", "first-pw")
    assert engine.accounts.get("wang")["display_name"] == "wang"
    engine.accounts.set_password("wang", "second-pw")
    assert engine.accounts.check_password("wang", "first-pw") is None
    assert engine.accounts.check_password("wang", "second-pw")
    engine.accounts.set_active("wang", False)
    assert engine.accounts.check_password("wang", "second-pw") is None
    with pytest.raises(NotFound):
        engine.accounts.set_password("nobody", "whatever")


def test_refusals(real_password_hashing, engine):
    engine.accounts.add_user("li", "pw-1234")
    with pytest.raises(Conflict, match="exists"):
        engine.accounts.add_user("li", "other-pw")
    for bad in ("", "a b", "a,b", "x" * 101, None):
        with pytest.raises(ValidationFailed, match="user name"):
            engine.accounts.add_user(bad, "pw-1234")
    with pytest.raises(ValidationFailed, match="at least 4") as e:
        engine.accounts.add_user("zhao", "abc")
    assert set(e.value.errors) == {"password"}
    assert engine.accounts.get("zhao") is None


def test_cli_user_commands(real_password_hashing, db_url, monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    runner = CliRunner()
    r = runner.invoke(main, ["user", "add", "zhao", "supervisor", "督查室", "--password", "pw-5678",
                             "--display-name", "赵督查"])
    assert r.exit_code == 0, r.output
    assert "user zhao (赵督查): supervisor, 督查室" in r.output
    r = runner.invoke(main, ["user", "add", "zhao", "--password", "pw-5678"])
    assert r.exit_code == 1 and "error:" in r.output and "exists" in r.output
    r = runner.invoke(main, ["user", "add", "qian", "--password", "x"])
    assert r.exit_code == 1 and "at least 4" in r.output
    r = runner.invoke(main, ["user", "add", "sun"], input="pw-prompted\npw-prompted\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["user", "password", "zhao", "--password", "new-pw-1"])
    assert r.exit_code == 0 and "changed" in r.output
    r = runner.invoke(main, ["user", "list"])
    assert "zhao\t赵督查\tsupervisor,督查室" in r.output and "sun\tsun\t" in r.output
    from qihu.engine import Engine
    e = Engine(db_url, migrate=False)
    try:
        assert e.accounts.check_password("zhao", "new-pw-1") and e.accounts.check_password("sun", "pw-prompted")
    finally:
        e.close()


def test_demo_seed_gives_every_demo_user_the_demo_password(engine, tmp_path):
    import shutil
    from qihu.appeals.demo import DEMO_PASSWORD, DEMO_USERS, seed
    from tests.conftest import BPMN
    shutil.copy(BPMN / "appeal_basic.bpmn", tmp_path)
    lines = list(seed(engine, tmp_path))
    assert "deployed appeal_basic v1" in lines
    assert f"demo user shouli (password {DEMO_PASSWORD}): acceptor, 受理员" in lines
    engine.accounts.set_password("shouli", "changed-pw")
    again = list(seed(engine, tmp_path))                 # a second run resets, and adds nothing twice
    assert "deployed appeal_basic v1 (unchanged)" in again
    for user, groups in DEMO_USERS.items():
        assert engine.accounts.check_password(user, DEMO_PASSWORD)["name"] == user
        assert set(engine.tasks.groups_of(user)) == set(groups)
    assert engine.accounts.get("admin")["is_admin"] and not engine.accounts.get("shouli")["is_admin"]
