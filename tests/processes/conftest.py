"""Fixtures for the default processes: the whole ``bpmn/`` folder deployed, tickets started on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.models import ProcessInstance, ProcessVersion
from ticketflow.bootstrap import bootstrap

# The operators and lane rules are registered by the composition root (idempotent; the
# top-level conftest may have composed already).
bootstrap()


@pytest.fixture
def deployed(session: Session) -> list[ProcessVersion]:
    """Every diagram of ``bpmn/`` with its forms, deployed by the system as at installation."""
    return definitions.deploy_directory(session, actor=SYSTEM)


@pytest.fixture
def start_process(
    session: Session,
    deployed: list[ProcessVersion],
    queue: Callable[[str], Any],
    customer: Callable[[str], Any],
) -> Callable[..., ProcessInstance]:
    """Create a ticket in ``queue_name`` for a demo customer and start ``process_id`` for it."""

    def start(
        process_id: str = "ticket_handling",
        queue_name: str = "Raw",
        data: dict[str, Any] | None = None,
        title: str = "The printer on floor 2 prints blank pages",
    ) -> ProcessInstance:
        ticket = tickets.create_ticket(
            session,
            actor=SYSTEM,
            title=title,
            queue=queue(queue_name),
            customer_user=customer("john.doe@acme.example"),
        )
        return runtime.start(session, actor=SYSTEM, ticket=ticket, process_id=process_id, data=data)

    return start
