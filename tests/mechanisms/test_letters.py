"""Letters fit to send (issue 15): a GB/T 9704-2012 公文 with a real 文号 from the region's
sequence, dates as 2026年12月7日, and whatever enterprises and staff typed printed as written."""
import io
import threading
from datetime import datetime, timezone

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from sqlalchemy import select

from qihu.appeals import documents
from qihu.engine.runtime.service import EngineStepError
from qihu.engine.storage.models import Attachment
from tests.bpmn_util import bpmn, chain

UTC = timezone.utc
# a user task, then the letter (its inputs: the whole process data), then a script that fails when
# asked to (the step rolls back with its letter), then a user task to wait in
LETTER = bpmn("letter", f"""<bpmn:startEvent id="s" />
<bpmn:userTask id="write" name="拟稿" camunda:candidateGroups="clerks" />
<bpmn:serviceTask id="send" name="发函" camunda:type="external" camunda:topic="supervision.letter" />
<bpmn:scriptTask id="check" scriptFormat="python">
  <bpmn:script>checked = 1 / 0 if boom else 1</bpmn:script>
</bpmn:scriptTask>
<bpmn:userTask id="wait" name="等待反馈" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "write", "send", "check", "wait", "e")}""")
LETTER_DATA = {"letter_type": "督办函", "to_unit": "市自然资源和规划局", "subject": "新厂房用地指标迟迟未落实",
               "body": "经联席会议研究，由你单位牵头落实用地指标。\n请明确专人负责。", "company": "湖州某新材料有限公司",
               "issuer": "湖州市委督查室、市政府督查室", "deadline": "2026-12-07", "contact_person": "王明",
               "contact_phone": "0572-2222222", "boom": False}


def send(engine, region="湖州市", business_key="HZ-2026-001", **data):
    """Start an appeal of LETTER, complete 拟稿 (which issues the letter); the letter's number."""
    iid = engine.runtime.start("letter", {**LETTER_DATA, **data}, business_key=business_key, region=region)
    [t] = engine.tasks.list(instance_id=iid)
    engine.tasks.complete(t["id"], "clerk", {}, check=False)
    return engine.runtime.data(iid)["letter_no"]


def letter_doc(engine, letter_no):
    with engine.db.read() as s:
        [a] = [a for a in s.scalars(select(Attachment).where(Attachment.kind == "letter"))
               if a.meta["letter_no"] == letter_no]
        return a, Document(io.BytesIO(a.content))


def east_asian(run):
    return run._element.rPr.rFonts.get(qn("w:eastAsia"))


def by_text(doc, text):
    [p] = [p for p in doc.paragraphs if p.text == text]
    return p


@pytest.fixture
def letters(engine):
    engine.repository.deploy([("letter.bpmn", LETTER)])
    return engine


