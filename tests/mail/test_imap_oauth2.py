"""IMAP mailboxes that sign in with OAuth2 (XOAUTH2), as Microsoft 365 and Google require.

A real Dovecot checks each access token against the test's own OAuth2 provider (its
``oauth2`` passdb asks the provider's introspection endpoint); the fetcher gets the token
from the provider's token endpoint with the mailbox's refresh token.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from desk.actor import SYSTEM
from desk.ticket.models import Ticket
from mail import oauth2
from mail.accounts import create_account
from mail.inbound.imap import FETCHED, fetch_account
from mail.models import MailAccount
from tests.mail.conftest import build_mail, ticket_of_raw
from tests.mail.dovecot import Dovecot, start_dovecot
from tests.mail.oauth2_provider import Provider, run_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The OAuth2 provider (token endpoint and introspection) on a thread."""
    yield from run_provider()


@pytest.fixture(scope="module")
def dovecot(provider: Provider) -> Iterator[Dovecot]:
    """A private Dovecot that accepts XOAUTH2 logins checked by ``provider``."""
    yield from start_dovecot(oauth2_introspection_url=provider.introspection_url)


@dataclass
class OAuthWorld:
    """The mailbox, the provider, the database and the jobs of one test."""

    mailbox: Dovecot
    provider: Provider
    factory: sessionmaker[Session]
    drain: Callable[[], None]
    accounts: list[int] = field(default_factory=list)

    def account(self, refresh_token: str | None = None, client_secret: str | None = None) -> int:
        """A new OAuth2 mailbox for the Dovecot mailbox, added as an administrator would."""
        token = refresh_token or self.provider.issue_refresh_token(self.mailbox.username)
        with session_scope(self.factory) as session:
            row = create_account(
                session,
                actor=SYSTEM,
                name=f"oauth-{os.urandom(6).hex()}",
                host=self.mailbox.host,
                port=self.mailbox.port,
                use_ssl=False,
                username=self.mailbox.username,
                auth_method="oauth2",
                oauth2_token_url=self.provider.token_url,
                oauth2_client_id=self.provider.client_id,
                oauth2_client_secret=self.provider.client_secret if client_secret is None else client_secret,
                oauth2_refresh_token=token,
                oauth2_scope="https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
            )
            self.accounts.append(row.id)
            return row.id

    def fetch(self, account_id: int) -> int:
        stored = fetch_account(account_id)
        self.drain()
        return stored

    def last_error(self, account_id: int) -> str | None:
        with session_scope(self.factory) as session:
            row = session.get(MailAccount, account_id)
            assert row is not None
            return row.last_error


@pytest.fixture
def world(
    dovecot: Dovecot, provider: Provider, mail_env: sessionmaker[Session], drain: Callable[[], None]
) -> Iterator[OAuthWorld]:
    """An emptied mailbox and a provider with default behaviour."""
    dovecot.empty()
    provider.grants.clear()
    provider.introspected.clear()
    provider.access_tokens.clear()
    provider.expires_in, provider.rotate = 3600, False
    world = OAuthWorld(dovecot, provider, mail_env, drain)
    yield world
    with session_scope(mail_env) as session:
        for account_id in world.accounts:
            row = session.get(MailAccount, account_id)
            if row is not None:
                row.active = False
            oauth2.forget(account_id)
    dovecot.empty()


def _title_exists(factory: sessionmaker[Session], title: str) -> bool:
    with session_scope(factory) as session:
        return session.scalar(select(Ticket.id).where(Ticket.title == title)) is not None


def test_an_oauth2_mailbox_is_fetched_with_xoauth2_and_its_token_reused_until_expiry(world):
    account_id = world.account()
    first = build_mail(subject="Printer via OAuth2", sender="olga.oauth@acme.example")
    world.mailbox.deliver(first)

    assert world.fetch(account_id) == 1
    assert world.last_error(account_id) is None
    with session_scope(world.factory) as session:
        ticket = ticket_of_raw(session, first["Message-ID"])
        assert ticket is not None
        assert ticket.customer_user.email == "olga.oauth@acme.example"
    assert {b"\\Seen", FETCHED} <= world.mailbox.flags()[first["Message-ID"]]
    [grant] = world.provider.grants
    assert grant["grant_type"] == "refresh_token"
    assert grant["client_id"] == world.provider.client_id
    assert grant["scope"] == "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
    # Dovecot checked the very token the provider issued (its oauth2 passdb); no password.
    assert world.provider.introspected == list(world.provider.access_tokens)

    second = build_mail(subject="Scanner via OAuth2", sender="olga.oauth@acme.example")
    world.mailbox.deliver(second)
    assert world.fetch(account_id) == 1
    assert _title_exists(world.factory, "Scanner via OAuth2")
    assert len(world.provider.grants) == 1, "the cached access token was not reused"
    assert len(world.provider.introspected) == 2


