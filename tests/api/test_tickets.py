"""Tickets through the API: search, read, create, change (with If-Match), lock, merge, link."""

from __future__ import annotations

from datetime import UTC, datetime

from desk.history import service as history
from engine.models import ProcessInstance
from tests.api.conftest import assert_error


def test_create_a_phone_ticket_with_its_first_article(admin_api, session, queue, customer):
    john = customer("john.doe@acme.example")
    response = admin_api.post(
        "/tickets",
        json={
            "title": "VPN drops every hour",
            "queue_id": queue("1st level").id,
            "customer_user_id": john.id,
            "body": "John called: the VPN drops every hour.",
            "priority": 4,
        },
    )
    assert response.status_code == 201, response.text
    body = response.get_json()
    assert body["queue"] == "1st level"
    assert body["priority"] == 4
    assert body["customer_user_id"] == john.id
    assert response.headers["ETag"] == f'"ticket-{body["id"]}-v{body["version"]}"'
    articles = admin_api.get(f"/tickets/{body['id']}/articles").get_json()
    assert [(a["channel"], a["sender_type"], a["is_visible_for_customer"]) for a in articles] == [
        ("phone", "customer", True)
    ]
    # Without deployed processes no process starts.
    assert session.query(ProcessInstance).filter_by(ticket_id=body["id"]).count() == 0


def test_create_needs_the_create_right_on_the_queue(api_as, queue):
    response = api_as("alice").post(
        "/tickets", json={"title": "x", "queue_id": queue("Finance").id, "body": "y", "channel": "web"}
    )
    assert_error(response, 403, "permission_denied")


def test_unknown_references_are_field_errors(admin_api, queue):
    response = admin_api.post("/tickets", json={"title": "x", "queue_id": 999999, "body": "y"})
    assert "queue_id" in assert_error(response, 422)["errors"]
    response = admin_api.post(
        "/tickets", json={"title": "x", "queue_id": queue("Raw").id, "body": "y", "state": "no such state"}
    )
    assert "state" in assert_error(response, 422)["errors"]


def test_get_by_id_and_by_number_with_etag(admin_api, new_ticket):
    ticket = new_ticket()
    by_id = admin_api.get(f"/tickets/{ticket.id}")
    by_number = admin_api.get(f"/tickets/by-number/{ticket.number}")
    assert by_id.status_code == by_number.status_code == 200
    assert by_id.get_json() == by_number.get_json()
    assert by_id.headers["ETag"] == f'"ticket-{ticket.id}-v{ticket.version}"'
    assert_error(admin_api.get("/tickets/by-number/000"), 404)


def test_the_escalation_due_times_are_in_the_ticket(admin_api, new_ticket, session):
    ticket = new_ticket()
    assert admin_api.get(f"/tickets/{ticket.id}").get_json()["first_response_due"] is None
    ticket.first_response_due = ticket.created_at
    session.flush()
    body = admin_api.get(f"/tickets/{ticket.id}").get_json()
    assert body["first_response_due"] is not None
    assert body["first_response_due"][:19] == ticket.created_at.isoformat()[:19]
    assert body["solution_due"] is None


def test_an_agent_without_read_rights_gets_403_and_a_missing_ticket_404(api_as, new_ticket):
    finance = new_ticket("Finance")
    alice = api_as("alice")
    assert_error(alice.get(f"/tickets/{finance.id}"), 403)
    assert_error(alice.get("/tickets/99999999"), 404)


def test_search_filters_by_queue_state_type_customer_and_title(api_as, new_ticket, queue, customer):
    first = new_ticket("1st level", title="Printer jams on floor 3")
    new_ticket("1st level", title="Mail quota", email="jane.roe@acme.example")
    new_ticket("Finance", title="Printer invoice")
    alice = api_as("alice")

    def ids(**query):
        response = alice.get("/tickets", query_string=query)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.get_json()}

    everything = ids(limit=500)
    assert first.id in everything
    # alice cannot read Finance: it never appears, whatever the filter.
    assert all(t["queue"] != "Finance" for t in alice.get("/tickets", query_string={"limit": 500}).get_json())
    assert first.id in ids(title="printer JAMS")
    assert ids(title="printer", queue_id=queue("Finance").id) == set()
    assert first.id in ids(customer_user_id=customer("john.doe@acme.example").id, title="jams")
    assert first.id not in ids(customer_user_id=customer("jane.roe@acme.example").id)
    assert first.id in ids(state_type="new", title="jams")
    assert first.id not in ids(state_type="closed")
    page = alice.get("/tickets", query_string={"limit": 1, "offset": 1}).get_json()
    assert len(page) == 1
    assert_error(alice.get("/tickets", query_string={"state_type": "sleeping"}), 422)


