"""Mail configuration: IMAP mailboxes to fetch and per-queue automatic responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

AUTO_RESPONSE_KINDS = ("new_ticket", "follow_up", "reject")


class MailAccount(Base):
    """An IMAP mailbox whose mail becomes tickets."""

    __tablename__ = "mail_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=993)
    use_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    username: Mapped[str] = mapped_column(String(320))
    # Kept in the database (never in the repository); use a mailbox-specific password.
    password: Mapped[str] = mapped_column(String(500))
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    # Where fetched mail is moved on the server; empty keeps it in place, flagged as fetched.
    processed_folder: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AutoResponse(Base):
    """The automatic answer of a queue to a new ticket, a follow-up, or a rejected follow-up."""

    __tablename__ = "auto_response"
    __table_args__ = (
        UniqueConstraint("queue_id", "kind", name="uq_auto_response_queue_kind"),
        CheckConstraint("kind IN ('new_ticket', 'follow_up', 'reject')", name="auto_response_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # Jinja text (sandboxed) with the template variables of desk.template.
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
