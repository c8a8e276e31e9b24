"""ReportSubscription: an agent who gets the statistics by mail every week."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class ReportSubscription(Base):
    """One agent's weekly statistics mail (the figures of the last seven days)."""

    __tablename__ = "report_subscription"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
