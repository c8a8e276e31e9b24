"""The Notification model: one message to one agent, read or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """A message for an agent's bell.

    ``text`` is the untranslated message id and ``args`` its placeholders as JSON: the page
    translates it into the reader's language at display time (a time in ``args`` is ISO
    8601 and shown in the reader's zone).
    """

    __tablename__ = "notification"
    __table_args__ = (
        # The bell's count: this agent's unread rows (read_at IS NULL), on every page.
        Index("ix_notification_agent_id_read_at", "agent_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    # escalation_warning, escalation_breach, owner, responsible, customer_reply
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    args: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
