"""Designer views: thin; every rule is in :mod:`flows.process_design`.

The pages are HTML; the modeler talks to the JSON endpoints (``/designer/validate``,
``…/draft``, ``…/deploy``) with the page's CSRF token in ``X-CSRFToken``.  A refused
designer right is the 403 page (or a 403 body for JSON), checked before the input is read.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import NotFound, ValidationError, translate
from core.i18n import N_
from desk.agent.models import Agent
from flows import process_design
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.i18n import translate_form
from web.tickets import taskforms
from web.tickets.views import TaskView

bp = Blueprint("designer", __name__, url_prefix="/designer")

# A diagram larger than this is no diagram a person draws (the request limit is larger).
MAX_BPMN_CHARS = 5_000_000


def designer_link() -> dict[str, object]:
    """``may_design()`` for the header link."""

    def may_design() -> bool:
        return process_design.may_design(get_db(), current_agent())

    return {"may_design": may_design}


def _actor() -> Agent:
    # The right comes first: a refusal is a 403 whatever the input.
    agent = current_agent()
    process_design.require_design(get_db(), agent)
    return agent


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(N_("a JSON object is expected"), errors={"body": ["a JSON object is expected"]})
    return body


def _bpmn(body: dict[str, Any]) -> str:
    xml = body.get("bpmn_xml")
    if not isinstance(xml, str) or not xml.strip():
        raise ValidationError(N_("the diagram is missing"), errors={"bpmn_xml": ["the diagram is missing"]})
    if len(xml) > MAX_BPMN_CHARS:
        raise ValidationError(
            N_("the diagram is too large"), errors={"bpmn_xml": ["the diagram is too large"]}
        )
    return xml


def _json_error(exc: ValidationError) -> ResponseReturnValue:
    return jsonify(
        {"code": exc.code, "message": exc.translated(gettext), "errors": exc.translated_errors(gettext)}
    ), 422


def _int_arg(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit() or len(value) > 12:
        raise NotFound(N_("process version %(id)s not found"), id=value[:20])
    return int(value)


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """The list of processes: name, newest version, who and when, running instances."""
    agent = _actor()
    return render_template("designer/index.html", processes=process_design.list_processes(get_db(), agent))


@bp.post("/upload")
@login_required
def upload() -> ResponseReturnValue:
    """Upload a ``.bpmn`` file, or a zipped process-model folder (diagrams, JSON forms, DMN
    decisions): a draft of each of its processes; open the first."""
    agent = _actor()
    file = request.files.get("file")
    data = file.read(MAX_BPMN_CHARS + 1) if file is not None else b""
    try:
        if not data or len(data) > MAX_BPMN_CHARS:
            raise ValidationError(N_("choose a .bpmn file"), errors={"file": ["choose a .bpmn file"]})
        if file is not None and (file.filename or "").lower().endswith(".zip"):
            process_ids = process_design.import_archive(get_db(), agent, data=data)
        else:
            process_ids = process_design.import_document(get_db(), agent, bpmn_xml=data.decode("utf-8"))
    except (ValidationError, UnicodeDecodeError) as exc:
        message = exc.translated(gettext) if isinstance(exc, ValidationError) else gettext("not UTF-8 text")
        if isinstance(exc, ValidationError) and exc.errors.get("file"):
            # Which file of an archive and why: the detail the designer needs to fix it.
            message = f"{message}: {'; '.join(exc.errors['file'])}"
        page = render_template(
            "designer/index.html",
            processes=process_design.list_processes(get_db(), agent),
            upload_error=message,
        )
        return page, 422
    return redirect(url_for("designer.edit", process_id=process_ids[0]))


@bp.get("/operators.json")
@login_required
def operators() -> ResponseReturnValue:
    """The registered service-task operators and their parameters."""
    agent = _actor()
    return jsonify(process_design.operator_catalogue(get_db(), agent))


@bp.get("/forms.json")
@login_required
def forms() -> ResponseReturnValue:
    """The form file names a user task may name."""
    _actor()
    return jsonify(sorted(process_design.available_forms(get_db())))


@bp.get("/processes/<process_id>")
@login_required
def edit(process_id: str) -> ResponseReturnValue:
    """The modeler with the process's draft (or newest version)."""
    agent = _actor()
    session = get_db()
    _xml, source = process_design.current_xml(session, agent, process_id)
    draft = process_design.get_draft(session, agent, process_id)
    versions = process_design.list_versions(session, agent, process_id)
    return render_template(
        "designer/edit.html", process_id=process_id, source=source, draft=draft, versions=versions
    )


