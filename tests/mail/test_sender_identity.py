"""Who sent a mail: the address of its From (or Sender, Reply-To, envelope), never a name.

The spoofing mail goes through our real SMTP receiver and the pipeline; the address forms
and the broken header blocks go through :func:`mail.inbound.parse.parse_mail` and are judged
by what an agent would see: the subject, the sender's address and name.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from core.db import session_scope
from desk.article import service as articles
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.history.models import History
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from engine.models import ProcessMessage
from mail.inbound.parse import parse_mail
from tests.mail.conftest import build_mail, send, ticket_of_raw

CRLF = b"\r\n"
VICTIM = "john.doe@acme.example"
ATTACKER = "attacker@evil.example"


def _raw(*lines: str | bytes) -> bytes:
    return CRLF.join(line.encode() if isinstance(line, str) else line for line in lines) + CRLF


def _spoofed_from(victim: str = VICTIM) -> str:
    """A From whose encoded display name decodes to the victim's mailbox and a line break."""
    name = base64.b64encode(f"John Doe <{victim}>\r\n".encode()).decode()
    return f"=?utf-8?b?{name}?= <{ATTACKER}>"


def _spoofing_mail(subject: str, message_id: str) -> bytes:
    return _raw(
        f"From: {_spoofed_from()}",
        "To: support@helpdesk.example",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Please send the invoice to my new bank account.",
    )


def _to(relay, address):
    return [m for m in relay.messages() if address in str(m["To"])]


# --- the spoofing mail, end to end ------------------------------------------------------


def test_a_spoofed_name_on_the_victims_ticket_stays_the_attackers_internal_mail(
    mail_env, receiver, relay, drain
):
    first = build_mail(subject="Invoice address", sender=VICTIM)
    send(receiver, first)
    drain()
    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, first["Message-ID"])
        assert ticket is not None
        ticket_id, number = ticket.id, ticket.number
    mails_to_victim = len(_to(relay, VICTIM))

    send(
        receiver,
        _spoofing_mail(f"Re: [Ticket#{number}] Invoice address", "<spoof-1@evil.example>"),
        envelope_from=ATTACKER,
        to=["support@helpdesk.example"],
    )
    drain()

    with session_scope(mail_env) as session:
        raw = session.scalars(select(RawMail).where(RawMail.message_id == "<spoof-1@evil.example>")).one()
        assert (raw.status, raw.ticket_id) == ("processed", ticket_id)
        [spoofed] = session.scalars(select(Article).where(Article.raw_mail_id == raw.id)).all()
        # Recorded as the attacker's: the victim's address only inside the quoted name.
        assert spoofed.from_addr == f'"John Doe <{VICTIM}>" <{ATTACKER}>'
        assert "\r" not in spoofed.from_addr
        assert "\n" not in spoofed.from_addr
        assert not spoofed.is_visible_for_customer
        assert spoofed.sender_type != "customer"
        victim = session.scalars(select(CustomerUser).where(CustomerUser.email == VICTIM)).one()
        shown = articles.list_articles(session, actor=victim, ticket=session.get(Ticket, ticket_id))
        assert not any("bank account" in a.body_text for a in shown)
        woken = session.scalars(
            select(ProcessMessage).where(
                ProcessMessage.ticket_id == ticket_id,
                ProcessMessage.payload["article_id"].as_integer() == spoofed.id,
            )
        ).all()
        assert woken == []
    assert len(_to(relay, VICTIM)) == mails_to_victim
    assert _to(relay, ATTACKER) == []  # an unrelated sender gets no automatic answer either


def test_a_spoofed_name_in_a_new_mail_makes_the_attacker_the_customer(mail_env, receiver, relay, drain):
    send(
        receiver,
        _spoofing_mail("Change of bank account", "<spoof-2@evil.example>"),
        envelope_from=ATTACKER,
        to=["support@helpdesk.example"],
    )
    drain()

    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, "<spoof-2@evil.example>")
        assert ticket is not None
        assert ticket.customer_user.email == ATTACKER
        # The attacker's customer record does not carry the victim's address in its name.
        assert "@" not in f"{ticket.customer_user.first_name} {ticket.customer_user.last_name}"
        victim = session.scalars(select(CustomerUser).where(CustomerUser.email == VICTIM)).one()
        assert ticket.customer_user_id != victim.id
    assert _to(relay, VICTIM) == []
    [ack] = _to(relay, ATTACKER)
    assert "\n" not in str(ack["To"])


