"""Availability, temporary queue memberships and the load per queue (S11).

The web's header switch and team page call these; the periodic job ends the memberships
whose time is up or whose queue's load is gone, so the agents fall back to their own queues
without anybody's help.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import session_scope
from core.jobs import periodic
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission import service as permissions
from desk.queue import service as queues
from desk.queue.models import Queue
from desk.team import service as teams
from desk.team.models import AgentAvailability, TemporaryMembership
from desk.ticket.models import State, Ticket
from engine.models import HumanTask

log = logging.getLogger(__name__)


def set_availability(
    session: Session, *, actor: Actor, agent: Agent, status: str, until: datetime | None = None
) -> AgentAvailability:
    """Switch an agent's availability (the header's switch)."""
    return teams.set_availability(session, actor=actor, agent=agent, status=status, until=until)


def pull_in(
    session: Session,
    *,
    actor: Actor,
    agent: Agent,
    queue: Queue,
    until: datetime | None = None,
    open_below: int | None = None,
) -> TemporaryMembership:
    """Pull ``agent`` into ``queue`` for a while; they see its tasks at once."""
    return teams.pull_in(session, actor=actor, agent=agent, queue=queue, until=until, open_below=open_below)


def end(session: Session, *, actor: Actor, membership: TemporaryMembership) -> bool:
    """End a membership before its time (an administrator)."""
    return teams.end_membership(session, actor=actor, membership=membership, reason="ended by hand")


@dataclass(frozen=True)
class QueueLoad:
    """What a team lead needs to see of one queue."""

    queue: Queue
    open: int
    unclaimed: int
    oldest_waiting: datetime | None
    front_line: int
    background: int
    away: int


def load(session: Session, *, actor: Agent) -> list[QueueLoad]:
    """The load of every queue ``actor`` may read: open tickets, unclaimed tasks, the oldest
    unclaimed task, and the agents with ``rw`` there by availability."""
    readable = [
        q for q in queues.list_queues(session) if permissions.has_queue_permission(session, actor, q, "ro")
    ]
    ids = [q.id for q in readable]
    if not ids:
        return []
    open_counts: dict[int, int] = {
        queue_id: count
        for queue_id, count in session.execute(
            select(Ticket.queue_id, func.count(Ticket.id))
            .join(State, State.id == Ticket.state_id)
            .where(Ticket.queue_id.in_(ids), State.type.in_(teams.OPEN_TYPES))
            .group_by(Ticket.queue_id)
        )
    }
    waiting = {
        queue_id: (count, oldest)
        for queue_id, count, oldest in session.execute(
            select(Ticket.queue_id, func.count(HumanTask.id), func.min(HumanTask.created_at))
            .join(Ticket, Ticket.id == HumanTask.ticket_id)
            .where(Ticket.queue_id.in_(ids), HumanTask.state == "open", HumanTask.claimed_by_id.is_(None))
            .group_by(Ticket.queue_id)
        )
    }
    workers = [
        a for a in session.scalars(select(Agent).order_by(Agent.login)) if a.active and not a.read_only
    ]
    statuses = {a.id: teams.availability_of(session, agent=a)[0] for a in workers}
    result = []
    for queue in readable:
        team = [a for a in workers if permissions.has_queue_permission(session, a, queue, "rw")]
        count, oldest = waiting.get(queue.id, (0, None))
        result.append(
            QueueLoad(
                queue=queue,
                open=int(open_counts.get(queue.id, 0)),
                unclaimed=int(count),
                oldest_waiting=oldest,
                front_line=sum(1 for a in team if statuses[a.id] == "front_line"),
                background=sum(1 for a in team if statuses[a.id] == "background"),
                away=sum(1 for a in team if statuses[a.id] == "away"),
            )
        )
    return result


def expire_memberships_now() -> list[int]:
    """End the memberships that are due, in one transaction; returns their ids."""
    with session_scope() as session:
        ended = teams.expire_memberships(session)
    if ended:
        log.info("temporary queue memberships ended: %s", ended)
    return ended


@periodic(every_seconds=30)
def expire_temporary_memberships() -> None:
    """The periodic job behind :func:`expire_memberships_now` (the first round at start)."""
    expire_memberships_now()
