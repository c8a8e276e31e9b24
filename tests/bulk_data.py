"""Twenty tickets for the bulk tests: eighteen the secretary may move, two they may only read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.queue import service as queues
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket


@dataclass
class BulkCase:
    """The tickets in list order, which of them are locked-in, and where they should go."""

    tickets: list[Ticket]
    movable: list[Ticket]
    stuck: list[Ticket]
    target: Queue
    archive: Queue


def twenty_tickets(session: Session, *, stuck_at: tuple[int, int] = (6, 13)) -> BulkCase:
    """20 tickets: those at ``stuck_at`` in ``Archive`` (the secretary has ``ro`` there), the
    others in ``Raw``; the target is ``2nd level``, where the secretary may move tickets into."""
    group = agents.create_group(session, actor=SYSTEM, name="archive")
    archive = queues.create_queue(session, actor=SYSTEM, name="Archive", group=group)
    secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
    agents.grant_group(session, actor=SYSTEM, agent=secretary, group=group, permissions=["ro"])
    raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
    target = session.scalars(select(Queue).where(Queue.name == "2nd level")).one()
    made = [
        tickets.create_ticket(
            session, actor=SYSTEM, title=f"Bulk ticket {n:02d}", queue=archive if n in stuck_at else raw
        )
        for n in range(20)
    ]
    session.flush()
    return BulkCase(
        tickets=made,
        movable=[t for n, t in enumerate(made) if n not in stuck_at],
        stuck=[made[n] for n in stuck_at],
        target=target,
        archive=archive,
    )
