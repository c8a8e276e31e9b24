"""Time accounting: the same rows from the web forms and the API, the queue's policy, the totals."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.article.models import Article
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from desk.time_accounting.models import TimeAccounting
from engine import definitions, runtime
from engine.models import HumanTask
from reports import figures
from reports.export import to_csv
from tests import stats_data
from tests.web.conftest import csrf_token_in


@pytest.fixture
def first_level(queue):
    return queue("1st level")


def make_ticket(session, first_level, customer, title: str) -> Ticket:
    ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title=title,
        queue=first_level,
        customer_user=customer("john.doe@acme.example"),
    )
    session.flush()
    return ticket


def with_process(session, ticket: Ticket) -> None:
    if definitions.latest_version(session, "two_steps") is None:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=stats_data.TWO_STEPS)
    runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="two_steps")
    session.flush()


def open_task(session, ticket: Ticket) -> HumanTask:
    return session.scalars(
        select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
    ).one()


def rows_of(session, ticket: Ticket) -> list[tuple[str, int, int]]:
    """(booked with, agent id, minutes) of the ticket's time rows, oldest first."""
    session.expire_all()
    rows = session.scalars(
        select(TimeAccounting).where(TimeAccounting.ticket_id == ticket.id).order_by(TimeAccounting.id)
    ).all()
    result = []
    for row in rows:
        if row.article_id is not None:
            what = session.get(Article, row.article_id).channel
        else:
            what = "task " + session.get(HumanTask, row.human_task_id).bpmn_id
        result.append((what, row.agent_id, row.minutes))
    return result


def web_post(client: FlaskClient, path: str, page_path: str, **data):
    page = client.get(page_path).text
    return client.post(path, data={"csrf_token": csrf_token_in(page), **data})


def api_post(client: FlaskClient, token: str, path: str, payload: dict):
    return client.post(f"/api/v1{path}", json=payload, headers={"Authorization": f"Bearer {token}"})


def test_the_web_forms_and_the_api_book_the_same_rows(
    app, client, login, session, agent, customer, first_level
):
    first_level.time_accounting = "optional"
    alice = agent("alice")
    by_web = make_ticket(session, first_level, customer, "Booked through the web")
    by_api = make_ticket(session, first_level, customer, "Booked through the API")
    for ticket in (by_web, by_api):
        with_process(session, ticket)
    login("alice")
    view = f"/tickets/{by_web.id}"
    assert 'name="time_units"' in client.get(view, query_string={"action": "note"}).text
    web_post(client, f"/tickets/{by_web.id}/reply", view, body="Here is the answer.", time_units="15")
    web_post(client, f"/tickets/{by_web.id}/note", view, body="Checked the logs.", time_units="5")
    web_post(client, f"/tickets/{by_web.id}/phone", view, body="Called John.", time_units="")
    web_post(client, f"/tasks/{open_task(session, by_web).id}/complete", view, time_units="7")

    api = app.test_client()
    token = agents.create_token(session, actor=SYSTEM, agent=alice, name="test")
    for payload in (
        {"kind": "reply", "body": "Here is the answer.", "time_units": 15},
        {"kind": "note", "body": "Checked the logs.", "time_units": 5},
        {"kind": "phone", "body": "Called John."},
    ):
        assert api_post(api, token, f"/tickets/{by_api.id}/articles", payload).status_code == 201
    done = api_post(api, token, f"/tasks/{open_task(session, by_api).id}/complete", {"time_units": 7})
    assert done.status_code == 200, done.get_data(as_text=True)

    expected = [("email", alice.id, 15), ("note", alice.id, 5), ("task triage", alice.id, 7)]
    assert rows_of(session, by_web) == expected
    assert rows_of(session, by_api) == expected
    # Summed on the ticket page.
    assert "27 minutes" in client.get(view).text


def test_a_required_time_is_refused_with_a_field_error_and_nothing_written(
    app, client, login, session, agent, customer, first_level
):
    first_level.time_accounting = "required"
    ticket = make_ticket(session, first_level, customer, "Time is required here")
    with_process(session, ticket)
    login("alice")
    view = f"/tickets/{ticket.id}"
    form = client.get(view, query_string={"action": "reply"}).text
    assert 'name="time_units"' in form
    assert " required aria-required" in form
    articles_before = len(ticket.articles)

    refused = web_post(client, f"/tickets/{ticket.id}/note", view, body="Forgot the time.")
    # The form comes back as typed, the error beside the time field.
    assert refused.status_code == 422
    assert "Forgot the time." in refused.text
    assert 'id="note-time-error"' in refused.text
    assert "this queue requires it" in refused.text
    typed = web_post(client, f"/tickets/{ticket.id}/note", view, body="Took a while.", time_units="a lot")
    assert typed.status_code == 422
    assert 'value="a lot"' in typed.text
    assert "enter a whole number of minutes" in typed.text

    # A task form comes back (422) with the agent's typed value and the error.
    task = open_task(session, ticket)
    negative = web_post(client, f"/tasks/{task.id}/complete", view, time_units="-5")
    assert negative.status_code == 422
    assert 'value="-5"' in negative.text
    assert "the time spent cannot be negative" in negative.text
    huge = web_post(client, f"/tasks/{task.id}/complete", view, time_units="99999")
    assert "at most 10080 minutes" in huge.text
    words = web_post(client, f"/tasks/{task.id}/complete", view, time_units="ten")
    assert "enter a whole number of minutes" in words.text

    # The API says the same on the same field.
    api = app.test_client()
    token = agents.create_token(session, actor=SYSTEM, agent=agent("alice"), name="test")
    missing = api_post(api, token, f"/tickets/{ticket.id}/articles", {"kind": "note", "body": "x"})
    assert missing.status_code == 422
    assert "time_units" in missing.get_json()["errors"]
    negative = api_post(api, token, f"/tasks/{task.id}/complete", {"time_units": -1})
    assert negative.status_code == 422
    assert "time_units" in negative.get_json()["errors"]

    session.expire_all()
    assert len(session.get(Ticket, ticket.id).articles) == articles_before
    assert rows_of(session, ticket) == []
    assert open_task(session, ticket).id == task.id  # the process did not move

    accepted = api_post(api, token, f"/tasks/{task.id}/complete", {"time_units": 12})
    assert accepted.status_code == 200
    assert rows_of(session, ticket) == [("task triage", agent("alice").id, 12)]


