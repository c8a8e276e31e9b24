"""Standard templates, salutations and signatures: creating them and filling in variables.

Templates are Jinja text rendered in a sandbox, so an administrator's template can read the
ticket, customer and agent it is given and nothing else (no attribute walks into Python
internals).  Variables: ``ticket.number``, ``ticket.title``, ``customer.first_name``,
``customer.last_name``, ``customer.email``, ``agent.first_name``, ``agent.last_name``,
``queue.name``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, ValidationError
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission.service import require_admin
from desk.queue.models import Queue
from desk.template.models import TEMPLATE_KINDS, Salutation, Signature, StandardTemplate
from desk.ticket.models import Ticket

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def check_syntax(text: str) -> None:
    """Raise :class:`ValidationError` when ``text`` is not a valid template."""
    try:
        _env.parse(text)
    except TemplateError as exc:
        raise ValidationError("invalid template", errors={"text": [str(exc)]}) from None


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
    return template


def create_salutation(session: Session, *, actor: Actor, name: str, text: str) -> Salutation:
    """Create a salutation (administrators only)."""
    require_admin(session, actor)
    check_syntax(text)
    salutation = Salutation(name=name, text=text)
    session.add(salutation)
    session.flush()
    return salutation


def create_signature(session: Session, *, actor: Actor, name: str, text: str) -> Signature:
    """Create a signature (administrators only)."""
    require_admin(session, actor)
    check_syntax(text)
    signature = Signature(name=name, text=text)
    session.add(signature)
    session.flush()
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
        "queue": {"name": ticket.queue.name},
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
    """Salutation, template text and signature of the ticket's queue, filled in."""
    context = template_context(ticket, agent)
    parts: list[str] = []
    queue = ticket.queue
    if queue.salutation_id:
        salutation = session.get(Salutation, queue.salutation_id)
        if salutation and salutation.valid:
            parts.append(render(salutation.text, context))
    if template is not None:
        parts.append(render(template.text, context))
    if queue.signature_id:
        signature = session.get(Signature, queue.signature_id)
        if signature and signature.valid:
            parts.append(render(signature.text, context))
    return "\n\n".join(p.strip("\n") for p in parts)
