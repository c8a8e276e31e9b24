"""SavedView: a named query string of the inbox or the search page, owned by one agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

KINDS = ("inbox", "search")


class SavedView(Base):
    """``name`` opens the page of ``kind`` with ``query`` (only for ``agent_id``)."""

    __tablename__ = "saved_view"
    __table_args__ = (
        UniqueConstraint("agent_id", "kind", "name"),
        CheckConstraint("kind IN ('inbox', 'search')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    # The page's filters as a URL query string, only the keys the page reads (see service).
    query: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
