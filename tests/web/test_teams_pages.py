"""S11 pages: the availability switch in the header, the owner picker's mark, and the
administrator's /admin/teams (pull an agent in, end it, the load per queue)."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.team import service as teams
from desk.team.models import TemporaryMembership
from desk.ticket import service as tickets
from tests.web.conftest import csrf_token_in, sign_in


def _post(client, page: str, action: str, data):
    token = csrf_token_in(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


def test_the_header_switches_availability(client, login, session, agent):
    login("alice")
    page = client.get("/")
    assert 'data-availability="front_line"' in page.text
    switched = _post(client, "/", "/availability", {"status": "away", "until": "", "next": "/search"})
    assert switched.status_code in (302, 303)
    assert switched.headers["Location"].endswith("/search")
    assert 'data-availability="away"' in client.get("/").text
    assert teams.is_away(session, agent=agent("alice"))


def test_a_bad_availability_is_refused_with_a_message(client, login, session, agent):
    login("alice")
    response = _post(client, "/", "/availability", {"status": "napping"})
    assert response.status_code in (302, 303)
    assert "Availability not changed" in client.get("/").text
    assert teams.availability_of(session, agent=agent("alice")) == ("front_line", None)


def test_the_owner_picker_marks_away_agents(client, login, session, agent, queue):
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="Picker", queue=queue("1st level"))
    teams.set_availability(session, actor=SYSTEM, agent=agent("alice"), status="away")
    session.flush()
    login("admin")
    page = client.get(f"/tickets/{ticket.id}?action=owner")
    assert re.search(r">Alice First \(away\)</option>", page.text)
    assert ">Ada Admin</option>" in page.text


def test_admin_pulls_an_agent_in_and_ends_it(client, login, session, agent, queue):
    login("admin")
    page = client.get("/admin/teams")
    assert page.status_code == 200
    assert 'data-load-queue="1st level"' in page.text
    pulled = _post(
        client,
        "/admin/teams",
        "/admin/teams/pull-in",
        {"agent": str(agent("bob").id), "queue": str(queue("1st level").id), "minutes": "10"},
    )
    assert pulled.status_code == 303
    session.expire_all()
    membership = session.scalars(select(TemporaryMembership)).one()
    assert (membership.agent.login, membership.queue.name, membership.ended_at) == ("bob", "1st level", None)
    listed = client.get("/admin/teams")
    assert f'data-membership="{membership.id}"' in listed.text
    assert "active" in listed.text
    ended = _post(client, "/admin/teams", f"/admin/teams/{membership.id}/end", {})
    assert ended.status_code == 303
    session.expire_all()
    assert membership.end_reason == "ended by hand"
    assert "ended by hand" in client.get("/admin/teams").text


def test_bad_input_is_422_with_the_values_kept(client, login, agent, queue):
    login("admin")
    response = _post(
        client,
        "/admin/teams",
        "/admin/teams/pull-in",
        {"agent": str(agent("bob").id), "queue": str(queue("1st level").id), "minutes": "soon"},
    )
    assert response.status_code == 422
    assert "a whole number from 1 to 10080" in response.text
    assert 'value="soon"' in response.text
    nothing = _post(
        client, "/admin/teams", "/admin/teams/pull-in", {"agent": str(agent("bob").id), "queue": "99999"}
    )
    assert nothing.status_code == 422
    assert "choose one of the list" in nothing.text


def test_non_administrators_get_403(client, session, agent, queue):
    sign_in(client, "alice")
    assert client.get("/admin/teams").status_code == 403
    page = client.get("/")
    response = client.post(
        "/admin/teams/pull-in",
        data={
            "csrf_token": csrf_token_in(page.text),
            "agent": str(agent("alice").id),
            "queue": "1",
            "minutes": "5",
        },
    )
    assert response.status_code == 403
    assert session.scalars(select(TemporaryMembership)).all() == []


def test_odd_numbers_are_field_errors_not_server_errors(client, login, agent, queue):
    login("admin")
    for minutes in ("²", "٣", "9" * 5000, "-5"):
        response = _post(
            client,
            "/admin/teams",
            "/admin/teams/pull-in",
            {"agent": str(agent("bob").id), "queue": str(queue("1st level").id), "minutes": minutes},
        )
        assert response.status_code == 422, minutes
        assert "a whole number from 1 to 10080" in response.text


def test_a_team_lead_sees_the_load_of_the_queues_they_may_read(client, login, queue):
    login("alice")  # 1st level and Raw, not Finance
    page = client.get("/teams/load")
    assert page.status_code == 200
    rows = set(re.findall(r'data-load-queue="([^"]+)"', page.text))
    assert "1st level" in rows
    assert "Finance" not in rows
    assert "/teams/load" in client.get("/").text
