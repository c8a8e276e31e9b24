"""One use case, one path: each use case through every channel leaves the same rows.

Each test performs a use case on two equal tickets, once through the web UI and once through
the API (and, for customer messages, once by mail through the pipeline), and compares what a
user would notice: state, articles with their authors and attachments, history, outbox rows
and the composed mails' parts, process messages, process instances and inbox tasks.
"""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.outbox.models import OutboxMessage
from desk.ticket import states
from desk.ticket.models import Ticket
from flows import state as state_flow
from mail.inbound.pipeline import process_raw_mail
from mail.inbound.store import store_raw
from tests.flows.rows import marks, snapshot

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"\x00\xff binary \x01" * 300


def newest_ticket(session) -> Ticket:
    session.expire_all()
    return session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(1)).one()


def outbox_count(session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


# --- open a ticket ------------------------------------------------------------------------


def test_a_phone_ticket_is_the_same_from_the_web_form_and_the_api(
    session, deployed, browser, api, queue, customer
):
    first_level, john = queue("1st level"), customer("john.doe@acme.example")
    fields = {"title": "Monitor flickers", "body": "The caller says the monitor flickers since Monday."}
    web = browser("alice").post_form(
        "/tickets/new/phone",
        "/tickets/new/phone",
        queue=str(first_level.id),
        customer_email=john.email,
        **fields,
    )
    assert web.status_code == 303, web.text
    by_web = newest_ticket(session)
    response = api("alice").post(
        "/tickets",
        json={
            "channel": "phone",
            "queue_id": first_level.id,
            "customer_user_id": john.id,
            "subject": fields["title"],
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    by_api = newest_ticket(session)
    assert by_api.id != by_web.id
    web_rows, api_rows = snapshot(session, by_web), snapshot(session, by_api)
    assert web_rows == api_rows
    # What both did: the caller's visible phone article, the process waiting at triage.
    assert [(a["channel"], a["sender_type"], a["visible"]) for a in web_rows["articles"]] == [
        ("phone", "customer", True)
    ]
    assert web_rows["instances"] == [("ticket_handling", "running")]
    assert web_rows["open_tasks"] == ["Triage"]
    assert web_rows["owner"] == "alice"


# --- reply ----------------------------------------------------------------------------------


def test_a_reply_with_attachments_is_mailed_the_same_from_the_web_form_and_the_api(
    session, browser, api, mail_ticket
):
    first, second = mail_ticket(), mail_ticket()
    article_mark, history_mark = marks(session)
    text = "Please update the printer driver; the manual is attached."
    web = browser("alice").action(
        first,
        "reply",
        subject="Driver update",
        body=text,
        attachments=[(io.BytesIO(PDF), "Handbuch für Drucker.pdf"), (io.BytesIO(PNG), "screen.png")],
    )
    assert web.status_code == 303
    response = api("alice").post(
        f"/tickets/{second.id}/articles/upload",
        data={
            "kind": "reply",
            "subject": "Driver update",
            "body": text,
            "files": [(io.BytesIO(PDF), "Handbuch für Drucker.pdf"), (io.BytesIO(PNG), "screen.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.text
    web_rows = snapshot(session, first, since_article=article_mark, since_history=history_mark)
    api_rows = snapshot(session, second, since_article=article_mark, since_history=history_mark)
    assert web_rows == api_rows
    [mail] = web_rows["outbox"]
    assert mail["to"] == "john.doe@acme.example"
    assert mail["mail"]["subject"] == "[Ticket#<number>] Driver update"
    files = {p["filename"]: p for p in mail["mail"]["parts"] if p["filename"]}
    assert set(files) == {"Handbuch für Drucker.pdf", "screen.png"}
    import hashlib

    assert files["screen.png"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert files["Handbuch für Drucker.pdf"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert any(p.get("text") == text for p in mail["mail"]["parts"])
    # The first answer makes the new ticket open, and locks it for the agent.
    assert (web_rows["state"], web_rows["locked_by"]) == ("open", "alice")


def test_an_agent_who_may_not_contact_customers_cannot_reply_on_either_channel(
    session, browser, api, mail_ticket, agent, queue
):
    ticket = mail_ticket()
    consultant = agent("consultant")
    agents.grant_group(
        session, actor=SYSTEM, agent=consultant, group=queue("1st level").group, permissions=["rw"]
    )
    session.flush()
    before = outbox_count(session)
    assert (
        api("consultant")
        .post(f"/tickets/{ticket.id}/articles", json={"kind": "reply", "body": "Hi"})
        .status_code
        == 403
    )
    browser("consultant").action(ticket, "reply", body="Hi")
    assert outbox_count(session) == before
    assert snapshot(session, ticket)["articles"][1:] == []


# --- notes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("web_action", "api_kind"), [("note", "note"), ("phone", "phone")])
def test_notes_are_the_same_from_the_web_form_and_the_api(
    session, browser, api, mail_ticket, web_action, api_kind
):
    first, second = mail_ticket(), mail_ticket()
    article_mark, history_mark = marks(session)
    assert (
        browser("alice").action(first, web_action, subject="Called", body="Checked the cable.").status_code
        == 303
    )
    response = api("alice").post(
        f"/tickets/{second.id}/articles",
        json={"kind": api_kind, "subject": "Called", "body": "Checked the cable."},
    )
    assert response.status_code == 201, response.text
    web_rows = snapshot(session, first, since_article=article_mark, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_article=article_mark, since_history=history_mark)
    [article] = web_rows["articles"]
    assert (article["channel"], article["author"], article["visible"]) == (
        api_kind,
        "agent:alice",
        api_kind == "phone",
    )
    assert web_rows["outbox"] == []


# --- forward ------------------------------------------------------------------------------------


def test_a_forward_is_the_same_from_the_web_form_and_the_api(session, browser, api, mail_ticket):
    first, second = mail_ticket(), mail_ticket()
    article_mark, history_mark = marks(session)
    web = browser("alice").action(first, "forward", to="vendor@printers.example", comment="Known issue?")
    assert web.status_code == 303
    response = api("alice").post(
        f"/tickets/{second.id}/forward", json={"to": "vendor@printers.example", "comment": "Known issue?"}
    )
    assert response.status_code == 201, response.text
    web_rows = snapshot(session, first, since_article=article_mark, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_article=article_mark, since_history=history_mark)
    [article] = web_rows["articles"]
    assert (article["visible"], article["to"]) == (False, "vendor@printers.example")
    [mail] = web_rows["outbox"]
    assert mail["to"] == "vendor@printers.example"
    assert "Since this morning every page comes out blank." in mail["mail"]["parts"][0]["text"]


def test_forwarding_to_the_customer_needs_may_contact_customers_on_both_channels(
    session, browser, api, mail_ticket, agent, queue
):
    ticket = mail_ticket()
    consultant = agent("consultant")
    agents.grant_group(
        session, actor=SYSTEM, agent=consultant, group=queue("1st level").group, permissions=["rw"]
    )
    session.flush()
    before = outbox_count(session)
    response = api("consultant").post(f"/tickets/{ticket.id}/forward", json={"to": "John.Doe@acme.example"})
    assert response.status_code in (403, 422), response.text
    browser("consultant").action(ticket, "forward", to="john.doe@acme.example")
    assert outbox_count(session) == before
    # A third party is fine for them.
    ok = api("consultant").post(f"/tickets/{ticket.id}/forward", json={"to": "vendor@printers.example"})
    assert ok.status_code == 201, ok.text
    assert outbox_count(session) == before + 1


def test_invalid_forward_addresses_are_refused_alike(session, browser, api, mail_ticket):
    ticket = mail_ticket()
    for bad in ("nobody", "a@b@c", "x@y.example, z@w.example", "evil@example.com\x00"):
        response = api("alice").post(f"/tickets/{ticket.id}/forward", json={"to": bad})
        assert response.status_code == 422, (bad, response.text)
        assert "to" in response.get_json()["errors"]
    assert outbox_count(session) == 0 or snapshot(session, ticket)["outbox"] == []


# --- move, state, merge, link ---------------------------------------------------------------------


def test_move_is_the_same_from_the_web_form_and_the_api(session, browser, api, mail_ticket, queue):
    first, second = mail_ticket(), mail_ticket()
    target = queue("2nd level")
    _, history_mark = marks(session)
    assert browser("admin").action(first, "move", queue=str(target.id)).status_code == 303
    assert api("admin").patch(f"/tickets/{second.id}", json={"queue_id": target.id}).status_code == 200
    web_rows = snapshot(session, first, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_history=history_mark)
    assert web_rows["queue"] == "2nd level"
    assert web_rows["history"] == ["Move"]


def test_closing_is_the_same_from_the_web_form_and_the_api_and_ends_the_process(
    session, deployed, browser, api, mail_ticket
):
    first, second = mail_ticket(), mail_ticket()
    assert snapshot(session, first)["open_tasks"] == ["Triage"]
    closed = states.get_state(session, "closed successful")
    _, history_mark = marks(session)
    assert browser("admin").action(first, "state", state=str(closed.id)).status_code == 303
    assert api("admin").patch(f"/tickets/{second.id}", json={"state": "closed successful"}).status_code == 200
    web_rows = snapshot(session, first, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_history=history_mark)
    assert web_rows["state"] == "closed successful"
    assert web_rows["open_tasks"] == []
    assert [status for _, status in web_rows["instances"]] != ["running"]


def test_merge_is_the_same_from_the_web_form_and_the_api(session, deployed, browser, api, mail_ticket):
    target = mail_ticket(title="Printer on floor 2")
    first, second = mail_ticket(), mail_ticket()
    _, history_mark = marks(session)
    assert browser("admin").action(first, "merge", number=target.number).status_code == 303
    response = api("admin").post(f"/tickets/{second.id}/merge", json={"into_ticket_id": target.id})
    assert response.status_code == 200, response.text
    web_rows = snapshot(session, first, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_history=history_mark)
    assert (web_rows["state"], web_rows["merged_into"]) == ("merged", "Printer on floor 2")
    # A merged ticket's process ends: its triage task is no longer in anyone's inbox.
    assert web_rows["open_tasks"] == []


def test_link_is_the_same_from_the_web_form_and_the_api(session, browser, api, mail_ticket):
    target = mail_ticket(title="Printer on floor 2")
    first, second = mail_ticket(), mail_ticket()
    _, history_mark = marks(session)
    assert browser("admin").action(first, "link", number=target.number, kind="normal").status_code == 303
    response = api("admin").post(
        f"/tickets/{second.id}/links", json={"target_ticket_id": target.id, "kind": "normal"}
    )
    assert response.status_code == 201, response.text
    web_rows = snapshot(session, first, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_history=history_mark)
    assert web_rows["history"] == ["Link"]


# --- a customer writes ------------------------------------------------------------------------------


def _customer_mail(ticket: Ticket, body: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "John Doe <john.doe@acme.example>"
    mail["To"] = "support@example.com"
    mail["Subject"] = f"Re: [Ticket#{ticket.number}] {ticket.title}"
    mail["Message-ID"] = f"<follow-up-{ticket.id}@acme.example>"
    mail.set_content(body)
    return bytes(mail)


def _by_mail(session, ticket: Ticket, body: str) -> None:
    raw, created = store_raw(session, data=_customer_mail(ticket, body), source="pipe")
    assert created
    process_raw_mail(session, raw_mail_id=raw.id)
    session.flush()


def test_a_customer_follow_up_is_the_same_by_mail_and_through_the_api(
    session, deployed, customer_api, mail_ticket, customer
):
    by_mail, by_api = mail_ticket(), mail_ticket()
    body = "It still prints blank pages after the restart."
    article_mark, history_mark = marks(session)
    _by_mail(session, by_mail, body)
    response = customer_api(customer("john.doe@acme.example")).post(
        f"/tickets/{by_api.id}/articles", json={"kind": "note", "body": body}
    )
    assert response.status_code == 201, response.text
    mail_rows = snapshot(session, by_mail, since_article=article_mark, since_history=history_mark)
    api_rows = snapshot(session, by_api, since_article=article_mark, since_history=history_mark)
    # The channel differs by nature (a mail, a web message); everything else is the same.
    for rows in (mail_rows, api_rows):
        for article in rows["articles"]:
            for key in ("channel", "subject", "from", "to", "author"):
                article.pop(key)
    assert mail_rows == api_rows
    [article] = mail_rows["articles"]
    assert (article["sender_type"], article["visible"], article["body"]) == ("customer", True, body)
    assert mail_rows["process_messages"] == [("customer_replied", "unmatched")]


def test_a_customer_writing_to_a_closed_ticket_reopens_it_and_restarts_the_process_on_both_channels(
    session, deployed, customer_api, mail_ticket, customer
):
    by_mail, by_api = mail_ticket(), mail_ticket()
    closed = states.get_state(session, "closed successful")
    for ticket in (by_mail, by_api):
        state_flow.set_state(session, actor=SYSTEM, ticket=ticket, state=closed)
    session.flush()
    article_mark, history_mark = marks(session)
    _by_mail(session, by_mail, "It is broken again.")
    response = customer_api(customer("john.doe@acme.example")).post(
        f"/tickets/{by_api.id}/articles", json={"kind": "note", "body": "It is broken again."}
    )
    assert response.status_code == 201, response.text
    mail_rows = snapshot(session, by_mail, since_article=article_mark, since_history=history_mark)
    api_rows = snapshot(session, by_api, since_article=article_mark, since_history=history_mark)
    for rows in (mail_rows, api_rows):
        assert rows["state"] == "open"
        assert rows["instances"][-1] == ("ticket_handling", "running")
        assert rows["open_tasks"] == ["Triage"]
        assert rows["process_messages"][-1] == ("customer_replied", "unmatched")
    assert [t for t in mail_rows["history"] if t != "EmailCustomer"] == [
        t for t in api_rows["history"] if t != "WebRequestCustomer"
    ]


def test_a_reject_policy_keeps_the_mail_and_refuses_the_api_message(
    session, customer_api, mail_ticket, customer, queue
):
    by_mail, by_api = mail_ticket(), mail_ticket()
    queue("1st level").follow_up_policy = "reject"
    closed = states.get_state(session, "closed successful")
    for ticket in (by_mail, by_api):
        state_flow.set_state(session, actor=SYSTEM, ticket=ticket, state=closed)
    session.flush()
    _by_mail(session, by_mail, "Hello again")
    mail_rows = snapshot(session, by_mail)
    assert mail_rows["state"] == "closed successful"
    assert mail_rows["articles"][-1]["visible"] is False
    response = customer_api(customer("john.doe@acme.example")).post(
        f"/tickets/{by_api.id}/articles", json={"kind": "note", "body": "Hello again"}
    )
    assert response.status_code == 409, response.text
    assert "closed" in response.get_json()["message"]
    assert len(snapshot(session, by_api)["articles"]) == 1


def test_split_is_the_same_from_the_web_form_and_the_api(session, deployed, browser, api, mail_ticket):
    first, second = mail_ticket(), mail_ticket()
    first_article = snapshot(session, first)["articles"][0]
    assert (
        browser("alice")
        .action(first, "split", article=str(first.articles[0].id), title="Toner question")
        .status_code
        == 303
    )
    web_child = newest_ticket(session)
    response = api("alice").post(
        f"/tickets/{second.id}/articles/{second.articles[0].id}/split", json={"title": "Toner question"}
    )
    assert response.status_code == 201, response.text
    api_child = newest_ticket(session)
    assert web_child.id != api_child.id != first.id
    web_rows, api_rows = snapshot(session, web_child), snapshot(session, api_child)
    assert web_rows == api_rows
    # The child has a copy of the article, and its own process waiting at triage.
    assert web_rows["articles"][0]["body"] == first_article["body"]
    assert web_rows["open_tasks"] == ["Triage"]
    assert web_rows["instances"] == [("ticket_handling", "running")]


def test_another_tickets_article_cannot_be_split_through_either_channel(session, browser, api, mail_ticket):
    mine, other = mail_ticket(), mail_ticket()
    before = newest_ticket(session).id
    response = api("alice").post(f"/tickets/{mine.id}/articles/{other.articles[0].id}/split", json={})
    assert response.status_code == 404, response.text
    browser("alice").action(mine, "split", article=str(other.articles[0].id))
    assert newest_ticket(session).id == before


# --- tasks: claim, release, complete; the customer answers the question ---------------------------


def _triage(session, ticket: Ticket):
    from engine.models import HumanTask

    session.expire_all()
    return session.scalars(
        select(HumanTask).where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
    ).one()


def test_claim_and_release_are_the_same_from_the_inbox_and_the_api(
    session, deployed, browser, api, mail_ticket
):
    first, second = mail_ticket(), mail_ticket()
    _, history_mark = marks(session)
    alice = browser("alice")
    assert alice.post_form("/inbox", f"/tasks/{_triage(session, first).id}/claim").status_code == 303
    assert api("alice").post(f"/tasks/{_triage(session, second).id}/claim").status_code == 200
    claimed = [_triage(session, t).claimed_by_id for t in (first, second)]
    assert claimed[0] == claimed[1] is not None
    assert snapshot(session, first, since_history=history_mark) == snapshot(
        session, second, since_history=history_mark
    )
    assert snapshot(session, first)["locked_by"] == "alice"
    assert alice.post_form("/inbox", f"/tasks/{_triage(session, first).id}/release").status_code == 303
    assert api("alice").post(f"/tasks/{_triage(session, second).id}/release").status_code == 200
    assert [_triage(session, t).claimed_by_id for t in (first, second)] == [None, None]


def test_asking_the_customer_is_the_same_from_the_task_form_and_the_api_and_the_answer_wakes_it(
    session, deployed, browser, api, customer_api, mail_ticket, customer
):
    first, second = mail_ticket(), mail_ticket()
    article_mark, history_mark = marks(session)
    question = "Which printer model is it, and what does its display say?"
    alice = browser("alice")
    task = _triage(session, first)
    response = alice.post_form(
        f"/tickets/{first.id}",
        f"/tasks/{task.id}/complete",
        decision="ask_customer",
        question=question,
        reminder_days="5",
    )
    assert response.status_code == 303, response.text
    done = api("alice").post(
        f"/tasks/{_triage(session, second).id}/complete",
        json={"data": {"decision": "ask_customer", "question": question, "reminder_days": 5}},
    )
    assert done.status_code == 200, done.text
    web_rows = snapshot(session, first, since_article=article_mark, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_article=article_mark, since_history=history_mark)
    # The question went to the customer as alice's mail; the ticket waits for the answer.
    [mail] = web_rows["outbox"]
    assert mail["to"] == "john.doe@acme.example"
    assert any(question in (p.get("text") or "") for p in mail["mail"]["parts"])
    assert web_rows["articles"][0]["author"] == "agent:alice"
    assert (web_rows["state"], web_rows["pending"]) == ("pending reminder", True)
    assert web_rows["open_tasks"] == []
    # The customer answers, by mail on one ticket and through the API on the other.
    article_mark, history_mark = marks(session)
    _by_mail(session, first, "It is a LaserJet 4000; the display says 'paper jam'.")
    answered = customer_api(customer("john.doe@acme.example")).post(
        f"/tickets/{second.id}/articles",
        json={"body": "It is a LaserJet 4000; the display says 'paper jam'."},
    )
    assert answered.status_code == 201, answered.text
    for ticket in (first, second):
        rows = snapshot(session, ticket, since_article=article_mark, since_history=history_mark)
        assert rows["process_messages"][-1] == ("customer_replied", "delivered")
        assert rows["open_tasks"] == ["Triage"]
        assert (rows["state"], rows["pending"]) == ("open", False)


# --- the acknowledgement of a new ticket ----------------------------------------------------------


def test_a_new_ticket_is_acknowledged_alike_by_mail_and_through_the_api(
    session, deployed, customer_api, customer
):
    from mail.demo import seed_auto_responses

    seed_auto_responses(session)
    john = customer("john.doe@acme.example")
    mail = EmailMessage()
    mail["From"] = "john.doe@acme.example"
    mail["To"] = "finance@helpdesk.example"
    mail["Subject"] = "Invoice 4711 charged twice"
    mail["Message-ID"] = "<invoice-4711@acme.example>"
    mail.set_content("Please refund the second charge.")
    raw, _ = store_raw(session, data=bytes(mail), source="pipe", envelope_to="finance@helpdesk.example")
    process_raw_mail(session, raw_mail_id=raw.id)
    by_mail = newest_ticket(session)
    finance = session.scalars(select(Ticket.queue_id).where(Ticket.id == by_mail.id)).one()
    response = customer_api(john).post(
        "/tickets",
        json={
            "queue_id": finance,
            "title": "Invoice 4711 charged twice",
            "body": "Please refund the second charge.",
        },
    )
    assert response.status_code == 201, response.text
    by_api = newest_ticket(session)
    mail_rows, api_rows = snapshot(session, by_mail), snapshot(session, by_api)
    for rows in (mail_rows, api_rows):
        [ack] = rows["outbox"]
        assert ack["to"] == "john.doe@acme.example"
        assert ack["mail"]["auto_submitted"] == "auto-replied"
        assert ack["mail"]["subject"].startswith("[Ticket#<number>]")
        assert rows["open_tasks"] == ["Triage"]
    # Both acknowledgements say the same, each with its own ticket number.
    assert mail_rows["outbox"][0]["mail"]["subject"] == api_rows["outbox"][0]["mail"]["subject"]
    texts = [
        rows["outbox"][0]["mail"]["parts"][0]["text"].replace(ticket.number, "<number>")
        for rows, ticket in ((mail_rows, by_mail), (api_rows, by_api))
    ]
    assert texts[0] == texts[1]
    assert "<number>" in texts[0]


def test_a_pending_time_is_the_same_from_the_web_form_and_the_api(
    session, deployed, browser, api, mail_ticket
):
    first, second = mail_ticket(), mail_ticket()
    reminder = states.get_state(session, "pending reminder")
    _, history_mark = marks(session)
    web = browser("admin").action(first, "state", state=str(reminder.id), pending_until="2031-05-04T09:30")
    assert web.status_code == 303
    response = api("admin").patch(
        f"/tickets/{second.id}", json={"state": "pending reminder", "pending_until": "2031-05-04T09:30:00Z"}
    )
    assert response.status_code == 200, response.text
    web_rows = snapshot(session, first, since_history=history_mark)
    assert web_rows == snapshot(session, second, since_history=history_mark)
    assert (web_rows["state"], web_rows["pending"]) == ("pending reminder", True)
    assert web_rows["history"] == ["StateUpdate", "SetPendingTime"]
    session.expire_all()
    assert session.get(Ticket, first.id).pending_until == session.get(Ticket, second.id).pending_until
    # A pending time alone does not end the process; its triage task stays.
    assert web_rows["open_tasks"] == ["Triage"]
