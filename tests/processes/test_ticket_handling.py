"""S4 and S8 on the real ``bpmn/ticket_handling.bpmn``: triage, moving, asking the customer, work,
resolving, auto-close and reopening, driven through the runtime as agents, customers and timers do.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from core.db import utcnow
from core.errors import NotFound, PermissionDenied, ValidationError
from desk.history import service as history
from engine import runtime
from engine.models import ProcessMessage
from flows import process_events
from flows import state as state_flow
from tests.processes.support import (
    assert_drawable,
    complete,
    may_do,
    new_agent,
    notes,
    one_task,
    open_tasks,
    outbox_of,
    pending_in,
    reach_pending_time,
    round_trip,
    task_data,
    task_names,
)

QUESTION = "Which printer model is it, and what does its display say?"


@pytest.fixture
def people(agent):
    return {
        login: agent(login) for login in ("secretary", "alice", "bob", "trainee", "observer", "consultant")
    }


@pytest.fixture
def triaged_to_2nd_level(session, people, start_process):
    """A Raw ticket the secretary moved to 2nd level: its Work task waits there."""
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    return instance


# --- S4: triage ------------------------------------------------------------------------


def test_a_new_ticket_waits_for_triage_by_the_agents_of_its_queue(session, people, start_process):
    instance = start_process()

    task = one_task(session, instance, "Triage")
    assert task.follows_ticket_queue
    assert task.form == "triage.schema.json"
    assert instance.forms["triage.schema.json"]["additionalProperties"] is False
    assert may_do(session, task, *people.values()) == {
        "secretary": True,
        "alice": False,
        "bob": False,
        "trainee": False,
        "observer": False,
        "consultant": False,
    }
    round_trip(session, instance)


def test_the_secretary_moves_the_ticket_to_2nd_level_where_bob_may_work_on_it(
    session, people, triaged_to_2nd_level
):
    instance = triaged_to_2nd_level
    ticket = instance.ticket

    assert ticket.queue.name == "2nd level"
    work = one_task(session, instance, "Work")
    assert work.follows_ticket_queue
    assert work.candidate_agent_id is None
    assert may_do(session, work, people["bob"], people["alice"], people["secretary"]) == {
        "bob": True,
        "alice": False,
        "secretary": False,
    }
    # alice may not read 2nd level: to her the task does not exist.
    with pytest.raises(NotFound):
        runtime.claim(session, actor=people["alice"], task_id=work.id)
    runtime.claim(session, actor=people["bob"], task_id=work.id)
    assert ticket.owner == people["bob"]  # the claim locked the ticket for bob
    round_trip(session, instance)


def test_triage_form_errors_name_the_missing_field_and_change_nothing(session, people, start_process):
    instance = start_process()
    task = one_task(session, instance, "Triage")
    secretary = people["secretary"]

    with pytest.raises(ValidationError) as move:
        runtime.complete_task(session, actor=secretary, task_id=task.id, data={"decision": "move"})
    assert "target_queue" in move.value.errors
    with pytest.raises(ValidationError) as ask:
        runtime.complete_task(session, actor=secretary, task_id=task.id, data={"decision": "ask_customer"})
    assert "question" in ask.value.errors
    with pytest.raises(ValidationError):
        runtime.complete_task(session, actor=secretary, task_id=task.id, data={"decision": "delete"})

    assert one_task(session, instance, "Triage").id == task.id
    assert instance.ticket.queue.name == "Raw"


def test_moving_to_an_unknown_queue_fails_and_the_triage_stays_open(session, people, start_process):
    instance = start_process()
    task = one_task(session, instance, "Triage")

    # The target queue is a picker (x-ticketflow-picker): an unknown queue is a field error.
    with pytest.raises(ValidationError) as refused, session.begin_nested():
        runtime.complete_task(
            session,
            actor=people["secretary"],
            task_id=task.id,
            data={"decision": "move", "target_queue": "Nowhere"},
        )
    assert refused.value.errors == {"target_queue": ["choose one of the offered values"]}

    session.refresh(instance)
    assert one_task(session, instance, "Triage").id == task.id
    assert instance.ticket.queue.name == "Raw"


def test_triage_moves_only_where_the_deciding_agent_may_move_tickets(session, people, start_process):
    """The move is made as the secretary, who may move into Finance but not into Board."""
    instance = start_process()
    task = one_task(session, instance, "Triage")

    # Board is not among the queues offered to her (no move_into): refused on the field.
    with pytest.raises(ValidationError) as refused, session.begin_nested():
        runtime.complete_task(
            session,
            actor=people["secretary"],
            task_id=task.id,
            data={"decision": "move", "target_queue": "Board"},
        )
    assert refused.value.errors == {"target_queue": ["choose one of the offered values"]}

    session.refresh(instance)
    assert one_task(session, instance, "Triage").id == task.id
    assert instance.ticket.queue.name == "Raw"


def test_triage_can_close_the_ticket_at_once(session, people, start_process):
    instance = start_process()

    complete(session, people["secretary"], instance, "Triage", decision="close")

    assert instance.ticket.state.name == "closed successful"
    assert instance.status == "completed"
    assert open_tasks(session, instance) == []


def test_triage_can_keep_the_ticket_in_its_queue_for_work(session, people, start_process):
    instance = start_process()

    complete(session, people["secretary"], instance, "Triage", decision="work")

    work = one_task(session, instance, "Work")
    assert instance.ticket.queue.name == "Raw"
    assert may_do(session, work, people["secretary"], people["bob"]) == {"secretary": True, "bob": False}


def test_asking_the_customer_mails_the_question_as_the_secretary_and_the_reply_brings_back_triage(
    session, people, start_process
):
    instance = start_process()
    ticket = instance.ticket
    first = one_task(session, instance, "Triage")

    complete(
        session,
        people["secretary"],
        instance,
        "Triage",
        decision="ask_customer",
        question=QUESTION,
        reminder_days=5,
    )

    # The customer gets the question, from the secretary: an e-mail article and its mail.
    [mail] = outbox_of(session, ticket)
    assert mail.to_addr == "john.doe@acme.example"
    question = mail.article
    assert question is not None
    assert (question.channel, question.is_visible_for_customer) == ("email", True)
    assert question.body_text == QUESTION
    assert (question.sender_type, question.created_by_agent_id) == ("agent", people["secretary"].id)
    assert notes(session, ticket) == []  # no longer an internal note only
    # The ticket's pending time is the reminder: the chosen five days, no process timer.
    assert ticket.state.name == "pending reminder"
    assert pending_in(ticket) == pytest.approx(timedelta(days=5), abs=timedelta(minutes=1))
    assert instance.next_timer_due is None
    assert open_tasks(session, instance) == []
    assert instance.waiting_messages == ["customer_replied", "pending_time_reached", "ticket_closed"]
    round_trip(session, instance)

    record = runtime.deliver_message(
        session, ticket=ticket, name="customer_replied", payload={"article_id": 4711}
    )

    assert record.status == "delivered"
    assert record.instance_id == instance.id
    assert ticket.state.name == "open"
    assert ticket.pending_until is None
    again = one_task(session, instance, "Triage")
    assert again.id != first.id
    assert task_data(instance, again)["customer_reply"] == {"article_id": 4711}
    assert instance.waiting_messages == ["ticket_closed"]


def test_without_a_reply_the_reminder_reopens_the_ticket_and_triage_comes_back(
    session, people, start_process
):
    instance = start_process()
    ticket = instance.ticket
    complete(session, people["secretary"], instance, "Triage", decision="ask_customer", question=QUESTION)
    assert pending_in(ticket) == pytest.approx(timedelta(days=3), abs=timedelta(minutes=1))

    assert reach_pending_time(session, ticket) == "process"

    assert notes(session, ticket)[-1] == (
        "Reminder",
        f"Reminder: the customer has not answered this question yet: {QUESTION}",
    )
    assert task_names(session, instance) == ["Triage"]
    # Open again: no pending state with a time in the past is left behind.
    assert ticket.state.name == "open"
    assert ticket.pending_until is None
    assert instance.waiting_messages == ["ticket_closed"]
    late = runtime.deliver_message(session, ticket=ticket, name="customer_replied")
    assert late.status == "unmatched"


def test_the_reminder_waits_for_the_pending_time_an_agent_set_by_hand(session, people, start_process):
    """The process waits for the ticket's pending time: moved by hand, the reminder moves."""
    instance = start_process()
    ticket = instance.ticket
    complete(session, people["secretary"], instance, "Triage", decision="ask_customer", question=QUESTION)
    later = utcnow() + timedelta(days=10)

    state_flow.set_state(
        session, actor=people["secretary"], ticket=ticket, state=ticket.state, pending_until=later
    )

    with time_machine.travel(utcnow() + timedelta(days=4), tick=False):
        assert ticket.id not in process_events.due_pending_tickets(session, now=utcnow())
    assert reach_pending_time(session, ticket) == "process"
    assert task_names(session, instance) == ["Triage"]
    assert ticket.state.name == "open"


