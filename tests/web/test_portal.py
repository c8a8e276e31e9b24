"""The customer portal (/portal): sign-in by password and by link, separate sessions, the
customer's tickets, replies with attachments, new tickets, close and reopen, and 404 for
everything a customer may not see."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from core.db import utcnow
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.demo import DEMO_PASSWORD
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.portal.models import CustomerSession, SignInLink
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine.models import HumanTask, ProcessMessage
from flows import tasks as task_flows
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from tests.web.conftest import csrf_token_in, sign_in

JOHN = "john.doe@acme.example"
JANE = "jane.roe@acme.example"
IVAN = "ivan.petrov@globex.example"
_LINK = re.compile(r"https?://[^/\s]+(/portal/sign-in/link/[A-Za-z0-9_\-]+)")


def portal_sign_in(client: FlaskClient, login: str, password: str = DEMO_PASSWORD) -> TestResponse:
    """Sign in on the portal's form as a browser would."""
    page = client.get("/portal/sign-in")
    return client.post(
        "/portal/sign-in",
        data={"login": login, "password": password, "csrf_token": csrf_token_in(page.text)},
    )


def post(client: FlaskClient, page_path: str, action: str, **data: object) -> TestResponse:
    """Submit a form of ``page_path`` to ``action`` with the page's CSRF token."""
    page = client.get(page_path)
    return client.post(action, data={"csrf_token": csrf_token_in(page.text), **data})


def ticket_of(session, customer, title: str, queue: str = "1st level", **extra: str) -> Ticket:
    ticket = tickets.create_ticket(
        session, actor=SYSTEM, title=title, queue=queue_by(session, queue), customer_user=customer
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        subject=title,
        body_text=extra.get("body", "Please help."),
        from_addr=customer.email,
        attachments=[AttachmentDraft(filename="screen.txt", content_type="text/plain", data=b"screen")],
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="note",
        sender_type="agent",
        visible_for_customer=False,
        subject="internal",
        body_text="INTERNAL: the customer's printer is ancient",
        attachments=[AttachmentDraft(filename="internal.txt", content_type="text/plain", data=b"secret")],
    )
    session.flush()
    return ticket


def queue_by(session, name: str):
    from desk.queue.models import Queue

    return session.scalars(select(Queue).where(Queue.name == name)).one()


@pytest.fixture
def world(session, customer):
    """John has two tickets, Jane (his colleague at ACME) one, Ivan (Globex) one."""
    john, jane, ivan = customer(JOHN), customer(JANE), customer(IVAN)
    return {
        "john1": ticket_of(session, john, "VPN down for John"),
        "john2": ticket_of(session, john, "Printer jams for John"),
        "jane": ticket_of(session, jane, "Mailbox full for Jane"),
        "ivan": ticket_of(session, ivan, "Laptop slow for Ivan"),
    }


@pytest.fixture
def deployed(session):
    """The default processes, deployed as at installation."""
    from engine import definitions

    return definitions.deploy_directory(session, actor=SYSTEM)


def _attachment_id(ticket: Ticket, name: str) -> int:
    return next(a.id for art in ticket.articles for a in art.attachments if a.filename == name)


# --- signing in ----------------------------------------------------------------------------


def test_a_customer_signs_in_with_a_password_and_sees_own_and_company_tickets(client, world, customer):
    response = portal_sign_in(client, customer(JOHN).login)
    assert response.status_code == 303
    page = client.get("/portal/")
    assert "VPN down for John" in page.text
    assert "Printer jams for John" in page.text
    # Company visibility is on for John: his colleague's ticket is listed, Globex's is not.
    assert "Mailbox full for Jane" in page.text
    assert "Laptop slow for Ivan" not in page.text


def test_without_company_visibility_only_own_tickets(client, world, customer, session):
    john = customer(JOHN)
    john.sees_company_tickets = False
    session.flush()
    portal_sign_in(client, john.login)
    page = client.get("/portal/")
    assert "VPN down for John" in page.text
    assert "Mailbox full for Jane" not in page.text
    assert client.get(f"/portal/tickets/{world['jane'].id}").status_code == 404


def test_a_wrong_password_is_refused_with_the_login_kept(client, world, customer):
    response = portal_sign_in(client, customer(JOHN).login, "wrong")
    assert response.status_code == 422
    assert "not correct" in response.text
    assert f'value="{customer(JOHN).login}"' in response.text
    assert client.get("/portal/").status_code == 302


def test_password_guessing_is_rate_limited(client, world, customer):
    for _ in range(4):
        portal_sign_in(client, customer(JOHN).login, "wrong")
    response = portal_sign_in(client, customer(JOHN).login)
    assert response.status_code == 429
    assert "Too many attempts" in response.text
    assert client.get("/portal/").status_code == 302


