"""The OutboxMessage model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from desk.article.models import Article

OUTBOX_STATUSES = ("queued", "sent", "failed")

# A row names its article, or carries its own text (mail that belongs to no article).
CONTENT_CHECK = "article_id IS NOT NULL OR (subject IS NOT NULL AND body_text IS NOT NULL)"


class OutboxMessage(Base):
    """One mail to send: the envelope and the delivery state of an e-mail article.

    The content (subject, text, HTML, attachments, inline images, In-Reply-To, References)
    is the article's: articles are never changed or deleted, so composing from the article
    on every attempt sends what the ticket shows.  The row keeps only what delivery needs
    (addresses, Message-ID, the automatic-mail marker, status and retries).  ``subject``,
    ``body_text``, ``in_reply_to`` and ``references`` are set only for mail without an article,
    which may also carry one file (``file_name`` and the blob ``file_sha256``).
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="outbox_status"),
        CheckConstraint(CONTENT_CHECK, name="outbox_content"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"), index=True)
    from_addr: Mapped[str] = mapped_column(Text)
    to_addr: Mapped[str] = mapped_column(Text)
    cc_addr: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(Text)
    body_text: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    # Marks automatic mail (acknowledgements) as RFC 3834 requires.
    auto_submitted: Mapped[str | None] = mapped_column(String(50))
    # The one file of a mail without an article (the weekly statistics' workbook).
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_sha256: Mapped[str | None] = mapped_column(ForeignKey("blob.sha256"))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the next delivery attempt is due (retries back off); None once sent or failed.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    article: Mapped[Article | None] = relationship()
