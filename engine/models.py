"""ProcessVersion, ProcessInstance, HumanTask and ProcessMessage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow
from desk.ticket.models import Ticket

INSTANCE_STATUSES = ("running", "completed", "error", "cancelled")
TASK_STATES = ("open", "completed", "cancelled")


class ProcessVersion(Base):
    """One deployed version of one BPMN process, with the forms its user tasks use."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[int] = mapped_column(Integer)
    # The whole BPMN document the process came from (it may define several processes).
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Form file name → JSON Schema (and UI schema) used by this document's user tasks.
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Process ids this one calls as call activities (resolved to their newest versions at start).
    calls: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The designer's change note (the designer requires one; older deploys have none).
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class ProcessDraft(Base):
    """A designer's unsaved work on one process: the diagram as last saved, not deployed."""

    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Forms edited with the draft (file name → JSON Schema or UI schema), deployed with it.
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessSpec(Base):
    """A serialized process definition (SpiffWorkflow's ``spec`` and ``subprocess_specs``),
    stored once per content hash; instances running it store only their state."""

    __tablename__ = "process_spec"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    """A running (or finished) process of one ticket; the workflow is SpiffWorkflow's JSON."""

    __tablename__ = "process_instance"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'error', 'cancelled')", name="instance_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    # The workflow's state; its definition is the process_spec row named by spec_hash.
    workflow_json: Mapped[str] = mapped_column(Text)
    spec_hash: Mapped[str | None] = mapped_column(ForeignKey("process_spec.hash"), index=True)
    serializer_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    # Earliest due time of a waiting timer; the timer sweep looks only at this column.
    next_timer_due: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Names of the messages some task waits for now (projection, for routing replies).
    waiting_messages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The forms of this process and the ones it calls, as deployed when it started.
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped on every save: a writer that loaded an older state cannot overwrite a newer one.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    ticket: Mapped[Ticket] = relationship()
    process_version: Mapped[ProcessVersion] = relationship(lazy="joined")


class HumanTask(Base):
    """A user task of an instance as the inbox sees it; rebuilt after every advance."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid", name="uq_human_task_guid"),
        CheckConstraint("state IN ('open', 'completed', 'cancelled')", name="task_state"),
        # The inbox's order over open tasks: a page is read off this index and the walk stops.
        Index(
            "ix_human_task_inbox",
            "escalation_due",
            "created_at",
            "id",
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(64))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    process_id: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(255))
    documentation: Mapped[str] = mapped_column(Text, default="")
    # Who may do it: agents with rw on this queue, members of this role, or this agent.
    candidate_queue_id: Mapped[int | None] = mapped_column(ForeignKey("queue.id"), index=True)
    candidate_role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id"), index=True)
    candidate_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    # The lane is "the ticket's queue": candidates follow the ticket when it is moved.
    follows_ticket_queue: Mapped[bool] = mapped_column(default=False)
    # Four-eyes rule: this agent may not do the task (the requester of an authorization).
    excluded_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    form: Mapped[str | None] = mapped_column(String(255))
    ui_form: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20), default="open", index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Copies of the ticket's queue and escalation time (engine.task_projection keeps them in
    # step), so the inbox filters and sorts on this table alone.  A copy, not a foreign key:
    # the ticket's queue_id is the reference.
    ticket_queue_id: Mapped[int | None] = mapped_column(Integer)
    escalation_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every claim, release and completion: these are conditional updates on it,
    # so of two agents racing for one task exactly one wins.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    instance: Mapped[ProcessInstance] = relationship()
    ticket: Mapped[Ticket] = relationship()


class ProcessMessage(Base):
    """A message for a ticket's process (a customer's or specialist's reply), delivered or not.

    Every message is recorded, so one that nothing waited for is visible instead of lost.
    """

    __tablename__ = "process_message"
    __table_args__ = (CheckConstraint("status IN ('delivered', 'unmatched')", name="message_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    correlation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
