"""Set a ticket's state and pending time, close it: the one path every channel takes.

The desk service changes the ticket (permissions, history); this use case then tells the
ticket's running processes when the ticket was closed or merged (``ticket_closed``, see
:mod:`flows.process_events`), so state and process stay one truth.  A pending time needs no
event: the pending-time sweep reads it from the ticket, so a time changed by hand is the one
the process waits for.

Process operators pass ``from_instance_id``: the instance whose step made the change is
running right now and must not get its own change back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.actor import Actor, actor_label
from desk.permission import service as permissions
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import State, Ticket
from flows import process_events

# State types that end a ticket's handling: its processes are told.
ENDING_TYPES = ("closed", "merged")


def set_state(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    state: State,
    pending_until: datetime | None = None,
    comment: str = "",
    from_instance_id: int | None = None,
) -> None:
    """Change the state (pending states with their time); a close ends the ticket's processes."""
    tickets.set_state(session, actor=actor, ticket=ticket, state=state, pending_until=pending_until)
    if state.type in ENDING_TYPES:
        process_events.ticket_closed(
            session,
            ticket=ticket,
            actor=actor,
            reason=_reason(actor, state, comment),
            except_instance_id=from_instance_id,
        )


def close(
    session: Session,
    *,
    actor: Actor,
    ticket: Ticket,
    state: State | None = None,
    comment: str = "",
    from_instance_id: int | None = None,
) -> None:
    """Close the ticket (``closed successful`` unless another closed state is given)."""
    # The right first: an agent who may not close learns that, not that the state is wrong.
    permissions.require_queue(session, actor, ticket.queue, "rw")
    target = state or states.get_state(session, "closed successful")
    if target.type != "closed":
        raise ValidationError(
            N_("not a closed state"),
            errors={"state": [FieldMessage(N_("%(state)s is not a closed state"), state=target.name)]},
        )
    set_state(
        session, actor=actor, ticket=ticket, state=target, comment=comment, from_instance_id=from_instance_id
    )


def _reason(actor: Actor, state: State, comment: str) -> str:
    why = f"the ticket was set to {state.name} by {actor_label(actor)}"
    return f"{why}: {comment}" if comment else why