def test_waiting_times_can_be_given_when_the_process_starts(session, people, start_process):
    instance = start_process(data={"reminder_after": "PT4H", "auto_close_after": "P1D"})

    complete(session, people["secretary"], instance, "Triage", decision="ask_customer", question=QUESTION)

    assert pending_in(instance.ticket) == pytest.approx(timedelta(hours=4), abs=timedelta(minutes=1))


# --- work and S8: resolve, auto-close, reopen --------------------------------------------


def test_resolving_waits_pending_auto_close_and_the_timer_closes_the_ticket(
    session, people, triaged_to_2nd_level
):
    instance = triaged_to_2nd_level
    ticket = instance.ticket

    complete(session, people["bob"], instance, "Work", action="resolve")

    assert ticket.state.name == "pending auto close+"
    assert pending_in(ticket) == pytest.approx(timedelta(days=7), abs=timedelta(minutes=1))
    assert instance.waiting_messages == ["customer_replied", "pending_time_reached", "ticket_closed"]
    assert open_tasks(session, instance) == []
    round_trip(session, instance)

    assert reach_pending_time(session, ticket) == "process"

    assert ticket.state.name == "closed successful"
    assert instance.status == "completed"
    assert instance.next_timer_due is None
    assert open_tasks(session, instance) == []
    assert ticket.locked_by is None  # closing released bob's lock
    # Everything stays: the ticket, its notes and its history.
    kinds = {h.type for h in history.for_ticket(session, ticket=ticket)}
    assert kinds >= {"ProcessStart", "Move", "TaskCompleted", "StateUpdate", "SetPendingTime"}


