"""DMN as Camunda 7 reads it: every decision of a file, and decision requirements graphs.

SpiffWorkflow 3.2.0's DMN parser knows one decision per file (the first) and fails on a file
with several ("'list' object has no attribute 'tag'"). Here each decision of a file is read on
its own, and a business rule task's decision is evaluated as Camunda's DMN engine does: its
required decisions (`informationRequirement/requiredDecision`) first, their results then
available to it as variables by output name (a list of values for a COLLECT table or when
several rules matched). Input data and knowledge sources have no execution semantics and are
ignored, as in Camunda.

Input entries are FEEL simple unary tests in Camunda; the usual ones are read here: a comparison
(`< 5`), a literal (`"Spring"`, `true`), a list (`"Fall","Winter"`: any of them), an interval
(`[5..8]`, `]0..10[`, `(1..2]`) and `not(...)`. Anything else is taken as Python, as before.
"""
from __future__ import annotations

import re
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import Decision, DecisionTable

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_INTERVAL = re.compile(r"^([\[\](])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\])])$", re.S)
_COMPARISON = re.compile(r"^(<=|>=|<|>|!=|=)\s*(.+)$", re.S)
_LITERALS = [(re.compile(r"\btrue\b"), "True"), (re.compile(r"\bfalse\b"), "False"), (re.compile(r"\bnull\b"), "None")]


