"""Full-text ticket search through the API: the search page's criteria, the same results.

``GET /api/v1/tickets`` and ``/search`` both call ``desk.ticket.search.search_tickets``; a
customer's words match only the articles the customer can read.
"""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article import service as articles
from desk.ticket import search
from tests.api.conftest import Api, assert_error


def _note(session, ticket, body, *, visible=False):
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email" if visible else "note",
        body_text=body,
        visible_for_customer=visible,
    )
    session.flush()


@pytest.fixture
def tickets(session, new_ticket):
    jams = new_ticket("1st level", title="Printer problem")
    _note(session, jams, "The tray jams after the zebrafish page.", visible=True)
    quota = new_ticket("1st level", title="Mail quota", email="jane.roe@acme.example")
    _note(session, quota, "Quota of the zebrafish mailbox raised.")
    finance = new_ticket("Finance", title="Invoice")
    _note(session, finance, "zebrafish invoice", visible=True)
    return jams, quota, finance


def _ids(api: Api, **query: object) -> list[int]:
    response = api.get("/tickets", query_string=query)
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.get_json()]


def test_words_search_the_articles_bodies_like_the_search_page(tickets, api_as, session, agent):
    jams, quota, _finance = tickets
    alice = api_as("alice")
    # Article bodies, not only titles; alice cannot read Finance, so its hit never shows.
    assert _ids(alice, words="zebrafish") == [quota.id, jams.id]
    assert _ids(alice, words="tray JAMS") == [jams.id]
    assert _ids(alice, words="zebrafish", customer="jane.roe") == [quota.id]
    assert _ids(alice, words="zebrafish", number=jams.number) == [jams.id]
    assert _ids(alice, words="nothing-like-this") == []

    # The search page's service gives the same tickets for the same words.
    page = search.search_tickets(
        session, actor=agent("alice"), criteria=search.SearchCriteria(words="zebrafish")
    )
    assert [t.id for t in page] == [quota.id, jams.id]


def test_bad_search_input_is_a_field_error(tickets, api_as):
    alice = api_as("alice")
    assert "words" in assert_error(alice.get("/tickets", query_string={"words": "x" * 501}), 422)["errors"]
    assert "words" in assert_error(alice.get("/tickets", query_string={"words": "a\x00b"}), 422)["errors"]
    response = alice.get(
        "/tickets",
        query_string={
            "created_from": "2030-01-02T00:00:00+00:00",
            "created_before": "2030-01-01T00:00:00+00:00",
        },
    )
    assert "created_to" in assert_error(response, 422)["errors"]


def test_a_customers_words_match_only_what_the_customer_can_read(tickets, client, session, customer):
    jams, quota, finance = tickets
    token = agents.create_customer_token(
        session, actor=SYSTEM, customer=customer("john.doe@acme.example"), name="test"
    )
    john = Api(client, token, session)
    # jams' and finance's (John's own) visible articles say "zebrafish"; quota (Jane's, same
    # company) has it only in an internal note: John must not learn that the note mentions it.
    assert _ids(john, words="zebrafish") == [finance.id, jams.id]
    assert quota.id in _ids(john)
