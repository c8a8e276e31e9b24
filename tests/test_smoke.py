"""A first end-to-end look at the domain; also runs on SQLite (the embedded database)."""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from desk.article import service as articles
from desk.history import service as history
from desk.ticket import service as tickets

pytestmark = pytest.mark.smoke


def test_a_mail_ticket_is_created_answered_and_moved(session, agent, queue, customer):
    john = customer("john.doe@acme.example")
    ticket = tickets.create_ticket(
        session, actor=SYSTEM, title="VPN down", queue=queue("Raw"), customer_user=john
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject="VPN down",
        body_text="Help",
    )
    tickets.move(session, actor=agent("secretary"), ticket=ticket, queue=queue("1st level"))
    articles.add_article(
        session,
        actor=agent("alice"),
        ticket=ticket,
        channel="email",
        subject="Re: VPN down",
        body_text="Restarted the gateway.",
    )

    assert ticket.queue.name == "1st level"
    assert ticket.locked_by.login == "alice"  # answering locked it
    assert [h.type for h in history.for_ticket(session, ticket=ticket)] == [
        "NewTicket",
        "EmailCustomer",
        "Move",
        "Lock",
        "OwnerUpdate",
        "SendAnswer",
    ]
    assert [
        a.is_visible_for_customer for a in articles.list_articles(session, actor=john, ticket=ticket)
    ] == [
        True,
        True,
    ]
