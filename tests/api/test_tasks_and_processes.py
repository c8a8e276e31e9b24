"""A ticket created through the API runs its process; its tasks are worked through the API."""

from __future__ import annotations

import json

import pytest

from desk.actor import SYSTEM, actor_label
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance
from tests.api.conftest import assert_error


def test_create_claim_and_complete_triage_moves_the_process_like_the_engine(api_as, session, queue, customer):
    definitions.deploy_directory(session, actor=SYSTEM)
    secretary = api_as("secretary")
    created = secretary.post(
        "/tickets",
        json={
            "title": "Screen flickers",
            "queue_id": queue("Raw").id,
            "customer_user_id": customer("john.doe@acme.example").id,
            "body": "John called about his flickering screen.",
        },
    )
    assert created.status_code == 201, created.text
    ticket_id = created.get_json()["id"]
    instance = session.query(ProcessInstance).filter_by(ticket_id=ticket_id).one()
    assert instance.process_version.process_id == "ticket_handling"

    inbox = secretary.get("/tasks", query_string={"queue_id": queue("Raw").id}).get_json()
    triage = next(t for t in inbox if t["ticket_id"] == ticket_id)
    assert triage["name"] == "Triage"
    assert secretary.get(f"/tickets/{ticket_id}/tasks").get_json() == [triage]
    # alice holds no rw on Raw: not her task.
    assert_error(api_as("alice").post(f"/tasks/{triage['id']}/claim"), 403)

    claimed = secretary.post(f"/tasks/{triage['id']}/claim")
    assert claimed.get_json()["claimed_by_id"] is not None
    assert secretary.get("/tasks", query_string={"scope": "mine"}).get_json()[0]["id"] == triage["id"]
    # The form is checked by the engine: a move needs its target queue.
    bad = secretary.post(f"/tasks/{triage['id']}/complete", json={"data": {"decision": "move"}})
    assert "target_queue" in str(assert_error(bad, 422)["errors"])

    done = secretary.post(
        f"/tasks/{triage['id']}/complete", json={"data": {"decision": "move", "target_queue": "2nd level"}}
    )
    assert done.status_code == 200, done.text
    body = done.get_json()
    assert body["status"] == "running"
    assert [t["name"] for t in body["open_tasks"]] == ["Work"]
    assert secretary.get(f"/tickets/{ticket_id}").get_json()["queue"] == "2nd level"
    row = session.get(HumanTask, triage["id"])
    assert (row.state, row.completed_by_id) == ("completed", claimed.get_json()["claimed_by_id"])
    # Done is done: a second completion names who did it.
    again = secretary.post(f"/tasks/{triage['id']}/complete", json={"data": {"decision": "work"}})
    assert_error(again, 409, "task_already_done")
    work = body["open_tasks"][0]["id"]
    bob = api_as("bob")
    assert bob.post(f"/tasks/{work}/claim").status_code == 200
    assert bob.post(f"/tasks/{work}/release").get_json()["claimed_by_id"] is None


def test_process_definitions_list_read_validate_and_deploy(api_as, admin_api, session):
    definitions.deploy_directory(session, actor=SYSTEM)
    versions = admin_api.get("/processes", query_string={"process_id": "consultation"}).get_json()
    assert [v["process_id"] for v in versions] == ["consultation"]
    bpmn = admin_api.get(f"/processes/versions/{versions[0]['id']}/bpmn")
    assert bpmn.mimetype == "application/xml"
    assert "<bpmn:definitions" in bpmn.text or "definitions" in bpmn.text

    text = (definitions.DEFAULT_BPMN_DIR / "consultation.bpmn").read_text()
    ok = admin_api.post(
        "/processes/validate",
        json={"bpmn_xml": text, "forms": definitions.read_forms(definitions.DEFAULT_BPMN_DIR / "forms")},
    )
    assert ok.get_json() == {"valid": True, "process_ids": ["consultation"], "problems": []}
    broken = admin_api.post("/processes/validate", json={"bpmn_xml": "<nope/>"}).get_json()
    assert broken["valid"] is False
    assert broken["problems"]

    assert_error(api_as("alice").post("/processes/deploy", json={"bpmn_xml": text}), 403)
    forms = definitions.read_forms(definitions.DEFAULT_BPMN_DIR / "forms")
    deployed = admin_api.post("/processes/deploy", json={"bpmn_xml": text, "forms": forms})
    assert deployed.status_code == 201, deployed.text
    assert [v["process_id"] for v in deployed.get_json()] == ["consultation"]
    again = admin_api.post("/processes/deploy", json={"bpmn_xml": text, "forms": forms})
    assert again.status_code == 200, again.text  # identical content: unchanged, no new version
    assert again.get_json() == deployed.get_json()
    assert_error(admin_api.post("/processes/deploy", json={"bpmn_xml": "<nope/>"}), 422, "invalid_process")


