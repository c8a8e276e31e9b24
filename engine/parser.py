"""Reading and validating BPMN documents before anything of them runs.

:func:`parse_document` refuses a document with a DTD or entities, validates it against the
BPMN 2.0 XSD (plus the ``spiffworkflow`` extensions), builds every process spec, and then
checks what SpiffWorkflow would only find at run time: every expression and script is in
the allowed language, every service-task operator is registered with the parameters it
needs, every form a user task names is supplied and is a valid JSON Schema, and every call
activity names a known process.  All problems are reported at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from engine import expressions, iso_timers, registry
from engine.errors import ProcessValidationError, UnsafeExpression

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# Flow elements (tasks, events, gateways, flows, lanes …) one process may hold.  The default
# ticket handling has under a hundred; SpiffWorkflow builds and predicts specs recursively
# along the flows, so thousands of them end in a RecursionError instead of a message.
MAX_ELEMENTS_PER_PROCESS = 2000
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

_EXPRESSION_TAGS = {
    "conditionExpression",
    "timeDuration",
    "timeDate",
    "timeCycle",
    "loopCardinality",
    "completionCondition",
    "loopCondition",
    "messagePayload",
    # Evaluated too: conditional events, message correlation retrieval expressions (the
    # validator renames their formalExpression to messagePath in place).
    "condition",
    "messagePath",
}
_SCRIPT_TAGS = {"script", "preScript", "postScript"}
_UNSUPPORTED_TAGS = {
    "businessRuleTask": "business rule tasks (DMN) are not supported yet",
}
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")


@dataclass
class ParsedDocument:
    """A validated BPMN document."""

    parser: SpiffBpmnParser
    process_ids: list[str]
    names: dict[str, str]
    calls: dict[str, list[str]]
    forms_used: set[str] = field(default_factory=set)


def content_hash(xml: str, forms: Mapping[str, Any]) -> str:
    """A stable hash of a document and its forms (deploying the same twice is a no-op)."""
    digest = hashlib.sha256(xml.encode())
    for name in sorted(forms):
        digest.update(name.encode())
        digest.update(repr(forms[name]).encode())
    return digest.hexdigest()


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def load_xml(xml: str | bytes) -> Any:
    """Parse XML safely: no DTD, no entities, no network, bounded size."""
    data = xml.encode() if isinstance(xml, str) else xml
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProcessValidationError(
            [f"the document is larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB"]
        )
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ProcessValidationError(["documents with a DTD or entities are not accepted"])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ProcessValidationError([f"not well-formed XML: {exc}"]) from None
    # The byte checks above miss a DOCTYPE behind a long comment or in UTF-16.
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ProcessValidationError(["documents with a DTD or entities are not accepted"])
    if _local(root.tag) != "definitions":
        raise ProcessValidationError(["the document is not BPMN (no <definitions> root element)"])
    return root


def parse_document(
    xml: str | bytes,
    *,
    forms: Mapping[str, Any] | None = None,
    known_processes: Iterable[str] = (),
    filename: str = "diagram.bpmn",
) -> ParsedDocument:
    """Validate ``xml`` completely; raise :class:`ProcessValidationError` listing every problem."""
    root = load_xml(xml)
    forms = forms or {}
    too_large = _check_size(root)
    if too_large:
        raise ProcessValidationError(too_large)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root, filename)
    except ValidationException as exc:
        raise ProcessValidationError([_describe(exc)]) from None
    except RecursionError:
        raise ProcessValidationError([TOO_DEEP]) from None
    except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError) as exc:
        raise ProcessValidationError([f"the document cannot be read: {exc}"]) from None

    problems: list[str] = []
    process_ids = list(parser.get_process_ids())
    if not process_ids:
        problems.append("the document defines no process")
    names: dict[str, str] = {}
    calls: dict[str, list[str]] = {}
    local_ids = set(process_ids)
    known = set(known_processes) | local_ids
    for process in root.iter("{*}process"):
        pid = process.get("id", "")
        names[pid] = process.get("name") or pid
        called = sorted({c.get("calledElement", "") for c in process.iter("{*}callActivity")})
        calls[pid] = [c for c in called if c]
        for name in calls[pid]:
            if name not in known:
                problems.append(f"call activity in {pid} calls unknown process {name!r}")
    cycle = find_call_cycle(calls)
    if cycle:
        # SpiffWorkflow would start a new level on every call, without end.
        problems.append(f"processes call themselves: {' → '.join(cycle)}")
    problems.extend(p for pid in process_ids if (p := _spec_problem(parser, pid)))

    problems.extend(_check_elements(root))
    forms_used, form_problems = _check_forms(root, forms)
    problems.extend(form_problems)
    if problems:
        raise ProcessValidationError(problems)
    return ParsedDocument(
        parser=parser, process_ids=process_ids, names=names, calls=calls, forms_used=forms_used
    )


def _spec_problem(parser: SpiffBpmnParser, pid: str) -> str | None:
    """Why the spec of ``pid`` cannot be built, or None."""
    try:
        parser.get_spec(pid)
    except RecursionError:
        return f"process {pid}: {TOO_DEEP}"
    except ValidationException as exc:
        return f"process {pid}: {TOO_DEEP}" if _is_recursion(exc) else _describe(exc)
    except (SpiffWorkflowException, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"process {pid}: {exc}"
    return None


TOO_DEEP = (
    "the flow is too long to follow: SpiffWorkflow reads a process step by step along its "
    "flows and gives up after a few hundred steps in a row; split it into sub-processes or "
    "call activities"
)


def _check_size(root: Any) -> list[str]:
    """Refuse processes with more than :data:`MAX_ELEMENTS_PER_PROCESS` flow elements."""
    problems: list[str] = []
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        count = sum(
            1
            for element in process.iter()
            if isinstance(element.tag, str)
            and element is not process
            and element.get("id")
            and etree.QName(element).namespace == BPMN_NS
        )
        if count > MAX_ELEMENTS_PER_PROCESS:
            problems.append(
                f"process {process.get('id', '?')} has {count} elements; at most "
                f"{MAX_ELEMENTS_PER_PROCESS} are allowed per process (split it into call activities)"
            )
    return problems


def _is_recursion(exc: BaseException) -> bool:
    # SpiffWorkflow wraps the RecursionError of its recursive spec building in its own
    # exception (text and context only).
    current: BaseException | None = exc
    for _ in range(10):
        if current is None:
            return False
        if isinstance(current, RecursionError) or "RecursionError" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def find_call_cycle(
    calls: Mapping[str, Iterable[str]], start: Iterable[str] | None = None
) -> list[str] | None:
    """A chain of call activities from ``start`` (default: every process) back to itself."""
    done: set[str] = set()

    def visit(pid: str, path: list[str]) -> list[str] | None:
        if pid in path:
            return [*path[path.index(pid) :], pid]
        if pid in done:
            return None
        for callee in calls.get(pid, ()):
            found = visit(callee, [*path, pid])
            if found:
                return found
        done.add(pid)
        return None

    for pid in sorted(calls if start is None else start):
        found = visit(pid, [])
        if found:
            return found
    return None


def _describe(exc: ValidationException) -> str:
    where = " ".join(str(p) for p in (exc.tag, exc.id, exc.name) if p)
    line = f" (line {exc.line_number})" if getattr(exc, "line_number", "") else ""
    return f"{exc}{' at ' + where if where else ''}{line}"


def _where(element: Any) -> str:
    # The nearest BPMN element with an id (a parameter's own id names only the parameter).
    owner = element
    while owner is not None and not (owner.get("id") and etree.QName(owner).namespace == BPMN_NS):
        owner = owner.getparent()
    if owner is not None and _local(owner.tag).endswith("EventDefinition") and owner.getparent() is not None:
        # The event is what a designer sees and the modeler highlights, not its definition.
        owner = owner.getparent()
    ident = owner.get("id") if owner is not None else "?"
    what = _local(element.tag)
    if owner is not element and element.get("id"):
        what += f" {element.get('id')!r}"
    return f"{what} of {ident} (line {element.sourceline})"


def _check_elements(root: Any) -> list[str]:
    problems: list[str] = []
    for element in root.iter():
        tag = _local(element.tag)
        text = (element.text or "").strip()
        parent = element.getparent()
        if tag == "expression" and parent is not None and _local(parent.tag) == "processVariableCorrelation":
            tag = "messagePath"  # spiffworkflow:expression of a process variable correlation
        try:
            if tag in iso_timers.KINDS and text and iso_timers.literal(text) is not None:
                iso_timers.checked(iso_timers.KINDS[tag], text)
            elif tag in _EXPRESSION_TAGS and text:
                expressions.check_expression(text)
            elif tag in _SCRIPT_TAGS and text:
                expressions.check_script(element.text or "")
            elif tag == "parameter" and element.get("value") is not None:
                expressions.check_expression(element.get("value"))
        except UnsafeExpression as exc:
            problems.append(f"{_where(element)}: {exc.message}")
        if tag in _UNSUPPORTED_TAGS:
            problems.append(f"{_where(element)}: {_UNSUPPORTED_TAGS[tag]}")
        if tag == "serviceTaskOperator":
            problems.extend(_check_operator(element))
    return problems


def _check_operator(element: Any) -> list[str]:
    name = element.get("id", "")
    spec = registry.get_operator(name)
    if spec is None:
        return [f"{_where(element)}: unknown operator {name!r}"]
    given = {p.get("id", "") for p in element.iter("{*}parameter")}
    problems = [
        f"{_where(element)}: operator {name} needs parameter {p!r}" for p in sorted(spec.required - given)
    ]
    problems += [
        f"{_where(element)}: operator {name} has no parameter {p!r}"
        for p in sorted(given - spec.required - spec.optional)
    ]
    return problems


def _check_forms(root: Any, forms: Mapping[str, Any]) -> tuple[set[str], list[str]]:
    used: set[str] = set()
    problems: list[str] = []
    for prop in root.iter("{*}property"):
        if prop.get("name") not in FORM_PROPERTIES:
            continue
        filename = prop.get("value", "")
        used.add(filename)
        if filename not in forms:
            problems.append(f"{_where(prop)}: form {filename!r} is not supplied")
            continue
        if prop.get("name") == "formJsonSchemaFilename":
            try:
                Draft202012Validator.check_schema(forms[filename])
            except SchemaError as exc:
                problems.append(f"form {filename}: not a valid JSON Schema: {exc.message}")
    return used, problems
