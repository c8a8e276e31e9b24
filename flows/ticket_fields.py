"""Plain changes of a ticket that no process reacts to: queue, owner, responsible, priority,
title, lock.  One function per change, so every channel makes it the same way.

Moving needs no event for the process: tasks in the lane "Ticket queue" follow the ticket's
current queue when the inbox is asked.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.db import utcnow
from desk.actor import Actor
from desk.agent.models import Agent
from desk.queue.models import Queue
from desk.services import service as services
from desk.services.models import Service
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from flows import escalation, notifications


def move(session: Session, *, actor: Actor, ticket: Ticket, queue: Queue, comment: str = "") -> None:
    """Move the ticket to ``queue`` (releases its lock)."""
    tickets.move(session, actor=actor, ticket=ticket, queue=queue, comment=comment)


def set_owner(session: Session, *, actor: Actor, ticket: Ticket, owner: Agent) -> None:
    """Make ``owner`` the ticket's owner (who is told in the app, unless it is the actor)."""
    before = ticket.owner_id
    tickets.set_owner(session, actor=actor, ticket=ticket, owner=owner)
    if ticket.owner_id != before:
        notifications.assigned(session, actor=actor, ticket=ticket, agent=owner, role="owner")


def set_responsible(session: Session, *, actor: Actor, ticket: Ticket, responsible: Agent) -> None:
    """Make ``responsible`` responsible for the ticket (told in the app, unless the actor)."""
    before = ticket.responsible_id
    tickets.set_responsible(session, actor=actor, ticket=ticket, responsible=responsible)
    if ticket.responsible_id != before:
        notifications.assigned(session, actor=actor, ticket=ticket, agent=responsible, role="responsible")


def set_priority(session: Session, *, actor: Actor, ticket: Ticket, priority: int) -> None:
    """Change the priority (1–5)."""
    tickets.set_priority(session, actor=actor, ticket=ticket, priority=priority)


def set_service(session: Session, *, actor: Actor, ticket: Ticket, service: Service | None) -> None:
    """Change the ticket's service; its due times follow the service's level at once."""
    before = ticket.service_id
    services.set_for_ticket(session, actor=actor, ticket=ticket, service=service)
    if ticket.service_id != before:
        escalation.refresh(session, ticket_id=ticket.id, now=utcnow())


def set_title(session: Session, *, actor: Actor, ticket: Ticket, title: str) -> None:
    """Change the title."""
    tickets.set_title(session, actor=actor, ticket=ticket, title=title)


def lock(session: Session, *, actor: Actor, ticket: Ticket) -> None:
    """Lock the ticket for the agent (who becomes its owner)."""
    tickets.lock(session, actor=actor, ticket=ticket)


def unlock(session: Session, *, actor: Actor, ticket: Ticket) -> None:
    """Release the ticket's lock, whoever holds it."""
    tickets.unlock(session, actor=actor, ticket=ticket)
