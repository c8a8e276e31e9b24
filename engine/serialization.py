"""Workflow ⇄ JSON, with the serializer version stored beside it and migrated on load."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.scripting import TicketflowScriptEngine

_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

SERIALIZER_VERSION: str = _serializer.VERSION


def dumps(workflow: BpmnWorkflow) -> str:
    """The workflow as JSON (definition included, so it runs on without its BPMN file)."""
    return str(_serializer.serialize_json(workflow))


def loads(text: str, engine: TicketflowScriptEngine) -> BpmnWorkflow:
    """Restore a workflow and give it ``engine``.

    ``deserialize_json`` migrates JSON written by older serializer versions.  The script
    engine is not part of the JSON: without setting it here the restored workflow would run
    diagram expressions with SpiffWorkflow's unrestricted default engine.
    """
    workflow: BpmnWorkflow = _serializer.deserialize_json(text)
    workflow.script_engine = engine
    return workflow


def stored_version(text: str) -> Any:
    """The serializer version recorded inside ``text``."""
    return _serializer.get_version(text)
