"""The History model and its history types."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

# The OTRS history types Ticketflow writes.
HISTORY_TYPES = (
    "NewTicket",
    "Move",
    "StateUpdate",
    "SetPendingTime",
    "OwnerUpdate",
    "ResponsibleUpdate",
    "Lock",
    "Unlock",
    "AddNote",
    "SendAnswer",
    "FollowUp",
    "EmailCustomer",
    "EmailAgent",
    "PhoneCallCustomer",
    "PhoneCallAgent",
    "WebRequestCustomer",
    "SystemRequest",
    "PriorityUpdate",
    "TitleUpdate",
    "CustomerUpdate",
    "TypeUpdate",
    "Merged",
    "Link",
    "Split",
    "ProcessStart",
    "TaskCompleted",
    "ProcessMessage",
    "ProcessEnd",
    "ProcessMigrate",
    "ReminderReached",
    # Escalations (OTRS's names): a warning before a due time, and the due time passing.
    "EscalationResponseTimeNotifyBefore",
    "EscalationUpdateTimeNotifyBefore",
    "EscalationSolutionTimeNotifyBefore",
    "EscalationResponseTimeStart",
    "EscalationUpdateTimeStart",
    "EscalationSolutionTimeStart",
    "SLAUpdate",
    "ServiceUpdate",
)


class History(Base):
    """One change of one ticket.  Rows are only ever added (see ``desk.guards``)."""

    __tablename__ = "ticket_history"
    # The statistics read rows of one type in a time range (closes per day, escalations).
    __table_args__ = (Index("ix_ticket_history_type_created_at", "type", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"))
    type: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column()
    # The actor's name at the time: history must read the same after a rename.
    actor_name: Mapped[str] = mapped_column(String(400))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
