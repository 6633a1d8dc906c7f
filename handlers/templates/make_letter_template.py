"""Builds letter.docx, the docxtpl template of supervision letters (督办函/交办函/提示函), laid out
as GB/T 9704-2012 (党政机关公文格式) asks of a 公文:

- A4 (210 × 297 mm); margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (版心 156 × 225 mm),
  22 lines of body a page (fixed line spacing 28.9 pt).
- 发文机关标志 (the issuing unit) centred in red 小标宋; the 发文字号 (督办〔2026〕12号) under it; a red
  separator line (版头中的分隔线); the title centred in 小标宋 二号 (22 pt); 主送机关 flush left; 正文
  in 仿宋_GB2312 三号 (16 pt), each paragraph indented two characters; the issuing unit and the
  date (2026年12月7日) at the end, right; the contact line (联系人、联系电话) as 附注 in brackets.
- Page numbers "— 1 —" in 宋体 四号 (14 pt): odd pages right, even pages left (单页码居右, 双页码居左).

Fonts. A .docx names one font per run; the machine that opens it substitutes what it lacks. So
the runs name the standard's fonts (w:eastAsia too, which is what Word uses for Chinese text),
and the document's font table (word/fontTable.xml) names each one's alternative (w:altName),
which Word and WPS use when the font is not installed:
  仿宋_GB2312 → 仿宋 → FangSong          (body, 发文字号, signature, contact)
  方正小标宋简体 → 华文中宋 → SimSun      (发文机关标志, title)
  宋体 → SimSun                          (page numbers)
Windows has 仿宋 (FangSong) and SimSun; macOS has 华文仿宋/华文中宋; a government PC has the
GB2312 and 方正 fonts themselves.

The placeholders are docxtpl's (Jinja2); the handler renders with autoescape, so text from
enterprises and staff cannot add XML. `{%p ... %}` tags repeat a whole paragraph (one per line of
the body). Run once after changing the layout:
    .venv/bin/python handlers/templates/make_letter_template.py
The .docx is committed so that installing qihu needs no build step.
"""
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
PAGE_NUMBER_FONT = "宋体"
# font -> the font to use in its place, in order: each one's w:altName in the font table
FALLBACKS = {"仿宋_GB2312": "仿宋", "仿宋": "FangSong", "方正小标宋简体": "华文中宋", "华文中宋": "SimSun",
             "宋体": "SimSun"}
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_SIZE, TITLE_SIZE, ISSUER_SIZE, PAGE_NUMBER_SIZE = Pt(16), Pt(22), Pt(26), Pt(14)   # 三号, 二号, 一号, 四号
LINE = Pt(28.9)       # 225 mm of 版心 / 22 lines
CHAR = BODY_SIZE      # one character of body text: indents are counted in it


def set_font(run, name, size, bold=False, color=None):
    """Name the font for every script of the run (w:ascii, w:hAnsi and w:eastAsia)."""
    run.font.name = name
    run.font.size = size
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def paragraph(doc, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, font=BODY_FONT, size=BODY_SIZE, indent=True,
              right_indent=None, color=None, bold=False):
    p = doc.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = CHAR * 2
    if right_indent is not None:
        fmt.right_indent = right_indent
    if text:
        set_font(p.add_run(text), font, size, bold=bold, color=color)
    return p


