"""The customer-contact rule on the web paths: an agent who may not contact customers.

The demo consultant (role ``consultant``: *may contact customers* off, ``rw`` on 2nd level)
forwards from the ticket page and completes the Work task's "external specialist" form.
Naming the customer's address, an address the customer copied in, or any customer user's
address is refused with the 403 page and leaves nothing in the outbox; a real external
address still works.  The form tells such an agent beforehand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance
from tests.web.conftest import csrf_token_in

CUSTOMER = "john.doe@acme.example"
COPIED_IN = "john.private@home.example"  # not a customer user: only the ticket's Cc makes it one
OTHER_CUSTOMER = "ivan.petrov@globex.example"
SPECIALIST = "printer.guru@vendor.example"
NOTICE = "You may not write to customers"


def outbox_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def johns_ticket(session: Session, queue_name: str) -> Ticket:
    """A ticket of John's whose mail copied in his private address."""
    created = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="Scanner offline",
        queue=session.scalars(select(Queue).where(Queue.name == queue_name)).one(),
        customer_user=session.scalars(select(CustomerUser).where(CustomerUser.email == CUSTOMER)).one(),
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=created,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject="Scanner offline",
        body_text="The scanner is offline again. John",
        from_addr=f"John Doe <{CUSTOMER}>",
        to_addr="support@helpdesk.example",
        cc_addr=f"John at home <{COPIED_IN}>, support@helpdesk.example",
    )
    session.flush()
    return created


@pytest.fixture
def ticket(session: Session) -> Ticket:
    """John's ticket in 2nd level, where the consultant (by role) holds ``rw``."""
    return johns_ticket(session, "2nd level")


def forward(client: Any, ticket: Ticket, **data: str) -> Any:
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(f"/tickets/{ticket.id}/forward", data={"csrf_token": csrf_token_in(page), **data})


@pytest.mark.parametrize(
    "address",
    [CUSTOMER, CUSTOMER.upper(), COPIED_IN, OTHER_CUSTOMER],
    ids=["customer", "customer-uppercase", "copied-in", "another-customer-user"],
)
def test_the_consultant_cannot_forward_to_a_customer(client, login, session, ticket, address):
    before = outbox_count(session)
    login("consultant")

    response = forward(client, ticket, to=address, comment="FYI")

    assert response.status_code == 403
    assert "may not write to customers" in response.text
    session.expire_all()
    assert outbox_count(session) == before
    assert [a for a in ticket.articles if a.to_addr == address] == []


def test_the_consultant_forwards_to_an_external_address(client, login, session, ticket):
    login("consultant")

    response = forward(client, ticket, to=SPECIALIST, comment="Known problem?")

    assert response.status_code == 303
    session.expire_all()
    [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == SPECIALIST)).all()
    article = session.get(Article, row.article_id)
    assert article.ticket_id == ticket.id
    assert not article.is_visible_for_customer
    assert article.body_text.startswith("Known problem?")


def test_an_agent_who_may_contact_customers_may_forward_to_them(client, login, session, ticket):
    login("bob")

    assert forward(client, ticket, to=COPIED_IN).status_code == 303

    session.expire_all()
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == COPIED_IN)).one()


def test_the_forward_form_tells_the_consultant_and_no_reply_is_offered(client, login, ticket):
    login("consultant")
    page = client.get(f"/tickets/{ticket.id}?action=forward").text

    assert "Forward article" in page
    assert NOTICE in page
    # Neither the reply nor the phone note is offered in the toolbar, nor opened when asked for.
    for name in ("reply", "phone"):
        asked = client.get(f"/tickets/{ticket.id}?action={name}").text
        assert f'data-action="{name}"' not in asked
        assert "Send reply" not in asked
        assert "Add phone note" not in asked


def test_bob_sees_no_notice(client, login, ticket):
    login("bob")
    page = client.get(f"/tickets/{ticket.id}").text

    assert "Send reply" in page
    assert NOTICE not in page


# --- the Work task's "external specialist" ------------------------------------------------


@pytest.fixture
def work_task(session: Session, agent: Callable[[str], Agent]) -> HumanTask:
    """ticket_handling at its Work step in 2nd level (triaged there by the secretary)."""
    definitions.deploy_directory(session, actor=SYSTEM)
    ticket = johns_ticket(session, "Raw")
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="ticket_handling")
    triage = open_task(session, instance, "Triage")
    secretary = agent("secretary")
    runtime.claim(session, actor=secretary, task_id=triage.id)
    runtime.complete_task(
        session, actor=secretary, task_id=triage.id, data={"decision": "move", "target_queue": "2nd level"}
    )
    return open_task(session, instance, "Work")


def open_task(session: Session, instance: ProcessInstance, name: str) -> HumanTask:
    session.flush()
    return session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "open", HumanTask.name == name
        )
    ).one()


def complete_external(client: Any, session: Session, task: HumanTask, address: str) -> Any:
    ticket = session.get(Ticket, task.ticket_id)
    assert ticket is not None
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(
        f"/tasks/{task.id}/complete",
        data={
            "csrf_token": csrf_token_in(page),
            "action": "external",
            "specialist_email": address,
            "specialist_question": "Is this a known firmware problem?",
        },
    )


@pytest.mark.parametrize("address", [CUSTOMER, COPIED_IN], ids=["customer", "copied-in"])
def test_the_consultant_cannot_name_a_customer_as_specialist(client, login, session, work_task, address):
    before = outbox_count(session)
    login("consultant")

    response = complete_external(client, session, work_task, address)

    assert response.status_code == 403
    assert "may not write to customers" in response.text
    session.expire_all()
    assert outbox_count(session) == before
    assert session.get(HumanTask, work_task.id).state == "open"


def test_the_consultant_asks_a_real_specialist_through_the_task_form(client, login, session, work_task):
    login("consultant")

    response = complete_external(client, session, work_task, SPECIALIST)

    assert response.status_code == 303
    session.expire_all()
    [row] = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == SPECIALIST)).all()
    article = session.get(Article, row.article_id)
    # Sent as the agent who completed the form, so their rights were the ones checked.
    assert (
        article.created_by_agent_id
        == session.scalars(select(Agent.id).where(Agent.login == "consultant")).one()
    )
    assert session.get(HumanTask, work_task.id).state == "completed"
