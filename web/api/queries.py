"""Read-only searches the desk services do not offer yet, built on their permission rules.

:func:`search_tickets` extends :func:`desk.ticket.service.list_tickets` with the customer and
title filters; it starts from the same
:func:`desk.permission.service.visible_ticket_condition`, so it can return nothing the
agent may not read.  It belongs in ``desk.ticket.service`` and should move there.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from desk.actor import Actor
from desk.permission import service as permissions
from desk.ticket.models import State, Ticket


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_tickets(
    session: Session,
    *,
    actor: Actor,
    queue_ids: Sequence[int] | None = None,
    state_types: Sequence[str] | None = None,
    customer_user_id: int | None = None,
    title: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Ticket]:
    """Tickets ``actor`` may read, newest first, filtered and paged."""
    query = (
        select(Ticket)
        .where(permissions.visible_ticket_condition(session, actor))
        .options(selectinload(Ticket.locked_by), selectinload(Ticket.owner), selectinload(Ticket.responsible))
    )
    if queue_ids:
        query = query.where(Ticket.queue_id.in_(queue_ids))
    if state_types:
        query = query.join(State, State.id == Ticket.state_id).where(State.type.in_(state_types))
    if customer_user_id is not None:
        query = query.where(Ticket.customer_user_id == customer_user_id)
    if title:
        query = query.where(Ticket.title.ilike(f"%{_like_escape(title)}%", escape="\\"))
    query = query.order_by(Ticket.id.desc()).limit(min(max(limit, 1), 500)).offset(max(offset, 0))
    return session.scalars(query).all()
