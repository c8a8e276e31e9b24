"""Problems and their incidents: reading the links, recording a message and its recipients.

The incidents of a problem are the tickets it is the parent of (``parent_child`` links,
written by :func:`desk.ticket.service.link`).  Writing a message needs ``rw`` on the
problem's queue, checked before anything else; each reporter's mail is written by the
reply path with its own rights (:mod:`flows.problem`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.errors import ValidationError
from desk.actor import Actor
from desk.agent.models import Agent
from desk.article.models import Article
from desk.outbox.models import OutboxMessage
from desk.permission import service as permissions
from desk.problem.models import ProblemMessage, ProblemRecipient
from desk.ticket.models import Ticket, TicketLink

PARENT_CHILD = "parent_child"
MAX_INCIDENTS = 1000


def incidents_of(session: Session, *, actor: Actor, problem: Ticket) -> Sequence[Ticket]:
    """The tickets linked to ``problem`` as its children, oldest first."""
    permissions.require_ticket_read(session, actor, problem)
    return session.scalars(
        select(Ticket)
        .join(TicketLink, TicketLink.target_ticket_id == Ticket.id)
        .where(TicketLink.source_ticket_id == problem.id, TicketLink.kind == PARENT_CHILD)
        .options(selectinload(Ticket.customer_user))
        .order_by(Ticket.id)
        .limit(MAX_INCIDENTS)
    ).all()


def problems_of(session: Session, *, actor: Actor, incident: Ticket) -> Sequence[Ticket]:
    """The problem tickets ``incident`` belongs to."""
    permissions.require_ticket_read(session, actor, incident)
    return session.scalars(
        select(Ticket)
        .join(TicketLink, TicketLink.source_ticket_id == Ticket.id)
        .where(TicketLink.target_ticket_id == incident.id, TicketLink.kind == PARENT_CHILD)
        .order_by(Ticket.id)
    ).all()


def start_message(session: Session, *, actor: Actor, problem: Ticket, body_text: str) -> ProblemMessage:
    """Record a message on ``problem`` before it is sent to the reporters."""
    permissions.require_queue(session, actor, problem.queue, "rw")
    permissions.require_may_contact_customers(actor)
    if not body_text.strip():
        raise ValidationError("empty message", errors={"body": ["write something"]})
    message = ProblemMessage(
        problem_ticket_id=problem.id,
        body_text=body_text,
        created_by_agent_id=actor.id if isinstance(actor, Agent) else None,
    )
    session.add(message)
    session.flush()
    return message


def add_recipient(
    session: Session,
    *,
    message: ProblemMessage,
    ticket: Ticket,
    article: Article | None,
    error: str | None = None,
) -> ProblemRecipient:
    """Note that ``message`` went to ``ticket`` as ``article`` (or why it did not)."""
    row = ProblemRecipient(message=message, ticket_id=ticket.id, article=article, error=error)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Delivery:
    """One reporter of a problem message: the incident, its mail's state and any error."""

    ticket: Ticket
    address: str
    status: str
    error: str | None


def deliveries(
    session: Session, *, actor: Actor, problem: Ticket
) -> list[tuple[ProblemMessage, list[Delivery]]]:
    """Every message of ``problem``, newest first, with the delivery state per reporter.

    The state is the outbox row's (*queued*, *sent*, *failed*), or *not sent* when no mail
    was written for that incident.
    """
    permissions.require_ticket_read(session, actor, problem)
    messages = session.scalars(
        select(ProblemMessage)
        .where(ProblemMessage.problem_ticket_id == problem.id)
        .options(selectinload(ProblemMessage.recipients).selectinload(ProblemRecipient.ticket))
        .order_by(ProblemMessage.id.desc())
    ).all()
    article_ids = [r.article_id for m in messages for r in m.recipients if r.article_id is not None]
    outbox = (
        {
            row.article_id: row
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.article_id.in_(article_ids)))
        }
        if article_ids
        else {}
    )
    result = []
    for message in messages:
        rows = []
        for recipient in message.recipients:
            mail = outbox.get(recipient.article_id) if recipient.article_id is not None else None
            rows.append(
                Delivery(
                    ticket=recipient.ticket,
                    address=mail.to_addr if mail else "",
                    status=mail.status if mail else "not sent",
                    error=recipient.error or (mail.last_error if mail else None),
                )
            )
        result.append((message, rows))
    return result
