"""engine.uploads: what may be attached to an appeal, and that a name is only a name."""
import io

import pytest

from qihu.engine.errors import NotFound, ValidationFailed
from qihu.engine.tasks.uploads import check, safe_name

from tests.web_util import BASIC

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f20000000049454e44ae426082")


def docx_bytes():
    import docx
    d = docx.Document()
    d.add_paragraph("情况说明")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\boot.ini.txt", "boot.ini.txt"),
    ("C:\\Users\\张三\\情况说明.docx", "情况说明.docx"),
    ("...hidden.pdf", "hidden.pdf"),
    ("a\x00b\r\n.pdf", "ab.pdf"),
    ("  营业执照.png  ", "营业执照.png"),
])
def test_safe_name_keeps_only_a_base_name(raw, expected):
    assert safe_name(raw) == expected


def test_safe_name_shortens_long_names_but_keeps_the_extension():
    name = safe_name("长" * 300 + ".pdf")
    assert len(name) == 120 and name.endswith(".pdf")


@pytest.mark.parametrize("name, content, content_type", [
    ("说明.pdf", PDF, "application/pdf"),
    ("现场.PNG", PNG, "image/png"),
    ("报告.docx", None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("备注.txt", "用地指标迟迟未落实".encode(), "text/plain; charset=utf-8"),
])
def test_allowed_files_pass_with_the_type_from_the_allow_list(name, content, content_type):
    content = docx_bytes() if content is None else content
    assert check(name, content) == (name, content_type)


@pytest.mark.parametrize("name, content, says", [
    ("run.exe", b"MZ\x90\x00", "不支持的文件类型 .exe"),
    ("page.html", b"<script>alert(1)</script>", "不支持的文件类型 .html"),
    ("noext", PDF, "须带扩展名"),
    ("../", PDF, "须带扩展名"),
    ("empty.pdf", b"", "文件为空"),
    ("fake.pdf", b"MZ\x90\x00" + b"\x00" * 100, "内容与扩展名 .pdf 不符"),
    ("fake.png", PDF, "内容与扩展名 .png 不符"),
    ("fake.docx", PDF, "内容与扩展名 .docx 不符"),
    ("binary.txt", b"ab\x00cd", "内容与扩展名 .txt 不符"),
    ("gbk.txt", "中文".encode("gbk"), "内容与扩展名 .txt 不符"),
])
def test_bad_files_are_refused_with_the_reason(name, content, says):
    with pytest.raises(ValidationFailed) as e:
        check(name, content)
    assert says in str(e.value) and says in e.value.errors["file"]
    assert repr(name) in str(e.value)


def test_size_limit():
    check("big.txt", b"a" * 100, max_bytes=100)
    with pytest.raises(ValidationFailed, match="文件超过 10 MB"):
        check("big.txt", b"a" * (10 * 1024 * 1024 + 1))


def test_add_list_get_on_both_databases(make_engine):
    engine = make_engine(upload_max_bytes=1024)
    engine.repository.deploy([BASIC])
    iid = engine.runtime.start("appeal_basic", {}, business_key="U-1")
    a = engine.uploads.add(iid, "../../材料.pdf", PDF, "li")
    assert (a["name"], a["kind"], a["size"], a["created_by"]) == ("材料.pdf", "upload", len(PDF), "li")
    meta, content = engine.uploads.get(a["id"])
    assert content == PDF and meta["content_type"] == "application/pdf"
    assert [x["id"] for x in engine.uploads.list(iid)] == [a["id"]]
    with pytest.raises(ValidationFailed, match="文件超过 1 KB"):
        engine.uploads.add(iid, "big.txt", b"a" * 1025, "li")
    with pytest.raises(NotFound):
        engine.uploads.add("no-such-instance", "a.pdf", PDF, "li")
    with pytest.raises(NotFound):
        engine.uploads.get(99999)
    assert len(engine.uploads.list(iid)) == 1          # nothing half-written by the refusals
