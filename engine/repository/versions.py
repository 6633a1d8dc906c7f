"""What changed between two versions of a process: elements added, removed and changed.

Compared by element id over the process's own elements (tasks, events, gateways, flows,
lanes, their extension elements); the diagram layout (BPMNDI) is not a change of behaviour,
so moving a shape is not listed. Names are given so an administrator reads 受理登记, not Task_accept.
"""
from lxml import etree

from qihu.engine.dialect.parser import B
from qihu.engine.dialect.xmlsafe import load_xml


def _elements(xml, process_key):
    root = load_xml(xml, f"{process_key}.bpmn")
    proc = next((p for p in root.iter(B + "process") if p.get("id") == process_key), None)
    if proc is None:
        return {}
    out = {}
    for el in proc.iter():
        eid = el.get("id") if isinstance(el.tag, str) else None
        if eid and el is not proc:
            out[eid] = el
    return out


def _canonical(el):
    """The element as text, whitespace-insensitive; nested elements with their own id (a
    subprocess's steps, a lane set's lanes) are left out: they are compared on their own."""
    copy = etree.fromstring(etree.tostring(el))
    for child in list(copy):
        if isinstance(child.tag, str) and child.get("id"):
            copy.remove(child)
    for e in copy.iter():
        e.text = (e.text or "").strip() or None
        e.tail = (e.tail or "").strip() or None
    return etree.tostring(copy, method="c14n")


def _describe(eid, el):
    return {"id": eid, "type": etree.QName(el).localname, "name": el.get("name")}


def diff(old_xml, new_xml, process_key):
    """{"added": [...], "removed": [...], "changed": [...]} of element dicts (id, type, name),
    each sorted by id."""
    old, new = _elements(old_xml, process_key), _elements(new_xml, process_key)
    added = [_describe(i, new[i]) for i in sorted(set(new) - set(old))]
    removed = [_describe(i, old[i]) for i in sorted(set(old) - set(new))]
    changed = [_describe(i, new[i]) for i in sorted(set(old) & set(new)) if _canonical(old[i]) != _canonical(new[i])]
    return {"added": added, "removed": removed, "changed": changed}