def test_a_customer_reply_before_the_auto_close_reopens_it_and_work_returns_to_bob(
    session, people, triaged_to_2nd_level
):
    instance = triaged_to_2nd_level
    ticket = instance.ticket
    complete(session, people["bob"], instance, "Work", action="resolve")

    record = runtime.deliver_message(
        session, ticket=ticket, name="customer_replied", payload={"article_id": 9}
    )

    assert record.status == "delivered"
    assert ticket.state.name == "open"
    work = one_task(session, instance, "Work")
    assert work.candidate_agent_id == people["bob"].id
    carol = new_agent(session, "carol", groups=["second_level"])
    assert may_do(session, work, people["bob"], carol) == {"bob": True, "carol": False}
    assert instance.next_timer_due is None

    complete(session, people["bob"], instance, "Work", action="resolve")
    reach_pending_time(session, ticket)
    assert ticket.state.name == "closed successful"
    assert instance.status == "completed"


def test_work_can_ask_the_customer_and_comes_back_to_the_same_agent(session, people, triaged_to_2nd_level):
    instance = triaged_to_2nd_level
    ticket = instance.ticket

    complete(
        session, people["bob"], instance, "Work", action="ask_customer", question=QUESTION, reminder_days=2
    )

    assert ticket.state.name == "pending reminder"
    assert pending_in(ticket) == pytest.approx(timedelta(days=2), abs=timedelta(minutes=1))
    [mail] = outbox_of(session, ticket)
    assert mail.to_addr == "john.doe@acme.example"
    assert mail.article is not None
    assert (mail.article.body_text, mail.article.created_by_agent_id) == (QUESTION, people["bob"].id)
    round_trip(session, instance)
    reach_pending_time(session, ticket)

    work = one_task(session, instance, "Work")
    assert work.candidate_agent_id == people["bob"].id
    assert notes(session, ticket)[-1][0] == "Reminder"
    assert (ticket.state.name, ticket.pending_until) == ("open", None)
    # The previous choice is not taken again by itself: the form starts empty.
    data = task_data(instance, work)
    assert data["action"] is None
    assert data["question"] is None
    assert data["reminder_days"] is None
    assert data["worker_agent_id"] == people["bob"].id

    complete(
        session, people["bob"], instance, "Work", action="ask_customer", question="And the serial number?"
    )
    assert runtime.deliver_message(session, ticket=ticket, name="customer_replied").status == "delivered"
    assert ticket.state.name == "open"
    assert one_task(session, instance, "Work").candidate_agent_id == people["bob"].id