@bp.get("/processes/<process_id>/diagram.bpmn")
@login_required
def diagram(process_id: str) -> ResponseReturnValue:
    """The BPMN the modeler opens (draft or newest), or a version's (``?version=``)."""
    agent = _actor()
    session = get_db()
    if "version" in request.args:
        version = process_design.get_version(session, agent, _int_arg("version"))
        if version.process_id != process_id:
            raise NotFound(N_("process version %(id)s not found"), id=version.id)
        xml, name = version.bpmn_xml, f"{process_id}-v{version.version}.bpmn"
    else:
        xml, _source = process_design.current_xml(session, agent, process_id)
        name = f"{process_id}.bpmn"
    response = Response(xml, mimetype="application/xml")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/processes/<process_id>/draft")
@login_required
def save_draft(process_id: str) -> ResponseReturnValue:
    """Save the modeler's diagram as the process's draft."""
    agent = _actor()
    try:
        body = _json_body()
        draft = process_design.save_draft(
            get_db(), agent, process_id=process_id, bpmn_xml=_bpmn(body), forms=body.get("forms")
        )
    except ValidationError as exc:
        return _json_error(exc)
    return jsonify({"process_id": draft.process_id, "updated_at": draft.updated_at.isoformat()})


@bp.post("/validate")
@login_required
def validate() -> ResponseReturnValue:
    """The server's validation of a diagram: every problem with the element ids it names."""
    agent = _actor()
    try:
        body = _json_body()
        problems = process_design.validate(get_db(), agent, bpmn_xml=_bpmn(body), forms=body.get("forms"))
    except ValidationError as exc:
        return _json_error(exc)
    return jsonify(
        {
            "valid": not problems,
            "problems": [
                {"message": translate(p.message, gettext), "element_ids": p.element_ids} for p in problems
            ],
        }
    )


@bp.post("/processes/<process_id>/deploy")
@login_required
def deploy(process_id: str) -> ResponseReturnValue:
    """Deploy the diagram with a change note: 201 new version(s), 200 unchanged."""
    agent = _actor()
    process_design.check_process_id(process_id)
    try:
        body = _json_body()
        note = body.get("note")
        outcome = process_design.deploy(
            get_db(),
            agent,
            bpmn_xml=_bpmn(body),
            note=note if isinstance(note, str) else "",
            forms=body.get("forms"),
        )
    except ValidationError as exc:
        if not getattr(exc, "problems", None):
            return _json_error(exc)
        # The deploy's own problems, tied to the elements they name for the modeler.
        problems = process_design.validate(get_db(), agent, bpmn_xml=_bpmn(body), forms=body.get("forms"))
        return jsonify(
            {
                "code": exc.code,
                "message": exc.translated(gettext),
                "errors": exc.translated_errors(gettext),
                "problems": [
                    {"message": translate(p.message, gettext), "element_ids": p.element_ids} for p in problems
                ],
            }
        ), 422
    created = any(new for _version, new in outcome)
    result = {
        "unchanged": not created,
        "versions": [
            {"id": v.id, "process_id": v.process_id, "version": v.version, "created": new}
            for v, new in outcome
        ],
    }
    return jsonify(result), 201 if created else 200


