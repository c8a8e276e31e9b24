"""Messages from integrations for a ticket's processes.

An integration (a monitoring system, a shop, a vendor's portal) tells a ticket's process
that something happened: a named BPMN message with a payload and, optionally, the
correlation a waiting catch event has to match (task-data names and their values, like the
``specialist_token`` of the mail path).  It travels the same way as the messages of the
mail channel (:func:`engine.runtime.deliver_message`): the ticket's running instance that
waits for that name gets it and runs on; the message is recorded as a ``ProcessMessage``
either way, *unmatched* when nothing waits for it (not an error: the integration cannot know
where the process is).

:func:`start_process` is the other half: a process whose start event catches the message is
started for the ticket through it (:mod:`engine.message_start`).

Both need ``rw`` on the ticket's queue, checked before anything about the message is looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from desk.actor import Actor
from desk.history import service as history
from desk.permission import service as permissions
from desk.ticket.models import Ticket
from engine import message_start, runtime
from engine.models import ProcessMessage


def send_message(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    name: str,
    payload: Mapping[str, Any] | None = None,
    correlation: Mapping[str, Any] | None = None,
) -> ProcessMessage:
    """Deliver message ``name`` to the ticket's waiting process; the recorded message."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    record = runtime.deliver_message(
        session, ticket=ticket, name=name, payload=payload, correlation=correlation
    )
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="ProcessMessage",
        new=name,
        comment="delivered" if record.status == "delivered" else "no process waited for it",
    )
    return record


def start_process(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    process_id: str,
    name: str,
    payload: Mapping[str, Any] | None = None,
) -> ProcessMessage:
    """Start ``process_id`` for the ticket through its message start event ``name``."""
    permissions.require_queue(session, actor, ticket.queue, "rw")
    return message_start.start_by_message(
        session, actor=actor, ticket=ticket, process_id=process_id, name=name, payload=payload
    )
