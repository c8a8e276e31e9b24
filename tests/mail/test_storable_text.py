"""Mail-derived text is always storable: NUL and lone surrogates become U+FFFD, the raw stays.

A mail cannot be refused back to its sender like a form, so the parsed text is repaired and
the raw bytes are kept as they came (the article can always be checked against them).
"""

from __future__ import annotations

from sqlalchemy import select

from desk.article.models import Article
from desk.blob import service as blobs
from desk.rawmail.models import RawMail
from mail.inbound.parse import parse_mail
from mail.inbound.pipeline import process_raw_mail
from mail.inbound.store import store_raw

# A body with NUL bytes, a UTF-7 subject that decodes to a lone surrogate (+2AA-), an HTML
# part in unicode_escape (another lone surrogate) and an attachment whose name has one too.
RAW = (
    b"From: Nul Sender <nul.sender@example.org>\r\n"
    b"To: support@helpdesk.example\r\n"
    b"Subject: =?utf-7?Q?Broken_+2AA-_subject?=\r\n"
    b"Message-ID: <nul-and-surrogates@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: multipart/alternative; boundary=a\r\n"
    b"\r\n"
    b"--a\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"before\x00after\r\n"
    b"--a\r\n"
    b"Content-Type: text/html; charset=unicode_escape\r\n"
    b"\r\n"
    b"<p>html \\ud800 part</p>\r\n"
    b"--a--\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Disposition: attachment; filename*=utf-7''a+2AA-.bin\r\n"
    b"\r\n"
    b"data\r\n"
    b"--b--\r\n"
)


def _storable(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def test_the_parsed_text_has_replacement_characters_instead():
    parsed = parse_mail(RAW)

    assert parsed.subject == "Broken \ufffd subject"
    assert parsed.body_text == "before\ufffdafter"
    assert parsed.body_html is not None
    assert "html \ufffd part" in parsed.body_html
    assert all(_storable(a.filename) for a in parsed.attachments)


def test_such_a_mail_becomes_a_ticket_and_its_raw_bytes_stay_as_they_came(session):
    raw, _new = store_raw(session, data=RAW, source="test")
    session.flush()

    outcome = process_raw_mail(session, raw_mail_id=raw.id)
    session.flush()

    article = session.scalars(select(Article).where(Article.ticket_id == outcome.ticket_id)).one()
    assert article.body_text == "before\ufffdafter"
    assert article.subject == "Broken \ufffd subject"
    assert article.ticket.title == "Broken \ufffd subject"
    stored = session.scalars(select(RawMail).where(RawMail.id == raw.id)).one()
    assert blobs.read(session, sha256=stored.blob_sha256) == RAW
