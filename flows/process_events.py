"""Ticket events delivered to the ticket's processes, and the pending-time sweep.

The contract (``docs/architecture.md``, "Ticket state and process"):

* A ticket closed or merged by hand is told to each of its running processes as the BPMN
  message ``ticket_closed``.  A process that waits for it decides (the default processes end,
  their open tasks leave the inbox); a process that does not is terminated by the engine.
* The ticket's pending time is the one timer for pending states.  When it has passed, the
  message ``pending_time_reached`` goes to the ticket's running processes; if none of them
  changes the ticket, the default happens: a *pending reminder* ticket opens again and its
  owner and responsible get a note, a *pending auto close* ticket is closed in the state its
  pending state names.

A process's own steps change the ticket through :mod:`flows.state` with their instance id
(``from_instance_id``): the instance that is running (locked and loaded) never gets its own
change back as an event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import format_datetime, translator
from desk.actor import SYSTEM, Actor, actor_label
from desk.article import service as articles
from desk.history import service as history
from desk.ticket.models import State, Ticket
from engine import runtime
from engine.models import ProcessInstance

log = logging.getLogger(__name__)

TICKET_CLOSED = "ticket_closed"
PENDING_TIME_REACHED = "pending_time_reached"
PENDING_TYPES = ("pending_reminder", "pending_auto")


def running_instances(
    session: Session, *, ticket: Ticket, except_instance_id: int | None = None
) -> Sequence[ProcessInstance]:
    """The ticket's running process instances, oldest first, without ``except_instance_id``."""
    query = select(ProcessInstance).where(
        ProcessInstance.ticket_id == ticket.id, ProcessInstance.status == "running"
    )
    if except_instance_id is not None:
        query = query.where(ProcessInstance.id != except_instance_id)
    return session.scalars(query.order_by(ProcessInstance.id)).all()


def ticket_closed(
    session: Session,
    *,
    ticket: Ticket,
    actor: Actor,
    reason: str,
    except_instance_id: int | None = None,
) -> list[int]:
    """Tell every running process of ``ticket`` that it was closed (or merged); returns the
    ids of the instances that ended.

    A process that catches ``ticket_closed`` (the default processes: an event subprocess with
    that message start) gets the message and its handler runs; then the instance ends with
    every open task, called processes included.  SpiffWorkflow 3.2 runs an event subprocess
    without interrupting the rest of the process (only boundary events interrupt), so the
    engine does the interrupting.  A process without the handler is terminated the same way,
    so no task of a closed ticket stays in an inbox.
    """
    ended: list[int] = []
    payload = {"state": ticket.state.name, "by": actor_label(actor), "reason": reason}
    for instance in running_instances(session, ticket=ticket, except_instance_id=except_instance_id):
        if TICKET_CLOSED in (instance.waiting_messages or []):
            runtime.deliver_message(
                session, ticket=ticket, name=TICKET_CLOSED, payload=payload, instance_id=instance.id
            )
            session.refresh(instance)
            if instance.status != "running":
                history.record(
                    session,
                    ticket=ticket,
                    actor=actor,
                    type="ProcessEnd",
                    old=_label(instance),
                    new=instance.status,
                    comment=reason[:500],
                )
                ended.append(instance.id)
                continue
        if runtime.terminate(session, instance=instance, actor=actor, reason=reason):
            ended.append(instance.id)
    return ended


# --- the pending time ------------------------------------------------------------------


def due_pending_tickets(session: Session, *, now: datetime) -> list[int]:
    """Ids of tickets in a pending state whose pending time has passed, earliest first."""
    return list(
        session.scalars(
            select(Ticket.id)
            .join(State, State.id == Ticket.state_id)
            .where(
                State.type.in_(PENDING_TYPES),
                Ticket.pending_until.is_not(None),
                Ticket.pending_until <= now,
                Ticket.merged_into_id.is_(None),
            )
            .order_by(Ticket.pending_until, Ticket.id)
        )
    )


def pending_time_reached(session: Session, *, ticket_id: int, now: datetime) -> str | None:
    """Act on one ticket whose pending time has passed.

    Returns ``"process"`` when a process took care of it, ``"reminder"`` or ``"auto close"``
    when the default happened, and None when there was nothing (any more) to do, so a second
    run, or a run racing another worker, changes nothing.
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or not _is_due(ticket, now) or ticket.pending_until is None:
        return None
    state_id, until = ticket.state_id, ticket.pending_until
    payload: dict[str, Any] = {
        "state": ticket.state.name,
        "state_type": ticket.state.type,
        "pending_until": until.isoformat(),
    }
    delivered = False
    for instance in running_instances(session, ticket=ticket):
        if PENDING_TIME_REACHED not in (instance.waiting_messages or []):
            continue
        record = runtime.deliver_message(
            session, ticket=ticket, name=PENDING_TIME_REACHED, payload=payload, instance_id=instance.id
        )
        delivered = delivered or record.status == "delivered"
    if ticket.state_id != state_id or ticket.pending_until != until:
        return "process"
    # Nobody waited, or the process that did left the ticket as it was: OTRS's default, so a
    # pending time never stays in the past.
    if ticket.state.type == "pending_reminder":
        _remind(session, ticket=ticket, until=until, process_was_told=delivered)
        return "reminder"
    _auto_close(session, ticket=ticket)
    return "auto close"


def _is_due(ticket: Ticket, now: datetime) -> bool:
    return (
        ticket.state.type in PENDING_TYPES
        and ticket.pending_until is not None
        and ticket.pending_until <= now
        and ticket.merged_into_id is None
    )


def _remind(session: Session, *, ticket: Ticket, until: datetime, process_was_told: bool) -> None:
    from desk.ticket import states
    from flows import state as state_flow

    people = [a for a in (ticket.owner, ticket.responsible) if a is not None]
    # One person may be owner and responsible: name them once.
    unique = list({a.id: a for a in people}.values())
    # The note goes to the owner and responsible: in the language of the first of them.
    _ = translator(unique[0].language if unique else None)
    names = ", ".join(actor_label(a) for a in unique) or _("the agents of %(queue)s", queue=ticket.queue.name)
    addresses = ", ".join(a.email for a in unique if a.email)
    state_flow.set_state(
        session, actor=SYSTEM, ticket=ticket, state=states.first_state_of_type(session, "open")
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="note",
        sender_type="system",
        visible_for_customer=False,
        subject=_("Reminder reached"),
        to_addr=addresses,
        body_text=_(
            "For %(names)s: the reminder time of this ticket (%(when)s) has been reached. "
            "The ticket is open again.",
            names=names,
            when=format_datetime(
                until,
                language=unique[0].language if unique else None,
                zone=unique[0].time_zone if unique else None,
            ),
        ),
    )
    history.record(
        session,
        ticket=ticket,
        actor=SYSTEM,
        type="ReminderReached",
        old=until.isoformat(),
        new=ticket.state.name,
        comment=f"reminder reached; told {names}"
        + (" (the process did not act on it)" if process_was_told else ""),
    )


def _auto_close(session: Session, *, ticket: Ticket) -> None:
    from desk.ticket import states
    from flows import state as state_flow

    # A pending-auto state names the state it changes to; an administrator's state without
    # one closes successfully, as OTRS does.
    target = ticket.state.next_state or states.first_state_of_type(session, "closed")
    state_flow.close(
        session, actor=SYSTEM, ticket=ticket, state=target, comment="the pending auto close time was reached"
    )


def _label(instance: ProcessInstance) -> str:
    version = instance.process_version
    return f"{version.name} (version {version.version})"
