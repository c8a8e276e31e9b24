"""What an agent reads arrives in their language: task forms and names, states, history,
server errors, dates and times in their time zone.

Texts that the real German catalog already translates are used as they are; for a msgid the
translation pass has not reached yet, :func:`german` adds its entry to the real catalog as it
is loaded (Flask-Babel's and ``core.i18n``'s), so the whole path is the one used in
production: catalog lookup, then the parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from babel import support
from sqlalchemy import select

from core import i18n
from desk.article.models import Article
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from tests.web import test_inbox
from tests.web.conftest import csrf_token_in
from web.i18n import format_when, translate_form

started = test_inbox.started  # the fixture: deployed processes, triage started


@pytest.fixture
def german(monkeypatch) -> Iterator[Callable[..., None]]:
    """``german(msgid, text)``: the German catalog, as loaded, also translates ``msgid``."""
    extra: dict[str, str] = {}
    real_load = support.Translations.load

    def load(dirname=None, locales=None, domain=None):
        loaded = real_load(dirname, locales, domain)
        if locales and str(locales[0]) == "de" and hasattr(loaded, "_catalog"):
            loaded._catalog.update(extra)
        return loaded

    monkeypatch.setattr(support.Translations, "load", staticmethod(load))
    i18n._catalog.cache_clear()

    def add(msgid: str, text: str) -> None:
        extra[msgid] = text

    yield add
    i18n._catalog.cache_clear()


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def test_the_ticket_page_in_german_shows_state_history_task_and_form_in_german(
    client, login, session, agent, started, german
):
    german("Triage", "Sichtung")
    german("Decision", "Entscheidung")
    german("Move it to another queue", "In eine andere Queue verschieben")
    ticket = started["I forgot my password"]
    tickets.lock(session, actor=agent("admin"), ticket=ticket)
    tickets.unlock(session, actor=agent("admin"), ticket=ticket)
    agent("secretary").language = "de"
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    assert '<html lang="de">' in html
    # The state "new" and the history type Unlock, from the real catalog.
    assert re.search(r'class="badge badge--new"[^>]*>neu<', html)
    assert ">Nicht gesperrt</td>" in html
    assert ">Unlock</td>" not in html
    # The task's name and its form's field and choice titles; the values stay.
    assert re.search(r"<h3[^>]*>Sichtung</h3>", html)
    assert "Entscheidung" in html
    assert 'value="move"' in html
    assert "In eine andere Queue verschieben" in html
    assert "Move it to another queue" not in html


def test_the_inbox_shows_task_names_in_the_agents_language(client, login, agent, session, started, german):
    german("Triage", "Sichtung")
    agent("secretary").language = "de"
    session.flush()
    login("secretary")

    html = client.get("/inbox").text

    assert re.search(r'class="inbox-task__name"[^>]*>Sichtung<', html)


def test_translate_form_uses_the_catalog_and_per_language_variants(app):
    schema = {
        "title": "Authorize",
        "title@de": "Freigeben",
        "properties": {
            "comment": {"title": "Comment", "type": "string"},
            "size": {
                "title": "Size",
                "enum": ["s"],
                "x-enum-titles": ["Small"],
                "x-enum-titles@de": ["Klein"],
            },
        },
    }
    with app.test_request_context(headers={"Accept-Language": "de"}):
        shown = translate_form(schema)
    assert shown is not None
    assert shown["title"] == "Freigeben"  # the form's own German variant
    assert shown["properties"]["comment"]["title"] == "Kommentar"  # the real catalog
    assert shown["properties"]["size"]["x-enum-titles"] == ["Klein"]
    assert shown["properties"]["size"]["enum"] == ["s"]  # values untouched
    assert schema["title"] == "Authorize"  # the stored schema is not changed


def test_a_reply_refused_by_a_lock_comes_back_in_german(client, login, session, agent, german):
    german("ticket %(number)s is locked by %(holder)s", "Ticket %(number)s ist von %(holder)s gesperrt")
    ticket = ticket_titled(session, "I forgot my password")
    tickets.lock(session, actor=agent("admin"), ticket=ticket)
    agent("secretary").language = "de"
    session.flush()
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text
    before = session.scalar(select(Article.id).order_by(Article.id.desc()).limit(1))

    response = client.post(
        f"/tickets/{ticket.id}/reply", data={"csrf_token": csrf_token_in(page), "body": "Hallo"}
    )

    assert response.status_code == 422
    assert f"Ticket {ticket.number} ist von Ada Admin (admin) gesperrt" in response.text
    assert "is locked by" not in response.text
    assert session.scalar(select(Article.id).order_by(Article.id.desc()).limit(1)) == before


def test_the_error_page_speaks_german_and_the_api_keeps_english(app, german):
    from core.errors import Conflict
    from core.i18n import N_
    from web.errors import _ticketflow_error

    german("ticket %(number)s is locked by %(holder)s", "Ticket %(number)s ist von %(holder)s gesperrt")
    error = Conflict(N_("ticket %(number)s is locked by %(holder)s"), number="42", holder="Bob")
    assert error.message == "ticket 42 is locked by Bob"  # logs, the API's message, the CLI
    with app.test_request_context(headers={"Accept-Language": "de"}):
        page = _ticketflow_error(error).get_data(as_text=True)
    assert "Ticket 42 ist von Bob gesperrt" in page


def test_dates_follow_the_agents_language_and_time_zone(client, login, session, agent):
    moment = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
    assert i18n.format_datetime(moment, language="de", zone="Europe/Berlin") == "01.07.2026, 14:05"
    assert i18n.format_datetime(moment, language="en", zone="UTC") == "Jul 1, 2026, 12:05\u202fPM"
    assert i18n.format_datetime(moment, language="hu", zone="America/New_York").endswith("8:05")

    ticket = ticket_titled(session, "I forgot my password")
    ticket.created_at = moment
    secretary = agent("secretary")
    secretary.language = "de"
    secretary.time_zone = "Europe/Berlin"
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    assert '<time datetime="2026-07-01T12:05:00+00:00">01.07.2026, 14:05</time>' in html


def test_the_filter_outside_an_agents_request_is_utc(app):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        assert format_when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2 янв. 2026\u202fг., 03:04"


def test_the_account_page_sets_a_valid_time_zone_and_refuses_others(client, login, session, agent):
    login("secretary")
    page = client.get("/account").text
    assert '<option value="Europe/Berlin">' in page

    refused = client.post(
        "/account/time-zone", data={"csrf_token": csrf_token_in(page), "time_zone": "Mars/Olympus"}
    )
    assert refused.status_code == 303
    session.expire_all()
    assert agent("secretary").time_zone == "UTC"
    assert "choose a time zone from the list" in client.get("/account").text

    client.post("/account/time-zone", data={"csrf_token": csrf_token_in(page), "time_zone": "Europe/Berlin"})
    session.expire_all()
    assert agent("secretary").time_zone == "Europe/Berlin"
    assert '<option value="Europe/Berlin" selected>' in client.get("/account").text
