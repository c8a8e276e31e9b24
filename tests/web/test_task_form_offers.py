"""Task forms offer only what the agent may do: "ask the customer" needs *may contact customers*
(``"x-requires": "contact_customers"`` on the choice), and the server refuses it anyway."""

from __future__ import annotations

from sqlalchemy import select

from desk.outbox.models import OutboxMessage
from tests.web import test_inbox
from tests.web.conftest import csrf_token_in
from tests.web.test_inbox import task_of

started = test_inbox.started  # the fixture: deployed processes, triage started

ASK = 'value="ask_customer"'


def test_the_secretary_is_offered_to_ask_the_customer(client, login, started):
    ticket = started["I forgot my password"]
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text

    assert ASK in page
    assert 'name="reminder_days"' in page


def test_an_agent_who_may_not_contact_customers_is_not_offered_it_and_is_refused(
    client, login, session, agent, started
):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    secretary = agent("secretary")
    secretary.may_contact_customers = False
    session.flush()
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text
    assert ASK not in page
    assert 'value="close"' in page  # the other choices stay

    response = client.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": csrf_token_in(page), "decision": "ask_customer", "question": "Which account?"},
    )

    assert response.status_code == 403
    session.expire_all()
    assert task.state == "open"
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all() == []
