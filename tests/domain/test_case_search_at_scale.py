"""The search's behaviour at 江苏 scale (appeals/search.py, issue 17), on a few appeals: the cap
("200+": CAP made small here), matches by kind (anywhere, by the start, the phone's last
digits), patterns too short for trigrams, % and _ typed as themselves, and the user's scope
under the cap. Every result is compared with what the rule says, worked out in Python from the
rows. On SQLite and PostgreSQL (where migration 0014's indexes serve the queries).
"""
import pytest
from sqlalchemy import select, update

from qihu import appeals
from qihu.appeals import search as search_module
from qihu.appeals.demo_samples import credit_code
from qihu.appeals.models import AppealFact, AppealTicket
from qihu.appeals.search import search
from qihu.engine.storage.models import Instance, Task
from tests.domain.test_portal import BASIC
from tests.scenario import Scenario

# (company, phone, category: resource goes to dept_resource (bumen), policy to dept_policy (zheng), summary)
APPEALS = [
    ("甲_乙科技有限公司", "13900001111", "resource", "新厂房用地指标迟迟未落实"),
    ("甲丙乙科技有限公司", "13900002222", "policy", "惠企政策兑现资金迟迟未到账"),
    ("百分百100%材料有限公司", "0572-3334444", "resource", "企业用电增容审批进度缓慢"),
    ("百分百1000材料有限公司", "0572-3335555", "policy", "新项目用地指标需要调整规划"),
    ("德清绿能科技有限公司", "13712340000", "resource", "项目环评审批排期过长影响开工"),
    ("湖州某新材料有限公司", "13812345678", "resource", "Road flooding near the PLANT"),
]


@pytest.fixture
def many(engine, clock):
    """Six portal appeals an hour apart (the last is the newest), accepted and routed."""
    sc = Scenario(engine, clock, BASIC, members={"shouli": "acceptor", "bumen": "dept_resource",
                                                 "zheng": "dept_policy", "nobody": "unrelated"})
    engine.accounts.add_user("admin", "pw-x", is_admin=True)
    portal = appeals.of(engine).portal
    out = []
    for n, (company, phone, category, summary) in enumerate(APPEALS):
        got = portal.submit("appeal_basic", company=company, credit_code=credit_code(n), contact_name="联系人",
                            contact_phone=phone, category=category, summary=summary)
        sc.complete(got["instance_id"], "Task_accept", "shouli", {"category": category, "summary": summary})
        out.append({**got, "category": category})
        clock.advance(hours=1)
    return out


def keys(page):
    return [i["business_key"] for i in page["items"]]


def expected(engine, text, user_categories=None):
    """The business keys the rule matches, newest first, worked out in Python from the rows:
    company and text anywhere (any case), phone anywhere without spaces, credit code and
    tracking number by their start (in capitals), business key by its start as typed or in
    capitals."""
    code, phone, low = text.replace(" ", "").upper(), text.replace(" ", ""), text.lower()
    with engine.db.read() as s:
        rows = s.execute(select(Instance.business_key, Instance.started_at, AppealTicket.company, AppealTicket.summary,
                                AppealTicket.credit_code, AppealTicket.tracking_no, AppealTicket.contact_phone,
                                AppealFact.company, AppealFact.title, AppealTicket.category)
                         .join(AppealTicket, AppealTicket.instance_id == Instance.id)
                         .outerjoin(AppealFact, AppealFact.instance_id == Instance.id)).all()
    hits = []
    for key, started, company, summary, cc, track, ph, fcompany, title, category in rows:
        if user_categories is not None and category not in user_categories:
            continue
        if (any(low in (v or "").lower() for v in (company, summary, fcompany, title))
                or (code.isascii() and (cc.startswith(code) or track.startswith(code)))
                or (any(c.isdigit() for c in phone) and phone in ph)
                or key.startswith(text) or key.startswith(text.upper())):
            hits.append((started, key))
    return [k for _, k in sorted(hits, reverse=True)]


@pytest.mark.parametrize("text", ["有限公司", "甲", "德清", "绿能", "科技", "1111", "0572", "3334444", "1381234",
                                  "plant", "PLANT", "road", "指标", "9133", "9", "QH", "qh"])
def test_every_search_finds_what_the_rule_says_whole_and_short(engine, many, text):
    page = search(engine, "admin", text=text, limit=50)
    want = expected(engine, text)
    assert keys(page) == want and page["total"] == len(want) and page["total_capped"] is False, text


