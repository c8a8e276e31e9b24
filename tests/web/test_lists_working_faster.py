"""The lists' bulk bar, unread markers and saved views, through the pages as an agent uses them."""

from __future__ import annotations

import re

from sqlalchemy import select

from desk.actor import SYSTEM
from desk.article import service as articles
from desk.customer.models import CustomerUser
from desk.history.models import History
from desk.queue.models import Queue
from desk.saved_view.models import SavedView
from desk.ticket import service as tickets
from engine.models import HumanTask
from tests.bulk_data import twenty_tickets
from tests.inbox_data import tickets_with_triage
from tests.web.conftest import csrf_token_in, sign_in


def _rows(html: str, marker: str) -> list[str]:
    """The table rows of ``html`` that contain ``marker``, whitespace squeezed."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)
    return [re.sub(r"\s+", " ", row) for row in rows if marker in row]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_bulk_move_from_the_search_page_moves_eighteen_and_names_the_two_refused(client, login, session):
    case = twenty_tickets(session)
    login("secretary")
    page = client.get("/search", query_string={"words": "Bulk"}).text
    assert page.count('name="ticket"') == 20  # a checkbox per row
    response = client.post(
        "/bulk",
        data={
            "csrf_token": csrf_token_in(page),
            "action": "move",
            "queue": str(case.target.id),
            "ticket": [str(t.id) for t in case.tickets],
            "next": "/search?words=Bulk",
        },
    )
    session.expire_all()

    assert response.status_code == 200
    text = _text(response.text)
    assert "18 tickets were moved to 2nd level." in text
    assert "2 refused:" in text
    for ticket in case.stuck:
        assert re.search(rf"{ticket.number} {ticket.title} — [^—]*Archive", text), text
        assert ticket.queue.name == "Archive"
    for ticket in case.movable:
        assert ticket.queue.name == "2nd level"
        moves = session.scalars(
            select(History).where(History.ticket_id == ticket.id, History.type == "Move")
        ).all()
        assert [(m.old_value, m.new_value) for m in moves] == [("Raw", "2nd level")]
    assert 'href="/search?words=Bulk"' in response.text  # back to the list


def test_the_inbox_claims_the_ticked_tasks(client, login, session):
    made = tickets_with_triage(session, 3)
    login("secretary")
    page = client.get("/inbox").text
    tasks = session.scalars(select(HumanTask).where(HumanTask.ticket_id.in_([t.id for t in made]))).all()
    for task in tasks:
        assert f'name="task" value="{task.id}"' in page
    response = client.post(
        "/bulk",
        data={"csrf_token": csrf_token_in(page), "action": "claim", "task": [str(t.id) for t in tasks[:2]]},
    )
    session.expire_all()
    assert "You claimed 2 tasks." in _text(response.text)
    assert sorted(t.claimed_by_id is not None for t in tasks) == [False, True, True]


def test_bad_bulk_requests_are_refused_clearly(client, login, session):
    twenty_tickets(session)
    login("secretary")
    token = csrf_token_in(client.get("/inbox").text)
    nothing = client.post("/bulk", data={"csrf_token": token, "action": "lock"}, follow_redirects=True)
    assert "select at least one item" in nothing.text
    garbage = client.post(
        "/bulk", data={"csrf_token": token, "action": "lock", "ticket": "x"}, follow_redirects=True
    )
    assert "select rows of the list" in garbage.text
    assert (
        client.post("/bulk", data={"csrf_token": token, "action": "lock", "ticket": str(2**31)}).status_code
        == 404
    )


def test_observers_get_no_bulk_bar_and_are_refused(client, login, session):
    case = twenty_tickets(session)
    login("observer")
    page = client.get("/search", query_string={"words": "Bulk"}).text
    assert 'id="bulk-form"' not in page
    response = client.post(
        "/bulk", data={"csrf_token": csrf_token_in(page), "action": "lock", "ticket": str(case.tickets[0].id)}
    )
    assert response.status_code == 403


def test_a_new_customer_article_marks_the_ticket_unread_until_the_agent_opens_it(client, login, session):
    john = session.scalars(select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")).one()
    raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
    ticket = tickets.create_ticket(
        session, actor=SYSTEM, title="Unread scanner", queue=raw, customer_user=john
    )

    def customer_writes(text: str) -> None:
        articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            body_text=text,
            from_addr=john.email,
        )
        session.flush()

    def marked() -> list[str]:
        html = client.get("/search", query_string={"words": "Unread"}).text
        return _rows(html, "Unread scanner")

    customer_writes("The scanner jams.")
    login("secretary")
    [row] = marked()
    assert "badge--unread" in row
    assert "badge--waiting" in row  # unanswered: the customer wrote last

    assert client.get(f"/tickets/{ticket.id}").status_code == 200
    [row] = marked()
    assert "badge--unread" not in row
    assert "badge--waiting" in row

    customer_writes("Still jams.")
    [row] = marked()
    assert "badge--unread" in row

    # Read by one agent is still unread for another.
    other = client.application.test_client()
    sign_in(other, "admin")
    assert client.get(f"/tickets/{ticket.id}").status_code == 200
    admin_rows = _rows(other.get("/search", query_string={"words": "Unread"}).text, "Unread scanner")
    assert "badge--unread" in admin_rows[0]
    assert "badge--unread" not in marked()[0]


def test_the_agents_own_note_does_not_mark_the_ticket_unread_for_them(client, login, session):
    made = tickets_with_triage(session, 1)
    login("secretary")
    client.get(f"/tickets/{made[0].id}")
    page = client.get(f"/tickets/{made[0].id}").text
    client.post(
        f"/tickets/{made[0].id}/note",
        data={"csrf_token": csrf_token_in(page), "body": "Called the customer."},
    )
    inbox = client.get("/inbox").text
    [row] = _rows(inbox, made[0].number)
    assert "badge--unread" not in row


def test_a_saved_view_round_trip_is_the_agents_own(client, login, session, app):
    login("secretary")
    page = client.get("/search", query_string={"words": "printer", "state_type": "open", "page": "3"}).text
    saved = client.post(
        "/views",
        data={
            "csrf_token": csrf_token_in(page),
            "kind": "search",
            "name": "Open printers",
            "query": "words=printer&state_type=open&page=3&evil=1",
        },
    )
    assert saved.status_code in (302, 303)
    assert saved.headers["Location"].endswith("/search?words=printer&state_type=open")
    view = session.scalars(select(SavedView).where(SavedView.name == "Open printers")).one()
    inbox = client.get("/inbox").text
    assert "Open printers" in inbox
    assert 'href="/search?words=printer&amp;state_type=open"' in inbox

    alice = app.test_client()
    sign_in(alice, "alice")
    alice_inbox = alice.get("/inbox").text
    assert "Open printers" not in alice_inbox
    refused = alice.post(f"/views/{view.id}/delete", data={"csrf_token": csrf_token_in(alice_inbox)})
    assert refused.status_code == 404
    assert session.get(SavedView, view.id) is not None

    deleted = client.post(
        f"/views/{view.id}/delete", data={"csrf_token": csrf_token_in(inbox), "next": "/inbox"}
    )
    assert deleted.status_code in (302, 303)
    view_id = view.id
    session.expire_all()
    assert session.scalars(select(SavedView).where(SavedView.id == view_id)).first() is None
    assert "Open printers" not in client.get("/inbox").text


def test_a_saved_view_needs_a_name(client, login):
    login("secretary")
    page = client.get("/inbox").text
    response = client.post(
        "/views",
        data={"csrf_token": csrf_token_in(page), "kind": "inbox", "name": "  ", "query": "scope=mine"},
        follow_redirects=True,
    )
    assert "this field is required" in response.text
