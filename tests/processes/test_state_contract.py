"""Ticket state and process in step (issue 9, deliverable 5), through the use cases in ``flows``.

A manual close or merge ends the ticket's processes (their tasks leave the inbox, history
says why); the ticket's pending time is the one timer of pending states, for tickets with and
without a process.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.history import service as history
from desk.history.models import History
from desk.ticket import service as tickets
from desk.ticket import states
from engine import definitions, inbox, runtime
from engine.models import HumanTask, ProcessMessage
from flows import merge as merge_flow
from flows import process_events
from flows import state as state_flow
from tests.processes.support import (
    complete,
    notes,
    one_task,
    open_tasks,
    outbox_of,
    reach_pending_time,
    task_names,
)

# A process without a ``ticket_closed`` handler: the engine has to end it.
NO_HANDLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_plain" targetNamespace="t">
  <bpmn:process id="plain_handling" name="Plain handling" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane" name="Ticket queue">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>answer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="answer" name="Answer"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def people(agent):
    return {login: agent(login) for login in ("secretary", "bob", "consultant")}


@pytest.fixture
def at_work(session, people, start_process):
    """A ticket the secretary moved to 2nd level; bob's Work task is open (claimed by him)."""
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    return instance


@pytest.fixture
def bare_ticket(session, queue, customer, people):
    """A ticket without any process, owned by bob."""
    ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="No process here",
        queue=queue("2nd level"),
        customer_user=customer("john.doe@acme.example"),
    )
    tickets.set_owner(session, actor=SYSTEM, ticket=ticket, owner=people["bob"])
    return ticket


def inbox_of(session, agent):
    session.flush()
    return [(t.ticket_id, t.name) for t in inbox.tasks_for(session, agent=agent)]


def process_ends(session, ticket):
    return [
        (h.new_value, h.comment) for h in history.for_ticket(session, ticket=ticket) if h.type == "ProcessEnd"
    ]


# --- a manual close ends the process ---------------------------------------------------


def test_closing_by_hand_ends_the_process_and_its_tasks_leave_the_inbox(session, people, at_work):
    ticket, bob = at_work.ticket, people["bob"]
    assert (ticket.id, "Work") in inbox_of(session, bob)

    state_flow.close(session, actor=bob, ticket=ticket, comment="solved on the phone")

    assert ticket.state.name == "closed successful"
    assert (ticket.id, "Work") not in inbox_of(session, bob)
    assert open_tasks(session, at_work) == []
    session.refresh(at_work)
    assert at_work.status != "running"
    assert at_work.next_timer_due is None
    assert at_work.waiting_messages == []
    [(status, why)] = process_ends(session, ticket)
    assert status == at_work.status
    assert "closed successful" in why
    assert "solved on the phone" in why
    assert "Bob" in why
    delivered = session.scalars(
        select(ProcessMessage).where(
            ProcessMessage.ticket_id == ticket.id, ProcessMessage.name == "ticket_closed"
        )
    ).all()
    assert [m.status for m in delivered] == ["delivered"]


def test_closing_during_a_consultation_ends_the_called_process_too(session, people, at_work):
    ticket, bob, consultant = at_work.ticket, people["bob"], people["consultant"]
    complete(session, bob, at_work, "Work", action="consult", consultation_question="Known bug?")
    consult = one_task(session, at_work, "Consult")
    assert (ticket.id, "Consult") in inbox_of(session, consultant)

    state_flow.set_state(
        session, actor=bob, ticket=ticket, state=states.get_state(session, "closed unsuccessful")
    )

    assert (ticket.id, "Consult") not in inbox_of(session, consultant)
    session.refresh(consult)
    assert consult.state == "cancelled"
    session.refresh(at_work)
    assert at_work.status != "running"
    assert len(process_ends(session, ticket)) == 1


def test_a_process_without_a_close_handler_is_terminated(session, people, queue, customer, deployed):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=NO_HANDLER)
    ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="plain",
        queue=queue("2nd level"),
        customer_user=customer("john.doe@acme.example"),
    )
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="plain_handling")
    assert "ticket_closed" not in instance.waiting_messages
    assert (ticket.id, "Answer") in inbox_of(session, people["bob"])

    state_flow.close(session, actor=people["bob"], ticket=ticket)

    assert (ticket.id, "Answer") not in inbox_of(session, people["bob"])
    session.refresh(instance)
    assert instance.status == "cancelled"
    assert "closed successful" in (instance.error or "")
    assert process_ends(session, ticket) == [("cancelled", instance.error)]


def test_merging_ends_the_merged_tickets_process(session, people, at_work, bare_ticket):
    ticket = at_work.ticket

    merge_flow.merge(session, actor=people["bob"], ticket=ticket, into=bare_ticket)

    assert ticket.state.type == "merged"
    assert open_tasks(session, at_work) == []
    session.refresh(at_work)
    assert at_work.status != "running"
    [(_, why)] = process_ends(session, ticket)
    assert bare_ticket.number in why


