"""Agent availability and temporary queue memberships (S11).

* **Availability**: *front line*, *background* (help-desk work away from the phones) or
  *away*, optionally until a time (then front line again).  An agent switches their own; an
  administrator may switch anyone's.  Away agents are not named for new tasks
  (:mod:`processes.lanes`) and are marked in the pickers.
* **Temporary membership**: an administrator pulls an agent into a queue (``rw`` on its group)
  until a time, or until the queue's open tickets fall below a threshold.  The right is
  added on top of the agent's own (:mod:`desk.permission.service`), so when the membership
  ends the agent is back on their original queues.  :func:`expire_memberships` (a periodic
  job) ends them; a membership whose time has passed grants nothing even before that.
  Creating and ending one writes an audit entry; the rows are kept as the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, false, func, literal, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound, ValidationError
from desk.actor import SYSTEM, Actor
from desk.agent.models import Agent, AgentRole, Role
from desk.audit import service as audit
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.team.models import AVAILABILITY, AgentAvailability, TemporaryMembership
from desk.ticket.models import State, Ticket

# State types of tickets that still need work: what "open tickets of a queue" counts.
OPEN_TYPES = ("new", "open", "pending_reminder", "pending_auto")
MEMBERSHIP = "temporary_membership"


# --- availability ----------------------------------------------------------------------


def availability_of(session: Session, *, agent: Agent) -> tuple[str, datetime | None]:
    """The agent's status now and until when (an elapsed until-time is front line again)."""
    row = session.get(AgentAvailability, agent.id)
    if row is None or (row.until is not None and row.until <= utcnow()):
        return "front_line", None
    return row.status, row.until


def availabilities(
    session: Session, *, agent_ids: Iterable[int], also: ScalarSelect[Any] | None = None
) -> tuple[dict[int, tuple[str, datetime | None]], Any]:
    """Each agent's status now and until when, as :func:`availability_of` says, in one statement.

    ``also`` is a scalar subquery another part of the same page needs (the header's unread
    count); it comes back as the second value, from the same round trip.
    """
    ids = sorted(set(agent_ids))
    now = utcnow()
    # One row even when no agent has a row: the availability is outer-joined to ``SELECT 1``.
    one = select(literal(1).label("one")).subquery()
    extra = also if also is not None else literal(None)
    rows = session.execute(
        select(extra, AgentAvailability)
        .select_from(one)
        .outerjoin(AgentAvailability, AgentAvailability.agent_id.in_(ids) if ids else false())
    ).all()
    found: dict[int, tuple[str, datetime | None]] = {agent_id: ("front_line", None) for agent_id in ids}
    for _extra, row in rows:
        if row is not None and not (row.until is not None and row.until <= now):
            found[row.agent_id] = (row.status, row.until)
    return found, rows[0][0] if rows else None


def set_availability(
    session: Session, *, actor: Actor, agent: Agent, status: str, until: datetime | None = None
) -> AgentAvailability:
    """Switch ``agent``'s availability (their own, or anyone's for an administrator)."""
    if not (isinstance(actor, Agent) and actor.id == agent.id):
        permissions.require_admin(session, actor)
    if status not in AVAILABILITY:
        raise ValidationError("invalid status", errors={"status": [f"one of {', '.join(AVAILABILITY)}"]})
    if until is not None and until <= utcnow():
        raise ValidationError("invalid time", errors={"until": ["must be in the future"]})
    if status == "front_line":
        until = None
    row = session.get(AgentAvailability, agent.id)
    if row is None:
        row = AgentAvailability(agent_id=agent.id)
        session.add(row)
    row.status, row.until, row.changed_at = status, until, utcnow()
    session.flush()
    return row


def away_ids(session: Session, *, agent_ids: Iterable[int]) -> set[int]:
    """Which of ``agent_ids`` are away right now (one query)."""
    ids = list(agent_ids)
    if not ids:
        return set()
    now = utcnow()
    rows = session.scalars(
        select(AgentAvailability.agent_id).where(
            AgentAvailability.agent_id.in_(ids),
            AgentAvailability.status == "away",
            (AgentAvailability.until.is_(None)) | (AgentAvailability.until > now),
        )
    )
    return set(rows)


def is_away(session: Session, *, agent: Agent) -> bool:
    """True while ``agent`` is away."""
    return agent.id in away_ids(session, agent_ids=[agent.id])


