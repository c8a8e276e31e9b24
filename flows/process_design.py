"""Process design: the designer's use cases (drafts, validation, deploys with a note, diffs).

The designer page (``web/designer``) calls only this module.  Every function checks the
designer right first (``rw`` on the ``designer`` group, or an administrator: the rule of
:func:`engine.definitions.require_designer`, which the API's deploy checks as well), before
it looks at its input.  The engine stays the authority on what deploys: validation here is
the deploy's own validation, only its problems are tied to the elements they name.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import FieldMessage, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from engine import definitions, registry
from engine.errors import ProcessValidationError
from engine.models import ProcessDraft, ProcessInstance, ProcessVersion
from engine.parser import BPMN_NS, load_xml, parse_document

# A note says why a version exists; it is shown in the version list, so keep it short.
MAX_NOTE = 2000
MAX_ID = 2**31 - 1
MAX_FORMS = 100
_FORM_NAME = re.compile(r"^[\w.\-]{1,250}\.json$")
_DECISION_NAME = re.compile(r"^[\w.\-]{1,250}\.dmn$")
# A process-model folder as a zip (SpiffWorkflow's application layout): limits checked on the
# sizes the archive declares and again while reading, so a zip bomb is refused, not unpacked.
MAX_ARCHIVE_ENTRIES = 200
MAX_ARCHIVE_FILE_BYTES = 5_000_000
MAX_ARCHIVE_TOTAL_BYTES = 20_000_000
# Process ids as SpiffWorkflow and the modeler write them (an XML NCName, roughly).
_PROCESS_ID = re.compile(r"^[A-Za-z_][\w.\-]{0,254}$")
_TOKEN = re.compile(r"[A-Za-z_][\w.\-]*")


def may_design(session: Session, actor: Actor) -> bool:
    """True for administrators and agents with ``rw`` on the designer group."""
    try:
        definitions.require_designer(session, actor)
    except PermissionDenied:
        return False
    return True


def require_design(session: Session, actor: Actor) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may design processes."""
    definitions.require_designer(session, actor)


@dataclass(frozen=True)
class ProcessSummary:
    """One process as the designer's list shows it."""

    process_id: str
    name: str
    version: int | None
    deployed_by: str
    deployed_at: datetime | None
    running: int
    draft_at: datetime | None


@dataclass(frozen=True)
class VersionRow:
    """One deployed version with who, when, why and how many instances still run on it."""

    id: int
    version: int
    note: str
    deployed_by: str
    deployed_at: datetime
    running: int


@dataclass(frozen=True)
class Problem:
    """A validation problem and the ids of the diagram's elements it names."""

    message: str
    element_ids: list[str]


@dataclass(frozen=True)
class DiffEntry:
    """An element of a diff: its id, type, name and (when changed) what changed."""

    id: str
    type: str
    name: str
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Diff:
    """What changed between two versions of one process."""

    old: ProcessVersion
    new: ProcessVersion
    added: list[DiffEntry]
    removed: list[DiffEntry]
    changed: list[DiffEntry]


def _agent_name(session: Session, agent_id: int | None) -> str:
    if agent_id is None:
        return ""
    agent = session.get(Agent, agent_id)
    return agent.full_name if agent is not None else ""


def _running_by_version(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(ProcessInstance.process_version_id, func.count())
        .where(ProcessInstance.status == "running")
        .group_by(ProcessInstance.process_version_id)
    ).all()
    return {int(vid): int(count) for vid, count in rows}


def check_process_id(process_id: str) -> str:
    """``process_id`` if it can be one; otherwise not found (ids come from URLs)."""
    if not _PROCESS_ID.match(process_id):
        raise NotFound(N_("process %(process_id)s not found"), process_id=process_id[:80])
    return process_id


