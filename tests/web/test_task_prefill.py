"""The task form shows the appeal's variables of the same name (as Camunda's forms do), so
staff do not retype what the enterprise or an earlier step already gave."""
import re

import pytest

from qihu.web.app import create_app

from tests.web_util import BASIC, add_people, sign_in


@pytest.fixture
def li(engine):
    add_people(engine)
    engine.repository.deploy([BASIC])
    c = create_app(engine=engine, config={"TESTING": True}).test_client()
    assert sign_in(c, "li").status_code == 302
    return c


def field_html(html, fid):
    m = re.search(r'data-field="' + fid + r'">(.*?)</div>', html, re.S)
    assert m, f"no field {fid}"
    return m.group(1)


def test_form_is_prefilled_from_the_appeal_and_escaped(engine, li):
    iid = engine.runtime.start("appeal_basic", {"summary": "用地指标<script>alert(1)</script>", "category": "resource",
                                                "urgent": True}, business_key="P-1")
    tid = engine.tasks.list(instance_id=iid)[0]["id"]
    engine.tasks.claim(tid, "li")
    html = li.get(f"/tasks/{tid}").get_data(as_text=True)
    assert "用地指标&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in field_html(html, "summary")
    assert '<option value="resource" selected>' in field_html(html, "category")
    assert 'value="true" checked' in field_html(html, "urgent")
    assert "<script>alert(1)" not in html


def test_without_variables_the_form_is_empty(engine, li):
    iid = engine.runtime.start("appeal_basic", {}, business_key="P-2")
    tid = engine.tasks.list(instance_id=iid)[0]["id"]
    engine.tasks.claim(tid, "li")
    html = li.get(f"/tasks/{tid}").get_data(as_text=True)
    assert "></textarea>" in field_html(html, "summary")
    assert " selected>" not in field_html(html, "category")
    assert " checked" not in field_html(html, "urgent")
