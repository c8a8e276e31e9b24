"""The TimeAccounting model (OTRS's ``time_accounting`` table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

# One entry is at most a week of work: a larger number is a typing mistake, not work.
MAX_MINUTES = 7 * 24 * 60


class TimeAccounting(Base):
    """Minutes an agent spent on a ticket, booked with an article or a task completion.

    Rows are only ever added; the ticket's total is their sum.
    """

    __tablename__ = "time_accounting"
    __table_args__ = (
        CheckConstraint(f"minutes BETWEEN 0 AND {MAX_MINUTES}", name="minutes"),
        # The statistics sum per queue and agent over a period (reports.figures.time_spent).
        Index("ix_time_accounting_created_at_agent_id", "created_at", "agent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id"))
    # The ticket's queue when the time was booked (tickets move; the work was done here).
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
