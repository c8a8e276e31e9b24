"""The RawMail model: the untouched bytes of an inbound mail and what became of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

RAW_MAIL_STATUSES = ("received", "processed", "failed")


class RawMail(Base):
    """An inbound mail as received (SMTP, IMAP or pipe); its bytes are in the blob store."""

    __tablename__ = "raw_mail"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'processed', 'failed')", name="raw_mail_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blob.sha256"), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    source: Mapped[str] = mapped_column(String(50))
    envelope_from: Mapped[str] = mapped_column(Text, default="")
    envelope_to: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
