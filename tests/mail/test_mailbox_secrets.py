"""Mailbox secrets are encrypted at rest with a key derived from the secret key."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.db import make_engine, session_scope
from core.migrate import alembic_config
from desk.actor import SYSTEM
from mail import secrets
from mail.accounts import create_account
from mail.inbound.imap import fetch_account
from mail.models import MailAccount
from tests.conftest import WORKER, create_pg_database

PLAIN = "correct-horse-battery-staple"


def _raw_row(session: Session, account_id: int) -> dict[str, str]:
    row = session.execute(
        text(
            "SELECT password_encrypted, oauth2_client_secret_encrypted, oauth2_refresh_token_encrypted"
            " FROM mail_account WHERE id = :id"
        ),
        {"id": account_id},
    ).one()
    return dict(row._mapping)


def test_the_password_column_holds_no_plaintext(session):
    account = create_account(
        session,
        actor=SYSTEM,
        name="Secret inbox",
        host="imap.helpdesk.example",
        username="secret@helpdesk.example",
        password=PLAIN,
    )
    session.expire_all()

    raw = _raw_row(session, account.id)
    assert PLAIN not in raw["password_encrypted"]
    assert raw["password_encrypted"].startswith("fernet1:")
    assert session.get(MailAccount, account.id).password == PLAIN


def test_oauth2_client_secret_and_refresh_token_are_encrypted_too(session):
    account = create_account(
        session,
        actor=SYSTEM,
        name="OAuth inbox",
        host="outlook.office365.com",
        username="oauth@helpdesk.example",
        auth_method="oauth2",
        oauth2_token_url="https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
        oauth2_client_id="client-id",
        oauth2_client_secret="client-secret-plain",
        oauth2_refresh_token="refresh-token-plain",
    )
    session.expire_all()

    raw = _raw_row(session, account.id)
    assert "client-secret-plain" not in raw["oauth2_client_secret_encrypted"]
    assert "refresh-token-plain" not in raw["oauth2_refresh_token_encrypted"]
    assert raw["password_encrypted"] == ""
    stored = session.get(MailAccount, account.id)
    assert (stored.oauth2_client_secret, stored.oauth2_refresh_token) == (
        "client-secret-plain",
        "refresh-token-plain",
    )


def test_a_changed_secret_key_is_the_mailboxs_last_error_on_fetch(
    mail_env: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TICKETFLOW_SECRET_KEY", "the-key-the-password-was-stored-with")
    config.get_settings.cache_clear()
    with session_scope(mail_env) as session:
        account_id = create_account(
            session,
            actor=SYSTEM,
            name="Changed key inbox",
            host="127.0.0.1",
            port=9,  # never reached: the password cannot even be read
            use_ssl=False,
            username="changed@helpdesk.example",
            password=PLAIN,
        ).id
    monkeypatch.setenv("TICKETFLOW_SECRET_KEY", "a-different-secret-key")
    config.get_settings.cache_clear()

    assert fetch_account(account_id) == 0

    with session_scope(mail_env) as session:
        row = session.get(MailAccount, account_id)
        assert row.last_fetch_at is not None
        assert "cannot be decrypted with this TICKETFLOW_SECRET_KEY" in (row.last_error or "")
        assert "password" in (row.last_error or "")
        row.active = False


def test_decrypting_with_another_key_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TICKETFLOW_SECRET_KEY", "key-one")
    config.get_settings.cache_clear()
    stored = secrets.encrypt("hunter2")
    monkeypatch.setenv("TICKETFLOW_SECRET_KEY", "key-two")
    config.get_settings.cache_clear()
    try:
        with pytest.raises(secrets.SecretUnreadable, match="was the secret key changed"):
            secrets.decrypt(stored, what="password")
    finally:
        config.get_settings.cache_clear()


@pytest.fixture(params=["postgresql", "sqlite"])
def database_at_0009(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database migrated up to the revision before the secrets were encrypted."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'secrets.sqlite3'}"
    else:
        url = create_pg_database(f"tf_secrets_{WORKER}")
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0009")
    engine.dispose()
    return url


def test_the_migration_encrypts_the_passwords_already_stored(database_at_0009: str):
    engine = make_engine(database_at_0009)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO mail_account (name, host, port, use_ssl, username, password, folder,"
                    " processed_folder, active, created_at) VALUES ('Old inbox', 'imap.example', 993,"
                    " true, 'old@helpdesk.example', :password, 'INBOX', '', true, CURRENT_TIMESTAMP)"
                ),
                {"password": PLAIN},
            )
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), "0010")
        with engine.connect() as connection:
            stored, method, folder = connection.execute(
                text("SELECT password_encrypted, auth_method, oversize_folder FROM mail_account")
            ).one()
            columns = connection.execute(text("SELECT * FROM mail_account")).keys()
    finally:
        engine.dispose()
    assert "password" not in columns  # the plaintext column is gone
    assert PLAIN not in stored
    assert secrets.decrypt(stored) == PLAIN
    assert (method, folder) == ("password", "Ticketflow/Oversize")
