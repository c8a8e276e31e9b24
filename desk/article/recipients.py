"""The customer-contact rule for outgoing mail: who counts as a customer among the recipients.

An agent (or an agent with a role) flagged as not allowed to contact customers must not
reach them by mail on any path: not by a reply, and not by naming a customer's address as
the target of a forward or as an "external specialist".  A recipient is a customer when it
is the ticket's customer, an address the customer side wrote from or copied in (From and Cc
of the ticket's customer articles, except our own addresses), or any known customer user.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import getaddresses

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, PermissionDenied
from core.i18n import N_
from desk.actor import Actor
from desk.agent.models import Agent
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.ticket.models import Ticket


def addresses(*fields: str) -> list[str]:
    """The bare, lower-cased addresses of address header values (``"A <a@x>, b@y"``)."""
    return [addr.strip().lower() for _, addr in getaddresses([f for f in fields if f]) if addr.strip()]


def ticket_customer_addresses(session: Session, *, ticket: Ticket) -> set[str]:
    """The ticket's customer and the addresses the customer side used or copied in."""
    found: set[str] = set()
    if ticket.customer_user is not None and ticket.customer_user.email:
        found.add(ticket.customer_user.email.strip().lower())
    rows = session.execute(
        select(Article.from_addr, Article.cc_addr).where(
            Article.ticket_id == ticket.id, Article.sender_type == "customer"
        )
    ).all()
    for from_addr, cc_addr in rows:
        found.update(addresses(from_addr, cc_addr))
    # A customer's Cc often names our own address as well; that is not the customer.
    own = {
        a.strip().lower()
        for a in session.scalars(select(Queue.system_address).where(Queue.system_address.is_not(None)))
        if a
    }
    return found - own


def customer_recipients(session: Session, *, ticket: Ticket, recipients: Iterable[str]) -> list[str]:
    """Those of ``recipients`` (bare addresses) who are customers, in their order."""
    wanted = list(dict.fromkeys(r.strip().lower() for r in recipients if r.strip()))
    if not wanted:
        return []
    related = ticket_customer_addresses(session, ticket=ticket)
    known = set(
        session.scalars(
            select(func.lower(CustomerUser.email)).where(func.lower(CustomerUser.email).in_(wanted))
        )
    )
    return [r for r in wanted if r in related or r in known]


def require_may_mail(
    session: Session, *, actor: Actor, ticket: Ticket, to_addr: str, cc_addr: str = ""
) -> None:
    """Refuse mail to customers (To or Cc) by an actor who may not contact customers.

    The system (automatic answers, process mail without an agent) and agents who may contact
    customers pass without a look at the addresses.
    """
    if permissions.may_contact_customers(actor):
        return
    customers = customer_recipients(session, ticket=ticket, recipients=addresses(to_addr, cc_addr))
    if not customers:
        return
    who = actor.login if isinstance(actor, Agent) else "this actor"
    listed = ", ".join(customers)
    raise PermissionDenied(
        N_("%(who)s may not write to customers, and %(listed)s is a customer's address"),
        errors={
            "to": [
                FieldMessage(N_("%(address)s is a customer's address"), address=address)
                for address in customers
            ]
        },
        who=who,
        listed=listed,
    )
