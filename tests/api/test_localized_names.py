"""``name_localized``: the API's task lists give each task's name in the request's language."""

from __future__ import annotations

from desk.actor import SYSTEM
from engine import definitions, runtime
from flows import tasks as task_flows
from tests.web.test_localized import german

__all__ = ["german"]


def _open_task(session, new_ticket):
    ticket = new_ticket()
    definitions.deploy_directory(session, actor=SYSTEM)
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket)
    task = task_flows.open_tasks_of(session, instance=instance)[0]
    session.flush()
    return ticket, task


def test_the_task_lists_name_each_task_in_the_requested_language(session, new_ticket, api_as, agent, german):
    german("Triage", "Sichtung")
    ticket, task = _open_task(session, new_ticket)
    assert task.name == "Triage"
    api = api_as("admin")

    inbox = api.get("/tasks", headers={"Accept-Language": "de"})
    assert inbox.status_code == 200, inbox.get_data(as_text=True)
    (listed,) = [t for t in inbox.get_json() if t["id"] == task.id]
    assert (listed["name"], listed["name_localized"]) == ("Triage", "Sichtung")
    on_ticket = api.get(f"/tickets/{ticket.id}/tasks", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert [(t["name"], t["name_localized"]) for t in on_ticket.get_json()] == [("Triage", "Sichtung")]
    one = api.get(f"/tasks/{task.id}", headers={"Accept-Language": "de"}).get_json()
    assert one["name_localized"] == "Sichtung"

    # No header: the token's agent's own language; a header wins over it.
    assert [t["name_localized"] for t in api.get(f"/tickets/{ticket.id}/tasks").get_json()] == ["Triage"]
    agent("admin").language = "de"
    session.flush()
    assert [t["name_localized"] for t in api.get(f"/tickets/{ticket.id}/tasks").get_json()] == ["Sichtung"]
    english = api.get(f"/tickets/{ticket.id}/tasks", headers={"Accept-Language": "en"}).get_json()
    assert [t["name_localized"] for t in english] == ["Triage"]
    # A language the product does not speak falls back to the agent's.
    other = api.get(f"/tickets/{ticket.id}/tasks", headers={"Accept-Language": "fr"}).get_json()
    assert [t["name_localized"] for t in other] == ["Sichtung"]


def test_the_openapi_document_describes_name_localized(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    task = spec["components"]["schemas"]["Task"]
    assert "name_localized" in task["required"]
    assert "request's language" in task["properties"]["name_localized"]["description"]
