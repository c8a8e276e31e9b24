"""Administering texts: editing templates (files, queues), salutations, signatures, and
the queues' automatic answers.  Administrators only; every change leaves one audit entry.

Creating templates, salutations and signatures is :mod:`desk.template.service`'s.  Nothing
is deleted: a text is switched off (``valid``), a file is only unlinked from a template.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.audit import service as audit
from desk.blob import service as blobs
from desk.permission.service import require_admin
from desk.queue.models import Queue
from desk.template.models import (
    AUTO_RESPONSE_KINDS,
    TEMPLATE_KINDS,
    AutoResponse,
    Salutation,
    Signature,
    StandardAttachment,
    StandardTemplate,
)
from desk.template.service import check_syntax, render, template_context
from desk.ticket.models import Ticket

# The variables every text can use (shown next to the text fields).
VARIABLES = (
    "ticket.number",
    "ticket.title",
    "ticket.state",
    "ticket.priority",
    "queue.name",
    "queue.display_name",
    "customer.first_name",
    "customer.last_name",
    "customer.email",
    "agent.first_name",
    "agent.last_name",
    "agent.email",
)


def _template_snapshot(template: StandardTemplate) -> dict[str, object]:
    return {
        "name": template.name,
        "kind": template.kind,
        "text": template.text,
        "comment": template.comment,
        "valid": template.valid,
        "queues": sorted(q.name for q in template.queues),
        "attachments": sorted(a.filename for a in template.attachments),
    }


def _record_update(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    obj_id: int,
    label: str,
    before: dict[str, object],
    after: dict[str, object],
) -> None:
    old, new = audit.changes(before, after)
    if new:
        audit.record(
            session,
            actor=actor,
            object_type=kind,
            object_id=obj_id,
            action="update",
            object_label=label,
            old=old,
            new=new,
        )


def update_template(
    session: Session,
    *,
    actor: Actor,
    template: StandardTemplate,
    name: str,
    text: str,
    kind: str,
    queues: Sequence[Queue],
    valid: bool = True,
    comment: str = "",
) -> StandardTemplate:
    """Change a template's name, text, type, queues and whether it is offered."""
    require_admin(session, actor)
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["a template needs a name"]
    elif session.scalar(
        select(StandardTemplate.id).where(StandardTemplate.name == name, StandardTemplate.id != template.id)
    ):
        errors["name"] = ["another template has this name"]
    if kind not in TEMPLATE_KINDS:
        errors["kind"] = [FieldMessage(N_("must be one of %(choices)s"), choices=", ".join(TEMPLATE_KINDS))]
    if errors:
        raise ValidationError("invalid template", errors=errors)
    check_syntax(text)
    before = _template_snapshot(template)
    template.name, template.text, template.kind = name, text, kind
    template.valid, template.comment = valid, comment
    template.queues = list(queues)
    session.flush()
    _record_update(
        session,
        actor=actor,
        kind="template",
        obj_id=template.id,
        label=name,
        before=before,
        after=_template_snapshot(template),
    )
    return template


def add_attachment(
    session: Session,
    *,
    actor: Actor,
    template: StandardTemplate,
    filename: str,
    content_type: str,
    data: bytes,
) -> StandardAttachment:
    """Store a file (blob store) and attach it to ``template``."""
    require_admin(session, actor)
    filename = filename.strip().replace("/", "_").replace("\\", "_")[-255:]
    if not filename:
        raise ValidationError("no file", errors={"attachment": ["choose a file"]})
    if not data:
        raise ValidationError("empty file", errors={"attachment": ["the file is empty"]})
    before = _template_snapshot(template)
    # StandardAttachment.name is unique across templates: the file name, numbered when taken.
    name, n = filename[:200], 1
    while session.scalar(select(StandardAttachment.id).where(StandardAttachment.name == name)):
        n += 1
        name = f"{filename[:190]} ({n})"
    attachment = StandardAttachment(
        name=name,
        filename=filename,
        content_type=(content_type or "application/octet-stream")[:255],
        blob_sha256=blobs.store(session, data=data),
    )
    session.add(attachment)
    template.attachments.append(attachment)
    session.flush()
    _record_update(
        session,
        actor=actor,
        kind="template",
        obj_id=template.id,
        label=template.name,
        before=before,
        after=_template_snapshot(template),
    )
    return attachment


def remove_attachment(
    session: Session, *, actor: Actor, template: StandardTemplate, attachment_id: int
) -> None:
    """Unlink a file from ``template`` (the stored bytes stay: blobs are never deleted)."""
    require_admin(session, actor)
    before = _template_snapshot(template)
    template.attachments = [a for a in template.attachments if a.id != attachment_id]
    session.flush()
    _record_update(
        session,
        actor=actor,
        kind="template",
        obj_id=template.id,
        label=template.name,
        before=before,
        after=_template_snapshot(template),
    )


