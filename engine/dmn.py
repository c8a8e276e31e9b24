"""DMN decision tables for business rule tasks, evaluated with our restricted expressions.

SpiffWorkflow's :class:`DMNEngine` turns every input cell into a Python expression by
gluing it to the input expression (``(input) == (cell)`` or ``input + cell``) and hands it
to the script engine.  Its script engine is ours, so nothing reaches ``eval``; but the glue
misreads the cells every DMN editor writes: ``"a","b"`` becomes a comparison with a tuple,
``not("x")`` and ranges like ``[1..5]`` are syntax errors.  :class:`SafeDMNEngine` reads a
cell itself:

* empty or ``-``: any value matches;
* ``a, b, c`` (top-level commas): any of the alternatives matches;
* ``not(a, b)``: none of them matches;
* ``< 3``, ``<= 3``, ``> 3``, ``>= 3``, ``!= x``, ``= x``: a comparison with the input;
* ``[1..5]``, ``(1..5)``, ``]1..5[``: a range, ends included with ``[`` … ``]``;
* a cell with ``?`` (SpiffWorkflow's convention) is a condition on the input, e.g.
  ``"urgent" in ?``;
* anything else is an expression whose value must equal the input.

Every part is an expression of :mod:`engine.expressions`, evaluated against the task data
(with the input as ``dmninputexpr``); output cells are expressions too.  The same reading
is used at deploy time to check every cell (:func:`check_decisions`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import DecisionTable

from core.errors import FieldMessage
from core.i18n import N_
from engine import expressions
from engine.errors import ProcessValidationError, UnsafeExpression

INPUT_NAME = "dmninputexpr"
_COMPARISON = re.compile(r"^(<=|>=|!=|==|<|>|=)(?!=)\s*(.+)$", re.S)
_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
# ``?`` outside quoted text (the same rule SpiffWorkflow applies).
_QUESTION = re.compile(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def split_alternatives(cell: str) -> list[str]:
    """``"a", "b"`` → ``['"a"', '"b"']``: commas outside quotes and brackets separate."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    for index, char in enumerate(cell):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(cell[start:index].strip())
            start = index + 1
    parts.append(cell[start:].strip())
    return [part for part in parts if part]


def _expressions_of(cell: str) -> Iterator[tuple[str, str]]:
    """The (kind, expression) parts of one input cell, for checking and evaluating alike."""
    text = cell.strip()
    if text in ("", "-"):
        return
    negated = _NOT.match(text)
    if negated:
        text = negated.group(1)
    for alternative in split_alternatives(text):
        comparison = _COMPARISON.match(alternative)
        ranged = _RANGE.match(alternative)
        if ranged:
            yield "range-low", ranged.group(2)
            yield "range-high", ranged.group(3)
        elif _QUESTION.search(alternative):
            yield "condition", _QUESTION.sub(INPUT_NAME, alternative)
        elif comparison:
            yield "compare", comparison.group(2)
        else:
            yield "equal", alternative


def _matches_one(alternative: str, value: Any, names: Mapping[str, Any]) -> bool:
    def ev(source: str) -> Any:
        return expressions.evaluate(source, names)

    ranged = _RANGE.match(alternative)
    if ranged:
        opening, low, high, closing = ranged.groups()
        low_value, high_value = ev(low), ev(high)
        above = value >= low_value if opening == "[" else value > low_value
        below = value <= high_value if closing == "]" else value < high_value
        return bool(above and below)
    if _QUESTION.search(alternative):
        return bool(ev(_QUESTION.sub(INPUT_NAME, alternative)))
    comparison = _COMPARISON.match(alternative)
    if comparison:
        op, operand = comparison.groups()
        other = ev(operand)
        result = {
            "<": lambda: value < other,
            "<=": lambda: value <= other,
            ">": lambda: value > other,
            ">=": lambda: value >= other,
            "!=": lambda: value != other,
            "==": lambda: value == other,
            "=": lambda: value == other,
        }[op]()
        return bool(result)
    return bool(value == ev(alternative))


