"""Read the State Council's holiday notice (国务院办公厅关于YEAR年部分节假日安排的通知) as
published, into the days off and the make-up working days of that year.

    notice = parse_notice(text, 2026)
    notice.holidays          # [Holiday("元旦", [2026-01-01, 2026-01-02, 2026-01-03], line 5), ...]
    notice.workdays          # [(2026-01-04, "元旦", 5), ...]: 调休 working days, with their holiday
    describe(notice)         # what was read, in Chinese, for a person to confirm

Each item reads "一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。":
a numbered holiday name and a colon, then sentences. A sentence with 放假 gives the days off
(one day, or a range "至" whose end may leave out the month, or cross months and years:
"9月29日至10月6日", "2024年12月31日至2025年1月1日"); one ending in 上班 lists the working
days. Weekdays in brackets ("（周五）", "（星期五）", "（农历除夕、周二）") and the "共N天" /
"放假N天" count are checked against the dates, so a wrong year or a typo is an error rather
than a wrong calendar. Sentences without 放假 or 上班 (鼓励……安排职工在除夕休息) are advice
and give no day. Full-width and half-width punctuation and digits are both read. A text
that cannot be read raises NoticeError naming the line (第 N 行) and what was wrong.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from qihu.engine.errors import QihuError

WEEKDAYS = "一二三四五六日"
NUMERALS = "一二三四五六七八九十"


class NoticeError(QihuError, ValueError):
    """The notice text cannot be read; the message names the line (第 N 行)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"第 {line} 行：{message}" if line else message)


@dataclass
class Holiday:
    name: str                  # 元旦, 春节, 国庆节、中秋节 ...
    days: list[date]           # the days off, in order
    line: int                  # where it was read (1-based)


@dataclass
class Notice:
    year: int
    holidays: list[Holiday] = field(default_factory=list)
    workdays: list[tuple[date, str, int]] = field(default_factory=list)   # (day, holiday, line)

    def days_off(self) -> list[date]:
        """Every day off of `year`, sorted (what load_year takes as holidays)."""
        return sorted({d for h in self.holidays for d in h.days if d.year == self.year})

    def working_days(self) -> list[date]:
        """Every make-up working day of `year`, sorted (load_year's workdays)."""
        return sorted({d for d, _, _ in self.workdays if d.year == self.year})

    def other_years(self) -> list[date]:
        """Days the notice names outside `year` (a 元旦 starting on 31 December): they belong to
        that year's calendar and are not loaded with this one."""
        return sorted({d for h in self.holidays for d in h.days if d.year != self.year}
                      | {d for d, _, _ in self.workdays if d.year != self.year})


# 一、元旦： — an item starts a line or follows a full stop; its name has no bracket or stop
_ITEM = re.compile(rf"(?:^|(?<=[。\s]))([{NUMERALS}]+)、\s*([^：:。，,()\s]{{1,20}}?)\s*[：:]")
_TITLE_YEAR = re.compile(r"关于\s*(\d{4})\s*年.{0,12}?节假日安排")
_DATE = r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日(?:\(([^()]*)\))?"
_RANGE = re.compile(_DATE + r"\s*(?:至|到|[-—–~～])\s*" + _DATE)
_ONE = re.compile(_DATE)
_COUNT = re.compile(r"(?:共|放假)\s*(\d{1,2})\s*天")


def _normal(text: str) -> str:
    """Full-width digits, brackets, colons and commas as half-width; 〔〕 and 、 are kept."""
    return unicodedata.normalize("NFKC", text)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _make(year: int | None, month: int | None, day: int, default_year: int, default_month: int | None,
          line: int, fragment: str) -> date:
    m = month or default_month
    if m is None:
        raise NoticeError(f"日期「{fragment}」缺少月份", line)
    try:
        return date(year or default_year, m, day)
    except ValueError:
        raise NoticeError(f"「{fragment}」不是有效的日期", line) from None


def _check_weekday(d: date, note: str | None, line: int, fragment: str) -> None:
    """The bracket after a date may give its weekday (周五, 星期五, 星期天): it must agree."""
    if not note:
        return
    found = re.search(r"(?:周|星期|礼拜)([一二三四五六日天])", note)
    if found:
        want = WEEKDAYS.index("日" if found.group(1) == "天" else found.group(1))
        if d.weekday() != want:
            raise NoticeError(f"「{fragment}」：{d.month}月{d.day}日是周{WEEKDAYS[d.weekday()]}，"
                              f"不是周{found.group(1)}（年份或日期有误？）", line)


def _dates_in(sentence: str, year: int, line: int) -> list[date]:
    """Every day a sentence names, ranges expanded, in order."""
    out: list[date] = []
    pos, month = 0, None
    while True:
        r = _RANGE.search(sentence, pos)
        o = _ONE.search(sentence, pos)
        if o is None:
            return out
        if r is not None and r.start() == o.start():
            y1, m1, d1, n1, y2, m2, d2, n2 = r.groups()
            frag = r.group(0)
            first = _make(int(y1) if y1 else None, int(m1) if m1 else None, int(d1), year, month, line, frag)
            # "至3日" keeps the month, "至2月4日" the year; "12月31日至1月1日" runs into the next year
            end_month = int(m2) if m2 else first.month
            end_year = int(y2) if y2 else first.year + (1 if end_month < first.month else 0)
            last = _make(end_year, end_month, int(d2), year, None, line, frag)
            _check_weekday(first, n1, line, frag)
            _check_weekday(last, n2, line, frag)
            if last < first:
                raise NoticeError(f"「{frag}」的结束日期早于开始日期", line)
            if (last - first).days > 31:
                raise NoticeError(f"「{frag}」跨度超过一个月，请检查", line)
            d = first
            while d <= last:
                out.append(d)
                d += timedelta(days=1)
            month, pos = last.month, r.end()
        else:
            y, m, dd, note = o.groups()
            frag = o.group(0)
            d = _make(int(y) if y else None, int(m) if m else None, int(dd), year, month, line, frag)
            _check_weekday(d, note, line, frag)
            out.append(d)
            month, pos = d.month, o.end()


