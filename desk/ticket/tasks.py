"""Background jobs about tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import session_scope, utcnow
from core.jobs import periodic
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket


def release_locks_older_than_queue_timeout(session: Session, *, now: datetime) -> list[str]:
    """Unlock tickets whose lock is older than their queue's unlock timeout (OTRS behaviour).

    Returns the numbers of the tickets released.  Idempotent: a second run releases nothing.
    Rows being changed by someone else right now are skipped and picked up next round.
    """
    candidates = session.scalars(
        select(Ticket)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(Ticket.locked_by_id.is_not(None), Queue.unlock_timeout_minutes > 0)
        .with_for_update(of=Ticket, skip_locked=True)
    ).all()
    released = []
    for ticket in candidates:
        timeout = timedelta(minutes=ticket.queue.unlock_timeout_minutes)
        if ticket.locked_at is not None and ticket.locked_at + timeout <= now:
            tickets.release_expired_lock(session, ticket=ticket)
            released.append(ticket.number)
    return released


@periodic(every_seconds=60)
def release_expired_locks() -> None:
    """The periodic sweep behind :func:`release_locks_older_than_queue_timeout`."""
    with session_scope() as session:
        release_locks_older_than_queue_timeout(session, now=utcnow())
