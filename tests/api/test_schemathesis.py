"""Property-based checks of the whole API against its own OpenAPI document (schemathesis).

Every operation gets a bounded number of generated requests, sent to the WSGI app on the
test transaction (demo data, the default processes deployed) with a valid token of the
administrator, of the read-only observer and of a customer user (John Doe); none may be a
server error or disagree with the documented response schema.  The stateful tests chain
calls along the links schemathesis infers from the spec (``POST /tickets`` → ``GET
/tickets/{ticket_id}`` → ``POST /tickets/{ticket_id}/articles`` …), so real ids reach the
operations that need them, as each of the three tokens.  Deploying is left out: random BPMN
would only be refused slowly, and deploy shares its validation with ``/processes/validate``,
which is included.

The schema is loaded at import from an app that only serves the spec (no database is
touched); each test then points the WSGI entry at the app on its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from core.config import get_settings
from desk.actor import SYSTEM
from desk.agent import service as agents
from engine import definitions
from web import create_app


class _Entry:
    """A WSGI app that forwards to the app of the running test."""

    def __init__(self) -> None:
        self.app: Flask = create_app(get_settings())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.app(environ, start_response)


ENTRY = _Entry()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", ENTRY).exclude(
    path="/api/v1/processes/deploy"
)


@pytest.fixture
def on_test_app(api_app: Flask, session) -> Iterator[None]:
    definitions.deploy_directory(session, actor=SYSTEM)
    session.flush()
    spec_app, ENTRY.app = ENTRY.app, api_app
    try:
        yield
    finally:
        ENTRY.app = spec_app


CHECKS = [not_a_server_error, response_schema_conformance]
TOKENS = ["admin", "observer", "customer"]


@pytest.fixture
def bearer_for(session, token_for, customer) -> Callable[[str], dict[str, str]]:
    """``bearer_for("observer")``: the Authorization header of a fresh token of that user;
    ``"customer"`` is the customer user John Doe."""

    made: dict[str, dict[str, str]] = {}

    def make(who: str) -> dict[str, str]:
        if who not in made:
            if who == "customer":
                john = customer("john.doe@acme.example")
                token = agents.create_customer_token(
                    session, actor=SYSTEM, customer=john, name="schemathesis"
                )
            else:
                token = token_for(who)
            made[who] = {"Authorization": f"Bearer {token}"}
        return made[who]

    return make


@schema.parametrize()
@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_own_contract(case, on_test_app, bearer_for):
    response = case.call(headers=bearer_for("admin"))
    case.validate_response(response, checks=CHECKS)


# Most of what these tokens send is refused (403/404) quickly and the same way every time:
# fewer examples find as much, and each example is sent with both tokens.
@schema.parametrize()
@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_contract_holds_for_observers_and_customers(case, on_test_app, bearer_for):
    for who in ("observer", "customer"):
        response = case.call(headers=bearer_for(who))
        case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("token", TOKENS)
def test_chained_calls_keep_the_contract(on_test_app, token, bearer_for):
    # The links come from the spec (POST /tickets names its next steps) and from what
    # schemathesis infers (ids in responses, path parameters): without them the stateful run
    # would test nothing.
    workflow = schema.as_state_machine()
    transitions = workflow._transitions.operations  # no public view of the links
    assert {link.target.label for link in transitions["POST /api/v1/tickets"].outgoing} >= {
        "GET /api/v1/tickets/{ticket_id}",
        "POST /api/v1/tickets/{ticket_id}/articles",
    }

    bearer = bearer_for(token)

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": bearer}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kw: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    run_settings = settings(
        max_examples=8,
        stateful_step_count=6,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        Workflow.run(settings=run_settings)
    except FlakyStrategyDefinition:
        # The chain draws its next step from the app's answers (new ids, new links), and the
        # database keeps what earlier examples created: replaying an example can then draw
        # differently, which Hypothesis reports as flaky data generation, not as a failure
        # of the API.  One fresh run decides; a real contract failure fails it again.
        Workflow.run(settings=run_settings)
