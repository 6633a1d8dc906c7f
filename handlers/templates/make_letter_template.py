"""Builds letter.docx, the docxtpl template of supervision letters (督办函/交办函/提示函).

Run once after changing the layout: .venv/bin/python handlers/templates/make_letter_template.py
The .docx is committed so that installing qihu needs no build step.
"""
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt


def build(path):
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(14)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run("{{ issuer }}")
    run.bold = True
    run.font.size = Pt(20)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    t = title.add_run("{{ letter_type }}")
    t.bold = True
    t.font.size = Pt(22)
    no = doc.add_paragraph("{{ letter_no }}")
    no.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("{{ to_unit }}：")
    doc.add_paragraph("    {{ body }}")
    doc.add_paragraph("    事项：{{ subject }}")
    doc.add_paragraph("    企业：{{ company }}")
    doc.add_paragraph("    诉求编号：{{ business_key }}")
    doc.add_paragraph("    {% if deadline %}请于{{ deadline }}前办结并书面反馈办理结果。{% endif %}")
    sign = doc.add_paragraph("{{ issuer }}")
    sign.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    date = doc.add_paragraph("{{ issued_on }}")
    date.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.save(path)


if __name__ == "__main__":
    build(Path(__file__).with_name("letter.docx"))
