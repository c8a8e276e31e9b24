"""Text administration pages: standard templates (with files, queues and a live preview),
salutations, signatures, and the per-language variants of every text.  Thin: the services
in ``desk.template`` check the right, validate, change and record the audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, ValidationError
from desk.audit import service as audit
from desk.queue import service as queue_service
from desk.queue.models import Queue
from desk.template import admin as text_admin
from desk.template import service as template_service
from desk.template import variants
from desk.template.models import (
    TEMPLATE_KINDS,
    VARIANT_LANGUAGES,
    AutoResponse,
    Salutation,
    Signature,
    StandardTemplate,
)
from desk.ticket.models import Ticket
from web.admin.forms import admin_actor, checked
from web.admin.lookups import ids, row, row_or_404
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db

# Agents use answer, forward and note templates; the other kinds exist for later channels.
OFFERED_KINDS = ("answer", "forward", "note")
MAX_FILES = 20


def _simple(kind: str, text_id: int) -> Salutation | Signature | None:
    """The salutation or signature ``text_id``."""
    if kind == "salutation":
        return row(Salutation, text_id)
    if kind == "signature":
        return row(Signature, text_id)
    return None


def _queues_by_ids(ids: list[int]) -> list[Queue]:
    session = get_db()
    return list(session.scalars(select(Queue).where(Queue.id.in_(ids)).order_by(Queue.name))) if ids else []


@bp.get("/texts")
@login_required
def texts() -> ResponseReturnValue:
    """Every template, salutation and signature, and the bulk queue assignment."""
    return _overview({}, 200)


def _overview(errors: dict[str, list[str]], status: int) -> ResponseReturnValue:
    session = get_db()
    admin_actor()
    page = render_template(
        "admin/texts/list.html",
        templates=session.scalars(select(StandardTemplate).order_by(StandardTemplate.name)).all(),
        salutations=session.scalars(select(Salutation).order_by(Salutation.name)).all(),
        signatures=session.scalars(select(Signature).order_by(Signature.name)).all(),
        queues=queue_service.list_queues(session),
        errors=errors,
        chosen_templates=set(ids("template_ids")),
        chosen_queues=set(ids("queue_ids")),
    )
    return page, status


@bp.post("/texts/bulk")
@login_required
def texts_bulk() -> ResponseReturnValue:
    """Offer the ticked templates in the chosen queues too."""
    session = get_db()
    actor = admin_actor()
    chosen = list(
        session.scalars(select(StandardTemplate).where(StandardTemplate.id.in_(ids("template_ids"))))
    )
    try:
        with session.begin_nested():
            text_admin.assign_queues(
                session, actor=actor, templates=chosen, queues=_queues_by_ids(ids("queue_ids"))
            )
    except ValidationError as exc:
        return _overview(exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.texts"), code=303)


def _template_form(template: StandardTemplate | None) -> dict[str, Any]:
    if template is None:
        return {"kind": "answer", "valid": "on"}
    return {
        "name": template.name,
        "kind": template.kind,
        "text": template.text,
        "comment": template.comment,
        "valid": "on" if template.valid else "",
    }


def _template_page(
    template: StandardTemplate | None,
    form: dict[str, Any],
    errors: dict[str, list[str]],
    status: int,
    queue_ids: set[int] | None = None,
) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    if queue_ids is None:
        queue_ids = {q.id for q in template.queues} if template else set()
    page = render_template(
        "admin/texts/template.html",
        template=template,
        form=form,
        errors=errors,
        kinds=[k for k in TEMPLATE_KINDS if k in OFFERED_KINDS or (template and template.kind == k)],
        queues=queue_service.list_queues(session),
        chosen_queues=queue_ids,
        tickets=text_admin.recent_tickets(session, actor=actor),
        variables=text_admin.VARIABLES,
        entries=audit.entries_for(session, object_type="template", object_id=template.id) if template else [],
    )
    return page, status


def _files() -> list[tuple[str, str, bytes]]:
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    if len(files) > MAX_FILES:
        raise ValidationError(
            "too many files", errors={"attachments": [_("at most %(n)s files", n=MAX_FILES)]}
        )
    return [(f.filename or "file", f.mimetype or "application/octet-stream", f.read()) for f in files]


def _save_template(original: StandardTemplate | None) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    form = request.form
    queue_ids = ids("queue_ids")
    template = original
    try:
        with session.begin_nested():
            files = _files()
            chosen = _queues_by_ids(queue_ids)
            if template is None:
                template = template_service.create_template(
                    session,
                    actor=actor,
                    name=form.get("name", "")[:200],
                    text=form.get("text", ""),
                    kind=form.get("kind", "answer"),
                    queues=chosen,
                )
            text_admin.update_template(
                session,
                actor=actor,
                template=template,
                name=form.get("name", "")[:200],
                text=form.get("text", ""),
                kind=form.get("kind", "answer"),
                queues=chosen,
                valid=checked("valid"),
                comment=form.get("comment", "")[:10_000],
            )
            for attachment_id in ids("remove_attachment_ids"):
                text_admin.remove_attachment(
                    session, actor=actor, template=template, attachment_id=attachment_id
                )
            for filename, content_type, data in files:
                text_admin.add_attachment(
                    session,
                    actor=actor,
                    template=template,
                    filename=filename,
                    content_type=content_type,
                    data=data,
                )
    except ValidationError as exc:
        return _template_page(original, dict(form), exc.errors, 422, set(queue_ids))
    except Conflict as exc:
        return _template_page(original, dict(form), {"name": [exc.message]}, 422, set(queue_ids))
    flash("admin_saved", "success")
    return redirect(url_for("admin.template_edit", template_id=template.id), code=303)


@bp.route("/texts/templates/new", methods=["GET", "POST"])
@login_required
def template_new() -> ResponseReturnValue:
    """Create a standard template."""
    admin_actor()
    if request.method == "POST":
        return _save_template(None)
    return _template_page(None, _template_form(None), {}, 200)


@bp.route("/texts/templates/<int:template_id>", methods=["GET", "POST"])
@login_required
def template_edit(template_id: int) -> ResponseReturnValue:
    """Edit a template: text, type, queues, files; its audit trail."""
    admin_actor()
    template = row_or_404(StandardTemplate, template_id)
    if request.method == "POST":
        return _save_template(template)
    return _template_page(template, _template_form(template), {}, 200)


@bp.post("/texts/preview")
@login_required
def text_preview() -> ResponseReturnValue:
    """The htmx fragment: the posted text filled in for the chosen ticket."""
    session = get_db()
    actor = admin_actor()
    ticket = row(Ticket, request.form.get("preview_ticket_id"))
    rendered, error = None, None
    if ticket is None:
        error = _("Choose a ticket to preview the text on.")
    else:
        try:
            rendered = text_admin.preview(
                session, actor=actor, text=request.form.get("text", ""), ticket=ticket
            )
        except ValidationError as exc:
            error = "; ".join(m for ms in exc.errors.values() for m in ms) or exc.message
    return render_template("admin/texts/_preview.html", rendered=rendered, error=error, ticket=ticket)


def _simple_page(
    kind: str,
    obj: Salutation | Signature | None,
    form: dict[str, Any],
    errors: dict[str, list[str]],
    status: int,
) -> ResponseReturnValue:
    session = get_db()
    admin_actor()
    page = render_template(
        "admin/texts/simple.html",
        kind=kind,
        obj=obj,
        form=form,
        errors=errors,
        variables=text_admin.VARIABLES,
        entries=audit.entries_for(session, object_type=kind, object_id=obj.id) if obj else [],
    )
    return page, status


@bp.route("/texts/<any(salutation, signature):kind>/new", methods=["GET", "POST"])
@login_required
def simple_text_new(kind: str) -> ResponseReturnValue:
    """Create a salutation or signature."""
    session = get_db()
    actor = admin_actor()
    if request.method == "GET":
        return _simple_page(kind, None, {"valid": "on"}, {}, 200)
    form = request.form
    create = template_service.create_salutation if kind == "salutation" else template_service.create_signature
    try:
        with session.begin_nested():
            obj = create(session, actor=actor, name=form.get("name", "")[:200], text=form.get("text", ""))
    except ValidationError as exc:
        return _simple_page(kind, None, dict(form), exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.simple_text_edit", kind=kind, text_id=obj.id), code=303)


@bp.route("/texts/<any(salutation, signature):kind>/<int:text_id>", methods=["GET", "POST"])
@login_required
def simple_text_edit(kind: str, text_id: int) -> ResponseReturnValue:
    """Edit a salutation or signature; its audit trail."""
    session = get_db()
    actor = admin_actor()
    obj = _simple(kind, text_id)
    if obj is None:
        abort(404)
    if request.method == "GET":
        return _simple_page(
            kind, obj, {"name": obj.name, "text": obj.text, "valid": "on" if obj.valid else ""}, {}, 200
        )
    form = request.form
    try:
        with session.begin_nested():
            text_admin.update_text(
                session,
                actor=actor,
                text_obj=obj,
                name=form.get("name", "")[:200],
                text=form.get("text", ""),
                valid=checked("valid"),
            )
    except ValidationError as exc:
        return _simple_page(kind, obj, dict(form), exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.simple_text_edit", kind=kind, text_id=obj.id), code=303)


def _owner(owner_type: str, owner_id: int) -> tuple[str, str, bool, str]:
    """The text's label, default wording, whether it has a subject, and its page."""
    session = get_db()
    if owner_type == "template":
        template = row(StandardTemplate, owner_id)
        if template is not None:
            return template.name, template.text, False, url_for("admin.template_edit", template_id=owner_id)
    elif owner_type in ("salutation", "signature"):
        obj = _simple(owner_type, owner_id)
        if obj is not None:
            return (
                obj.name,
                obj.text,
                False,
                url_for("admin.simple_text_edit", kind=owner_type, text_id=owner_id),
            )
    elif owner_type == "auto_response":
        response = row(AutoResponse, owner_id)
        if response is not None:
            queue = session.get(Queue, response.queue_id)
            label = f"{queue.name if queue else response.queue_id}: {response.kind}"
            return label, response.text, True, url_for("admin.queue_edit", queue_id=response.queue_id)
    abort(404)


