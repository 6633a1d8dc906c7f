"""The State Council's holiday notice, read as published (engine/calendar_notice.py), gives the
same working days as chinesecalendar's official data for the years both know."""
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from qihu.engine.calendar_notice import NoticeError, describe, parse_notice

NOTICES = Path(__file__).resolve().parents[1] / "data" / "notices"


def workday(notice, day):
    return (day.weekday() < 5 and day not in notice.days_off()) or day in notice.working_days()


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_a_published_notice_gives_the_official_calendar(year):
    notice = parse_notice((NOTICES / f"{year}.txt").read_text(encoding="utf-8"), year)
    day = date(year, 1, 1)
    while day.year == year:
        assert workday(notice, day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert notice.other_years() == []


def test_what_2025_says():
    notice = parse_notice((NOTICES / "2025.txt").read_text(encoding="utf-8"), 2025)
    assert [(h.name, len(h.days)) for h in notice.holidays] == [
        ("元旦", 1), ("春节", 8), ("清明节", 3), ("劳动节", 5), ("端午节", 3), ("国庆节、中秋节", 8)]
    assert notice.holidays[1].days[0] == date(2025, 1, 28) and notice.holidays[1].days[-1] == date(2025, 2, 4)
    assert notice.holidays[4].days == [date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)]   # across months
    assert [(d, name) for d, name, _ in notice.workdays] == [
        (date(2025, 1, 26), "春节"), (date(2025, 2, 8), "春节"), (date(2025, 4, 27), "劳动节"),
        (date(2025, 9, 28), "国庆节、中秋节"), (date(2025, 10, 11), "国庆节、中秋节")]
    assert notice.holidays[0].line == 6
    lines = describe(notice)
    assert lines[0] == "2025 年节假日安排："
    assert "  春节：1月28日至2月4日 放假，共 8 天；调休上班：1月26日（周日）、2月8日（周六）" in lines
    assert lines[-1] == "合计：放假 28 天，调休上班 5 天"


def test_advice_to_rest_on_the_eve_is_not_a_holiday():
    notice = parse_notice((NOTICES / "2024.txt").read_text(encoding="utf-8"), 2024)
    assert date(2024, 2, 9) not in notice.days_off()         # 鼓励……安排职工在除夕（2月9日）休息
    assert notice.holidays[0].days == [date(2024, 1, 1)]      # 1月1日放假，与周末连休


def test_one_line_half_width_punctuation_and_a_range_across_months():
    # 2023, as pasted from a web page onto one line, with ASCII punctuation in places
    text = ("一、元旦:2022年12月31日至2023年1月2日放假调休,共3天。二、春节：1月21日至27日放假调休，共7天。"
            "1月28日(星期六)、1月29日(星期日)上班。三、清明节：4月5日放假，共1天。"
            "四、劳动节：4月29日至5月3日放假调休，共5天。4月23日（星期日）、5月6日（星期六）上班。"
            "五、端午节：6月22日至24日放假调休，共3天。6月25日（星期日）上班。"
            "六、中秋节、国庆节：9月29日至10月6日放假调休，共8天。10月7日（星期六）、10月8日（星期日）上班。")
    notice = parse_notice(text, 2023)
    assert notice.other_years() == [date(2022, 12, 31)]
    day = date(2023, 1, 1)
    while day.year == 2023:
        assert workday(notice, day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert notice.holidays[-1].name == "中秋节、国庆节"
    assert len(notice.holidays[-1].days) == 8
    assert any("不在 2023 年" in line for line in describe(notice))


def test_full_width_digits():
    notice = parse_notice("一、元旦：１月１日（周五）至３日（周日）放假，共３天。", 2027)
    assert notice.days_off() == [date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)]


@pytest.mark.parametrize("text, message", [
    ("", "通知内容为空"),
    ("经国务院批准，现将放假安排通知如下。", "没有找到放假安排"),
    ("国务院办公厅关于2026年部分节假日安排的通知\n一、元旦：1月1日放假。", "第 1 行：这是 2026 年的通知，不是 2027 年的"),
    # the brief's own example: 15 February 2027 is a Monday, the notice says Sunday
    ("一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。\n二、春节：2月16日至22日放假调休，共7天。"
     "2月15日（周日）、2月28日（周六）上班。", "第 2 行：「2月15日(周日)」：2月15日是周一，不是周日"),
    ("一、元旦：1月1日至3日放假调休，共4天。", "第 1 行：「元旦」：写明共 4 天，但 1月1日至3日 是 3 天"),
    ("\n\n一、元旦：1月1日至3日放假。1月2日（周六）上班。", "第 3 行：1月2日既是放假日（元旦）又是上班日"),
    ("一、元旦：放假，与周末连休。", "第 1 行：「元旦」：没有读到放假日期"),
    ("一、元旦：1月1日（周五）放假。\n二、春节：2月30日放假。", "第 2 行：「2月30日」不是有效的日期"),
    ("一、元旦：1月1日放假。1月4日（周一）上班。", "1月4日是周一，本来就上班"),
])
def test_bad_text_is_a_clear_error_naming_the_line(text, message):
    with pytest.raises(NoticeError) as info:
        parse_notice(text, 2027)
    assert message in str(info.value)