def assign_queues(
    session: Session, *, actor: Actor, templates: Sequence[StandardTemplate], queues: Sequence[Queue]
) -> None:
    """Offer each of ``templates`` in each of ``queues`` too (the bulk action)."""
    require_admin(session, actor)
    if not templates:
        raise ValidationError("nothing chosen", errors={"templates": ["choose at least one template"]})
    if not queues:
        raise ValidationError("nothing chosen", errors={"queues": ["choose at least one queue"]})
    for template in templates:
        before = _template_snapshot(template)
        template.queues = [*template.queues, *(q for q in queues if q not in template.queues)]
        session.flush()
        _record_update(
            session,
            actor=actor,
            kind="template",
            obj_id=template.id,
            label=template.name,
            before=before,
            after=_template_snapshot(template),
        )


def update_text(
    session: Session,
    *,
    actor: Actor,
    text_obj: Salutation | Signature,
    name: str,
    text: str,
    valid: bool = True,
) -> Salutation | Signature:
    """Change a salutation or signature."""
    require_admin(session, actor)
    kind = "salutation" if isinstance(text_obj, Salutation) else "signature"
    model = type(text_obj)
    invalid = N_("invalid salutation") if kind == "salutation" else N_("invalid signature")
    name = name.strip()
    if not name:
        raise ValidationError(invalid, errors={"name": [N_("give it a name")]})
    if session.scalar(select(model.id).where(model.name == name, model.id != text_obj.id)):
        raise ValidationError(invalid, errors={"name": [N_("this name is taken")]})
    check_syntax(text)
    before = {"name": text_obj.name, "text": text_obj.text, "valid": text_obj.valid}
    text_obj.name, text_obj.text, text_obj.valid = name, text, valid
    session.flush()
    _record_update(
        session,
        actor=actor,
        kind=kind,
        obj_id=text_obj.id,
        label=name,
        before=before,
        after={"name": name, "text": text, "valid": valid},
    )
    return text_obj


def auto_response(session: Session, *, queue: Queue, kind: str) -> AutoResponse | None:
    """The queue's automatic answer of ``kind`` (valid or not)."""
    return session.scalar(
        select(AutoResponse).where(AutoResponse.queue_id == queue.id, AutoResponse.kind == kind)
    )


def save_auto_response(
    session: Session, *, actor: Actor, queue: Queue, kind: str, subject: str, text: str, valid: bool = True
) -> AutoResponse:
    """Create or change the queue's automatic answer of ``kind`` (new ticket, follow-up, reject)."""
    require_admin(session, actor)
    if kind not in AUTO_RESPONSE_KINDS:
        raise ValidationError(
            N_("invalid kind"),
            errors={
                "kind": [
                    FieldMessage(N_("must be one of %(choices)s"), choices=", ".join(AUTO_RESPONSE_KINDS))
                ]
            },
        )
    errors: dict[str, list[str]] = {}
    if not subject.strip():
        errors[f"{kind}_subject"] = ["an automatic answer needs a subject"]
    if not text.strip():
        errors[f"{kind}_text"] = ["an automatic answer needs a text"]
    if errors:
        raise ValidationError("invalid automatic answer", errors=errors)
    check_syntax(subject, field=f"{kind}_subject")
    check_syntax(text, field=f"{kind}_text")
    response = auto_response(session, queue=queue, kind=kind)
    label = f"{queue.name}: {kind}"
    if response is None:
        response = AutoResponse(queue_id=queue.id, kind=kind, subject=subject, text=text, valid=valid)
        session.add(response)
        session.flush()
        audit.record(
            session,
            actor=actor,
            object_type="auto_response",
            object_id=response.id,
            action="create",
            object_label=label,
            new={"subject": subject, "text": text, "valid": valid},
        )
        return response
    before = {"subject": response.subject, "text": response.text, "valid": response.valid}
    response.subject, response.text, response.valid = subject, text, valid
    session.flush()
    _record_update(
        session,
        actor=actor,
        kind="auto_response",
        obj_id=response.id,
        label=label,
        before=before,
        after={"subject": subject, "text": text, "valid": valid},
    )
    return response


def preview(session: Session, *, actor: Actor, text: str, ticket: Ticket) -> str:
    """``text`` filled in for ``ticket`` (as the signed-in agent would answer it).

    The same sandboxed renderer the answers use; a syntax error or an unknown variable is
    a :class:`ValidationError` on ``text``.
    """
    require_admin(session, actor)
    check_syntax(text)
    agent = actor if isinstance(actor, Agent) else None
    return render(text, template_context(ticket, agent))


def recent_tickets(session: Session, *, actor: Actor, limit: int = 50) -> Sequence[Ticket]:
    """The newest tickets, to preview a text on."""
    require_admin(session, actor)
    return session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(limit)).all()