def test_the_phone_matches_by_its_last_digits_and_the_tracking_number_by_its_start(engine, many):
    assert keys(search(engine, "admin", text="1111")) == [many[0]["tracking_no"]]
    assert keys(search(engine, "admin", text="5678")) == [many[5]["tracking_no"]]
    number = many[3]["tracking_no"]
    assert number in keys(search(engine, "admin", text=number[:-2]))
    assert keys(search(engine, "admin", text=number.lower())) == [number]
    assert keys(search(engine, "admin", text=number[2:])) == []          # a number matches by its start only


@pytest.mark.parametrize("text, company", [("甲_乙", "甲_乙科技有限公司"), ("100%", "百分百100%材料有限公司"),
                                           ("%", "百分百100%材料有限公司"), ("_", "甲_乙科技有限公司")])
def test_percent_and_underscore_are_what_they_are(engine, many, text, company):
    assert [i["company"] for i in search(engine, "admin", text=text)["items"]] == [company]


def test_a_backslash_matches_nothing_and_breaks_nothing(engine, many):
    assert search(engine, "admin", text="\\")["items"] == []
    assert search(engine, "admin", text="甲\\_乙")["items"] == []


def test_more_than_cap_matches_are_reported_as_cap_plus_and_the_page_is_the_newest(engine, many, monkeypatch):
    monkeypatch.setattr(search_module, "CAP", 3)
    newest = expected(engine, "有限公司")[:3]
    page = search(engine, "admin", text="有限公司")
    assert page["total"] == 3 and page["total_capped"] is True
    assert keys(page) == newest                                 # the newest, in order
    assert keys(search(engine, "admin", text="有限公司", limit=2, offset=2)) == newest[2:]
    assert search(engine, "admin", text="有限公司", limit=2, offset=4)["items"] == []    # no page beyond the cap
    assert search(engine, "admin", text="德清")["total_capped"] is False


@pytest.mark.parametrize("text", ["有限公司", "科技", "司", "0", "13"])
def test_capped_pages_are_the_newest_matches_whatever_kind_found_them(engine, many, monkeypatch, text):
    monkeypatch.setattr(search_module, "CAP", 2)
    everything = expected(engine, text)
    assert len(everything) > 2, text
    page = search(engine, "admin", text=text, limit=10)
    assert page["total"] == 2 and page["total_capped"] is True and keys(page) == everything[:2], text


def test_a_capped_number_prefix_gives_its_newest_days_newest_first(engine, many, monkeypatch):
    """受理编号 are read newest first by their own order: by day (the number starts with the date),
    at random within one day. The page holds matches only, newest first, each once."""
    monkeypatch.setattr(search_module, "CAP", 2)
    everything = expected(engine, "QH")
    found = keys(search(engine, "admin", text="QH", limit=10))
    assert len(found) == 2 and set(found) <= set(everything) and found == [k for k in everything if k in found]


def test_the_filters_alone_are_counted_to_the_cap(engine, many, monkeypatch):
    assert search(engine, "admin")["total"] == 6 and search(engine, "admin")["total_capped"] is False
    monkeypatch.setattr(search_module, "CAP", 4)
    page = search(engine, "admin", status="running")
    assert page["total"] == 4 and page["total_capped"] is True and keys(page) == expected(engine, "QH")[:4]


def test_the_scope_holds_under_the_cap(engine, many, monkeypatch):
    resource = expected(engine, "有限公司", user_categories={"resource"})
    assert keys(search(engine, "bumen", text="有限公司")) == resource
    for cap in (2, 3, 10):
        monkeypatch.setattr(search_module, "CAP", cap)
        page = search(engine, "bumen", text="有限公司", limit=50)
        assert keys(page) == resource[:cap] and page["total_capped"] is (len(resource) > cap)
        assert search(engine, "bumen", text="甲丙乙")["items"] == []          # zheng's, not bumen's
        assert search(engine, "bumen", colour="green")["items"] == [] or \
            set(keys(search(engine, "bumen", colour="green"))) <= set(resource)
        assert search(engine, "nobody", text="有限公司")["items"] == [] and search(engine, None, text="有限公司")["items"] == []
        assert set(keys(search(engine, "zheng", status="running", limit=50))) <= set(
            expected(engine, "有限公司", user_categories={"policy"}))


