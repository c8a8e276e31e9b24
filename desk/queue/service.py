"""Creating, changing and finding queues (the tree ``Parent::Child``).

Administrators only.  Every change leaves one audit entry with the fields that changed;
a rename or move carries the children's paths along.  Queues are never deleted, only
switched off (``valid``).  Which process a queue starts is checked against the deployed
processes by :mod:`flows.queue_admin`; the desk cannot see the engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, FieldMessage, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Group
from desk.audit import service as audit
from desk.permission.service import all_queues, require_admin
from desk.queue import identity
from desk.queue.models import FOLLOW_UP_POLICIES, QUEUE_SEPARATOR, TIME_ACCOUNTING_POLICIES, Queue

# About 19 years: more is a typo, and the columns are 32-bit integers.
MAX_MINUTES = 10_000_000
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _number_errors(numbers: dict[str, int]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value in numbers.items():
        if value < 0:
            errors[field] = ["cannot be negative"]
        elif value > MAX_MINUTES:
            errors[field] = [FieldMessage(N_("at most %(num)s minutes"), num=MAX_MINUTES)]
    return errors


def _check(
    session: Session,
    *,
    queue: Queue | None,
    full_name: str,
    parts: list[str],
    address: str | None,
    follow_up_policy: str,
    numbers: dict[str, int],
    display_name: str | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not all(parts):
        errors["name"] = ["every part of a queue path needs a name (e.g. Board::Treasurer)"]
    elif len(full_name) > 400:
        errors["name"] = ["the path is too long (400 characters)"]
    else:
        taken = session.scalar(select(Queue.id).where(Queue.name == full_name))
        if taken is not None and (queue is None or taken != queue.id):
            errors["name"] = [FieldMessage(N_("a queue named %(name)s exists already"), name=full_name)]
    if follow_up_policy not in FOLLOW_UP_POLICIES:
        errors["follow_up_policy"] = [
            FieldMessage(N_("must be one of %(choices)s"), choices=", ".join(FOLLOW_UP_POLICIES))
        ]
    errors.update(_number_errors(numbers))
    if address is not None:
        if not _ADDRESS.match(address) or len(address) > 320:
            errors["system_address"] = ["enter an e-mail address like support@example.com"]
        else:
            owner = session.scalar(select(Queue).where(func.lower(Queue.system_address) == address))
            if owner is not None and (queue is None or owner.id != queue.id):
                errors["system_address"] = [
                    FieldMessage(N_("the address belongs to the queue %(queue)s"), queue=owner.name)
                ]
    if display_name is not None and (len(display_name) > 200 or any(c in display_name for c in "\r\n<>")):
        errors["display_name"] = ["at most 200 characters, no line breaks or angle brackets"]
    return errors


def _snapshot(queue: Queue) -> dict[str, object]:
    return {
        "name": queue.name,
        "group": queue.group.name if queue.group else None,
        "system_address": queue.system_address,
        "display_name": queue.display_name,
        "follow_up_policy": queue.follow_up_policy,
        "unlock_timeout_minutes": queue.unlock_timeout_minutes,
        "first_response_minutes": queue.first_response_minutes,
        "update_minutes": queue.update_minutes,
        "solution_minutes": queue.solution_minutes,
        "salutation_id": queue.salutation_id,
        "signature_id": queue.signature_id,
        "comment": queue.comment,
        "customer_facing": queue.customer_facing,
        "process_id": queue.process_id,
        "time_accounting": queue.time_accounting,
        "valid": queue.valid,
    }


def _check_time_accounting(policy: str | None) -> dict[str, list[str]]:
    """An error on ``time_accounting`` unless ``policy`` is None (unchanged) or a known one."""
    if policy is None or policy in TIME_ACCOUNTING_POLICIES:
        return {}
    return {
        "time_accounting": [
            FieldMessage(N_("must be one of %(choices)s"), choices=", ".join(TIME_ACCOUNTING_POLICIES))
        ]
    }


def _require_sender(session: Session, queue: Queue) -> None:
    """A customer-facing queue answers customers: it must have an address to send from."""
    session.flush()
    if queue.customer_facing and identity.sender_address(session, queue) is None:
        raise ValidationError(
            "no sender address",
            errors={
                "system_address": [
                    "a customer-facing queue needs an address to send from (its own, a parent's, "
                    "or TICKETFLOW_DEFAULT_SENDER)"
                ]
            },
        )


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
    display_name: str | None = None,
    salutation_id: int | None = None,
    signature_id: int | None = None,
    process_id: str | None = None,
    valid: bool = True,
    time_accounting: str = "off",
) -> Queue:
    """Create a queue; for ``Parent::Child`` the parent queue must exist.

    ``customer_facing`` queues are offered to customers (API, portal) for new tickets and
    need an address to send from.  The web page and ``ticketflow queue create`` call this.
    """
    require_admin(session, actor)
    parts = [part.strip() for part in name.split(QUEUE_SEPARATOR)]
    full_name = QUEUE_SEPARATOR.join(parts)
    address = system_address.strip().lower() if system_address and system_address.strip() else None
    display = display_name.strip() if display_name and display_name.strip() else None
    numbers = {
        "unlock_timeout_minutes": unlock_timeout_minutes,
        "first_response_minutes": first_response_minutes,
        "update_minutes": update_minutes,
        "solution_minutes": solution_minutes,
    }
    errors = _check(
        session,
        queue=None,
        full_name=full_name,
        parts=parts,
        address=address,
        follow_up_policy=follow_up_policy,
        numbers=numbers,
        display_name=display,
    )
    errors.update(_check_time_accounting(time_accounting))
    if "name" in errors and all(parts) and len(full_name) <= 400:
        # Kept as a conflict for the CLI and API, which say "exists already" as 409.
        raise Conflict(N_("a queue named %(name)r exists already"), name=full_name)
    parent = None
    if not errors and len(parts) > 1:
        parent_name = QUEUE_SEPARATOR.join(parts[:-1])
        parent = session.scalar(select(Queue).where(Queue.name == parent_name))
        if parent is None:
            errors["name"] = [FieldMessage(N_("create the parent queue %(queue)s first"), queue=parent_name)]
    if errors:
        raise ValidationError("invalid queue", errors=errors)
    queue = Queue(
        name=full_name,
        parent=parent,
        group=group,
        system_address=address,
        display_name=display,
        follow_up_policy=follow_up_policy,
        comment=comment,
        customer_facing=customer_facing,
        salutation_id=salutation_id,
        signature_id=signature_id,
        process_id=process_id or None,
        valid=valid,
        time_accounting=time_accounting,
        **numbers,
    )
    session.add(queue)
    _require_sender(session, queue)
    audit.record(
        session,
        actor=actor,
        object_type="queue",
        object_id=queue.id,
        action="create",
        object_label=queue.name,
        new={k: v for k, v in _snapshot(queue).items() if v not in (None, "", 0)},
    )
    return queue


def descendants(session: Session, queue: Queue) -> Sequence[Queue]:
    """The queues below ``queue`` (children, grandchildren…), in path order."""
    prefix = queue.name + QUEUE_SEPARATOR
    return session.scalars(
        select(Queue).where(func.substr(Queue.name, 1, len(prefix)) == prefix).order_by(Queue.name)
    ).all()


def update_queue(
    session: Session,
    *,
    actor: Actor,
    queue: Queue,
    name: str,
    parent: Queue | None,
    group: Group,
    system_address: str | None,
    display_name: str | None,
    follow_up_policy: str,
    unlock_timeout_minutes: int,
    customer_facing: bool,
    valid: bool,
    salutation_id: int | None,
    signature_id: int | None,
    process_id: str | None,
    comment: str | None = None,
    time_accounting: str | None = None,
) -> Queue:
    """Change a queue: ``name`` is its own part of the path, ``parent`` where it hangs.

    Renaming or moving a queue renames its descendants with it (``A::B`` under a renamed
    ``A`` becomes ``C::B``).  A queue cannot move below itself.
    """
    require_admin(session, actor)
    short = name.strip()
    errors: dict[str, list[str]] = {}
    if QUEUE_SEPARATOR in short:
        errors["name"] = ["the name is one part of the path; choose the parent below"]
    below = descendants(session, queue)
    if parent is not None and (parent.id == queue.id or parent in below):
        errors["parent"] = ["a queue cannot be moved below itself"]
    full_name = f"{parent.name}{QUEUE_SEPARATOR}{short}" if parent is not None else short
    address = system_address.strip().lower() if system_address and system_address.strip() else None
    display = display_name.strip() if display_name and display_name.strip() else None
    errors = {
        **_check(
            session,
            queue=queue,
            full_name=full_name,
            parts=[short],
            address=address,
            follow_up_policy=follow_up_policy,
            numbers={"unlock_timeout_minutes": unlock_timeout_minutes},
            display_name=display,
        ),
        **_check_time_accounting(time_accounting),
        **errors,
    }
    if errors:
        raise ValidationError("invalid queue", errors=errors)
    before = _snapshot(queue)
    old_name = queue.name
    queue.name, queue.parent, queue.group = full_name, parent, group
    queue.system_address, queue.display_name = address, display
    queue.follow_up_policy, queue.unlock_timeout_minutes = follow_up_policy, unlock_timeout_minutes
    queue.customer_facing, queue.valid = customer_facing, valid
    queue.salutation_id, queue.signature_id = salutation_id, signature_id
    queue.process_id = process_id or None
    if comment is not None:
        queue.comment = comment
    if time_accounting is not None:
        queue.time_accounting = time_accounting
    if old_name != full_name:
        for child in below:
            child.name = full_name + child.name[len(old_name) :]
    _require_sender(session, queue)
    old, new = audit.changes(before, _snapshot(queue))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="queue",
            object_id=queue.id,
            action="update",
            object_label=queue.name,
            old=old,
            new=new,
        )
    return queue


def get_queue(session: Session, *, name: str) -> Queue:
    """The queue with the full path ``name``."""
    queue = session.scalar(select(Queue).where(Queue.name == name))
    if queue is None:
        raise NotFound(N_("no queue named %(name)r"), name=name)
    return queue


def list_queues(session: Session) -> Sequence[Queue]:
    """All queues in path order (parents before children)."""
    # The same list the permission checks read: one statement per unit of work that opted in.
    return all_queues(session)
