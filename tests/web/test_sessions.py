"""Sessions that end: sign-out, password change, "sign out everywhere", idle and absolute limits.

A "copied cookie" is the session cookie of one test client set into another, as an
attacker who read it from a shared computer or a proxy log would use it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.config import Settings, get_settings
from core.errors import ConfigurationError
from desk.agent import service as agent_service
from desk.agent.models import AgentSession
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter

COOKIE = "ticketflow_session"
_TEST_ENV = {
    key: value
    for key, value in os.environ.items()
    if key in {"TICKETFLOW_ENV", "TICKETFLOW_VAR_DIR", "TICKETFLOW_DATABASE_URL", "TICKETFLOW_SECRET_KEY"}
}


def opens_inbox(client: FlaskClient) -> bool:
    """True when /inbox opens; False when it sends the browser to the sign-in page."""
    response = client.get("/inbox")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def sign_out(client: FlaskClient) -> None:
    response = client.post("/logout", data={"csrf_token": csrf_token_in(client.get("/").text)})
    assert response.status_code == 302


def test_a_copied_cookie_opens_nothing_after_sign_out(app, client):
    sign_in(client, "alice")
    thief = copy_of(app, client)
    assert opens_inbox(thief)

    sign_out(client)

    assert not opens_inbox(thief)
    assert not opens_inbox(client)


def test_changing_the_password_ends_every_session(app, client, session, agent):
    sign_in(client, "alice")
    other = app.test_client()
    sign_in(other, "alice", address="192.0.2.20")

    alice = agent("alice")
    agent_service.set_password(session, actor=alice, agent=alice, password="a-brand-new-password")
    session.flush()

    assert not opens_inbox(client)
    assert not opens_inbox(other)
    assert sign_in(client, "alice", "a-brand-new-password").status_code == 302
    assert opens_inbox(client)


def test_sign_out_everywhere_ends_the_agents_other_sessions(app, client):
    sign_in(client, "alice", address="192.0.2.21")
    laptop = app.test_client()
    sign_in(laptop, "alice", address="192.0.2.22")
    bob = app.test_client()
    sign_in(bob, "bob")

    account = client.get("/account")
    assert account.status_code == 200
    assert "192.0.2.21" in account.text
    assert "192.0.2.22" in account.text
    assert "this browser" in account.text
    response = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_token_in(account.text)})

    assert response.status_code == 302
    assert "You are signed out on every device." in client.get("/login").text
    assert not opens_inbox(laptop)
    assert not opens_inbox(client)
    assert opens_inbox(bob)  # only alice's sessions


def test_the_header_links_to_the_account_page(client):
    sign_in(client, "alice")

    assert 'href="/account"' in client.get("/").text


def test_the_session_id_rotates_at_sign_in(app, client, session):
    before = app.test_client()
    before.get("/login")
    sign_in(client, "alice")
    first = copy_of(app, client)
    sign_out(client)

    sign_in(client, "alice")

    assert opens_inbox(client)
    assert not opens_inbox(first)  # the cookie of the earlier sign-in
    assert client.get_cookie(COOKIE).value != first.get_cookie(COOKIE).value
    # Two sign-ins, two rows: only the newest is live.
    rows = session.scalars(select(AgentSession).join(AgentSession.agent).order_by(AgentSession.id)).all()
    assert [row.revoked_at is None for row in rows][-1]
    assert len({row.token_hash for row in rows}) == len(rows)


def test_a_session_ends_after_the_idle_timeout(client, time_machine):
    idle = get_settings().session_idle
    time_machine.move_to(datetime.now(UTC), tick=False)
    sign_in(client, "alice")

    time_machine.shift(idle - timedelta(minutes=1))
    assert opens_inbox(client)  # used in time: the idle clock starts again
    time_machine.shift(idle - timedelta(minutes=1))
    assert opens_inbox(client)
    time_machine.shift(idle + timedelta(minutes=1))

    assert not opens_inbox(client)


def test_a_session_ends_after_its_lifetime_however_busy(client, time_machine):
    settings = get_settings()
    step = settings.session_idle - timedelta(minutes=5)
    time_machine.move_to(datetime.now(UTC), tick=False)
    sign_in(client, "alice")

    used = timedelta()
    while used + step < settings.session_lifetime:
        time_machine.shift(step)
        used += step
        assert opens_inbox(client)
    time_machine.shift(step)

    assert not opens_inbox(client)


def test_last_seen_is_written_at_most_once_a_minute(client, session, time_machine):
    time_machine.move_to(datetime.now(UTC), tick=False)
    sign_in(client, "alice")
    row = session.scalars(select(AgentSession).order_by(AgentSession.id.desc())).first()
    assert row is not None
    signed_in_at = row.last_seen_at

    time_machine.shift(timedelta(seconds=30))
    opens_inbox(client)
    session.refresh(row)
    assert row.last_seen_at == signed_in_at

    time_machine.shift(timedelta(seconds=31))
    opens_inbox(client)
    session.refresh(row)
    assert row.last_seen_at > signed_in_at


def test_the_idle_timeout_is_configurable(web_session_factory, time_machine):
    settings = Settings.from_env(
        {"TICKETFLOW_SESSION_IDLE_MINUTES": "5", "TICKETFLOW_SESSION_MAX_HOURS": "1", **_TEST_ENV}
    )
    assert (settings.session_idle, settings.session_lifetime) == (timedelta(minutes=5), timedelta(hours=1))
    app = create_app(settings, session_factory=web_session_factory, login_limiter=InMemoryLoginLimiter())
    client = app.test_client()
    time_machine.move_to(datetime.now(UTC), tick=False)
    sign_in(client, "alice")

    time_machine.shift(timedelta(minutes=6))

    assert not opens_inbox(client)


@pytest.mark.parametrize("name", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"])
@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_session_limit_that_is_not_a_positive_number_is_refused(name, value):
    with pytest.raises(ConfigurationError, match=f"TICKETFLOW_{name}"):
        Settings.from_env({f"TICKETFLOW_{name}": value, **_TEST_ENV})
