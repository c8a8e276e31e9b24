"""Outgoing mail is composed from its article: text, HTML, inline images and attachments.

A reply with files and an inline image, and a forward of an article with files, are
committed, delivered through the real relay and parsed back as the recipient's mail
client would: every part is there, with its bytes, its (decoded) name and its type.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import session_scope
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import reply
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.outbox.models import OutboxMessage
from desk.ticket.models import Ticket
from mail.outbound.compose import compose
from mail.outbound.delivery import deliver
from mail.outbound.senders import SmtpSender
from tests.mail.conftest import Relay

PDF = bytes(range(256)) * 40  # every byte value: nothing may be re-encoded on the way
REPORT = "Grüße aus Köln – Bericht №1.txt"
REPORT_BYTES = "Zeile 1: Grüße\r\nZeile 2: ✓\n".encode()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200) + b"IEND\xaeB`\x82"
CID = "logo.1@ticketflow.test"


def _ticket(session: Session, title: str) -> Ticket:
    return session.scalars(select(Ticket).where(Ticket.title == title)).one()


def _agent(session: Session, login: str) -> Agent:
    return session.scalars(select(Agent).where(Agent.login == login)).one()


def _deliver(factory: sessionmaker[Session], relay: Relay, article_id: int) -> EmailMessage:
    """Send the article's outbox row through the relay; the mail as the relay got it."""
    with session_scope(factory) as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.article_id == article_id)).one()
        # The delivery job may have sent it already (after the commit); then this is a no-op.
        assert deliver(session, outbox_id=row.id, sender=SmtpSender(relay.url)) == "sent"
        message_id = row.message_id
    [received] = [m for m in relay.messages() if str(m["Message-ID"]).strip() == message_id]
    assert isinstance(received, EmailMessage)
    return received


def _files(mail: EmailMessage) -> dict[str, tuple[str, bytes]]:
    """Decoded filename → (content type, bytes) of every attachment."""
    return {
        str(part.get_filename()): (part.get_content_type(), part.get_payload(decode=True))
        for part in mail.iter_attachments()
    }


def _body(mail: EmailMessage, kind: str) -> Any:
    """The text or HTML body a mail client shows (not an attached text file)."""
    found = mail.get_body(preferencelist=(kind,))
    assert found is not None
    assert found.get_content_type() == f"text/{kind}"
    return found


def test_a_reply_carries_its_html_inline_image_and_attachments(mail_env, relay, drain):
    with session_scope(mail_env) as session:
        ticket = _ticket(session, "I forgot my password")
        article = reply.send_reply(
            session,
            actor=_agent(session, "secretary"),
            ticket=ticket,
            subject="Your password – Grüße",
            body_text="Hello John, see the attached report.",
            body_html=f'<p>Hello John, see the attached report.</p><p><img src="cid:{CID}" alt="logo"></p>',
            attachments=[
                AttachmentDraft(REPORT, "text/plain", REPORT_BYTES),
                AttachmentDraft("invoice.pdf", "application/pdf", PDF),
                AttachmentDraft("logo.png", "image/png", PNG, is_inline=True, content_id=CID),
            ],
        )
        article_id, number, customer = article.id, ticket.number, ticket.customer_user.email
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.article_id == article_id)).one()
        # The row is the envelope; the article is the content.
        assert (row.subject, row.body_text) == (None, None)
        assert row.to_addr == customer
    drain()

    mail = _deliver(mail_env, relay, article_id)

    assert mail.get_content_type() == "multipart/mixed"
    assert str(mail["Subject"]) == f"[Ticket#{number}] Your password – Grüße"
    assert str(mail["To"]) == customer
    assert _body(mail, "plain").get_content().strip() == "Hello John, see the attached report."
    html = _body(mail, "html")
    assert f'src="cid:{CID}"' in html.get_content()
    [related] = [p for p in mail.walk() if p.get_content_type() == "multipart/related"]
    [image] = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    assert str(image["Content-ID"]).strip() == f"<{CID}>"
    assert image.get_payload(decode=True) == PNG
    files = _files(mail)
    assert files == {
        REPORT: ("text/plain", REPORT_BYTES),
        "invoice.pdf": ("application/pdf", PDF),
    }
    # RFC 2231 on the wire for the name that is not ASCII (long names as continuations).
    wire = relay.behaviour.received[-1].original_content
    assert re.search(rb"filename\*(0\*)?=utf-8''Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln", wire)


def test_a_forward_takes_the_forwarded_articles_files_along(mail_env, relay, drain):
    with session_scope(mail_env) as session:
        ticket = _ticket(session, "Printer on 3rd floor jams")
        original = articles.add_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            channel="email",
            sender_type="customer",
            visible_for_customer=True,
            subject="Photos of the jam",
            body_text="Here are the error log and a photo.",
            from_addr=ticket.customer_user.email,
            attachments=[
                AttachmentDraft("fehlerprotokoll-äöü.log", "text/plain", REPORT_BYTES),
                AttachmentDraft("jam.png", "image/png", PNG, is_inline=True, content_id="jam@client"),
            ],
        )
        forwarded = reply.forward_article(
            session,
            actor=_agent(session, "secretary"),
            ticket=ticket,
            original=original,
            to_addr="printer.vendor@partner.example",
            comment="Known problem?",
        )
        forwarded_id = forwarded.id
        assert [(a.filename, a.size) for a in forwarded.attachments] == [
            ("fehlerprotokoll-äöü.log", len(REPORT_BYTES)),
            ("jam.png", len(PNG)),
        ]
    drain()

    mail = _deliver(mail_env, relay, forwarded_id)

    assert str(mail["To"]) == "printer.vendor@partner.example"
    assert "Here are the error log and a photo." in _body(mail, "plain").get_content()
    assert _files(mail) == {
        "fehlerprotokoll-äöü.log": ("text/plain", REPORT_BYTES),
        "jam.png": ("image/png", PNG),
    }


def test_mail_without_an_article_is_sent_from_its_own_text(mail_env):
    with session_scope(mail_env) as session:
        row = OutboxMessage(
            ticket_id=None,
            article_id=None,
            from_addr="helpdesk@ticketflow.local",
            to_addr="bob@helpdesk.example",
            subject="Reminder: ticket waits",
            body_text="A ticket waits for you.",
            message_id="<no-article.1@ticketflow.local>",
        )
        session.add(row)
        session.flush()

        mail = compose(row)

        assert str(mail["Subject"]) == "Reminder: ticket waits"
        assert mail.get_content_type() == "text/plain"
        assert mail.get_content().strip() == "A ticket waits for you."
        session.rollback()


def test_an_article_whose_text_is_plain_is_sent_as_plain_text(mail_env):
    with session_scope(mail_env) as session:
        ticket = _ticket(session, "I forgot my password")
        article = reply.send_reply(
            session, actor=_agent(session, "secretary"), ticket=ticket, body_text="Just text, ü."
        )
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.article_id == article.id)).one()

        mail = compose(row)

        assert mail.get_content_type() == "text/plain"
        assert mail.get_content().strip() == "Just text, ü."
        session.rollback()
