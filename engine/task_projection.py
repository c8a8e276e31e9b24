"""The ticket's queue and escalation time, copied onto its open tasks for the inbox.

The inbox filters tasks by the queue of their ticket and sorts them by the ticket's
escalation time (the first of its first-response, update and solution due times that is
set).  Read through a join, PostgreSQL has to join and sort every open task for each page;
with both values on ``human_task`` itself one partial index (``ix_human_task_inbox``)
yields a page in order and stops after it.  Tasks get the values when they are created
(:func:`copy_from_ticket`), and a flush listener carries every change of a ticket's queue or
due times to its open tasks in the same flush, whichever service made the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from desk.ticket.models import Ticket
from engine.models import HumanTask

# The ticket attributes the copies depend on (a move sets the relationship, not the column).
WATCHED = ("queue_id", "queue", "first_response_due", "update_due", "solution_due")


def escalation_of(ticket: Ticket) -> datetime | None:
    """The time the inbox sorts a ticket's tasks by (as SQL's ``coalesce`` of the three)."""
    for due in (ticket.first_response_due, ticket.update_due, ticket.solution_due):
        if due is not None:
            return due
    return None


def queue_of(ticket: Ticket) -> int:
    """The ticket's queue id, also when only the relationship was set (before the flush)."""
    queue = ticket.__dict__.get("queue")
    return queue.id if queue is not None else ticket.queue_id


def copy_from_ticket(task: HumanTask, ticket: Ticket) -> None:
    """Give ``task`` its ticket's queue and escalation time."""
    task.ticket_queue_id = queue_of(ticket)
    task.escalation_due = escalation_of(ticket)


def _carry_ticket_changes(session: Session, _context: Any, _instances: Any) -> None:
    changed = [
        ticket
        for ticket in session.dirty
        if isinstance(ticket, Ticket)
        and any(inspect(ticket).attrs[name].history.has_changes() for name in WATCHED)
    ]
    for ticket in changed:
        queue_id, due = queue_of(ticket), escalation_of(ticket)
        # Loaded tasks change in memory (and are flushed with this flush) ...
        for obj in list(session.identity_map.values()):
            if isinstance(obj, HumanTask) and obj.ticket_id == ticket.id and obj.state == "open":
                obj.ticket_queue_id, obj.escalation_due = queue_id, due
        # ... the others in the database; the version counter is the tasks' claim guard and
        # stays as it is, since nothing an agent raced for has changed.
        session.connection().execute(
            update(HumanTask.__table__)  # type: ignore[arg-type]
            .where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
            .values(ticket_queue_id=queue_id, escalation_due=due)
        )
    for task in session.new:
        if isinstance(task, HumanTask) and task.ticket_queue_id is None:
            owner = session.get(Ticket, task.ticket_id)
            if owner is not None:
                copy_from_ticket(task, owner)


def install_listeners() -> None:
    """Keep the copies in step on every flush (idempotent; called by the composition root)."""
    if not event.contains(Session, "before_flush", _carry_ticket_changes):
        event.listen(Session, "before_flush", _carry_ticket_changes)