def test_a_letter_is_laid_out_as_gbt_9704(letters):
    no = send(letters)
    assert no == "督办〔2026〕1号"
    meta, doc = letter_doc(letters, no)
    assert meta.meta["deadline"] == "2026年12月7日" and meta.meta["issued_on"] == "2026年11月2日"
    [section] = doc.sections
    mm = lambda length: round(length / Mm(1), 1)     # noqa: E731
    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.bottom_margin), mm(section.left_margin), mm(section.right_margin)) \
        == (37, 35, 28, 26)
    texts = [p.text for p in doc.paragraphs if p.text]
    assert texts == ["湖州市委督查室、市政府督查室", "督办〔2026〕1号", "督办函", "市自然资源和规划局：",
                     "经联席会议研究，由你单位牵头落实用地指标。", "请明确专人负责。",
                     "事项：新厂房用地指标迟迟未落实", "企业：湖州某新材料有限公司", "诉求编号：HZ-2026-001",
                     "请于2026年12月7日前办结并书面反馈办理结果。", "湖州市委督查室、市政府督查室", "2026年11月2日",
                     "（联系人：王明，联系电话：0572-2222222）"]
    # 发文机关标志: red, centred, 小标宋; 发文字号 under it, over the red line
    issuer = doc.paragraphs[0]
    assert issuer.alignment == 1 and str(issuer.runs[0].font.color.rgb) == "FF0000"
    assert east_asian(issuer.runs[0]) == "方正小标宋简体"
    number = by_text(doc, "督办〔2026〕1号")
    border = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:color")) == "FF0000" and number.alignment == 1
    # title 小标宋 二号; body 仿宋_GB2312 三号, indented two characters
    title = by_text(doc, "督办函")
    assert east_asian(title.runs[0]) == "方正小标宋简体" and title.runs[0].font.size == Pt(22)
    for text in ("经联席会议研究，由你单位牵头落实用地指标。", "事项：新厂房用地指标迟迟未落实", "2026年11月2日"):
        run = by_text(doc, text).runs[0]
        assert (east_asian(run), run.font.name, run.font.size) == ("仿宋_GB2312", "仿宋_GB2312", Pt(16)), text
    assert by_text(doc, "请明确专人负责。").paragraph_format.first_line_indent == Pt(32)
    assert by_text(doc, "2026年11月2日").alignment == 2            # the date at the end, right
    # page numbers "— 1 —": odd pages right, even pages left
    assert doc.settings.odd_and_even_pages_header_footer
    for footer, align in ((section.footer, 2), (section.even_page_footer, 0)):
        [p] = footer.paragraphs
        assert p.alignment == align and p._p.xpath("string(.)") == "— 1 —"
        assert p._p.find(qn("w:fldSimple")).get(qn("w:instr")) == "PAGE"
    # the fallbacks named in the font table: 仿宋_GB2312 → 仿宋 → FangSong, 方正小标宋简体 → 华文中宋 → SimSun
    table = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    from lxml import etree
    root = etree.fromstring(table.blob)
    alt = {f.get(qn("w:name")): f.find(qn("w:altName")).get(qn("w:val"))
           for f in root.findall(qn("w:font")) if f.find(qn("w:altName")) is not None}
    assert alt["仿宋_GB2312"] == "仿宋" and alt["仿宋"] == "FangSong"
    assert alt["方正小标宋简体"] == "华文中宋" and alt["华文中宋"] == "SimSun"


def test_without_contact_or_deadline_those_lines_are_left_out(letters):
    no = send(letters, contact_person="", contact_phone="", deadline=None, subject="")
    _, doc = letter_doc(letters, no)
    texts = [p.text for p in doc.paragraphs if p.text]
    assert not any(t.startswith(("（联系人", "请于", "事项")) for t in texts)


def test_numbers_run_per_region_kind_and_year(letters, clock):
    assert [send(letters) for _ in range(3)] == ["督办〔2026〕1号", "督办〔2026〕2号", "督办〔2026〕3号"]
    assert send(letters, letter_type="交办函") == "交办〔2026〕1号"
    assert send(letters, letter_type="提示函") == "提示〔2026〕1号"
    assert send(letters, region="丽水市庆元县") == "督办〔2026〕1号"
    assert send(letters, doc_prefix="湖企服督") == "湖企服督〔2026〕1号"       # the diagram's own 发文机关代字
    assert send(letters) == "督办〔2026〕4号"
    clock.set(datetime(2026, 12, 31, 15, 59, tzinfo=UTC))                   # 23:59 on 31 December in Beijing
    assert send(letters) == "督办〔2026〕5号"
    clock.set(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))                    # 1 January 2027 in Beijing
    assert send(letters) == "督办〔2027〕1号"
    assert send(letters, letter_type="交办函") == "交办〔2027〕1号"
    with letters.db.read() as s:
        assert documents.issued(s, "湖州市", "督办", 2026) == 5 and documents.issued(s, "湖州市", "督办", 2027) == 1


def test_a_step_that_rolls_back_gives_its_number_back(letters):
    assert send(letters) == "督办〔2026〕1号"
    with pytest.raises(EngineStepError, match="ZeroDivisionError"):
        send(letters, boom=True)
    with letters.db.read() as s:
        assert documents.issued(s, "湖州市", "督办", 2026) == 1
        assert [a.meta["letter_no"] for a in s.scalars(select(Attachment))] == ["督办〔2026〕1号"]
    assert send(letters) == "督办〔2026〕2号"                                 # no gap


