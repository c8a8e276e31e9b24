"""The Queue model."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from desk.agent.models import Group

FOLLOW_UP_POLICIES = ("reopen", "new_ticket", "reject")
QUEUE_SEPARATOR = "::"
# Whether a queue's forms ask for the time spent (desk.time_accounting).
TIME_ACCOUNTING_POLICIES = ("off", "optional", "required")


class Queue(Base):
    """A bucket of tickets mapped to a team; ``name`` is the full path ``Parent::Child``."""

    __tablename__ = "queue"
    __table_args__ = (
        CheckConstraint("follow_up_policy IN ('reopen', 'new_ticket', 'reject')", name="follow_up_policy"),
        CheckConstraint("time_accounting IN ('off', 'optional', 'required')", name="time_accounting"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(400), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("agent_group.id"))
    # Mail to this address lands in this queue; replies from the queue are sent from it.
    system_address: Mapped[str | None] = mapped_column(String(320), unique=True)
    follow_up_policy: Mapped[str] = mapped_column(String(20), default="reopen")
    # Minutes after which a lock taken in this queue lapses; 0 keeps locks forever.
    unlock_timeout_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Escalation targets in minutes (0 = none); the due times are computed per ticket.
    first_response_minutes: Mapped[int] = mapped_column(Integer, default=0)
    update_minutes: Mapped[int] = mapped_column(Integer, default=0)
    solution_minutes: Mapped[int] = mapped_column(Integer, default=0)
    # The service level of the queue's tickets (its calendar and targets win over the three
    # minute targets above, which count round the clock); see desk.sla.service.
    service_level_id: Mapped[int | None] = mapped_column(ForeignKey("service_level.id"))
    salutation_id: Mapped[int | None] = mapped_column(ForeignKey("salutation.id"))
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("signature.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    # Customers (API tokens, the portal) open tickets only in these queues and see only
    # their names; every other queue is internal to the agents.  Closed unless chosen.
    customer_facing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The name customers see in From: ("Acme Support <support@acme.example>"); none: the
    # nearest parent's, else the bare address (never the internal queue path).
    display_name: Mapped[str | None] = mapped_column(String(200))
    # The process new tickets of this queue start (its newest deployed version); none: the
    # default process.
    process_id: Mapped[str | None] = mapped_column(String(255))
    # Whether answers, notes and task completions ask for the time spent (off, optional,
    # required); see desk.time_accounting.
    time_accounting: Mapped[str] = mapped_column(String(10), default="off", server_default="off")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[Group] = relationship(lazy="joined")
    parent: Mapped[Queue | None] = relationship(remote_side=[id])

    @property
    def short_name(self) -> str:
        """The last part of the path (``Treasurer`` for ``Board::Treasurer``)."""
        return self.name.rsplit(QUEUE_SEPARATOR, 1)[-1]

    def __repr__(self) -> str:
        return f"<Queue {self.name}>"
