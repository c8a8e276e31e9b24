"""Helpers for driving the default processes the way agents, customers and timers do."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import time_machine
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent, Role
from desk.article.models import Article
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from engine import runtime, serialization
from engine.models import HumanTask, ProcessInstance
from engine.parser import load_xml
from engine.scripting import TicketflowScriptEngine
from flows import process_events


def open_tasks(session: Session, instance: ProcessInstance) -> list[HumanTask]:
    """The instance's open inbox tasks (of it and of the processes it called), oldest first."""
    session.flush()
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
            .order_by(HumanTask.id)
        )
    )


def task_names(session: Session, instance: ProcessInstance) -> list[str]:
    """Names of the open tasks."""
    return [t.name for t in open_tasks(session, instance)]


def one_task(session: Session, instance: ProcessInstance, name: str) -> HumanTask:
    """The single open task called ``name`` (fails showing what is open instead)."""
    tasks = open_tasks(session, instance)
    found = [t for t in tasks if t.name == name]
    assert len(found) == 1, f"expected one open task {name!r}, found {[t.name for t in tasks]}"
    return found[0]


def complete(session: Session, actor: Any, instance: ProcessInstance, name: str, **form: Any) -> HumanTask:
    """Claim and complete the open task ``name`` as ``actor`` (an agent) with ``form``."""
    task = one_task(session, instance, name)
    if isinstance(actor, Agent):
        runtime.claim(session, actor=actor, task_id=task.id)
    runtime.complete_task(session, actor=actor, task_id=task.id, data=form)
    return task


def may_do(session: Session, task: HumanTask, *people: Agent) -> dict[str, bool]:
    """Login → whether that agent is a candidate for ``task``."""
    return {a.login: runtime.is_candidate(session, a, task) for a in people}


def notes(session: Session, ticket: Ticket) -> list[tuple[str, str]]:
    """(subject, body) of the ticket's internal notes, oldest first."""
    return [
        (a.subject, a.body_text)
        for a in articles_of(session, ticket)
        if a.channel == "note" and not a.is_visible_for_customer
    ]


def workflow_of(instance: ProcessInstance) -> Any:
    """The stored workflow, restored with the safe engine."""
    return serialization.loads(instance.workflow_json, TicketflowScriptEngine())


def task_data(instance: ProcessInstance, task: HumanTask) -> dict[str, Any]:
    """The process data an open task sees (what the next steps will read)."""
    spiff_task = workflow_of(instance).get_task_from_id(UUID(task.task_guid))
    assert spiff_task is not None
    return dict(spiff_task.data)


def waiting_values(instance: ProcessInstance, name: str) -> set[Any]:
    """The values of ``name`` in the data of the events the process waits for (messages, timers)."""
    return {task.data.get(name) for task in workflow_of(instance).event_manager.tasks.values()}


def round_trip(session: Session, instance: ProcessInstance) -> None:
    """dumps/loads gives the same workflow and the same open tasks as the inbox shows."""
    workflow = workflow_of(instance)
    assert json.loads(serialization.dumps(workflow)) == json.loads(instance.workflow_json)
    again = serialization.loads(serialization.dumps(workflow), TicketflowScriptEngine())
    ready = {str(t.id): t.task_spec.bpmn_name for t in again.get_tasks(state=TaskState.READY, manual=True)}
    assert ready == {t.task_guid: t.name for t in open_tasks(session, instance)}


def fire_due_timer(session: Session, instance: ProcessInstance) -> None:
    """Travel to just after the instance's next timer and fire it as the timer sweep would."""
    due = instance.next_timer_due
    assert due is not None, "the process waits for no timer"
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        assert runtime.fire_timers(session, instance_id=instance.id, now=utcnow()) is True


def reach_pending_time(session: Session, ticket: Ticket) -> str | None:
    """Travel to just after the ticket's pending time and run the pending-time sweep on it."""
    due = ticket.pending_until
    assert due is not None, "the ticket has no pending time"
    with time_machine.travel(due + timedelta(seconds=1), tick=False):
        now = utcnow()
        assert ticket.id in process_events.due_pending_tickets(session, now=now)
        return process_events.pending_time_reached(session, ticket_id=ticket.id, now=now)


def pending_in(ticket: Ticket) -> timedelta:
    """How long from now until the ticket's pending time."""
    assert ticket.pending_until is not None
    return ticket.pending_until - utcnow()


def outbox_of(session: Session, ticket: Ticket) -> list[OutboxMessage]:
    """The ticket's outgoing mails, oldest first."""
    session.flush()
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id).order_by(OutboxMessage.id)
        )
    )


def due_in(instance: ProcessInstance) -> timedelta:
    """How long from now until the instance's next timer."""
    assert instance.next_timer_due is not None
    return instance.next_timer_due - utcnow()


def new_agent(
    session: Session, login: str, *, roles: Iterable[str] = (), groups: Iterable[str] = ()
) -> Agent:
    """An extra agent, made by the system: member of ``roles``, ``rw`` on ``groups``."""
    agent = agents.create_agent(
        session, actor=SYSTEM, login=login, password=None, first_name=login.title(), last_name="Test"
    )
    for name in roles:
        role = session.scalars(select(Role).where(Role.name == name)).one()
        agents.add_role(session, actor=SYSTEM, agent=agent, role=role)
    for name in groups:
        agents.grant_group(
            session,
            actor=SYSTEM,
            agent=agent,
            group=agents.get_group(session, name=name),
            permissions=("rw",),
        )
    return agent


def articles_of(session: Session, ticket: Ticket) -> list[Article]:
    """Every article of the ticket, oldest first."""
    session.flush()
    return list(session.scalars(select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id)))


BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
_FLOW_NODES = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "userTask",
    "serviceTask",
    "scriptTask",
    "callActivity",
    "exclusiveGateway",
    "eventBasedGateway",
    "parallelGateway",
}


def assert_drawable(filename: str) -> None:
    """The diagram has a picture bpmn-js can show: a shape inside the pool for every flow node
    and lane, an edge with waypoints for every sequence flow."""
    root = load_xml((BPMN_DIR / filename).read_text())
    local = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
    di = "{http://www.omg.org/spec/BPMN/20100524/DI}"
    dc = "{http://www.omg.org/spec/DD/20100524/DC}"
    shapes = {s.get("bpmnElement"): s.find(f"{dc}Bounds") for s in root.iter(f"{di}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in root.iter(f"{di}BPMNEdge")}
    [pool] = root.findall(".//bpmn:participant", local)
    px, py, pw, ph = (float(shapes[pool.get("id")].get(k)) for k in ("x", "y", "width", "height"))
    elements = [
        e for e in root.iter() if etree.QName(e.tag).localname in {*_FLOW_NODES, "lane"} and e.get("id")
    ]
    assert elements
    for element in elements:
        bounds = shapes.get(element.get("id"))
        assert bounds is not None, f"{element.get('id')} has no shape"
        x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        assert px <= x, element.get("id")
        assert x + w <= px + pw, element.get("id")
        assert py <= y, element.get("id")
        assert y + h <= py + ph, element.get("id")
    for flow in root.iterfind(".//bpmn:sequenceFlow", local):
        edge = edges.get(flow.get("id"))
        assert edge is not None, f"{flow.get('id')} has no edge"
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2
