"""Property-based checks of the whole API against its own OpenAPI document (schemathesis).

Every operation gets a bounded number of generated requests, sent with a valid admin
token to the WSGI app on the test transaction (demo data, the default processes
deployed); none may be a server error or disagree with the documented response schema.
Deploying is left out: random BPMN would only be refused slowly, and deploy shares its
validation with ``/processes/validate``, which is included.

The schema is loaded at import from an app that only serves the spec (no database is
touched); each test then points the WSGI entry at the app on its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from core.config import get_settings
from desk.actor import SYSTEM
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


@schema.parametrize()
@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_own_contract(case, on_test_app, token_for):
    response = case.call(headers={"Authorization": f"Bearer {token_for('admin')}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