def test_a_mail_without_from_is_the_envelope_senders_and_says_so(mail_env, receiver, relay, drain):
    send(
        receiver,
        _raw(
            "To: support@helpdesk.example",
            "Subject: no From at all",
            "Message-ID: <nofrom-1@client.example>",
            "",
            "Who am I?",
        ),
        envelope_from="mary.major@client.example",
        to=["support@helpdesk.example"],
    )
    drain()

    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, "<nofrom-1@client.example>")
        assert ticket is not None
        assert ticket.customer_user.email == "mary.major@client.example"
        article = ticket.articles[0]
        assert article.from_addr == "mary.major@client.example"
        notes = session.scalars(select(History.comment).where(History.article_id == article.id)).all()
        assert any("envelope sender" in note for note in notes)
    assert len(_to(relay, "mary.major@client.example")) == 1


# --- identity in parse_mail ----------------------------------------------------------------


def test_an_encoded_name_never_contributes_an_address():
    parsed = parse_mail(_raw(f"From: {_spoofed_from()}", "Subject: hi", "", "x"))
    assert parsed.from_addr == ATTACKER
    assert parsed.from_name == f"John Doe <{VICTIM}>"
    assert parsed.from_header == f'"John Doe <{VICTIM}>" <{ATTACKER}>'
    assert parsed.sender_source == "from"


def test_an_encoded_word_with_angle_brackets_is_one_name():
    # Lenient mail clients show "evil <john.doe@acme.example>" as the name of attacker@.
    parsed = parse_mail(_raw(f"From: =?utf-8?q?evil_<{VICTIM}>?= <{ATTACKER}>", "", "x"))
    assert (parsed.from_name, parsed.from_addr) == (f"evil <{VICTIM}>", ATTACKER)


def test_names_and_subjects_are_single_line():
    name = base64.b64encode(b"Jane\r\nBcc: everyone@example.org\r\n").decode()
    subject = base64.b64encode(b"Hello\r\nBcc: everyone@example.org").decode()
    parsed = parse_mail(
        _raw(f"From: =?utf-8?b?{name}?= <jane@example.org>", f"Subject: =?utf-8?b?{subject}?=", "", "x")
    )
    assert parsed.from_name == "Jane Bcc: everyone@example.org"
    assert parsed.subject == "Hello Bcc: everyone@example.org"
    assert parsed.from_addr == "jane@example.org"


def test_recipients_come_from_addresses_not_from_names():
    name = base64.b64encode(b"Support <support@helpdesk.example>").decode()
    parsed = parse_mail(
        _raw("From: a@example.org", f"To: =?utf-8?b?{name}?= <sales@helpdesk.example>", "", "x")
    )
    assert parsed.to == ["sales@helpdesk.example"]


@pytest.mark.parametrize(
    ("from_header", "name", "address"),
    [
        ("jane@example.org (Jane Roe)", "Jane Roe", "jane@example.org"),
        ("jane@example.org (=?utf-8?q?J=C3=A4ne_R=C3=B6e?=)", "Jäne Röe", "jane@example.org"),
        (", Bob <bob@example.org>", "Bob", "bob@example.org"),
        ("undisclosed-recipients:;, Bob <bob@example.org>", "Bob", "bob@example.org"),
        ("Team: Bob <bob@example.org>, ann@example.org;", "Bob", "bob@example.org"),
        ("Bob Smith <bob@example.org.>", "Bob Smith", "bob@example.org"),
        ("bob@Example.ORG.", "", "bob@example.org"),
        ("Jörg <Jörg@Bücher.example>", "Jörg", "jörg@xn--bcher-kva.example"),
        ("Jörg <jörg@xn--bcher-kva.example>", "Jörg", "jörg@xn--bcher-kva.example"),
        ('"Doe, John" <John.Doe@Acme.example>', "Doe, John", "john.doe@acme.example"),
        ('"=?utf-8?q?J=C3=B6rg?=" <j@x.example>', "Jörg", "j@x.example"),
    ],
    ids=[
        "comment",
        "encoded-comment",
        "empty-first",
        "empty-group-first",
        "group",
        "trailing-dot",
        "bare-trailing-dot",
        "idn",
        "idn-punycode-is-the-same-address",
        "quoted-comma",
        "quoted-encoded-word",
    ],
)
def test_address_forms(from_header, name, address):
    parsed = parse_mail(_raw(f"From: {from_header}", "Subject: forms", "", "x"))
    assert (parsed.subject, parsed.from_name, parsed.from_addr) == ("forms", name, address)