def parse_notice(text: str, year: int) -> Notice:
    """The days off and working days of `year` in the notice's text (see the module's docstring)."""
    if not text or not text.strip():
        raise NoticeError("通知内容为空")
    norm = _normal(text)
    title = _TITLE_YEAR.search(norm)
    if title and int(title.group(1)) != year:
        raise NoticeError(f"这是 {title.group(1)} 年的通知，不是 {year} 年的", _line_of(norm, title.start()))
    items = list(_ITEM.finditer(norm))
    if not items:
        raise NoticeError("没有找到放假安排：应为“一、元旦：1月1日放假……”这样逐条列出的通知正文")
    notice = Notice(year)
    seen: dict[date, tuple[str, bool, int]] = {}
    for i, item in enumerate(items):
        name, line = item.group(2).strip(), _line_of(norm, item.start())
        body_end = items[i + 1].start() if i + 1 < len(items) else len(norm)
        body = norm[item.end():body_end]
        # the text after the last item: the closing words and the signature are not part of it
        if i + 1 == len(items):
            tail = re.search(r"\n\s*\n|节假日期间|国务院办公厅\s*\n", body)
            if tail:
                body = body[:tail.start()]
        offs: list[date] = []
        start = item.end()
        for sentence in re.split(r"(?<=[。;；])", body):
            s_line = _line_of(norm, start)
            start += len(sentence)
            flat = re.sub(r"\s+", "", sentence)
            if not flat:
                continue
            if "放假" in flat:
                head = flat[:flat.index("放假")]
                days = _dates_in(head, year, s_line)
                if not days:
                    raise NoticeError(f"「{name}」：没有读到放假日期：「{sentence.strip()}」", s_line)
                count = _COUNT.search(flat)
                if count and int(count.group(1)) != len(days):
                    raise NoticeError(f"「{name}」：写明共 {count.group(1)} 天，但 {_span(days)} 是 {len(days)} 天",
                                      s_line)
                offs.extend(days)
                for d in days:
                    _once(seen, d, name, False, s_line)
                rest = flat[flat.index("放假"):]
                if "上班" in rest:          # "……放假调休，共7天。2月15日（周日）上班" on one sentence
                    for d in _dates_in(rest, year, s_line):
                        _once(seen, d, name, True, s_line)
                        notice.workdays.append((d, name, s_line))
            elif flat.endswith(("上班。", "上班", "上班;", "上班；")):
                days = _dates_in(flat, year, s_line)
                if not days:
                    raise NoticeError(f"「{name}」：没有读到上班日期：「{sentence.strip()}」", s_line)
                for d in days:
                    _once(seen, d, name, True, s_line)
                    notice.workdays.append((d, name, s_line))
            # anything else (休息的倡议, 与周末连休 on its own) gives no day
        if not offs:
            raise NoticeError(f"「{name}」：没有读到放假日期", line)
        notice.holidays.append(Holiday(name, offs, line))
    for d, _, line in notice.workdays:
        if d.weekday() < 5:
            raise NoticeError(f"{d.month}月{d.day}日是周{WEEKDAYS[d.weekday()]}，本来就上班，不应列为调休上班日", line)
    return notice


def _once(seen: dict[date, tuple[str, bool, int]], d: date, name: str, work: bool, line: int) -> None:
    before = seen.get(d)
    if before is not None and before[1] != work:
        raise NoticeError(f"{d.month}月{d.day}日既是放假日（{before[0]}）又是上班日", line)
    seen[d] = (name, work, line)


def _span(days: list[date]) -> str:
    a, b = days[0], days[-1]
    if a == b:
        return f"{a.month}月{a.day}日"
    return f"{a.month}月{a.day}日至{'' if a.month == b.month else f'{b.month}月'}{b.day}日"


def _day(d: date) -> str:
    return f"{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"


def describe(notice: Notice) -> list[str]:
    """What was read, one line per holiday, in Chinese, for a person to confirm."""
    lines = [f"{notice.year} 年节假日安排："]
    for h in notice.holidays:
        work = [d for d, name, _ in notice.workdays if name == h.name]
        text = f"  {h.name}：{_span(h.days)} 放假，共 {len(h.days)} 天"
        if work:
            text += "；调休上班：" + "、".join(_day(d) for d in work)
        lines.append(text)
    lines.append(f"合计：放假 {len(notice.days_off())} 天，调休上班 {len(notice.working_days())} 天")
    other = notice.other_years()
    if other:
        lines.append("注意：以下日期不在 {} 年，不随本年导入（请用 qihu calendar day 单独设置）：{}".format(
            notice.year, "、".join(d.isoformat() for d in other)))
    return lines
