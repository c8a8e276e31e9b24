"""The queue's automatic answers: to a new ticket, a follow-up, a rejected follow-up.

Sent whatever channel the customer used (a mail, a web or API ticket, a phone ticket), as
OTRS does with its auto responses for web tickets switched on.  Never to our own addresses,
and never more than :data:`HOURLY_CAP` automatic mails to one recipient within an hour: two
auto-responders must not answer each other forever.  The mail channel adds its own reasons
(RFC 3834: automatic mail, lists, bounces, robots) as ``refused_because``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import get_settings
from core.db import utcnow
from desk.actor import SYSTEM
from desk.article import reply as mail
from desk.article.models import Article
from desk.history import service as history
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.template import service as templates
from desk.template import variants
from desk.template.models import AutoResponse
from desk.ticket.models import Ticket

log = logging.getLogger(__name__)

HOURLY_CAP = 10


@dataclass(frozen=True)
class AnswerTo:
    """Whom an automatic answer goes to and how it threads; ``refused_because`` stops it."""

    recipient: str
    in_reply_to: str | None = None
    references: str | None = None
    refused_because: str | None = None


def answer(session: Session, *, ticket: Ticket, kind: str, to: AnswerTo | None = None) -> Article | None:
    """Send the queue's automatic answer of ``kind`` (none configured: nothing happens).

    Without ``to`` it goes to the ticket's customer, in the customer's language when the
    answer has a variant in it, from the queue's display name and address.  A refused answer is noted in the
    ticket's history with the reason, so nobody wonders why the customer got none.
    """
    response = session.scalar(
        select(AutoResponse).where(
            AutoResponse.queue_id == ticket.queue_id, AutoResponse.kind == kind, AutoResponse.valid.is_(True)
        )
    )
    if response is None:
        return None
    if to is None:
        customer = ticket.customer_user
        if customer is None or not customer.email:
            return None
        to = AnswerTo(recipient=customer.email)
    reason = to.refused_because
    if reason is None and is_own_address(session, to.recipient):
        reason = "our own address"
    if reason is None and over_hourly_cap(session, recipient=to.recipient):
        reason = f"more than {HOURLY_CAP} automatic mails to {to.recipient} within an hour"
    if reason is not None:
        log.info("no automatic %s answer for ticket %s: %s", kind, ticket.number, reason)
        history.record(
            session,
            ticket=ticket,
            actor=SYSTEM,
            type="ProcessMessage",
            new=f"no automatic answer ({kind})",
            comment=reason,
        )
        return None
    context = templates.template_context(ticket, None)
    # In the customer's language when the answer has a variant in it (else the default).
    customer = ticket.customer_user
    wording = variants.pick(
        session,
        owner_type="auto_response",
        owner_id=response.id,
        language=customer.language if customer else None,
        text=response.text,
        subject=response.subject,
    )
    subject = " ".join(templates.render(wording.subject or response.subject, context).split())
    if ticket.number not in subject:
        subject = mail.reply_subject(ticket, subject)
    return mail.mail_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        to_addr=to.recipient,
        subject=subject,
        body_text=templates.render(wording.text, context),
        visible_for_customer=True,
        in_reply_to=to.in_reply_to,
        references=to.references,
        auto_submitted="auto-replied",
    )


def is_own_address(session: Session, address: str) -> bool:
    """True for the system addresses of our queues and the default sender (never answer ourselves)."""
    if address.lower() == (get_settings().default_sender or ""):
        return True
    found = session.scalar(select(Queue.id).where(func.lower(Queue.system_address) == address.lower()))
    return found is not None


def over_hourly_cap(session: Session, *, recipient: str, cap: int = HOURLY_CAP) -> bool:
    """True when ``recipient`` already got ``cap`` automatic mails from us in the last hour."""
    since = utcnow() - timedelta(hours=1)
    sent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            func.lower(OutboxMessage.to_addr) == recipient.lower(),
            OutboxMessage.auto_submitted.is_not(None),
            OutboxMessage.created_at >= since,
        )
    )
    return int(sent or 0) >= cap
