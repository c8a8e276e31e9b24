"""The ServiceLevel model (an OTRS SLA): targets in working minutes on a calendar.

And the ServiceLevelRule: "tickets that match these conditions follow that level"
(see :mod:`desk.sla.rules`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.calendar.models import BusinessCalendar


class ServiceLevel(Base):
    """First response, update and solution targets; 0 means "no target"."""

    __tablename__ = "service_level"
    __table_args__ = (
        CheckConstraint("notify_before_percent BETWEEN 0 AND 100", name="notify_before_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("business_calendar.id"))
    first_response_minutes: Mapped[int] = mapped_column(Integer, default=0)
    update_minutes: Mapped[int] = mapped_column(Integer, default=0)
    solution_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Warn when this share of a target's working time is left (OTRS's "notify by").
    notify_before_percent: Mapped[int] = mapped_column(Integer, default=0)
    # OTRS pauses escalations while a ticket waits in a pending state; so do we by default.
    pause_while_pending: Mapped[bool] = mapped_column(Boolean, default=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    calendar: Mapped[BusinessCalendar | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ServiceLevel {self.name}>"


class ServiceLevelRule(Base):
    """Tickets matching every set condition follow ``level``; the lowest ``position`` wins.

    A condition left empty (None, or no ids) matches every ticket.  ``priorities`` and
    ``type_ids`` hold ids separated by spaces (``"4 5"``); ``queue_id`` matches that queue and,
    with ``include_subqueues``, every queue below it (``Hardware::Printers`` under
    ``Hardware``).  ``channel`` is the channel of the ticket's first article, ``email_domain``
    the part after ``@`` of the customer user's address (lower case, exactly that domain).
    """

    __tablename__ = "service_level_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("service_level.id"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"))
    include_subqueues: Mapped[bool] = mapped_column(Boolean, default=True)
    priorities: Mapped[str] = mapped_column(String(20), default="")
    type_ids: Mapped[str] = mapped_column(Text, default="")
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    customer_company_id: Mapped[int | None] = mapped_column(ForeignKey("customer_company.id"))
    channel: Mapped[str | None] = mapped_column(String(20))
    email_domain: Mapped[str | None] = mapped_column(String(255))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    level: Mapped[ServiceLevel] = relationship(lazy="joined")

    @property
    def priority_list(self) -> list[int]:
        """The priorities (1–5) the rule asks for; empty: any."""
        return [int(p) for p in self.priorities.split()]

    @property
    def type_list(self) -> list[int]:
        """The ticket type ids the rule asks for; empty: any."""
        return [int(t) for t in self.type_ids.split()]

    def __repr__(self) -> str:
        return f"<ServiceLevelRule {self.position} {self.name}>"
