"""The process diagram on the ticket view: the BPMN endpoint and the page's container."""

from __future__ import annotations

import html as html_lib

from sqlalchemy import select

from desk.ticket.models import Ticket
from engine import runtime
from tests.web import test_inbox
from tests.web.test_inbox import task_of

started = test_inbox.started  # the fixture: deployed processes, triage started


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def test_the_endpoint_returns_the_bpmn_of_the_newest_instance(client, login, session, started):
    ticket = started["I forgot my password"]
    instance = runtime.instances_of(session, ticket=ticket)[-1]
    login("secretary")

    response = client.get(f"/tickets/{ticket.id}/process.bpmn")

    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.text == instance.process_version.bpmn_xml
    assert "<bpmn:definitions" in response.text or "definitions" in response.text


def test_a_ticket_without_a_process_has_no_diagram(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")

    assert client.get(f"/tickets/{ticket.id}/process.bpmn").status_code == 404
    page = client.get(f"/tickets/{ticket.id}").text
    assert 'id="process-diagram"' not in page
    assert "bpmn-navigated-viewer.production.min.js" not in page


def test_an_agent_who_may_not_read_the_ticket_gets_no_diagram(client, login, started):
    ticket = started["Refund for double invoice"]  # Finance: Alice has no right there
    login("alice")

    assert client.get(f"/tickets/{ticket.id}/process.bpmn").status_code in (403, 404)
    assert client.get("/tickets/999999999/process.bpmn").status_code == 404


def test_the_page_has_the_container_and_marks_the_current_tasks(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = client.get(f"/tickets/{ticket.id}")

    page = html_lib.unescape(response.text)
    assert 'id="process-diagram"' in page
    instance = runtime.instances_of(session, ticket=ticket)[-1]
    assert f'data-bpmn-url="/tickets/{ticket.id}/process.bpmn?instance={instance.id}"' in page
    assert f'data-current="{task.bpmn_id}"' in page
    assert "bpmn-navigated-viewer.production.min.js" in page
    assert "<script>" not in page  # no inline script
    # The text fallback for people without JavaScript.
    assert f'<li data-bpmn-id="{task.bpmn_id}">{task.name}</li>' in page
    # bpmn-js needs no inline styles or scripts: the page keeps the strict policy.
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
