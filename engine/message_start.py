"""Processes started by a message: BPMN message start events.

A process whose start event catches a message (``<bpmn:startEvent>`` with a
``messageEventDefinition``) begins when that message comes.  The engine starts a new
instance of the newest version for the ticket (it then waits at that start event) and
delivers the message to it, so the payload lands in the process data exactly as a message
delivered to a waiting catch event does.  A message that no start event of the process
catches is refused before anything is started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import ProcessMessage


def start_message_names(spec: Any) -> set[str]:
    """Names of the messages the top-level start events of ``spec`` catch."""
    names: set[str] = set()
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, StartEvent):
            continue
        definition = task_spec.event_definition
        inner = (
            definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        )
        names.update(d.name for d in inner if isinstance(d, MessageEventDefinition))
    return names


def start_by_message(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    process_id: str,
    name: str,
    payload: Mapping[str, Any] | None = None,
) -> ProcessMessage:
    """Start ``process_id`` for ``ticket`` through its message start event ``name``.

    Needs ``rw`` on the ticket's queue (checked by :func:`engine.runtime.start` before
    anything else is looked at).  Returns the delivered :class:`ProcessMessage`, whose
    ``instance_id`` is the new instance.
    """
    version = definitions.latest_version(session, process_id)
    if version is None:
        raise NotFound(N_("process %(process)r is not deployed"), process=process_id)
    names = start_message_names(definitions.runnable(session, version).spec)
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ValidationError(
            N_("process %(process)s has no start event for the message %(name)r"),
            errors={
                "name": [
                    FieldMessage(
                        N_("no start event of %(process)s catches %(name)r (it catches: %(known)s)"),
                        process=process_id,
                        name=name,
                        known=known,
                    )
                ]
            },
            process=process_id,
            name=name,
        )
    instance = runtime.start(session, actor=actor, ticket=ticket, process_id=process_id)
    return runtime.deliver_message(
        session, ticket=ticket, name=name, payload=payload, instance_id=instance.id
    )
