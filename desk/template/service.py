"""Standard templates, salutations and signatures: creating them and filling in variables.

Templates are Jinja text rendered in a sandbox, so an administrator's template can read the
ticket, customer and agent it is given and nothing else (no attribute walks into Python
internals).  Variables: ``ticket.number``, ``ticket.title``, ``customer.first_name``,
``customer.last_name``, ``customer.email``, ``agent.first_name``, ``agent.last_name``,
``queue.name`` (the internal path), ``queue.display_name`` (the name customers see).
Every text may have per-language variants (:mod:`desk.template.variants`); the customer's
language picks one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import and_, false, literal, select
from sqlalchemy.orm import Session, aliased

from core.errors import Conflict, ValidationError
from desk.actor import Actor
from desk.agent.models import Agent
from desk.article.service import AttachmentDraft
from desk.audit import service as audit
from desk.blob import service as blobs
from desk.permission.service import require_admin
from desk.queue import identity
from desk.queue.models import Queue
from desk.template.models import TEMPLATE_KINDS, Salutation, Signature, StandardTemplate, TextVariant
from desk.ticket.models import Ticket

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def check_syntax(text: str, *, field: str = "text") -> None:
    """Raise :class:`ValidationError` (on ``field``) when ``text`` is not a valid template."""
    try:
        _env.parse(text)
    except TemplateError as exc:
        raise ValidationError("invalid template", errors={field: [str(exc)]}) from None


def create_template(
    session: Session,
    *,
    actor: Actor,
    name: str,
    text: str,
    kind: str = "answer",
    queues: Sequence[Queue] = (),
) -> StandardTemplate:
    """Create a standard template (administrators only)."""
    require_admin(session, actor)
    if kind not in TEMPLATE_KINDS:
        raise ValidationError("invalid template", errors={"kind": [f"must be one of {TEMPLATE_KINDS}"]})
    if not name.strip():
        raise ValidationError("invalid template", errors={"name": ["a template needs a name"]})
    check_syntax(text)
    if session.scalar(select(StandardTemplate.id).where(StandardTemplate.name == name)):
        raise Conflict(f"a template named {name!r} exists already")
    template = StandardTemplate(name=name.strip(), text=text, kind=kind, queues=list(queues))
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="template",
        object_id=template.id,
        action="create",
        object_label=template.name,
        new={"name": template.name, "kind": kind, "text": text, "queues": [q.name for q in queues]},
    )
    return template


def create_salutation(session: Session, *, actor: Actor, name: str, text: str) -> Salutation:
    """Create a salutation (administrators only)."""
    require_admin(session, actor)
    check_syntax(text)
    if not name.strip():
        raise ValidationError("invalid salutation", errors={"name": ["give it a name"]})
    if session.scalar(select(Salutation.id).where(Salutation.name == name.strip())):
        raise ValidationError("invalid salutation", errors={"name": ["this name is taken"]})
    salutation = Salutation(name=name.strip(), text=text)
    session.add(salutation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="salutation",
        object_id=salutation.id,
        action="create",
        object_label=salutation.name,
        new={"name": salutation.name, "text": text},
    )
    return salutation


def create_signature(session: Session, *, actor: Actor, name: str, text: str) -> Signature:
    """Create a signature (administrators only)."""
    require_admin(session, actor)
    check_syntax(text)
    if not name.strip():
        raise ValidationError("invalid signature", errors={"name": ["give it a name"]})
    if session.scalar(select(Signature.id).where(Signature.name == name.strip())):
        raise ValidationError("invalid signature", errors={"name": ["this name is taken"]})
    signature = Signature(name=name.strip(), text=text)
    session.add(signature)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="signature",
        object_id=signature.id,
        action="create",
        object_label=signature.name,
        new={"name": signature.name, "text": text},
    )
    return signature


def templates_for_queue(
    session: Session, *, queue: Queue, kind: str = "answer"
) -> Sequence[StandardTemplate]:
    """The valid templates of ``kind`` assigned to ``queue``."""
    return session.scalars(
        select(StandardTemplate)
        .where(
            StandardTemplate.kind == kind,
            StandardTemplate.valid.is_(True),
            StandardTemplate.queues.any(Queue.id == queue.id),
        )
        .order_by(StandardTemplate.name)
    ).all()


def template_context(ticket: Ticket, agent: Agent | None) -> dict[str, Any]:
    """The variables a template sees for ``ticket`` answered by ``agent``."""
    customer = ticket.customer_user
    return {
        "ticket": {
            "number": ticket.number,
            "title": ticket.title,
            "priority": ticket.priority,
            "state": ticket.state.name,
        },
        "queue": {
            "name": ticket.queue.name,
            "display_name": identity.display_name(ticket.queue) or ticket.queue.name,
        },
        "customer": {
            "first_name": customer.first_name if customer else "",
            "last_name": customer.last_name if customer else "",
            "email": customer.email if customer else "",
        },
        "agent": {
            "first_name": agent.first_name if agent else "",
            "last_name": agent.last_name if agent else "",
            "email": agent.email if agent else "",
        },
    }


def render(text: str, context: dict[str, Any]) -> str:
    """Fill ``text`` with ``context``; an unknown variable is a clear error."""
    try:
        return _env.from_string(text).render(**context)
    except TemplateError as exc:
        raise ValidationError("the template cannot be filled in", errors={"text": [str(exc)]}) from None


def compose_answer(
    session: Session, *, ticket: Ticket, agent: Agent | None, template: StandardTemplate | None
) -> str:
    """Salutation, template text and signature of the ticket's queue, filled in.

    Each in the customer's language when it has a variant in it, else in its default wording.
    """
    context = template_context(ticket, agent)
    language = ticket.customer_user.language if ticket.customer_user else None
    parts: list[str] = []
    salutation, signature, worded = _answer_texts(session, ticket.queue, template, language)

    def wording(owner_type: str, owner_id: int, text: str) -> str:
        variant = worded.get(owner_type)
        return variant.text if variant is not None and variant.owner_id == owner_id else text

    if salutation is not None and salutation.valid:
        parts.append(render(wording("salutation", salutation.id, salutation.text), context))
    if template is not None:
        parts.append(render(wording("template", template.id, template.text), context))
    if signature is not None and signature.valid:
        parts.append(render(wording("signature", signature.id, signature.text), context))
    return "\n\n".join(p.strip("\n") for p in parts)


def _answer_texts(
    session: Session, queue: Queue, template: StandardTemplate | None, language: str | None
) -> tuple[Salutation | None, Signature | None, dict[str, TextVariant]]:
    """The queue's salutation and signature and the variants in ``language`` of those two and
    ``template``, in one statement (the reply form opens with every ticket page)."""
    if not queue.salutation_id and not queue.signature_id and (template is None or not language):
        return None, None, {}
    kinds: dict[str, Any] = {"salutation": Salutation.id, "signature": Signature.id}
    if template is not None:
        kinds["template"] = literal(template.id)
    aliases = {kind: aliased(TextVariant) for kind in kinds}
    query = (
        select(Salutation, Signature, *aliases.values())
        .select_from(Queue)
        .outerjoin(Salutation, Salutation.id == Queue.salutation_id)
        .outerjoin(Signature, Signature.id == Queue.signature_id)
        .where(Queue.id == queue.id)
    )
    for kind, owner_id in kinds.items():
        alias = aliases[kind]
        # No language: no variant (``false()`` rather than ``language IS NULL``).
        on = (
            and_(alias.owner_type == kind, alias.owner_id == owner_id, alias.language == language)
            if language
            else false()
        )
        query = query.outerjoin(alias, on)
    row = session.execute(query.limit(1)).first()
    if row is None:
        return None, None, {}
    salutation, signature, *found = row
    worded = {kind: variant for kind, variant in zip(kinds, found, strict=True) if variant is not None}
    return salutation, signature, worded


def attachment_drafts(session: Session, *, ticket: Ticket, template_id: int) -> list[AttachmentDraft]:
    """The files of template ``template_id`` for an answer to ``ticket``.

    Only a valid template offered in the ticket's queue gives files; any other id is a
    field error (an agent cannot pull files of templates their queue does not offer).
    """
    template = session.get(StandardTemplate, template_id)
    if template is None or not template.valid or ticket.queue not in template.queues:
        raise ValidationError("invalid template", errors={"template": ["choose a template of this queue"]})
    return [
        AttachmentDraft(
            filename=a.filename, content_type=a.content_type, data=blobs.read(session, sha256=a.blob_sha256)
        )
        for a in template.attachments
    ]
