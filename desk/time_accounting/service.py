"""Booking time spent on a ticket; every channel's flow calls :func:`book`.

The queue decides whether the forms ask (``Queue.time_accounting``: off, optional,
required).  The value arrives as the user typed it (a form's text, an API's number) and is
checked here, so the web form, the API and a process task refuse the same input with the
same field error on ``time_units``.

A queue whose accounting is off books nothing: an agent who sends minutes there anyway (an
API client, a form opened before the queue was switched off) gets a field error rather than
a silent drop or a row the ticket page and the statistics would hide (zero and an empty
value are fine).  Customers and the system never book time; what they send is ignored.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.ticket.models import Ticket
from desk.time_accounting.models import MAX_MINUTES, TimeAccounting

FIELD = "time_units"
# The policy of an actor who books no time (customers, the system): whatever came is ignored.
NOT_BOOKED = "ignored"


def parse(raw: object, *, policy: str) -> int | None:
    """The minutes in ``raw`` (None when nothing was entered and the queue allows that).

    Raises :class:`ValidationError` on ``time_units`` for a missing required value, a
    non-number, a negative or a too large number, and for minutes sent to a queue whose
    accounting is off.  With :data:`NOT_BOOKED` nothing is looked at.
    """
    if policy == NOT_BOOKED:
        return None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if policy == "required":
            raise ValidationError(
                N_("time spent is required in this queue"),
                errors={FIELD: [N_("enter the time spent in minutes (this queue requires it)")]},
            )
        return None
    if isinstance(raw, bool):
        raise _invalid(N_("enter a whole number of minutes"))
    if isinstance(raw, int):
        minutes = raw
    elif isinstance(raw, float) and raw.is_integer():
        minutes = int(raw)
    elif isinstance(raw, str) and raw.strip().lstrip("+-").isdigit() and len(raw.strip()) <= 12:
        minutes = int(raw.strip())
    else:
        raise _invalid(N_("enter a whole number of minutes"))
    if minutes < 0:
        raise _invalid(N_("the time spent cannot be negative"))
    if minutes > MAX_MINUTES:
        # The msgid names the number: MAX_MINUTES is one week.
        raise _invalid(N_("at most 10080 minutes (one week) per entry"))
    if minutes and policy == "off":
        raise ValidationError(
            N_("time accounting is off for this queue"),
            errors={FIELD: [N_("time accounting is off for this queue")]},
        )
    return minutes


def _invalid(message: str) -> ValidationError:
    return ValidationError(N_("invalid time spent"), errors={FIELD: [message]})


def book(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    raw: object,
    article_id: int | None = None,
    human_task_id: int | None = None,
) -> TimeAccounting | None:
    """Check ``raw`` against the ticket's queue and record it for ``actor`` (an agent).

    Nothing is recorded for zero, an empty optional value or an actor who is no agent
    (customers and the system do not book time).
    """
    return record(
        session,
        actor=actor,
        ticket=ticket,
        minutes=parse(raw, policy=policy_for(actor, ticket)),
        article_id=article_id,
        human_task_id=human_task_id,
    )


def policy_for(actor: Actor, ticket: Ticket) -> str:
    """The ticket's queue policy for ``actor``: only agents are asked for their time."""
    return ticket.queue.time_accounting if isinstance(actor, Agent) else NOT_BOOKED


def record(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    minutes: int | None,
    article_id: int | None = None,
    human_task_id: int | None = None,
    queue_id: int | None = None,
) -> TimeAccounting | None:
    """Record minutes checked by :func:`parse` (nothing for none, zero or a non-agent).

    ``queue_id``: where the work was done when the ticket has moved since (default: its queue).
    """
    if not minutes or not isinstance(actor, Agent):
        return None
    row = TimeAccounting(
        ticket_id=ticket.id,
        article_id=article_id,
        human_task_id=human_task_id,
        agent_id=actor.id,
        queue_id=queue_id or ticket.queue_id,
        minutes=minutes,
    )
    session.add(row)
    session.flush()
    return row


def total_for(session: Session, *, ticket: Ticket) -> int:
    """The minutes booked on ``ticket`` so far."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(TimeAccounting.minutes), 0)).where(
                TimeAccounting.ticket_id == ticket.id
            )
        )
        or 0
    )
