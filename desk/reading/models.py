"""AgentTicketSeen: when an agent last looked at a ticket, and its newest article then.

One row per agent and ticket, written when the agent opens the ticket page.  A ticket is
*unread* for an agent while it has an article newer than the one they saw that someone else
wrote; a ticket they never opened counts from its first article.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class AgentTicketSeen(Base):
    """The agent saw the ticket at ``seen_at``, up to article ``last_article_id``."""

    __tablename__ = "agent_ticket_seen"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 0 when the ticket had no article yet: every article is newer than that.
    last_article_id: Mapped[int] = mapped_column(Integer, default=0)