def test_patch_changes_fields_with_their_services_and_history(admin_api, new_ticket, agent, queue, session):
    ticket = new_ticket()
    response = admin_api.patch(
        f"/tickets/{ticket.id}",
        json={
            "queue_id": queue("2nd level").id,
            "priority": 5,
            "owner_id": agent("admin").id,
            "responsible_id": agent("bob").id,
            "state": "pending reminder",
            "pending_until": "2030-01-01T09:00:00+01:00",
        },
    )
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert (body["queue"], body["priority"], body["owner"], body["responsible"], body["state"]) == (
        "2nd level",
        5,
        "admin",
        "bob",
        "pending reminder",
    )
    assert datetime.fromisoformat(body["pending_until"]) == datetime(2030, 1, 1, 8, tzinfo=UTC)
    types = [h.type for h in history.for_ticket(session, ticket=ticket)]
    assert {"Move", "PriorityUpdate", "ResponsibleUpdate", "StateUpdate", "SetPendingTime"} <= set(types)
    assert response.headers["ETag"] != f'"ticket-{ticket.id}-v1"'


def test_patch_checks_each_permission(api_as, new_ticket, agent):
    ticket = new_ticket("1st level")
    trainee = api_as("trainee")
    assert_error(trainee.patch(f"/tickets/{ticket.id}", json={"priority": 1}), 403)
    assert_error(trainee.patch(f"/tickets/{ticket.id}", json={}), 422)


def test_a_stale_if_match_is_412_and_changes_nothing(admin_api, api_as, new_ticket, session):
    ticket = new_ticket()
    etag = admin_api.get(f"/tickets/{ticket.id}").headers["ETag"]
    # Someone else changes the ticket meanwhile.
    assert api_as("alice").patch(f"/tickets/{ticket.id}", json={"priority": 4}).status_code == 200
    stale = admin_api.patch(
        f"/tickets/{ticket.id}", json={"priority": 1, "title": "Mine"}, headers={"If-Match": etag}
    )
    assert_error(stale, 412, "precondition_failed")
    session.refresh(ticket)
    assert (ticket.priority, ticket.title) == (4, "Printer prints blank pages")
    for action in ("lock", "unlock"):
        assert_error(admin_api.post(f"/tickets/{ticket.id}/{action}", headers={"If-Match": etag}), 412)
    current = admin_api.get(f"/tickets/{ticket.id}").headers["ETag"]
    fresh = admin_api.patch(f"/tickets/{ticket.id}", json={"priority": 1}, headers={"If-Match": current})
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] != current


def test_lock_and_unlock(api_as, new_ticket):
    ticket = new_ticket()
    alice, bob = api_as("alice"), api_as("admin")
    assert alice.post(f"/tickets/{ticket.id}/lock").get_json()["locked_by"] == "alice"
    assert_error(bob.post(f"/tickets/{ticket.id}/lock"), 409)
    assert bob.post(f"/tickets/{ticket.id}/unlock").get_json()["locked_by"] is None


def test_merge_and_link(admin_api, new_ticket, session):
    source, target, other = new_ticket(), new_ticket(), new_ticket(email="jane.roe@acme.example")
    linked = admin_api.post(
        f"/tickets/{source.id}/links", json={"target_ticket_id": other.id, "kind": "parent_child"}
    )
    assert linked.status_code == 201
    assert linked.get_json()["kind"] == "parent_child"
    assert [link["target_ticket_id"] for link in admin_api.get(f"/tickets/{other.id}/links").get_json()] == [
        other.id
    ]
    # Different customers are linked, never merged.
    assert (
        "into"
        in assert_error(
            admin_api.post(f"/tickets/{source.id}/merge", json={"into_ticket_id": other.id}), 422
        )["errors"]
    )
    merged = admin_api.post(f"/tickets/{source.id}/merge", json={"into_ticket_id": target.id})
    assert merged.status_code == 200
    assert merged.get_json()["merged_into_id"] == target.id
    assert_error(admin_api.patch(f"/tickets/{source.id}", json={"priority": 2}), 409)


def test_history_of_a_ticket(admin_api, new_ticket):
    ticket = new_ticket()
    admin_api.patch(f"/tickets/{ticket.id}", json={"priority": 5})
    entries = admin_api.get(f"/tickets/{ticket.id}/history").get_json()
    assert [e["type"] for e in entries] == ["NewTicket", "PriorityUpdate"]
    assert entries[1]["actor_name"].endswith("(admin)")