def test_an_agent_who_may_not_contact_customers_cannot_ask_the_customer(
    session, people, triaged_to_2nd_level
):
    """The server refuses it whatever the form offered: the task stays open, nothing is sent."""
    instance = triaged_to_2nd_level
    ticket = instance.ticket
    rude = new_agent(session, "rude", groups=["second_level"])
    rude.may_contact_customers = False
    work = one_task(session, instance, "Work")

    runtime.claim(session, actor=rude, task_id=work.id)
    with pytest.raises(PermissionDenied), session.begin_nested():
        runtime.complete_task(
            session, actor=rude, task_id=work.id, data={"action": "ask_customer", "question": QUESTION}
        )

    session.refresh(instance)
    assert one_task(session, instance, "Work").id == work.id
    assert outbox_of(session, ticket) == []
    assert ticket.state.name != "pending reminder"


def test_the_work_form_requires_what_each_step_needs(session, people, triaged_to_2nd_level):
    work = one_task(session, triaged_to_2nd_level, "Work")
    bob = people["bob"]
    cases = {
        "authorize": {"authorization_request"},
        "external": {"specialist_email", "specialist_question"},
        "ask_customer": {"question"},
    }
    for action, fields in cases.items():
        with pytest.raises(ValidationError) as error:
            runtime.complete_task(session, actor=bob, task_id=work.id, data={"action": action})
        assert fields <= set(error.value.errors), action
    with pytest.raises(ValidationError) as bad_mail:
        runtime.complete_task(
            session,
            actor=bob,
            task_id=work.id,
            data={"action": "external", "specialist_email": "not a mail", "specialist_question": "Why?"},
        )
    assert "specialist_email" in bad_mail.value.errors


def test_every_message_is_recorded(session, people, triaged_to_2nd_level):
    ticket = triaged_to_2nd_level.ticket

    runtime.deliver_message(session, ticket=ticket, name="customer_replied", payload={"article_id": 1})

    records = session.scalars(select(ProcessMessage).where(ProcessMessage.ticket_id == ticket.id)).all()
    assert [(r.name, r.status) for r in records] == [("customer_replied", "unmatched")]
    assert task_names(session, triaged_to_2nd_level) == ["Work"]


def test_the_diagram_deploys_and_has_a_picture_for_the_designer(deployed):
    assert "ticket_handling" in {v.process_id for v in deployed}
    assert_drawable("ticket_handling.bpmn")
