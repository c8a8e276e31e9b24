"""Workflow ⇄ JSON: the definition stored once per content hash, each instance only its state.

SpiffWorkflow's serializer writes the whole process definition (``spec`` and
``subprocess_specs``) into every workflow's JSON; for ``ticket_handling`` that is most of
the row.  Here the definition is split off: :func:`dumps` writes the state with a
``spec_hash`` (the SHA-256 of the definition's canonical JSON), :func:`store` saves the
definition once per hash in ``process_spec``, and :func:`loads` re-attaches it.  Restored
definitions are cached in-process per hash, so a load neither reads nor parses the spec
JSON again (workflows share spec objects, as they already do when started from the parser).

JSON in the old format (definition inline, rows from before migration 0020) still loads.
The serializer version is stored with the state and with the definition: JSON of an older
version is reassembled and migrated by SpiffWorkflow as a whole.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine import data_stores
from engine.dmn import SafeDMNEngine
from engine.scripting import TicketflowScriptEngine

SPEC_HASH_KEY = "spec_hash"
# Where loads hands restored definitions to the workflow converter (never stored).
_SPECS_KEY = "_ticketflow_specs"
# Restored definitions kept per process; a few versions per process are live at once.
SPEC_CACHE_SIZE = 64


class _SafeBusinessRuleTaskConverter(BusinessRuleTaskConverter):  # type: ignore[misc]
    """Restores a business rule task with :class:`SafeDMNEngine` (SpiffWorkflow's own
    converter would give it the plain engine, which misreads DMN cells)."""

    def from_dict(self, dct: dict[str, Any]) -> Any:
        spec = super().from_dict(dct)
        spec.dmnEngine = SafeDMNEngine(spec.dmnEngine.decision_table)
        return spec


class _StateWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """A top workflow without its definition; restores with definitions handed in."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        # WorkflowConverter's part (tasks, data, root…) plus what BpmnWorkflowConverter adds
        # apart from the two definition keys.
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        specs = dct.pop(_SPECS_KEY, None)
        if specs is None:
            # The old format: the definition is inline.
            return super().from_dict(dct)
        spec, subprocess_specs = specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _registry() -> Any:
    config = {
        **SPIFF_CONFIG,
        BusinessRuleTask: _SafeBusinessRuleTaskConverter,
        BpmnWorkflow: _StateWorkflowConverter,
    }
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(data_stores.ScopedDataStore, data_stores.to_dict, data_stores.from_dict)
    return registry


_serializer = BpmnWorkflowSerializer(_registry())


def registry() -> Any:
    """The serializer's converter registry (SpiffWorkflow's spec diff compares with it)."""
    return _serializer.registry


SERIALIZER_VERSION: str = _serializer.VERSION

_lock = threading.Lock()
# Spec JSON by hash: written by dumps, read by store and by loads (before the row exists).
_spec_texts: OrderedDict[str, str] = OrderedDict()
# (spec, subprocess_specs) restored from JSON per hash, shared by the workflows loaded from it.
# Only restored objects go here, never a started workflow's parser specs: those differ from
# their JSON round trip (sharing them made closing ticket_handling leave it running).
_restored: OrderedDict[str, tuple[Any, dict[str, Any]]] = OrderedDict()
# id(spec object) → (weak reference, ids of the sub-process specs, hash): saves re-serializing
# a definition on every save of every instance running it.
_hash_of_spec: dict[int, tuple[weakref.ref[Any], tuple[int, ...], str]] = {}


def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
    with _lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > SPEC_CACHE_SIZE:
            cache.popitem(last=False)


def spec_text(spec: dict[str, Any], subprocess_specs: dict[str, Any], version: str) -> str:
    """The canonical JSON of a definition (what its hash is taken over); the migration uses it too."""
    body = {"spec": spec, "subprocess_specs": subprocess_specs, "serializer_version": version}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), cls=_serializer._encoder_cls)


def spec_hash(text: str) -> str:
    """The content hash of a definition's canonical JSON."""
    return hashlib.sha256(text.encode()).hexdigest()


def definition_hash(workflow: BpmnWorkflow) -> str:
    """The content hash of the workflow's definition (memoized per definition object)."""
    sub_ids = tuple(id(s) for s in workflow.subprocess_specs.values())
    known = _hash_of_spec.get(id(workflow.spec))
    if known is not None and known[0]() is workflow.spec and known[1] == sub_ids:
        digest = known[2]
        if digest in _spec_texts:
            return digest
    reg = _serializer.registry
    reg._encoder_mode = True
    try:
        text = spec_text(
            reg.convert(workflow.spec),
            {name: reg.convert(s) for name, s in workflow.subprocess_specs.items()},
            SERIALIZER_VERSION,
        )
    finally:
        reg._encoder_mode = False
    digest = spec_hash(text)
    _remember(_spec_texts, digest, text)
    with _lock:
        if len(_hash_of_spec) > 4 * SPEC_CACHE_SIZE:
            _hash_of_spec.clear()
        _hash_of_spec[id(workflow.spec)] = (weakref.ref(workflow.spec), sub_ids, digest)
    return digest


