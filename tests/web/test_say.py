"""Every message a user can see is Chinese, English with the switch (issue 15): `say` shows the
reader's half of the engine's "中文 (English)" messages, piece by piece for compound ones, over
messages the engine and the domain really produce from bad input."""
import re
from pathlib import Path

import pytest

from qihu.appeals import portal as appeal_portal
from qihu.appeals.portal import CreditCodeError, validate_credit_code
from qihu.engine.errors import DeployError, ValidationFailed
from qihu.engine.workcalendar import CalendarYearUnknown
from qihu.web.app import create_app
from qihu.web.i18n import say
from tests.engine.test_instance_migration import V1, complete
from tests.web_util import BASIC, add_people

DATA = Path(__file__).resolve().parents[1] / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _raised(fn, kind):
    with pytest.raises(kind) as e:
        fn()
    return e.value


# -- the table: (message, Chinese, English), hand-written and exact --------------------------
EXACT = [
    ("必填 (required)", "必填", "required"),
    ("诉求未提交 (appeal not submitted): company: 必填 (required); contact_phone: 请填写联系电话 (required)",
     "诉求未提交：company: 必填；contact_phone: 请填写联系电话", "appeal not submitted: company: required; contact_phone: required"),
    # brackets that are part of the Chinese text or of a name stay, in both languages
    ("宝洁(P&G)公司", "宝洁(P&G)公司", "宝洁(P&G)公司"),
    ("兼容（Camunda）", "兼容（Camunda）", "兼容（Camunda）"),
    ("没有在职用户 宝洁(P&G) (no active user 宝洁(P&G))", "没有在职用户 宝洁(P&G)", "no active user 宝洁(P&G)"),
    ("环节 受理（A） 已执行且在新版本中被修改 (element A already ran and was changed in v2)",
     "环节 受理（A） 已执行且在新版本中被修改", "element A already ran and was changed in v2"),
    # a deploy problem list: the place stays, each problem in one language, one a line
    ("a.bpmn:12 [Task_1]: 网关没有出口（gateway has no outgoing flow）；另有 2 个问题 (and 2 more)",
     "a.bpmn:12 [Task_1]: 网关没有出口；另有 2 个问题", "a.bpmn:12 [Task_1]: gateway has no outgoing flow; and 2 more"),
    ("a.bpmn:3: 缺少开始事件 (no start event)\nb.bpmn:9 [g]: 条件不安全 (unsafe condition)",
     "a.bpmn:3: 缺少开始事件\nb.bpmn:9 [g]: 条件不安全", "a.bpmn:3: no start event\nb.bpmn:9 [g]: unsafe condition"),
    # a bilingual message quoted inside another's Chinese and English
    ("迁移失败：没有实例 x（no instance 'x'） (migration failed: 没有实例 x（no instance 'x'）)",
     "迁移失败：没有实例 x", "migration failed: no instance 'x'"),
    # one language only: as it is
    ("第 2 行：「元旦」：没有读到放假日期", "第 2 行：「元旦」：没有读到放假日期", "第 2 行：「元旦」：没有读到放假日期"),
    ("no handler is registered for topic 'x'", "no handler is registered for topic 'x'",
     "no handler is registered for topic 'x'"),
    ("", "", ""), (None, "", ""),
]


@pytest.mark.parametrize("message,zh,en", EXACT)
def test_say_shows_the_readers_half(message, zh, en):
    assert say(message, "zh") == zh
    assert say(message, "en") == en


def _one_language(message):
    """Each half of a real bilingual message: Chinese with no English half left, English
    with no Chinese except names the message quotes."""
    zh, en = say(message, "zh"), say(message, "en")
    assert CJK.search(zh) and zh != message, message
    assert not re.search(r"[(（][a-z][a-z ]+[a-z][)）]\s*$", zh), zh        # no "(english words)" left at the end
    assert en != message and re.search(r"[a-z]{3}", en), message
    return zh, en


