"""Actions on the ticket view: who sees which form, what the server refuses, what each one does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from desk.actor import SYSTEM
from desk.article.models import Article
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.ticket import service as tickets
from desk.ticket.models import State, Ticket
from tests.web.conftest import csrf_token_in

WRITE_FORMS = ("Send reply", "Add note", "Add phone note", "Set owner", "Set state", "Set priority", "Merge")


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def snapshot(session, ticket: Ticket) -> tuple:
    """Everything an action could change, to prove that nothing did."""
    session.expire_all()
    return (
        ticket.version,
        ticket.locked_by_id,
        session.scalar(select(func.count()).select_from(History).where(History.ticket_id == ticket.id)),
        session.scalar(select(func.count()).select_from(Article)),
        session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


@pytest.fixture
def second_level_ticket(session, queue, customer):
    ticket = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="VPN drops every hour",
        queue=queue("2nd level"),
        customer_user=customer("john.doe@acme.example"),
    )
    session.flush()
    return ticket


def post_action(client, ticket: Ticket, name: str, **data):
    page = client.get(f"/tickets/{ticket.id}").text
    return client.post(f"/tickets/{ticket.id}/{name}", data={"csrf_token": csrf_token_in(page), **data})


# --- who sees what, and what the server refuses -------------------------------------------


def test_the_observer_sees_no_write_form(client, login, session):
    login("observer")

    html = client.get(f"/tickets/{ticket_titled(session, 'I forgot my password').id}").text

    for label in (*WRITE_FORMS, ">Unlock</button>", ">Lock</button>", "Move to queue", "<textarea"):
        assert label not in html


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("reply", {"body": "Hello John"}),
        ("note", {"body": "a note"}),
        ("phone", {"body": "called"}),
        ("move", {"queue": "QUEUE"}),
        ("owner", {"agent": "AGENT"}),
        ("responsible", {"agent": "AGENT"}),
        ("state", {"state": "STATE"}),
        ("priority", {"priority": "5"}),
        ("lock", {}),
        ("unlock", {}),
        ("merge", {"number": "OTHER"}),
        ("link", {"number": "OTHER", "kind": "normal"}),
    ],
)
def test_every_write_post_of_the_observer_is_refused(client, login, session, queue, agent, action, data):
    ticket = ticket_titled(session, "I forgot my password")
    other = ticket_titled(session, "Printer on 3rd floor jams")
    if action == "unlock":
        tickets.lock(session, actor=agent("secretary"), ticket=ticket)
        session.flush()
    values = {
        "QUEUE": str(queue("1st level").id),
        "AGENT": str(agent("secretary").id),
        "STATE": str(session.scalars(select(State).where(State.name == "open")).one().id),
        "OTHER": other.number,
    }
    data = {key: values.get(value, value) for key, value in data.items()}
    login("observer")
    before = snapshot(session, ticket)

    response = post_action(client, ticket, action, **data)

    assert response.status_code == 403
    assert "You do not have access to this" in response.text
    assert snapshot(session, ticket) == before


def test_a_consultant_sees_no_reply_form_and_a_posted_reply_is_refused(
    client, login, session, second_level_ticket
):
    ticket = second_level_ticket
    login("consultant")

    html = client.get(f"/tickets/{ticket.id}").text
    assert "Send reply" not in html
    assert "Add phone note" not in html
    assert "Add note" in html  # internal notes are theirs to write
    # Not in the toolbar either, and asking for the forms does not open them.
    for name in ("reply", "phone"):
        assert f'data-action="{name}"' not in html
        asked = client.get(f"/tickets/{ticket.id}?action={name}").text
        assert "Send reply" not in asked
        assert "Add phone note" not in asked
        assert client.get(f"/tickets/{ticket.id}/actions/{name}").status_code == 404
    before = snapshot(session, ticket)

    response = post_action(client, ticket, "reply", body="Dear John, here is the answer")

    assert response.status_code == 403
    assert snapshot(session, ticket) == before


# --- what the actions do -------------------------------------------------------------------


def test_a_reply_goes_to_the_outbox_and_locks_the_ticket(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    first = session.scalars(select(Article).where(Article.ticket_id == ticket.id)).one()
    first.message_id = "<question-1@acme.example>"
    session.flush()
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text
    assert "Dear John Doe," in page  # the salutation of the queue, filled in

    response = client.post(
        f"/tickets/{ticket.id}/reply",
        data={"csrf_token": csrf_token_in(page), "subject": "Your password", "body": "Please reset it."},
    )

    assert response.status_code == 303
    session.expire_all()
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).one()
    assert mail.to_addr == "john.doe@acme.example"
    # The mail is composed from the reply article; the outbox row is its envelope.
    reply = session.get(Article, mail.article_id)
    assert reply.subject == f"[Ticket#{ticket.number}] Your password"
    assert reply.in_reply_to == "<question-1@acme.example>"
    assert reply.body_text == "Please reset it."
    assert reply.is_visible_for_customer
    assert reply.message_id == mail.message_id
    assert ticket.locked_by.login == "secretary"
    assert "Your reply was sent to the customer." in client.get(f"/tickets/{ticket.id}").text


def test_a_template_fills_the_reply(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text
    template_id = page.split('name="template"', 1)[1].split('<option value="', 2)[2].split('"', 1)[0]

    html = client.get(f"/tickets/{ticket.id}?template={template_id}").text

    assert f"your ticket {ticket.number}: you can reset your password yourself" in html


def test_a_reply_with_an_attachment(client, login, session):
    import io

    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text

    client.post(
        f"/tickets/{ticket.id}/reply",
        data={
            "csrf_token": csrf_token_in(page),
            "body": "See the guide.",
            "attachments": (io.BytesIO(b"guide"), "guide.txt"),
        },
        content_type="multipart/form-data",
    )

    session.expire_all()
    reply = session.scalars(
        select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id.desc())
    ).first()
    assert [a.filename for a in reply.attachments] == ["guide.txt"]


def test_a_reply_to_a_ticket_locked_by_someone_else_is_a_message(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    tickets.lock(session, actor=agent("admin"), ticket=ticket)
    session.flush()
    login("secretary")
    before = snapshot(session, ticket)

    response = post_action(client, ticket, "reply", body="Hello")

    # The page comes back with the refusal (and the typed text: tests/web/test_typed_text.py).
    assert response.status_code == 422
    assert "locked by Ada Admin" in response.text
    assert snapshot(session, ticket) == before


def test_internal_note_and_phone_note(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")

    post_action(client, ticket, "note", body="Checked the directory")
    post_action(client, ticket, "phone", body="John called again")

    session.expire_all()
    notes = session.scalars(select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id)).all()[
        -2:
    ]
    assert [(a.channel, a.is_visible_for_customer) for a in notes] == [("note", False), ("phone", True)]


def test_move_owner_state_priority(client, login, session, queue, agent):
    ticket = ticket_titled(session, "I forgot my password")
    login("admin")

    post_action(client, ticket, "owner", agent=str(agent("secretary").id))
    post_action(client, ticket, "responsible", agent=str(agent("alice").id))
    pending = session.scalars(select(State).where(State.name == "pending reminder")).one()
    post_action(client, ticket, "state", state=str(pending.id), pending_until="2030-01-02T03:04")
    post_action(client, ticket, "priority", priority="5")
    post_action(client, ticket, "move", queue=str(queue("1st level").id))

    session.expire_all()
    assert ticket.owner.login == "secretary"
    assert ticket.responsible.login == "alice"
    assert ticket.state.name == "pending reminder"
    assert ticket.pending_until == datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
    assert ticket.priority == 5
    assert ticket.queue.name == "1st level"


def test_a_pending_state_without_time_is_a_message_and_changes_nothing(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    pending = session.scalars(select(State).where(State.name == "pending reminder")).one()
    login("admin")
    before = snapshot(session, ticket)

    response = post_action(client, ticket, "state", state=str(pending.id))

    assert response.status_code == 422
    assert "needs a pending-until time" in response.text
    assert snapshot(session, ticket) == before


def test_link_and_merge(client, login, session, queue, customer):
    ticket = ticket_titled(session, "I forgot my password")
    duplicate = tickets.create_ticket(
        session,
        actor=SYSTEM,
        title="Password again",
        queue=queue("Raw"),
        customer_user=customer("john.doe@acme.example"),
    )
    session.flush()
    other = ticket_titled(session, "Printer on 3rd floor jams")
    login("admin")

    post_action(client, ticket, "link", number=other.number, kind="parent_child")
    post_action(client, duplicate, "merge", number=ticket.number)
    unknown = post_action(client, ticket, "merge", number="123")

    session.expire_all()
    assert duplicate.merged_into_id == ticket.id
    page = client.get(f"/tickets/{ticket.id}").text
    assert "parent of" in page
    assert other.number in page
    assert unknown.status_code == 422
    assert "no ticket 123" in unknown.text
    assert 'value="123"' in unknown.text  # the typed number comes back


def test_an_unknown_action_is_not_found(client, login, session):
    login("admin")
    assert post_action(client, ticket_titled(session, "I forgot my password"), "delete").status_code == 404
