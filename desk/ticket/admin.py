"""Administering ticket states, ticket types and the priorities' names.  Administrators only;
every change leaves one audit entry.

A state keeps its OTRS state type for ever: changing the type would strand the tickets in
it (a pending ticket without a pending time, a "closed" ticket with running processes).
The last valid state of a type cannot be switched off, since the desk needs one (merging,
reopening, closing), and neither can the state a valid pending-auto state changes to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.audit import service as audit
from desk.permission.service import require_admin
from desk.ticket import states
from desk.ticket.models import State, TicketPriority, TicketType


def _state_snapshot(state: State) -> dict[str, object]:
    return {
        "name": state.name,
        "type": state.type,
        "next_state": state.next_state.name if state.next_state else None,
        "valid": state.valid,
    }


def create_state(
    session: Session, *, actor: Actor, name: str, type: str, next_state: State | None = None
) -> State:
    """Add a state within one of the fixed types (see :func:`desk.ticket.states.create_state`)."""
    require_admin(session, actor)
    if session.scalar(select(State.id).where(State.name == name.strip())) is not None:
        raise ValidationError("invalid state", errors={"name": ["a state with this name exists"]})
    state = states.create_state(session, actor=actor, name=name, type=type, next_state=next_state)
    audit.record(
        session,
        actor=actor,
        object_type="state",
        object_id=state.id,
        action="create",
        object_label=state.name,
        new={k: v for k, v in _state_snapshot(state).items() if v is not None},
    )
    return state


def update_state(
    session: Session, *, actor: Actor, state: State, name: str, valid: bool, next_state: State | None = None
) -> State:
    """Rename a state, switch it on or off, or change where a pending-auto state leads."""
    require_admin(session, actor)
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 200:
        errors["name"] = ["a state needs a name (at most 200 characters)"]
    elif session.scalar(select(State.id).where(State.name == name, State.id != state.id)) is not None:
        errors["name"] = ["a state with this name exists"]
    if state.type == "pending_auto":
        if next_state is None:
            errors["next_state"] = ["a pending-auto state needs the state it changes to"]
        elif next_state.id == state.id or next_state.type not in ("open", "closed"):
            errors["next_state"] = ["choose an open or closed state"]
    if state.valid and not valid:
        others = session.scalar(
            select(func.count())
            .select_from(State)
            .where(State.type == state.type, State.valid.is_(True), State.id != state.id)
        )
        if not others:
            errors["valid"] = ["the last active state of its type stays active"]
        leading = session.scalar(
            select(State.name).where(
                State.next_state_id == state.id, State.valid.is_(True), State.id != state.id
            )
        )
        if leading:
            errors["valid"] = [FieldMessage(N_("the pending state %(state)s changes to it"), state=leading)]
    if errors:
        raise ValidationError("invalid state", errors=errors)
    before = _state_snapshot(state)
    state.name, state.valid = name, valid
    if state.type == "pending_auto":
        state.next_state = next_state
    session.flush()
    old, new = audit.changes(before, _state_snapshot(state))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="state",
            object_id=state.id,
            action="update",
            object_label=state.name,
            old=old,
            new=new,
        )
    return state


def list_types(session: Session) -> Sequence[TicketType]:
    """Every ticket type by name."""
    return session.scalars(select(TicketType).order_by(TicketType.name)).all()


def save_type(
    session: Session, *, actor: Actor, ticket_type: TicketType | None, name: str, valid: bool = True
) -> TicketType:
    """Create a ticket type (``ticket_type`` None) or rename / switch one on or off."""
    require_admin(session, actor)
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError(
            "invalid type", errors={"type_name": ["a type needs a name (at most 200 characters)"]}
        )
    query = select(TicketType.id).where(TicketType.name == name)
    if ticket_type is not None:
        query = query.where(TicketType.id != ticket_type.id)
    if session.scalar(query) is not None:
        raise ValidationError("invalid type", errors={"type_name": ["a type with this name exists"]})
    if ticket_type is None:
        ticket_type = TicketType(name=name, valid=valid)
        session.add(ticket_type)
        session.flush()
        audit.record(
            session,
            actor=actor,
            object_type="ticket_type",
            object_id=ticket_type.id,
            action="create",
            object_label=name,
            new={"name": name, "valid": valid},
        )
        return ticket_type
    before = {"name": ticket_type.name, "valid": ticket_type.valid}
    ticket_type.name, ticket_type.valid = name, valid
    session.flush()
    old, new = audit.changes(before, {"name": name, "valid": valid})
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="ticket_type",
            object_id=ticket_type.id,
            action="update",
            object_label=name,
            old=old,
            new=new,
        )
    return ticket_type


def priority_names(session: Session) -> dict[int, str]:
    """The priorities an administrator named (1–5 → name); the others keep their built-in name."""
    return {row.id: row.name for row in session.scalars(select(TicketPriority))}


def set_priority_names(session: Session, *, actor: Actor, names: Mapping[int, str]) -> None:
    """Name the priorities; an empty name goes back to the built-in one."""
    require_admin(session, actor)
    errors = {
        f"priority_{number}": ["at most 200 characters"]
        for number, name in names.items()
        if len(name.strip()) > 200
    }
    errors.update({f"priority_{n}": ["a priority is 1 to 5"] for n in names if n not in range(1, 6)})
    if errors:
        raise ValidationError("invalid priority names", errors=errors)
    before = priority_names(session)
    for number, given in names.items():
        row = session.get(TicketPriority, number)
        name = given.strip()
        if name and row is None:
            session.add(TicketPriority(id=number, name=name))
        elif name and row is not None:
            row.name = name
        elif row is not None:
            session.delete(row)
    session.flush()
    after = priority_names(session)
    old, new = audit.changes(
        {str(n): before.get(n) for n in range(1, 6)}, {str(n): after.get(n) for n in range(1, 6)}
    )
    if new:
        audit.record(
            session, actor=actor, object_type="priority", object_id=None, action="update", old=old, new=new
        )
