"""Deploying BPMN documents as process versions, and building specs to run them.

A deploy validates the whole document (:mod:`engine.parser`) and stores one
:class:`ProcessVersion` per process in it.  Deploying identical content again changes
nothing.  New instances start on the newest version; running ones keep the definition they
started with, because the serialized workflow carries it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, event, func, select
from sqlalchemy.orm import Session, defer

from core.errors import FieldMessage, NotFound, PermissionDenied
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission import service as permissions
from engine.errors import ProcessValidationError
from engine.models import ProcessVersion
from engine.parser import (
    DECISION_SUFFIX,
    TicketflowParser,
    UnreadableFile,
    call_cycle_problem,
    content_hash,
    find_call_cycle,
    load_xml,
    normalize,
    parse_document,
    split_files,
)

DESIGNER_GROUP = "designer"
DEFAULT_BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


def require_designer(session: Session, actor: Actor) -> None:
    """Deploying needs ``rw`` on the admin or the designer group."""
    if permissions.is_admin(session, actor):
        return
    if (
        isinstance(actor, Agent)
        and not actor.read_only
        and "rw" in permissions.permissions_on_group_named(session, actor, DESIGNER_GROUP)
    ):
        return
    raise PermissionDenied("deploying processes needs rw on the admin or designer group")


# session.info key: process id → its newest version, for the current transaction (held here,
# as the session's identity map holds its objects only weakly).
_LATEST_KEY = "engine.latest_versions"


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    """The newest version of ``process_id``.

    Starting a ticket's process asks this for the queue's process, the default, the process
    itself and every process it calls; the first question of a transaction loads the newest
    version of every process in one statement (a help desk has tens of processes; their XML
    is left in the database until a spec has to be parsed), the others are answered from
    that.  A version flushed in the session, and the end of the transaction, drop the memo.
    """
    memo: dict[str, ProcessVersion] | None = session.info.get(_LATEST_KEY)
    if memo is not None and any(version not in session for version in memo.values()):
        memo = None  # expunged meanwhile: ask again
    if memo is None:
        newest = (
            select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
            .group_by(ProcessVersion.process_id)
            .subquery()
        )
        rows = session.scalars(
            select(ProcessVersion)
            .join(
                newest,
                and_(
                    ProcessVersion.process_id == newest.c.process_id,
                    ProcessVersion.version == newest.c.version,
                ),
            )
            .options(defer(ProcessVersion.bpmn_xml))
        ).all()
        memo = {version.process_id: version for version in rows}
        session.info[_LATEST_KEY] = memo
    return memo.get(process_id)


@event.listens_for(Session, "after_flush")
def _forget_on_new_versions(session: Session, _context: Any) -> None:
    if _LATEST_KEY in session.info and any(
        isinstance(obj, ProcessVersion) for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        del session.info[_LATEST_KEY]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, _transaction: Any) -> None:
    # Commit or rollback (of a savepoint, too): a version deployed meanwhile counts again.
    session.info.pop(_LATEST_KEY, None)


def list_versions(session: Session, process_id: str | None = None) -> Sequence[ProcessVersion]:
    """Every version (of one process), newest first."""
    query = select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
    if process_id is not None:
        query = query.where(ProcessVersion.process_id == process_id)
    return session.scalars(query).all()


def deploy(
    session: Session,
    *,
    actor: Actor,
    bpmn_xml: str,
    forms: Mapping[str, Any] | None = None,
    known_processes: Sequence[str] = (),
) -> list[ProcessVersion]:
    """Validate and store every process of ``bpmn_xml``; return their (new or same) versions."""
    outcome = deploy_with_outcome(
        session, actor=actor, bpmn_xml=bpmn_xml, forms=forms, known_processes=known_processes
    )
    return [version for version, _created in outcome]


def deploy_with_outcome(
    session: Session,
    *,
    actor: Actor,
    bpmn_xml: str,
    forms: Mapping[str, Any] | None = None,
    known_processes: Sequence[str] = (),
    note: str = "",
) -> list[tuple[ProcessVersion, bool]]:
    """Like :func:`deploy`, with whether each version is new (False: identical content).

    ``note`` is the change note stored on each new version (the designer requires one).
    """
    require_designer(session, actor)
    forms = dict(forms or {})
    deployed = set(session.scalars(select(ProcessVersion.process_id).distinct()))
    parsed = parse_document(bpmn_xml, forms=forms, known_processes={*deployed, *known_processes})
    # Call activities across documents: the newest versions are what a start resolves.
    graph = {v.process_id: list(v.calls) for v in reversed(list_versions(session))}
    graph.update(parsed.calls)
    cycle = find_call_cycle(graph, start=parsed.process_ids)
    if cycle:
        raise ProcessValidationError([call_cycle_problem(cycle)])
    used_forms = {name: forms[name] for name in sorted(parsed.forms_used | parsed.decisions_used)}
    # Only what is stored counts: a change to another document's form is no new version.
    digest = content_hash(bpmn_xml, used_forms)
    result: list[tuple[ProcessVersion, bool]] = []
    for process_id in parsed.process_ids:
        latest = latest_version(session, process_id)
        if latest is not None and latest.content_hash == digest:
            result.append((latest, False))
            continue
        version = ProcessVersion(
            process_id=process_id,
            name=parsed.names.get(process_id, process_id),
            version=(latest.version + 1) if latest else 1,
            bpmn_xml=bpmn_xml,
            forms=used_forms,
            calls=parsed.calls.get(process_id, []),
            content_hash=digest,
            deployed_by_id=actor.id if isinstance(actor, Agent) else None,
            note=note,
        )
        session.add(version)
        session.flush()
        result.append((version, True))
    return result


def read_forms(directory: Path) -> dict[str, Any]:
    """Every ``*.json`` form and ``*.dmn`` decision table in ``directory`` by file name.

    A file that cannot be read (not UTF-8, not JSON) becomes an :class:`UnreadableFile`:
    only if the diagram uses it is that a problem (named by the validation), so a stray
    broken file beside a diagram does not stop its deploy.
    """
    files: dict[str, Any] = {}
    if directory.is_dir():
        for path in sorted([*directory.glob("*.json"), *directory.glob(f"*{DECISION_SUFFIX}")]):
            try:
                text = path.read_text(encoding="utf-8")
                files[path.name] = text if path.suffix == DECISION_SUFFIX else json.loads(text)
            except UnicodeDecodeError:
                files[path.name] = UnreadableFile("not a UTF-8 text file")
            except ValueError as exc:
                files[path.name] = UnreadableFile(f"not valid JSON: {exc}")
            except OSError as exc:
                files[path.name] = UnreadableFile(f"cannot be read: {exc.strerror}")
    return files


def deploy_directory(
    session: Session, *, actor: Actor, directory: Path = DEFAULT_BPMN_DIR, only_missing: bool = False
) -> list[ProcessVersion]:
    """Deploy every ``*.bpmn`` of ``directory`` with the forms in ``directory/forms``.

    ``only_missing`` skips a document whose processes are all deployed already, whatever
    their content: the shipped processes (``seed demo``, ``process deploy`` without files)
    must never revert a version a designer deployed since.
    """
    forms = {**read_forms(directory), **read_forms(directory / "forms")}
    documents = {path: path.read_text() for path in sorted(directory.glob("*.bpmn"))}
    # Call activities may point at processes of other files in the same folder.
    known: set[str] = set()
    ids_of: dict[Path, set[str]] = {}
    for path, text in documents.items():
        root = load_xml(text)
        ids_of[path] = {p.get("id", "") for p in root.iter("{*}process")}
        known.update(ids_of[path])
    deployed = set(session.scalars(select(ProcessVersion.process_id).distinct()))
    result: list[ProcessVersion] = []
    for path, text in documents.items():
        if only_missing and ids_of[path] <= deployed:
            result.extend(v for pid in sorted(ids_of[path]) if (v := latest_version(session, pid)))
            continue
        try:
            result.extend(
                deploy(session, actor=actor, bpmn_xml=text, forms=forms, known_processes=sorted(known))
            )
        except ProcessValidationError as exc:
            raise ProcessValidationError(
                [FieldMessage(N_("%(file)s: %(problem)s"), file=path.name, problem=p) for p in exc.problems]
            ) from None
    return result


@dataclass(frozen=True)
class RunnableSpecs:
    """What a new workflow needs: its spec, the specs it calls, and all their forms."""

    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, Any]


_spec_cache: dict[tuple[str, ...], RunnableSpecs] = {}


def runnable(session: Session, version: ProcessVersion) -> RunnableSpecs:
    """Specs for ``version`` with the newest version of every process it calls."""
    documents: dict[str, ProcessVersion] = {version.content_hash: version}
    pending = list(version.calls)
    seen = {version.process_id}
    while pending:
        callee = pending.pop()
        if callee in seen:
            continue
        seen.add(callee)
        callee_version = latest_version(session, callee)
        if callee_version is None:
            raise NotFound(
                N_("process %(callee)s called by %(process)s is not deployed"),
                callee=callee,
                process=version.process_id,
            )
        documents.setdefault(callee_version.content_hash, callee_version)
        pending.extend(callee_version.calls)
    key = (version.process_id, *sorted(documents))
    cached = _spec_cache.get(key)
    if cached is None:
        parser = TicketflowParser()
        forms: dict[str, Any] = {}
        for doc in documents.values():
            doc_forms, decisions = split_files(doc.forms)
            for name, xml in sorted(decisions.items()):
                parser.add_dmn_xml(load_xml(xml), filename=name)
            parser.add_bpmn_xml(normalize(load_xml(doc.bpmn_xml)), f"{doc.process_id}-v{doc.version}.bpmn")
            forms.update(doc_forms)
        cached = RunnableSpecs(
            spec=parser.get_spec(version.process_id),
            subprocess_specs=parser.get_subprocess_specs(version.process_id),
            forms=forms,
        )
        if len(_spec_cache) > 256:
            _spec_cache.clear()
        _spec_cache[key] = cached
    return cached


def version_count(session: Session) -> int:
    """How many process versions are deployed."""
    return int(session.scalar(select(func.count()).select_from(ProcessVersion)) or 0)
