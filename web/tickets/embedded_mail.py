"""An attached mail (``message/rfc822``) read for the ticket page.

The attachment keeps the mail byte for byte; here it is parsed with the inbound parser (the
same repairs, charsets and sanitizer as a mail that arrives) so the page can show its From,
To, Date, Subject and text under the article, with the mails attached to it in turn, down to
:data:`MAX_DEPTH` levels.  Its HTML goes through the one policy (:mod:`desk.article.html`)
again in :func:`web.tickets.rendering.inert_embedded_html`, with its ``cid:`` images left
blank: they are parts inside the ``.eml``, not attachments of the article.
Whatever the bytes are, reading them gives a result: a mail that cannot be read is an
:class:`EmbeddedMail` with ``error`` set, shown as a note beside the download.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup
from sqlalchemy.orm import Session

from core.errors import TicketflowError
from desk.actor import Actor
from desk.article import attachments as attachment_service
from desk.article.models import Attachment
from mail.inbound.parse import ParsedMail, parse_mail
from web.tickets import rendering

log = logging.getLogger(__name__)

MAIL_TYPES = frozenset({"message/rfc822", "message/global"})
MAX_DEPTH = 3  # an attached mail's attached mail's attached mail; deeper ones are downloads


@dataclass(frozen=True)
class EmbeddedMail:
    """What the page shows of an attached mail."""

    from_addr: str = ""
    to_addr: str = ""
    date: datetime | None = None
    subject: str = ""
    body_text: str = ""
    body_html: Markup | None = None
    # Files attached to it, by name (mails among them are in ``mails``).
    files: list[str] = field(default_factory=list)
    mails: list[EmbeddedMail] = field(default_factory=list)
    # How many attached mails lie deeper than MAX_DEPTH (only in the download).
    deeper: int = 0
    error: str | None = None


def is_mail(content_type: str | None) -> bool:
    """Whether an attachment of ``content_type`` is a mail the page shows embedded."""
    return (content_type or "").split(";")[0].strip().lower() in MAIL_TYPES


def _looks_like_a_mail(parsed: ParsedMail) -> bool:
    return bool(parsed.from_addr or parsed.subject or parsed.to or parsed.date or parsed.message_id)


def read(data: bytes, *, depth: int = 1) -> EmbeddedMail:
    """``data`` (an attached mail's bytes) as the page shows it; never raises."""
    if not data.strip():
        return EmbeddedMail(error="empty")
    try:
        parsed = parse_mail(data)
        if not _looks_like_a_mail(parsed):
            return EmbeddedMail(error="no mail headers")
        inner = [a for a in parsed.attachments if is_mail(a.content_type)]
        nested = [read(a.data, depth=depth + 1) for a in inner] if depth < MAX_DEPTH else []
        return EmbeddedMail(
            from_addr=parsed.from_header,
            to_addr=", ".join(parsed.to),
            date=parsed.date,
            subject=parsed.subject,
            body_text=parsed.body_text,
            body_html=rendering.inert_embedded_html(parsed.body_html) if parsed.body_html else None,
            files=[a.filename for a in parsed.attachments if not is_mail(a.content_type)],
            mails=nested,
            deeper=0 if depth < MAX_DEPTH else len(inner),
        )
    except Exception as exc:  # the page must show the ticket whatever an attached mail holds
        log.warning("attached mail could not be read: %r", exc)
        return EmbeddedMail(error=type(exc).__name__)


def for_attachment(session: Session, *, actor: Actor, attachment: Attachment) -> EmbeddedMail:
    """The attached mail ``attachment`` as the page shows it (its bytes read with ``actor``'s right)."""
    try:
        _found, data = attachment_service.open_attachment(session, actor=actor, attachment_id=attachment.id)
    except TicketflowError as exc:  # its bytes are missing: the page still shows the ticket
        log.warning("attached mail %s could not be opened: %s", attachment.id, exc)
        return EmbeddedMail(error=type(exc).__name__)
    return read(data)