def test_an_off_queue_does_not_ask(client, login, session, customer, first_level):
    ticket = make_ticket(session, first_level, customer, "No time accounting")
    login("alice")
    assert (
        'name="time_units"' not in client.get(f"/tickets/{ticket.id}", query_string={"action": "note"}).text
    )


def test_the_time_figure_and_its_csv_give_the_known_answers(session, agent, customer, queue, first_level):
    from flows import note, reply

    first_level.time_accounting = "optional"
    second = queue("2nd level")
    alice, admin = agent("alice"), agent("admin")
    one = make_ticket(session, first_level, customer, "Figure one")
    two = make_ticket(session, first_level, customer, "Figure two")
    reply.reply(session, actor=alice, ticket=one, body_text="a", time_units=30)
    note.note(session, actor=alice, ticket=two, body_text="b", time_units="15")
    note.note(session, actor=admin, ticket=one, body_text="c", time_units=10)
    note.note(session, actor=admin, ticket=one, body_text="no time booked")
    # Moved afterwards: the minutes stay with the queue they were booked in.
    one.queue = second
    session.flush()
    today = utcnow().date()
    chosen = figures.Filters(start=today, end=today, queue_ids=[first_level.id, second.id])
    table = figures.time_spent(session, chosen)
    assert table.rows == [("1st level", "admin", 1, 10), ("1st level", "alice", 2, 45)]
    assert to_csv(table).lstrip("\ufeff").splitlines() == [
        "queue,agent,entries,minutes",
        "1st level,admin,1,10",
        "1st level,alice,2,45",
    ]
    only_alice = figures.Filters(start=today, end=today, agent_id=alice.id)
    assert figures.time_spent(session, only_alice).rows == [("1st level", "alice", 2, 45)]
    before = figures.Filters(start=date(2020, 1, 1), end=date(2020, 1, 2))
    assert figures.time_spent(session, before).rows == []
    assert "time_spent" in [t.name for t in figures.all_tables(session, chosen, now=utcnow())]
    assert list(csv.reader(io.StringIO(to_csv(table).lstrip("\ufeff"))))[1] == [
        "1st level",
        "admin",
        "1",
        "10",
    ]


def test_minutes_sent_to_an_off_queue_are_refused_alike_by_web_and_api(
    app, client, login, session, agent, customer, first_level
):
    """Accounting off: the API and a posted web form get the same field error, no row."""
    assert first_level.time_accounting == "off"
    ticket = make_ticket(session, first_level, customer, "Nobody books time here")
    with_process(session, ticket)
    login("alice")
    view = f"/tickets/{ticket.id}"
    articles_before = len(ticket.articles)

    # A form opened before the queue was switched off still carries the field.
    refused = web_post(client, f"/tickets/{ticket.id}/note", view, body="Took an hour.", time_units="60")
    assert refused.status_code == 422
    assert "time accounting is off for this queue" in refused.text
    assert "Took an hour." in refused.text  # the form keeps what was typed
    task = open_task(session, ticket)
    refused_task = web_post(client, f"/tasks/{task.id}/complete", view, time_units="7")
    assert refused_task.status_code == 422
    assert "time accounting is off for this queue" in refused_task.text

    api = app.test_client()
    token = agents.create_token(session, actor=SYSTEM, agent=agent("alice"), name="test")
    for path, payload in (
        (f"/tickets/{ticket.id}/articles", {"kind": "note", "body": "x", "time_units": 15}),
        (f"/tickets/{ticket.id}/articles", {"kind": "reply", "body": "x", "time_units": 15}),
        (f"/tasks/{task.id}/complete", {"time_units": 7}),
    ):
        answer = api_post(api, token, path, payload)
        assert answer.status_code == 422, answer.get_data(as_text=True)
        assert answer.get_json()["errors"]["time_units"] == ["time accounting is off for this queue"]

    session.expire_all()
    assert len(session.get(Ticket, ticket.id).articles) == articles_before
    assert open_task(session, ticket).id == task.id
    assert rows_of(session, ticket) == []

    # Zero and no value are no time: accepted on both channels, nothing booked.
    web_post(client, f"/tickets/{ticket.id}/note", view, body="Quick look.", time_units="0")
    zero = api_post(
        api, token, f"/tickets/{ticket.id}/articles", {"kind": "note", "body": "y", "time_units": 0}
    )
    assert zero.status_code == 201
    plain = api_post(api, token, f"/tasks/{task.id}/complete", {"time_units": None})
    assert plain.status_code == 200, plain.get_data(as_text=True)
    session.expire_all()
    assert len(session.get(Ticket, ticket.id).articles) == articles_before + 2
    assert rows_of(session, ticket) == []
