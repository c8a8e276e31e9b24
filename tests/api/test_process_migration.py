"""``POST /api/v1/tickets/{id}/process/migrate``: admins move a waiting instance to a newer version."""

from __future__ import annotations

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.history.models import History
from engine import definitions, runtime
from tests.api.conftest import assert_error
from tests.engine.migration_diagrams import V1, V2, V3


def test_an_admin_moves_the_waiting_instance_and_a_missing_step_is_named(api_as, session, new_ticket):
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V1)
    ticket = new_ticket("1st level")
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="repair")
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V2)
    definitions.deploy(session, actor=SYSTEM, bpmn_xml=V3)
    session.flush()
    admin = api_as("admin")
    path = f"/tickets/{ticket.id}/process/migrate"

    # Version 3 dropped the step the instance waits at: 409, named; nothing changed.
    refused = assert_error(admin.post(path, json={"version": 3}), 409)
    assert refused["message"] == (
        "version 3 of repair has no step for Diagnose (diagnose); the instance stays on version 1"
    )
    assert_error(admin.post(path, json={"version": 1}), 422)
    assert_error(api_as("alice").post(path, json={"version": 2}), 403)
    assert_error(admin.post(f"/tickets/{2**31}/process/migrate", json={"version": 2}), 404)

    moved = admin.post(path, json={"version": 2})
    assert moved.status_code == 200, moved.text
    body = moved.get_json()
    assert (body["id"], body["process_version"], body["status"]) == (instance.id, 2, "running")
    assert [t["name"] for t in body["open_tasks"]] == ["Diagnose"]
    (task,) = body["open_tasks"]
    done = admin.post(f"/tasks/{task['id']}/complete", json={"data": {}})
    assert done.status_code == 200, done.text
    assert [t["name"] for t in done.get_json()["open_tasks"]] == ["Approve the cost"]
    assert session.scalars(
        select(History.actor_name).where(History.ticket_id == ticket.id, History.type == "ProcessMigrate")
    ).all() == ["Ada Admin (admin)"]
