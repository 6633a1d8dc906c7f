"""The appeal search (appeals/search.py): by company, credit code, phone, 受理编号 and text, with the
inbox's filters, over exactly the appeals a user may see (engine.access). On SQLite and PostgreSQL.
"""
import pytest

from qihu import appeals
from qihu.appeals.search import search
from tests.domain.test_portal import BASIC
from tests.scenario import Scenario

A = {"company": "湖州某新材料有限公司", "credit_code": "91330100799655058B", "contact_name": "张经理",
     "contact_phone": "13812345678", "category": "resource", "summary": "新厂房用地指标迟迟未落实，影响投产"}
B = {"company": "德清绿能科技有限公司", "credit_code": "914403001922038216", "contact_name": "李总",
     "contact_phone": "0572-2345678", "category": "policy", "summary": "惠企政策兑现资金迟迟未到账"}


@pytest.fixture
def two(engine, clock):
    """Two portal appeals, accepted and routed: A to dept_resource (bumen), B to dept_policy (zheng)."""
    sc = Scenario(engine, clock, BASIC, members={"shouli": "acceptor", "bumen": "dept_resource",
                                                 "zheng": "dept_policy", "nobody": "unrelated"})
    engine.accounts.add_user("admin", "pw-x", is_admin=True)
    portal = appeals.of(engine).portal
    got = {}
    for name, appeal in (("A", A), ("B", B)):
        got[name] = portal.submit("appeal_basic", **appeal)
        iid = got[name]["instance_id"]
        sc.complete(iid, "Task_accept", "shouli", {"category": appeal["category"], "summary": appeal["summary"]})
    return got


def found(engine, user, **kw):
    return [i["business_key"] for i in search(engine, user, **kw)["items"]]


@pytest.mark.parametrize("text", ["新材料", "91330100799655058B", "91330100799655058b", "13812345678", "138 1234",
                                  "用地指标"])
def test_every_kind_of_text_finds_the_appeal(engine, two, text):
    assert found(engine, "shouli", text=text) == [two["A"]["tracking_no"]]


def test_the_tracking_number_finds_it_whole_or_by_its_start(engine, two):
    number = two["B"]["tracking_no"]
    assert found(engine, "shouli", text=number) == [number]
    assert number in found(engine, "shouli", text=number[:8])


def test_nobody_sees_an_appeal_they_take_no_part_in(engine, two):
    a, b = two["A"]["tracking_no"], two["B"]["tracking_no"]
    assert found(engine, "bumen") == [a]                       # dept_resource: A only
    assert found(engine, "bumen", text="德清") == []            # B exists, but not for them
    assert found(engine, "bumen", text=b) == []
    assert found(engine, "zheng", text="13812345678") == []
    assert found(engine, "nobody") == [] and found(engine, None) == []
    assert sorted(found(engine, "admin")) == sorted([a, b])
    assert search(engine, "bumen", text="德清")["total"] == 0


def test_the_inbox_filters_narrow_the_search(engine, two, clock):
    a, b = two["A"]["tracking_no"], two["B"]["tracking_no"]
    assert sorted(found(engine, "shouli", definition_key="appeal_basic")) == sorted([a, b])
    assert found(engine, "shouli", definition_key="other") == []
    assert sorted(found(engine, "shouli", status="running")) == sorted([a, b])
    assert found(engine, "shouli", status="completed") == []
    page = search(engine, "admin", text="有限公司")
    assert page["total"] == 2 and {i["company"] for i in page["items"]} == {A["company"], B["company"]}
    item = next(i for i in page["items"] if i["business_key"] == a)
    assert item["open_tasks"] == ["部门办理"] and item["colour"] in ("green", "blue", None)
    colour = item["colour"] or "green"
    assert a in found(engine, "admin", colour=colour) or item["colour"] is None
    assert found(engine, "admin", colour="red") == []
    assert len(search(engine, "admin", limit=1)["items"]) == 1 and search(engine, "admin", limit=1)["total"] == 2


@pytest.mark.parametrize("bad", [{"status": "gone"}, {"colour": "purple"}, {"text": "x" * 101}])
def test_a_bad_filter_is_refused(engine, two, bad):
    with pytest.raises(ValueError):
        search(engine, "admin", **bad)