def test_a_letter_in_the_step_that_starts_the_appeal_may_name_its_region(letters):
    first = bpmn("first_letter", f"""<bpmn:startEvent id="s" />
<bpmn:serviceTask id="send" camunda:type="external" camunda:topic="supervision.letter" />
<bpmn:userTask id="wait" name="等待反馈" camunda:candidateGroups="clerks" />
<bpmn:endEvent id="e" />
{chain("s", "send", "wait", "e")}""")
    letters.repository.deploy([("first.bpmn", first)])
    iid = letters.runtime.start("first_letter", {**LETTER_DATA, "region": "湖州市"}, region="湖州市")
    assert letters.runtime.data(iid)["letter_no"] == "督办〔2026〕1号"
    with letters.db.read() as s:
        assert documents.issued(s, "湖州市", "督办", 2026) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_letters_at_once_get_distinct_consecutive_numbers(make_engine):
    """Two engines (two servers) on one PostgreSQL issue letters at the same moment, the first
    ones of the year included: every number once, none skipped."""
    engines = [make_engine(), make_engine()]
    engines[0].repository.deploy([("letter.bpmn", LETTER)])
    waiting = []
    for e in engines:
        for _ in range(4):
            iid = e.runtime.start("letter", LETTER_DATA, region="湖州市")
            waiting.append((e, e.tasks.list(instance_id=iid)[0]["id"], iid))
    barrier, errors = threading.Barrier(len(waiting)), []

    def complete(e, task_id, _iid):
        try:
            barrier.wait()
            e.tasks.complete(task_id, "clerk", {}, check=False)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=complete, args=w) for w in waiting]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    numbers = sorted(int(engines[0].runtime.data(iid)["letter_no"][len("督办〔2026〕"):-1]) for _, _, iid in waiting)
    assert numbers == list(range(1, len(waiting) + 1))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_first_number_of_a_year_taken_twice_at_once(make_engine):
    """Both find the year's row missing; the second insert waits for the first, fails on the key,
    and takes the next number."""
    engine = make_engine()
    took, first_holds = [], threading.Event()

    def first():
        with engine.db.write() as s:
            took.append(("first", documents.next_in_sequence(s, "湖州市", "督办", 2030)))
            first_holds.set()
            threading.Event().wait(0.5)            # hold the new row uncommitted a while

    def second():
        first_holds.wait(5)
        with engine.db.write() as s:
            took.append(("second", documents.next_in_sequence(s, "湖州市", "督办", 2030)))
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert took == [("first", 1), ("second", 2)]


def test_text_from_enterprises_and_staff_prints_as_written(letters):
    plain = send(letters)
    _, doc = letter_doc(letters, plain)
    count = len(doc.paragraphs)
    company = "宝洁(P&G)公司"
    unit = "</w:t></w:r></w:p><w:p><w:r><w:t>注入"
    body = "第一段 <w:p>x</w:p> & {{ letter_no }}\n第二段 {% if 1 %}</w:t>"     # two lines, as LETTER_DATA
    no = send(letters, company=company, to_unit=unit, body=body, subject="A<B>&\"C'", contact_person="<张三>")
    _, doc = letter_doc(letters, no)
    texts = [p.text for p in doc.paragraphs]
    assert len(doc.paragraphs) == count                      # nothing added a paragraph
    assert f"企业：{company}" in texts and f"{unit}：" in texts and texts[7:9] == body.split("\n")
    assert "事项：A<B>&\"C'" in texts and "（联系人：<张三>，联系电话：0572-2222222）" in texts


@pytest.mark.parametrize("value, text", [("2026-12-07", "2026年12月7日"), ("2026-01-01T00:30:00+08:00", "2026年1月1日"),
                                         ("2026-12-31T16:30:00+00:00", "2027年1月1日"), ("另行通知", "另行通知"),
                                         (None, "")])
def test_dates_are_written_without_leading_zeros(value, text):
    from qihu.handlers.supervision import date_text
    assert date_text(value) == text


def test_an_unknown_letter_type_or_prefix_is_an_incident(letters):
    for data, words in (({"letter_type": "通知"}, "函件类型"), ({"doc_prefix": "很" * 21}, "发文机关代字")):
        iid = letters.runtime.start("letter", {**LETTER_DATA, **data}, region="湖州市")
        [t] = letters.tasks.list(instance_id=iid)
        letters.tasks.complete(t["id"], "clerk", {}, check=False)
        [incident] = letters.runtime.incidents(iid)
        assert words in incident["message"] and "letter_no" not in letters.runtime.data(iid)
    with letters.db.read() as s:
        assert documents.issued(s, "湖州市", "督办", 2026) == 0
