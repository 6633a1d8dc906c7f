"""The one 好差评 scale (国办发〔2019〕51号): names, 差评, satisfied, the ledger's label."""
import pytest

from qihu.appeals import ratings


@pytest.mark.parametrize("value,name,en,bad", [
    ("5", "非常满意", "very satisfied", False),
    ("4", "满意", "satisfied", False),
    ("3", "基本满意", "basically satisfied", False),
    ("2", "不满意", "dissatisfied", True),
    ("1", "非常不满意", "very dissatisfied", True),
])
def test_each_level_has_its_name_and_verdict(value, name, en, bad):
    assert ratings.level_name(value) == name
    assert ratings.level_name(value, lang="en") == en
    assert ratings.is_bad(value) is bad
    assert ratings.is_satisfied(value) is (not bad)
    assert ratings.label(value) == f"{value}（{name}）"


@pytest.mark.parametrize("stored,key", [(4, "4"), ("4.0", "4"), (" 2 ", "2"), ("满意", "4"), ("非常不满意", "1"),
                                        ("Very Satisfied", "5")])
def test_stored_forms_are_read_as_levels(stored, key):
    assert ratings.level(stored) == key


@pytest.mark.parametrize("off", [None, "", "good", "0", "6", "3.5", True, "satisfied-ish"])
def test_values_off_the_scale_are_neither_bad_nor_satisfied(off):
    assert ratings.level(off) is None
    assert ratings.level_name(off) is None
    assert not ratings.is_bad(off) and not ratings.is_satisfied(off)
    assert ratings.label(off) == ("" if off is None else str(off))


def test_the_scale_order_sets_and_the_figure_property_agree():
    assert [k for k, _ in ratings.enum_values()] == ["5", "4", "3", "2", "1"]
    assert ratings.BAD | ratings.SATISFIED == set(ratings.LEVELS)
    assert not ratings.BAD & ratings.SATISFIED
    assert set(ratings.SATISFIED_PROPERTY.split(",")) == ratings.SATISFIED


def test_lowest_of_several_aspects_is_the_rating():
    assert ratings.lowest(["5", "2", "4"]) == "2"
    assert ratings.lowest([None, "good", "3"]) == "3"
    assert ratings.lowest([]) is None


@pytest.mark.parametrize("rating,satisfied,shown", [
    ("3", True, "3（基本满意）"),          # was "3（满意）"
    ("5", True, "5（非常满意）"),
    ("2", False, "2（不满意）"),
    (1, False, "1（非常不满意）"),
    ("满意", True, "满意"),               # a mechanism that records the name
    ("good", True, "good（满意）"),       # off the scale (before issue 15): as recorded, with the verdict
    (None, None, None),
])
def test_the_ledger_and_exports_name_the_level(rating, satisfied, shown):
    from qihu.appeals.reports import _rating
    assert _rating(rating, satisfied) == shown