def list_processes(session: Session, actor: Actor) -> list[ProcessSummary]:
    """Every deployed or drafted process: newest version, who and when, running instances."""
    require_design(session, actor)
    running = _running_by_version(session)
    versions = definitions.list_versions(session)
    by_process: dict[str, list[ProcessVersion]] = {}
    for version in versions:
        by_process.setdefault(version.process_id, []).append(version)
    drafts = {d.process_id: d for d in session.scalars(select(ProcessDraft))}
    result: list[ProcessSummary] = []
    for process_id in sorted({*by_process, *drafts}):
        own = by_process.get(process_id, [])
        newest = own[0] if own else None
        draft = drafts.get(process_id)
        result.append(
            ProcessSummary(
                process_id=process_id,
                name=newest.name if newest else (draft.name if draft else process_id),
                version=newest.version if newest else None,
                deployed_by=_agent_name(session, newest.deployed_by_id) if newest else "",
                deployed_at=newest.deployed_at if newest else None,
                running=sum(running.get(v.id, 0) for v in own),
                draft_at=draft.updated_at if draft else None,
            )
        )
    return result


def list_versions(session: Session, actor: Actor, process_id: str) -> list[VersionRow]:
    """The versions of ``process_id``, newest first, with running instances per version."""
    require_design(session, actor)
    running = _running_by_version(session)
    return [
        VersionRow(
            id=v.id,
            version=v.version,
            note=v.note,
            deployed_by=_agent_name(session, v.deployed_by_id),
            deployed_at=v.deployed_at,
            running=running.get(v.id, 0),
        )
        for v in definitions.list_versions(session, check_process_id(process_id))
    ]


def get_version(session: Session, actor: Actor, version_id: int) -> ProcessVersion:
    """One deployed version (not found for ids no version can have)."""
    require_design(session, actor)
    version = session.get(ProcessVersion, version_id) if 0 < version_id <= MAX_ID else None
    if version is None:
        raise NotFound(N_("process version %(id)s not found"), id=version_id)
    return version


def get_draft(session: Session, actor: Actor, process_id: str) -> ProcessDraft | None:
    """The saved draft of ``process_id``, if any."""
    require_design(session, actor)
    return session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == check_process_id(process_id)))


def current_xml(session: Session, actor: Actor, process_id: str) -> tuple[str, str]:
    """What the designer opens: the draft if one is saved, else the newest version.

    Returns the XML and where it came from (``"draft"`` or ``"version"``).
    """
    draft = get_draft(session, actor, process_id)
    if draft is not None:
        return draft.bpmn_xml, "draft"
    newest = definitions.latest_version(session, process_id)
    if newest is None:
        raise NotFound(N_("process %(process_id)s not found"), process_id=process_id)
    return newest.bpmn_xml, "version"


def _document_processes(bpmn_xml: str) -> dict[str, str]:
    """Process id → name of a document, or a validation error when it is no BPMN."""
    try:
        root = load_xml(bpmn_xml)
    except ProcessValidationError as exc:
        raise ValidationError(N_("this is not a BPMN diagram"), errors={"bpmn_xml": exc.problems}) from None
    return {p.get("id", ""): p.get("name") or p.get("id", "") for p in root.iter(f"{{{BPMN_NS}}}process")}


def check_forms(forms: object) -> dict[str, Any]:
    """Edited forms as the designer sends them: file name (``*.json``) → a JSON object, and
    decision tables (``*.dmn``) → their XML text."""
    if forms is None:
        return {}
    if not isinstance(forms, dict) or len(forms) > MAX_FORMS:
        raise ValidationError(N_("the forms are not valid"), errors={"forms": ["an object of forms"]})
    for name, schema in forms.items():
        if isinstance(name, str) and _DECISION_NAME.match(name) and isinstance(schema, str):
            continue
        if not isinstance(name, str) or not _FORM_NAME.match(name) or not isinstance(schema, dict):
            raise ValidationError(
                N_("the forms are not valid"),
                errors={
                    "forms": [
                        FieldMessage(
                            N_("%(name)r: a file name ending in .json and a JSON object"), name=str(name)[:80]
                        )
                    ]
                },
            )
    return dict(forms)


def save_draft(
    session: Session,
    actor: Actor,
    *,
    process_id: str,
    bpmn_xml: str,
    forms: Mapping[str, Any] | None = None,
) -> ProcessDraft:
    """Store ``bpmn_xml`` (and edited forms) as the draft of ``process_id`` (one per process)."""
    require_design(session, actor)
    check_process_id(process_id)
    edited = check_forms(forms)
    processes = _document_processes(bpmn_xml)
    if process_id not in processes:
        raise ValidationError(
            N_("the diagram does not define this process"),
            errors={
                "bpmn_xml": [
                    FieldMessage(N_("no process with the id %(process)r in the diagram"), process=process_id)
                ]
            },
        )
    draft = session.scalar(select(ProcessDraft).where(ProcessDraft.process_id == process_id))
    if draft is None:
        draft = ProcessDraft(process_id=process_id, bpmn_xml=bpmn_xml)
        session.add(draft)
    draft.bpmn_xml = bpmn_xml
    draft.forms = edited
    draft.name = processes[process_id][:255]
    draft.author_id = actor.id if isinstance(actor, Agent) else None
    draft.updated_at = utcnow()
    session.flush()
    return draft


