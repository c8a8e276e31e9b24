"""A new phone ticket: the form, what it creates, who may use it, and invalid input."""

from __future__ import annotations

from sqlalchemy import func, select

from desk.actor import SYSTEM
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.ticket.models import Ticket
from engine import definitions
from engine.models import ProcessInstance
from tests.web.conftest import csrf_token_in

URL = "/tickets/new/phone"


def post_phone(client, **data):
    page = client.get(URL)
    assert page.status_code == 200
    return client.post(URL, data={"csrf_token": csrf_token_in(page.text), **data})


def queue_id(queue, name: str) -> str:
    return str(queue(name).id)


def counts(session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(Ticket)),
        session.scalar(select(func.count()).select_from(Article)),
        session.scalar(select(func.count()).select_from(CustomerUser)),
    )


def test_the_header_links_to_the_form_which_lists_the_queues_with_create(client, login):
    login("alice")

    assert 'href="/tickets/new/phone"' in client.get("/").text
    page = client.get(URL).text
    assert "New phone ticket" in page
    assert ">1st level</option>" in page
    assert ">Raw</option>" not in page  # Alice may only move tickets into Raw


def test_a_phone_ticket_for_a_known_customer(client, login, session, queue, customer, agent):
    john = customer("john.doe@acme.example")
    login("alice")

    response = post_phone(
        client,
        queue=queue_id(queue, "1st level"),
        customer_email="John.Doe@acme.example",
        title="Cannot print",
        body="He says the printer shows error 42.",
    )

    assert response.status_code == 303
    ticket = session.scalars(select(Ticket).where(Ticket.title == "Cannot print")).one()
    assert response.headers["Location"].endswith(f"/tickets/{ticket.id}")
    assert ticket.queue.name == "1st level"
    assert ticket.customer_user_id == john.id
    (article,) = session.scalars(select(Article).where(Article.ticket_id == ticket.id))
    assert article.channel == "phone"
    assert article.sender_type == "customer"
    assert article.is_visible_for_customer
    assert article.body_text == "He says the printer shows error 42."
    # No process is deployed in this test: none is started.
    assert session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id)).all() == []
    assert "Phone ticket" in client.get(response.headers["Location"]).text


def test_an_unknown_caller_becomes_a_customer_and_the_process_starts(client, login, session, queue):
    definitions.deploy_directory(session, actor=SYSTEM)
    session.flush()
    login("alice")

    response = post_phone(
        client,
        queue=queue_id(queue, "1st level"),
        customer_email="new.caller@example.org",
        title="Where is my order?",
        body="Ordered last week.",
    )

    assert response.status_code == 303
    ticket = session.scalars(select(Ticket).where(Ticket.title == "Where is my order?")).one()
    assert ticket.customer_user is not None
    assert ticket.customer_user.email == "new.caller@example.org"
    (instance,) = session.scalars(select(ProcessInstance).where(ProcessInstance.ticket_id == ticket.id))
    assert instance.process_version.process_id == "ticket_handling"


def test_invalid_input_shows_the_form_again_and_creates_nothing(client, login, session, queue):
    login("alice")
    before = counts(session)

    response = post_phone(
        client, queue=queue_id(queue, "1st level"), customer_email="not-an-address", title="  ", body=""
    )

    assert response.status_code == 422
    assert 'id="customer_email-error"' in response.text
    assert 'id="title-error"' in response.text
    assert 'id="body-error"' in response.text
    assert 'value="not-an-address"' in response.text  # the input is kept
    assert counts(session) == before


def test_a_queue_without_the_create_right_is_refused(client, login, session, queue):
    login("alice")
    before = counts(session)

    response = post_phone(
        client, queue=queue_id(queue, "Finance"), customer_email="x@example.org", title="T", body="B"
    )

    assert response.status_code == 422  # not one of the offered queues
    assert 'id="queue-error"' in response.text
    assert counts(session) == before


def test_create_without_rw_is_a_permission_error(client, login, session, queue):
    login("trainee")  # create and note in 1st level, but may not write what customers see
    before = counts(session)

    response = post_phone(
        client, queue=queue_id(queue, "1st level"), customer_email="x@example.org", title="T", body="B"
    )

    assert response.status_code == 403
    assert counts(session) == before


def test_the_observer_may_not_open_phone_tickets(client, login, queue):
    login("observer")

    assert 'href="/tickets/new/phone"' not in client.get("/").text
    assert client.get(URL).status_code == 403
    token = csrf_token_in(client.get("/").text)
    response = client.post(
        URL,
        data={
            "csrf_token": token,
            "queue": queue_id(queue, "1st level"),
            "customer_email": "x@example.org",
            "title": "T",
            "body": "B",
        },
    )
    assert response.status_code == 403
