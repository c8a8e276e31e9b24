"""Fixtures for the web tests: an app whose requests share the test's rolled-back transaction.

The app's session factory is bound to the connection of the ``session`` fixture with
``join_transaction_mode="create_savepoint"``: each request's commit releases a savepoint
and its rollback returns to one, while the outer transaction is rolled back after the
test.  So requests see data the test flushed, the test sees what requests committed, and
nothing survives the test.  CSRF protection stays on: helpers read the token from pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from core.config import get_settings
from desk.demo import DEMO_PASSWORD
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter, LoginLimiter

_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF_FIELD.search(html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


@pytest.fixture
def web_session_factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection: requests commit to savepoints of its transaction."""
    return sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def make_app(web_session_factory: sessionmaker[Session]) -> Callable[..., Flask]:
    """Build an app on the test transaction, optionally with a given login limiter."""

    def build(login_limiter: LoginLimiter | None = None) -> Flask:
        app = create_app(
            get_settings(),
            session_factory=web_session_factory,
            login_limiter=login_limiter or InMemoryLoginLimiter(),
        )
        # Unexpected exceptions fail the test instead of becoming a 500 page.
        app.testing = True
        return app

    return build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The web app with an in-memory login limiter of its own."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser: keeps cookies between requests."""
    return app.test_client()


LoginFunc = Callable[..., TestResponse]


def sign_in(
    client: FlaskClient,
    login: str,
    password: str = DEMO_PASSWORD,
    *,
    next_url: str | None = None,
    address: str = "127.0.0.1",
) -> TestResponse:
    """Open the sign-in page and submit it, as a browser would (with the CSRF token)."""
    query = {"next": next_url} if next_url is not None else {}
    page = client.get("/login", query_string=query, environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/login",
        query_string=query,
        data={"login": login, "password": password, "csrf_token": csrf_token_in(page.text)},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def login(client: FlaskClient) -> LoginFunc:
    """Sign ``client`` in: ``login("alice")``; returns the response to the form."""

    def do(login: str, password: str = DEMO_PASSWORD, **kwargs: str) -> TestResponse:
        return sign_in(client, login, password, **kwargs)

    return do
