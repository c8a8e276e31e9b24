"""States: the OTRS defaults, lookups, and administrators adding states within the types."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.permission.service import require_admin
from desk.ticket.models import STATE_TYPES, State

# name, type, next state (for pending auto): the defaults of OTRS.
DEFAULT_STATES: tuple[tuple[str, str, str | None], ...] = (
    ("new", "new", None),
    ("open", "open", None),
    ("pending reminder", "pending_reminder", None),
    ("closed successful", "closed", None),
    ("closed unsuccessful", "closed", None),
    ("pending auto close+", "pending_auto", "closed successful"),
    ("pending auto close-", "pending_auto", "closed unsuccessful"),
    ("merged", "merged", None),
)


def ensure_default_states(session: Session) -> None:
    """Create the default states that do not exist yet (idempotent)."""
    existing = {s.name: s for s in session.scalars(select(State))}
    for name, type_, _ in DEFAULT_STATES:
        if name not in existing:
            existing[name] = State(name=name, type=type_)
            session.add(existing[name])
    session.flush()
    for name, _, next_name in DEFAULT_STATES:
        if next_name and existing[name].next_state_id is None:
            existing[name].next_state_id = existing[next_name].id
    session.flush()


def get_state(session: Session, name: str) -> State:
    """The state called ``name``."""
    state = session.scalar(select(State).where(State.name == name))
    if state is None:
        raise NotFound(N_("no state named %(name)r"), name=name)
    return state


def first_state_of_type(session: Session, type_: str) -> State:
    """The oldest valid state of ``type_`` (``merged`` for merging, ``open`` for reopening)."""
    state = session.scalar(select(State).where(State.type == type_, State.valid.is_(True)).order_by(State.id))
    if state is None:
        raise NotFound(N_("no valid state of type %(type)r"), type=type_)
    return state


def list_states(session: Session) -> Sequence[State]:
    """All states, in creation order."""
    return session.scalars(select(State).order_by(State.id)).all()


def create_state(
    session: Session,
    *,
    actor: Actor,
    name: str,
    type: str,
    next_state: State | None = None,
) -> State:
    """Add a state inside one of the fixed state types (administrators only)."""
    require_admin(session, actor)
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["a state needs a name"]
    if type not in STATE_TYPES:
        errors["type"] = [FieldMessage(N_("must be one of %(choices)s"), choices=", ".join(STATE_TYPES))]
    if type == "pending_auto" and next_state is None:
        errors["next_state"] = ["a pending-auto state needs the state it changes to"]
    if errors:
        raise ValidationError("invalid state", errors=errors)
    if session.scalar(select(State.id).where(State.name == name)) is not None:
        raise Conflict(N_("a state named %(name)r exists already"), name=name)
    state = State(name=name, type=type, next_state_id=next_state.id if next_state else None)
    session.add(state)
    session.flush()
    return state