@bp.get("/processes/<process_id>/versions")
@login_required
def versions(process_id: str) -> ResponseReturnValue:
    """Every version with who, when, note and running instances; diff and roll back."""
    agent = _actor()
    rows = process_design.list_versions(get_db(), agent, process_id)
    if not rows:
        raise NotFound(N_("process %(process_id)s not found"), process_id=process_id)
    return render_template("designer/versions.html", process_id=process_id, versions=rows)


@bp.get("/processes/<process_id>/diff")
@login_required
def diff(process_id: str) -> ResponseReturnValue:
    """The semantic diff between versions ``a`` (older) and ``b`` (newer)."""
    agent = _actor()
    result = process_design.diff(get_db(), agent, old_id=_int_arg("a"), new_id=_int_arg("b"))
    if result.old.process_id != process_id:
        raise NotFound(N_("process version %(id)s not found"), id=result.old.id)
    if request.args.get("format") == "json":
        return jsonify(
            {
                kind: [{"id": e.id, "type": e.type, "name": e.name, "changes": e.changes} for e in entries]
                for kind, entries in (
                    ("added", result.added),
                    ("removed", result.removed),
                    ("changed", result.changed),
                )
            }
        )
    return render_template("designer/diff.html", process_id=process_id, diff=result)


@bp.post("/processes/<process_id>/rollback")
@login_required
def rollback(process_id: str) -> ResponseReturnValue:
    """Deploy an older version's content as the newest version, with a note."""
    agent = _actor()
    session = get_db()
    value = request.form.get("version_id", "")
    try:
        if not value.isdigit() or len(value) > 12:
            raise ValidationError(N_("choose a version"), errors={"version_id": ["choose a version"]})
        old = process_design.get_version(session, agent, int(value))
        if old.process_id != process_id:
            raise NotFound(N_("process version %(id)s not found"), id=old.id)
        process_design.rollback(session, agent, version_id=old.id, note=request.form.get("note", ""))
    except ValidationError as exc:
        page = render_template(
            "designer/versions.html",
            process_id=process_id,
            versions=process_design.list_versions(session, agent, process_id),
            rollback_error=exc.translated(gettext),
        )
        return page, 422
    return redirect(url_for("designer.versions", process_id=process_id))


@bp.get("/processes/<process_id>/forms/<name>")
@login_required
def form(process_id: str, name: str) -> ResponseReturnValue:
    """One form (JSON Schema or UI schema) by file name: the draft's edit, else the deployed."""
    agent = _actor()
    return jsonify(process_design.form_schema(get_db(), agent, process_id=process_id, name=name))


@bp.get("/processes/<process_id>/decisions/<decision_id>")
@login_required
def decision(process_id: str, decision_id: str) -> ResponseReturnValue:
    """The DMN file defining a decision, for the decision table editor."""
    agent = _actor()
    name, xml = process_design.decision_file(get_db(), agent, process_id=process_id, decision_id=decision_id)
    return jsonify({"name": name, "xml": xml})


@bp.post("/form-preview")
@login_required
def form_preview() -> ResponseReturnValue:
    """A user task's form rendered by the ticket page's own task template, for the editor."""
    agent = _actor()
    try:
        body = _json_body()
        forms = process_design.check_forms({"preview.json": body.get("schema")})
    except ValidationError as exc:
        return _json_error(exc)
    schema = translate_form(forms["preview.json"]) or {}
    given = body.get("name")
    name = given if isinstance(given, str) else ""
    # A task that does not exist (id 0) on no ticket: the preview's form cannot be sent.
    task = SimpleNamespace(id=0, name=name[:255] or gettext("Preview"))
    ticket = SimpleNamespace(id=0, queue=SimpleNamespace(time_accounting="off"))
    item = TaskView(
        task=task,  # type: ignore[arg-type]
        fields=taskforms.fields_of(schema, capabilities=taskforms.capabilities_of(agent)),
        form_title=str(schema.get("title", "")),
        form_description=str(schema.get("description", "")),
        may_work=True,
        claimed_by=agent,
        claimed_by_other=False,
    )
    return render_template("designer/_form_preview.html", item=item, ticket=ticket)
