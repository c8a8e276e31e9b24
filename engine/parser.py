"""Reading and validating BPMN documents before anything of them runs.

:func:`parse_document` refuses a document with a DTD or entities, validates it against the
BPMN 2.0 XSD (plus the ``spiffworkflow`` extensions), builds every process spec, and then
checks what SpiffWorkflow would only find at run time: every expression and script is in
the allowed language, every service-task operator is registered with the parameters it
needs, every form a user task names is supplied and is a valid JSON Schema, and every call
activity names a known process.  All problems are reported at once.

Decision tables (DMN) a business rule task calls come with the document and are checked
cell by cell (:mod:`engine.dmn`); standard BPMN that SpiffWorkflow refuses as written
(implicit splits, sub-processes without start event) is rewritten by :func:`normalize`
before it is parsed, at deploy and at run time alike.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser

from core.errors import FieldMessage
from core.i18n import N_
from engine import expressions, iso_timers, registry
from engine.data_stores import SCOPES, ScopedDataStore
from engine.dmn import SafeDMNEngine, check_decisions, decision_ids
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
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")
DECISION_SUFFIX = ".dmn"
CAMUNDA_DECISION_REF = "{http://camunda.org/schema/1.0/bpmn}decisionRef"
_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")


class TicketflowParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's parser with our data stores and our decision-table engine.

    Deploying and running use the same class, so what deploys is what runs.
    """

    def __init__(self, validator: Any = None) -> None:
        super().__init__(validator=validator)
        self.used_decisions: set[str] = set()

    def _add_data_stores(self, bpmn: Any) -> None:
        # SpiffWorkflow looks the store's *name* up in a class table and knows none; every
        # store here is one of ours, its scope an extension property.
        for store in bpmn.xpath(".//bpmn:dataStore", namespaces=self.namespaces):
            store_id = store.get("id")
            if not store_id:
                raise ValidationException("a data store has no id", node=store)
            scope = "process"
            for prop in store.iter("{*}property"):
                if prop.get("name") == "scope":
                    scope = (prop.get("value") or "").strip() or "process"
            if scope not in SCOPES:
                raise ValidationException(
                    f"data store {store_id}: the scope must be one of {', '.join(SCOPES)}, not {scope!r}",
                    node=store,
                )
            self.data_stores[store_id] = ScopedDataStore(
                store_id,
                store.get("name") or store_id,
                store.get("capacity"),
                store.get("isUnlimited"),
                scope,
            )

    def get_engine(self, decision_ref: str | None, node: Any) -> SafeDMNEngine:
        # Camunda's modeler writes camunda:decisionRef; SpiffWorkflow's reads only its own.
        ref = decision_ref or node.get(CAMUNDA_DECISION_REF)
        if not ref:
            raise ValidationException(
                "a business rule task names no decision (spiffworkflow:calledDecisionId)", node=node
            )
        if ref not in self.dmn_parsers:
            known = ", ".join(sorted(self.dmn_parsers)) or "none"
            raise ValidationException(
                f"the decision {ref!r} is in no DMN file deployed with the diagram (decisions: {known})",
                node=node,
            )
        self.used_decisions.add(ref)
        try:
            table = super().get_engine(ref, node).decision_table
        except ValidationException:
            raise
        except (SpiffWorkflowException, ValueError, KeyError, AttributeError, IndexError, TypeError) as exc:
            raise ValidationException(f"the decision {ref!r} cannot be read: {exc}", node=node) from None
        return SafeDMNEngine(table)


@dataclass(frozen=True)
class UnreadableFile:
    """A file beside a diagram that could not be read; a problem only if the diagram uses it."""

    reason: str


