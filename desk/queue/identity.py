"""Whom a queue's mail comes from: its system address and display name.

A queue without an address sends as its nearest parent that has one, else as the
configured default sender (``TICKETFLOW_DEFAULT_SENDER``), else as the desk's first system
address (the oldest valid queue with one).  Never a made-up placeholder: with no address
anywhere, sending is refused and an administrator is told which queue needs one.
The display name follows the same chain (own, then the parents'), so customers read
"Acme Support", never the internal queue path.
"""

from __future__ import annotations

from email.headerregistry import Address

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.errors import FieldMessage, ValidationError
from core.i18n import N_
from desk.queue.models import Queue


def _lineage(queue: Queue) -> list[Queue]:
    """The queue and its ancestors, nearest first (a cycle stops the walk)."""
    chain: list[Queue] = []
    current: Queue | None = queue
    while current is not None and current not in chain:
        chain.append(current)
        current = current.parent
    return chain


def sender_address(session: Session, queue: Queue) -> str | None:
    """The address ``queue`` sends from, or None when there is none to be had."""
    for candidate in _lineage(queue):
        if candidate.system_address:
            return candidate.system_address
    return desk_address(session)


def desk_address(session: Session) -> str | None:
    """The address the desk itself sends from (sign-in links, reports): the configured
    default sender, else the first system address; None when the desk has none."""
    configured = get_settings().default_sender
    if configured:
        return configured
    return session.scalar(
        select(Queue.system_address)
        .where(Queue.system_address.is_not(None), Queue.valid.is_(True))
        .order_by(Queue.id)
        .limit(1)
    )


def desk_from(session: Session) -> str:
    """:func:`desk_address`, refused when the desk has no address at all (never a placeholder)."""
    address = desk_address(session)
    if not address:
        raise ValidationError(
            "no sender address",
            errors={
                "system_address": ["the desk has no address to send from: set TICKETFLOW_DEFAULT_SENDER"]
            },
        )
    return address


def display_name(queue: Queue) -> str:
    """The name customers see for ``queue`` ("" when neither it nor a parent has one)."""
    for candidate in _lineage(queue):
        if candidate.display_name:
            return candidate.display_name
    return ""


def from_header(session: Session, queue: Queue) -> str:
    """``Display Name <address>`` for the From of the queue's mail; refused without an address."""
    address = sender_address(session, queue)
    if not address:
        raise ValidationError(
            N_("no sender address"),
            errors={
                "system_address": [
                    FieldMessage(
                        N_(
                            "the queue %(queue)s has no system address to send from: give it or a "
                            "parent queue one, or set TICKETFLOW_DEFAULT_SENDER"
                        ),
                        queue=queue.name,
                    )
                ]
            },
        )
    name = display_name(queue)
    # Address quotes the name where needed and keeps it Unicode; the mail's policy encodes
    # it (RFC 2047) when the mail is composed.
    return str(Address(display_name=name, addr_spec=address)) if name else address