def test_the_colour_filter_reads_open_tasks(engine, many, monkeypatch):
    with engine.db.engine.begin() as c:
        c.execute(update(Task).where(Task.status == "ready").values(sla_colour="green"))
        for n in (1, 3, 4):
            c.execute(update(Task).where(Task.instance_id == many[n]["instance_id"], Task.status == "ready")
                      .values(sla_colour="red"))
    red = [many[n]["tracking_no"] for n in (4, 3, 1)]
    page = search(engine, "admin", colour="red")
    assert keys(page) == red and page["total"] == 3 and page["items"][0]["colour"] == "red"
    assert keys(search(engine, "admin", colour="red", text="百分百")) == [many[3]["tracking_no"]]
    assert keys(search(engine, "bumen", colour="red")) == [many[4]["tracking_no"]]       # 1 and 3 are policy
    assert search(engine, "admin", colour="orange")["items"] == []
    monkeypatch.setattr(search_module, "CAP", 2)
    page = search(engine, "admin", colour="red")
    assert page["total_capped"] is True and keys(page) == red[:2]


def test_short_patterns_use_the_pair_index_on_postgresql_and_give_the_same_without_it(engine, many, monkeypatch):
    """On PostgreSQL, migration 0014 made qihu_ext.qihu_pairs (one or two characters are read
    from its index); a database where it could not be made (no pg_trgm) reads the table, with
    the same results."""
    with engine.db.read() as s:
        assert search_module._has_pairs(engine, s) is (not engine.db.is_sqlite)
    texts = ["甲", "德清", "_", "%", "科技", "ab", "PL", "5"]
    with_index = {t: keys(search(engine, "admin", text=t, limit=50)) for t in texts}
    monkeypatch.setattr(search_module, "_has_pairs", lambda engine, s: False)
    assert {t: keys(search(engine, "admin", text=t, limit=50)) for t in texts} == with_index
    assert all(with_index[t] == expected(engine, t) for t in texts), with_index


def test_0014_goes_down_and_up_and_the_search_still_finds(engine, many, db_url):
    from alembic import command
    from sqlalchemy import inspect
    from qihu.engine.storage.db import Database
    from qihu.engine.storage.migrate import alembic_config
    db = Database(db_url)
    try:
        cfg = alembic_config(db)
        command.downgrade(cfg, "0013")
        assert "ix_task_ready_colour" not in {i["name"] for i in inspect(db.engine).get_indexes("task")}
        command.upgrade(cfg, "head")
        names = {i["name"] for i in inspect(db.engine).get_indexes("appeal_ticket")}
        assert ("ix_appeal_ticket_company_trgm" in names) is (not db.is_sqlite)
        assert ("ix_appeal_ticket_company_pairs" in names) is (not db.is_sqlite)
    finally:
        db.dispose()
    assert keys(search(engine, "admin", text="德清")) == expected(engine, "德清")


@pytest.mark.parametrize("window", [0, 1, 3])
def test_with_few_of_many_matches_among_the_newest_the_page_still_holds_matches_newest_first(
        engine, many, monkeypatch, window):
    monkeypatch.setattr(search_module, "CAP", 2)
    monkeypatch.setattr(search_module, "WINDOW", window)
    everything = expected(engine, "有限公司")
    page = search(engine, "admin", text="有限公司", limit=10)
    found = keys(page)
    assert page["total_capped"] is True and len(found) == 2 and len(set(found)) == 2
    assert set(found) <= set(everything) and found == [k for k in everything if k in found]
    if window >= 2:                    # the newest rows hold a full page: exactly the newest
        assert found == everything[:2]


def test_an_appeal_without_a_ticket_is_found_by_its_ledger_row_also_under_the_cap(engine, many, clock, monkeypatch):
    """Staff may start an appeal without the portal: no ticket, only its 晾晒 row (appeal_fact)."""
    clock.advance(hours=1)
    iid = engine.runtime.start("appeal_basic", {"company": "甲丁科技有限公司"}, business_key="HZ-STAFF-1", user="shouli")
    with engine.db.read() as s:
        fact = s.get(AppealFact, iid)
    if fact is None or fact.company != "甲丁科技有限公司":
        pytest.skip("appeal_basic keeps no 晾晒 company for an appeal started without the portal")
    assert keys(search(engine, "admin", text="甲丁")) == ["HZ-STAFF-1"]
    assert keys(search(engine, "admin", text="甲丁科技")) == ["HZ-STAFF-1"]
    monkeypatch.setattr(search_module, "CAP", 2)
    page = search(engine, "admin", text="科技有限公司", limit=2)
    assert page["total_capped"] is True and keys(page)[0] == "HZ-STAFF-1"      # the newest, from the ledger rows
    assert keys(search(engine, "admin", text="科技", limit=2))[0] == "HZ-STAFF-1"
