"""Background jobs about tickets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.db import session_scope, utcnow
from core.jobs import periodic
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket


@periodic(every_seconds=60)
def release_expired_locks() -> None:
    """Unlock tickets whose lock is older than their queue's unlock timeout (OTRS behaviour).

    Idempotent: a second run finds nothing more to release.
    """
    now = utcnow()
    with session_scope() as session:
        candidates = session.scalars(
            select(Ticket)
            .join(Queue, Queue.id == Ticket.queue_id)
            .where(Ticket.locked_by_id.is_not(None), Queue.unlock_timeout_minutes > 0)
            .with_for_update(of=Ticket, skip_locked=True)
        ).all()
        for ticket in candidates:
            timeout = timedelta(minutes=ticket.queue.unlock_timeout_minutes)
            if ticket.locked_at is not None and ticket.locked_at + timeout <= now:
                tickets.release_expired_lock(session, ticket=ticket)