def cell_matches(cell: str | None, value: Any, names: Mapping[str, Any]) -> bool:
    """Whether the input ``value`` satisfies the input cell ``cell``."""
    if cell is None or cell.strip() in ("", "-"):
        return True
    text = cell.strip()
    negated = _NOT.match(text)
    if negated:
        text = negated.group(1)
    scope = {**names, INPUT_NAME: value}
    try:
        hit = any(_matches_one(alt, value, scope) for alt in split_alternatives(text))
    except TypeError as exc:
        # "abc" < 3: a table whose cell does not fit the input's type.
        raise UnsafeExpression(f"the cell {cell!r} cannot be compared with {value!r}: {exc}") from None
    return not hit if negated else hit


class SafeDMNEngine(DMNEngine):  # type: ignore[misc]
    """SpiffWorkflow's decision-table engine with our reading of the input cells."""

    def evaluate(self, input_expr: str, match_expr: str | None, task: Any) -> bool:
        if match_expr is None or match_expr.strip() in ("", "-"):
            return True
        value = task.workflow.script_engine.evaluate(task, input_expr)
        return cell_matches(match_expr, value, dict(task.data))


def safe_engine_for(table: DecisionTable) -> SafeDMNEngine:
    """The engine a business rule task runs its table with (after parse and after load)."""
    return SafeDMNEngine(table)


def _text(element: Any) -> str:
    node = element.find("{*}text")
    return (node.text or "").strip() if node is not None else ""


def decision_ids(xml: str | bytes) -> list[str]:
    """The ids of the decisions of a DMN document (none when it cannot be read)."""
    from engine.parser import load_xml

    try:
        root = load_xml(xml)
    except ProcessValidationError:
        return []
    return [d.get("id", "") for d in root.iter("{*}decision") if d.get("id")]


def check_decisions(filename: str, xml: str | bytes) -> tuple[list[str], list[str]]:
    """(decision ids, problems) of one DMN document: every cell must be an allowed expression."""
    from engine.parser import load_xml  # the same safe XML reading as for BPMN

    problems: list[str] = []
    try:
        root = load_xml(xml)
    except ProcessValidationError as exc:
        return [], [f"{filename}: {p}" for p in exc.problems]
    if "dmn" not in (etree.QName(root).namespace or "").lower():
        return [], [f"{filename}: not a DMN document (its root is not a DMN <definitions>)"]
    ids: list[str] = []
    for decision in root.iter("{*}decision"):
        decision_id = decision.get("id", "?")
        ids.append(decision_id)
        tables = list(decision.iter("{*}decisionTable"))
        if not tables:
            problems.append(
                FieldMessage(
                    N_("%(file)s: decision %(decision)s has no decision table"),
                    file=filename,
                    decision=decision_id,
                )
            )
            continue
        table = tables[0]
        for number, input_element in enumerate(table.iter("{*}input"), start=1):
            expression = input_element.find("{*}inputExpression")
            source = _text(expression) if expression is not None else ""
            if not source:
                # SpiffWorkflow then reads the task-data value named like the input's label.
                if not (input_element.get("label") or "").strip():
                    problems.append(
                        FieldMessage(
                            N_("%(file)s: decision %(decision)s, input %(number)s: no input expression"),
                            file=filename,
                            decision=decision_id,
                            number=number,
                        )
                    )
                continue
            problems.extend(_check(source, f"{filename}: decision {decision_id}, input {number}"))
        for row, rule in enumerate(table.iter("{*}rule"), start=1):
            where = f"{filename}: decision {decision_id}, rule {row}"
            for column, entry in enumerate(rule.iter("{*}inputEntry"), start=1):
                for _kind, source in _expressions_of(_text(entry)):
                    problems.extend(_check(source, f"{where}, input column {column}"))
            for column, entry in enumerate(rule.iter("{*}outputEntry"), start=1):
                source = _text(entry)
                if source:
                    problems.extend(_check(source, f"{where}, output column {column}"))
    return ids, problems


def _check(source: str, where: str) -> list[str]:
    try:
        expressions.check_expression(source)
    except UnsafeExpression as exc:
        return [f"{where}: {exc.message} ({source[:80]!r})"]
    return []
