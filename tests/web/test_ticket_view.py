"""The ticket view: facts, lock and unlock (S14), safe article bodies, attachments, task forms (S4)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import utcnow
from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from engine import runtime
from tests.web import test_inbox
from tests.web.conftest import csrf_token_in
from tests.web.test_inbox import task_of

started = test_inbox.started  # the fixture: deployed processes, triage started

HOSTILE = (
    '<p>Hello</p><script>alert("article")</script>'
    '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)" onclick="alert(4)">click</a>'
    '<img src="https://tracker.example/pixel.png" alt="pixel">'
    '<svg onload="alert(5)"></svg><iframe src="https://evil.example"></iframe>'
)


def ticket_titled(session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def test_the_page_shows_the_ticket_facts_and_thread(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    login("secretary")

    response = client.get(f"/tickets/{ticket.id}")

    assert response.status_code == 200
    html = response.text
    assert ticket.number in html
    assert "I forgot my password" in html
    assert "John Doe" in html
    assert "john.doe@acme.example" in html
    assert "Hello, I cannot log in since this morning. John" in html
    assert "Visible to the customer" in html
    assert "Unlocked" in html
    assert "NewTicket" in html  # the history


def test_internal_and_visible_articles_are_distinct(client, login, session, agent):
    ticket = ticket_titled(session, "I forgot my password")
    articles.add_article(
        session, actor=agent("secretary"), ticket=ticket, channel="note", body_text="Just between us"
    )
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    internal = html.split("Just between us")[0].rsplit("<article", 1)[1]
    assert "article--internal" in internal
    assert "Internal" in internal


def test_escalation_due_times_are_shown_when_set(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    ticket.first_response_due = ticket.created_at
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text
    assert "First response due" in html
    assert 'class="badge badge--breached">breached<' in html  # its time has passed


def test_a_due_time_still_ahead_is_not_marked_breached(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    ticket.solution_due = utcnow() + timedelta(days=2)
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text
    assert "Solution due" in html
    assert "badge--breached" not in html


def test_a_ticket_of_another_queue_is_refused(client, login, session):
    login("alice")  # no right on Finance

    response = client.get(f"/tickets/{ticket_titled(session, 'Refund for double invoice').id}")

    assert response.status_code == 403
    assert client.get("/tickets/999999999").status_code == 404
    assert client.get("/tickets/99999999999999").status_code == 404


def test_every_demo_ticket_page_renders_for_the_admin(client, login, session):
    login("admin")
    for ticket in session.scalars(select(Ticket)):
        response = client.get(f"/tickets/{ticket.id}")
        assert response.status_code == 200, ticket.title
        assert "History" in response.text


# --- S14: who holds the lock, and one-click unlock --------------------------------------


def test_a_second_agent_sees_who_locked_it_and_unlocks_in_one_click(client, login, session, agent, started):
    ticket = started["I forgot my password"]
    runtime.claim(session, actor=agent("secretary"), task_id=task_of(session, ticket).id)
    session.flush()
    assert ticket.locked_by_id == agent("secretary").id
    login("admin")

    page = client.get(f"/tickets/{ticket.id}").text
    assert "Locked by Sam Secretary" in page
    response = client.post(f"/tickets/{ticket.id}/unlock", data={"csrf_token": csrf_token_in(page)})

    assert response.status_code == 303
    session.expire_all()
    assert ticket.locked_by_id is None
    assert "The ticket is unlocked." in client.get(response.headers["Location"]).text


# --- article bodies ---------------------------------------------------------------------


def test_hostile_html_is_not_executed_and_remote_images_stay_blocked(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    article = articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        body_text="Hello",
        # Stored as it came (as if the sanitizer had been bypassed): the page must still be inert.
        body_html=HOSTILE,
    )
    session.flush()
    login("secretary")

    response = client.get(f"/tickets/{ticket.id}")

    html = response.text
    body = html.split(f'id="article-{article.id}"', 1)[1].split("</article>", 1)[0]
    assert "<script" not in body
    assert "alert(" not in body
    assert not re.search(r"\son\w+\s*=", body)
    assert "javascript:" not in body
    assert "<iframe" not in body
    assert not re.search(r'\ssrc="https://tracker', body)
    assert 'data-remote-src="https://tracker.example/pixel.png"' in body
    assert f'href="?images=1#article-{article.id}"' in body
    assert "https:" not in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' only

    with_images = client.get(f"/tickets/{ticket.id}?images=1")
    assert "img-src 'self' data: https:" in with_images.headers["Content-Security-Policy"]
    assert f'data-show-images="article-{article.id}"' in with_images.text
    assert "<script>alert" not in with_images.text


def test_quoted_text_is_collapsed(client, login, session):
    ticket = ticket_titled(session, "I forgot my password")
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        body_text="Still broken.\n\nOn Mon, 3 Nov 2026 Help Desk wrote:\n> Please try again\n> Regards",
    )
    session.flush()
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    assert re.search(
        r"<details class=\"quote\">.*On Mon, 3 Nov 2026 Help Desk wrote:.*&gt; Please try again", html, re.S
    )
    assert "<pre>Still broken.</pre>" in html


# --- attachments ------------------------------------------------------------------------


@pytest.fixture
def files(session):
    ticket = ticket_titled(session, "Refund for double invoice")
    article = articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        body_text="See attached",
        attachments=[
            AttachmentDraft(filename="Rechnung März.pdf", content_type="application/pdf", data=b"%PDF-1.4"),
            AttachmentDraft(filename="shot.png", content_type="image/png", data=b"\x89PNG\r\n"),
            AttachmentDraft(filename='evil".html', content_type="text/html", data=b"<script>x</script>"),
        ],
    )
    session.flush()
    return {a.filename: a for a in article.attachments}


def test_attachments_download_with_safe_headers(client, login, files):
    login("admin")

    pdf = client.get(f"/attachments/{files['Rechnung März.pdf'].id}")
    png = client.get(f"/attachments/{files['shot.png'].id}")
    evil = files['evil".html']
    html = client.get(f"/attachments/{evil.id}")

    assert pdf.status_code == 200
    assert pdf.data == b"%PDF-1.4"
    assert pdf.headers["Content-Disposition"] == (
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    )
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert png.headers["Content-Disposition"].startswith("inline;")
    assert png.headers["Content-Type"] == "image/png"
    assert html.headers["Content-Disposition"].startswith('attachment; filename="evil_.html"')
    assert html.headers["Content-Type"] == "application/octet-stream"


def test_attachments_are_listed_and_need_the_ticket_read_right(client, login, session, files):
    login("admin")
    page = client.get(f"/tickets/{ticket_titled(session, 'Refund for double invoice').id}").text
    assert f'href="/attachments/{files["shot.png"].id}"' in page
    client.post("/logout", data={"csrf_token": csrf_token_in(page)})

    login("alice")  # no right on Finance
    assert client.get(f"/attachments/{files['shot.png'].id}").status_code == 403
    assert client.get("/attachments/999999999").status_code == 404


# --- process tasks (S4) -----------------------------------------------------------------


def test_the_triage_form_is_rendered_from_its_json_schema(client, login, session, started):
    ticket = started["I forgot my password"]
    login("secretary")

    html = client.get(f"/tickets/{ticket.id}").text

    assert "Open tasks" in html
    assert 'type="radio" name="decision" value="move"' in html
    assert "Move it to another queue" in html
    # The target queue is a picker of the queues the secretary may move the ticket to.
    assert re.search(r'<select id="task-\d+-target_queue" name="target_queue"', html)
    assert '<option value="2nd level">2nd level</option>' in html
    assert '<textarea id="task-' in html  # question: maxLength 5000
    assert ">Complete</button>" in html


def test_completing_triage_moves_the_ticket(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text

    response = client.post(
        f"/tasks/{task.id}/complete",
        data={
            "csrf_token": csrf_token_in(page),
            "decision": "move",
            "target_queue": "2nd level",
            "question": "",
        },
    )

    assert response.status_code == 303
    session.expire_all()
    assert ticket.queue.name == "2nd level"
    assert task.state == "completed"
    assert task_of(session, ticket, "Work").state == "open"


def test_invalid_task_data_shows_the_field_error_and_changes_nothing(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("secretary")
    page = client.get(f"/tickets/{ticket.id}").text

    response = client.post(
        f"/tasks/{task.id}/complete", data={"csrf_token": csrf_token_in(page), "decision": "move"}
    )

    assert response.status_code == 422
    error = re.search(r'id="task-\d+-target_queue-error">([^<]*)<', response.text)
    assert error is not None
    assert "required" in error.group(1)
    assert 'value="move" checked' in response.text  # the choice is kept
    session.expire_all()
    assert ticket.queue.name == "Raw"
    assert task.state == "open"


def test_a_non_candidate_sees_the_task_read_only_and_cannot_complete_it(client, login, session, started):
    ticket = started["I forgot my password"]
    task = task_of(session, ticket)
    login("alice")  # reads Raw, but only secretaries (rw on Raw) triage

    page = client.get(f"/tickets/{ticket.id}").text
    assert "it is shown read-only" in page
    assert "<fieldset disabled>" in page
    assert ">Complete</button>" not in page

    response = client.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": csrf_token_in(page), "decision": "close"},
    )
    assert response.status_code == 403
    session.expire_all()
    assert task.state == "open"


def test_a_task_claimed_by_someone_else_shows_who(client, login, session, agent, started):
    ticket = started["I forgot my password"]
    runtime.claim(session, actor=agent("admin"), task_id=task_of(session, ticket).id)
    tickets.unlock(session, actor=agent("admin"), ticket=ticket)
    session.flush()
    login("secretary")

    page = client.get(f"/tickets/{ticket.id}").text

    assert "Claimed by Ada Admin" in page
    assert ">Complete</button>" not in page


def test_the_delivery_state_of_sent_mail_is_shown_on_the_ticket(client, login, session):
    from desk.article import reply

    ticket = ticket_titled(session, "I forgot my password")
    waiting = reply.mail_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        to_addr="john.doe@acme.example",
        subject="Still waiting",
        body_text="One",
        visible_for_customer=True,
    )
    failed = reply.mail_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        to_addr="nobody@nowhere.example",
        subject="Bounced",
        body_text="Two",
        visible_for_customer=False,
    )
    from desk.outbox.models import OutboxMessage

    row = session.scalars(select(OutboxMessage).where(OutboxMessage.article_id == failed.id)).one()
    row.status, row.last_error, row.attempts, row.next_attempt_at = (
        "failed",
        "550 5.1.1 No such user",
        1,
        None,
    )
    session.flush()
    login("admin")

    html = client.get(f"/tickets/{ticket.id}").text

    waiting_part = html[html.index(f'id="article-{waiting.id}"') :]
    assert "Waiting in the outbox" in waiting_part.split("</article>")[0]
    failed_part = html[html.index(f'id="article-{failed.id}"') :].split("</article>")[0]
    assert "Delivery failed: 550 5.1.1 No such user" in failed_part
