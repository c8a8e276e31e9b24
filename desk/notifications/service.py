"""Writing, counting, listing and reading notifications.

The flows write them (:func:`notify`) next to the change they tell about, in the same
transaction.  An agent sees and marks only their own: anybody else's is *not found*.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound
from desk.agent.models import Agent
from desk.notifications.models import Notification
from desk.ticket.models import Ticket

MAX_ID = 2**31 - 1
PAGE = 100


def notify(
    session: Session,
    *,
    agents: Iterable[Agent],
    ticket: Ticket | None,
    kind: str,
    text: str,
    args: Mapping[str, str | int] | None = None,
) -> list[Notification]:
    """One notification per (active) agent; ``text`` is a msgid with ``%(name)s`` placeholders."""
    rows = []
    seen: set[int] = set()
    for agent in agents:
        if agent.id in seen or not agent.active:
            continue
        seen.add(agent.id)
        row = Notification(
            agent_id=agent.id,
            ticket_id=ticket.id if ticket is not None else None,
            kind=kind,
            text=text,
            args=json.dumps(dict(args or {}), sort_keys=True),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def unread_count(session: Session, *, agent: Agent) -> int:
    """How many of the agent's notifications are unread (one indexed COUNT)."""
    return int(session.scalar(unread_count_query(agent)) or 0)


def unread_count_query(agent: Agent) -> Select[int]:
    """The COUNT of :func:`unread_count`, for a page that sends it with other questions."""
    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.agent_id == agent.id, Notification.read_at.is_(None))
    )


def list_for(
    session: Session, *, agent: Agent, unread_only: bool = False, limit: int = PAGE, offset: int = 0
) -> Sequence[Notification]:
    """The agent's notifications, newest first."""
    query = select(Notification).where(Notification.agent_id == agent.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return session.scalars(
        query.order_by(Notification.id.desc()).limit(max(1, min(limit, PAGE))).offset(max(0, offset))
    ).all()


def get_own(session: Session, *, agent: Agent, notification_id: int) -> Notification:
    """One of the agent's notifications; anybody else's (or none) is :class:`NotFound`."""
    row = session.get(Notification, notification_id) if 0 < notification_id <= MAX_ID else None
    if row is None or row.agent_id != agent.id:
        raise NotFound("no such notification")
    return row


def mark_read(session: Session, *, agent: Agent, notification_id: int) -> Notification:
    """Mark one of the agent's notifications read (again: nothing changes)."""
    row = get_own(session, agent=agent, notification_id=notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        session.flush()
    return row


def mark_all_read(session: Session, *, agent: Agent) -> int:
    """Mark every unread notification of the agent read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.agent_id == agent.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def args_of(row: Notification) -> dict[str, str | int]:
    """The placeholders of ``row`` (an empty dict for anything unreadable)."""
    try:
        found = json.loads(row.args or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
