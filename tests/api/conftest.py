"""Fixtures for the API tests: the app on the test's rolled-back transaction, and tokens.

As in ``tests/web``: requests commit to savepoints of the test's transaction, so they see
what the test flushed and the test sees what they committed; nothing survives the test.
Tokens are created with :func:`desk.agent.service.create_token` in the test session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from core.config import get_settings
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter


@pytest.fixture
def api_app(session: Session) -> Flask:
    """The whole web app (API included) on the test transaction."""
    factory = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app = create_app(get_settings(), session_factory=factory, login_limiter=InMemoryLoginLimiter())
    app.testing = True
    return app


@pytest.fixture
def client(api_app: Flask) -> FlaskClient:
    """A test client; it sends no token unless told."""
    return api_app.test_client()


@pytest.fixture
def token_for(session: Session, agent: Callable[[str], Agent]) -> Callable[[str], str]:
    """A fresh API token of a demo agent: ``token_for("alice")``."""

    def make(login: str) -> str:
        return agents.create_token(session, actor=SYSTEM, agent=agent(login), name="test")

    return make


@dataclass
class Api:
    """Requests as one agent: ``api.get("/tickets")`` (paths relative to /api/v1)."""

    client: FlaskClient
    token: str
    session: Session

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        response = self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        # The request committed to a savepoint; let the test session read the new state.
        self.session.expire_all()
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)


@pytest.fixture
def api_as(client: FlaskClient, token_for: Callable[[str], str], session: Session) -> Callable[[str], Api]:
    """``api_as("alice")``: a client speaking with alice's token."""

    def make(login: str) -> Api:
        return Api(client, token_for(login), session)

    return make


@pytest.fixture
def admin_api(api_as: Callable[[str], Api]) -> Api:
    """The administrator (every right)."""
    return api_as("admin")


@pytest.fixture
def new_ticket(
    session: Session, queue: Callable[[str], Any], customer: Callable[[str], Any]
) -> Callable[..., Ticket]:
    """Create a ticket as the system: ``new_ticket("1st level", title=…, customer=…)``."""

    def make(
        queue_name: str = "1st level",
        title: str = "Printer prints blank pages",
        email: str | None = "john.doe@acme.example",
    ) -> Ticket:
        ticket = tickets.create_ticket(
            session,
            actor=SYSTEM,
            title=title,
            queue=queue(queue_name),
            customer_user=customer(email) if email else None,
        )
        session.flush()
        return ticket

    return make


def assert_error(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the API error body with ``status`` (and ``code``)."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "message", "errors"}
    if code is not None:
        assert body["code"] == code
    return body
