"""AgentAvailability and TemporaryMembership.

Availability is one row per agent (none means *front line*).  A temporary membership gives
an agent ``rw`` on a queue's group for a limited time, on top of their own rights, which it
never touches: when it ends (its time has passed, or the queue's open tickets fell below its
threshold) the agent is back on exactly the queues they had.  Memberships are never deleted:
the ended rows are their history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.agent.models import Agent, Group
from desk.queue.models import Queue

AVAILABILITY = ("front_line", "background", "away")


class AgentAvailability(Base):
    """What an agent is doing now: front-line work, background work, or away (until a time)."""

    __tablename__ = "agent_availability"
    __table_args__ = (CheckConstraint("status IN ('front_line', 'background', 'away')", name="status"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="front_line")
    # After this time the agent counts as front line again (None: until switched back).
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship()


class TemporaryMembership(Base):
    """An agent pulled into a queue's group (``rw``) until a time or until the load is gone."""

    __tablename__ = "temporary_membership"
    __table_args__ = (CheckConstraint("until IS NOT NULL OR open_below IS NOT NULL", name="has_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_group.id"))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Ends once the queue has fewer open tickets than this.
    open_below: Mapped[int | None] = mapped_column(Integer)
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(Text)

    agent: Mapped[Agent] = relationship(foreign_keys=[agent_id])
    queue: Mapped[Queue] = relationship()
    group: Mapped[Group] = relationship()
    created_by: Mapped[Agent | None] = relationship(foreign_keys=[created_by_agent_id])
