"""A ticket's service through the API, on the ticket page and in the statistics."""

from __future__ import annotations

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.services import service as services
from reports import figures
from tests.flows.test_services import new_ticket
from tests.web.conftest import csrf_token_in


def test_the_api_sets_the_service_and_the_ticket_page_and_statistics_show_it(
    app, client, login, session, agent, queue, customer
):
    vpn = services.create_service(session, actor=agent("admin"), name="VPN")
    ticket = new_ticket(session, queue, customer)
    session.flush()
    token = agents.create_token(session, actor=SYSTEM, agent=agent("alice"), name="test")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    changed = api.patch(f"/api/v1/tickets/{ticket.id}", json={"service_id": vpn.id}, headers=headers)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["service_id"] == vpn.id
    unknown = api.patch(f"/api/v1/tickets/{ticket.id}", json={"service_id": 2_000_000_000}, headers=headers)
    assert unknown.status_code == 422
    assert "service_id" in unknown.get_json()["errors"]

    login("alice")
    assert '<dd class="ticket-service">VPN</dd>' in client.get(f"/tickets/{ticket.id}").text

    new_ticket(session, queue, customer)  # one without a service
    today = utcnow().date()
    chosen = figures.Filters(start=today, end=today, queue_ids=[queue("1st level").id])
    rows = dict(figures.open_by_service(session, chosen).rows)
    assert rows["VPN"] == 1
    assert rows["(none)"] >= 1


def test_the_ticket_page_sets_the_service_and_refuses_a_forged_one(
    client, login, session, agent, queue, customer
):

    vpn = services.create_service(session, actor=agent("admin"), name="VPN")
    ticket = new_ticket(session, queue, customer)
    session.flush()
    login("alice")
    form = client.get(f"/tickets/{ticket.id}", query_string={"action": "service"}).text
    assert f'<option value="{vpn.id}">VPN</option>' in form
    token = csrf_token_in(form)
    done = client.post(f"/tickets/{ticket.id}/service", data={"csrf_token": token, "service_id": str(vpn.id)})
    assert done.status_code == 303
    session.expire_all()
    assert ticket.service_id == vpn.id
    forged = client.post(f"/tickets/{ticket.id}/service", data={"csrf_token": token, "service_id": "12345"})
    assert forged.status_code == 422
    assert "choose one of the list" in forged.text
    session.expire_all()
    assert ticket.service_id == vpn.id
