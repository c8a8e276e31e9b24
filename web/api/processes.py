"""Process definitions: list versions, read a version's BPMN, validate and deploy documents.

Validating and deploying need the designer right (``rw`` on the admin or designer group,
:func:`engine.definitions.require_designer`); the engine validates every document
completely before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response

from engine import definitions
from engine.errors import ProcessValidationError
from engine.models import ProcessVersion
from engine.parser import parse_document
from web.api.common import current_agent, db, get_or_404
from web.api.schemas import BpmnSchema, ProcessQuerySchema, ProcessVersionSchema, ValidationResultSchema
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("processes", url_prefix="/api/v1/processes", description="Process definitions (BPMN)")


@bp.route("", methods=["GET"])
@bp.arguments(ProcessQuerySchema, location="query")
@bp.response(200, ProcessVersionSchema(many=True))
def list_versions(args: dict[str, Any]) -> Sequence[ProcessVersion]:
    """Every deployed version (of one process), newest first."""
    return definitions.list_versions(db(), args.get("process_id"))


@bp.route("/versions/<int:version_id>", methods=["GET"])
@bp.response(200, ProcessVersionSchema)
def get_version(version_id: int) -> ProcessVersion:
    """One deployed version."""
    return get_or_404(ProcessVersion, version_id, "process version")


@bp.route("/versions/<int:version_id>/bpmn", methods=["GET"])
@bp.response(200, content_type="application/xml", description="the BPMN 2.0 document")
def get_bpmn(version_id: int) -> Response:
    """The BPMN document of a deployed version."""
    version = get_or_404(ProcessVersion, version_id, "process version")
    return Response(version.bpmn_xml, mimetype="application/xml")


@bp.route("/validate", methods=["POST"])
@bp.arguments(BpmnSchema)
@bp.response(200, ValidationResultSchema)
def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Check a document as a deploy would, without storing it."""
    session = db()
    definitions.require_designer(session, current_agent())
    deployed = {v.process_id for v in definitions.list_versions(session)}
    try:
        parsed = parse_document(
            data["bpmn_xml"], forms=data["forms"], known_processes=deployed, decisions=data["decisions"]
        )
    except ProcessValidationError as exc:
        return {"valid": False, "process_ids": [], "problems": exc.problems}
    return {"valid": True, "process_ids": parsed.process_ids, "problems": []}


@bp.route("/deploy", methods=["POST"])
@bp.arguments(BpmnSchema)
@bp.response(201, ProcessVersionSchema(many=True))
@bp.alt_response(200, schema=ProcessVersionSchema(many=True), description="Identical content: unchanged")
def deploy(data: dict[str, Any]) -> Any:
    """Validate and deploy a document: one (new or unchanged) version per process in it.

    201 when a new version was stored; 200 when every process was deployed with this exact
    content already (nothing changed, the versions are the existing ones).
    """
    # Decision tables are stored beside the forms, by file name (engine.parser.split_files).
    outcome = definitions.deploy_with_outcome(
        db(), actor=current_agent(), bpmn_xml=data["bpmn_xml"], forms={**data["forms"], **data["decisions"]}
    )
    versions = [version for version, _created in outcome]
    if not any(created for _version, created in outcome):
        return versions, 200
    return versions
