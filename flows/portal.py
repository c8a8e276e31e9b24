"""The customer portal's own use cases: the sign-in link, closing and reopening a ticket.

What a customer writes in the portal is :func:`flows.customer_message.customer_message` and a
new ticket is :func:`flows.open_ticket.open_ticket`, exactly as by mail or through the API;
this module holds only what the portal adds.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from desk.customer.models import CustomerUser
from desk.outbox import service as outbox
from desk.portal import service as portal
from desk.queue import identity
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from flows import process_events
from flows.open_ticket import start_default_process

# The mail of a sign-in link for a customer and its token: (subject, text), in their language.
LinkMail = Callable[[CustomerUser, str], tuple[str, str]]


def send_sign_in_link(session: Session, *, email: str, compose: LinkMail) -> bool:
    """Mail a one-time sign-in link to the valid customer user with ``email``.

    Returns whether a mail was queued; the page says the same either way, so nobody learns
    which addresses are customers.  The mail goes through the outbox like every other.
    """
    customer = portal.find_customer(session, email=email)
    if customer is None:
        return False
    token = portal.create_link(session, customer=customer)
    subject, text = compose(customer, token)
    outbox.queue_mail(
        session,
        ticket=None,
        article=None,
        from_addr=identity.desk_from(session),
        to_addr=customer.email,
        subject=subject,
        body_text=text,
        auto_submitted="auto-generated",
    )
    return True


def close(session: Session, *, actor: CustomerUser, ticket: Ticket) -> None:
    """The customer closes their own ticket; its processes end as on any close."""
    portal.close_by_customer(session, actor=actor, ticket=ticket)
    process_events.ticket_closed(
        session, ticket=ticket, actor=actor, reason="the customer closed the ticket in the portal"
    )


def reopen(session: Session, *, actor: CustomerUser, ticket: Ticket) -> None:
    """The customer reopens their closed ticket where the queue reopens follow-ups.

    The ended process does not come back: the reopened ticket gets a new default process,
    as a reopening mail would give it.
    """
    portal.require_reopenable(session, actor=actor, ticket=ticket)
    tickets.reopen(session, actor=actor, ticket=ticket)
    if not process_events.running_instances(session, ticket=ticket):
        start_default_process(session, ticket=ticket)
