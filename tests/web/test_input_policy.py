"""The input policy in the web UI: text that cannot be stored, and bodies that are too large.

Each form and search field below answered a server error on NUL before the policy; now the
request is a 422 page naming the field, and nothing was written.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from core.config import get_settings
from core.errors import ValidationError
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.outbox.models import OutboxMessage
from desk.ticket import search as search_service
from desk.ticket.models import Ticket
from mail.models import MailAccount
from tests.web.conftest import csrf_token_in
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter

BAD = "a\x00b"


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def counts(session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, Article, OutboxMessage, CustomerUser, MailAccount)
    )


def assert_refused(response, *fields: str) -> None:
    """The 422 error page, naming every bad field."""
    assert response.status_code == 422, response.text[:500]
    assert response.mimetype == "text/html"
    assert "Please check your input" in response.text
    assert "cannot be stored" in response.text
    for field in fields:
        assert field in response.text


def post_form(client, page_url: str, action_url: str, **data):
    page = client.get(page_url)
    assert page.status_code == 200
    return client.post(action_url, data={"csrf_token": csrf_token_in(page.text), **data})


@pytest.mark.parametrize(
    ("action", "data", "bad_fields"),
    [
        ("note", {"subject": BAD, "body": "fine"}, ["subject"]),
        ("note", {"subject": "fine", "body": BAD}, ["body"]),
        ("merge", {"number": BAD}, ["number"]),
        ("forward", {"to": "vendor@printers.example", "comment": BAD}, ["comment"]),
    ],
    ids=["note-subject", "note-body", "merge-number", "forward-comment"],
)
def test_a_nul_in_a_ticket_action_is_a_422_page_and_changes_nothing(
    client, login, session, action, data, bad_fields
):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")
    before, version = counts(session), ticket.version

    response = post_form(client, f"/tickets/{ticket.id}", f"/tickets/{ticket.id}/{action}", **data)

    assert_refused(response, *bad_fields)
    assert counts(session) == before
    session.refresh(ticket)
    assert (ticket.version, ticket.state.type) == (version, ticket.state.type)
    assert ticket.merged_into_id is None


@pytest.mark.parametrize("field", ["title", "customer_email"])
def test_a_nul_in_the_phone_ticket_form_creates_no_ticket_and_no_customer(
    client, login, session, queue, field
):
    login("alice")
    data = {
        "queue": str(queue("1st level").id),
        "customer_email": "new.caller@example.org",
        "title": "Cannot print",
        "body": "He says the printer shows error 42.",
    }
    data[field] = "new\x00caller@example.org" if field == "customer_email" else BAD
    before = counts(session)

    response = post_form(client, "/tickets/new/phone", "/tickets/new/phone", **data)

    assert_refused(response, field)
    assert counts(session) == before


def test_a_nul_in_a_mailbox_name_stores_no_mailbox(client, login, session):
    login("admin")
    before = counts(session)

    response = post_form(
        client,
        "/admin/mailboxes",
        "/admin/mailboxes",
        name=BAD,
        host="imap.helpdesk.example",
        port="993",
        username="support@helpdesk.example",
        password="secret",
        folder="INBOX",
    )

    assert_refused(response, "name")
    assert counts(session) == before


@pytest.mark.parametrize("field", ["words", "number", "customer"])
def test_a_nul_in_a_search_parameter_is_a_422_page(client, login, field):
    login("alice")

    response = client.get("/search", query_string={field: BAD})

    assert_refused(response, field)


def test_the_search_service_refuses_nul_for_every_caller(session, agent):
    criteria = search_service.SearchCriteria(words=BAD, number=BAD, customer_email=BAD)

    with pytest.raises(ValidationError) as refused:
        search_service.search_tickets(session, actor=agent("alice"), criteria=criteria)

    assert set(refused.value.errors) == {"words", "number", "customer"}


def test_a_nul_in_an_uploaded_file_name_is_refused(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")
    page = client.get(f"/tickets/{ticket.id}")
    before = counts(session)

    response = client.post(
        f"/tickets/{ticket.id}/note",
        data={
            "csrf_token": csrf_token_in(page.text),
            "body": "see the file",
            "attachments": (io.BytesIO(b"data"), "evil\x00.txt"),
        },
        content_type="multipart/form-data",
    )

    assert_refused(response, "attachments")
    assert counts(session) == before


def test_fine_text_in_every_script_still_passes(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")
    body = "Grüße – שלום \u202eevil\u202c – 日本語 – 🎫 <script>alert(1)</script>"

    response = post_form(
        client, f"/tickets/{ticket.id}", f"/tickets/{ticket.id}/note", subject="x", body=body
    )

    assert response.status_code == 303
    assert session.scalar(select(func.count()).select_from(Article).where(Article.body_text == body)) == 1


def test_a_body_over_the_limit_is_the_413_page(web_session_factory):
    app = create_app(
        replace(get_settings(), max_request_bytes=10_000),
        session_factory=web_session_factory,
        login_limiter=InMemoryLoginLimiter(),
    )
    app.testing = True
    client = app.test_client()

    response = client.post("/login", data={"login": "alice", "password": "x" * 20_000})

    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "That was too large" in response.text


def test_the_default_limit_is_30_mib(client):
    assert get_settings().max_request_bytes == 30 * 1024 * 1024

    response = client.post("/login", data=b"x" * (30 * 1024 * 1024 + 1), content_type="text/plain")

    assert response.status_code == 413