def available_members(session: Session, *, role_name: str) -> list[Agent]:
    """The members of the role ``role_name`` who can work on tasks and are not away, by login."""
    members = [
        agent
        for agent in session.scalars(
            select(Agent)
            .join(AgentRole, AgentRole.agent_id == Agent.id)
            .join(Role, Role.id == AgentRole.role_id)
            .where(func.lower(Role.name) == role_name.strip().lower(), Role.valid.is_(True))
            .order_by(Agent.login)
        )
        if agent.active and not agent.read_only
    ]
    away = away_ids(session, agent_ids=[a.id for a in members])
    return [a for a in members if a.id not in away]


# --- temporary memberships -------------------------------------------------------------


def open_count(session: Session, *, queue: Queue) -> int:
    """How many tickets of ``queue`` still need work (not closed or merged)."""
    return int(
        session.scalar(
            select(func.count(Ticket.id))
            .join(State, State.id == Ticket.state_id)
            .where(Ticket.queue_id == queue.id, State.type.in_(OPEN_TYPES))
        )
        or 0
    )


def pull_in(
    session: Session,
    *,
    actor: Actor,
    agent: Agent,
    queue: Queue,
    until: datetime | None = None,
    open_below: int | None = None,
) -> TemporaryMembership:
    """Add ``agent`` to ``queue``'s group (``rw``) until ``until`` or until fewer than
    ``open_below`` tickets are open there (whichever comes first)."""
    permissions.require_admin(session, actor)
    errors: dict[str, list[str]] = {}
    if until is None and open_below is None:
        errors["until"] = ["give an end time or an open-ticket threshold"]
    if until is not None and until <= utcnow():
        errors["until"] = ["must be in the future"]
    if open_below is not None and not 1 <= open_below <= 100_000:
        errors["open_below"] = ["must be between 1 and 100000"]
    if not agent.active or agent.read_only:
        errors["agent"] = [f"{agent.login} cannot work on tickets"]
    if errors:
        raise ValidationError("invalid membership", errors=errors)
    membership = TemporaryMembership(
        agent_id=agent.id,
        queue_id=queue.id,
        group_id=queue.group_id,
        until=until,
        open_below=open_below,
        created_by_agent_id=actor.id if isinstance(actor, Agent) else None,
        created_at=utcnow(),
    )
    session.add(membership)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type=MEMBERSHIP,
        object_id=membership.id,
        object_label=f"{agent.login} in {queue.name}",
        action="create",
        new={"agent": agent.login, "queue": queue.name, "until": until, "open_below": open_below},
    )
    return membership


def get_membership(session: Session, *, membership_id: int) -> TemporaryMembership:
    """The membership with this id."""
    found = session.get(TemporaryMembership, membership_id)
    if found is None:
        raise NotFound("no such membership")
    return found


def end_membership(session: Session, *, actor: Actor, membership: TemporaryMembership, reason: str) -> bool:
    """End ``membership`` now (an administrator, or the system's expiry); False if it had ended."""
    if actor is not SYSTEM:
        permissions.require_admin(session, actor)
    if membership.ended_at is not None:
        return False
    membership.ended_at = utcnow()
    membership.end_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type=MEMBERSHIP,
        object_id=membership.id,
        object_label=f"{membership.agent.login} in {membership.queue.name}",
        action="end",
        new={"reason": reason},
    )
    return True


def active_memberships(session: Session) -> Sequence[TemporaryMembership]:
    """Memberships not ended yet (their time may have passed: the expiry job ends those)."""
    return session.scalars(
        select(TemporaryMembership)
        .where(TemporaryMembership.ended_at.is_(None))
        .order_by(TemporaryMembership.id)
    ).all()


def memberships(session: Session, *, actor: Actor, limit: int = 100) -> Sequence[TemporaryMembership]:
    """The newest memberships, ended ones included (the history), for administrators."""
    permissions.require_admin(session, actor)
    return session.scalars(
        select(TemporaryMembership).order_by(TemporaryMembership.id.desc()).limit(limit)
    ).all()


def expire_memberships(session: Session) -> list[int]:
    """End every membership whose time has passed or whose queue's load is gone; their ids."""
    now = utcnow()
    ended = []
    for membership in active_memberships(session):
        reason = None
        if membership.until is not None and membership.until <= now:
            reason = "the time is up"
        elif (
            membership.open_below is not None
            and open_count(session, queue=membership.queue) < membership.open_below
        ):
            reason = f"fewer than {membership.open_below} open tickets in {membership.queue.name}"
        if reason is not None and end_membership(session, actor=SYSTEM, membership=membership, reason=reason):
            ended.append(membership.id)
    return ended