# -- real messages, from the engine and the domain given bad input ---------------------------
def test_form_errors_and_their_fields(engine):
    add_people(engine)
    engine.repository.deploy([BASIC])
    iid = engine.runtime.start("appeal_basic", {"company": "某公司"})
    [t] = engine.tasks.list(instance_id=iid)
    e = _raised(lambda: engine.tasks.complete(t["id"], "li", {"category": "水利", "summary": ""}), ValidationFailed)
    zh, en = _one_language(str(e))
    assert zh.startswith("表单有误：") and "summary: 必填" in zh and "category: 应为以下之一：policy" in zh
    assert en.startswith("invalid form: ") and "summary: required" in en and "category: one of: policy" in en
    assert {k: say(v, "zh") for k, v in e.errors.items()} == {"category": "应为以下之一：policy, resource, approval, other",
                                                                "summary": "必填"}
    assert {k: say(v, "en") for k, v in e.errors.items()} == {"category": "one of: policy, resource, approval, other",
                                                                "summary": "required"}


def test_portal_refusals(engine):
    domain_portal = appeal_portal.Portal(engine)
    engine.repository.deploy([BASIC])
    e = _raised(lambda: domain_portal.validate("appeal_basic", "宝洁(P&G)公司", "91330100MA2B3C4D5X", "", "123",
                                               "", "太短"), ValidationFailed)
    zh, en = _one_language(str(e))
    assert zh.startswith("诉求未提交：") and "contact_phone: 请填写11位手机号" in zh
    assert en.startswith("appeal not submitted: ") and "contact_phone: a mainland mobile or landline number" in en
    for field, text in e.errors.items():
        assert CJK.search(say(text, "zh")) and not CJK.search(say(text, "en")), (field, text)


@pytest.mark.parametrize("code", ["", "1234", "91330100MA2B3C4DIO", "Y1330100MA2B3C4D5X", "91330100MA2B3C4D5Y"])
def test_credit_code_errors(code):
    e = _raised(lambda: validate_credit_code(code), CreditCodeError)
    zh, en = _one_language(str(e))
    assert not CJK.search(en)


def test_deploy_refusals_list_each_problem_in_one_language(engine):
    e = _raised(lambda: engine.repository.deploy([DATA / "bad_two_problems.bpmn"]), DeployError)
    assert len(e.problems) == 2
    zh, en = _one_language(str(e))
    assert zh.endswith("；另有 1 个问题") and en.endswith("; and 1 more")
    for p in e.problems:
        _one_language(str(p))
    listed = "\n".join(str(p) for p in e.problems)
    assert len(say(listed, "en").splitlines()) == 2


def test_calendar_and_migration_messages(engine):
    zh, en = _one_language(str(CalendarYearUnknown(2031, "景宁")))
    assert zh == "2031 年的法定节假日安排尚未公布或未导入"
    assert en == "calendar of 2031 [景宁] is not announced/loaded: an administrator must load it"
    engine.repository.deploy([("mig.bpmn", V1)])
    iid = engine.runtime.start("mig")
    complete(engine, iid, "A")
    engine.repository.deploy([("mig.bpmn", V1.replace(b'"acceptor"', b'"acceptor2"'))])
    [reason] = next(i for i in engine.migrations.plan("mig", 1, 2)["instances"] if i["id"] == iid)["reasons"]
    assert say(reason["text"], "zh") == reason["zh"] and say(reason["text"], "en") == reason["en"]


def test_the_filter_follows_the_language_switch(engine):
    app = create_app(engine=engine, config={"TESTING": True})
    with app.test_request_context("/?lang=en"):
        assert app.jinja_env.filters["say"]("必填 (required)") == "required"
    with app.test_request_context("/"):
        assert app.jinja_env.filters["say"]("必填 (required)") == "必填"


def test_text_in_one_language_is_shown_exactly_as_written():
    """A flash naming a task the designer called "Handle \\nRequest" keeps its spacing."""
    for text in ("Handle \nRequest", "已将「Handle \nRequest」指派给 张三", "宝洁(P&G)公司  注册"):
        assert say(text, "zh") == text and say(text, "en") == text
