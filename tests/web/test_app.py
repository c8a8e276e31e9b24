"""The application frame: security headers, error pages, URL rules, commit at the edge."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from core.config import get_settings
from core.errors import Conflict, PermissionDenied, ValidationError
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from web import create_app
from web.db import get_db
from web.security import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/login", "/does-not-exist", "/static/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers

    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "img-src 'self' data:" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client, login):
    login("secretary")

    for html in (client.get("/").text, client.get("/nowhere").text):
        assert "<script>" not in html  # every script has a src
        assert "<style" not in html
        assert "style=" not in html
        assert 'src="/static/vendor/htmx.min.js"' in html


def test_pages_are_not_cached_but_static_files_may_be(client, login):
    login("alice")

    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_production_cookies_are_secure_and_https_is_enforced(web_session_factory):
    settings = dataclasses.replace(get_settings(), env="production")
    app = create_app(settings, session_factory=web_session_factory)

    response = app.test_client().get("/login")

    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_url_accepts_delete(app):
    # Tickets, articles and history are never deleted over HTTP.
    rules = {rule.rule: rule.methods or set() for rule in app.url_map.iter_rules()}

    assert rules, "the app has URL rules"
    assert not [rule for rule, methods in rules.items() if "DELETE" in methods]


def test_an_unknown_url_gives_the_friendly_not_found_page(client):
    response = client.get("/tickets/no-such-thing")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Go to the dashboard" in response.text
    assert "Traceback" not in response.text
    assert "werkzeug" not in response.text.lower()


def test_an_unknown_url_shows_the_agent_still_signed_in(client, login):
    login("alice")

    response = client.get("/nowhere")

    assert response.status_code == 404
    assert "Alice First" in response.text


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (PermissionDenied("you may not move tickets into Finance"), 403, "You do not have access to this"),
        (Conflict("ticket 2026 is locked by bob"), 409, "This was changed in the meantime"),
        (ValidationError("the title is too long"), 422, "Please check your input"),
    ],
)
def test_ticketflow_errors_become_friendly_pages_with_their_status(app, error, status, title):
    @app.get("/_test/raise")
    def raise_it() -> str:
        raise error

    response = app.test_client().get("/_test/raise")

    assert response.status_code == status
    assert title in response.text
    assert error.message in response.text


def test_an_unexpected_error_gives_a_friendly_500_page(app):
    app.testing = False  # let Flask turn the exception into a 500 as in production

    @app.get("/_test/crash")
    def crash() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/_test/crash")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret internals" not in response.text
    assert response.headers["X-Frame-Options"] == "DENY"


def first_name_of(session, login: str) -> str:
    # A column query goes to the database, past the test session's identity map.
    return session.scalar(select(Agent.first_name).where(Agent.login == login))


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_a_successful_request_commits_and_an_error_response_rolls_back(app, session):
    @app.get("/_test/rename/<name>")
    def rename(name: str) -> str:
        db = get_db()
        db.scalars(select(Agent).where(Agent.login == "alice")).one().first_name = name
        db.flush()  # as a service would: flushed, not committed
        if name == "Broken":
            raise ValidationError("refused after the flush")
        return "renamed"

    client = app.test_client()

    assert client.get("/_test/rename/Alicia").status_code == 200
    assert first_name_of(session, "alice") == "Alicia"

    failed = client.get("/_test/rename/Broken")
    assert failed.status_code == 422
    assert first_name_of(session, "alice") == "Alicia"


def test_an_unhandled_exception_rolls_back(app, session):
    app.testing = False

    @app.get("/_test/crash-after-flush")
    def crash_after_flush() -> str:
        db = get_db()
        db.scalars(select(Agent).where(Agent.login == "bob")).one().first_name = "Crashed"
        db.flush()
        raise RuntimeError("boom")

    assert app.test_client().get("/_test/crash-after-flush").status_code == 500
    assert first_name_of(session, "bob") == "Bob"


def test_wsgi_module_builds_the_app():
    from ticketflow import wsgi

    assert wsgi.app.name == "web"
    assert "auth.login" in {rule.endpoint for rule in wsgi.app.url_map.iter_rules()}


@pytest.mark.smoke  # also on SQLite, the embedded database of `make demo`
def test_a_commit_that_lost_a_race_gives_the_conflict_page(app, session, queue):
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="Race", queue=queue("Raw"))
    session.flush()

    @app.get("/_test/stale")
    def stale() -> str:
        db = get_db()
        mine = db.get(Ticket, ticket.id)
        assert mine is not None
        # Another request changes the ticket after we read it (its version moves on)...
        db.connection().execute(
            text("UPDATE ticket SET version = version + 1 WHERE id = :id"), {"id": ticket.id}
        )
        mine.title = "Mine"  # ...so our change, flushed by the commit, matches no row.
        return "saved"

    response = app.test_client().get("/_test/stale")

    assert response.status_code == 409
    assert "This was changed in the meantime" in response.text
    assert response.headers["X-Frame-Options"] == "DENY"
    assert session.scalar(select(Ticket.title).where(Ticket.id == ticket.id)) == "Race"


def test_a_flush_that_lost_a_race_gives_the_conflict_page(app):
    @app.get("/_test/stale-flush")
    def stale_flush() -> str:
        raise StaleDataError("UPDATE statement on table 'ticket' expected to update 1 row(s); 0 were matched")

    response = app.test_client().get("/_test/stale-flush")

    assert response.status_code == 409
    assert "This was changed in the meantime" in response.text