def import_document(session: Session, actor: Actor, *, bpmn_xml: str) -> list[str]:
    """An uploaded ``.bpmn``: a draft for each of its processes; their ids."""
    require_design(session, actor)
    processes = [pid for pid in _document_processes(bpmn_xml) if _PROCESS_ID.match(pid)]
    if not processes:
        raise ValidationError(
            N_("the diagram defines no process"), errors={"file": ["the document defines no process"]}
        )
    for process_id in processes:
        save_draft(session, actor, process_id=process_id, bpmn_xml=bpmn_xml)
    return processes


def _archive_error(problem: str) -> ValidationError:
    return ValidationError(N_("the archive cannot be imported"), errors={"file": [problem]})


def _archive_files(data: bytes) -> dict[str, bytes]:
    """File name → content of a zip's files, within the limits; paths with ``..`` refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise _archive_error("not a zip file") from None
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        raise _archive_error(f"more than {MAX_ARCHIVE_ENTRIES} entries")
    files: dict[str, bytes] = {}
    total = 0
    for entry in entries:
        parts = entry.filename.replace("\\", "/").split("/")
        if entry.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise _archive_error(f"{entry.filename[:80]!r}: a path outside the folder")
        if entry.is_dir() or parts[-1].startswith("."):
            continue
        if entry.file_size > MAX_ARCHIVE_FILE_BYTES:
            raise _archive_error(f"{entry.filename[:80]!r}: larger than {MAX_ARCHIVE_FILE_BYTES} bytes")
        try:
            with archive.open(entry) as stream:
                content = stream.read(MAX_ARCHIVE_FILE_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError):
            raise _archive_error(f"{entry.filename[:80]!r}: cannot be unpacked") from None
        total += len(content)
        if len(content) > MAX_ARCHIVE_FILE_BYTES or total > MAX_ARCHIVE_TOTAL_BYTES:
            raise _archive_error(f"more than {MAX_ARCHIVE_TOTAL_BYTES} bytes unpacked")
        if parts[-1] in files:
            raise _archive_error(f"{parts[-1][:80]!r}: twice in the archive")
        files[parts[-1]] = content
    return files


def _archive_text(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _archive_error(f"{name[:80]!r}: not UTF-8 text") from None


def import_archive(session: Session, actor: Actor, *, data: bytes) -> list[str]:
    """A zipped process-model folder (SpiffWorkflow's application layout: ``*.bpmn``, JSON
    forms, ``*.dmn`` decisions, ``process_model.json``): a draft of each of its processes,
    holding the folder's forms and decisions; their ids."""
    require_design(session, actor)
    diagrams, forms = _archive_contents(_archive_files(data))
    imported: list[str] = []
    for xml in diagrams:
        for process_id in _document_processes(xml):
            if _PROCESS_ID.match(process_id) and process_id not in imported:
                save_draft(session, actor, process_id=process_id, bpmn_xml=xml, forms=forms)
                imported.append(process_id)
    if not imported:
        raise _archive_error("the document defines no process")
    return imported


def _archive_contents(files: Mapping[str, bytes]) -> tuple[list[str], dict[str, Any]]:
    """The diagrams of an archive, and its forms and decisions by file name."""
    diagrams: list[str] = []
    forms: dict[str, Any] = {}
    for name, content in sorted(files.items()):
        if name == "process_model.json":
            continue  # the application's own metadata: display name, files, not the model
        if name.endswith(".bpmn"):
            diagrams.append(_archive_text(name, content))
        elif _DECISION_NAME.match(name):
            forms[name] = _archive_text(name, content)
        elif _FORM_NAME.match(name):
            try:
                schema = json.loads(_archive_text(name, content))
            except ValueError:
                raise _archive_error(f"{name[:80]!r}: not valid JSON") from None
            if isinstance(schema, dict):
                forms[name] = schema
    if not diagrams:
        raise _archive_error("the archive holds no .bpmn file")
    if len(forms) > MAX_FORMS:
        raise _archive_error(f"more than {MAX_FORMS} forms and decisions")
    return diagrams, forms


