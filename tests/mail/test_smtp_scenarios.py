"""S1, S2 and S7 end to end through SMTP: our receiver in, a real relay out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.history.models import History
from desk.outbox.models import OutboxMessage
from desk.rawmail.models import RawMail
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import Ticket
from engine import runtime
from engine.models import HumanTask, ProcessInstance, ProcessMessage
from mail.tasks import sweep_outbox
from tests.mail.conftest import build_mail, send, ticket_of_raw


def _ticket(mail_env, message_id):
    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, message_id)
        assert ticket is not None, "the mail became no ticket"
        return ticket.id, ticket.number


def _ack_to(relay, address):
    return [m for m in relay.messages() if address in str(m["To"]) and m["Auto-Submitted"]]


def test_s1_a_mail_becomes_a_ticket_with_an_acknowledgement_and_a_triage_task(
    mail_env, receiver, relay, drain
):
    mail = build_mail(subject="Printer on fire", sender="Ann Newcomer <ann@newcomer.example>")
    send(receiver, mail)
    drain()

    ticket_id, number = _ticket(mail_env, mail["Message-ID"])
    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.queue.name == "Raw"
        assert ticket.customer_user.email == "ann@newcomer.example"
        first = ticket.articles[0]
        assert (first.sender_type, first.is_visible_for_customer, first.raw_mail_id is not None) == (
            "customer",
            True,
            True,
        )
        assert [
            t.name for t in session.scalars(select(HumanTask).where(HumanTask.ticket_id == ticket_id))
        ] == ["Triage"]
    [ack] = _ack_to(relay, "ann@newcomer.example")
    assert f"[Ticket#{number}]" in str(ack["Subject"])
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == mail["Message-ID"]
    assert number in ack.get_content()


def test_s2_a_reply_with_the_number_in_the_subject_is_added_to_the_same_ticket(
    mail_env, receiver, relay, drain
):
    first = build_mail(subject="VPN drops every hour", sender="john.doe@acme.example")
    send(receiver, first)
    drain()
    ticket_id, number = _ticket(mail_env, first["Message-ID"])

    reply = build_mail(
        subject=f"Re: [Ticket#{number}] VPN drops every hour",
        sender="john.doe@acme.example",
        body="It happened again at 10:00.",
    )
    send(receiver, reply)
    drain()

    assert _ticket(mail_env, reply["Message-ID"])[0] == ticket_id
    with session_scope(mail_env) as session:
        bodies = [a.body_text for a in session.get(Ticket, ticket_id).articles if a.sender_type == "customer"]
        assert bodies[-1].startswith("It happened again")
        assert (
            session.scalar(select(func.count()).select_from(Ticket).where(Ticket.title.contains("VPN drops")))
            == 1
        )


def test_s2_a_reply_threaded_only_by_references_finds_its_ticket(mail_env, receiver, relay, drain):
    first = build_mail(subject="Laptop battery", sender="jane.roe@acme.example")
    send(receiver, first)
    drain()
    ticket_id, _ = _ticket(mail_env, first["Message-ID"])
    [ack] = _ack_to(relay, "jane.roe@acme.example")

    reply = build_mail(
        subject="Re: your answer",
        sender="jane.roe@acme.example",
        body="Thanks, one more thing.",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    send(receiver, reply)
    drain()

    assert _ticket(mail_env, reply["Message-ID"])[0] == ticket_id


def test_s2_a_reply_to_a_closed_ticket_reopens_it_and_restarts_its_process(mail_env, receiver, relay, drain):
    first = build_mail(subject="Monitor flickers", sender="ivan.petrov@globex.example")
    send(receiver, first)
    drain()
    ticket_id, number = _ticket(mail_env, first["Message-ID"])
    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        for instance in runtime.instances_of(session, ticket=ticket):
            instance.status = "cancelled"  # as if its process had ended
        tickets.set_state(
            session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
        )

    send(
        receiver,
        build_mail(
            subject=f"Re: [Ticket#{number}] Monitor flickers",
            sender="ivan.petrov@globex.example",
            body="It is back.",
        ),
    )
    drain()

    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.state.name == "open"
        running = session.scalars(
            select(ProcessInstance).where(
                ProcessInstance.ticket_id == ticket_id, ProcessInstance.status == "running"
            )
        ).all()
        assert len(running) == 1


def test_a_stranger_quoting_a_ticket_number_is_never_shown_to_the_customer(mail_env, receiver, relay, drain):
    first = build_mail(subject="Salary question", sender="jane.roe@acme.example")
    send(receiver, first)
    drain()
    ticket_id, number = _ticket(mail_env, first["Message-ID"])

    stranger = build_mail(
        subject=f"[Ticket#{number}] I know your number",
        sender="mallory@evil.example",
        body="Click here to win.",
    )
    send(receiver, stranger)
    drain()

    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        jane = session.scalars(
            select(CustomerUser).where(CustomerUser.email == "jane.roe@acme.example")
        ).one()
        shown = [a.body_text for a in articles.list_articles(session, actor=jane, ticket=ticket)]
        stored = session.scalars(select(Article).where(Article.ticket_id == ticket_id)).all()
        assert not any("Click here" in text for text in shown)
        [strangers] = [a for a in stored if "Click here" in a.body_text]
        assert not strangers.is_visible_for_customer
    assert _ack_to(relay, "mallory@evil.example") == []


def test_hostile_html_is_stored_inert_with_remote_images_blocked(mail_env, receiver, relay, drain):
    html = (
        '<p onmouseover="steal()">Hello<script>document.cookie</script>'
        '<img src="https://tracker.example/pixel.gif" onerror="alert(1)">'
        '<a href="javascript:alert(2)">click</a><iframe src="https://evil.example"></iframe></p>'
    )
    mail = build_mail(subject="Newsletter-ish", sender="john.doe@acme.example", html=html)
    send(receiver, mail)
    drain()

    with session_scope(mail_env) as session:
        article = session.get(Ticket, _ticket(mail_env, mail["Message-ID"])[0]).articles[0]
        stored = article.body_html
    for hostile in ("<script", "onerror", "onmouseover", "javascript:", "<iframe", ' src="https://tracker'):
        assert hostile not in stored
    assert 'data-remote-src="https://tracker.example/pixel.gif"' in stored
    assert "Hello" in stored


def test_automatic_mail_gets_no_automatic_answer(mail_env, receiver, relay, drain):
    for headers in (
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List-Id": "<news.example>"},
    ):
        send(receiver, build_mail(subject="Out of office", sender="robot@partner.example", headers=headers))
    send(receiver, build_mail(subject="Delivery report", sender="mailer-daemon@partner.example"))
    send(receiver, build_mail(subject="Null sender", sender="someone@partner.example"), envelope_from="")
    drain()
    assert _ack_to(relay, "partner.example") == []


def test_two_auto_responders_stop_at_the_hourly_cap(mail_env, receiver, relay, drain):
    """A badly behaved auto-responder answers every mail with a new one; the cap ends the loop."""
    responder = "autoreply@loopy.example"
    send(receiver, build_mail(subject="Hello", sender=responder))
    drain()
    answered = 0
    for _ in range(30):
        acks = [m for m in relay.messages() if responder in str(m["To"])]
        if len(acks) == answered:
            break
        answered = len(acks)
        # It answers without the ticket number or References: every answer looks like a new mail.
        send(receiver, build_mail(subject="I am away until Monday", sender=responder))
        drain()
    assert answered == 10
    with session_scope(mail_env) as session:
        received = session.scalar(
            select(func.count()).select_from(RawMail).where(RawMail.envelope_from == responder)
        )
        assert received == 11  # every mail it sent was kept, only the answers stopped


def test_replies_wait_in_the_outbox_while_the_relay_is_down(mail_env, receiver, relay, drain):
    relay.stop()
    mail = build_mail(subject="Relay down", sender="dora.down@citizen.example")
    send(receiver, mail)
    drain()
    with session_scope(mail_env) as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == "dora.down@citizen.example")
        ).one()
        assert (queued.status, queued.attempts) == ("queued", 1)
        assert queued.last_error
        queued_id, retry_at = queued.id, queued.next_attempt_at

    relay.start()
    import time_machine

    with time_machine.travel(retry_at + timedelta(seconds=1), tick=False):
        sweep_outbox()
    with session_scope(mail_env) as session:
        assert session.get(OutboxMessage, queued_id).status == "sent"
    assert len(_ack_to(relay, "dora.down@citizen.example")) == 1


def test_a_permanent_refusal_marks_the_mail_failed(mail_env, receiver, relay, drain):
    relay.behaviour.reply = "550 5.1.1 No such user here"
    send(receiver, build_mail(subject="Refused", sender="gone@nowhere.example"))
    drain()
    with session_scope(mail_env) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_addr == "gone@nowhere.example")
        ).one()
        assert row.status == "failed"
        assert "550" in row.last_error
        assert row.next_attempt_at is None


def test_s7_the_specialists_reply_wakes_the_process_and_stays_internal(mail_env, receiver, relay, drain):
    mail = build_mail(subject="Strange server noise", sender="john.doe@acme.example")
    send(receiver, mail)
    drain()
    ticket_id, number = _ticket(mail_env, mail["Message-ID"])
    with session_scope(mail_env) as session:
        secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
        triage = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
        ).one()
        runtime.complete_task(session, actor=secretary, task_id=triage.id, data={"decision": "work"})
        work = session.scalars(
            select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
        ).one()
        runtime.complete_task(
            session,
            actor=secretary,
            task_id=work.id,
            data={
                "action": "external",
                "specialist_email": "expert@vendor.example",
                "specialist_question": "Is this fan noise normal?",
            },
        )
    drain()
    [forward] = [m for m in relay.messages() if "expert@vendor.example" in str(m["To"])]
    assert f"[Ticket#{number}]" in str(forward["Subject"])
    assert "[Req#" in str(forward["Subject"])

    reply = build_mail(
        subject=f"Re: {forward['Subject']}",
        sender="expert@vendor.example",
        body="Yes, the fan is fine.",
        headers={"In-Reply-To": forward["Message-ID"]},
    )
    send(receiver, reply)
    drain()

    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        [answer] = [a for a in ticket.articles if a.body_text.startswith("Yes, the fan")]
        assert (answer.sender_type, answer.is_visible_for_customer) == ("external", False)
        john = ticket.customer_user
        assert answer not in articles.list_articles(session, actor=john, ticket=ticket)
        open_names = [
            t.name
            for t in session.scalars(
                select(HumanTask).where(HumanTask.ticket_id == ticket_id, HumanTask.state == "open")
            )
        ]
        assert open_names == ["Work"]


def test_a_bounce_is_attached_to_the_ticket_of_the_mail_that_bounced(mail_env, receiver, relay, drain):
    mail = build_mail(subject="Bouncing address", sender="typo@acme.example")
    send(receiver, mail)
    drain()
    ticket_id, _ = _ticket(mail_env, mail["Message-ID"])
    [ack] = _ack_to(relay, "typo@acme.example")
    dsn = (
        "From: MAILER-DAEMON@relay.example\r\nTo: support@helpdesk.example\r\nSubject: Undelivered Mail\r\n"
        "Message-ID: <dsn-1@relay.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n"
        "Final-Recipient: rfc822; typo@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ack['Message-ID']}\r\n"
        "Subject: whatever\r\n\r\n--B--\r\n"
    ).encode()
    send(receiver, dsn, envelope_from="", to=["support@helpdesk.example"])
    drain()

    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        bounce = [a for a in ticket.articles if a.subject == "Undelivered Mail"]
        assert len(bounce) == 1
        assert not bounce[0].is_visible_for_customer
        sent = session.scalars(
            select(OutboxMessage).where(OutboxMessage.message_id == str(ack["Message-ID"]).strip())
        ).one()
        assert sent.status == "failed"
        assert "bounced" in sent.last_error
        assert (
            session.scalar(select(func.count()).select_from(Ticket).where(Ticket.title == "Undelivered Mail"))
            == 0
        )


# --- automatic replies and spam (issue 10, behaviour) --------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"Precedence": "auto_reply"},
    ],
    ids=["auto-submitted", "x-autoreply", "precedence"],
)
def test_a_vacation_reply_to_a_closed_ticket_leaves_it_closed(mail_env, receiver, relay, drain, headers):
    customer = "olga.away@globex.example"
    first = build_mail(subject="Keyboard missing keys", sender=customer)
    send(receiver, first)
    drain()
    ticket_id, number = _ticket(mail_env, first["Message-ID"])
    [ack] = _ack_to(relay, customer)
    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        tickets.set_state(
            session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
        )
    with session_scope(mail_env) as session:
        messages_before = session.scalar(
            select(func.count()).select_from(ProcessMessage).where(ProcessMessage.ticket_id == ticket_id)
        )
    mails_before = len(relay.messages())

    # Her mail program answers our acknowledgement; the subject says nothing a rule could trust.
    vacation = build_mail(
        subject=f"Re: [Ticket#{number}] Keyboard missing keys",
        sender=customer,
        body="I am on holiday until the 20th and will read your mail then.",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"], **headers},
    )
    send(receiver, vacation)
    drain()

    assert _ticket(mail_env, vacation["Message-ID"])[0] == ticket_id
    with session_scope(mail_env) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.state.name == "closed successful"
        newest = ticket.articles[-1]
        assert newest.body_text.startswith("I am on holiday")
        assert newest.is_visible_for_customer is False
        notes = session.scalars(
            select(History.comment).where(History.ticket_id == ticket_id, History.article_id == newest.id)
        ).all()
        assert any(note.startswith("automatic reply (") for note in notes), notes
        messages_after = session.scalar(
            select(func.count()).select_from(ProcessMessage).where(ProcessMessage.ticket_id == ticket_id)
        )
        assert messages_after == messages_before  # its process did not hear "customer replied"
    assert len(relay.messages()) == mails_before  # and nobody answered the answering machine


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Spam-Flag": "YES"},
        {"X-Spam-Status": "Yes, score=7.4 required=5.0 tests=BAYES_99,URIBL_BLACK autolearn=no"},
    ],
    ids=["x-spam-flag", "x-spam-status"],
)
def test_a_mail_flagged_as_spam_becomes_a_ticket_without_an_acknowledgement(
    mail_env, receiver, relay, drain, headers
):
    forged = "victim@innocent.example"
    mail = build_mail(subject="Cheap watches", sender=forged, headers=headers)
    send(receiver, mail)
    drain()

    ticket_id, _ = _ticket(mail_env, mail["Message-ID"])
    assert _ack_to(relay, forged) == []
    with session_scope(mail_env) as session:
        reasons = session.scalars(
            select(History.comment).where(
                History.ticket_id == ticket_id, History.new_value == "no automatic answer (new_ticket)"
            )
        ).all()
        assert len(reasons) == 1
        assert reasons[0].startswith("flagged as spam")


def test_a_mail_the_spam_filter_passed_is_acknowledged(mail_env, receiver, relay, drain):
    mail = build_mail(
        subject="Real question",
        sender="real.person@partner.example",
        headers={"X-Spam-Flag": "NO", "X-Spam-Status": "No, score=0.3 required=5.0"},
    )
    send(receiver, mail)
    drain()

    _ticket(mail_env, mail["Message-ID"])
    assert len(_ack_to(relay, "real.person@partner.example")) == 1
