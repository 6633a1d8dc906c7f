"""The display names a diagram declares for its groups, and the groups it names at all.

A process declares what people read for a group it uses with a process-level Camunda property
(Camunda Modeler: the process's 'Extension properties'):

    <camunda:property name="groupName.hz_centre" value="湖州市企业综合服务中心" />

An administrator's name for the group (table group_info) wins over it; a group neither names
is shown by its id (engine.identity.accounts.AccountService.group_names).
"""
import re

from qihu.engine.dialect.xmlsafe import load_xml
from qihu.engine.errors import bilingual

PREFIX = "groupName."
MAX_NAME = 200
GROUP_ID = re.compile(r"^[^\s,/]{1,200}$")            # as a candidate group can be written
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
_QUOTED = re.compile(r"""["']([^"'\s,/]{1,200})["']""")   # 'acceptor' in ${None if x else 'acceptor'}


def declared(properties: dict | None) -> dict[str, str]:
    """{group id: display name} a process's properties declare (well-formed ones only)."""
    out = {}
    for key, value in (properties or {}).items():
        if key and key.startswith(PREFIX):
            group, name = key[len(PREFIX):].strip(), (value or "").strip()
            if GROUP_ID.match(group) and name and len(name) <= MAX_NAME:
                out[group] = name
    return out


def check(info, problem, code=None) -> None:
    """Deploy check of a process's groupName.* properties (a definition_checked listener):
    the group id must be one a candidate group can be, the name non-empty and short."""
    for key, value in sorted((info.properties or {}).items(), key=lambda kv: kv[0] or ""):
        if not key or not key.startswith(PREFIX):
            continue
        group, name = key[len(PREFIX):].strip(), (value or "").strip()
        if not GROUP_ID.match(group):
            problem(info.key, bilingual(
                f"用户组名称属性 {key} 有误：“{PREFIX}”后应为用户组标识（不含空格、逗号、斜杠，最多 200 个字符）",
                f"group name property {key!r}: {PREFIX} must be followed by a group id "
                "(no spaces, commas or slashes, at most 200 characters)"))
        elif not name:
            problem(info.key, bilingual(f"用户组名称属性 {key} 没有填写名称（value）",
                                        f"group name property {key!r} has no value"))
        elif len(name) > MAX_NAME:
            problem(info.key, bilingual(f"用户组名称属性 {key} 的名称超过 {MAX_NAME} 个字",
                                        f"group name property {key!r}: the name is longer than {MAX_NAME} characters"))


def read_process(xml: bytes, key: str, filename: str = "") -> tuple[dict[str, str], set[str]]:
    """(declared names, group ids the process names) of process `key` in a BPMN file: its
    candidate starter groups, the candidate groups of its user tasks (the quoted ids inside an
    expression too) and the groups it declares names for."""
    root = load_xml(xml, filename or key)
    proc = next((p for p in root.iter(f"{_BPMN}process") if p.get("id") == key), None)
    if proc is None:
        return {}, set()
    props = {p.get("name"): p.get("value") for p in proc.findall(
        f"{_BPMN}extensionElements/{_CAMUNDA}properties/{_CAMUNDA}property")}
    names = declared(props)
    groups = set(names) | set(_split(proc.get(f"{_CAMUNDA}candidateStarterGroups")))
    for el in proc.iter():
        value = el.get(f"{_CAMUNDA}candidateGroups") if isinstance(el.tag, str) else None
        if value:
            groups.update(_split(value))
    return names, groups


def _split(value: str | None) -> list[str]:
    value = (value or "").strip()
    if "${" in value or "#{" in value:
        return _QUOTED.findall(value)
    return [g.strip() for g in value.split(",") if GROUP_ID.match(g.strip())]
