"""The ServiceLevel model (an OTRS SLA): targets in working minutes on a calendar."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
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
