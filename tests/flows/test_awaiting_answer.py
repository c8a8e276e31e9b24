"""Lists show which tickets wait for an answer: the customer wrote last and nobody replied."""

from __future__ import annotations

import re

from desk.article import service as articles
from desk.ticket import states
from flows import reply as reply_flow
from flows import state as state_flow


def badge_rows(html: str) -> list[str]:
    """The titles of the rows that carry the "awaits answer" badge."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)
    return [re.sub(r"\s+", " ", row) for row in rows if "badge--waiting" in row]


def test_a_customer_mail_waits_until_an_agent_answers(session, mail_ticket, agent):
    waiting = mail_ticket(title="Scanner jams")
    answered = mail_ticket(title="Keyboard sticks")
    closed = mail_ticket(title="Mouse lost")
    reply_flow.reply(session, actor=agent("alice"), ticket=answered, body_text="Try another USB port.")
    state_flow.set_state(
        session, actor=agent("admin"), ticket=closed, state=states.get_state(session, "closed successful")
    )
    ids = [waiting.id, answered.id, closed.id]
    assert articles.awaiting_answer(session, ticket_ids=ids) == {waiting.id}


def test_the_dashboard_and_the_search_mark_the_waiting_tickets(session, browser, mail_ticket, agent):
    mail_ticket(title="Scanner jams")
    answered = mail_ticket(title="Keyboard sticks")
    reply_flow.reply(session, actor=agent("alice"), ticket=answered, body_text="Try another USB port.")
    session.flush()
    alice = browser("alice")
    dashboard = alice.client.get("/").text
    marked = badge_rows(dashboard)
    assert any("Scanner jams" in row for row in marked)
    assert not any("Keyboard sticks" in row for row in marked)
    found = alice.client.get("/search", query_string={"words": "Scanner"}).text
    assert any("Scanner jams" in row for row in badge_rows(found))


def test_the_inbox_marks_the_tasks_whose_customer_waits(session, deployed, browser, mail_ticket, agent):
    mail_ticket(title="Scanner jams")
    answered = mail_ticket(title="Keyboard sticks")
    reply_flow.reply(session, actor=agent("alice"), ticket=answered, body_text="Try another USB port.")
    session.flush()
    page = browser("alice").client.get("/inbox").text
    marked = badge_rows(page)
    assert any("Scanner jams" in row for row in marked)
    assert not any("Keyboard sticks" in row for row in marked)