def available_forms(session: Session) -> dict[str, Any]:
    """The forms a designer's diagram may name: those of every process's newest version."""
    forms: dict[str, Any] = {}
    for version in reversed(definitions.list_versions(session)):
        forms.update(version.forms or {})
    return forms


def form_schema(session: Session, actor: Actor, *, process_id: str, name: str) -> dict[str, Any]:
    """A form by file name: the process's draft's edited one, else the deployed one."""
    if not _FORM_NAME.match(name):
        raise NotFound(N_("form %(name)s not found"), name=name[:80])
    draft = get_draft(session, actor, process_id)
    if draft is not None and name in (draft.forms or {}):
        return dict(draft.forms[name])
    forms = available_forms(session)
    if name not in forms:
        raise NotFound(N_("form %(name)s not found"), name=name[:80])
    return dict(forms[name])


def decision_file(session: Session, actor: Actor, *, process_id: str, decision_id: str) -> tuple[str, str]:
    """The ``*.dmn`` file (name, XML) defining ``decision_id``: the draft's, else a deployed one
    (the decision table editor opens it; the edited file goes with the draft's files)."""
    draft = get_draft(session, actor, process_id)
    defines = re.compile(r"<(?:[\w-]+:)?decision\b[^>]*\bid=[\"']" + re.escape(decision_id) + r"[\"']")
    for files in ((draft.forms or {}) if draft is not None else {}, available_forms(session)):
        for name, text in sorted(files.items()):
            if _DECISION_NAME.match(name) and isinstance(text, str) and defines.search(text):
                return name, text
    raise NotFound(N_("decision %(decision_id)s not found"), decision_id=decision_id[:80])


def _element_ids(bpmn_xml: str) -> set[str]:
    try:
        root = load_xml(bpmn_xml)
    except ProcessValidationError:
        return set()
    return {
        str(el.get("id"))
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace == BPMN_NS
    }


def _problems(messages: Sequence[str], ids: set[str]) -> list[Problem]:
    result: list[Problem] = []
    for message in messages:
        named: list[str] = []
        for token in _TOKEN.findall(message):
            if token in ids and token not in named:
                named.append(token)
        result.append(Problem(message=message, element_ids=named))
    return result


def validate(
    session: Session, actor: Actor, *, bpmn_xml: str, forms: Mapping[str, Any] | None = None
) -> list[Problem]:
    """Every problem a deploy of ``bpmn_xml`` would report, with the element ids it names."""
    require_design(session, actor)
    all_forms = {**available_forms(session), **check_forms(forms)}
    deployed = {v.process_id for v in definitions.list_versions(session)}
    try:
        parse_document(bpmn_xml, forms=all_forms, known_processes=deployed)
    except ProcessValidationError as exc:
        return _problems(exc.problems, _element_ids(bpmn_xml))
    return []


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise ValidationError(N_("a change note is required"), errors={"note": ["a change note is required"]})
    if len(note) > MAX_NOTE:
        raise ValidationError(N_("the change note is too long"), errors={"note": ["at most 2000 characters"]})
    return note


def deploy(
    session: Session, actor: Actor, *, bpmn_xml: str, note: str, forms: Mapping[str, Any] | None = None
) -> list[tuple[ProcessVersion, bool]]:
    """Deploy ``bpmn_xml`` with a change note; each process's (new or unchanged) version.

    The forms are those already deployed (plus ``forms``).  The drafts of the deployed
    processes are done with and removed.
    """
    require_design(session, actor)
    note = _note(note)
    all_forms = {**available_forms(session), **check_forms(forms)}
    outcome = definitions.deploy_with_outcome(
        session, actor=actor, bpmn_xml=bpmn_xml, forms=all_forms, note=note
    )
    deployed = [version.process_id for version, _created in outcome]
    for draft in session.scalars(select(ProcessDraft).where(ProcessDraft.process_id.in_(deployed))):
        session.delete(draft)
    session.flush()
    return outcome


