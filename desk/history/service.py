"""Writing and reading the ticket history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import Actor, actor_kind, actor_label
from desk.history.models import HISTORY_TYPES, History
from desk.ticket import firsts
from desk.ticket.models import Ticket


def record(
    session: Session,
    *,
    ticket: Ticket,
    actor: Actor,
    type: str,
    old: object = None,
    new: object = None,
    comment: str = "",
    article_id: int | None = None,
) -> History:
    """Append one history row for a change of ``ticket``."""
    if type not in HISTORY_TYPES:
        raise ValueError(f"unknown history type {type!r}")
    entry = History(
        ticket_id=ticket.id,
        article_id=article_id,
        type=type,
        actor_type=actor_kind(actor),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_label(actor),
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        comment=comment,
    )
    session.add(entry)
    session.flush()
    if type == "StateUpdate" and entry.new_value is not None:
        # Every channel's state change passes here: the one place that sees the first close.
        firsts.note_state_change(session, ticket=ticket, state_name=entry.new_value, at=entry.created_at)
    return entry


def for_ticket(session: Session, *, ticket: Ticket) -> Sequence[History]:
    """The history of ``ticket``, oldest first (read permission is the caller's check)."""
    return session.scalars(select(History).where(History.ticket_id == ticket.id).order_by(History.id)).all()
