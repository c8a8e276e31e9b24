"""Queueing outgoing mail.  Delivery (SMTP or the outbox folder) belongs to the mail package.

A row of a ticket's mail names its e-mail article, which holds the content; the row holds
the envelope, the Message-ID and the delivery state.  Mail that belongs to no article
carries its own subject and text, and at most one file: its bytes are a blob the row
names, so every retry sends the same bytes.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from desk.article.models import Article
from desk.blob import service as blobs
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket

# Kept for mail that belongs to no queue (flows.portal's sign-in links).  A ticket's mail
# never uses it: it is sent as the queue's identity (desk.queue.identity).
DEFAULT_SENDER = "helpdesk@ticketflow.local"


def new_message_id(domain: str = "ticketflow.local") -> str:
    """A fresh, globally unique Message-ID, short enough never to be folded."""
    return f"<{utcnow().strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}@{domain}>"


_FILE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}$")


def attached_file(message: OutboxMessage) -> tuple[str, str] | None:
    """(file name, blob SHA-256) of the file an article-less row carries, or None."""
    if message.article_id is not None or not message.file_name or not message.file_sha256:
        return None
    return message.file_name, message.file_sha256


def queue_mail(
    session: Session,
    *,
    ticket: Ticket | None,
    article: Article | None,
    from_addr: str,
    to_addr: str,
    cc_addr: str = "",
    subject: str | None = None,
    body_text: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    auto_submitted: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> OutboxMessage:
    """Add a mail to the outbox in the caller's transaction.

    With ``article`` the mail is composed from the article when it is sent, and ``subject``,
    ``body_text``, ``in_reply_to`` and ``references`` are not stored (the article has them);
    without one, ``subject`` and ``body_text`` are required, and ``attachment`` (an ASCII
    file name of letters, digits, ``.``, ``_`` and ``-``, and the bytes) adds one file.
    """
    if article is None and (subject is None or body_text is None):
        raise ValueError("a mail without an article needs a subject and a text")
    file_name: str | None = None
    file_sha256: str | None = None
    if attachment is not None:
        file_name, data = attachment
        if article is not None or not _FILE_NAME.match(file_name):
            raise ValueError("a file goes only with a mail without an article, under a plain name")
        file_sha256 = blobs.store(session, data=data)
    own = article is None
    message = OutboxMessage(
        ticket_id=ticket.id if ticket else None,
        article_id=article.id if article else None,
        from_addr=from_addr,
        to_addr=to_addr,
        cc_addr=cc_addr,
        subject=subject if own else None,
        body_text=body_text if own else None,
        message_id=message_id or new_message_id(),
        in_reply_to=in_reply_to if own else None,
        references=references if own else None,
        auto_submitted=auto_submitted,
        file_name=file_name,
        file_sha256=file_sha256,
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
