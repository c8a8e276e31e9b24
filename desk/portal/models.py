"""CustomerSession and SignInLink: how a customer is signed in to the portal.

Both keep only the SHA-256 hash of their token, as agent sessions and API tokens do, so
a copy of the tables opens nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.customer.models import CustomerUser


class CustomerSession(Base):
    """One signed-in browser of a customer user: the server-side half of the portal cookie.

    Separate from :class:`desk.agent.models.AgentSession`: a customer's cookie names a row
    here and nothing an agent page reads.
    """

    __tablename__ = "customer_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_user_id: Mapped[int] = mapped_column(ForeignKey("customer_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer_user: Mapped[CustomerUser] = relationship()


class SignInLink(Base):
    """A one-time sign-in link mailed to a customer: expires, and opens one session only."""

    __tablename__ = "customer_sign_in_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_user_id: Mapped[int] = mapped_column(ForeignKey("customer_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer_user: Mapped[CustomerUser] = relationship()
