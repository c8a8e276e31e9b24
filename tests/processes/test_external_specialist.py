"""S7 on the real ``bpmn/external_specialist.bpmn``, called from the Work step of ticket handling:
the question goes out by mail with a request token, the reply with that token wakes the
process, and without a reply the agent who asked is reminded and decides what next.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from desk.outbox.models import OutboxMessage
from engine import runtime
from engine.models import ProcessMessage
from tests.processes.support import (
    articles_of,
    assert_drawable,
    complete,
    due_in,
    fire_due_timer,
    may_do,
    notes,
    one_task,
    open_tasks,
    round_trip,
    task_data,
    task_names,
    waiting_values,
)

SPECIALIST = "printer.guru@vendor.example"
QUESTION = "Model LX-200 prints blank pages after the firmware 2.0 update. Known issue?"
TOKEN = re.compile(r"\[Req#([0-9a-f]{12})\]")


@pytest.fixture
def people(agent):
    return {login: agent(login) for login in ("bob", "secretary", "consultant")}


@pytest.fixture
def at_work(session, people, start_process):
    instance = start_process()
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")
    return instance


def ask_specialist(session, people, instance):
    complete(
        session,
        people["bob"],
        instance,
        "Work",
        action="external",
        specialist_email=SPECIALIST,
        specialist_question=QUESTION,
    )


def outbox_to_specialist(session, instance):
    return session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.ticket_id == instance.ticket.id, OutboxMessage.to_addr == SPECIALIST
        )
    ).all()


def test_the_question_goes_out_by_mail_with_a_token_and_stays_internal(session, people, at_work):
    ask_specialist(session, people, at_work)

    [mail] = outbox_to_specialist(session, at_work)
    assert mail.status == "queued"
    token = TOKEN.search(mail.article.subject).group(1)
    assert at_work.ticket.number in mail.article.subject
    assert QUESTION in mail.article.body_text
    [article] = [a for a in articles_of(session, at_work.ticket) if a.to_addr == SPECIALIST]
    assert article.channel == "email"
    assert article.is_visible_for_customer is False
    assert article.message_id == mail.message_id
    assert open_tasks(session, at_work) == []
    assert at_work.waiting_messages == ["specialist_replied", "ticket_closed"]
    assert due_in(at_work) == pytest.approx(timedelta(days=2), abs=timedelta(minutes=1))
    assert waiting_values(at_work, "specialist_token") == {token}
    round_trip(session, at_work)


def test_the_reply_with_the_right_token_wakes_the_process_and_bob_decides(session, people, at_work):
    ask_specialist(session, people, at_work)
    token = TOKEN.search(outbox_to_specialist(session, at_work)[0].article.subject).group(1)

    wrong = runtime.deliver_message(
        session,
        ticket=at_work.ticket,
        name="specialist_replied",
        payload={"article_id": 1},
        correlation={"specialist_token": "0123456789ab"},
    )
    assert wrong.status == "unmatched"
    assert wrong.instance_id is None
    assert open_tasks(session, at_work) == []
    assert at_work.waiting_messages == ["specialist_replied", "ticket_closed"]

    right = runtime.deliver_message(
        session,
        ticket=at_work.ticket,
        name="specialist_replied",
        payload={"article_id": 2},
        correlation={"specialist_token": token},
    )

    assert right.status == "delivered"
    assert right.instance_id == at_work.id
    work = one_task(session, at_work, "Work")
    assert work.candidate_agent_id == people["bob"].id
    data = task_data(at_work, work)
    assert data["specialist_answered"] is True
    assert data["specialist_reply"] == {"article_id": 2}
    assert data["specialist_token"] == token
    assert at_work.next_timer_due is None  # the reminder went with the wait
    records = session.scalars(
        select(ProcessMessage.status)
        .where(ProcessMessage.ticket_id == at_work.ticket.id)
        .order_by(ProcessMessage.id)
    ).all()
    assert records == ["unmatched", "delivered"]


def test_without_an_answer_bob_is_reminded_and_may_wait_again(session, people, at_work):
    bob = people["bob"]
    ask_specialist(session, people, at_work)
    token = TOKEN.search(outbox_to_specialist(session, at_work)[0].article.subject).group(1)
    first_due = at_work.next_timer_due

    fire_due_timer(session, at_work)

    assert notes(session, at_work.ticket)[-1] == (
        "Reminder: external specialist",
        f"No answer yet from {SPECIALIST} to: {QUESTION}",
    )
    task = one_task(session, at_work, "No answer from the specialist")
    assert task.process_id == "external_specialist"
    assert task.candidate_agent_id == bob.id
    assert may_do(session, task, bob, people["consultant"]) == {"bob": True, "consultant": False}
    assert at_work.waiting_messages == ["ticket_closed"]  # the close handler
    round_trip(session, at_work)

    complete(session, bob, at_work, "No answer from the specialist", next_step="wait_again")

    assert open_tasks(session, at_work) == []
    assert at_work.waiting_messages == ["specialist_replied", "ticket_closed"]
    assert at_work.next_timer_due > first_due
    assert len(outbox_to_specialist(session, at_work)) == 1  # no second mail
    # A reply that comes late, still with the same token, is taken.
    record = runtime.deliver_message(
        session, ticket=at_work.ticket, name="specialist_replied", correlation={"specialist_token": token}
    )
    assert record.status == "delivered"
    assert one_task(session, at_work, "Work").candidate_agent_id == bob.id


def test_bob_may_give_up_and_work_on_without_the_answer(session, people, at_work):
    ask_specialist(session, people, at_work)
    fire_due_timer(session, at_work)

    complete(session, people["bob"], at_work, "No answer from the specialist", next_step="give_up")

    assert task_names(session, at_work) == ["Work"]
    work = one_task(session, at_work, "Work")
    assert work.candidate_agent_id == people["bob"].id
    data = task_data(at_work, work)
    assert data["specialist_answered"] is False
    assert data["specialist_reply"] is None
    assert at_work.waiting_messages == ["ticket_closed"]  # the close handler
    assert at_work.next_timer_due is None


def test_the_reminder_time_can_be_set_when_the_ticket_process_starts(session, people, start_process):
    instance = start_process(data={"specialist_reminder_after": "PT6H"})
    complete(session, people["secretary"], instance, "Triage", decision="move", target_queue="2nd level")

    ask_specialist(session, people, instance)

    assert due_in(instance) == pytest.approx(timedelta(hours=6), abs=timedelta(minutes=1))


def test_the_diagram_deploys_and_has_a_picture_for_the_designer(deployed):
    assert "external_specialist" in {v.process_id for v in deployed}
    assert_drawable("external_specialist.bpmn")
