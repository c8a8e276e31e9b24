"""The customer portal in Chromium: sign-in by a mailed link, own tickets only, a reply with
an attachment that wakes the process, 404 for everything of another customer, and a
colleague with company visibility who sees the ticket."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.article import service as articles
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.customer import service as customers
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine.models import HumanTask, ProcessMessage
from flows import tasks as task_flows
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.slow

PETER = "peter@initech.example"
MILTON = "milton@initech.example"
IVAN = "ivan.petrov@globex.example"
_LINK = re.compile(r"https?://\S+/portal/sign-in/link/[A-Za-z0-9_\-]+")


def _first_article(customer: CustomerUser, title: str) -> ArticleDraft:
    return ArticleDraft(
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject=title,
        body_text=f"{title}: please help.",
        from_addr=customer.email,
        attachments=(AttachmentDraft(filename=f"{title[:6]}.txt", content_type="text/plain", data=b"x"),),
    )


@pytest.fixture(scope="module")
def world(e2e_factory) -> dict[str, Any]:
    """Initech: Peter (no company visibility) with two tickets, Milton (company visibility)
    with none; Ivan of Globex with one.  Peter's first ticket waits for his answer."""
    with session_scope(e2e_factory) as session:
        initech = customers.create_company(session, actor=SYSTEM, customer_id="INITECH", name="Initech")
        peter = customers.create_customer_user(
            session,
            actor=SYSTEM,
            email=PETER,
            first_name="Peter",
            last_name="Gibbons",
            company=initech,
            sees_company_tickets=False,
        )
        customers.create_customer_user(
            session, actor=SYSTEM, email=MILTON, first_name="Milton", last_name="Waddams", company=initech
        )
        ivan = session.scalars(select(CustomerUser).where(CustomerUser.email == IVAN)).one()
        first_level = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
        waiting = open_ticket(
            session,
            actor=SYSTEM,
            queue=first_level,
            title="TPS report printer",
            customer_user=peter,
            first=_first_article(peter, "TPS report printer"),
        ).ticket
        second = open_ticket(
            session,
            actor=SYSTEM,
            queue=first_level,
            title="Stapler missing",
            customer_user=peter,
            first=_first_article(peter, "Stapler missing"),
        ).ticket
        foreign = tickets.create_ticket(
            session, actor=SYSTEM, title="Globex secret plans", queue=first_level, customer_user=ivan
        )
        foreign_article = articles.add_article(
            session,
            actor=SYSTEM,
            ticket=foreign,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject="plans",
            body_text="secret",
            from_addr=IVAN,
            attachments=[AttachmentDraft(filename="plans.txt", content_type="text/plain", data=b"secret")],
        )
        alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()
        task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == waiting.id)).one()
        task_flows.claim(session, actor=alice, task_id=task.id)
        task_flows.complete(
            session,
            actor=alice,
            task_id=task.id,
            data={"decision": "ask_customer", "question": "Which printer is it?", "reminder_days": 3},
        )
        token = agents.create_customer_token(session, actor=SYSTEM, customer=peter, name="e2e")
        return {
            "waiting": waiting.id,
            "second": second.id,
            "foreign": foreign.id,
            "foreign_attachment": foreign_article.attachments[0].id,
            "token": token,
        }


def _sign_in_by_link(page: Any, base: str, factory, email: str) -> None:
    page.goto(f"{base}/portal/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.get_by_text("Check your mail").first.wait_for()
    with session_scope(factory) as session:
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == email).order_by(OutboxMessage.id.desc())
        ).first()
        assert mail is not None
        match = _LINK.search(mail.body_text or "")
        assert match, mail.body_text
        link = match.group(0)
    page.goto(link)
    page.get_by_role("button", name="Sign in now").click()
    page.wait_for_url(f"{base}/portal/")


def test_a_customer_signs_in_by_link_and_works_on_own_tickets(page, live_server, e2e_factory, world):
    base = live_server
    _sign_in_by_link(page, base, e2e_factory, PETER)
    rows = page.locator("[data-portal-tickets] tbody tr")
    titles = sorted(rows.locator(".tickets__title").all_inner_texts())
    assert titles == ["Stapler missing", "TPS report printer"]
    assert "Globex secret plans" not in page.content()
    screenshot(page, "portal-tickets")

    page.goto(f"{base}/portal/tickets/{world['waiting']}")
    assert "Which printer is it?" in page.content()
    page.get_by_label("Your message").fill("The LaserJet on the 2nd floor.")
    page.set_input_files(
        "#reply-files", files=[{"name": "photo.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}]
    )
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Your message was added to the ticket.").wait_for()
    assert "photo.pdf" in page.content()
    screenshot(page, "portal-reply")
    with session_scope(e2e_factory) as session:
        article = session.scalars(
            select(Article).where(Article.ticket_id == world["waiting"]).order_by(Article.id.desc())
        ).first()
        assert article is not None
        assert article.body_text == "The LaserJet on the 2nd floor."
        assert [a.filename for a in article.attachments] == ["photo.pdf"]
        last = session.scalars(
            select(ProcessMessage)
            .where(ProcessMessage.ticket_id == world["waiting"])
            .order_by(ProcessMessage.id.desc())
        ).first()
        assert last is not None
        assert (last.name, last.status) == ("customer_replied", "delivered")

    foreign = page.goto(f"{base}/portal/tickets/{world['foreign']}")
    assert foreign is not None
    assert foreign.status == 404
    assert "Globex secret plans" not in page.content()
    attachment = page.goto(f"{base}/portal/attachments/{world['foreign_attachment']}")
    assert attachment is not None
    assert attachment.status == 404
    api = page.request.get(
        f"{base}/api/v1/tickets/{world['foreign']}", headers={"Authorization": f"Bearer {world['token']}"}
    )
    assert api.status == 404
    assert "Globex" not in api.text()


def test_a_colleague_with_company_visibility_sees_the_ticket(page, live_server, e2e_factory, world):
    _sign_in_by_link(page, live_server, e2e_factory, MILTON)
    titles = page.locator("[data-portal-tickets] .tickets__title").all_inner_texts()
    assert "Stapler missing" in titles
    assert "Globex secret plans" not in titles
    page.goto(f"{live_server}/portal/tickets/{world['second']}")
    assert "opened by Peter Gibbons" in page.content()
    screenshot(page, "portal-colleague")
