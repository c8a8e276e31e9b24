"""Queueing outgoing mail.  Delivery (SMTP or the outbox folder) belongs to the mail package."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from desk.article.models import Article
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket

# The sender of mail from a queue without a system address.
DEFAULT_SENDER = "helpdesk@ticketflow.local"


def new_message_id(domain: str = "ticketflow.local") -> str:
    """A fresh, globally unique Message-ID, short enough never to be folded."""
    return f"<{utcnow().strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}@{domain}>"


def queue_mail(
    session: Session,
    *,
    ticket: Ticket | None,
    article: Article | None,
    from_addr: str,
    to_addr: str,
    subject: str,
    body_text: str,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    auto_submitted: str | None = None,
) -> OutboxMessage:
    """Add a mail to the outbox in the caller's transaction."""
    message = OutboxMessage(
        ticket_id=ticket.id if ticket else None,
        article_id=article.id if article else None,
        from_addr=from_addr,
        to_addr=to_addr,
        subject=subject,
        body_text=body_text,
        message_id=message_id or new_message_id(),
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
    )
    session.add(message)
    session.flush()
    return message


def delivery_by_article(session: Session, *, ticket: Ticket) -> dict[int, OutboxMessage]:
    """The outbox row of each of the ticket's articles that was sent as mail, by article id."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.ticket_id == ticket.id, OutboxMessage.article_id.is_not(None))
        .order_by(OutboxMessage.id)
    )
    return {row.article_id: row for row in rows if row.article_id is not None}
