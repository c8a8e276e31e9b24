"""In Chromium: an administrator adds an OAuth2 mailbox and sees the mails set aside."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from mail.models import MailAccount, MailboxEvent
from tests.e2e.conftest import screenshot, sign_in


def test_an_oauth2_mailbox_is_added_after_a_field_error(
    page, live_server, e2e_factory: sessionmaker[Session]
):
    with session_scope(e2e_factory) as session:
        aside = MailAccount(name="Scans", host="imap.helpdesk.example", username="scans@helpdesk.example")
        aside.password = "scan-password"
        session.add(aside)
        session.flush()
        session.add(
            MailboxEvent(
                account_id=aside.id,
                size=61_000_000,
                sender="Bea Big <bea.big@acme.example>",
                subject="All the scans of 2026",
                message_id="<scans@acme.example>",
                folder="Ticketflow.Oversize",
            )
        )

    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/admin/mailboxes")
    aside_table = page.locator("section", has=page.get_by_role("heading", name="Mails set aside"))
    assert "All the scans of 2026" in aside_table.inner_text()
    assert "Bea Big <bea.big@acme.example>" in aside_table.inner_text()

    page.get_by_label("Name", exact=True).fill("Microsoft 365 support")
    page.get_by_label("IMAP server").fill("outlook.office365.com")
    page.get_by_label("Login (the mailbox's address)").fill("m365@helpdesk.example")
    page.get_by_label("Sign in with").select_option("oauth2")
    page.get_by_label("Token endpoint").fill("https://login.microsoftonline.com/tenant/oauth2/v2.0/token")
    page.get_by_label("Client id").fill("app-client-id")
    page.get_by_label("Client secret (empty for a public client)").fill("app-secret")
    page.get_by_role("button", name="Add mailbox").click()

    # No refresh token: the error stands next to its field, the typed values are kept.
    error = page.locator("#mailbox-oauth2_refresh_token-error")
    assert "enter the refresh token" in error.inner_text()
    assert page.get_by_label("Client id").input_value() == "app-client-id"
    assert page.get_by_label("Client secret (empty for a public client)").input_value() == ""
    screenshot(page, "admin-mailboxes-oauth2-error")

    page.get_by_label("Client secret (empty for a public client)").fill("app-secret")
    page.get_by_label("Refresh token", exact=True).fill("refresh-token-from-consent")
    page.get_by_role("button", name="Add mailbox").click()

    assert "The mailbox was added" in page.locator(".notices").inner_text()
    row = page.locator("tr", has_text="Microsoft 365 support")
    assert "OAuth2" in row.inner_text()
    assert "refresh-token-from-consent" not in page.content()
    screenshot(page, "admin-mailboxes")
    with session_scope(e2e_factory) as session:
        stored = session.scalars(select(MailAccount).where(MailAccount.name == "Microsoft 365 support")).one()
        assert stored.oauth2_refresh_token == "refresh-token-from-consent"