def split_files(files: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(forms, decisions) of the files deployed beside a diagram, told apart by name."""
    forms = {name: value for name, value in files.items() if not name.endswith(DECISION_SUFFIX)}
    decisions = {
        name: value
        for name, value in files.items()
        if name.endswith(DECISION_SUFFIX) and not isinstance(value, UnreadableFile)
    }
    return forms, decisions


@dataclass
class ParsedDocument:
    """A validated BPMN document."""

    parser: SpiffBpmnParser
    process_ids: list[str]
    names: dict[str, str]
    calls: dict[str, list[str]]
    forms_used: set[str] = field(default_factory=set)
    # DMN files (by name) whose decisions a business rule task of the document uses.
    decisions_used: set[str] = field(default_factory=set)


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
            [
                FieldMessage(
                    N_("the document is larger than %(num)s MiB"), num=MAX_DOCUMENT_BYTES // 1024 // 1024
                )
            ]
        )
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ProcessValidationError([N_("documents with a DTD or entities are not accepted")])
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ProcessValidationError(
            [FieldMessage(N_("not well-formed XML: %(reason)s"), reason=str(exc))]
        ) from None
    # The byte checks above miss a DOCTYPE behind a long comment or in UTF-16.
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ProcessValidationError([N_("documents with a DTD or entities are not accepted")])
    if _local(root.tag) != "definitions":
        raise ProcessValidationError([N_("the document is not BPMN (no <definitions> root element)")])
    return root


_ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "subProcess",
        "callActivity",
        "transaction",
    }
)
_NOT_STARTED_BY_A_FLOW = frozenset({"boundaryEvent", "startEvent", "sequenceFlow"})


def _bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def normalize(root: Any) -> Any:
    """Rewrite standard BPMN that SpiffWorkflow refuses into what it runs, in place.

    * An activity with several outgoing flows is an implicit split (BPMN 2.0, 10.3.1):
      SpiffWorkflow accepts that only on gateways, so a parallel gateway is put behind the
      activity (an inclusive one when a flow has a condition or is the activity's default).
    * A sub-process without a start event starts every element that no flow leads to, and
      ends where elements have no outgoing flow: SpiffWorkflow needs one start and an end
      event, so they are added.

    The stored document stays as the designer wrote it; this runs on every parse (deploy
    and run alike), so both see the same process.
    """
    _drop_comments(root)
    counter = 0

    def new_id(base: str) -> str:
        nonlocal counter
        counter += 1
        return f"{base}__implicit{counter}"

    containers = ("process", "subProcess", "transaction", "adHocSubProcess")
    for process in [c for tag in containers for c in root.iter(_bpmn(tag))]:
        flows = {f.get("id"): f for f in process.findall(_bpmn("sequenceFlow"))}
        for activity in list(process):
            if not isinstance(activity.tag, str) or _local(activity.tag) not in _ACTIVITIES:
                continue
            activity_id = activity.get("id", "")
            outgoing = [f for f in flows.values() if f.get("sourceRef") == activity_id]
            if len(outgoing) < 2:
                continue
            default = activity.get("default")
            conditional = default is not None or any(
                f.find(_bpmn("conditionExpression")) is not None for f in outgoing
            )
            gateway = etree.Element(_bpmn("inclusiveGateway" if conditional else "parallelGateway"))
            gateway.set("id", new_id(activity_id))
            if default is not None:
                gateway.set("default", default)
                del activity.attrib["default"]
            link = etree.Element(_bpmn("sequenceFlow"))
            link.set("id", new_id(activity_id))
            link.set("sourceRef", activity_id)
            link.set("targetRef", gateway.get("id"))
            for old in activity.findall(_bpmn("outgoing")):
                activity.remove(old)
            _add_ref(activity, "outgoing", link.get("id"))
            _add_ref(gateway, "incoming", link.get("id"))
            for flow in outgoing:
                flow.set("sourceRef", gateway.get("id"))
                _add_ref(gateway, "outgoing", flow.get("id"))
            activity.addnext(gateway)
            gateway.addnext(link)
    for sub in list(root.iter(_bpmn("subProcess"))):
        if sub.get("triggeredByEvent") == "true" or sub.find(_bpmn("startEvent")) is not None:
            continue
        _add_implicit_start_and_end(sub, new_id)
    return root


def _drop_comments(root: Any) -> None:
    """Remove XML comments, keeping the text around them.

    SpiffWorkflow reads some children by ``child.tag.endswith(…)``, which fails on a comment
    inside a script task; comments mean nothing to the process.
    """
    for comment in list(root.iter(etree.Comment)):
        parent = comment.getparent()
        if parent is None:
            continue
        previous = comment.getprevious()
        if comment.tail:
            if previous is not None:
                previous.tail = (previous.tail or "") + comment.tail
            else:
                parent.text = (parent.text or "") + comment.tail
        parent.remove(comment)


def _add_ref(node: Any, kind: str, flow_id: str) -> None:
    """Add ``<incoming>``/``<outgoing>`` where the schema wants it (after the others)."""
    ref = etree.Element(_bpmn(kind))
    ref.text = flow_id
    same = node.findall(_bpmn(kind))
    if same:
        same[-1].addnext(ref)
    elif kind == "incoming" or node.find(_bpmn("incoming")) is None:
        anchors = [
            c
            for c in node
            if isinstance(c.tag, str) and _local(c.tag) in ("documentation", "extensionElements")
        ]
        if anchors:
            anchors[-1].addnext(ref)
        else:
            node.insert(0, ref)
    else:
        node.findall(_bpmn("incoming"))[-1].addnext(ref)


def _is_flow_node(node: Any) -> bool:
    """An activity, event or gateway that a flow can lead to (no boundary or start event)."""
    if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS or not node.get("id"):
        return False
    tag = _local(node.tag)
    if tag in _NOT_STARTED_BY_A_FLOW or node.get("triggeredByEvent") == "true":
        return False
    if node.get("isForCompensation") == "true":
        return False
    return tag in _ACTIVITIES or tag.endswith("Event") or tag.endswith("Gateway")


def _add_implicit_start_and_end(sub: Any, new_id: Callable[[str], str]) -> None:
    flows = sub.findall(_bpmn("sequenceFlow"))
    targets = {f.get("targetRef") for f in flows}
    sources = {f.get("sourceRef") for f in flows}
    nodes = [n for n in sub if _is_flow_node(n)]
    first = [n for n in nodes if n.get("id") not in targets]
    if not first:
        return
    sub_id = sub.get("id", "sub")
    start = etree.SubElement(sub, _bpmn("startEvent"))
    start.set("id", new_id(sub_id))
    for node in first:
        flow = etree.SubElement(sub, _bpmn("sequenceFlow"))
        flow.set("id", new_id(sub_id))
        flow.set("sourceRef", start.get("id"))
        flow.set("targetRef", node.get("id"))
        _add_ref(start, "outgoing", flow.get("id"))
        _add_ref(node, "incoming", flow.get("id"))
    if sub.find(_bpmn("endEvent")) is not None:
        return
    for node in nodes:
        if node.get("id") in sources:
            continue
        end = etree.SubElement(sub, _bpmn("endEvent"))
        end.set("id", new_id(sub_id))
        flow = etree.SubElement(sub, _bpmn("sequenceFlow"))
        flow.set("id", new_id(sub_id))
        flow.set("sourceRef", node.get("id"))
        flow.set("targetRef", end.get("id"))
        _add_ref(node, "outgoing", flow.get("id"))
        _add_ref(end, "incoming", flow.get("id"))


def parse_document(
    xml: str | bytes,
    *,
    forms: Mapping[str, Any] | None = None,
    known_processes: Iterable[str] = (),
    filename: str = "diagram.bpmn",
    decisions: Mapping[str, str | bytes] | None = None,
) -> ParsedDocument:
    """Validate ``xml`` completely; raise :class:`ProcessValidationError` listing every problem.

    ``decisions`` are the DMN documents deployed with it (file name → XML); ``forms`` may
    hold them too (any ``*.dmn`` name), as the files beside a diagram arrive together.
    """
    root = load_xml(xml)
    forms, more_decisions = split_files(forms or {})
    decisions = {**more_decisions, **(decisions or {})}
    too_large = _check_size(root)
    if too_large:
        raise ProcessValidationError(too_large)
    parser = TicketflowParser(validator=VALIDATOR)
    # Only the DMN files with a decision a business rule task calls count: a stray or
    # broken one beside the diagram is neither checked nor stored.
    decision_files, decision_problems = _add_decisions(parser, decisions, _decision_refs(root))
    if decision_problems:
        raise ProcessValidationError(decision_problems)
    try:
        parser.add_bpmn_xml(normalize(root), filename)
    except ValidationException as exc:
        raise ProcessValidationError([_describe(exc, root)]) from None
    except RecursionError:
        raise ProcessValidationError([TOO_DEEP]) from None
    except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError) as exc:
        raise ProcessValidationError(
            [FieldMessage(N_("the document cannot be read: %(reason)s"), reason=str(exc))]
        ) from None

    problems: list[str] = []
    process_ids = list(parser.get_process_ids())
    if not process_ids:
        problems.extend(_why_no_process(root))
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
                problems.append(
                    FieldMessage(
                        N_("call activity in %(process)s calls unknown process %(name)r"),
                        process=pid,
                        name=name,
                    )
                )
    cycle = find_call_cycle(calls)
    if cycle:
        # SpiffWorkflow would start a new level on every call, without end.
        problems.append(call_cycle_problem(cycle))
    problems.extend(p for pid in process_ids if (p := _spec_problem(parser, pid, root)))

    problems.extend(_check_elements(root))
    forms_used, form_problems = _check_forms(root, forms)
    problems.extend(form_problems)
    if problems:
        raise ProcessValidationError(problems)
    return ParsedDocument(
        parser=parser,
        process_ids=process_ids,
        names=names,
        calls=calls,
        forms_used=forms_used,
        decisions_used={decision_files[d] for d in parser.used_decisions if d in decision_files},
    )


def _decision_refs(root: Any) -> set[str]:
    """The decisions the business rule tasks of a document call."""
    refs: set[str] = set()
    for task in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        if task.get(CAMUNDA_DECISION_REF):
            refs.add(task.get(CAMUNDA_DECISION_REF))
        for called in task.iter("{*}calledDecisionId"):
            if (called.text or "").strip():
                refs.add(called.text.strip())
    return refs


def _why_no_process(root: Any) -> list[str]:
    # A process marked isExecutable="false" opens in the designer; a deploy names it.
    idle = [p.get("id", "?") for p in root.iter(_bpmn("process")) if p.get("isExecutable") == "false"]
    if idle:
        return [
            FieldMessage(N_('process %(process)s is not executable (isExecutable="false")'), process=pid)
            for pid in idle
        ]
    return [N_("the document defines no process")]


def _add_decisions(
    parser: TicketflowParser, decisions: Mapping[str, str | bytes], wanted: set[str]
) -> tuple[dict[str, str], list[str]]:
    """Check and add the DMN documents defining a ``wanted`` decision; (decision id → file
    name, problems)."""
    files: dict[str, str] = {}
    problems: list[str] = []
    for name in sorted(decisions):
        if not wanted & set(decision_ids(decisions[name])):
            continue
        ids, found = check_decisions(name, decisions[name])
        problems.extend(found)
        if found:
            continue
        try:
            parser.add_dmn_xml(load_xml(decisions[name]), filename=name)
        except ValidationException as exc:
            problems.append(FieldMessage(N_("%(file)s: %(problem)s"), file=name, problem=_describe(exc)))
            continue
        except (SpiffWorkflowException, etree.LxmlError, ValueError, KeyError, AttributeError) as exc:
            problems.append(
                FieldMessage(
                    N_("%(file)s: the decision table cannot be read: %(reason)s"), file=name, reason=str(exc)
                )
            )
            continue
        for decision_id in ids:
            if decision_id in files:
                problems.append(
                    FieldMessage(
                        N_("%(file)s: decision %(decision)s is defined in %(other)s too"),
                        file=name,
                        decision=decision_id,
                        other=files[decision_id],
                    )
                )
            files[decision_id] = name
    return files, problems


def _spec_problem(parser: SpiffBpmnParser, pid: str, root: Any = None) -> str | None:
    """Why the spec of ``pid`` cannot be built, or None."""
    try:
        parser.get_spec(pid)
    except RecursionError:
        return f"process {pid}: {TOO_DEEP}"
    except ValidationException as exc:
        return f"process {pid}: {TOO_DEEP}" if _is_recursion(exc) else _describe(exc, root)
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
                FieldMessage(
                    N_(
                        "process %(process)s has %(count)s elements; at most %(num)s are allowed per "
                        "process (split it into call activities)"
                    ),
                    process=process.get("id", "?"),
                    count=count,
                    num=MAX_ELEMENTS_PER_PROCESS,
                )
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


# SpiffWorkflow's wording → what a designer reads (the element is named after it either way).
_REWORDED = {
    "A Service Task must have an operator.": (
        "this service task has no operator: pick one of the registered operators "
        "(spiffworkflow:serviceTaskOperator) or make it a plain task"
    ),
}


def _describe(exc: ValidationException, root: Any = None) -> str:
    where = " ".join(str(p) for p in (exc.tag, exc.id, exc.name) if p)
    line = f" (line {exc.line_number})" if getattr(exc, "line_number", "") else ""
    text = str(exc).strip()
    text = _REWORDED.get(text, text)
    if _ELEMENT_REPR.search(text):
        # SpiffWorkflow puts the lxml element itself into "Cannot resolve dataInputAssociation
        # <Element …>": name the references that point at nothing instead.
        refs = _unresolved_refs(root, getattr(exc, "id", ""))
        named = ", ".join(repr(r) for r in refs) or "a reference"
        text = _ELEMENT_REPR.sub(named, text) + (
            " (no data object, data object reference or data store reference has that id)"
        )
    return f"{text}{' at ' + where if where else ''}{line}"


def _unresolved_refs(root: Any, owner_id: str) -> list[str]:
    """The data association sources/targets of element ``owner_id`` that name no data."""
    if root is None or not owner_id:
        return []
    data_tags = {"dataObject", "dataObjectReference", "dataStoreReference", "dataStore"}
    known = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and _local(e.tag) in data_tags}
    found: list[str] = []
    for owner in root.iter():
        if isinstance(owner.tag, str) and owner.get("id") == owner_id:
            refs = [
                *owner.findall(f"{{{BPMN_NS}}}dataInputAssociation/{{{BPMN_NS}}}sourceRef"),
                *owner.findall(f"{{{BPMN_NS}}}dataOutputAssociation/{{{BPMN_NS}}}targetRef"),
            ]
            for ref in refs:
                text = (ref.text or "").strip()
                if text and text not in known and text not in found:
                    found.append(text)
    return found


def _where(element: Any) -> FieldMessage:
    # The nearest BPMN element with an id (a parameter's own id names only the parameter).
    owner = element
    while owner is not None and not (owner.get("id") and etree.QName(owner).namespace == BPMN_NS):
        owner = owner.getparent()
    if owner is not None and _local(owner.tag).endswith("EventDefinition") and owner.getparent() is not None:
        # The event is what a designer sees and the modeler highlights, not its definition.
        owner = owner.getparent()
    ident = owner.get("id") if owner is not None else "?"
    what = _local(element.tag)  # the BPMN tag: a technical name, the same in every language
    if owner is not element and element.get("id"):
        what += f" {element.get('id')!r}"
    return FieldMessage(
        N_("%(what)s of %(element)s (line %(line)s)"), what=what, element=ident, line=element.sourceline
    )


def call_cycle_problem(cycle: Sequence[str]) -> FieldMessage:
    """The problem of processes that call each other in a circle (``a → b → a``)."""
    return FieldMessage(N_("processes call themselves: %(cycle)s"), cycle=" → ".join(cycle))


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
            problems.append(
                FieldMessage(
                    N_("%(where)s: %(problem)s"),
                    where=_where(element),
                    problem=FieldMessage(exc.msgid, **exc.params),
                )
            )
        if tag == "serviceTaskOperator":
            problems.extend(_check_operator(element))
    return problems


def _check_operator(element: Any) -> list[str]:
    name = element.get("id", "")
    spec = registry.get_operator(name)
    if spec is None:
        return [FieldMessage(N_("%(where)s: unknown operator %(name)r"), where=_where(element), name=name)]
    given = {p.get("id", "") for p in element.iter("{*}parameter")}
    problems: list[str] = [
        FieldMessage(
            N_("%(where)s: operator %(name)s needs parameter %(parameter)r"),
            where=_where(element),
            name=name,
            parameter=p,
        )
        for p in sorted(spec.required - given)
    ]
    problems += [
        FieldMessage(
            N_("%(where)s: operator %(name)s has no parameter %(parameter)r"),
            where=_where(element),
            name=name,
            parameter=p,
        )
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
        if not filename.strip():
            # The modeler writes formUiSchemaFilename="" for a task without a UI schema: no form.
            used.discard(filename)
            continue
        if filename not in forms:
            problems.append(
                FieldMessage(
                    N_("%(where)s: form %(file)r is not supplied"), where=_where(prop), file=filename
                )
            )
            continue
        if isinstance(forms[filename], UnreadableFile):
            problems.append(
                FieldMessage(
                    N_("%(where)s: form %(file)r is %(reason)s"),
                    where=_where(prop),
                    file=filename,
                    reason=forms[filename].reason,
                )
            )
            continue
        if prop.get("name") == "formJsonSchemaFilename":
            try:
                Draft202012Validator.check_schema(forms[filename])
            except SchemaError as exc:
                problems.append(
                    FieldMessage(
                        N_("form %(file)s: not a valid JSON Schema: %(reason)s"),
                        file=filename,
                        reason=exc.message,
                    )
                )
    return used, problems
