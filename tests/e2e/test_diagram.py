"""The process diagram on the ticket view, drawn by bpmn-js in Chromium."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import runtime
from engine.models import HumanTask
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def ticket_with_process(e2e_factory) -> tuple[int, str]:
    """A fresh mail ticket in Raw with ticket handling started: (ticket id, open task's BPMN id)."""
    with session_scope(e2e_factory) as session:
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(
            session, actor=SYSTEM, title="Diagram: mail server down", queue=raw, customer_user=john
        )
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=ticket.title,
            body_text="No mail since 9 o'clock.",
            from_addr=john.email,
        )
        runtime.start(session, actor=SYSTEM, ticket=ticket)
        task = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
        ).one()
        return ticket.id, task.bpmn_id


def test_the_diagram_shows_the_current_task(page, live_server, ticket_with_process):
    ticket_id, bpmn_id = ticket_with_process
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # Injected by Playwright, so it runs despite the CSP: record what the policy blocks.
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    sign_in(page, live_server, "secretary")

    response = page.goto(f"{live_server}/tickets/{ticket_id}")

    container = page.locator("#process-diagram")
    container.locator("svg").first.wait_for(state="attached")
    current = container.locator(f'g.djs-element[data-element-id="{bpmn_id}"]')
    current.wait_for(state="attached")
    page.wait_for_selector("#process-diagram.process-diagram--ready")
    assert "current" in (current.get_attribute("class") or "").split()
    assert container.locator("g.djs-element.current").count() >= 1
    # The fallback list of the current steps is there too.
    assert page.locator(f'.process__steps li[data-bpmn-id="{bpmn_id}"]').count() == 1
    # Nothing was blocked by the (strict) Content-Security-Policy, no script failed.
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert page.evaluate("window.cspViolations") == []
    assert problems == []
    container.scroll_into_view_if_needed()
    screenshot(page, "process-diagram-en")
