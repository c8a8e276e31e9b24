"""Every write endpoint of the OpenAPI spec answers a read-only observer 403, whatever the body.

The observer's token is sent with a body that fails validation; the answer must be the
permission error, not the 422 that would describe the body.  The trainee, who may not merge,
is told 403 for a merge that breaks a rule too.
"""

from __future__ import annotations

import re

import pytest

from desk.actor import SYSTEM
from desk.article import service as articles
from engine import definitions, runtime
from flows import tasks as task_flows
from tests.api.conftest import assert_error

WRITE_METHODS = ("post", "put", "patch", "delete")
INVALID_BODIES = [{"title": "", "priority": 99, "unknown": [[[]]]}, [], "nonsense"]


@pytest.fixture
def ids(session, new_ticket):
    """Real ids for every path parameter (a ticket, its article, an open task)."""
    ticket = new_ticket()
    article = articles.add_article(session, actor=SYSTEM, ticket=ticket, channel="email", body_text="hi")
    definitions.deploy_directory(session, actor=SYSTEM)
    instance = runtime.start(session, actor=SYSTEM, ticket=ticket)
    task = task_flows.open_tasks_of(session, instance=instance)[0]
    session.flush()
    return {"ticket_id": ticket.id, "article_id": article.id, "task_id": task.id, "instance_id": instance.id}


def write_operations(client) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    found = [
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    ]
    assert len(found) >= 10, found
    return found


@pytest.mark.parametrize("body", INVALID_BODIES, ids=["fields", "list", "string"])
def test_every_write_endpoint_refuses_the_observer_before_reading_the_body(client, api_as, ids, body):
    observer = api_as("observer")
    for method, template in write_operations(client):
        path = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), template)
        response = observer.request(method, path, json=body)
        assert response.status_code == 403, (
            f"{method} {path}: {response.status_code} {response.get_data(True)}"
        )
        assert_error(response, 403)


def test_the_trainee_gets_403_for_a_merge_into_itself(api_as, new_ticket, session):
    ticket = new_ticket()
    response = api_as("trainee").post(f"/tickets/{ticket.id}/merge", json={"into_ticket_id": ticket.id})
    assert_error(response, 403)
