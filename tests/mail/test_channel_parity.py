"""A customer's answer is one use case whatever way it arrives: SMTP, the MTA pipe, the API.

Three tickets wait for the customer's answer to the agent's question (the Triage choice "ask
the customer").  The same answer arrives for each, once through our SMTP receiver, once through
``ticketflow mail ingest`` in a process of its own, once through the API with the customer's
token; each wakes its process the same way and leaves the same rows.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select

from core.config import get_settings
from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.agent.models import Agent
from desk.customer.models import CustomerUser
from desk.queue.models import Queue
from desk.ticket.models import Ticket
from engine.models import HumanTask
from flows import tasks as task_flows
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from tests.flows.rows import marks, snapshot
from tests.mail.conftest import build_mail, send
from tests.subprocesses import TICKETFLOW, ticketflow_env
from web import create_app

ANSWER = "It is a LaserJet 4000; its display says 'paper jam'."


def _waiting_ticket(session, n: int) -> Ticket:
    john = session.scalars(select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")).one()
    alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()
    queue = session.scalars(select(Queue).where(Queue.name == "1st level")).one()
    opened = open_ticket(
        session,
        actor=SYSTEM,
        queue=queue,
        title=f"Printer trouble {n}",
        customer_user=john,
        first=ArticleDraft(
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject=f"Printer trouble {n}",
            body_text="Every page comes out blank.",
            from_addr=john.email,
        ),
    )
    task = session.scalars(select(HumanTask).where(HumanTask.ticket_id == opened.ticket.id)).one()
    task_flows.claim(session, actor=alice, task_id=task.id)
    task_flows.complete(
        session,
        actor=alice,
        task_id=task.id,
        data={"decision": "ask_customer", "question": "Which printer model is it?", "reminder_days": 3},
    )
    return opened.ticket


def _answer(ticket: Ticket) -> bytes:
    mail = build_mail(
        sender="john.doe@acme.example", subject=f"Re: [Ticket#{ticket.number}] {ticket.title}", body=ANSWER
    )
    return mail.as_bytes()


def test_the_answer_is_the_same_by_smtp_by_pipe_and_through_the_api(
    mail_env, mail_database, receiver, drain, tmp_path: Path
):
    with session_scope(mail_env) as session:
        by_smtp, by_pipe, by_api = (_waiting_ticket(session, n) for n in range(3))
        token = agents.create_customer_token(
            session, actor=SYSTEM, customer=by_api.customer_user, name="parity"
        )
    drain()
    with session_scope(mail_env) as session:
        article_mark, history_mark = marks(session)
        for ticket in (by_smtp, by_pipe, by_api):
            assert snapshot(session, ticket)["state"] == "pending reminder"

    send(
        receiver,
        build_mail(sender="john.doe@acme.example", subject=f"Re: [Ticket#{by_smtp.number}] x", body=ANSWER),
    )
    drain()
    piped = subprocess.run(
        [TICKETFLOW, "mail", "ingest"],
        check=False,
        input=_answer(by_pipe),
        env=ticketflow_env(mail_database, tmp_path),
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr.decode()
    client = create_app(get_settings(), session_factory=mail_env).test_client()
    response = client.post(
        f"/api/v1/tickets/{by_api.id}/articles",
        json={"body": ANSWER},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    drain()

    with session_scope(mail_env) as session:
        rows = {
            name: snapshot(session, ticket, since_article=article_mark, since_history=history_mark)
            for name, ticket in (("smtp", by_smtp), ("pipe", by_pipe), ("api", by_api))
        }
    for name, found in rows.items():
        [article] = found["articles"]
        assert (article["sender_type"], article["visible"], article["body"].strip()) == (
            "customer",
            True,
            ANSWER,
        ), name
        assert found["process_messages"][-1] == ("customer_replied", "delivered"), name
        assert found["open_tasks"] == ["Triage"], name
        assert (found["state"], found["pending"]) == ("open", False), name
        # What differs by nature: a mail has a subject, recipients and its channel; the API
        # knows the customer who wrote, the mail gateway records the mail's sender address.
        for key in ("channel", "subject", "to", "author"):
            article.pop(key)
    assert rows["smtp"] == rows["pipe"] == rows["api"]