@pytest.mark.parametrize(
    ("headers", "address", "source"),
    [
        (["Sender: Sec <sec@example.org>", "Reply-To: rt@example.org"], "sec@example.org", "sender"),
        (["From: Nobody", "Reply-To: Rita <rt@example.org>"], "rt@example.org", "reply-to"),
        (
            ["From: undisclosed-recipients:;", "Return-Path: <bounce@example.org>"],
            "bounce@example.org",
            "envelope",
        ),
        (["Return-Path: <>"], "", ""),
    ],
    ids=["sender", "reply-to", "return-path", "none"],
)
def test_without_a_from_address_the_sender_comes_from_other_headers(headers, address, source):
    parsed = parse_mail(_raw(*headers, "Subject: fallback", "", "x"))
    assert (parsed.from_addr, parsed.sender_source) == (address, source)


def test_the_envelope_sender_is_the_last_fallback():
    parsed = parse_mail(_raw("Subject: fallback", "", "x"), envelope_from="<env@example.org>")
    assert (parsed.from_addr, parsed.sender_source) == ("env@example.org", "envelope")
    assert parse_mail(_raw("Subject: x", "", "x"), envelope_from="<>").from_addr == ""


# --- broken header blocks --------------------------------------------------------------------


def test_an_unindented_continuation_line_is_joined_to_its_header():
    parsed = parse_mail(
        _raw(
            "From: Bob <bob@example.org>",
            "Subject: a long subject",
            "that a broken mailer folded without indent",
            "To: support@helpdesk.example",
            "",
            "the body",
        )
    )
    assert parsed.subject == "a long subject that a broken mailer folded without indent"
    assert (parsed.from_name, parsed.from_addr) == ("Bob", "bob@example.org")
    assert parsed.to == ["support@helpdesk.example"]
    assert parsed.body_text == "the body"


@pytest.mark.parametrize(
    "junk",
    [b">>garbage line", b"X-Broken Header: with a space", b"\xff\xfe\x00junk", b"[some log output]"],
    ids=["quote", "space-in-name", "binary", "brackets"],
)
def test_a_junk_first_line_loses_no_header(junk):
    parsed = parse_mail(
        _raw(junk, "From: Bob <bob@example.org>", "Subject: hi", "To: s@helpdesk.example", "", "body")
    )
    assert (parsed.subject, parsed.from_name, parsed.from_addr) == ("hi", "Bob", "bob@example.org")
    assert parsed.to == ["s@helpdesk.example"]
    assert parsed.body_text == "body"
    assert any("junk" in w for w in parsed.warnings)


def test_a_space_before_the_colon_is_still_a_header():
    parsed = parse_mail(_raw("From : Bob <bob@example.org>", "Subject : hi", "", "body"))
    assert (parsed.subject, parsed.from_addr, parsed.body_text) == ("hi", "bob@example.org", "body")


def test_a_mail_without_the_blank_line_keeps_its_headers_and_body():
    parsed = parse_mail(
        _raw("From: Bob <bob@example.org>", "Subject: hi", "Dear support,", "my printer is broken.", "Bob")
    )
    assert (parsed.subject, parsed.from_addr) == ("hi", "bob@example.org")
    assert parsed.body_text.startswith("Dear support,")


def test_raw_8bit_headers_without_a_charset_are_detected_over_the_whole_header_block():
    raw = _raw(
        "From: Иван Петров <ivan@example.org>".encode("cp1251"),
        "Subject: Не работает принтер на третьем этаже".encode("cp1251"),
        "Organization: ООО Ромашка, отдел закупок".encode("cp1251"),
        b"",
        b"x",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "Не работает принтер на третьем этаже"
    assert (parsed.from_name, parsed.from_addr) == ("Иван Петров", "ivan@example.org")


def test_a_display_name_with_an_address_in_it_names_no_one_else():
    from mail.inbound.pipeline import _person_name

    assert _person_name("Jane Roe <jane.roe@acme.example>") == "Jane Roe"
    assert _person_name('"Doe, John" (john.doe@acme.example)') == "Doe John"
    assert _person_name("Ann Newcomer") == "Ann Newcomer"
    assert _person_name("<attacker@evil.example>") == ""
