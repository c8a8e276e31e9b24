"""Periodic jobs of the use-case layer: the pending-time and escalation sweeps."""

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


def sweep_escalation_times() -> dict[int, list[str]]:
    """Recompute changed tickets' due times, then tell the escalation events that came.

    One transaction per ticket, like the pending sweep: a ticket that fails is logged and
    tried again next round.  Returns ticket id → the events told (``first_response_breach`` …).
    """
    from flows import escalation

    now = utcnow()
    with session_scope() as session:
        stale = escalation.stale_tickets(session)
    for ticket_id in stale:
        try:
            with session_scope() as session:
                escalation.refresh(session, ticket_id=ticket_id, now=now)
        except Exception:  # a bad calendar or a lost race: next round
            log.exception("due times of ticket %s failed", ticket_id)
    with session_scope() as session:
        due = escalation.due_tickets(session, now=now)
    told: dict[int, list[str]] = {}
    for ticket_id in due:
        try:
            with session_scope() as session:
                events = escalation.escalate(session, ticket_id=ticket_id, now=now)
        except TicketflowError as exc:
            log.warning("escalation of ticket %s: %s", ticket_id, exc.message)
            continue
        except Exception:
            log.exception("escalation of ticket %s failed", ticket_id)
            continue
        if events:
            told[ticket_id] = events
    return told


@periodic(every_seconds=60)
def sweep_escalations() -> None:
    """The periodic job behind :func:`sweep_escalation_times`."""
    sweep_escalation_times()
