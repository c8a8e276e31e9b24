"""The search page: finds by number, word and customer, and only tickets the agent may read."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.ticket.models import Ticket


def numbers_on(html: str) -> list[str]:
    return re.findall(r'<td[^>]*class="mono nowrap"[^>]*><a href="/tickets/\d+"[^>]*>(\d+)</a>', html)


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def test_the_search_page_finds_by_number_word_and_customer(client, login, session):
    printer = ticket_titled(session, "Printer on 3rd floor jams")
    refund = ticket_titled(session, "Refund for double invoice")
    login("admin")

    assert numbers_on(client.get(f"/search?number={printer.number}").text) == [printer.number]
    assert numbers_on(client.get("/search?words=jams").text) == [printer.number]
    assert numbers_on(client.get("/search?customer=jane.roe%40acme.example").text) == [refund.number]
    assert "No tickets found." in client.get("/search?words=xylophone").text


def test_the_search_never_shows_tickets_the_agent_may_not_read(client, login, session):
    login("alice")

    html = client.get("/search?words=refund").text

    assert numbers_on(html) == []
    assert "Refund for double invoice" not in html


def test_an_empty_search_shows_the_form_and_bad_dates_are_field_errors(client, login):
    login("alice")

    empty = client.get("/search")
    bad = client.get("/search?created_from=yesterday")

    assert empty.status_code == 200
    assert 'name="words"' in empty.text
    assert "No tickets found." not in empty.text
    assert bad.status_code == 200
    assert 'id="created_from-error"' in bad.text


def test_the_header_has_a_search_box_for_the_slash_key(client, login):
    login("alice")

    html = client.get("/").text

    assert 'id="quick-search"' in html
    assert "data-search-box" in html
    assert 'data-hotkey="g i"' in html
