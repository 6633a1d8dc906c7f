"""Hardened XML loading for uploaded diagrams: no DTDs, no entities, no network."""
from lxml import etree

from qihu.engine.errors import DeployError, Problem

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=False, remove_blank_text=False,
)


_NO_DOCTYPE = "不允许 DOCTYPE 和实体声明（DOCTYPE and entity declarations are not allowed (XXE / entity expansion)）"


def load_xml(content, filename):
    """Parse bytes into an lxml root element, or raise DeployError naming file and line.

    Any DOCTYPE is refused outright: a BPMN/DMN file never needs one, and it is the
    carrier of XXE and entity-expansion ("billion laughs") payloads.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")
    low = content.lower()
    marks = [i for i in (low.find(b"<!doctype"), low.find(b"<!entity")) if i >= 0]
    if marks:
        line = content[: min(marks)].count(b"\n") + 1
        raise DeployError([Problem(_NO_DOCTYPE,
                                   file=filename, line=line)])
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError as e:
        raise DeployError([Problem(f"XML 格式错误（malformed XML: {e.msg}）", file=filename, line=e.lineno)]) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DeployError([Problem(_NO_DOCTYPE,
                                   file=filename, line=1)])
    for node in root.iter(etree.Entity):
        raise DeployError([Problem("不允许实体引用（entity references are not allowed）", file=filename,
                                   line=node.sourceline)])
    return root
