"""Periodic jobs of the use-case layer: the pending-time sweep."""

from __future__ import annotations

import logging

from core.db import session_scope, utcnow
from core.errors import TicketflowError
from core.jobs import periodic
from flows import process_events

log = logging.getLogger(__name__)


def sweep_pending_times() -> dict[int, str]:
    """Act on every ticket whose pending time has passed, one transaction per ticket.

    Returns ticket id → what happened (``process``, ``reminder``, ``auto close``).  Idempotent:
    a ticket handled meanwhile (by another worker, or an agent) is skipped; one that fails is
    logged and tried again next round, and does not stop the others.
    """
    now = utcnow()
    with session_scope() as session:
        due = process_events.due_pending_tickets(session, now=now)
    done: dict[int, str] = {}
    for ticket_id in due:
        try:
            with session_scope() as session:
                outcome = process_events.pending_time_reached(session, ticket_id=ticket_id, now=now)
        except TicketflowError as exc:
            log.warning("pending time of ticket %s: %s", ticket_id, exc.message)
            continue
        except Exception:  # a lost race (stale ticket version) is retried next round
            log.exception("pending time of ticket %s failed", ticket_id)
            continue
        if outcome is not None:
            done[ticket_id] = outcome
    return done


@periodic(every_seconds=30)
def sweep_pending() -> None:
    """The periodic job behind :func:`sweep_pending_times` (the first round at start)."""
    sweep_pending_times()
