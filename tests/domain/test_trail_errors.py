"""The trail says a BPMN error or an escalation a handler reported by the name the diagram gives it
(bpmn:error name="材料不全" errorCode="INVALID"), its code only when the diagram names none
(issue 15). Both databases."""
from qihu import BpmnError, Escalation
from qihu.appeals.trail import trail

from tests.engine.test_handler_bpmn_errors import (CATCH_ALL, ERROR_BOUNDARY, ESCALATION_SOFT, invalid,
                                                   registry)


def texts(e, iid):
    return [x["text"] for x in trail(e, iid)]


def test_a_named_error_is_said_by_its_name(make_engine):
    e = make_engine(handlers=registry(invalid))
    e.repository.deploy([("err.bpmn", ERROR_BOUNDARY)])
    iid = e.runtime.start("err_boundary", {"company": "某某科技"})
    assert "「核验材料」报告业务异常「材料不全」：缺少营业执照，转入相应处理" in texts(e, iid)
    assert not any("INVALID" in x for x in texts(e, iid))


def test_an_unnamed_code_stays_as_it_is(make_engine):
    def unknown(**_):
        raise BpmnError("NOT_DECLARED", "未声明的异常")
    e = make_engine(handlers=registry(unknown))
    e.repository.deploy([("err.bpmn", CATCH_ALL)])
    iid = e.runtime.start("err_catch_all")
    assert "「核验材料」报告业务异常「NOT_DECLARED」：未声明的异常，转入相应处理" in texts(e, iid)


def test_a_named_escalation_is_said_by_its_name(make_engine):
    def overdue(**_):
        raise Escalation("OVERDUE", "超期未办")
    e = make_engine(handlers=registry(overdue))
    e.repository.deploy([("esc.bpmn", ESCALATION_SOFT)])
    iid = e.runtime.start("esc_soft")
    assert "「核验材料」报告升级「超期」：超期未办，转入相应处理" in texts(e, iid)
