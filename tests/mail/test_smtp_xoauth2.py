"""Outgoing SMTP with XOAUTH2: the relay accepts mail only with a valid OAuth2 access token.

``TICKETFLOW_SMTP_URL=…?oauth2_mailbox=NAME`` signs in as that mailbox with an access token
from its refresh token.  The relay is a real aiosmtpd server whose XOAUTH2 mechanism checks
the SASL string against the test's OAuth2 provider; the mail sent is the acknowledgement of
a mail received over SMTP, so the whole path (job, delivery, sender) runs as in production.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.db import session_scope
from desk.actor import SYSTEM
from desk.outbox.models import OutboxMessage
from mail import oauth2
from mail.accounts import create_account
from tests.mail.conftest import build_mail, free_port, send, ticket_of_raw
from tests.mail.oauth2_provider import Provider, run_provider


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The OAuth2 provider on a thread."""
    yield from run_provider()


@dataclass
class XOAuth2Relay:
    """An SMTP relay that requires AUTH XOAUTH2 and records who signed in for each mail."""

    provider: Provider
    received: list[tuple[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # noqa: N802
        """RFC-less but documented by Google and Microsoft: user=…^Aauth=Bearer …^A^A."""
        initial = args[1] if len(args) > 1 else ""
        decoded = base64.b64decode(initial).decode() if initial else ""
        fields = dict(part.split("=", 1) for part in decoded.split("\x01") if "=" in part)
        user, bearer = fields.get("user", ""), fields.get("auth", "")
        token = bearer.removeprefix("Bearer ")
        if bearer.startswith("Bearer ") and self.provider.access_tokens.get(token) == user:
            return AuthResult(success=True, auth_data=user)
        self.refused.append(decoded)
        # As Gmail does: an error challenge (JSON), the client's empty answer, then 535.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((session.auth_data, envelope))
        return "250 OK"


@pytest.fixture
def xoauth2_relay(provider: Provider) -> Iterator[tuple[XOAuth2Relay, int]]:
    """The relay on a free port; mail without a successful AUTH is refused (530)."""
    provider.grants.clear()
    handler = XOAuth2Relay(provider)
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False
    )
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def outgoing(
    mail_env: sessionmaker[Session],
    provider: Provider,
    xoauth2_relay: tuple[XOAuth2Relay, int],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str], str]:
    """Make an OAuth2 mailbox with ``refresh_token`` the sender of all outgoing mail."""

    def configure(refresh_token: str) -> str:
        name = f"outgoing-{os.urandom(4).hex()}"
        with session_scope(mail_env) as session:
            account = create_account(
                session,
                actor=SYSTEM,
                name=name,
                host="outlook.office365.com",
                username="support@helpdesk.example",
                auth_method="oauth2",
                oauth2_token_url=provider.token_url,
                oauth2_client_id=provider.client_id,
                oauth2_client_secret=provider.client_secret,
                oauth2_refresh_token=refresh_token,
                oauth2_scope="https://outlook.office.com/SMTP.Send offline_access",
            )
            account.active = False  # sends only; nothing to fetch
            oauth2.forget(account.id)
        port = xoauth2_relay[1]
        monkeypatch.setenv("TICKETFLOW_SMTP_URL", f"smtp://127.0.0.1:{port}?oauth2_mailbox={name}")
        config.get_settings.cache_clear()
        return name

    return configure


def _outbox_row(factory: sessionmaker[Session], message_id: str) -> OutboxMessage:
    with session_scope(factory) as session:
        ticket = ticket_of_raw(session, message_id)
        assert ticket is not None
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).one()
        session.expunge(row)
        return row


def test_the_acknowledgement_is_sent_with_xoauth2_as_the_mailbox(
    receiver, outgoing, provider, xoauth2_relay, mail_env, drain
):
    relay, _port = xoauth2_relay
    outgoing(provider.issue_refresh_token("support@helpdesk.example"))
    mail = build_mail(subject="Monitor flickers", sender="xo.customer@acme.example")

    send(receiver, mail)
    drain()

    [(signed_in_as, envelope)] = relay.received
    assert signed_in_as == "support@helpdesk.example"
    assert envelope.rcpt_tos == ["xo.customer@acme.example"]
    assert b"Monitor flickers" in envelope.original_content
    assert relay.refused == []
    [grant] = provider.grants
    assert grant["scope"] == "https://outlook.office.com/SMTP.Send offline_access"
    assert _outbox_row(mail_env, mail["Message-ID"]).status == "sent"


def test_a_refused_refresh_keeps_the_mail_queued_with_the_reason(
    receiver, outgoing, provider, xoauth2_relay, mail_env, drain
):
    relay, _port = xoauth2_relay
    token = provider.issue_refresh_token("support@helpdesk.example")
    provider.revoke(token)
    outgoing(token)
    mail = build_mail(subject="Mouse dead", sender="xo.refused@acme.example")

    send(receiver, mail)
    drain()

    assert relay.received == []
    row = _outbox_row(mail_env, mail["Message-ID"])
    assert row.status == "queued"  # temporary: it goes out once the mailbox is consented again
    assert "invalid_grant" in (row.last_error or "")
    assert "refused the refresh token" in (row.last_error or "")


def test_a_token_the_relay_refuses_is_a_temporary_failure(
    receiver, outgoing, provider, xoauth2_relay, mail_env, drain, monkeypatch
):
    relay, _port = xoauth2_relay
    outgoing(provider.issue_refresh_token("support@helpdesk.example"))
    real_grant = provider.grant

    def grant_unknown_token(form: dict[str, str]) -> tuple[int, dict[str, object]]:
        status, answer = real_grant(form)
        provider.access_tokens.clear()  # issued, but the relay will not know it
        return status, answer

    monkeypatch.setattr(provider, "grant", grant_unknown_token)
    mail = build_mail(subject="Keyboard dead", sender="xo.badtoken@acme.example")

    send(receiver, mail)
    drain()

    assert relay.received == []
    assert relay.refused
    assert relay.refused[0].startswith("user=support@helpdesk.example\x01auth=Bearer at-")
    row = _outbox_row(mail_env, mail["Message-ID"])
    assert row.status == "queued"  # our sign-in, not the mail, is wrong: it waits for the fix
    assert "refused our sign-in: 535" in (row.last_error or "")
