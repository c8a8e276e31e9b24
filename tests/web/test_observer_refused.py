"""The read-only observer gets the 403 page for every write of the web UI, before any message
about the input: each ticket action with empty and with invalid data, the phone ticket form,
a task completion.  The trainee, who may not merge, gets 403 for a merge that breaks a rule.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.ticket.models import Ticket
from engine import definitions, runtime
from flows import tasks as task_flows
from tests.web.conftest import csrf_token_in
from web.tickets.actions import ACTIONS

INVALID = {
    "number": "\u2603" * 50,
    "priority": "99",
    "state": "nonsense",
    "queue": "-1",
    "owner": "x",
    "responsible": "x",
    "article": "0",
    "to": "not an address",
    "body": "",
    "title": "",
    "kind": "bogus",
}


@pytest.fixture
def ticket(session) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == "I forgot my password")).one()


def post(client, url: str, page: str, **data: str):
    token = csrf_token_in(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data})


@pytest.mark.parametrize("data", [{}, INVALID], ids=["empty", "invalid"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_ticket_action_is_403_for_the_observer(client, login, ticket, action, data):
    login("observer")
    response = post(client, f"/tickets/{ticket.id}/{action}", f"/tickets/{ticket.id}", **data)
    assert response.status_code == 403
    assert "Location" not in response.headers


@pytest.mark.parametrize("data", [{}, {"title": "", "email": "nope", "queue": "-1", "body": ""}])
def test_the_phone_ticket_form_is_403_for_the_observer(client, login, data):
    login("observer")
    response = post(client, "/tickets/new/phone", "/", **data)
    assert response.status_code == 403


def test_completing_a_task_is_403_for_the_observer(client, login, session, ticket):
    definitions.deploy_directory(session, actor=SYSTEM)
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket)
    task = task_flows.open_tasks_of(session, instance=instance)[0]
    session.flush()
    login("observer")
    response = post(client, f"/tasks/{task.id}/complete", f"/tickets/{ticket.id}", queue="-1", nonsense="x")
    assert response.status_code == 403


def test_the_trainee_gets_403_for_a_merge_into_itself(client, login, session, ticket, queue):
    ticket.queue = queue("1st level")
    session.flush()
    login("trainee")
    response = post(client, f"/tickets/{ticket.id}/merge", f"/tickets/{ticket.id}", number=ticket.number)
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["merge", "link", "split"])
def test_the_trainee_gets_403_before_any_message_about_the_form(client, login, session, ticket, queue, name):
    ticket.queue = queue("1st level")
    session.flush()
    login("trainee")
    response = post(client, f"/tickets/{ticket.id}/{name}", f"/tickets/{ticket.id}", number="", article="x")
    assert response.status_code == 403