def test_the_process_closing_the_ticket_itself_does_not_end_itself_twice(session, people, start_process):
    """Re-entrance: the triage's own close step must not deliver ``ticket_closed`` to itself."""
    instance = start_process()

    complete(session, people["secretary"], instance, "Triage", decision="close")

    assert instance.status == "completed"
    assert process_ends(session, instance.ticket) == []
    assert not session.scalars(
        select(ProcessMessage).where(
            ProcessMessage.ticket_id == instance.ticket_id, ProcessMessage.name == "ticket_closed"
        )
    ).all()


# --- the pending time is the one timer -------------------------------------------------


def test_a_hand_set_pending_auto_close_closes_the_ticket_and_ends_the_process(session, people, at_work):
    ticket, bob = at_work.ticket, people["bob"]
    auto_minus = states.get_state(session, "pending auto close-")

    state_flow.set_state(
        session, actor=bob, ticket=ticket, state=auto_minus, pending_until=utcnow() + timedelta(hours=2)
    )
    assert task_names(session, at_work) == ["Work"]  # a pending time alone changes nothing yet
    with_time_not_reached = process_events.due_pending_tickets(session, now=utcnow())
    assert ticket.id not in with_time_not_reached

    assert reach_pending_time(session, ticket) == "auto close"

    assert ticket.state.name == "closed unsuccessful"  # the state pending auto close- names
    assert ticket.pending_until is None
    assert (ticket.id, "Work") not in inbox_of(session, bob)
    session.refresh(at_work)
    assert at_work.status != "running"
    [(_, why)] = process_ends(session, ticket)
    assert "pending auto close time" in why
    # Idempotent: a second sweep finds nothing to do.
    assert (
        process_events.pending_time_reached(session, ticket_id=ticket.id, now=utcnow() + timedelta(days=1))
        is None
    )


def test_a_hand_set_pending_auto_close_closes_a_ticket_without_a_process(session, people, bare_ticket):
    state_flow.set_state(
        session,
        actor=people["bob"],
        ticket=bare_ticket,
        state=states.get_state(session, "pending auto close+"),
        pending_until=utcnow() + timedelta(days=1),
    )

    assert reach_pending_time(session, bare_ticket) == "auto close"

    assert bare_ticket.state.name == "closed successful"
    assert bare_ticket.pending_until is None


def test_a_hand_set_reminder_opens_the_ticket_again_and_tells_the_owner(session, people, bare_ticket):
    state_flow.set_state(
        session,
        actor=people["bob"],
        ticket=bare_ticket,
        state=states.get_state(session, "pending reminder"),
        pending_until=utcnow() + timedelta(hours=3),
    )

    assert reach_pending_time(session, bare_ticket) == "reminder"

    assert (bare_ticket.state.name, bare_ticket.pending_until) == ("open", None)
    subject, body = notes(session, bare_ticket)[-1]
    assert subject == "Reminder reached"
    assert "Bob" in body
    [entry] = session.scalars(
        select(History).where(History.ticket_id == bare_ticket.id, History.type == "ReminderReached")
    ).all()
    assert "reminder reached" in entry.comment
    assert outbox_of(session, bare_ticket) == []  # internal: the customer is not told


def test_a_hand_set_reminder_at_work_opens_the_ticket_and_work_stays(session, people, at_work):
    """The Work step does not wait for the pending time: the default happens, the task stays."""
    ticket = at_work.ticket
    state_flow.set_state(
        session,
        actor=people["bob"],
        ticket=ticket,
        state=states.get_state(session, "pending reminder"),
        pending_until=utcnow() + timedelta(hours=3),
    )

    assert reach_pending_time(session, ticket) == "reminder"

    assert ticket.state.name == "open"
    assert task_names(session, at_work) == ["Work"]
    assert notes(session, ticket)[-1][0] == "Reminder reached"
    unmatched = session.scalars(
        select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
    )
    assert [t.name for t in unmatched] == ["Work"]


def test_a_resolved_ticket_switched_to_a_reminder_by_hand_goes_back_to_work_instead_of_closing(
    session, people, at_work
):
    """The process waits for the auto-close time; the agent turns it into a reminder."""
    ticket, bob = at_work.ticket, people["bob"]
    complete(session, bob, at_work, "Work", action="resolve")
    assert ticket.state.name == "pending auto close+"
    assert task_names(session, at_work) == []
    state_flow.set_state(
        session,
        actor=bob,
        ticket=ticket,
        state=states.get_state(session, "pending reminder"),
        pending_until=utcnow() + timedelta(hours=3),
    )

    assert reach_pending_time(session, ticket) == "process"

    # Not closed: the ticket is open again and its Work task is back in bob's inbox.
    assert ticket.state.name == "open"
    assert ticket.pending_until is None
    assert task_names(session, at_work) == ["Work"]
    session.refresh(at_work)
    assert at_work.status == "running"
