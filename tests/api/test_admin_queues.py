"""``/api/v1/admin/queues``: the queue administration use cases over the API."""

from __future__ import annotations

from sqlalchemy import select

from desk.audit import service as audit
from desk.queue.models import Queue
from desk.template.models import AutoResponse


def test_an_admin_creates_and_moves_a_queue_with_its_reject_answer(admin_api, session, queue):
    board = queue("Board")
    created = admin_api.post(
        "/admin/queues",
        json={
            "name": "Board::Sponsors",
            "group_id": board.group_id,
            "system_address": "sponsors@sportclub.example",
            "display_name": "Club Sponsors",
            "follow_up_policy": "reject",
            "automatic_answers": [{"kind": "reject", "subject": "Closed", "text": "It is closed."}],
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["name"], body["display_name"], body["sends_as"], body["follow_up_policy"]) == (
        "Board::Sponsors",
        "Club Sponsors",
        "sponsors@sportclub.example",
        "reject",
    )
    reject = session.scalars(select(AutoResponse).where(AutoResponse.queue_id == body["id"])).one()
    assert (reject.kind, reject.text) == ("reject", "It is closed.")

    moved = admin_api.patch(f"/admin/queues/{body['id']}", json={"parent_id": None, "name": "Sponsors"})
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["name"], moved.get_json()["parent_id"]) == ("Sponsors", None)
    sponsors = session.get(Queue, body["id"])
    assert sponsors is not None
    assert sponsors.display_name == "Club Sponsors"  # absent fields stay as they were
    actions = [e.action for e in audit.entries_for(session, object_type="queue", object_id=body["id"])]
    assert actions == ["update", "create"]


def test_a_reject_policy_without_a_reject_answer_is_a_field_error(admin_api, queue):
    response = admin_api.post(
        "/admin/queues",
        json={"name": "No text", "group_id": queue("Raw").group_id, "follow_up_policy": "reject"},
    )
    assert response.status_code == 422
    assert "reject_text" in response.get_json()["errors"]


def test_agents_who_are_not_administrators_get_403_before_the_body_is_read(api_as, queue):
    response = api_as("alice").post("/admin/queues", json={"name": ""})
    assert response.status_code == 403
    assert api_as("alice").patch(f"/admin/queues/{queue('Raw').id}", json={}).status_code == 403
