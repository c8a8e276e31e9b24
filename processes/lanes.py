"""Who a user task is for: lane names and task properties turned into candidates.

In order, the first rule that applies decides:

1. property ``candidateAgentVariable``: the task-data variable holding an agent id (e.g.
   ``worker_agent_id``, "back to the agent who asked") — when that variable is set;
2. property ``candidateRole`` or ``candidateQueue``: a role name or a queue path;
3. the lane name: ``Ticket queue`` (or no lane) means the ticket's current queue, following
   the ticket when it is moved; a lane named like a role (``Consultant``) means that role's
   members; a lane named like a queue path (``Board::Treasurer``) means that queue's agents.

Property ``excludedAgentVariable`` names the variable of an agent who may not do the task
(the four-eyes rule of an authorization).  Queue candidates are the agents with ``rw`` on
the queue's group.

Every candidate must be able to read the ticket: an agent named through
``candidateAgentVariable`` who cannot (no ``ro`` on the ticket's queue), or who cannot work on
tasks at all (an observer, a deactivated agent), is refused with a :class:`ValidationError`
listing the agents who could (those the other rules would pick and who may read the
ticket).  So is an agent who is away (S11, :mod:`desk.team`): away agents get no new
tasks and are not listed among those who could.  The task is built while the step that
named the agent completes, so that completion fails and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from desk.agent.models import Agent, Role
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.team import service as teams
from desk.ticket.models import Ticket
from engine.registry import Candidates, set_lane_resolver

log = logging.getLogger(__name__)

TICKET_QUEUE_LANES = {"", "ticket queue", "queue", "ticket"}


def _agent_from(data: Mapping[str, Any], variable: str | None, session: Session) -> int | None:
    if not variable:
        return None
    value = data.get(variable)
    if isinstance(value, int) and not isinstance(value, bool) and session.get(Agent, value) is not None:
        return value
    return None


def _role_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Role.id).where(func.lower(Role.name) == name.strip().lower()))


def _queue_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Queue.id).where(func.lower(Queue.name) == name.strip().lower()))


@set_lane_resolver
def resolve(
    session: Session,
    *,
    ticket: Ticket,
    lane: str | None,
    properties: Mapping[str, str],
    data: Mapping[str, Any],
) -> Candidates:
    """Candidates of one task (see the module docstring for the rules)."""
    excluded = _agent_from(data, properties.get("excludedAgentVariable"), session)
    agent_id = _agent_from(data, properties.get("candidateAgentVariable"), session)
    if agent_id is not None:
        named = session.get(Agent, agent_id)
        if named is not None and (
            not _may_work_on(session, named, ticket) or teams.is_away(session, agent=named)
        ):
            others = {k: v for k, v in properties.items() if k != "candidateAgentVariable"}
            fallback = resolve(session, ticket=ticket, lane=lane, properties=others, data=data)
            raise _cannot_read(session, named, ticket, fallback)
        return Candidates(agent_id=agent_id, excluded_agent_id=excluded)
    if properties.get("candidateRole"):
        role_id = _role_id(session, properties["candidateRole"])
        if role_id is not None:
            return Candidates(role_id=role_id, excluded_agent_id=excluded)
    if properties.get("candidateQueue"):
        queue_id = _queue_id(session, properties["candidateQueue"])
        if queue_id is not None:
            return Candidates(queue_id=queue_id, excluded_agent_id=excluded)
    name = (lane or "").strip()
    if name.lower() in TICKET_QUEUE_LANES:
        return Candidates(follows_ticket_queue=True, excluded_agent_id=excluded)
    role_id = _role_id(session, name)
    if role_id is not None:
        return Candidates(role_id=role_id, excluded_agent_id=excluded)
    queue_id = _queue_id(session, name)
    if queue_id is not None:
        return Candidates(queue_id=queue_id, excluded_agent_id=excluded)
    log.warning("lane %r matches no role or queue; the task goes to the ticket's queue", name)
    return Candidates(follows_ticket_queue=True, excluded_agent_id=excluded)


# At most this many names in the refusal; the rest are counted.
MAX_NAMED = 20


def _may_work_on(session: Session, agent: Agent, ticket: Ticket) -> bool:
    return (
        agent.active
        and not agent.read_only
        and permissions.has_queue_permission(session, agent, ticket.queue, "ro")
    )


def could_do(session: Session, *, ticket: Ticket, candidates: Candidates) -> list[Agent]:
    """The agents ``candidates`` names who may read ``ticket`` and work on tasks, by login."""
    queue = session.get(Queue, candidates.queue_id) if candidates.queue_id is not None else ticket.queue
    result = []
    everyone = session.scalars(select(Agent).order_by(Agent.login)).all()
    # Away agents (S11) are not offered for new tasks.
    away = teams.away_ids(session, agent_ids=[a.id for a in everyone])
    for agent in everyone:
        if (
            agent.id == candidates.excluded_agent_id
            or agent.id in away
            or not _may_work_on(session, agent, ticket)
        ):
            continue
        if candidates.role_id is not None:
            chosen = any(role.id == candidates.role_id and role.valid for role in agent.roles)
        else:
            chosen = queue is not None and permissions.has_queue_permission(session, agent, queue, "rw")
        if chosen:
            result.append(agent)
    return result


def _cannot_read(session: Session, named: Agent, ticket: Ticket, fallback: Candidates) -> ValidationError:
    if not named.active or named.read_only:
        why = f"{named.login} cannot work on tasks"
    elif teams.is_away(session, agent=named):
        why = f"{named.login} is away"
    else:
        why = f"{named.login} may not read ticket {ticket.number} (queue {ticket.queue.name})"
    logins = [agent.login for agent in could_do(session, ticket=ticket, candidates=fallback)]
    if not logins:
        who = "nobody who may read the ticket can take it"
    else:
        more = f" and {len(logins) - MAX_NAMED} more" if len(logins) > MAX_NAMED else ""
        who = "agents who could: " + ", ".join(logins[:MAX_NAMED]) + more
    message = f"{why}; {who}"
    return ValidationError(message, errors={"_form": [message]})
