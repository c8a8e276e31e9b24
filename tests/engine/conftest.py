"""Engine test helpers: deploy a diagram, start it for a new ticket, find open tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance


def open_tasks(session: Session, instance: ProcessInstance) -> list[HumanTask]:
    """The instance's open inbox tasks, oldest first."""
    session.flush()
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
            .order_by(HumanTask.id)
        )
    )


def one_task(session: Session, instance: ProcessInstance, name: str | None = None) -> HumanTask:
    """The single open task (with this name)."""
    tasks = [t for t in open_tasks(session, instance) if name is None or t.name == name]
    assert len(tasks) == 1, f"expected one open task {name or ''}, found {[t.name for t in tasks]}"
    return tasks[0]


@pytest.fixture
def deploy(session: Session) -> Callable[..., Any]:
    """Deploy BPMN text (with forms) as the system."""

    def do(xml: str, forms: dict[str, Any] | None = None) -> Any:
        return definitions.deploy(session, actor=SYSTEM, bpmn_xml=xml, forms=forms or {})

    return do


@pytest.fixture
def start(
    session: Session, queue: Callable[[str], Any], customer: Callable[[str], Any]
) -> Callable[..., Any]:
    """Create a ticket in ``queue_name`` and start ``process_id`` for it."""

    def do(process_id: str, queue_name: str = "Raw", data: dict[str, Any] | None = None) -> ProcessInstance:
        ticket: Ticket = tickets.create_ticket(
            session,
            actor=SYSTEM,
            title=f"{process_id} test",
            queue=queue(queue_name),
            customer_user=customer("john.doe@acme.example"),
        )
        return runtime.start(session, actor=SYSTEM, ticket=ticket, process_id=process_id, data=data)

    return do
