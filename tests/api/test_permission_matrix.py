"""The read-only observer may read through the API but every write endpoint is 403."""

from __future__ import annotations

import pytest

from desk.actor import SYSTEM
from engine import definitions, runtime
from engine.models import HumanTask
from tests.api.conftest import assert_error

BPMN_PATH = definitions.DEFAULT_BPMN_DIR / "consultation.bpmn"

# (method, path template, JSON body or None, multipart data or None)
WRITES = [
    ("POST", "/tickets", {"title": "x", "queue_id": "{raw}", "body": "y"}, None),
    ("PATCH", "/tickets/{ticket}", {"priority": 1}, None),
    ("PATCH", "/tickets/{ticket}", {"queue_id": "{raw}"}, None),
    ("PATCH", "/tickets/{ticket}", {"state": "open"}, None),
    ("PATCH", "/tickets/{ticket}", {"owner_id": "{admin}"}, None),
    ("PATCH", "/tickets/{ticket}", {"title": "new"}, None),
    ("POST", "/tickets/{ticket}/lock", None, None),
    ("POST", "/tickets/{ticket}/unlock", None, None),
    ("POST", "/tickets/{ticket}/merge", {"into_ticket_id": "{other}"}, None),
    ("POST", "/tickets/{ticket}/links", {"target_ticket_id": "{other}"}, None),
    ("POST", "/tickets/{ticket}/articles", {"kind": "note", "body": "x"}, None),
    ("POST", "/tickets/{ticket}/articles", {"kind": "reply", "body": "x"}, None),
    ("POST", "/tickets/{ticket}/articles/upload", None, {"body": "x"}),
    ("POST", "/tickets/{ticket}/attachments", None, {}),
    ("POST", "/tasks/{task}/claim", None, None),
    ("POST", "/tasks/{task}/release", None, None),
    ("POST", "/tasks/{task}/complete", {"data": {"decision": "work"}}, None),
    ("POST", "/processes/validate", {"bpmn_xml": "{bpmn}"}, None),
    ("POST", "/processes/deploy", {"bpmn_xml": "{bpmn}"}, None),
]


@pytest.fixture
def world(session, new_ticket, queue, agent):
    definitions.deploy_directory(session, actor=SYSTEM)
    ticket = new_ticket("Raw")
    other = new_ticket("Raw")
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket)
    task = session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    # Claimed by someone, so that releasing it is a real change.
    runtime.claim(session, actor=agent("secretary"), task_id=task.id)
    session.flush()
    return {
        "ticket": ticket.id,
        "other": other.id,
        "task": task.id,
        "raw": queue("Raw").id,
        "admin": agent("admin").id,
        "bpmn": BPMN_PATH.read_text(),
    }


def _fill(value, world):
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in world:
        return world[value[1:-1]]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "form"), WRITES, ids=[f"{m} {p} {b}" for m, p, b, _ in WRITES]
)
def test_the_observer_may_not_write(api_as, world, method, path, body, form):
    import io

    observer = api_as("observer")
    kwargs = {}
    if body is not None:
        kwargs["json"] = _fill(body, world)
    if form is not None:
        kwargs["data"] = {**form, "files": (io.BytesIO(b"hello"), "hello.txt")}
        kwargs["content_type"] = "multipart/form-data"
    response = observer.request(method, path.format(**world), **kwargs)
    assert_error(response, 403, "permission_denied")


def test_the_observer_may_read(api_as, world):
    observer = api_as("observer")
    for path in (
        f"/tickets/{world['ticket']}",
        f"/tickets/{world['ticket']}/articles",
        f"/tickets/{world['ticket']}/history",
        "/tickets",
        "/queues",
    ):
        assert observer.get(path).status_code == 200, path
    assert observer.get("/tasks").get_json() == []
