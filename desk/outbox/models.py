"""The OutboxMessage model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

OUTBOX_STATUSES = ("queued", "sent", "failed")


class OutboxMessage(Base):
    """One mail to send, written in the same transaction as the article it belongs to."""

    __tablename__ = "outbox_message"
    __table_args__ = (CheckConstraint("status IN ('queued', 'sent', 'failed')", name="outbox_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"))
    from_addr: Mapped[str] = mapped_column(Text)
    to_addr: Mapped[str] = mapped_column(Text)
    cc_addr: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    # Marks automatic mail (acknowledgements) as RFC 3834 requires.
    auto_submitted: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the next delivery attempt is due (retries back off); None once sent or failed.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
