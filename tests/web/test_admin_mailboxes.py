"""Administrators configure IMAP mailboxes in the browser; nobody else may."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from mail import secrets
from mail.models import MailAccount, MailboxEvent
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


OAUTH2_FORM = {
    "name": "Microsoft inbox",
    "host": "outlook.office365.com",
    "port": "993",
    "username": "m365@helpdesk.example",
    "auth_method": "oauth2",
    "oauth2_token_url": "https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token",
    "oauth2_client_id": "app-client-id",
    "oauth2_client_secret": "app-client-secret-value",
    "oauth2_refresh_token": "refresh-token-value",
    "oauth2_scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    "folder": "INBOX",
    "oversize_folder": "Too big",
    "use_ssl": "on",
}


def test_an_oauth2_mailbox_is_added_and_its_secrets_are_never_shown(client, login, session):
    login("admin")
    page = client.get("/admin/mailboxes")
    for field in ("auth_method", "oauth2_token_url", "oauth2_client_id", "oauth2_refresh_token"):
        assert f'name="{field}"' in page.text

    response = client.post("/admin/mailboxes", data={**OAUTH2_FORM, "csrf_token": csrf_token_in(page.text)})
    assert response.status_code == 303

    listing = client.get("/admin/mailboxes").text
    assert "Microsoft inbox" in listing
    assert "OAuth2" in listing
    for secret in ("app-client-secret-value", "refresh-token-value"):
        assert secret not in listing
    stored = session.scalars(select(MailAccount).where(MailAccount.name == "Microsoft inbox")).one()
    assert (stored.auth_method, stored.oauth2_client_id, stored.oversize_folder) == (
        "oauth2",
        "app-client-id",
        "Too big",
    )
    assert stored.oauth2_refresh_token == "refresh-token-value"
    raw = session.execute(
        text(
            "SELECT oauth2_client_secret_encrypted, oauth2_refresh_token_encrypted"
            " FROM mail_account WHERE id = :id"
        ),
        {"id": stored.id},
    ).one()
    assert "app-client-secret-value" not in raw[0]
    assert "refresh-token-value" not in raw[1]


def test_oauth2_field_errors_are_422_next_to_the_fields_with_no_secret_sent_back(client, login, session):
    login("admin")
    page = client.get("/admin/mailboxes")
    response = client.post(
        "/admin/mailboxes",
        data={
            **OAUTH2_FORM,
            "name": "Half-configured",
            "oauth2_token_url": "http://login.example/token",
            "oauth2_refresh_token": "",
            "csrf_token": csrf_token_in(page.text),
        },
    )

    assert response.status_code == 422
    html = response.text
    assert 'id="mailbox-oauth2_token_url-error"' in html
    assert "enter the token endpoint&#39;s https:// address" in html
    assert 'id="mailbox-oauth2_refresh_token-error"' in html
    assert "enter the refresh token" in html
    assert 'value="app-client-id"' in html  # the typed values come back
    assert 'value="http://login.example/token"' in html
    assert "app-client-secret-value" not in html  # but never a secret
    assert '<option value="oauth2" selected>' in html
    assert session.scalar(select(MailAccount).where(MailAccount.name == "Half-configured")) is None


def test_an_unknown_auth_method_is_a_field_error(client, login, session):
    login("admin")
    page = client.get("/admin/mailboxes")
    response = client.post(
        "/admin/mailboxes",
        data={**FORM, "name": "Odd", "auth_method": "kerberos", "csrf_token": csrf_token_in(page.text)},
    )
    assert response.status_code == 422
    assert 'id="mailbox-auth_method-error"' in response.text
    assert "choose password or OAuth2" in response.text
    assert session.scalar(select(MailAccount).where(MailAccount.name == "Odd")) is None


def test_a_post_without_the_csrf_token_stores_nothing(client, login, session):
    login("admin")
    response = client.post("/admin/mailboxes", data={**OAUTH2_FORM, "name": "No token"})
    assert response.status_code == 400
    assert session.scalar(select(MailAccount).where(MailAccount.name == "No token")) is None


def test_the_mails_set_aside_are_listed_for_the_administrator(client, login, session):
    account = MailAccount(
        name="Big mail inbox", host="imap.helpdesk.example", username="big@helpdesk.example", password="x"
    )
    session.add(account)
    session.flush()
    session.add(
        MailboxEvent(
            account_id=account.id,
            kind="oversize",
            size=73_400_320,
            sender="Bea Big <bea.big@acme.example>",
            subject="Scan of the whole contract",
            message_id="<big@acme.example>",
            folder="Ticketflow.Oversize",
        )
    )
    session.flush()
    login("admin")

    html = client.get("/admin/mailboxes").text

    section = html[html.index("Mails set aside") :]
    for shown in ("Big mail inbox", "Bea Big &lt;bea.big@acme.example&gt;", "Scan of the whole contract"):
        assert shown in section
    assert "73.4 MB" in section
    assert "Ticketflow.Oversize" in section


def test_secrets_unreadable_after_a_key_change_are_entered_again(client, login, session):
    # Stored under another secret key: the page still lists the mailbox (it never decrypts).
    other_key = Fernet(secrets.derive_key("the-key-of-another-installation"))
    account = MailAccount(
        name="Moved inbox",
        host="imap.helpdesk.example",
        username="moved@helpdesk.example",
        password_encrypted=secrets.PREFIX + other_key.encrypt(b"old-password").decode(),
        last_error="the stored password cannot be decrypted with this TICKETFLOW_SECRET_KEY",
    )
    session.add(account)
    session.flush()
    login("admin")
    page = client.get("/admin/mailboxes")
    assert page.status_code == 200
    assert "Moved inbox" in page.text
    assert "cannot be decrypted" in page.text

    refused = client.post(
        f"/admin/mailboxes/{account.id}/secrets",
        data={"password": "", "csrf_token": csrf_token_in(page.text)},
    )
    assert refused.status_code == 422
    assert f'id="secrets-{account.id}-password-error"' in refused.text
    assert "enter the password of the mailbox" in refused.text

    saved = client.post(
        f"/admin/mailboxes/{account.id}/secrets",
        data={"password": "the-new-password", "csrf_token": csrf_token_in(page.text)},
    )
    assert saved.status_code == 303
    assert "the-new-password" not in client.get("/admin/mailboxes").text
    session.expire_all()
    stored = session.get(MailAccount, account.id)
    assert stored.password == "the-new-password"
    assert "the-new-password" not in stored.password_encrypted


def test_an_oauth2_mailbox_gets_a_new_refresh_token(client, login, session):
    account = MailAccount(
        name="Reconsented inbox",
        host="outlook.office365.com",
        username="reconsent@helpdesk.example",
        auth_method="oauth2",
        oauth2_token_url="https://login.example/token",
        oauth2_client_id="client",
    )
    account.oauth2_client_secret = "keep-this-secret"
    account.oauth2_refresh_token = "revoked-token"
    session.add(account)
    session.flush()
    login("admin")
    page = client.get("/admin/mailboxes")

    saved = client.post(
        f"/admin/mailboxes/{account.id}/secrets",
        data={"oauth2_refresh_token": "fresh-token", "csrf_token": csrf_token_in(page.text)},
    )

    assert saved.status_code == 303
    session.expire_all()
    stored = session.get(MailAccount, account.id)
    assert (stored.oauth2_refresh_token, stored.oauth2_client_secret) == ("fresh-token", "keep-this-secret")


def test_only_administrators_enter_secrets(client, login, session):
    account = MailAccount(name="Guarded", host="imap.example", username="g@helpdesk.example", password="kept")
    session.add(account)
    session.flush()
    login("secretary")
    page = client.get("/")
    response = client.post(
        f"/admin/mailboxes/{account.id}/secrets",
        data={"password": "", "csrf_token": csrf_token_in(page.text)},
    )
    assert response.status_code == 403  # refused before the empty password is looked at
    session.expire_all()
    assert session.get(MailAccount, account.id).password == "kept"