def dumps(workflow: BpmnWorkflow) -> str:
    """The workflow's state as JSON, naming its definition by ``spec_hash``.

    The definition itself is kept in-process until :func:`store` writes it to the database.
    """
    digest = definition_hash(workflow)
    reg = _serializer.registry
    reg._encoder_mode = True
    try:
        dct = reg.convert(workflow)
        dct[SPEC_HASH_KEY] = digest
        dct[_serializer.VERSION_KEY] = SERIALIZER_VERSION
        return json.dumps(dct, cls=_serializer._encoder_cls)
    finally:
        reg._encoder_mode = False


def dumps_full(workflow: BpmnWorkflow) -> str:
    """SpiffWorkflow's own JSON of the workflow, definition inline (the format before 0020)."""
    state = json.loads(dumps(workflow))
    body = json.loads(_spec_texts[state.pop(SPEC_HASH_KEY)])
    state["spec"], state["subprocess_specs"] = body["spec"], body["subprocess_specs"]
    return json.dumps(state)


def hash_of(text: str) -> str | None:
    """The definition hash a stored state names (None for the old, inline format)."""
    try:
        value = json.loads(text).get(SPEC_HASH_KEY)
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def store(session: Session, digest: str) -> None:
    """Make sure the definition ``digest`` (written by :func:`dumps`) is in ``process_spec``."""
    from engine.models import ProcessSpec

    with session.no_autoflush:
        # No autoflush: pending instance rows may already name this definition.
        if session.get(ProcessSpec, digest) is not None:
            return
    text = _spec_texts.get(digest)
    if text is None:
        raise LookupError(f"process definition {digest} is not known in this process")
    bind = session.get_bind()
    statement: Any
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(ProcessSpec).on_conflict_do_nothing(index_elements=["hash"])
    elif bind.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ProcessSpec).on_conflict_do_nothing(index_elements=["hash"])
    else:  # pragma: no cover - the two supported databases are above
        statement = insert(ProcessSpec)
    # Two instances of a new version saved at once insert the same row: the second is a no-op.
    session.execute(statement.values(hash=digest, spec_json=text))


def _restore_specs(digest: str, body: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    reg = _serializer.registry
    spec = reg.restore(body["spec"])
    subs = {name: reg.restore(s) for name, s in body["subprocess_specs"].items()}
    _remember(_restored, digest, (spec, subs))
    return spec, subs


def _spec_text_for(digest: str, session: Session | None) -> str:
    text = _spec_texts.get(digest)
    if text is None and session is not None:
        from engine.models import ProcessSpec

        text = session.scalar(select(ProcessSpec.spec_json).where(ProcessSpec.hash == digest))
        if text is not None:
            _remember(_spec_texts, digest, text)
    if text is None:
        raise LookupError(f"process definition {digest} is missing")
    return text


def loads(text: str, engine: TicketflowScriptEngine, session: Session | None = None) -> BpmnWorkflow:
    """Restore a workflow and give it ``engine``.

    ``session`` reads a definition this process has not seen yet from ``process_spec``.
    JSON written by older serializer versions is migrated.  The script engine is not part
    of the JSON: without setting it here the restored workflow would run diagram expressions
    with SpiffWorkflow's unrestricted default engine.
    """
    dct = json.loads(text, cls=_serializer.json_decoder_cls)
    digest = dct.pop(SPEC_HASH_KEY, None)
    if digest is not None:
        version = dct.get(_serializer.VERSION_KEY)
        restored = _restored.get(digest) if version == SERIALIZER_VERSION else None
        if restored is None:
            body = json.loads(_spec_text_for(digest, session), cls=_serializer.json_decoder_cls)
            if version != SERIALIZER_VERSION or body.get("serializer_version") != SERIALIZER_VERSION:
                # Older JSON: SpiffWorkflow's migrations work on the whole dict.
                dct["spec"], dct["subprocess_specs"] = body["spec"], body["subprocess_specs"]
            else:
                restored = _restore_specs(digest, body)
        if restored is not None:
            dct[_SPECS_KEY] = restored
    _serializer.migrate(dct)
    workflow: BpmnWorkflow = _serializer.from_dict(dct)
    workflow.script_engine = engine
    return workflow


def stored_version(text: str) -> Any:
    """The serializer version recorded inside ``text``."""
    return _serializer.get_version(text)