def _ask_link(client: FlaskClient, email: str) -> TestResponse:
    return post(client, "/portal/sign-in", "/portal/sign-in/link", email=email)


def _link_path(session, email: str) -> str:
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_addr == email).order_by(OutboxMessage.id.desc())
    ).first()
    assert mail is not None
    assert mail.body_text is not None
    match = _LINK.search(mail.body_text)
    assert match, mail.body_text
    return match.group(1)


def test_a_sign_in_link_arrives_by_the_outbox_and_works_once(client, world, session, customer):
    response = _ask_link(client, JOHN)
    assert response.status_code == 200
    assert "Check your mail" in response.text
    session.expire_all()
    path = _link_path(session, JOHN)
    # Only the hash is stored: the token of the mail is nowhere in the table.
    token = path.rsplit("/", 1)[1]
    assert all(token not in row.token_hash for row in session.scalars(select(SignInLink)))
    # Opening the link only asks to confirm: a mail scanner fetching it uses nothing up.
    confirm = client.get(path)
    assert "Sign in now" in confirm.text
    used = client.post(path, data={"csrf_token": csrf_token_in(confirm.text)})
    assert used.status_code == 303
    assert "VPN down for John" in client.get("/portal/").text

    other = client.application.test_client()
    again = other.get(path)
    second = other.post(path, data={"csrf_token": csrf_token_in(again.text)})
    assert second.status_code == 404
    assert "not valid any more" in second.text
    assert other.get("/portal/").status_code == 302


def test_the_link_mail_goes_only_to_the_customer_as_automatic_mail(client, world, session):
    _ask_link(client, JOHN)
    session.expire_all()
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == JOHN)).one()
    assert (mail.cc_addr, mail.ticket_id, mail.auto_submitted) == ("", None, "auto-generated")
    assert mail.body_text is not None
    assert mail.body_text.startswith("Hello John Doe,")
    assert "works once and for 15 minutes" in mail.body_text


def test_the_portal_speaks_the_customers_language(client, world, session, customer):
    customer(JOHN).language = "de"
    session.flush()
    portal_sign_in(client, customer(JOHN).login)
    assert '<html lang="de">' in client.get("/portal/", headers={"Accept-Language": "hu"}).text
    # Before signing in, the browser's preference decides.
    other = client.application.test_client()
    assert '<html lang="hu">' in other.get("/portal/sign-in", headers={"Accept-Language": "hu"}).text


def test_an_expired_link_opens_nothing(client, world, session):
    _ask_link(client, JOHN)
    session.expire_all()
    path = _link_path(session, JOHN)
    for row in session.scalars(select(SignInLink)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    confirm = client.get(path)
    response = client.post(path, data={"csrf_token": csrf_token_in(confirm.text)})
    assert response.status_code == 404
    assert client.get("/portal/").status_code == 302


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, world, session):
    response = _ask_link(client, "nobody@nowhere.example")
    assert response.status_code == 200
    assert "Check your mail" in response.text
    session.expire_all()
    assert (
        session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == "nobody@nowhere.example")).all()
        == []
    )


def test_links_are_rate_limited_per_address(client, world, session):
    for _ in range(3):
        assert _ask_link(client, JOHN).status_code == 200
    refused = _ask_link(client, JOHN)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    session.expire_all()
    assert len(session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == JOHN)).all()) == 3


def test_a_bad_address_is_a_field_error_with_the_value_kept(client, world):
    response = _ask_link(client, "not an address")
    assert response.status_code == 422
    assert "Enter your e-mail address." in response.text
    assert 'value="not an address"' in response.text