def _outside_strings(text: str, fn: Any) -> str:
    out, last = [], 0
    for m in _STRING.finditer(text):
        out.append(fn(text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(fn(text[last:]))
    return "".join(out)


def _literals(text: str) -> str:
    def fix(part: str) -> str:
        for pattern, repl in _LITERALS:
            part = pattern.sub(repl, part)
        return part
    return _outside_strings(text, fix)


_INTERVAL_ANYWHERE = re.compile(r"[\[\](]\s*[^,\[\]()]+?\s*\.\.\s*[^,\[\]()]+?\s*[\[\])]")
_MASK = re.compile("\x00(\\d+)\x00")


def _split_top(text: str) -> list[str]:
    """Split on commas outside strings, intervals and parentheses."""
    kept: list[str] = []

    def mask(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"
    masked = _INTERVAL_ANYWHERE.sub(mask, _STRING.sub(mask, text))
    parts, depth, last = [], 0, 0
    for i, c in enumerate(masked):
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            parts.append(masked[last:i])
            last = i + 1
    parts.append(masked[last:])

    def unmask(part: str) -> str:
        while _MASK.search(part):
            part = _MASK.sub(lambda m: kept[int(m.group(1))], part)
        return part.strip()
    return [unmask(p) for p in parts]


def _one_test(test: str) -> str:
    """One FEEL unary test as a Python condition on `?` (the input, SpiffWorkflow's placeholder)."""
    m = _INTERVAL.match(test)
    if m and not _STRING.fullmatch(test):
        lo, a, b, hi = m.groups()
        low = ">=" if lo == "[" else ">"
        high = "<=" if hi == "]" else "<"
        return f"(? {low} ({_literals(a)}) and ? {high} ({_literals(b)}))"
    m = _COMPARISON.match(test)
    if m:
        op = "==" if m.group(1) == "=" else m.group(1)
        return f"(? {op} ({_literals(m.group(2))}))"
    return f"(? == ({_literals(test)}))"


def feel_unary_tests(text: str | None) -> str | None:
    """An input entry as SpiffWorkflow's DMN engine evaluates it; None or `-` matches anything.

    Only entries that use FEEL's own syntax (a list, an interval, `not(...)`, true/false/null)
    are rewritten; a plain `< 5` or `"Spring"` (already read right) is left as it was."""
    if text is None:
        return None
    t = text.strip()
    if t in ("", "-"):
        return None
    bare = _outside_strings(t, lambda part: part)
    masked = _STRING.sub('""', bare)
    negated = re.match(r"^not\s*\((.*)\)$", t, re.S)
    if negated:
        return f"not ({feel_unary_tests(negated.group(1)) or 'True'})"
    parts = _split_top(t)
    if len(parts) > 1 or ".." in masked or re.search(r"\b(true|false|null)\b", masked):
        return " or ".join(_one_test(p) for p in parts if p)
    return text


class DecisionParser(DMNParser):
    """One decision of a DMN file (SpiffWorkflow's DMNParser reads only the file's first)."""

    def __init__(self, parser: Any, decision: Any, nsmap: dict[str, str], filename: str | None = None) -> None:
        super().__init__(parser, decision, nsmap, filename=filename)

    @property
    def bpmn_id(self) -> str:
        return str(self.node.get("id"))

    def get_name(self) -> str | None:
        return self.node.get("name")

    def required(self) -> list[str]:
        """The ids of the decisions this one requires, in document order."""
        out: list[str] = []
        for req in self.node.findall("dmn:informationRequirement/dmn:requiredDecision", namespaces=self.nsmap):
            ref = (req.get("href") or "").lstrip("#")
            if ref and ref not in out:
                out.append(ref)
        return out

    def _parse_decision_tables(self, decision: Any, decision_element: Any) -> None:
        # as SpiffWorkflow's, but a table without an id is fine (older Camunda Modelers wrote none)
        for table_element in decision_element.findall("dmn:decisionTable", namespaces=self.nsmap):
            table = DecisionTable(table_element.get("id") or f"{decision.id}_table", table_element.get("name", ""),
                                  (table_element.get("hitPolicy") or "UNIQUE").upper())
            decision.decisionTables.append(table)
            self._parse_inputs_outputs(table, table_element)

    def parse(self) -> None:
        if self.decision is not None:
            return
        if self.node.find("dmn:decisionTable", namespaces=self.nsmap) is None:
            kind = next((c.tag.split("}")[-1] for c in self.node if isinstance(c.tag, str)
                         and c.tag.split("}")[-1] not in ("extensionElements", "informationRequirement",
                                                           "authorityRequirement", "knowledgeRequirement",
                                                           "description", "variable", "question",
                                                           "allowedAnswers")), None)
            raise ValidationException(
                f"决策 {self.bpmn_id} 不是决策表（{kind or '没有内容'}），qihu 只运行决策表"
                f"（decision {self.bpmn_id} is a {kind or 'decision without logic'}, not a decision table; "
                "qihu runs decision tables only）", node=self.node, file_name=self.filename)
        decision = Decision(self.bpmn_id, self.node.get("name", ""))
        self._parse_decision_tables(decision, self.node)
        for table in decision.decisionTables:
            for rule in table.rules:
                for entry in rule.inputEntries:
                    entry.lhs = [feel_unary_tests(text) for text in entry.lhs]
        self.decision = decision


def add_dmn_xml(parser: Any, node: Any, filename: str | None = None) -> None:
    """Register every decision of a DMN document with the parser (by id and by name)."""
    namespaces = dict(parser.namespaces)
    namespaces.update({k: v for k, v in node.nsmap.items() if k is not None})
    if None in node.nsmap:
        namespaces["dmn"] = node.nsmap[None]
    decisions = node.findall("dmn:decision", namespaces=namespaces)
    if not decisions:
        raise ValidationException("DMN 文件中没有决策（no decision in this DMN file）", node=node, file_name=filename)
    for decision in decisions:
        did = decision.get("id")
        old = parser.dmn_parsers.get(did)
        if old is not None:
            raise ValidationException(f"决策 {did} 已在 {old.filename} 中定义（decision {did} is also defined in "
                                      f"{old.filename}）", node=decision, file_name=filename)
        dp = DecisionParser(parser, decision, namespaces, filename=filename)
        parser.dmn_parsers[did] = dp
        parser.dmn_parsers_by_name[dp.get_name()] = dp


class DrgEngine:
    """Evaluates a decision after the decisions it requires, as Camunda's DMN engine does."""

    def __init__(self, decision_id: str, order: list[tuple[str, Any]]) -> None:
        self.decision_id = decision_id
        self.order = order          # [(decision id, (DMNEngine, hit policy))], required ones first

    @property
    def decision_table(self) -> Any:
        return self.order[-1][1][0].decision_table

    def result(self, task: Any) -> dict[str, Any]:
        *required, (_, (target, _)) = self.order
        if not required:
            return target.result(task)
        original = task.data
        scope = dict(original)
        try:
            for _, (engine, policy) in required:
                task.data = scope
                scope = {**scope, **_as_variables(engine, policy, task)}
            task.data = scope
            return target.result(task)
        finally:
            task.data = original


def _as_variables(engine: DMNEngine, policy: str, task: Any) -> dict[str, Any]:
    """A required decision's result as the variables Camunda gives the decision requiring it:
    the single result's outputs (UNIQUE, FIRST, ANY: the matched rule), or for COLLECT each
    output's list of values, which is what SpiffWorkflow's result already is."""
    return dict(engine.result(task))


def get_engine(parser: Any, decision_ref: str, node: Any) -> DrgEngine:
    """The engine of a business rule task's decision, its required decisions included."""
    if decision_ref not in parser.dmn_parsers:
        known = ", ".join(sorted(parser.dmn_parsers)) or "无（none）"
        raise ValidationException(f"找不到决策 {decision_ref!r}，本次部署中的决策：{known}"
                                  f"（no DMN decision with id {decision_ref!r} in this deployment）",
                                  node=node, file_name="")
    order: list[tuple[str, Any]] = []
    done: set[str] = set()

    def visit(did: str, path: tuple[str, ...], by: Any) -> None:
        if did in done:
            return
        if did in path:
            raise ValidationException(f"决策之间循环依赖：{' → '.join(path + (did,))}"
                                      f"（decisions require each other in a cycle）", node=by.node,
                                      file_name=by.filename)
        dp = parser.dmn_parsers.get(did)
        if dp is None:
            raise ValidationException(f"决策 {by.bpmn_id} 依赖的决策 {did} 不存在（required decision {did} "
                                      "is not in this deployment）", node=by.node, file_name=by.filename)
        for req in dp.required():
            visit(req, path + (did,), dp)
        dp.parse()
        table = dp.decision.decisionTables[0]
        order.append((did, (DMNEngine(table), table.hit_policy)))
        done.add(did)

    visit(decision_ref, (), parser.dmn_parsers[decision_ref])
    return DrgEngine(decision_ref, order)
