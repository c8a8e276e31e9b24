"""The problem page (S9) as an agent uses it: find and link incidents, "belongs to problem"
from an incident, one message to every reporter with its delivery state, closing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer import service as customers
from desk.outbox.models import OutboxMessage
from desk.ticket import service as tickets
from tests.web.conftest import csrf_token_in


@pytest.fixture
def outage(session, queue):
    first_level = queue("1st level")
    problem = tickets.create_ticket(session, actor=SYSTEM, title="Mail server down", queue=first_level)
    incidents = []
    for n in range(3):
        reporter = customers.create_customer_user(session, actor=SYSTEM, email=f"rep{n}@outage.example")
        incident = tickets.create_ticket(
            session, actor=SYSTEM, title=f"Zorblax mail outage {n}", queue=first_level, customer_user=reporter
        )
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=incident,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=incident.title,
            body_text="No mail.",
            from_addr=reporter.email,
            message_id=f"<rep{n}@outage.example>",
        )
        incidents.append(incident)
    session.flush()
    return problem, incidents


def _post(client, page: str, action: str, data):
    token = csrf_token_in(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


def test_search_select_link_message_and_delivery_state(client, login, session, outage):
    problem, incidents = outage
    login("alice")
    page_url = f"/tickets/{problem.id}/problem"
    found = client.get(page_url, query_string={"words": "Zorblax"})
    for incident in incidents:
        assert incident.number in found.text
    linked = _post(client, page_url, f"{page_url}/incidents", {"incident": [str(t.id) for t in incidents]})
    assert linked.status_code == 303
    page = client.get(page_url)
    assert "Incidents (3)" in page.text

    sent = _post(client, page_url, f"{page_url}/message", {"body": "Fixed, sorry."})
    assert sent.status_code == 303
    page = client.get(page_url)
    assert "The message went to 3 reporter(s)." in page.text
    for n, incident in enumerate(incidents):
        assert f'<tr data-delivery="{incident.number}">' in page.text
        assert f"rep{n}@outage.example" in page.text
    assert page.text.count('data-status="queued"') == 3
    session.expire_all()
    assert (
        len(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.to_addr.like("rep%@outage.example"))
            ).all()
        )
        == 3
    )


def test_an_empty_message_is_a_field_error(client, login, session, outage):
    problem, incidents = outage
    login("alice")
    page_url = f"/tickets/{problem.id}/problem"
    _post(client, page_url, f"{page_url}/incidents", {"incident": [str(incidents[0].id)]})
    response = _post(client, page_url, f"{page_url}/message", {"body": "  "})
    assert response.status_code == 422
    assert "Write the message to the reporters." in response.text


def test_nothing_selected_is_a_field_error(client, login, outage):
    problem, _ = outage
    login("alice")
    page_url = f"/tickets/{problem.id}/problem"
    response = _post(client, page_url, f"{page_url}/incidents", {})
    assert response.status_code == 422
    assert "Select at least one ticket." in response.text


def test_an_incident_joins_its_problem_by_number(client, login, outage):
    problem, incidents = outage
    login("alice")
    incident_url = f"/tickets/{incidents[0].id}/problem"
    joined = _post(client, incident_url, f"{incident_url}/belongs", {"number": problem.number})
    assert joined.status_code == 303
    assert problem.number in client.get(incident_url).text
    assert "Incidents (1)" in client.get(f"/tickets/{problem.id}/problem").text
    unknown = _post(client, incident_url, f"{incident_url}/belongs", {"number": "12345"})
    assert unknown.status_code == 422
    assert "No ticket with this number." in unknown.text
    assert 'value="12345"' in unknown.text


def test_closing_offers_to_close_the_incidents_with_the_message(client, login, session, outage):
    problem, incidents = outage
    login("alice")
    page_url = f"/tickets/{problem.id}/problem"
    _post(client, page_url, f"{page_url}/incidents", {"incident": [str(t.id) for t in incidents[:2]]})
    page = client.get(page_url)
    assert "Close the incidents too" in page.text
    closed = _post(client, page_url, f"{page_url}/close", {"close_incidents": "yes", "body": "All good."})
    assert closed.status_code == 303
    session.expire_all()
    assert problem.state.type == "closed"
    assert [t.state.type for t in incidents] == ["closed", "closed", "new"]
    assert (
        len(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.to_addr.like("rep%@outage.example"))
            ).all()
        )
        == 2
    )


def test_an_observer_may_read_but_not_link_or_send(client, login, session, outage):
    problem, incidents = outage
    login("observer")
    page_url = f"/tickets/{problem.id}/problem"
    assert client.get(page_url).status_code == 200
    refused = _post(client, page_url, f"{page_url}/incidents", {"incident": [str(incidents[0].id)]})
    assert refused.status_code == 403
    session.expire_all()
    assert tickets.links_of(session, ticket=problem) == []


def test_the_ticket_view_links_to_the_problem_page(client, login, outage):
    problem, _ = outage
    login("alice")
    assert f'href="/tickets/{problem.id}/problem"' in client.get(f"/tickets/{problem.id}").text


def test_odd_incident_ids_are_a_field_error(client, login, outage):
    problem, _ = outage
    login("alice")
    page_url = f"/tickets/{problem.id}/problem"
    for value in ("²", "9" * 5000, "abc"):
        response = _post(client, page_url, f"{page_url}/incidents", {"incident": [value]})
        assert response.status_code == 422, value
        assert "Select tickets from the list." in response.text
