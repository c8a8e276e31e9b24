"""The problem endpoints (S9): the same use cases as the web's problem page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article import service as articles
from desk.customer import service as customers
from desk.outbox.models import OutboxMessage
from desk.ticket import service as tickets
from tests.api.conftest import assert_error


@pytest.fixture
def outage(session, queue):
    first_level = queue("1st level")
    problem = tickets.create_ticket(session, actor=SYSTEM, title="VPN down", queue=first_level)
    incidents = []
    for n in range(3):
        reporter = customers.create_customer_user(session, actor=SYSTEM, email=f"vpn{n}@outage.example")
        incident = tickets.create_ticket(
            session, actor=SYSTEM, title=f"No VPN {n}", queue=first_level, customer_user=reporter
        )
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=incident,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=incident.title,
            body_text="VPN fails.",
            from_addr=reporter.email,
        )
        incidents.append(incident)
    session.flush()
    return problem, incidents


def test_link_message_and_read_the_delivery_states(api_as, session, outage):
    problem, incidents = outage
    api = api_as("alice")
    linked = api.post(f"/problems/{problem.id}/incidents", json={"ticket_ids": [t.id for t in incidents]})
    assert linked.status_code == 200, linked.text
    assert [i["number"] for i in linked.get_json()["incidents"]] == [t.number for t in incidents]

    sent = api.post(f"/problems/{problem.id}/messages", json={"body": "VPN is back."})
    assert sent.status_code == 201, sent.text
    recipients = sent.get_json()["messages"][0]["recipients"]
    assert [(r["number"], r["address"], r["status"]) for r in recipients] == [
        (t.number, f"vpn{n}@outage.example", "queued") for n, t in enumerate(incidents)
    ]
    assert len(session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr.like("vpn%"))).all()) == 3
    assert api.get(f"/problems/{problem.id}").get_json()["messages"][0]["body"] == "VPN is back."


def test_closing_with_the_incidents(api_as, session, outage):
    problem, incidents = outage
    api = api_as("alice")
    api.post(f"/problems/{problem.id}/incidents", json={"ticket_ids": [incidents[0].id]})
    closed = api.post(f"/problems/{problem.id}/close", json={"close_incidents": True, "body": "Done."})
    assert closed.status_code == 200, closed.text
    assert closed.get_json()["incidents"][0]["state"] == "closed successful"
    assert problem.state.type == "closed"
    assert incidents[1].state.type == "new"


def test_an_empty_message_is_422_and_sends_nothing(api_as, session, outage):
    problem, incidents = outage
    api = api_as("alice")
    api.post(f"/problems/{problem.id}/incidents", json={"ticket_ids": [incidents[0].id]})
    body = assert_error(api.post(f"/problems/{problem.id}/messages", json={"body": ""}), 422)
    assert "body" in body["errors"]
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr.like("vpn%"))).all() == []


def test_customer_tokens_get_403(client, session, customer, outage):
    problem, _ = outage
    token = agents.create_customer_token(
        session, actor=SYSTEM, customer=customer("john.doe@acme.example"), name="t"
    )
    response = client.get(f"/api/v1/problems/{problem.id}", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 403)
