"""Portal sign-in for customer users: sessions, one-time links, and the customer's close.

Sessions and links store only the hash of their token.  A link expires after
:data:`LINK_LIFETIME` and opens exactly one session: redeeming it is a conditional update
on ``used_at``, so two clicks racing each other cannot both win.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Conflict, NotFound
from core.security import hash_token, new_token
from desk.actor import Actor
from desk.customer.models import CustomerUser
from desk.history import service as history
from desk.permission import service as permissions
from desk.portal.models import CustomerSession, SignInLink
from desk.ticket import states
from desk.ticket.models import Ticket

LINK_LIFETIME = timedelta(minutes=15)
# As for agents: "last seen" is written at most once a minute.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


def start_session(
    session: Session, *, customer: CustomerUser, lifetime: timedelta
) -> tuple[CustomerSession, str]:
    """Open a portal session for ``customer``; returns it and the token for the cookie.

    The customer's ended sessions are cleared out here, so the table does not grow for ever.
    """
    now = utcnow()
    session.execute(
        delete(CustomerSession).where(
            CustomerSession.customer_user_id == customer.id,
            or_(CustomerSession.revoked_at.is_not(None), CustomerSession.created_at < now - lifetime),
        )
    )
    token = new_token()
    row = CustomerSession(
        token_hash=hash_token(token), customer_user_id=customer.id, created_at=now, last_seen_at=now
    )
    session.add(row)
    session.flush()
    return row, token


def find_session(
    session: Session, *, token: str, idle: timedelta, lifetime: timedelta
) -> CustomerSession | None:
    """The live session with ``token`` of a valid customer user, else None."""
    row = session.scalar(select(CustomerSession).where(CustomerSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle or now - row.created_at > lifetime or not row.customer_user.valid:
        row.revoked_at = now
        session.flush()
        return None
    if now - row.last_seen_at >= SESSION_TOUCH_INTERVAL:
        row.last_seen_at = now
        session.flush()
    return row


def end_session(session: Session, *, customer_session: CustomerSession) -> None:
    """Sign one browser out of the portal."""
    if customer_session.revoked_at is None:
        customer_session.revoked_at = utcnow()
        session.flush()


def create_link(session: Session, *, customer: CustomerUser) -> str:
    """A new one-time sign-in token for ``customer`` (only its hash is stored)."""
    now = utcnow()
    # Used and expired links are of no further use: cleared out so the table stays small.
    session.execute(
        delete(SignInLink).where(
            SignInLink.customer_user_id == customer.id,
            or_(SignInLink.used_at.is_not(None), SignInLink.expires_at < now),
        )
    )
    token = new_token()
    session.add(
        SignInLink(
            token_hash=hash_token(token),
            customer_user_id=customer.id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.flush()
    return token


def redeem_link(session: Session, *, token: str) -> CustomerUser:
    """The customer whose unused, unexpired link ``token`` is; marks the link used.

    Raises :class:`NotFound` for an unknown, used or expired link and for a customer user
    who is no longer valid.
    """
    now = utcnow()
    result = session.execute(
        update(SignInLink)
        .where(
            SignInLink.token_hash == hash_token(token),
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInLink.customer_user_id)
    )
    customer_id = result.scalar_one_or_none()
    customer = session.get(CustomerUser, customer_id) if customer_id is not None else None
    if customer is None or not customer.valid:
        raise NotFound("this sign-in link is not valid any more; please ask for a new one")
    return customer


def may_close(actor: Actor, ticket: Ticket) -> bool:
    """True when a customer may close ``ticket`` themself: their own ticket, not closed."""
    return (
        isinstance(actor, CustomerUser)
        and actor.valid
        and ticket.customer_user_id == actor.id
        and ticket.state.type not in ("closed", "merged")
    )


def may_reopen(actor: Actor, ticket: Ticket) -> bool:
    """True when a customer may reopen ``ticket``: their own closed ticket, in a queue that reopens."""
    return (
        isinstance(actor, CustomerUser)
        and actor.valid
        and ticket.customer_user_id == actor.id
        and ticket.state.type == "closed"
        and ticket.queue.follow_up_policy == "reopen"
    )


def close_by_customer(session: Session, *, actor: CustomerUser, ticket: Ticket) -> None:
    """The customer closes their own ticket (*closed successful*): the problem is solved.

    A colleague's ticket (seen through the company) is not theirs to close.
    """
    permissions.require_ticket_read(session, actor, ticket)
    if not may_close(actor, ticket):
        raise Conflict("only the customer who opened an open ticket can close it")
    old = ticket.state.name
    ticket.state = states.get_state(session, "closed successful")
    ticket.pending_until = None
    holder = ticket.locked_by.login if ticket.locked_by else None
    ticket.locked_by = None
    ticket.locked_at = None
    session.flush()
    if holder is not None:
        history.record(
            session,
            ticket=ticket,
            actor=actor,
            type="Unlock",
            old=f"lock ({holder})",
            new="unlock",
            comment="unlocked on close",
        )
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="StateUpdate",
        old=old,
        new=ticket.state.name,
        comment="closed by the customer in the portal",
    )


def require_reopenable(session: Session, *, actor: CustomerUser, ticket: Ticket) -> None:
    """Raise unless the customer may reopen ``ticket`` (the queue's follow-up policy decides)."""
    permissions.require_ticket_read(session, actor, ticket)
    if not may_reopen(actor, ticket):
        raise Conflict("this ticket cannot be reopened; please open a new ticket")


def find_customer(session: Session, *, email: str) -> CustomerUser | None:
    """The valid customer user with this address, else None."""
    user = session.scalar(
        select(CustomerUser)
        .where(func.lower(CustomerUser.email) == email.strip().lower(), CustomerUser.valid.is_(True))
        .order_by(CustomerUser.id)
        .limit(1)
    )
    return user
