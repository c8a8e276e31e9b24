"""Attached mails (message/rfc822) shown in the ticket view as embedded mails (issue 10, bullet 4).

An article's attached ``.eml`` stays a download byte for byte; the page also shows it: its
From, To, Date, Subject and text (HTML through the one sanitizer), collapsible, the mails
attached to it in turn down to a few levels, and a note instead of it when it cannot be read.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import unescape

import pytest
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.article import service as articles
from desk.article.service import AttachmentDraft
from desk.ticket.models import Ticket
from web.tickets import embedded_mail


def _mail(subject: str, body: str, *, html: str | None = None, inner: list[bytes] | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Grete Großkunde <grete@kunde.example>"
    mail["To"] = "einkauf@kunde.example"
    mail["Date"] = "Tue, 03 Nov 2026 09:15:00 +0100"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{abs(hash(subject))}@kunde.example>"
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for data in inner or []:
        mail.add_attachment(data, maintype="message", subtype="rfc822")
    return mail.as_bytes()


def _text(html: str) -> str:
    """The page as a reader sees its text (tags gone, entities decoded, spaces collapsed)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def ticket_with_mails(session):
    ticket = session.scalars(select(Ticket).where(Ticket.title == "Refund for double invoice")).one()
    forwarded = _mail(
        "Angebot Nr. 4711 für Drucker",
        "Sehr geehrte Damen und Herren, anbei unser Angebot.",
        html='<p>Sehr geehrte Damen und Herren, <b>anbei</b> unser Angebot.</p><script>alert("x")</script>'
        '<img src="https://tracker.example/p.gif">',
        inner=[_mail("Ursprüngliche Anfrage", "Bitte um ein Angebot für zwei Drucker.")],
    )
    articles.add_article(
        session,
        actor=SYSTEM,
        ticket=ticket,
        channel="email",
        sender_type="customer",
        visible_for_customer=True,
        body_text="Siehe weitergeleitete Mail.",
        attachments=[
            AttachmentDraft(
                filename="Angebot Nr. 4711 für Drucker.eml", content_type="message/rfc822", data=forwarded
            ),
            AttachmentDraft(
                filename="kaputt.eml", content_type="message/rfc822", data=b"\x00\x01\x02 not a mail"
            ),
        ],
    )
    session.flush()
    return ticket


def test_the_ticket_view_shows_an_attached_mail_with_its_headers_and_text(client, login, ticket_with_mails):
    login("admin")

    response = client.get(f"/tickets/{ticket_with_mails.id}")

    assert response.status_code == 200
    html = response.text
    text = _text(html)
    assert '<details class="embedded-mail"' in html  # collapsible
    assert "Attached mail Angebot Nr. 4711 für Drucker" in text
    assert "From Grete Großkunde <grete@kunde.example>" in text
    assert "To einkauf@kunde.example" in text
    assert "Date 2026-11-03 09:15 +0100" in text
    assert "Subject Angebot Nr. 4711 für Drucker" in text
    # The HTML alternative, through the sanitizer: no script, the remote image not loaded.
    assert "Sehr geehrte Damen und Herren, anbei unser Angebot." in text
    assert "<b>anbei</b>" in html
    assert "alert(" not in html
    assert not re.search(r'\ssrc="https://tracker\.example', html)
    assert 'data-remote-src="https://tracker.example/p.gif"' in html
    # The mail attached to the attached mail, one level further in.
    assert "Attached mail Ursprüngliche Anfrage" in text
    assert "Bitte um ein Angebot für zwei Drucker." in text
    # The .eml stays a download.
    files = {a.filename: a for a in ticket_with_mails.articles[-1].attachments}
    assert f'href="/attachments/{files["Angebot Nr. 4711 für Drucker.eml"].id}"' in html
    download = client.get(f"/attachments/{files['Angebot Nr. 4711 für Drucker.eml'].id}")
    assert b"Subject: Angebot Nr. 4711" in download.data or b"Subject: =?utf-8?" in download.data


def test_an_attached_mail_that_cannot_be_read_is_a_note_not_an_error(client, login, ticket_with_mails):
    login("admin")

    response = client.get(f"/tickets/{ticket_with_mails.id}")

    assert response.status_code == 200
    text = _text(response.text)
    assert "Attached mail kaputt.eml" in text
    assert "This attached mail could not be read, so it is not shown here." in text
    assert "Download kaputt.eml" in text


def test_attached_mails_are_shown_a_few_levels_deep_and_the_rest_stays_in_the_download():
    deepest = _mail("Level 5", "five")
    for level in (4, 3, 2, 1):
        deepest = _mail(f"Level {level}", f"text of level {level}", inner=[deepest])

    shown = embedded_mail.read(deepest)

    levels = []
    mail = shown
    while True:
        levels.append(mail.subject)
        if not mail.mails:
            break
        mail = mail.mails[0]
    assert levels == ["Level 1", "Level 2", "Level 3"]
    assert mail.deeper == 1  # Level 4 (with Level 5 inside) is only in the .eml
    assert shown.body_text == "text of level 1"


def test_reading_an_attached_mail_never_raises():
    for data in (b"", b"   \r\n", b"\xff\xfe\x00garbage", b"no headers at all, only text\r\n"):
        assert embedded_mail.read(data).error is not None
    plain = embedded_mail.read(b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nFrom: a@b.example\r\n\r\nHallo\r\n")
    assert (plain.error, plain.subject, plain.from_addr, plain.body_text) == (
        None,
        "Grüße",
        "a@b.example",
        "Hallo",
    )