@bp.route(
    "/texts/<any(template, salutation, signature, auto_response):owner_type>/<int:owner_id>/variants",
    methods=["GET", "POST"],
)
@login_required
def text_variants(owner_type: str, owner_id: int) -> ResponseReturnValue:
    """The text in each language (de, ru, hu, en); an empty variant falls back to the default."""
    session = get_db()
    actor = admin_actor()
    label, default, has_subject, back = _owner(owner_type, owner_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            with session.begin_nested():
                for language in VARIANT_LANGUAGES:
                    variants.set_variant(
                        session,
                        actor=actor,
                        owner_type=owner_type,
                        owner_id=owner_id,
                        language=language,
                        text=form.get(f"variant_{language}", ""),
                        subject=form.get(f"variant_{language}_subject") if has_subject else None,
                        label=label,
                    )
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            flash("admin_saved", "success")
            return redirect(
                url_for("admin.text_variants", owner_type=owner_type, owner_id=owner_id), code=303
            )
        values: dict[str, Any] = dict(request.form)
    else:
        values = {}
        for language, variant in variants.variants_of(
            session, owner_type=owner_type, owner_id=owner_id
        ).items():
            values[f"variant_{language}"] = variant.text
            values[f"variant_{language}_subject"] = variant.subject or ""
    page = render_template(
        "admin/texts/variants.html",
        label=label,
        default=default,
        has_subject=has_subject,
        back=back,
        owner_type=owner_type,
        owner_id=owner_id,
        variant_languages=VARIANT_LANGUAGES,
        form=values,
        errors=errors,
        variables=text_admin.VARIABLES,
        entries=audit.entries_for(session, object_type=owner_type, object_id=owner_id),
    )
    return page, status
