"""S9 in Chromium: 30 reporters of one outage, linked to a problem by search and select,
one message, 30 outbox mails each threaded into its own ticket, the state of every mail on
the problem page, and no reporter's address in another's mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer import service as customers
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import service as tickets
from mail.outbound.compose import compose
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow

REPORTERS = 30
_REPORTER = re.compile(r"reporter\d+@outage\.example")


@pytest.fixture(scope="module")
def outage(e2e_factory):
    with session_scope(e2e_factory) as session:
        first_level = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
        problem = tickets.create_ticket(session, actor=SYSTEM, title="Mail server down", queue=first_level)
        incidents = []
        for n in range(REPORTERS):
            reporter = customers.create_customer_user(
                session, actor=SYSTEM, email=f"reporter{n}@outage.example"
            )
            incident = tickets.create_ticket(
                session, actor=SYSTEM, title=f"Quuxmail outage {n}", queue=first_level, customer_user=reporter
            )
            articles.add_article(
                session,
                actor=SYSTEM,
                ticket=incident,
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject=incident.title,
                body_text="I get no mail.",
                from_addr=reporter.email,
                message_id=f"<reporter{n}@outage.example>",
            )
            incidents.append((incident.id, incident.number, n))
        return problem.id, incidents


def test_one_message_to_thirty_reporters(page, live_server, e2e_factory, outage):
    problem_id, incidents = outage
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server}/tickets/{problem_id}")
    page.get_by_role("link", name="Problem and incidents").click()
    page.get_by_label("Find tickets by words").fill("Quuxmail")
    page.get_by_role("button", name="Search").click()
    assert page.locator("input[name=incident]").count() == REPORTERS
    page.get_by_role("button", name="Link selected tickets").click()
    page.get_by_text(f"Incidents ({REPORTERS})").wait_for()
    page.get_by_label("Message", exact=True).fill("The mail server is back. Sorry!")
    page.get_by_role("button", name=f"Send to {REPORTERS} reporter(s)").click()
    page.get_by_text(f"The message went to {REPORTERS} reporter(s).").wait_for()
    rows = page.locator("[data-deliveries] tbody tr")
    assert rows.count() == REPORTERS
    statuses = set(page.locator("[data-deliveries] [data-status]").all_inner_texts())
    assert statuses <= {"queued", "sent"}
    screenshot(page, "problem-deliveries")

    with session_scope(e2e_factory) as session:
        for ticket_id, number, n in incidents:
            row = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)).one()
            mail = compose(row, session=session)
            assert mail["To"] == f"reporter{n}@outage.example"
            assert f"[Ticket#{number}]" in mail["Subject"]
            assert mail["In-Reply-To"] == f"<reporter{n}@outage.example>"
            assert f"<reporter{n}@outage.example>" in mail["References"]
            assert set(_REPORTER.findall(mail.as_string())) == {f"reporter{n}@outage.example"}
            assert f'data-delivery="{number}"' in page.content()
