"""S1→S3, S4, S5, S6 and S14 walked in Chromium, as agents would click through them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import runtime
from engine.models import HumanTask
from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def new_ticket(e2e_factory):
    """A fresh mail ticket from John in ``queue`` with its process started (and triaged)."""

    def make(title: str, queue: str = "Raw", triage: dict[str, Any] | None = None) -> tuple[int, str]:
        with session_scope(e2e_factory) as session:
            john = session.scalars(
                select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
            ).one()
            target = session.scalars(select(Queue).where(Queue.name == queue)).one()
            ticket = tickets.create_ticket(
                session, actor=SYSTEM, title=title, queue=target, customer_user=john
            )
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
            return ticket.id, ticket.number

    return make


def _open_tasks(factory, ticket_id: int) -> list[str]:
    with session_scope(factory) as session:
        return [
            t.name
            for t in session.scalars(
                select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
            )
        ]


def _complete(page: Any, task: str, **fields: str) -> None:
    form = page.locator(f"div.task:has(h3:text-is('{task}')) form.task-form")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]").first
        kind = field.get_attribute("type")
        if kind == "radio":
            form.locator(f"input[name={name}][value={value}]").check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    # The form posts through htmx; a completion answers HX-Redirect, so wait for that page.
    with page.expect_navigation():
        form.get_by_role("button", name="Complete", exact=True).click()
    page.wait_for_load_state("networkidle")


def test_s1_to_s3_a_template_answer_closes_the_faq_ticket(page, live_server, e2e_factory, new_ticket):
    ticket_id, number = new_ticket("How do I reset my password?")
    sign_in(page, live_server, "secretary")
    page.goto(f"{live_server}/inbox")
    screenshot(page, "inbox-en")
    page.get_by_role("link", name="How do I reset my password?").first.click()

    page.select_option("#template-select", label="Password reset")
    page.get_by_role("button", name="Use template").click()
    assert number in page.locator("#reply-body").input_value()
    page.get_by_role("button", name="Send reply").click()
    assert page.get_by_text("Your reply was sent to the customer.").count() == 1
    _complete(page, "Triage", decision="close")
    screenshot(page, "ticket-view-en")

    with session_scope(e2e_factory) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.state.type == "closed"
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id)).all()
        assert any(number in m.article.subject and m.to_addr == "john.doe@acme.example" for m in mail)


def test_s4_the_secretary_moves_a_ticket_to_2nd_level(page, live_server, e2e_factory, new_ticket):
    ticket_id, _ = new_ticket("Server room is too warm")
    sign_in(page, live_server, "secretary")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    _complete(page, "Triage", decision="move", target_queue="2nd level")

    with session_scope(e2e_factory) as session:
        assert session.get(Ticket, ticket_id).queue.name == "2nd level"
    assert _open_tasks(e2e_factory, ticket_id) == ["Work"]


def test_s5_a_consultation_returns_the_ticket_to_the_asker(browser, live_server, e2e_factory, new_ticket):
    ticket_id, _ = new_ticket(
        "Database replication lag", triage={"decision": "move", "target_queue": "2nd level"}
    )
    bob = browser.new_context(locale="en-US").new_page()
    sign_in(bob, live_server, "bob")
    bob.goto(f"{live_server}/tickets/{ticket_id}")
    _complete(bob, "Work", action="consult", consultation_question="Is this lag normal?")
    assert _open_tasks(e2e_factory, ticket_id) == ["Consult"]

    consultant = browser.new_context(locale="en-US").new_page()
    sign_in(consultant, live_server, "consultant")
    consultant.goto(f"{live_server}/inbox")
    assert consultant.get_by_role("link", name="Database replication lag").count() >= 1
    consultant.goto(f"{live_server}/tickets/{ticket_id}")
    assert consultant.locator("#reply-body").count() == 0  # consultants never write to customers
    _complete(consultant, "Consult", note="Normal during backups.", outcome="return")

    assert _open_tasks(e2e_factory, ticket_id) == ["Work"]
    with session_scope(e2e_factory) as session:
        work = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
        ).one()
        bob_id = session.scalars(select(Agent.id).where(Agent.login == "bob")).one()
        assert work.candidate_agent_id == bob_id
    bob.goto(f"{live_server}/inbox")
    assert bob.get_by_role("link", name="Database replication lag").count() >= 1


def test_s6_the_authorizer_approves_in_their_own_inbox(browser, live_server, e2e_factory, new_ticket):
    ticket_id, _ = new_ticket("Refund 40 EUR", triage={"decision": "move", "target_queue": "2nd level"})
    bob = browser.new_context(locale="en-US").new_page()
    sign_in(bob, live_server, "bob")
    bob.goto(f"{live_server}/tickets/{ticket_id}")
    _complete(bob, "Work", action="authorize", authorization_request="Refund 40 EUR to the customer")
    bob.goto(f"{live_server}/inbox")
    assert bob.get_by_role("link", name="Refund 40 EUR").count() == 0  # not bob's to decide

    authorizer = browser.new_context(locale="en-US").new_page()
    sign_in(authorizer, live_server, "authorizer")
    authorizer.goto(f"{live_server}/inbox")
    authorizer.get_by_role("link", name="Refund 40 EUR").first.click()
    _complete(authorizer, "Authorize", decision="approve", comment="Fine, within policy.")

    assert _open_tasks(e2e_factory, ticket_id) == ["Work"]
    with session_scope(e2e_factory) as session:
        notes = [a.body_text for a in session.scalars(select(Article).where(Article.ticket_id == ticket_id))]
        assert any("Fine, within policy." in n for n in notes)


def test_s14_a_second_agent_sees_the_lock_and_unlocks_it_in_one_click(
    browser, live_server, e2e_factory, new_ticket
):
    ticket_id, _ = new_ticket("Keyboard missing keys")
    secretary = browser.new_context(locale="en-US").new_page()
    sign_in(secretary, live_server, "secretary")
    secretary.goto(f"{live_server}/tickets/{ticket_id}")
    secretary.locator("div.task").get_by_role("button", name="Claim").click()
    secretary.wait_for_load_state("networkidle")

    admin = browser.new_context(locale="en-US").new_page()
    sign_in(admin, live_server, "admin")
    admin.goto(f"{live_server}/")
    assert admin.get_by_text("locked by Sam Secretary").count() >= 1
    admin.goto(f"{live_server}/tickets/{ticket_id}")
    assert admin.get_by_text("Locked by Sam Secretary").count() >= 1
    admin.get_by_role("button", name="Unlock").click()
    admin.wait_for_load_state("networkidle")
    assert admin.get_by_text("The ticket is unlocked.").count() == 1
    with session_scope(e2e_factory) as session:
        assert session.get(Ticket, ticket_id).locked_by_id is None


def test_forbidden_actions_are_not_offered(page, live_server, new_ticket):
    ticket_id, _ = new_ticket("Observer must not touch")
    sign_in(page, live_server, "observer")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    assert page.get_by_text("Observer must not touch").count() >= 1
    action_forms = page.locator("form[action*='/tickets/'], form.task-form button:not([disabled])")
    assert action_forms.count() == 0


def test_hostile_html_in_a_mail_stays_inert_in_the_browser(browser, live_server, e2e_factory, new_ticket):
    ticket_id, _ = new_ticket("Hostile newsletter")
    hostile = (
        "<p>Hello</p><script>window.__flag = 'pwned-by-script'</script>"
        "<img src=x onerror=\"window.__flag = 'pwned-by-onerror'\">"
        "<svg onload=\"window.__flag = 'pwned-by-svg'\"></svg>"
        "<a href=\"javascript:window.__flag='pwned-by-link'\" id=evil>click</a>"
    )
    with session_scope(e2e_factory) as session:
        # Straight into the database, past the mail sanitizer: the page must be safe on its own.
        session.add(
            Article(
                ticket_id=ticket_id,
                channel="email",
                sender_type="customer",
                is_visible_for_customer=True,
                subject="Hostile",
                body_text="Hello",
                body_html=hostile,
            )
        )
    context = browser.new_context(locale="en-US")
    context.add_init_script("window.__flag = 'untouched'")
    page = context.new_page()
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    page.wait_for_load_state("networkidle")
    if page.locator("#evil").count():
        page.locator("#evil").click()
    assert page.evaluate("window.__flag") == "untouched"
    assert page.get_by_text("Hello").count() >= 1


def test_screenshots_of_inbox_ticket_and_search_in_german(page, live_server, new_ticket):
    ticket_id, number = new_ticket("Drucker druckt nicht")
    sign_in(page, live_server, "secretary")
    page.select_option("#language-select", "de")
    page.get_by_role("button", name="Switch").click()
    page.goto(f"{live_server}/inbox")
    assert page.get_by_role("link", name="Eingang").count() >= 1
    screenshot(page, "inbox-de")
    page.goto(f"{live_server}/tickets/{ticket_id}")
    screenshot(page, "ticket-view-de")
    page.goto(f"{live_server}/search?number={number}")
    assert page.get_by_text("Drucker druckt nicht").count() >= 1
    screenshot(page, "search-de")
    page.select_option("#language-select", "en")
    page.get_by_role("button", name="Wechseln").click()
    page.goto(f"{live_server}/search?number={number}")
    screenshot(page, "search-en")
