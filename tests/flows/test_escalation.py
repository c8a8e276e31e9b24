"""Escalations end to end: due times on a calendar, warnings and breaches told once, pauses,
a service-level change on a running ticket, and a process that escalates on the breach."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
import time_machine
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.sla import service as sla
from desk.ticket import states
from engine import definitions, inbox, runtime
from engine.models import HumanTask
from flows import escalation, reply, state, ticket_fields
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from mail.outbound.compose import compose

WATCH = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:message id="sla_breached" name="sla_breached"/>
  <bpmn:process id="sla_watch" name="Answer in time" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="Answer the customer">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="breached" name="First response time ran out" attachedToRef="answer">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="breached_def" messageRef="sla_breached"/>
    </bpmn:boundaryEvent>
    <bpmn:serviceTask id="to_second_level" name="Escalate to 2nd level">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="move_queue" resultVariable="moved_to">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="queue" type="any" value="'2nd level'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="escalated" name="Escalated: answer now">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end2"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end1"/>
    <bpmn:sequenceFlow id="f3" sourceRef="breached" targetRef="to_second_level"/>
    <bpmn:sequenceFlow id="f4" sourceRef="to_second_level" targetRef="escalated"/>
    <bpmn:sequenceFlow id="f5" sourceRef="escalated" targetRef="end2"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def level(session, agent, queue):
    """A round-the-clock level on 1st level: answer within an hour, warn at half time."""
    made = sla.create_level(
        session,
        actor=agent("admin"),
        name="Gold",
        first_response_minutes=60,
        update_minutes=120,
        solution_minutes=8 * 60,
        notify_before_percent=50,
    )
    queue("1st level").service_level_id = made.id
    session.flush()
    return made


def new_ticket(session, queue, customer, title="The VPN drops every hour"):
    opened = open_ticket(
        session,
        actor=SYSTEM,
        queue=queue("1st level"),
        title=title,
        customer_user=customer("john.doe@acme.example"),
        first=ArticleDraft(
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=title,
            body_text="It happens again and again.",
            from_addr="john.doe@acme.example",
        ),
    )
    return opened.ticket


def history_types(session, ticket) -> list[str]:
    return list(
        session.scalars(
            select(History.type).where(History.ticket_id == ticket.id, History.type.like("Escalation%"))
        )
    )


def outbox_subjects(session, ticket) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
    ).all()
    found = []
    for row in rows:
        message = compose(row, session=session)
        found.append((str(make_header(decode_header(message["Subject"]))), str(message["To"])))
    return found


def test_a_ticket_without_a_first_response_warns_then_breaches_once(session, agent, queue, customer, level):
    ticket = new_ticket(session, queue, customer)
    ticket_fields.set_owner(session, actor=SYSTEM, ticket=ticket, owner=agent("alice"))
    opened = ticket.created_at
    due = escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert due.first_response_due == opened + timedelta(minutes=60)
    assert ticket.first_response_due == opened + timedelta(minutes=60)
    assert ticket.solution_due == opened + timedelta(hours=8)
    assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == []

    with time_machine.travel(opened + timedelta(minutes=31), tick=False):
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == ["first_response_warn"]
    with time_machine.travel(opened + timedelta(minutes=61), tick=False):
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == ["first_response_breach"]
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == []  # told once

    assert history_types(session, ticket) == [
        "EscalationResponseTimeNotifyBefore",
        "EscalationResponseTimeStart",
    ]
    alice = agent("alice").email
    mails = [m for m in outbox_subjects(session, ticket) if m[1] == alice]
    assert [subject for subject, _to in mails] == [
        "[Escalation warning] The VPN drops every hour",
        "[Escalation] The VPN drops every hour",
    ]
    assert not any("john.doe" in (to or "") for _subject, to in mails)


def test_the_inbox_shows_the_escalating_ticket_first(session, agent, queue, customer, level, deployed):
    calm = open_ticket(
        session,
        actor=SYSTEM,
        queue=queue("2nd level"),
        title="Older, no service level",
        customer_user=customer("john.doe@acme.example"),
        first=ArticleDraft(
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject="Older",
            body_text="No hurry.",
            from_addr="john.doe@acme.example",
        ),
    ).ticket
    urgent = new_ticket(session, queue, customer, title="Urgent under Gold")
    for ticket in (calm, urgent):
        escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    tasks = inbox.tasks_for(session, agent=agent("admin"))
    tickets_in_order = [task.ticket_id for task in tasks]
    assert urgent.id in tickets_in_order
    assert calm.id in tickets_in_order
    assert tickets_in_order.index(urgent.id) < tickets_in_order.index(calm.id)


def test_an_answer_ends_the_first_response_target_and_a_new_message_starts_the_update_target(
    session, agent, queue, customer, level
):
    ticket = new_ticket(session, queue, customer)
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    reply.reply(session, actor=agent("alice"), ticket=ticket, body_text="We are on it.")
    due = escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert due.first_response_due is None
    assert ticket.first_response_due is None
    assert due.update_due is None  # nothing unanswered
    assert due.solution_due is not None


def test_pending_pauses_the_clock_and_pushes_the_due_times_back(session, agent, queue, customer, level):
    ticket = new_ticket(session, queue, customer)
    opened = ticket.created_at
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    with time_machine.travel(opened + timedelta(minutes=10), tick=False):
        state.set_state(
            session,
            actor=SYSTEM,
            ticket=ticket,
            state=states.first_state_of_type(session, "pending_reminder"),
            pending_until=utcnow() + timedelta(days=1),
        )
        due = escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
        assert due.earliest() is None
        assert ticket.first_response_due is None
    with time_machine.travel(opened + timedelta(minutes=130), tick=False):
        # Two hours later nothing escalated while the customer was waited for.
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == []
        state.set_state(
            session, actor=SYSTEM, ticket=ticket, state=states.first_state_of_type(session, "open")
        )
        due = escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert ticket.escalation_paused_minutes == 120
    assert due.first_response_due == opened + timedelta(minutes=60 + 120)
    assert due.solution_due == opened + timedelta(hours=8, minutes=120)


def test_a_service_level_change_on_a_running_ticket_moves_its_due_times(
    session, agent, queue, customer, level
):
    ticket = new_ticket(session, queue, customer)
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert ticket.id not in escalation.stale_tickets(session)
    sla.update_level(
        session,
        actor=agent("admin"),
        level_id=level.id,
        name="Gold",
        calendar_id=None,
        first_response_minutes=30,
        update_minutes=120,
        solution_minutes=16 * 60,
        notify_before_percent=50,
        pause_while_pending=True,
    )
    session.expire(ticket)
    assert ticket.id in escalation.stale_tickets(session)
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert ticket.first_response_due == ticket.created_at + timedelta(minutes=30)
    assert ticket.solution_due == ticket.created_at + timedelta(hours=16)
    assert ticket.id not in escalation.stale_tickets(session)


def test_a_breach_moves_the_ticket_to_second_level_through_its_process(
    session, agent, queue, customer, level
):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=WATCH)
    ticket = new_ticket(session, queue, customer, title="Watched ticket")
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="sla_watch")
    assert "sla_breached" in instance.waiting_messages
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    with time_machine.travel(ticket.created_at + timedelta(minutes=61), tick=False):
        told = escalation.escalate(session, ticket_id=ticket.id, now=utcnow())
    assert "first_response_breach" in told
    session.flush()
    assert ticket.queue.name == "2nd level"
    open_names = session.scalars(
        select(HumanTask.name).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
    ).all()
    assert open_names == ["Escalated: answer now"]
    assert "EscalationResponseTimeStart" in history_types(session, ticket)


def test_a_companys_contracted_level_wins_over_the_queues(session, agent, queue, customer, level):
    platinum = sla.create_level(session, actor=agent("admin"), name="Platinum", first_response_minutes=15)
    john = customer("john.doe@acme.example")
    assert john.company is not None
    john.company.service_level_id = platinum.id
    session.flush()
    ticket = new_ticket(session, queue, customer)
    escalation.refresh(session, ticket_id=ticket.id, now=utcnow())
    assert ticket.first_response_due == ticket.created_at + timedelta(minutes=15)
    assert ticket.solution_due is None  # Platinum sets no solution target
