"""Ticket search: number, words, customer, queue, state type, dates; never beyond read rights."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.errors import ValidationError
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from desk.ticket.search import SearchCriteria, search_tickets


def titles(found) -> list[str]:
    return [t.title for t in found]


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def test_by_number(session, agent):
    ticket = ticket_titled(session, "Printer on 3rd floor jams")

    found = search_tickets(session, actor=agent("admin"), criteria=SearchCriteria(number=ticket.number))

    assert titles(found) == ["Printer on 3rd floor jams"]


def test_by_a_word_in_the_body_or_subject(session, agent):
    admin = agent("admin")

    assert titles(search_tickets(session, actor=admin, criteria=SearchCriteria(words="jams"))) == [
        "Printer on 3rd floor jams"
    ]
    assert titles(search_tickets(session, actor=admin, criteria=SearchCriteria(words="charged twice"))) == [
        "Refund for double invoice"
    ]
    assert titles(search_tickets(session, actor=admin, criteria=SearchCriteria(words="CANNOT log"))) == [
        "I forgot my password"
    ]
    assert search_tickets(session, actor=admin, criteria=SearchCriteria(words="xylophone")) == []


def test_a_word_of_a_later_article_finds_the_ticket(session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    articles.add_article(
        session, actor=agent("secretary"), ticket=ticket, channel="note", body_text="LDAP outage"
    )
    session.flush()

    found = search_tickets(session, actor=agent("secretary"), criteria=SearchCriteria(words="ldap"))

    assert titles(found) == ["I forgot my password"]


def test_by_customer_queue_state_and_dates(session, agent, queue):
    admin = agent("admin")

    by_customer = search_tickets(
        session, actor=admin, criteria=SearchCriteria(customer_email="jane.roe@acme")
    )
    by_queue = search_tickets(session, actor=admin, criteria=SearchCriteria(queue_ids=(queue("Raw").id,)))
    by_state = search_tickets(session, actor=admin, criteria=SearchCriteria(state_types=("closed",)))
    today = search_tickets(
        session,
        actor=admin,
        criteria=SearchCriteria(
            created_from=utcnow() - timedelta(days=3650), created_before=utcnow() + timedelta(days=1)
        ),
    )
    future = search_tickets(
        session, actor=admin, criteria=SearchCriteria(created_from=utcnow() + timedelta(days=1))
    )

    assert titles(by_customer) == ["Refund for double invoice"]
    assert sorted(titles(by_queue)) == ["I forgot my password", "Printer on 3rd floor jams"]
    assert by_state == []
    assert len(today) == 4
    assert future == []


def test_never_returns_tickets_the_agent_may_not_read(session, agent, queue):
    tickets.create_ticket(
        session, actor=SYSTEM, title="Receipt for the nets", queue=queue("Board::Treasurer")
    )
    session.flush()

    alice = search_tickets(session, actor=agent("alice"), criteria=SearchCriteria(words="refund"))
    accountant = search_tickets(session, actor=agent("accountant"), criteria=SearchCriteria(words="for"))
    secretary = search_tickets(session, actor=agent("secretary"), criteria=SearchCriteria(words="nets"))

    assert alice == []  # Finance is not hers
    assert titles(accountant) == ["Receipt for the nets"]
    assert secretary == []


def test_like_wildcards_are_literal(session, agent):
    assert search_tickets(session, actor=agent("admin"), criteria=SearchCriteria(number="%")) == []
    assert search_tickets(session, actor=agent("admin"), criteria=SearchCriteria(customer_email="_")) == []


def test_invalid_criteria_are_refused(session, agent):
    with pytest.raises(ValidationError):
        search_tickets(session, actor=agent("admin"), criteria=SearchCriteria(state_types=("gone",)))
    with pytest.raises(ValidationError):
        search_tickets(
            session,
            actor=agent("admin"),
            criteria=SearchCriteria(created_from=utcnow(), created_before=utcnow() - timedelta(days=1)),
        )
