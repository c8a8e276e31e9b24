"""A small dataset with known statistics (built through the use cases, at known times)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask
from flows import reply, state, tasks
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket

DAY = date(2026, 6, 1)
TWO_STEPS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="t">
  <bpmn:process id="two_steps" name="Two steps" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="triage" name="Triage">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="work" name="Work">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="triage"/>
    <bpmn:sequenceFlow id="f2" sourceRef="triage" targetRef="work"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="two_steps">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="100" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="triage_di" bpmnElement="triage">
        <dc:Bounds x="190" y="78" width="100" height="80"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="work_di" bpmnElement="work">
        <dc:Bounds x="340" y="78" width="100" height="80"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end">
        <dc:Bounds x="490" y="100" width="36" height="36"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1">
        <di:waypoint x="136" y="118"/><di:waypoint x="190" y="118"/>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2">
        <di:waypoint x="290" y="118"/><di:waypoint x="340" y="118"/>
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3">
        <di:waypoint x="440" y="118"/><di:waypoint x="490" y="118"/>
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC) + timedelta(days=days)


@dataclass
class Known:
    """The dataset's tickets and the answers the figures must give."""

    tickets: list[Ticket]
    queue: Queue


def build(session: Session) -> Known:
    """Three tickets in 1st level on DAY with replies, closes and process steps at known times.

    Known answers (minutes): first responses 30, 60, 10 (median 30, p90 60); solutions 120 and
    1440 (median 780, p90 1440); created on DAY 3, closed on DAY 1 and on DAY+1 1; step
    ``triage`` done twice in 20 and 50 (median 35, p90 50) and waiting once (ticket 3),
    ``work`` done once in 40 (ticket 2's close ended its process).
    """
    queue = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
    customer = session.scalars(
        select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
    ).one()
    admin = session.scalars(select(Agent).where(Agent.login == "admin")).one()
    alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=TWO_STEPS)
    plan = [
        # opened, answered after, closed after (minutes), triage, work
        (at(9), 30, 120, 20, 40),
        (at(10), 60, 1440, 50, None),
        (at(12), 10, None, None, None),
    ]
    made: list[Ticket] = []
    for number, (opened, answer, close, triage, work) in enumerate(plan, 1):
        with time_machine.travel(opened, tick=False):
            ticket = open_ticket(
                session,
                actor=SYSTEM,
                queue=queue,
                title=f"Known ticket {number}",
                customer_user=customer,
                first=ArticleDraft(
                    channel="email",
                    sender_type="customer",
                    visible_for_customer=True,
                    subject=f"Known ticket {number}",
                    body_text="Please help.",
                    from_addr=customer.email,
                ),
            ).ticket
            instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="two_steps")
        moments = [
            (answer, lambda t=ticket: reply.reply(session, actor=alice, ticket=t, body_text="On it.")),
            (close, lambda t=ticket: state.close(session, actor=alice, ticket=t)),
        ]
        if triage is not None:
            moments.append((triage, lambda i=instance: _complete(session, admin, i.id, "triage")))
            if work is not None:
                moments.append((triage + work, lambda i=instance: _complete(session, admin, i.id, "work")))
        for minutes, action in sorted((m for m in moments if m[0] is not None), key=lambda m: m[0]):
            with time_machine.travel(opened + timedelta(minutes=minutes), tick=False):
                action()
        made.append(ticket)
    session.flush()
    return Known(tickets=made, queue=queue)


def _complete(session: Session, actor: Agent, instance_id: int, bpmn_id: str) -> None:
    task = session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id, HumanTask.state == "open"
        )
    ).one()
    tasks.complete(session, actor=actor, task_id=task.id)
