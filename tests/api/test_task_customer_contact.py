"""``POST /api/v1/tasks/{id}/complete``: the Work task's "external specialist" and the
customer-contact rule.  The consultant (may not contact customers) cannot name the
customer's address (nor one the customer copied in) as the specialist: 403, the task stays
open and nothing is in the outbox.  A real specialist's address works, sent as the consultant.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance
from tests.api.conftest import Api, assert_error

COPIED_IN = "john.private@home.example"
SPECIALIST = "printer.guru@vendor.example"


def outbox_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def open_task(session: Session, instance: ProcessInstance, name: str) -> HumanTask:
    session.flush()
    return session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "open", HumanTask.name == name
        )
    ).one()


@pytest.fixture
def work_task(
    session: Session, new_ticket: Callable[..., Ticket], agent: Callable[[str], Agent]
) -> HumanTask:
    """ticket_handling at Work in 2nd level for John's ticket, whose mail copied in another address."""
    definitions.deploy_directory(session, actor=SYSTEM)
    ticket = new_ticket("Raw", title="Scanner offline")
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject="Scanner offline",
        body_text="The scanner is offline again. John",
        from_addr="john.doe@acme.example",
        cc_addr=COPIED_IN,
    )
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="ticket_handling")
    triage = open_task(session, instance, "Triage")
    runtime.complete_task(
        session,
        actor=agent("secretary"),
        task_id=triage.id,
        data={"decision": "move", "target_queue": "2nd level"},
    )
    return open_task(session, instance, "Work")


def ask(api: Api, task: HumanTask, address: str):  # type: ignore[no-untyped-def]
    return api.post(
        f"/tasks/{task.id}/complete",
        json={
            "data": {
                "action": "external",
                "specialist_email": address,
                "specialist_question": "Is this a known firmware problem?",
            }
        },
    )


@pytest.mark.parametrize("address", ["john.doe@acme.example", COPIED_IN, "jane.roe@acme.example"])
def test_the_consultant_cannot_name_a_customer_as_specialist(session, api_as, work_task, address):
    before = outbox_count(session)

    body = assert_error(ask(api_as("consultant"), work_task, address), 403, "permission_denied")

    assert "may not write to customers" in body["message"]
    assert outbox_count(session) == before
    assert session.get(HumanTask, work_task.id).state == "open"


def test_the_consultant_asks_a_real_specialist(session, api_as, agent, work_task):
    response = ask(api_as("consultant"), work_task, SPECIALIST)

    assert response.status_code == 200, response.get_data(as_text=True)
    [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == SPECIALIST)).all()
    assert row.article.created_by_agent_id == agent("consultant").id
    assert "Is this a known firmware problem?" in row.article.body_text
    assert "specialist_replied" in response.get_json()["waiting_messages"]


def test_the_consultant_cannot_forward_to_the_customer_through_the_api(session, api_as, new_ticket):
    ticket = new_ticket("2nd level", title="Scanner offline")
    articles.add_article(
        session, actor=SYSTEM, ticket=ticket, channel="note", body_text="Scanner model X-1, firmware 2.0."
    )
    consultant = api_as("consultant")
    before = outbox_count(session)

    refused = consultant.post(f"/tickets/{ticket.id}/forward", json={"to": "john.doe@acme.example"})

    assert_error(refused, 403, "permission_denied")
    assert outbox_count(session) == before
    sent = consultant.post(f"/tickets/{ticket.id}/forward", json={"to": SPECIALIST, "comment": "Known?"})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == SPECIALIST)).one()
