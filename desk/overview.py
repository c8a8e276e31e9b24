"""The figures of the admin dashboard that the help-desk domain knows (administrators only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.agent.models import Agent
from desk.outbox.models import OutboxMessage
from desk.permission.service import require_admin
from desk.queue.models import Queue
from desk.ticket.models import State, Ticket


@dataclass(frozen=True)
class DeskCounts:
    """Active agents, active queues, tickets not closed or merged, outbox mail that failed."""

    agents: int
    queues: int
    open_tickets: int
    outbox_failures: int


def counts(session: Session, *, actor: Actor) -> DeskCounts:
    """The domain's dashboard figures."""
    require_admin(session, actor)

    def count(query: Select[Any]) -> int:
        return int(session.scalar(query) or 0)

    return DeskCounts(
        agents=count(select(func.count()).select_from(Agent).where(Agent.active.is_(True))),
        queues=count(select(func.count()).select_from(Queue).where(Queue.valid.is_(True))),
        open_tickets=count(
            select(func.count())
            .select_from(Ticket)
            .join(State, State.id == Ticket.state_id)
            .where(State.type.not_in(("closed", "merged")))
        ),
        outbox_failures=count(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
        ),
    )
