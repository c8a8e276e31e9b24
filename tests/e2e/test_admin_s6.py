"""S6 set up in the browser: the admin makes a role, a new agent, and gives them the authorizer role.

The administrator creates a role with ``rw`` on the finance group, creates an agent, puts
them in that role and in the authorizer role.  Signed in, the new agent sees the Finance
queue's task and an authorization task in the inbox, and nothing of the other queues.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import runtime
from engine.models import HumanTask
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow

PASSWORD = "fiona-finance-26"


def _ticket(factory: Any, title: str, queue: str, triage: dict[str, Any] | None) -> int:
    """A customer's mail ticket in ``queue`` with its process started (and triaged)."""
    with session_scope(factory) as session:
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        target = session.scalars(select(Queue).where(Queue.name == queue)).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title=title, queue=target, customer_user=john)
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=title,
            body_text="Please help.",
            from_addr="john.doe@acme.example",
        )
        runtime.start(session, actor=SYSTEM, ticket=ticket)
        if triage is not None:
            task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == ticket.id)).one()
            runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data=triage)
        return ticket.id


def _ask_for_authorization(factory: Any, ticket_id: int, login: str, request: str) -> None:
    """The agent working on the ticket asks for an authorization (the Work task's choice)."""
    with session_scope(factory) as session:
        worker = session.scalars(select(Agent).where(Agent.login == login)).one()
        work = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
        ).one()
        runtime.complete_task(
            session,
            actor=worker,
            task_id=work.id,
            data={"action": "authorize", "authorization_request": request},
        )


def test_s6_the_admin_sets_up_an_authorizer_who_sees_only_their_queue(browser, live_server, e2e_factory):
    finance_id = _ticket(
        e2e_factory, "Invoice 4711 is twice", "Raw", {"decision": "move", "target_queue": "Finance"}
    )
    refund_id = _ticket(
        e2e_factory, "Refund for the broken headset", "Raw", {"decision": "move", "target_queue": "2nd level"}
    )
    _ask_for_authorization(e2e_factory, refund_id, "bob", "Refund 60 EUR for the headset")
    _ticket(
        e2e_factory,
        "Second level database question",
        "Raw",
        {"decision": "move", "target_queue": "2nd level"},
    )
    _ticket(e2e_factory, "Untriaged printer question", "Raw", None)

    admin = browser.new_context(locale="en-US").new_page()
    sign_in(admin, live_server, "admin")
    admin.get_by_role("link", name="Administration").click()
    admin.get_by_role("navigation", name="Administration").get_by_role("link", name="Roles").click()
    admin.get_by_label("Name").fill("Finance desk")
    admin.get_by_role("button", name="Create role").click()
    admin.get_by_label("finance: read/write (all)").check()
    admin.get_by_role("button", name="Save permissions").click()
    assert admin.get_by_label("finance: read/write (all)").is_checked()

    admin.get_by_role("navigation", name="Administration").get_by_role("link", name="Agents").click()
    admin.get_by_role("link", name="New agent").click()
    admin.get_by_label("Login").fill("fiona")
    admin.get_by_label("First name").fill("Fiona")
    admin.get_by_label("Last name").fill("Finance")
    admin.get_by_label("E-mail").fill("fiona@helpdesk.example")
    admin.get_by_label("Password (empty: send a set-password link later)").fill(PASSWORD)
    admin.get_by_role("button", name="Create agent").click()
    admin.get_by_role("link", name="Groups and roles").first.click()
    admin.get_by_label("Finance desk").check()
    admin.get_by_label("authorizer").check()
    admin.get_by_role("button", name="Save").click()
    admin.get_by_role("link", name="What can this agent do, and why?").first.click()
    admin.get_by_label("Queue", exact=True).select_option(label="Finance")
    admin.get_by_role("button", name="Show").click()
    assert "through the role Finance desk" in admin.locator("#why-rw").inner_text()
    screenshot(admin, "admin_s6_why")

    with session_scope(e2e_factory) as session:
        fiona = session.scalars(select(Agent).where(Agent.login == "fiona")).one()
        assert sorted(r.name for r in fiona.roles) == ["Finance desk", "authorizer"]
        finance = session.scalars(select(Queue).where(Queue.name == "Finance")).one()
        assert permissions.has_queue_permission(session, fiona, finance, "rw")

    agent = browser.new_context(locale="en-US").new_page()
    sign_in(agent, live_server, "fiona", PASSWORD)
    agent.goto(f"{live_server}/inbox")
    inbox = agent.locator("main").inner_text()
    screenshot(agent, "admin_s6_inbox")
    assert "Invoice 4711 is twice" in inbox
    assert "Refund for the broken headset" in inbox
    assert "Authorize" in inbox
    assert "Second level database question" not in inbox
    # The first cell is the bulk checkbox; the task name follows it.
    rows = [row.strip() for row in agent.locator("main table tbody tr").all_inner_texts()]
    assert rows
    # Every task is the Finance queue's, except the authorization she was asked for.
    others = [row for row in rows if "Finance" not in row and not row.startswith("Authorize")]
    assert others == []
    assert sum(row.startswith("Authorize") for row in rows) == 1
    assert "Untriaged printer question" not in inbox
    agent.get_by_role("link", name="Refund for the broken headset").first.click()
    assert agent.get_by_text("Refund 60 EUR for the headset").count() >= 1
    agent.goto(f"{live_server}/tickets/{finance_id}")
    assert "Invoice 4711 is twice" in agent.locator("main").inner_text()
