"""Which ticket a mail belongs to, and how its sender relates to that ticket.

A mail follows up a ticket when its In-Reply-To or References name a Message-ID we stored
or sent (a strong match), or when its subject carries a valid ticket number after the ticket
hook, e.g. ``[Ticket#2026112210000017]`` (a weak match: anyone can type a number).

**The rule for unrelated senders.**  Only mail from the ticket's customer (or, when the
customer sees company tickets, a colleague of the same company) becomes visible to the
customer.  Mail from an address the ticket was forwarded to is the external specialist's
reply; it stays internal.  Mail from anyone else — however it found the ticket — is added as
an internal article marked as coming from an unrelated sender, never shown to the customer,
and it neither reopens the ticket nor wakes its process.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import get_settings
from desk.agent.models import Agent
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from desk.ticket.numbers import is_valid_number
from mail.inbound.parse import ParsedMail

Relation = Literal["customer", "external", "agent", "unrelated"]
_TOKEN = re.compile(r"\[Req#([0-9a-f]{6,32})\]", re.IGNORECASE)


def ticket_by_headers(session: Session, parsed: ParsedMail) -> Ticket | None:
    """The ticket whose stored or sent Message-ID the mail answers."""
    ids = [i for i in [parsed.in_reply_to, *reversed(parsed.references)] if i]
    if not ids:
        return None
    ticket_id = session.scalar(select(Article.ticket_id).where(Article.message_id.in_(ids)).limit(1))
    if ticket_id is None:
        ticket_id = session.scalar(
            select(OutboxMessage.ticket_id).where(OutboxMessage.message_id.in_(ids)).limit(1)
        )
    return session.get(Ticket, ticket_id) if ticket_id is not None else None


def ticket_by_subject(session: Session, subject: str) -> Ticket | None:
    """The ticket whose number follows the ticket hook in ``subject``."""
    hook = re.escape(get_settings().ticket_hook)
    for match in re.finditer(hook + r"\s*:?\s*(\d{16,24})", subject, re.IGNORECASE):
        number = match.group(1)
        if is_valid_number(number):
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is not None:
                return ticket
    return None


def request_token(subject: str) -> str | None:
    """The specialist request token in a subject (``[Req#…]``), if any."""
    found = _TOKEN.search(subject)
    return found.group(1).lower() if found else None


def sender_relation(session: Session, ticket: Ticket, address: str) -> Relation:
    """How the sender ``address`` relates to ``ticket`` (see the module docstring)."""
    address = address.strip().lower()
    if not address:
        return "unrelated"
    customer = ticket.customer_user
    if customer is not None and customer.email.lower() == address:
        return "customer"
    if ticket.customer_company_id is not None:
        colleague = session.scalar(
            select(CustomerUser).where(
                func.lower(CustomerUser.email) == address,
                CustomerUser.company_id == ticket.customer_company_id,
                CustomerUser.sees_company_tickets.is_(True),
            )
        )
        if colleague is not None:
            return "customer"
    forwarded = session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.ticket_id == ticket.id, func.lower(OutboxMessage.to_addr) == address)
        .limit(1)
    )
    if forwarded is not None and (customer is None or customer.email.lower() != address):
        return "external"
    if session.scalar(select(Agent.id).where(func.lower(Agent.email) == address)) is not None:
        return "agent"
    return "unrelated"
