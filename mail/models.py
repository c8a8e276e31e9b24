"""Mail configuration: the IMAP mailboxes to fetch, and what fetching them set aside."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from mail import secrets

AUTH_METHODS = ("password", "oauth2")
DEFAULT_OVERSIZE_FOLDER = "Ticketflow/Oversize"


class MailAccount(Base):
    """An IMAP mailbox whose mail becomes tickets.

    Its secrets are stored encrypted (:mod:`mail.secrets`); the properties ``password``,
    ``oauth2_client_secret`` and ``oauth2_refresh_token`` encrypt when set and decrypt when
    read (raising :class:`mail.secrets.SecretUnreadable` when the secret key changed).
    """

    __tablename__ = "mail_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=993)
    use_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    username: Mapped[str] = mapped_column(String(320))
    # "password" (LOGIN) or "oauth2" (XOAUTH2 with an access token from the refresh token).
    auth_method: Mapped[str] = mapped_column(String(20), default="password")
    password_encrypted: Mapped[str] = mapped_column(Text, default="")
    oauth2_token_url: Mapped[str] = mapped_column(String(1000), default="")
    oauth2_client_id: Mapped[str] = mapped_column(String(500), default="")
    oauth2_client_secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    oauth2_refresh_token_encrypted: Mapped[str] = mapped_column(Text, default="")
    oauth2_scope: Mapped[str] = mapped_column(String(1000), default="")
    folder: Mapped[str] = mapped_column(String(255), default="INBOX")
    # Where fetched mail is moved on the server; empty keeps it in place, flagged as fetched.
    processed_folder: Mapped[str] = mapped_column(String(255), default="")
    # Where a mail over TICKETFLOW_MAX_MAIL_BYTES is moved, unread, so it blocks nothing.
    oversize_folder: Mapped[str] = mapped_column(String(255), default=DEFAULT_OVERSIZE_FOLDER)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def password(self) -> str:
        """The mailbox password (decrypted)."""
        return secrets.decrypt(self.password_encrypted or "", what="password")

    @password.setter
    def password(self, value: str) -> None:
        self.password_encrypted = secrets.encrypt(value)

    @property
    def oauth2_client_secret(self) -> str:
        """The OAuth2 client secret (decrypted; empty for public clients)."""
        return secrets.decrypt(self.oauth2_client_secret_encrypted or "", what="OAuth2 client secret")

    @oauth2_client_secret.setter
    def oauth2_client_secret(self, value: str) -> None:
        self.oauth2_client_secret_encrypted = secrets.encrypt(value)

    @property
    def oauth2_refresh_token(self) -> str:
        """The OAuth2 refresh token (decrypted)."""
        return secrets.decrypt(self.oauth2_refresh_token_encrypted or "", what="OAuth2 refresh token")

    @oauth2_refresh_token.setter
    def oauth2_refresh_token(self, value: str) -> None:
        self.oauth2_refresh_token_encrypted = secrets.encrypt(value)


class MailboxEvent(Base):
    """Something fetching a mailbox did that an administrator must know: a mail set aside.

    Today the one kind is ``oversize``: a mail over the size limit, moved on the server to
    the mailbox's oversize folder without being downloaded; sender, subject and Message-ID
    come from its headers, fetched alone.
    """

    __tablename__ = "mailbox_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mail_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="oversize")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sender: Mapped[str] = mapped_column(String(998), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(998), default="")
    folder: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