def test_forms_without_csrf_are_refused(client, world, customer):
    response = client.post("/portal/sign-in", data={"login": customer(JOHN).login, "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert client.get("/portal/").status_code == 302


# --- the two sessions are separate ---------------------------------------------------------


def test_a_customer_session_does_not_open_agent_pages(client, world, customer):
    portal_sign_in(client, customer(JOHN).login)
    cookie = client.get_cookie("ticketflow_portal", path="/portal")
    assert cookie is not None
    assert cookie.path == "/portal"
    assert cookie.http_only
    dashboard = client.get("/")
    assert dashboard.status_code == 302
    assert "/login" in dashboard.headers["Location"]
    assert client.get(f"/tickets/{world['john1'].id}").status_code == 302


def test_an_agent_session_does_not_open_the_portal(client, world):
    assert sign_in(client, "admin").status_code in (302, 303)
    assert client.get("/").status_code == 200
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/portal/sign-in")


def test_signing_out_ends_the_session_on_the_server(client, world, customer, session):
    portal_sign_in(client, customer(JOHN).login)
    post(client, "/portal/", "/portal/sign-out")
    session.expire_all()
    assert all(row.revoked_at is not None for row in session.scalars(select(CustomerSession)))
    assert client.get("/portal/").status_code == 302


# --- reading -------------------------------------------------------------------------------


def test_the_ticket_shows_only_customer_visible_articles(client, world, customer):
    portal_sign_in(client, customer(JOHN).login)
    page = client.get(f"/portal/tickets/{world['john1'].id}")
    assert page.status_code == 200
    assert "Please help." in page.text
    assert "screen.txt" in page.text
    assert "INTERNAL" not in page.text
    assert "internal.txt" not in page.text


def test_another_customers_ticket_attachment_and_api_id_are_404(client, world, customer, session):
    portal_sign_in(client, customer(JOHN).login)
    ivan = world["ivan"]
    assert client.get(f"/portal/tickets/{ivan.id}").status_code == 404
    assert client.get(f"/portal/tickets/{ivan.id}").text.count("Ivan") == 0
    assert client.get(f"/portal/attachments/{_attachment_id(ivan, 'screen.txt')}").status_code == 404
    # His own ticket's internal attachment is not found either.
    assert (
        client.get(f"/portal/attachments/{_attachment_id(world['john1'], 'internal.txt')}").status_code == 404
    )
    assert client.get(f"/portal/attachments/{_attachment_id(world['john1'], 'screen.txt')}").data == b"screen"
    assert post(client, "/portal/", f"/portal/tickets/{ivan.id}/reply", body="hi").status_code == 404
    assert post(client, "/portal/", f"/portal/tickets/{ivan.id}/close").status_code == 404

    from desk.agent import service as agents

    token = agents.create_customer_token(session, actor=SYSTEM, customer=customer(JOHN), name="portal test")
    api = client.get(f"/api/v1/tickets/{ivan.id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 404


def test_a_colleagues_ticket_is_readable_but_not_closable(client, world, customer):
    portal_sign_in(client, customer(JOHN).login)
    page = client.get(f"/portal/tickets/{world['jane'].id}")
    assert "Mailbox full for Jane" in page.text
    assert "opened by Jane Roe" in page.text
    assert "Close this ticket" not in page.text
    assert post(client, "/portal/", f"/portal/tickets/{world['jane'].id}/close").status_code == 409


# --- writing -------------------------------------------------------------------------------


def _waiting_ticket(session, customer, agent) -> Ticket:
    """A ticket whose process waits for John's answer (Triage chose "ask the customer")."""
    john = customer(JOHN)
    opened = open_ticket(
        session,
        actor=SYSTEM,
        queue=queue_by(session, "1st level"),
        title="Printer trouble",
        customer_user=john,
        first=ArticleDraft(
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject="Printer trouble",
            body_text="Every page comes out blank.",
            from_addr=john.email,
        ),
    )
    task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == opened.ticket.id)).one()
    alice: Agent = agent("alice")
    task_flows.claim(session, actor=alice, task_id=task.id)
    task_flows.complete(
        session,
        actor=alice,
        task_id=task.id,
        data={"decision": "ask_customer", "question": "Which printer model is it?", "reminder_days": 3},
    )
    session.flush()
    return opened.ticket


def test_a_reply_with_an_attachment_wakes_the_process(client, session, customer, agent, deployed):
    ticket = _waiting_ticket(session, customer, agent)
    assert ticket.state.name == "pending reminder"
    portal_sign_in(client, customer(JOHN).login)
    page = client.get(f"/portal/tickets/{ticket.id}")
    response = client.post(
        f"/portal/tickets/{ticket.id}/reply",
        data={
            "csrf_token": csrf_token_in(page.text),
            "body": "It is a LaserJet 4000.",
            "attachments": [(io.BytesIO(b"%PDF-1.4 photo"), "display.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    session.expire_all()
    article = session.scalars(
        select(Article).where(Article.ticket_id == ticket.id).order_by(Article.id.desc())
    ).first()
    assert article is not None
    assert (article.body_text, article.sender_type, article.channel) == (
        "It is a LaserJet 4000.",
        "customer",
        "web",
    )
    assert article.is_visible_for_customer
    assert article.created_by_customer_id == customer(JOHN).id
    assert [a.filename for a in article.attachments] == ["display.pdf"]
    messages = session.scalars(select(ProcessMessage).where(ProcessMessage.ticket_id == ticket.id)).all()
    assert [(m.name, m.status) for m in messages][-1] == ("customer_replied", "delivered")
    shown = client.get(response.headers["Location"])
    assert "Your message was added" in shown.text
    assert "display.pdf" in shown.text


def test_an_empty_reply_is_a_field_error(client, world, customer):
    portal_sign_in(client, customer(JOHN).login)
    response = post(
        client,
        f"/portal/tickets/{world['john1'].id}",
        f"/portal/tickets/{world['john1'].id}/reply",
        body="  ",
    )
    assert response.status_code == 422
    assert "Please write your message." in response.text


def test_a_new_ticket_only_in_customer_facing_queues(client, world, customer, session):
    portal_sign_in(client, customer(JOHN).login)
    page = client.get("/portal/tickets/new")
    assert ">Raw</option>" in page.text
    assert ">Finance</option>" in page.text
    assert "Board" not in page.text
    assert "1st level" not in page.text
    board = queue_by(session, "Board")
    refused = post(
        client,
        "/portal/tickets/new",
        "/portal/tickets/new",
        queue=board.id,
        title="Give me money",
        body="now",
    )
    assert refused.status_code == 422
    assert "Choose a topic." in refused.text
    assert 'value="Give me money"' in refused.text
    session.expire_all()
    assert session.scalars(select(Ticket).where(Ticket.title == "Give me money")).all() == []

    first = queue_by(session, "Raw")
    opened = post(
        client,
        "/portal/tickets/new",
        "/portal/tickets/new",
        queue=first.id,
        title="New mouse",
        body="Mine broke.",
    )
    assert opened.status_code == 303
    session.expire_all()
    ticket = session.scalars(select(Ticket).where(Ticket.title == "New mouse")).one()
    assert ticket.customer_user_id == customer(JOHN).id
    assert ticket.queue.name == "Raw"
    assert [a.body_text for a in ticket.articles] == ["Mine broke."]
    assert "New mouse" in client.get("/portal/").text


def test_close_and_reopen_own_ticket(client, world, customer, session):
    portal_sign_in(client, customer(JOHN).login)
    ticket = world["john1"]
    assert (
        post(client, f"/portal/tickets/{ticket.id}", f"/portal/tickets/{ticket.id}/close").status_code == 303
    )
    session.expire_all()
    assert ticket.state.name == "closed successful"
    closed_page = client.get(f"/portal/tickets/{ticket.id}")
    assert "Reopen this ticket" in closed_page.text
    history = session.scalars(
        select(History).where(History.ticket_id == ticket.id, History.type == "StateUpdate")
    ).all()
    assert history[-1].comment == "closed by the customer in the portal"

    assert (
        post(client, f"/portal/tickets/{ticket.id}", f"/portal/tickets/{ticket.id}/reopen").status_code == 303
    )
    session.expire_all()
    assert ticket.state.type == "open"


def test_no_reopen_where_the_queue_rejects_follow_ups(client, world, customer, session):
    portal_sign_in(client, customer(JOHN).login)
    ticket = world["john2"]
    ticket.queue.follow_up_policy = "reject"
    session.flush()
    post(client, f"/portal/tickets/{ticket.id}", f"/portal/tickets/{ticket.id}/close")
    page = client.get(f"/portal/tickets/{ticket.id}")
    assert "Reopen this ticket" not in page.text
    assert (
        post(client, f"/portal/tickets/{ticket.id}", f"/portal/tickets/{ticket.id}/reopen").status_code == 409
    )
    session.expire_all()
    assert ticket.state.type == "closed"


HOSTILE_IDS = ("0", str(2**31), str(2**63), "-1")
PORTAL_ROUTES = (
    "/portal/tickets/{id}",
    "/portal/tickets/{id}/reply",
    "/portal/tickets/{id}/close",
    "/portal/tickets/{id}/reopen",
    "/portal/attachments/{id}",
)
HOSTILE_FIELDS = {
    "body": "\u202e" * 10 + "x" * 200_001,
    "queue": "²",
    "title": "t" * 300,
    "login": "a" * 201,
    "password": "p" * 2000,
    "email": "a@b" + "c" * 300,
}


def test_hostile_ids_and_fields_are_never_a_server_error(client, world, customer):
    portal_sign_in(client, customer(JOHN).login)
    token = csrf_token_in(client.get("/portal/").text)
    for route in PORTAL_ROUTES:
        for value in HOSTILE_IDS:
            path = route.format(id=value)
            assert client.get(path).status_code in (404, 405), path
            assert client.post(path, data={"csrf_token": token, **HOSTILE_FIELDS}).status_code in (
                404,
                405,
            ), path
    for path in ("/portal/tickets/new", "/portal/sign-in/link", f"/portal/tickets/{world['john1'].id}/reply"):
        response = client.post(path, data={"csrf_token": token, **HOSTILE_FIELDS})
        assert response.status_code == 422, path
    long_link = "/portal/sign-in/link/" + "x" * 500
    assert client.post(long_link, data={"csrf_token": token}).status_code == 404
