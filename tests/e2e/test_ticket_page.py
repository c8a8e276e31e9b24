"""The ticket page in Chromium: the action toolbar's one slot and the zoomable diagram."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.models import HumanTask
from tests.e2e.conftest import SCREENSHOTS, screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def triaged_ticket(e2e_factory) -> tuple[int, str, str]:
    """A mail ticket whose triage moved it to 2nd level: (id, triage's BPMN id, work's BPMN id)."""
    with session_scope(e2e_factory) as session:
        john = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
        ).one()
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        ticket = tickets.create_ticket(
            session, actor=SYSTEM, title="Ticket page: VPN drops", queue=raw, customer_user=john
        )
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=ticket.title,
            body_text="The VPN drops every ten minutes.",
            from_addr=john.email,
        )
        runtime.start(session, actor=SYSTEM, ticket=ticket)
        triage = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
        ).one()
        runtime.complete_task(
            session, actor=SYSTEM, task_id=triage.id, data={"decision": "move", "target_queue": "2nd level"}
        )
        work = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
        ).one()
        return ticket.id, triage.bpmn_id, work.bpmn_id


def _scale(page) -> float:
    """The diagram's current zoom, read from the viewport group's transform."""
    transform = page.locator("#process-diagram g.viewport").first.get_attribute("transform") or ""
    match = re.match(r"matrix\(([-\d.e]+)", transform)
    return float(match.group(1)) if match else 1.0


def test_the_toolbar_opens_one_form_at_a_time_in_place(page, live_server, triaged_ticket):
    ticket_id, _, _ = triaged_ticket
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    slot = page.locator("#action-slot")
    assert slot.locator("#reply-body").count() == 1  # the reply is open at first
    url = page.url

    page.locator('.action-toolbar a[data-action="note"]').click()
    slot.locator("#note-body").wait_for()
    assert slot.locator("section.action").count() == 1
    assert page.locator("#reply-body").count() == 0
    assert page.url == url  # swapped in place, not a new page
    assert page.locator('.action-toolbar a[data-action="note"]').get_attribute("aria-current") == "true"
    assert page.evaluate("document.activeElement.id") == "note-subject"

    page.locator('.action-toolbar a[data-action="move"]').click()
    slot.locator("#move-queue").wait_for()
    assert slot.locator("section.action").count() == 1
    assert page.locator("#note-body").count() == 0
    assert page.locator('.action-toolbar a[data-action="note"]').get_attribute("aria-current") is None

    # The swapped-in form works as the page's own did.
    page.locator('.action-toolbar a[data-action="note"]').click()
    slot.locator("#note-body").fill("Checked the VPN logs.")
    slot.get_by_role("button", name="Add note").click()
    page.get_by_text("The note was added.").wait_for()
    assert page.locator("article.article--internal", has_text="Checked the VPN logs.").count() == 1
    assert problems == []
    screenshot(page, "ticket-page-toolbar-en")


def test_the_diagram_zooms_and_marks_the_completed_path(page, live_server, triaged_ticket):
    ticket_id, triage_id, work_id = triaged_ticket
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    page.wait_for_selector("#process-diagram.process-diagram--ready")
    container = page.locator("#process-diagram")

    completed = container.locator(f'g.djs-element.completed[data-element-id="{triage_id}"]')
    assert completed.count() == 1
    assert container.locator(f'g.djs-element.current[data-element-id="{work_id}"]').count() == 1
    assert container.locator("g.djs-connection.completed").count() >= 1  # the path taken

    tools = page.locator(".process-diagram__tools")
    opened = _scale(page)  # the current step at a readable size
    tools.get_by_role("button", name="Zoom in").click()
    assert _scale(page) == pytest.approx(opened * 1.25, rel=0.02)
    tools.get_by_role("button", name="Zoom out").click()
    tools.get_by_role("button", name="Zoom out").click()
    assert _scale(page) == pytest.approx(opened / 1.25, rel=0.02)
    # Fit to width: the whole diagram within the container's width.
    tools.get_by_role("button", name="Fit to width").click()
    drawn = page.evaluate(
        "document.querySelector('#process-diagram g.viewport').getBoundingClientRect().width"
    )
    assert drawn <= container.bounding_box()["width"] + 1
    assert _scale(page) < opened
    assert problems == []
    page.locator("#process").scroll_into_view_if_needed()
    screenshot(page, "ticket-page-diagram-en")
    tools.get_by_role("button", name="Zoom in").click()
    page.locator("#process").screenshot(path=str(SCREENSHOTS / "ticket-page-process-en.png"))


# A two-step process written without any diagram (as many generated files are).
NO_LAYOUT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="no_layout_defs" targetNamespace="http://ticketflow.example/test">
  <bpmn:process id="no_layout" name="Without layout" isExecutable="true">
    <bpmn:startEvent id="begin"/>
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="look"/>
    <bpmn:userTask id="look" name="Look at it"/>
    <bpmn:sequenceFlow id="f2" sourceRef="look" targetRef="finish"/>
    <bpmn:endEvent id="finish"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_version_without_layout_is_laid_out_and_drawn(page, live_server, e2e_factory):
    with session_scope(e2e_factory) as session:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=NO_LAYOUT)
        first = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Ticket page: no layout", queue=first)
        runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="no_layout")
        ticket_id = ticket.id
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    page.wait_for_selector("#process-diagram.process-diagram--ready")

    container = page.locator("#process-diagram")
    # Every element is drawn, and the waiting task carries the current-step marker.
    for element in ("begin", "look", "finish"):
        assert container.locator(f'g.djs-element[data-element-id="{element}"]').count() == 1
    assert container.locator('g.djs-element.current[data-element-id="look"]').count() == 1
    assert container.locator("g.djs-connection").count() == 2  # both flows are drawn
    assert problems == []
    screenshot(page, "ticket-page-auto-layout-en")