def rollback(session: Session, actor: Actor, *, version_id: int, note: str) -> ProcessVersion:
    """Deploy an older version's content (diagram and forms) as the newest, with a note."""
    require_design(session, actor)
    old = get_version(session, actor, version_id)
    note = _note(note)
    outcome = definitions.deploy_with_outcome(
        session,
        actor=actor,
        bpmn_xml=old.bpmn_xml,
        forms={**available_forms(session), **old.forms},
        note=note,
    )
    for version, _created in outcome:
        if version.process_id == old.process_id:
            return version
    raise NotFound(N_("process %(process_id)s not found"), process_id=old.process_id)


def _is_part(element: Any) -> bool:
    """Event definitions and loop markers describe their element: modelers give them ids, but
    a diff lists the boundary event whose timer was added, not the timer definition itself."""
    local = etree.QName(element).localname
    return bool(local.endswith("EventDefinition") or local.endswith("LoopCharacteristics"))


# Children whose text is the element's own content (kept in its signature), as opposed to
# child elements with an id of their own (compared as elements of their own).
def _signature(element: Any) -> dict[str, str]:
    parts: dict[str, str] = {}
    for name, value in sorted(element.attrib.items()):
        if name != "id":
            parts[f"@{etree.QName(name).localname}"] = str(value)
    for child in element:
        if not isinstance(child.tag, str) or (child.get("id") and not _is_part(child)):
            continue
        local = etree.QName(child).localname
        if local in ("incoming", "outgoing", "flowNodeRef"):
            key = local
            text = (child.text or "").strip()
            parts[key] = " ".join(sorted([*parts.get(key, "").split(), text]))
            continue
        content = etree.tostring(child, method="c14n").decode()
        key = local if local not in parts else f"{local}+"
        parts[key] = parts.get(key, "") + re.sub(r"\s+", " ", content)
    return parts


def _elements(bpmn_xml: str, process_id: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    root = load_xml(bpmn_xml)
    scope: list[Any] = [p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == process_id]
    # The pools and message flows of the process's collaboration count as its elements too.
    scope += list(root.iter(f"{{{BPMN_NS}}}collaboration"))
    found: dict[str, tuple[str, str, dict[str, str]]] = {}
    for top in scope:
        for el in top.iter():
            if not isinstance(el.tag, str) or el is top or not el.get("id"):
                continue
            if etree.QName(el).namespace != BPMN_NS:
                continue
            if any(_is_part(node) for node in (el, *el.iterancestors())):
                continue
            found[str(el.get("id"))] = (etree.QName(el).localname, el.get("name") or "", _signature(el))
    return found


def diff(session: Session, actor: Actor, *, old_id: int, new_id: int) -> Diff:
    """Elements added, removed and changed between two versions of one process."""
    require_design(session, actor)
    old = get_version(session, actor, old_id)
    new = get_version(session, actor, new_id)
    if old.process_id != new.process_id:
        raise ValidationError(
            N_("both versions must be of the same process"), errors={"b": ["another process's version"]}
        )
    before = _elements(old.bpmn_xml, old.process_id)
    after = _elements(new.bpmn_xml, new.process_id)
    added = [DiffEntry(i, after[i][0], after[i][1]) for i in sorted(after.keys() - before.keys())]
    removed = [DiffEntry(i, before[i][0], before[i][1]) for i in sorted(before.keys() - after.keys())]
    changed: list[DiffEntry] = []
    for ident in sorted(before.keys() & after.keys()):
        (old_type, old_name, old_sig), (new_type, new_name, new_sig) = before[ident], after[ident]
        changes = ["type"] if old_type != new_type else []
        changes += [
            key.lstrip("@")
            for key in sorted(old_sig.keys() | new_sig.keys())
            if old_sig.get(key) != new_sig.get(key)
        ]
        if changes:
            changed.append(DiffEntry(ident, new_type, new_name or old_name, changes))
    return Diff(old=old, new=new, added=added, removed=removed, changed=changed)


def operator_catalogue(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The registered service-task operators with their parameters, for the properties panel."""
    require_design(session, actor)
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "required": sorted(spec.required),
            "optional": sorted(spec.optional),
        }
        for spec in sorted(registry.operators().values(), key=lambda s: s.name)
    ]
