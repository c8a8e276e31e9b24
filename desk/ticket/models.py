"""Ticket, State, TicketType, TicketLink and the ticket-number counter."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.agent.models import Agent
from desk.customer.models import CustomerCompany, CustomerUser
from desk.queue.models import Queue
from desk.services.models import Service

if TYPE_CHECKING:
    from desk.article.models import Article

# The OTRS state types.  Administrators add states only inside these types.
STATE_TYPES = ("new", "open", "pending_reminder", "pending_auto", "closed", "merged")
PENDING_TYPES = ("pending_reminder", "pending_auto")
LINK_KINDS = ("normal", "parent_child")


class State(Base):
    """A ticket state (``open``, ``pending auto close+``…) of one of the state types."""

    __tablename__ = "ticket_state"
    __table_args__ = (
        CheckConstraint(
            "type IN ('new', 'open', 'pending_reminder', 'pending_auto', 'closed', 'merged')",
            name="state_type",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(30))
    # For pending-auto states: the state the ticket takes when its pending time is reached.
    next_state_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_state.id"))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    next_state: Mapped[State | None] = relationship(remote_side=[id])

    @property
    def is_pending(self) -> bool:
        """True for states that need a pending-until time."""
        return self.type in PENDING_TYPES

    def __repr__(self) -> str:
        return f"<State {self.name}>"


class TicketType(Base):
    """A ticket classification (Incident, Service Request, Problem…)."""

    __tablename__ = "ticket_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class TicketPriority(Base):
    """An administrator's name for one of the five priorities (1 very low … 5 very high).

    Priorities stay the numbers 1–5 (the ticket's CHECK); a row only renames one.  Without a
    row the page shows the built-in, translated name.
    """

    __tablename__ = "ticket_priority"
    __table_args__ = (CheckConstraint("id BETWEEN 1 AND 5", name="priority_id_range"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200))


class Ticket(Base):
    """The track of one problem from first contact to close.  Never deleted."""

    __tablename__ = "ticket"
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"), index=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("ticket_state.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=3)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_type.id"))
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("customer_user.id"), index=True)
    customer_company_id: Mapped[int | None] = mapped_column(ForeignKey("customer_company.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    # Unlocked when empty; otherwise the agent who is answering it right now.
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pending_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    # Indexed: every statistics figure about tickets reads a range of creation times.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The first customer-visible agent answer and the first close, for the statistics
    # (desk.ticket.firsts writes them when they happen; a reopen keeps the first close).
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Escalation due times, computed from the queue's targets (filled by the SLA code).
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    update_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solution_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ticket's own service level (None: the queue's); see desk.sla.service.
    service_level_id: Mapped[int | None] = mapped_column(ForeignKey("service_level.id"))
    # What the ticket is about (desk.services); its service level applies after the ticket's own.
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    # Escalation bookkeeping, written by the escalation sweep with plain UPDATEs (no version
    # bump: a sweep must never make an agent's concurrent change a conflict).
    escalation_paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_paused_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The next warning or breach not yet told; the sweep looks at tickets whose time passed.
    escalation_next_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Events told so far, e.g. "first_response_warn first_response_breach" (each one once).
    escalation_notified: Mapped[str] = mapped_column(Text, default="", server_default="")
    escalation_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic-lock counter: a stale concurrent update fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    queue: Mapped[Queue] = relationship(lazy="joined")
    # Loaded on use: only a ticket with a service pays the one query.
    service: Mapped[Service | None] = relationship()
    state: Mapped[State] = relationship(lazy="joined")
    # The administrator's name of the ticket's priority, if any (read only; the ticket page
    # loads it with the ticket instead of every name).
    priority_name: Mapped[TicketPriority | None] = relationship(
        primaryjoin="foreign(Ticket.priority) == TicketPriority.id", viewonly=True
    )
    type: Mapped[TicketType | None] = relationship()
    customer_user: Mapped[CustomerUser | None] = relationship()
    customer_company: Mapped[CustomerCompany | None] = relationship()
    owner: Mapped[Agent | None] = relationship(foreign_keys=[owner_id])
    responsible: Mapped[Agent | None] = relationship(foreign_keys=[responsible_id])
    locked_by: Mapped[Agent | None] = relationship(foreign_keys=[locked_by_id])
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id])
    articles: Mapped[list[Article]] = relationship(
        back_populates="ticket", order_by="Article.id", passive_deletes="all"
    )

    @property
    def is_locked(self) -> bool:
        """True while an agent holds the lock."""
        return self.locked_by_id is not None

    def __repr__(self) -> str:
        return f"<Ticket {self.number}>"


class TicketLink(Base):
    """A link between two tickets: ``normal``, or ``parent_child`` (source is the parent)."""

    __tablename__ = "ticket_link"
    __table_args__ = (
        UniqueConstraint("source_ticket_id", "target_ticket_id", "kind", name="uq_ticket_link"),
        CheckConstraint("kind IN ('normal', 'parent_child')", name="link_kind"),
        CheckConstraint("source_ticket_id <> target_ticket_id", name="no_self_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    target_ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    source: Mapped[Ticket] = relationship(foreign_keys=[source_ticket_id])
    target: Mapped[Ticket] = relationship(foreign_keys=[target_ticket_id])


class TicketNumberCounter(Base):
    """The per-day counter behind ticket numbers (one row a day, bumped atomically)."""

    __tablename__ = "ticket_number_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
