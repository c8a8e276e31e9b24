"""ProblemMessage and ProblemRecipient: one message on a problem, one row per reporter.

The incidents of a problem are its ``parent_child`` links (:class:`desk.ticket.models.TicketLink`,
the problem as the parent).  A message written on the problem becomes an e-mail article in
each incident's own thread; these rows remember which article (and so which outbox mail)
went to which incident, or why none could.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.agent.models import Agent
from desk.article.models import Article
from desk.ticket.models import Ticket


class ProblemMessage(Base):
    """A message an agent wrote on a problem ticket for every linked reporter."""

    __tablename__ = "problem_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    body_text: Mapped[str] = mapped_column(Text)
    created_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    problem: Mapped[Ticket] = relationship()
    created_by: Mapped[Agent | None] = relationship()
    recipients: Mapped[list[ProblemRecipient]] = relationship(
        back_populates="message", order_by="ProblemRecipient.id"
    )


class ProblemRecipient(Base):
    """One incident a problem message went to: its article, or why it was not written."""

    __tablename__ = "problem_recipient"
    __table_args__ = (UniqueConstraint("problem_message_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_message_id: Mapped[int] = mapped_column(ForeignKey("problem_message.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"))
    # Why no mail was written (no customer address, the ticket locked by someone else…).
    error: Mapped[str | None] = mapped_column(Text)

    message: Mapped[ProblemMessage] = relationship(back_populates="recipients")
    ticket: Mapped[Ticket] = relationship()
    article: Mapped[Article | None] = relationship()
