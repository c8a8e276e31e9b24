"""Token authentication, CSRF exemption and the one error body."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import ApiToken
from desk.demo import DEMO_PASSWORD
from tests.api.conftest import assert_error


def test_without_a_token_the_api_answers_401_with_the_error_body(client):
    response = client.get("/api/v1/tickets")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic YWRtaW46eA==", "Bearer ", "tf_abc"])
def test_a_wrong_or_malformed_token_is_401(client, header):
    assert_error(client.get("/api/v1/tickets", headers={"Authorization": header}), 401, "unauthorized")


def test_revoked_and_expired_tokens_are_refused(client, session, agent):
    alice = agent("alice")
    revoked = agents.create_token(session, actor=SYSTEM, agent=alice)
    row = session.query(ApiToken).order_by(ApiToken.id.desc()).first()
    agents.revoke_token(session, actor=SYSTEM, token_id=row.id)
    expired = agents.create_token(
        session, actor=SYSTEM, agent=alice, expires_at=utcnow() - timedelta(seconds=1)
    )
    for token in (revoked, expired):
        response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401, "unauthorized")


def test_a_signed_in_browser_session_is_not_an_api_login(client, token_for):
    page = client.get("/login")
    assert page.status_code == 200
    import re

    csrf = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text).group(1)
    signed_in = client.post("/login", data={"login": "admin", "password": DEMO_PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code in (302, 303)
    assert_error(client.get("/api/v1/tickets"), 401)


def test_token_requests_need_no_csrf_token(admin_api, new_ticket):
    ticket = new_ticket()
    response = admin_api.post(f"/tickets/{ticket.id}/lock")
    assert response.status_code == 200
    assert response.get_json()["locked_by"] == "admin"


def test_malformed_json_is_400(admin_api):
    response = admin_api.post("/tickets", data="{not json", content_type="application/json")
    assert_error(response, 400, "bad_request")


def test_schema_violations_are_422_with_field_errors(admin_api):
    response = admin_api.post("/tickets", json={"title": "", "queue_id": "x", "unknown": 1})
    body = assert_error(response, 422, "validation_error")
    assert {"title", "queue_id", "body", "unknown"} <= set(body["errors"])


def test_service_validation_errors_keep_their_fields(admin_api, new_ticket):
    ticket = new_ticket()
    response = admin_api.patch(f"/tickets/{ticket.id}", json={"state": "pending reminder"})
    body = assert_error(response, 422)
    assert "pending_until" in body["errors"]


def test_unknown_paths_and_methods_under_the_api_are_json(admin_api):
    assert_error(admin_api.get("/no-such-thing"), 404, "not_found")
    response = admin_api.request("DELETE", "/tickets/1")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_huge_ids_are_404_not_a_server_error(admin_api):
    assert_error(admin_api.get(f"/tickets/{2**40}"), 404)
    assert_error(admin_api.post(f"/tasks/{2**40}/claim"), 404)


def test_nul_characters_are_a_validation_error(admin_api, queue):
    response = admin_api.post("/tickets", json={"title": "a\x00b", "queue_id": queue("Raw").id, "body": "x"})
    assert "title" in assert_error(response, 422)["errors"]
