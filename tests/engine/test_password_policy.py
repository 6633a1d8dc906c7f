"""Issue 16, finding 6 (passwords): length (10) and three of four character classes by default,
configurable, and the commonest passwords refused, each refusal naming its rule in Chinese.
(The rest of the suite runs with a relaxed policy: tests/conftest.py RELAXED_PASSWORDS.)"""
import pytest
from click.testing import CliRunner

from qihu.appeals.demo import DEMO_PASSWORD
from qihu.cli import main
from qihu.engine.config import Settings
from qihu.engine.errors import ValidationFailed
from qihu.engine.identity.accounts import common_passwords, password_problem

PRODUCTION = Settings()


@pytest.mark.parametrize("password, rule", [
    ("qihu", "密码至少 10 个字符"),                       # the old demo password
    ("Ab1!", "密码至少 10 个字符"),
    ("abcdefghijk", "至少 3 类"),                         # one class
    ("abcdefghij12", "至少 3 类"),                        # two
    ("ABCDEFGH1234", "至少 3 类"),
    ("Password123", "过于常见"),
    ("Password2024!", "过于常见"),                        # the common word with digits and symbols around it
    ("1qaz@WSX3edc", "过于常见"),
    ("Woaini1314!", "过于常见"),
    ("Aa123456789", "过于常见"),
    ("Qwer1234!@#$", "过于常见"),
    ("P@ssw0rd123", "过于常见"),
    ("Admin@12345", "过于常见"),
    ("Abc12345678", "过于常见"),
    ("A" * 150 + "b1" * 30, "最多 200 个字符"),
    ("Good-pass\n123", "控制字符"),
])
def test_weak_passwords_are_refused_naming_the_rule(password, rule):
    problem = password_problem(password, PRODUCTION)
    assert problem is not None and rule in problem
    assert "(" in problem and problem.index("(") > 0                     # 中文 (English)


@pytest.mark.parametrize("password", ["Qihu-demo-2026", "Lishui#Appeal7", "办事-Qy2026x", "correct Horse 9 battery",
                                      "Zx9!vq3Lm0", DEMO_PASSWORD])
def test_good_passwords_pass(password):
    assert password_problem(password, PRODUCTION) is None


def test_not_the_user_name():
    assert "用户名" in password_problem("Zhang.Wei2026", PRODUCTION, name="zhang.wei2026")


def test_the_list_is_bundled_and_holds_the_chinese_favourites():
    common = common_passwords()
    assert len(common) >= 300
    for p in ("123456", "password", "qwerty", "1qaz2wsx", "woaini1314", "a123456", "5201314", "qq123456"):
        assert p in common


def test_the_policy_is_configurable():
    s = Settings.from_env({"QIHU_PASSWORD_MIN_LENGTH": "14", "QIHU_PASSWORD_MIN_CLASSES": "4",
                           "QIHU_PASSWORD_REFUSE_COMMON": "0"})
    assert (s.password_min_length, s.password_min_classes, s.password_refuse_common) == (14, 4, False)
    assert "至少 14 个字符" in password_problem("Lishui#Appe7", s)
    assert "至少 4 类" in password_problem("Lishui-Appeal-x", s)
    assert password_problem("Password2024!x", s) is None                   # the list switched off
    d = Settings()
    assert (d.password_min_length, d.password_min_classes, d.password_refuse_common) == (10, 3, True)
    with pytest.raises(ValueError, match="QIHU_PASSWORD_REFUSE_COMMON"):
        Settings.from_env({"QIHU_PASSWORD_REFUSE_COMMON": "maybe"})


def test_accounts_keep_the_production_default(make_engine, production_password_policy):
    engine = make_engine()
    with pytest.raises(ValidationFailed) as e:
        engine.accounts.add_user("li", "qihu")
    assert "密码至少 10 个字符" in str(e.value) and "password" in e.value.errors
    with pytest.raises(ValidationFailed, match="过于常见"):
        engine.accounts.add_user("li", "Password123")
    engine.accounts.add_user("li", "Lishui#Appeal7")
    with pytest.raises(ValidationFailed, match="至少 3 类"):
        engine.accounts.set_password("li", "lishuiappeal")
    engine.accounts.set_password("li", "Lishui#Appeal8")
    assert engine.accounts.check_password("li", "Lishui#Appeal8")["name"] == "li"


def test_the_command_line_says_the_rule(db_url, monkeypatch, production_password_policy):
    monkeypatch.setenv("QIHU_DATABASE_URL", db_url)
    r = CliRunner().invoke(main, ["user", "add", "zhao", "--password", "pw-5678"])
    assert r.exit_code == 1 and "密码至少 10 个字符" in r.output
    r = CliRunner().invoke(main, ["user", "add", "zhao", "--password", "Zhao-duban-2026"])
    assert r.exit_code == 0, r.output


def test_the_tests_run_relaxed(engine):
    """The rest of the suite makes accounts with short passwords (tests/conftest.py)."""
    engine.accounts.add_user("li", "pw-1")
    with pytest.raises(ValidationFailed, match="至少 4 个字符"):
        engine.accounts.add_user("liu", "x")
