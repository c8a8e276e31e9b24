"""The inbox: the right tasks per agent, scopes, queue filter, live refresh, claim and release."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.ticket.models import Ticket
from engine import definitions, runtime
from engine.models import HumanTask
from tests.web.conftest import csrf_token_in

HELPDESK_TITLES = ("I forgot my password", "Printer on 3rd floor jams", "Refund for double invoice")


@pytest.fixture
def started(session):
    """The default processes deployed and ticket handling started for the help-desk demo tickets."""
    definitions.deploy_directory(session, actor=SYSTEM)
    result = {}
    for title in HELPDESK_TITLES:
        ticket = session.scalars(select(Ticket).where(Ticket.title == title)).one()
        runtime.start(session, actor=SYSTEM, ticket=ticket)
        result[title] = ticket
    session.flush()
    return result


def task_of(session, ticket: Ticket, name: str = "Triage") -> HumanTask:
    """The open task ``name`` of ``ticket``."""
    return session.scalars(
        select(HumanTask).where(
            HumanTask.ticket_id == ticket.id, HumanTask.state == "open", HumanTask.name == name
        )
    ).one()


def post_with_token(client, url: str, page: str = "/inbox", **data):
    """POST ``data`` to ``url`` with the CSRF token of ``page`` (as a browser would)."""
    token = csrf_token_in(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data})


def test_the_secretary_sees_the_triage_tasks_of_raw(client, login, started):
    login("secretary")

    html = client.get("/inbox").text

    assert html.count('class="inbox-task"') == 2
    assert "Triage" in html
    assert started["I forgot my password"].number in html
    assert "Printer on 3rd floor jams" in html
    assert "Refund for double invoice" not in html  # Finance: the secretary has no rw there
    assert "Unlocked" in html


@pytest.mark.parametrize("login_name", ["alice", "observer", "consultant"])
def test_agents_who_are_not_candidates_see_no_raw_tasks(client, login, started, login_name):
    login(login_name)

    html = client.get("/inbox").text

    assert 'class="inbox-task"' not in html
    assert "No tasks here." in html


def test_the_admin_sees_every_task_and_filters_by_queue(client, login, started, queue):
    login("admin")

    everything = client.get("/inbox").text
    finance = client.get(f"/inbox?queue={queue('Finance').id}").text

    assert everything.count('class="inbox-task"') == 3
    assert finance.count('class="inbox-task"') == 1
    assert "Refund for double invoice" in finance
    # The queue tree counts the tasks per queue.
    assert 'aria-current="page"' in finance
    assert '<span class="count">2</span>' in everything  # Raw


def test_claiming_locks_the_ticket_and_the_lock_shows_everywhere(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")

    response = post_with_token(client, f"/tasks/{task.id}/claim")

    assert response.status_code == 303
    session.expire_all()
    assert task.claimed_by_id is not None
    assert ticket.locked_by is not None
    assert ticket.locked_by.login == "secretary"
    mine = client.get("/inbox?scope=mine").text
    assert mine.count('class="inbox-task"') == 1
    assert "Locked by Sam Secretary" in mine
    assert 'class="inbox-task"' in client.get("/inbox?scope=all").text
    unclaimed = client.get("/inbox?scope=unclaimed").text
    assert ticket.number not in unclaimed
    assert "locked by Sam Secretary" in client.get("/").text  # the dashboard
    assert "Locked by Sam Secretary" in client.get(f"/tickets/{ticket.id}").text


def test_releasing_gives_the_task_back(client, login, session, started):
    task = task_of(session, started["Printer on 3rd floor jams"])
    login("secretary")
    post_with_token(client, f"/tasks/{task.id}/claim")

    response = post_with_token(client, f"/tasks/{task.id}/release")

    assert response.status_code == 303
    session.expire_all()
    assert task.claimed_by_id is None
    assert "You released the task." in client.get("/inbox").text


def test_claiming_a_task_claimed_by_someone_else_is_a_message_not_an_error(
    client, login, session, agent, started
):
    task = task_of(session, started["Printer on 3rd floor jams"])
    runtime.claim(session, actor=agent("admin"), task_id=task.id)
    session.flush()
    login("secretary")

    response = post_with_token(client, f"/tasks/{task.id}/claim")

    assert response.status_code == 303
    assert "already claimed by Ada Admin" in client.get(response.headers["Location"]).text
    session.expire_all()
    assert task.claimed_by_id == agent("admin").id


def test_claim_without_csrf_token_is_refused(client, login, session, started):
    task = task_of(session, started["Printer on 3rd floor jams"])
    login("secretary")

    response = client.post(f"/tasks/{task.id}/claim")

    assert response.status_code == 400
    session.expire_all()
    assert task.claimed_by_id is None


def test_the_table_refreshes_itself(client, login, started):
    login("secretary")

    page = client.get("/inbox?scope=unclaimed").text
    fragment = client.get("/inbox?scope=unclaimed&page=1&partial=table", headers={"HX-Request": "true"})

    assert 'hx-trigger="every 30s"' in page
    assert "partial=table" in page
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.count('class="inbox-task"') == 2


def test_the_inbox_is_in_the_navigation_and_needs_a_login(client, login):
    assert client.get("/inbox").status_code == 302
    login("alice")
    assert 'href="/inbox"' in client.get("/").text


def assert_page_reveals_nothing(html: str, task: HumanTask) -> None:
    for secret in (task.ticket.number, task.ticket.title):
        assert secret not in html


@pytest.mark.parametrize("action", ["claim", "release", "complete"])
def test_an_agent_who_cannot_read_the_ticket_gets_the_404_page(
    client, login, session, agent, started, action
):
    task = task_of(session, started["Printer on 3rd floor jams"])
    if action == "release":  # claimed: releasing someone's claim must not reveal it either
        runtime.claim(session, actor=agent("secretary"), task_id=task.id)
        session.flush()
    login("trainee")  # reads 1st level only, not Raw

    response = post_with_token(client, f"/tasks/{task.id}/{action}", decision="work")

    assert response.status_code == 404
    assert_page_reveals_nothing(response.text, task)
    session.expire_all()
    assert task.state == "open"
    assert task.claimed_by_id == (agent("secretary").id if action == "release" else None)


@pytest.mark.parametrize("login_name", ["alice", "observer"])
@pytest.mark.parametrize("action", ["claim", "release", "complete"])
def test_a_reader_who_is_no_candidate_gets_the_403_page(
    client, login, session, agent, started, login_name, action
):
    task = task_of(session, started["Printer on 3rd floor jams"])
    runtime.claim(session, actor=agent("secretary"), task_id=task.id)
    session.flush()
    login(login_name)  # both may read Raw; alice holds no rw there, the observer changes nothing

    response = post_with_token(client, f"/tasks/{task.id}/{action}", decision="work")

    assert response.status_code == 403
    # Not who holds the task ("Sam" alone could be part of the page's random CSRF token).
    assert "Sam Secretary" not in response.text
    assert "secretary" not in response.text
    session.expire_all()
    assert (task.state, task.claimed_by_id) == ("open", agent("secretary").id)
