"""Fixtures for the use-case tests: the web UI and the API on one app, and ticket factories.

A parity test performs one use case through two channels on two equal tickets and compares
what a user would notice: the ticket, its articles, history, outbox and composed mail,
process messages and inbox tasks (:func:`tests.flows.rows.snapshot`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from core.config import get_settings
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket.models import Ticket
from engine import definitions
from engine.models import ProcessVersion
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from tests.api.conftest import Api
from tests.web.conftest import csrf_token_in, sign_in
from web import create_app
from web.auth.limiter import InMemoryLoginLimiter


@pytest.fixture
def deployed(session: Session) -> list[ProcessVersion]:
    """The default processes, deployed as at installation."""
    return definitions.deploy_directory(session, actor=SYSTEM)


@pytest.fixture
def app(session: Session) -> Flask:
    """The whole app (web UI and API) on the test's rolled-back transaction."""
    factory = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app = create_app(get_settings(), session_factory=factory, login_limiter=InMemoryLoginLimiter())
    app.testing = True
    return app


class Browser:
    """An agent in the web UI: posts forms with the CSRF token of the page they are on."""

    def __init__(self, client: FlaskClient, session: Session) -> None:
        self.client = client
        self.session = session

    def post_form(self, page: str, action: str, **data: Any) -> TestResponse:
        html = self.client.get(page).text
        response = self.client.post(action, data={"csrf_token": csrf_token_in(html), **data})
        self.session.expire_all()
        return response

    def action(self, ticket: Ticket, name: str, **data: Any) -> TestResponse:
        """Submit the ticket view's action form ``name``."""
        return self.post_form(f"/tickets/{ticket.id}", f"/tickets/{ticket.id}/{name}", **data)


@pytest.fixture
def browser(app: Flask, session: Session) -> Callable[[str], Browser]:
    """``browser("alice")``: a signed-in web client."""

    def make(login: str) -> Browser:
        client = app.test_client()
        assert sign_in(client, login).status_code == 302
        return Browser(client, session)

    return make


@pytest.fixture
def api(app: Flask, session: Session, agent: Callable[[str], Any]) -> Callable[[str], Api]:
    """``api("alice")``: an API client with a fresh token of that agent."""

    def make(login: str) -> Api:
        token = agents.create_token(session, actor=SYSTEM, agent=agent(login), name="test")
        return Api(app.test_client(), token, session)

    return make


@pytest.fixture
def customer_api(app: Flask, session: Session) -> Callable[[CustomerUser], Api]:
    """``customer_api(customer_user)``: an API client with that customer's token."""

    def make(customer: CustomerUser) -> Api:
        token = agents.create_customer_token(session, actor=SYSTEM, customer=customer, name="test")
        return Api(app.test_client(), token, session)

    return make


@pytest.fixture
def mail_ticket(
    session: Session, queue: Callable[[str], Queue], customer: Callable[[str], CustomerUser]
) -> Callable[..., Ticket]:
    """A factory: a ticket opened by the customer's mail, as the mail gateway opens it."""

    def make(
        queue_name: str = "1st level",
        title: str = "Printer prints blank pages",
        email: str = "john.doe@acme.example",
        body: str = "Since this morning every page comes out blank.",
    ) -> Ticket:
        who = customer(email)
        opened = open_ticket(
            session,
            actor=SYSTEM,
            queue=queue(queue_name),
            title=title,
            customer_user=who,
            first=ArticleDraft(
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject=title,
                body_text=body,
                from_addr=who.email,
                to_addr="support@example.com",
            ),
        )
        session.flush()
        return opened.ticket

    return make
