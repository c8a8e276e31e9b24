"""In-app notifications: written by escalations, assignments and customer answers; the bell,
the page (mark read, mark all read, nobody else's), and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.notifications.models import Notification
from desk.sla import service as sla
from flows import escalation, ticket_fields
from flows.customer_message import customer_message
from flows.drafts import ArticleDraft
from tests.flows.test_services import new_ticket
from tests.web.conftest import csrf_token_in


def rows_for(session, agent) -> list[Notification]:
    session.expire_all()
    return list(
        session.scalars(
            select(Notification).where(Notification.agent_id == agent.id).order_by(Notification.id)
        )
    )


def bell_count(html: str) -> int:
    found = re.search(r'data-unread="(\d+)"', html)
    return int(found.group(1)) if found else 0


@pytest.fixture
def gold(session, agent, queue):
    level = sla.create_level(
        session, actor=agent("admin"), name="Gold", first_response_minutes=60, notify_before_percent=50
    )
    queue("1st level").service_level_id = level.id
    session.flush()
    return level


def test_a_breach_and_an_assignment_notify_the_owner_and_the_bell_counts_them(
    client, login, session, agent, queue, customer, gold
):
    alice, admin = agent("alice"), agent("admin")
    ticket = new_ticket(session, queue, customer)
    ticket_fields.set_owner(session, actor=admin, ticket=ticket, owner=alice)
    ticket_fields.set_owner(session, actor=alice, ticket=ticket, owner=alice)  # no change, no row
    opened = ticket.created_at
    escalation.refresh(session, ticket_id=ticket.id, now=opened)
    with time_machine.travel(opened + timedelta(minutes=61), tick=False):
        assert escalation.escalate(session, ticket_id=ticket.id, now=utcnow()) == [
            "first_response_warn",
            "first_response_breach",
        ]
    session.flush()
    kinds = [(n.kind, n.ticket_id) for n in rows_for(session, alice)]
    assert kinds == [("owner", ticket.id), ("escalation_warn", ticket.id), ("escalation_breach", ticket.id)]

    login("alice")
    page = client.get("/notifications").text
    assert "Admin" in page
    assert f"made you the owner of ticket {ticket.number}" in page
    assert f"The first response time of ticket {ticket.number} ran out at" in page
    assert bell_count(page) == 3
    assert bell_count(client.get("/").text) == 3


def test_a_customer_answer_notifies_the_owner(session, agent, queue, customer):
    alice = agent("alice")
    ticket = new_ticket(session, queue, customer)
    ticket_fields.set_owner(session, actor=SYSTEM, ticket=ticket, owner=alice)
    john = customer("john.doe@acme.example")
    draft = ArticleDraft(channel="web", body_text="Any news?", subject="Any news?", from_addr=john.email)
    customer_message(session, actor=john, ticket=ticket, draft=draft, rejectable=False)
    last = rows_for(session, alice)[-1]
    assert last.kind == "customer_reply"
    assert john.full_name in last.args


def test_marking_read_one_and_all_and_nobody_reads_anothers(client, login, session, agent, queue, customer):
    alice, admin = agent("alice"), agent("admin")
    tickets = [new_ticket(session, queue, customer) for _ in range(3)]
    for ticket in tickets:
        ticket_fields.set_owner(session, actor=admin, ticket=ticket, owner=alice)
    ticket_fields.set_responsible(session, actor=alice, ticket=tickets[0], responsible=admin)
    session.flush()
    mine = rows_for(session, alice)
    theirs = rows_for(session, admin)
    assert len(mine) == 3
    assert len(theirs) == 1

    login("alice")
    page = client.get("/notifications").text
    token = csrf_token_in(page)
    assert bell_count(page) == 3
    opened = client.post(f"/notifications/{mine[0].id}/read", data={"csrf_token": token, "open": "1"})
    assert opened.status_code == 303
    assert opened.headers["Location"].endswith(f"/tickets/{tickets[0].id}")
    assert bell_count(client.get("/notifications").text) == 2
    # Someone else's notification does not exist for alice, and stays unread.
    assert client.post(f"/notifications/{theirs[0].id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/99999999999/read", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/notifications/{mine[1].id}/read").status_code == 400  # no CSRF token
    client.post("/notifications/read-all", data={"csrf_token": token})
    assert bell_count(client.get("/notifications").text) == 0
    session.expire_all()
    assert all(n.read_at is not None for n in rows_for(session, alice))
    assert rows_for(session, admin)[0].read_at is None


def test_the_api_lists_the_tokens_own_notifications(app, session, agent, queue, customer):
    alice, admin = agent("alice"), agent("admin")
    ticket = new_ticket(session, queue, customer)
    ticket_fields.set_owner(session, actor=admin, ticket=ticket, owner=alice)
    ticket_fields.set_responsible(session, actor=alice, ticket=ticket, responsible=admin)
    session.flush()
    api = app.test_client()
    token = agents.create_token(session, actor=SYSTEM, agent=alice, name="test")
    listed = api.get("/api/v1/notifications", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    body = listed.get_json()
    assert [(n["kind"], n["ticket_id"], n["read_at"]) for n in body] == [("owner", ticket.id, None)]
    assert body[0]["text"] == f"Admin made you the owner of ticket {ticket.number} “{ticket.title}”.".replace(
        "Admin", admin.full_name
    )
    unread = api.get("/api/v1/notifications?unread=true", headers={"Authorization": f"Bearer {token}"})
    assert len(unread.get_json()) == 1
    assert session.scalar(select(func.count()).select_from(Notification)) >= 2