def red_line(p):
    """The red separator under the 发文字号: the paragraph's bottom border."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "12"), ("w:space", "1"), ("w:color", "FF0000")):
        bottom.set(qn(k), v)
    borders.append(bottom)
    # schema order (CT_PPr): pBdr comes before shd, tabs, spacing, ind and jc
    p._p.get_or_add_pPr().insert_element_before(borders, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku",
                                                "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE",
                                                "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
                                                "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents",
                                                "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                                                "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
                                                "w:rPr", "w:sectPr", "w:pPrChange")


def page_number(footer, align):
    """"— 1 —": em dashes around a PAGE field."""
    p = footer.paragraphs[0]
    p.alignment = align
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        p.paragraph_format.right_indent = CHAR
    else:
        p.paragraph_format.left_indent = CHAR
    set_font(p.add_run("— "), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = p.add_run("1")
    set_font(run, PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
    p._p.remove(run._r)
    field.append(run._r)
    p._p.append(field)
    set_font(p.add_run(" —"), PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)


def name_fallbacks(doc):
    """Add each font and its w:altName to word/fontTable.xml."""
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype == RT.FONT_TABLE)
    root = etree.fromstring(part.blob)
    for name, alt in FALLBACKS.items():
        font = root.find(f"{{*}}font[@{qn('w:name')}='{name}']")
        if font is None:
            font = etree.SubElement(root, qn("w:font"))
            font.set(qn("w:name"), name)
        for old in font.findall(qn("w:altName")):
            font.remove(old)
        alt_el = etree.Element(qn("w:altName"))
        alt_el.set(qn("w:val"), alt)
        font.insert(0, alt_el)
        if font.find(qn("w:charset")) is None:
            charset = etree.SubElement(font, qn("w:charset"))
            charset.set(qn("w:val"), "86")     # GB2312
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def build(path):
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Pt(14) * 2   # page number 7 mm under the last line of the 版心
    style = doc.styles["Normal"]
    style.font.name, style.font.size = BODY_FONT, BODY_SIZE
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    doc.settings.odd_and_even_pages_header_footer = True
    page_number(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    page_number(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)

    # 版头: 发文机关标志, 发文字号, the red line
    paragraph(doc, "{{ issuer }}", WD_ALIGN_PARAGRAPH.CENTER, TITLE_FONT, ISSUER_SIZE, indent=False, color=RED)
    paragraph(doc, "", indent=False)
    number = paragraph(doc, "{{ letter_no }}", WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    red_line(number)
    paragraph(doc, "", indent=False)
    # 主体: title, 主送机关, 正文
    paragraph(doc, "{{ title }}", WD_ALIGN_PARAGRAPH.CENTER, TITLE_FONT, TITLE_SIZE, indent=False)
    paragraph(doc, "", indent=False)
    paragraph(doc, "{{ to_unit }}：", WD_ALIGN_PARAGRAPH.LEFT, indent=False)
    paragraph(doc, "{%p for line in body_lines %}", indent=False)
    paragraph(doc, "{{ line }}")
    paragraph(doc, "{%p endfor %}", indent=False)
    paragraph(doc, "{%p if subject %}", indent=False)
    paragraph(doc, "事项：{{ subject }}")
    paragraph(doc, "{%p endif %}", indent=False)
    paragraph(doc, "{%p if company %}", indent=False)
    paragraph(doc, "企业：{{ company }}")
    paragraph(doc, "{%p endif %}", indent=False)
    paragraph(doc, "{%p if business_key %}", indent=False)
    paragraph(doc, "诉求编号：{{ business_key }}")
    paragraph(doc, "{%p endif %}", indent=False)
    paragraph(doc, "{%p if deadline %}", indent=False)
    paragraph(doc, "请于{{ deadline }}前办结并书面反馈办理结果。")
    paragraph(doc, "{%p endif %}", indent=False)
    # 署名 and 成文日期 (右空四字), 附注 (the contact line)
    paragraph(doc, "", indent=False)
    paragraph(doc, "", indent=False)
    paragraph(doc, "{{ issuer }}", WD_ALIGN_PARAGRAPH.RIGHT, indent=False, right_indent=CHAR * 2)
    paragraph(doc, "{{ issued_on }}", WD_ALIGN_PARAGRAPH.RIGHT, indent=False, right_indent=CHAR * 4)
    paragraph(doc, "{%p if contact %}", indent=False)
    paragraph(doc, "", indent=False)
    paragraph(doc, "（{{ contact }}）")
    paragraph(doc, "{%p endif %}", indent=False)
    name_fallbacks(doc)
    doc.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("letter.docx"))
