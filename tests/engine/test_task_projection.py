"""Open tasks follow their ticket's queue and escalation time (the inbox reads only them)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from core.db import utcnow
from desk.actor import SYSTEM
from desk.queue.models import Queue
from engine import inbox
from engine.models import HumanTask
from flows import ticket_fields
from tests.inbox_data import tickets_with_triage


def _stored(session, task_id: int):
    """The copies as stored (not as the session remembers them)."""
    return session.execute(
        text("SELECT ticket_queue_id, escalation_due FROM human_task WHERE id = :id"), {"id": task_id}
    ).one()


def test_a_new_task_carries_its_tickets_queue(session):
    (ticket,) = tickets_with_triage(session, 1)
    task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == ticket.id)).one()

    assert _stored(session, task.id).ticket_queue_id == ticket.queue_id


def test_moving_the_ticket_moves_its_open_tasks_in_the_inbox(session, agent):
    (ticket,) = tickets_with_triage(session, 1)
    task_id = session.scalars(select(HumanTask.id).where(HumanTask.ticket_id == ticket.id)).one()
    session.expunge_all()  # the task is not loaded: the database copy must follow too
    ticket = session.get(type(ticket), ticket.id)
    finance = session.scalars(select(Queue).where(Queue.name == "Finance")).one()

    ticket_fields.move(session, actor=SYSTEM, ticket=ticket, queue=finance)
    session.flush()

    assert _stored(session, task_id).ticket_queue_id == finance.id
    admin = agent("admin")
    assert inbox.counts_by_queue(session, agent=admin).get(finance.id, 0) >= 1
    shown = inbox.tasks_for(session, agent=admin, queue_ids=[finance.id], limit=500)
    assert task_id in {t.id for t in shown}
    # The secretary has no rw on Finance: the task left her inbox with the ticket.
    assert task_id not in {t.id for t in inbox.tasks_for(session, agent=agent("secretary"), limit=500)}


def test_an_escalating_ticket_puts_its_task_first(session, agent):
    _calm, urgent = tickets_with_triage(session, 2)
    urgent.solution_due = utcnow() + timedelta(hours=1)
    session.flush()

    first = inbox.tasks_for(session, agent=agent("admin"), limit=1)[0]

    assert first.ticket_id == urgent.id
    task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == urgent.id)).one()
    assert _stored(session, task.id).escalation_due == urgent.solution_due
