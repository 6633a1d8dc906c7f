"""Handlers for the general enterprise-appeal process (通用企业诉求办理, bpmn/appeal_basic.bpmn).

Topics:

- ``appeal.route``  (分派承办部门): maps the appeal category chosen at 受理登记 to the
  candidate group of the department that handles it; returns ``department``. (The handling
  time limit per category is the diagram's: 部门办理's camunda:dueDate.)
- ``appeal.notify`` (答复企业): composes the reply notice sent to the enterprise from the
  appeal summary and the department's reply; returns ``notified`` and ``notice``.
- ``appeal.remind`` (催办提醒): fired by the non-interrupting 5-day timer on 部门办理 to
  remind the handling department; returns ``reminded``.

Each function takes the service task's input parameters as keyword arguments and returns
a dict that is merged into the process data.
"""
from qihu import topic

# 诉求类别 -> 承办部门候选组
DEPARTMENTS = {
    "policy": "dept_policy",        # 政策咨询
    "resource": "dept_resource",    # 要素保障
    "approval": "dept_approval",    # 审批服务
    "other": "dept_general",        # 其他
}


@topic("appeal.route")
def route(category, **_):
    """分派承办部门: the department group for an appeal category."""
    try:
        department = DEPARTMENTS[category]
    except (KeyError, TypeError):
        known = ", ".join(DEPARTMENTS)
        raise ValueError(f"未知的诉求类别 (unknown appeal category): {category!r}; expected one of: {known}") from None
    return {"department": department}


@topic("appeal.notify")
def notify(summary, reply, **_):
    """答复企业: the notice text sent to the enterprise."""
    notice = f"您反映的诉求“{summary}”已办理完毕。答复如下：{reply}"
    return {"notified": True, "notice": notice}


@topic("appeal.remind")
def remind(**data):
    """催办提醒: the handling department has had the appeal for 5 days."""
    return {"reminded": True}