def test_a_token_about_to_expire_is_not_reused(world):
    world.provider.expires_in = 30  # inside the safety margin: every login needs a new one
    account_id = world.account()
    world.mailbox.deliver(build_mail(subject="Short-lived token", sender="sl.oauth@acme.example"))
    assert world.fetch(account_id) == 1
    world.mailbox.deliver(build_mail(subject="Short-lived token 2", sender="sl.oauth@acme.example"))
    assert world.fetch(account_id) == 1
    assert len(world.provider.grants) == 2
    assert _title_exists(world.factory, "Short-lived token 2")


def test_a_refused_refresh_is_the_mailboxs_last_error_and_the_mail_stays(world):
    token = world.provider.issue_refresh_token(world.mailbox.username)
    world.provider.revoke(token)
    account_id = world.account(refresh_token=token)
    mail = build_mail(subject="Never fetched via OAuth2", sender="nf.oauth@acme.example")
    world.mailbox.deliver(mail)

    assert world.fetch(account_id) == 0

    error = world.last_error(account_id) or ""
    assert "refused the refresh token" in error
    assert "invalid_grant" in error
    assert "revoked" in error
    assert not _title_exists(world.factory, "Never fetched via OAuth2")
    assert FETCHED not in world.mailbox.flags()[mail["Message-ID"]]


def test_a_wrong_client_secret_is_shown_as_the_providers_answer(world):
    account_id = world.account(client_secret="not-the-secret")
    assert world.fetch(account_id) == 0
    assert "invalid_client" in (world.last_error(account_id) or "")


def test_a_rotated_refresh_token_replaces_the_stored_one_encrypted(world):
    world.provider.rotate = True
    original = world.provider.issue_refresh_token(world.mailbox.username)
    account_id = world.account(refresh_token=original)
    world.mailbox.deliver(build_mail(subject="Rotating token", sender="rot.oauth@acme.example"))

    assert world.fetch(account_id) == 1

    with session_scope(world.factory) as session:
        row = session.get(MailAccount, account_id)
        stored = row.oauth2_refresh_token
        raw = session.execute(
            text("SELECT oauth2_refresh_token_encrypted FROM mail_account WHERE id = :id"), {"id": account_id}
        ).scalar_one()
    assert stored != original
    assert stored in world.provider.refresh_tokens  # the provider's new one
    assert stored not in raw
    assert raw.startswith("fernet1:")

    # The old token is revoked at the provider: only the stored new one still works.
    oauth2.forget(account_id)
    world.mailbox.deliver(build_mail(subject="Rotating token 2", sender="rot.oauth@acme.example"))
    assert world.fetch(account_id) == 1
    assert world.last_error(account_id) is None
    assert _title_exists(world.factory, "Rotating token 2")


def test_an_access_token_the_imap_server_refuses_is_an_error_and_not_cached(world):
    account_id = world.account()
    world.mailbox.deliver(build_mail(subject="Token refused", sender="tr.oauth@acme.example"))
    assert world.fetch(account_id) == 1
    # The provider forgets the access token (revoked): Dovecot's introspection now says inactive.
    world.provider.access_tokens.clear()
    world.mailbox.deliver(build_mail(subject="Token refused 2", sender="tr.oauth@acme.example"))

    assert world.fetch(account_id) == 0
    assert "LoginError" in (world.last_error(account_id) or "")
    # The next run asks for a new access token instead of offering the refused one again.
    assert world.fetch(account_id) == 1
    assert len(world.provider.grants) == 2
    assert _title_exists(world.factory, "Token refused 2")