@pytest.fixture
def triage(session, new_ticket):
    """The open Triage task of a new ticket in Raw (ticket handling started)."""
    definitions.deploy_directory(session, actor=SYSTEM)
    ticket = new_ticket("Raw", title="Confidential: the CEO's laptop")
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket)
    session.flush()
    return session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()


def task_requests(task_id: int) -> list[tuple[str, str, dict]]:
    return [
        ("GET", f"/tasks/{task_id}", {}),
        ("POST", f"/tasks/{task_id}/claim", {}),
        ("POST", f"/tasks/{task_id}/release", {}),
        ("POST", f"/tasks/{task_id}/complete", {"json": {"data": {"decision": "work"}}}),
    ]


def assert_reveals_nothing(body: dict, task: HumanTask) -> None:
    text = json.dumps(body)
    for secret in (task.name, task.ticket.number, task.ticket.title, "Sam", "secretary"):
        assert secret not in text, body


def test_an_agent_who_cannot_read_the_ticket_gets_404_from_every_task_endpoint(api_as, session, triage):
    trainee = api_as("trainee")  # reads 1st level only, not Raw
    for method, path, kwargs in task_requests(triage.id):
        body = assert_error(trainee.request(method, path, **kwargs), 404, "not_found")
        assert_reveals_nothing(body, triage)
    # Also when the task is claimed: releasing it is no way to learn about it.
    api_as("secretary").post(f"/tasks/{triage.id}/claim")
    assert_reveals_nothing(assert_error(trainee.post(f"/tasks/{triage.id}/release"), 404), triage)
    session.refresh(triage)
    assert triage.claimed_by_id is not None
    assert triage.state == "open"


@pytest.mark.parametrize("login", ["alice", "observer"])
def test_a_reader_who_is_no_candidate_gets_403_without_the_task(api_as, session, triage, login):
    reader = api_as(login)  # alice reads Raw without rw; the observer reads everything
    for method, path, kwargs in task_requests(triage.id):
        body = assert_error(reader.request(method, path, **kwargs), 403, "permission_denied")
        assert_reveals_nothing(body, triage)
    api_as("secretary").post(f"/tasks/{triage.id}/claim")
    body = assert_error(reader.post(f"/tasks/{triage.id}/release"), 403)
    assert_reveals_nothing(body, triage)
    session.refresh(triage)
    assert triage.claimed_by_id is not None
    assert triage.state == "open"


def test_a_candidate_reads_the_task_and_a_second_claimer_gets_409_naming_the_holder(api_as, triage, agent):
    secretary, admin = api_as("secretary"), api_as("admin")
    assert secretary.get(f"/tasks/{triage.id}").get_json()["name"] == "Triage"
    assert secretary.post(f"/tasks/{triage.id}/claim").status_code == 200
    # Claiming again is harmless; another candidate loses with the holder's name.
    assert secretary.post(f"/tasks/{triage.id}/claim").status_code == 200
    lost = assert_error(admin.post(f"/tasks/{triage.id}/claim"), 409, "task_claimed")
    assert lost["message"] == f"this task is already claimed by {actor_label(agent('secretary'))}"
    done = assert_error(
        admin.post(f"/tasks/{triage.id}/complete", json={"data": {"decision": "work"}}), 409, "task_claimed"
    )
    assert actor_label(agent("secretary")) in done["message"]
    # A lead with rw on the queue takes back the claim; then the task is theirs to claim.
    assert admin.post(f"/tasks/{triage.id}/release").get_json()["claimed_by_id"] is None
    assert admin.post(f"/tasks/{triage.id}/claim").get_json()["claimed_by_id"] == agent("admin").id
