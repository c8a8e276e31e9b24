"""Administrators configure IMAP mailboxes in the browser; nobody else may."""

from __future__ import annotations

from sqlalchemy import select

from mail.models import MailAccount
from tests.web.conftest import csrf_token_in

FORM = {
    "name": "Support inbox",
    "host": "imap.helpdesk.example",
    "port": "993",
    "username": "support@helpdesk.example",
    "password": "mailbox-secret",
    "folder": "INBOX",
    "use_ssl": "on",
}


def test_an_administrator_adds_a_mailbox_and_sees_it_without_its_password(client, login, session):
    login("admin")
    page = client.get("/admin/mailboxes")
    assert page.status_code == 200
    response = client.post("/admin/mailboxes", data={**FORM, "csrf_token": csrf_token_in(page.text)})
    assert response.status_code == 303

    listing = client.get("/admin/mailboxes").text
    assert "Support inbox" in listing
    assert "imap.helpdesk.example:993" in listing
    assert "mailbox-secret" not in listing
    stored = session.scalars(select(MailAccount).where(MailAccount.name == "Support inbox")).one()
    assert (stored.username, stored.use_ssl, stored.port) == ("support@helpdesk.example", True, 993)


def test_bad_input_shows_field_errors_and_stores_nothing(client, login, session):
    login("admin")
    page = client.get("/admin/mailboxes")
    response = client.post(
        "/admin/mailboxes",
        data={
            **FORM,
            "name": "Broken",
            "host": "has space",
            "port": "99999",
            "password": "",
            "csrf_token": csrf_token_in(page.text),
        },
    )
    assert response.status_code == 422
    for message in ("enter the IMAP server", "a port is a number", "enter the password"):
        assert message in response.text
    assert session.scalar(select(MailAccount).where(MailAccount.name == "Broken")) is None


def test_agents_who_do_not_administer_get_403_and_no_link(client, login, session):
    login("secretary")
    assert client.get("/admin/mailboxes").status_code == 403
    assert "/admin/mailboxes" not in client.get("/").text
    page = client.get("/")
    response = client.post("/admin/mailboxes", data={**FORM, "csrf_token": csrf_token_in(page.text)})
    assert response.status_code == 403
    assert session.scalar(select(MailAccount).where(MailAccount.name == "Support inbox")) is None
