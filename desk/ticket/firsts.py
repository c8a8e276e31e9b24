"""A ticket's first answer and first close, stored for the statistics (issue 14).

``ticket.first_response_at`` is the creation time of the first article an agent wrote that
the customer sees (an internal note is not an answer); ``ticket.first_closed_at`` the time of
the first history row that set a state of type ``closed`` (a reopen and a second close keep
the first).  Before migration 0024 the figure computed both from the articles and the history
on every call; the migration backfilled the columns with that computation and these functions
keep them equal to it, called by the only code that writes such rows:
:func:`desk.article.service.add_article` and ``split`` (an article), :func:`desk.history.service.record`
(every state change of every channel) and :func:`desk.ticket.service.merge` (the articles move
to the target, and so does the first answer).

Plain UPDATEs that keep the earlier time: no version bump and no ``changed_at`` (bookkeeping
must not make an agent's concurrent edit of the ticket a conflict, like the escalation sweep),
and of two concurrent answers the earlier stays whichever commits first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from desk.ticket.models import State, Ticket


def is_response(*, sender_type: str, visible_for_customer: bool) -> bool:
    """Whether an article counts as an answer: an agent's, visible to the customer."""
    return sender_type == "agent" and bool(visible_for_customer)


def note_article(
    session: Session, *, ticket: Ticket, sender_type: str, visible_for_customer: bool, at: datetime
) -> None:
    """An article was added to ``ticket`` at ``at``: keep it if it is the first answer."""
    if is_response(sender_type=sender_type, visible_for_customer=visible_for_customer):
        _keep_earliest(session, ticket, Ticket.first_response_at, at)


def note_state_change(session: Session, *, ticket: Ticket, state_name: str, at: datetime) -> None:
    """A history row set ``ticket``'s state to ``state_name`` at ``at``: keep it if it is the first close."""
    closed = session.scalar(select(State.id).where(State.name == state_name, State.type == "closed").limit(1))
    if closed is not None:
        _keep_earliest(session, ticket, Ticket.first_closed_at, at)


def move_responses(session: Session, *, source: Ticket, target: Ticket) -> None:
    """``source``'s articles moved to ``target`` (a merge): its first answer is now the target's."""
    # From the database: the loaded object may not know a value another flush wrote.
    moved = session.scalar(select(Ticket.first_response_at).where(Ticket.id == source.id))
    if moved is not None:
        _keep_earliest(session, target, Ticket.first_response_at, moved)
    session.execute(
        update(Ticket)
        .where(Ticket.id == source.id)
        .values(first_response_at=None, changed_at=Ticket.changed_at)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(source, "first_response_at", None)


def _keep_earliest(
    session: Session, ticket: Ticket, column: InstrumentedAttribute[datetime | None], at: datetime
) -> None:
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, or_(column.is_(None), column > at))
        .values({column.key: at, "changed_at": Ticket.changed_at})
        .execution_options(synchronize_session=False)
    )
    # Keep the loaded object in step without marking it dirty (no version bump on flush).  The
    # stored value is read back: a ticket just inserted takes its unset columns for NULL
    # without asking the database, and the earlier of two moments may be the stored one.
    kept = session.scalar(select(column).where(Ticket.id == ticket.id))
    set_committed_value(ticket, column.key, kept)
