"""What changed between two versions of a process: elements added, removed and changed.

Compared by element id over the process's own elements (tasks, events, gateways, flows,
lanes, their extension elements), by what each says (engine.dialect.meaning), not by its
XML: bpmn-js writes the file anew on every save, and an untouched task must not be listed.
The diagram layout (BPMNDI) is not a change of behaviour, so moving a shape is not listed. Names are given so an administrator reads 受理登记, not Task_accept.
"""
from lxml import etree

from qihu.engine.dialect.meaning import is_part, meaning
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
        if eid and el is not proc and not is_part(el):   # a timer's definition is its event's change
            out[eid] = el
    return out


def _describe(eid, el):
    return {"id": eid, "type": etree.QName(el).localname, "name": el.get("name")}


def diff(old_xml, new_xml, process_key):
    """{"added": [...], "removed": [...], "changed": [...]} of element dicts (id, type, name),
    each sorted by id."""
    old, new = _elements(old_xml, process_key), _elements(new_xml, process_key)
    added = [_describe(i, new[i]) for i in sorted(set(new) - set(old))]
    removed = [_describe(i, old[i]) for i in sorted(set(old) - set(new))]
    changed = [_describe(i, new[i]) for i in sorted(set(old) & set(new)) if meaning(old[i]) != meaning(new[i])]
    return {"added": added, "removed": removed, "changed": changed}
