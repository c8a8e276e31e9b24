"""Mail configuration: the IMAP mailboxes to fetch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


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
