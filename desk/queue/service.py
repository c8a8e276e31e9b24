"""Creating and finding queues."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound, ValidationError
from desk.actor import Actor
from desk.agent.models import Group
from desk.permission.service import require_admin
from desk.queue.models import FOLLOW_UP_POLICIES, QUEUE_SEPARATOR, Queue


def create_queue(
    session: Session,
    *,
    actor: Actor,
    name: str,
    group: Group,
    system_address: str | None = None,
    follow_up_policy: str = "reopen",
    unlock_timeout_minutes: int = 0,
    first_response_minutes: int = 0,
    update_minutes: int = 0,
    solution_minutes: int = 0,
    comment: str = "",
    customer_facing: bool = False,
) -> Queue:
    """Create a queue; for ``Parent::Child`` the parent queue must exist.

    ``customer_facing`` queues are offered to customers (API, portal) for new tickets.
    """
    require_admin(session, actor)
    parts = [part.strip() for part in name.split(QUEUE_SEPARATOR)]
    errors: dict[str, list[str]] = {}
    if not all(parts):
        errors["name"] = ["every part of a queue path needs a name (e.g. Board::Treasurer)"]
    if follow_up_policy not in FOLLOW_UP_POLICIES:
        errors["follow_up_policy"] = [f"must be one of {', '.join(FOLLOW_UP_POLICIES)}"]
    numbers = {
        "unlock_timeout_minutes": unlock_timeout_minutes,
        "first_response_minutes": first_response_minutes,
        "update_minutes": update_minutes,
        "solution_minutes": solution_minutes,
    }
    for field, value in numbers.items():
        if value < 0:
            errors[field] = ["cannot be negative"]
    if errors:
        raise ValidationError("invalid queue", errors=errors)
    full_name = QUEUE_SEPARATOR.join(parts)
    if session.scalar(select(Queue.id).where(Queue.name == full_name)) is not None:
        raise Conflict(f"a queue named {full_name!r} exists already")
    parent = None
    if len(parts) > 1:
        parent_name = QUEUE_SEPARATOR.join(parts[:-1])
        parent = session.scalar(select(Queue).where(Queue.name == parent_name))
        if parent is None:
            raise ValidationError(
                "invalid queue", errors={"name": [f"create the parent queue {parent_name} first"]}
            )
    address = system_address.strip().lower() if system_address else None
    if address and session.scalar(select(Queue.id).where(Queue.system_address == address)):
        raise Conflict(f"the address {address} belongs to another queue")
    queue = Queue(
        name=full_name,
        parent=parent,
        group=group,
        system_address=address,
        follow_up_policy=follow_up_policy,
        comment=comment,
        customer_facing=customer_facing,
        **numbers,
    )
    session.add(queue)
    session.flush()
    return queue


def get_queue(session: Session, *, name: str) -> Queue:
    """The queue with the full path ``name``."""
    queue = session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        raise NotFound(f"no queue named {name!r}")
    return queue


def list_queues(session: Session) -> Sequence[Queue]:
    """All queues in path order (parents before children)."""
    return session.scalars(select(Queue).order_by(Queue.name)).all()
