"""Open tasks in bulk for the inbox's query-count and plan tests (issue 16)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import definitions, runtime


def tickets_with_triage(session: Session, count: int, *, queue_name: str = "Raw") -> list[Ticket]:
    """``count`` new tickets in ``queue_name``, each with ticket handling started (a Triage task)."""
    if definitions.latest_version(session, "ticket_handling") is None:
        definitions.deploy_directory(session, actor=SYSTEM)
    queue = session.scalars(select(Queue).where(Queue.name == queue_name)).one()
    made = []
    for n in range(count):
        ticket = tickets.create_ticket(session, actor=SYSTEM, title=f"Inbox load {n}", queue=queue)
        runtime.start(session, actor=SYSTEM, ticket=ticket)
        made.append(ticket)
    session.flush()
    return made
