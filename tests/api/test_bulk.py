"""``POST /api/v1/tickets/bulk``: the web's bulk flow through the API, reported per item."""

from __future__ import annotations

from sqlalchemy import select

from desk.history.models import History
from desk.ticket import states
from engine.models import HumanTask
from tests.api.conftest import assert_error
from tests.bulk_data import twenty_tickets
from tests.inbox_data import tickets_with_triage


def _moves(session, ticket) -> list[tuple[str | None, str | None, str]]:
    rows = session.scalars(select(History).where(History.ticket_id == ticket.id, History.type == "Move"))
    return [(row.old_value, row.new_value, row.actor_name) for row in rows]


def test_a_bulk_move_of_twenty_moves_eighteen_and_names_the_two_refused(session, api_as):
    """As tests/flows/test_bulk.py and the search page's bulk bar: the same rows and history."""
    case = twenty_tickets(session)
    api = api_as("secretary")
    response = api.post(
        "/tickets/bulk",
        json={"action": "move", "ticket_ids": [t.id for t in case.tickets], "queue_id": case.target.id},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()

    assert (body["action"], body["target"], body["done"], body["refused"]) == ("move", "2nd level", 18, 2)
    assert [item["id"] for item in body["items"]] == [t.id for t in case.tickets]  # the order sent
    refused = [item for item in body["items"] if not item["done"]]
    assert [(item["ticket_id"], item["number"]) for item in refused] == [(t.id, t.number) for t in case.stuck]
    for item in refused:
        assert item["error"]["code"] == "permission_denied"
        assert "Archive" in item["error"]["message"]
    assert all(item["error"] is None for item in body["items"] if item["done"])

    for ticket in case.movable:
        assert ticket.queue.name == "2nd level"
        assert _moves(session, ticket) == [("Raw", "2nd level", "Sam Secretary (secretary)")]
    for ticket in case.stuck:
        assert ticket.queue.name == "Archive"
        assert _moves(session, ticket) == []


def test_a_bulk_close_and_owner_go_through_their_flows(session, api_as, agent):
    case = twenty_tickets(session)
    api = api_as("secretary")
    closed = states.get_state(session, "closed successful")
    three = [t.id for t in case.tickets[:3]]
    done = api.post("/tickets/bulk", json={"action": "state", "ticket_ids": three, "state_id": closed.id})
    assert done.get_json()["done"] == 3
    assert all(t.state.name == "closed successful" for t in case.tickets[:3])
    assert case.tickets[3].state.name != "closed successful"
    history = session.scalars(select(History.ticket_id).where(History.type == "StateUpdate")).all()
    assert set(three) <= set(history)

    secretary, alice = agent("secretary"), agent("alice")
    pair = [case.tickets[4].id, case.tickets[5].id]
    owned = api.post("/tickets/bulk", json={"action": "owner", "ticket_ids": pair, "owner_id": secretary.id})
    assert owned.get_json()["done"] == 2, owned.get_json()
    assert case.tickets[4].owner_id == case.tickets[5].owner_id == secretary.id
    # Alice has no owner right on Raw: each item says so, with the field error of the service.
    refused = api.post("/tickets/bulk", json={"action": "owner", "ticket_ids": pair, "owner_id": alice.id})
    items = refused.get_json()["items"]
    assert [item["error"]["errors"]["owner"] for item in items] == [["alice has no owner right on Raw"]] * 2
    assert case.tickets[4].owner_id == secretary.id


def test_tasks_are_claimed_in_bulk(session, api_as, agent):
    made = tickets_with_triage(session, 3)
    tasks = session.scalars(select(HumanTask).where(HumanTask.ticket_id.in_([t.id for t in made]))).all()
    body = (
        api_as("secretary")
        .post("/tickets/bulk", json={"action": "claim", "task_ids": [t.id for t in tasks[:2]]})
        .get_json()
    )
    assert body["done"] == 2
    assert [item["task_id"] for item in body["items"]] == [t.id for t in tasks[:2]]
    assert sorted(t.claimed_by_id is not None for t in tasks) == [False, True, True]


def test_an_unreadable_ticket_is_named_by_the_id_sent_only(session, api_as):
    case = twenty_tickets(session)
    stuck = case.stuck[0]
    body = (
        api_as("alice")
        .post("/tickets/bulk", json={"action": "move", "ticket_ids": [stuck.id], "queue_id": case.target.id})
        .get_json()
    )
    (item,) = body["items"]
    assert (item["id"], item["ticket_id"], item["number"], item["title"], item["done"]) == (
        stuck.id,
        None,
        f"#{stuck.id}",
        "",
        False,
    )
    assert item["error"]["code"] in ("permission_denied", "not_found")


def test_bad_bulk_requests_are_422_naming_the_field_and_change_nothing(session, api_as):
    case = twenty_tickets(session)
    api = api_as("secretary")
    ids = [t.id for t in case.tickets]
    cases = [
        ({"action": "delete", "ticket_ids": ids}, "action"),
        ({"action": "move", "ticket_ids": ids}, "queue_id"),
        ({"action": "move", "ticket_ids": ids, "queue_id": 2**31 - 1}, "queue_id"),
        ({"action": "lock"}, "items"),
        ({"action": "claim", "ticket_ids": ids}, "items"),
        ({"action": "lock", "ticket_ids": list(range(1, 102))}, "ticket_ids"),
        ({"action": "lock", "ticket_ids": ["x"]}, "ticket_ids.0"),
    ]
    for payload, field in cases:
        body = assert_error(api.post("/tickets/bulk", json=payload), 422)
        assert field in body["errors"], (payload, body)
    assert all(t.locked_by_id is None and t.queue.name in ("Raw", "Archive") for t in case.tickets)


def test_customers_and_observers_are_refused(session, api_as, client, customer):
    from desk.actor import SYSTEM
    from desk.agent import service as agents

    token = agents.create_customer_token(
        session, actor=SYSTEM, customer=customer("john.doe@acme.example"), name="t"
    )
    answer = client.post(
        "/api/v1/tickets/bulk",
        json={"action": "lock", "ticket_ids": [1]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(answer, 403)
    assert_error(api_as("observer").post("/tickets/bulk", json={"action": "lock", "ticket_ids": [1]}), 403)


def test_the_openapi_document_describes_the_bulk_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/tickets/bulk"]["post"]
    assert "200" in operation["responses"]
    assert "BulkResult" in spec["components"]["schemas"]
