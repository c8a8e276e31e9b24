"""The BusinessCalendar model: a named working week, time zone and holiday rules."""

from __future__ import annotations

import json

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from desk.calendar.hours import WorkingCalendar, days_from, parse_week


class BusinessCalendar(Base):
    """Working hours per weekday, a time zone and holidays; queues and SLAs choose one."""

    __tablename__ = "business_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # JSON object: weekday (mon…sun) → "08:00-12:00, 13:00-17:00"; a missing day is off.
    week: Mapped[str] = mapped_column(Text, default="{}")
    # Public holidays of the ``holidays`` package (ISO country code, optional region).
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    # Comma-separated ISO dates: company days off, and days worked although they are not.
    extra_holidays: Mapped[str] = mapped_column(Text, default="")
    extra_working_days: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    def working_calendar(self) -> WorkingCalendar:
        """The calendar as the pure working-time arithmetic uses it."""
        return WorkingCalendar(
            time_zone=self.time_zone,
            hours=parse_week(json.loads(self.week or "{}")),
            country=self.country or None,
            subdivision=self.subdivision or None,
            extra_holidays=days_from(filter(None, self.extra_holidays.split(","))),
            extra_working_days=days_from(filter(None, self.extra_working_days.split(","))),
        )

    def __repr__(self) -> str:
        return f"<BusinessCalendar {self.name}>"
