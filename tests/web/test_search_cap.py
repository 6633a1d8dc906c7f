"""The search page when more appeals match than are counted (appeals/search.py CAP, issue 17):
the count says "200+" and the page asks the clerk to narrow the search. CAP is made small here.
On SQLite and PostgreSQL.
"""
from qihu.appeals import search as search_module

from tests.web.test_desk import OTHER, accept, app, client_for, html_of, submit, text  # noqa: F401 (app: fixture)


def test_more_matches_than_the_cap_say_cap_plus_and_ask_to_narrow(app, engine, monkeypatch):
    first, second = submit(engine), submit(engine, OTHER)
    accept(engine, first["instance_id"])
    accept(engine, second["instance_id"], "resource")
    li = client_for(app, "li")
    page = text(html_of(li, "/search?q=有限公司"))
    assert "共 2 项" in page and "超过" not in page and "data-capped" not in html_of(li, "/search?q=有限公司")
    monkeypatch.setattr(search_module, "CAP", 1)
    html = html_of(li, "/search?q=有限公司")
    page = text(html)
    assert "共 1+ 项" in page and "data-capped" in html
    assert "符合条件的诉求超过 1 件，以下只列出其中一部分（按受理时间从新到旧）；请增加条件" in page
    assert html.count("data-instance=") == 1
    assert "共 1+ 项" in text(html_of(li, "/search?status=running"))
    assert "data-capped" not in html_of(li, "/search?q=德清")
