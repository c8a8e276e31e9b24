"""Every part of a mail is kept (issue 10, deliverable 4).

File names in every form mailers write them (raw 8-bit bytes, RFC 2047, RFC 2231 with
continuations), names with a real extension for unnamed parts, an attached mail byte for
byte under its own subject, the files inside a TNEF ``winmail.dat``, and a mail whose part
cannot be read ends *failed* with the reason instead of passing as processed.  The mails
are built here byte by byte, as the broken mailers write them, or taken from the corpus.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path

from sqlalchemy import select

from core.db import session_scope
from desk.article.models import Article, Attachment
from desk.blob import service as blobs
from desk.rawmail.models import RawMail
from mail.inbound.parse import parse_mail
from mail.inbound.store import store_raw
from mail.tasks import process_one
from tests.conftest import unavailable

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mail"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"
XLSX = b"PK\x03\x04 not really a spreadsheet \x00\x01\x02"


def _mail(*parts: bytes, headers: bytes = b"", boundary: bytes = b"XYZ") -> bytes:
    """A multipart/mixed mail from raw part bytes (each: its headers, a blank line, its body)."""
    head = (
        b"From: Erika Muster <erika@kunde.example>\r\n"
        b"To: support@helpdesk.example\r\n"
        b"Subject: Unterlagen\r\n"
        b"Message-ID: <parts-%s@kunde.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        % hashlib.sha256(b"".join(parts) + headers).hexdigest()[:16].encode()
        + headers
        + b'Content-Type: multipart/mixed; boundary="'
        + boundary
        + b'"\r\n\r\n'
    )
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return head + body + b"--" + boundary + b"--\r\n"


def _text(text: bytes, charset: bytes = b"utf-8") -> bytes:
    return b"Content-Type: text/plain; charset=" + charset + b"\r\n\r\n" + text


def _file(headers: bytes, data: bytes) -> bytes:
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return headers + b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded.rstrip(b"\r\n")


def _files(parsed) -> list[tuple[str, bytes]]:
    return [(a.filename, a.data) for a in parsed.attachments]


# --- through the pipeline --------------------------------------------------------------


def _process(mail_env, data: bytes) -> RawMail:
    """Store ``data`` as the pipe does and run the job that processes it."""
    with session_scope(mail_env) as session:
        raw, _created = store_raw(session, data=data, source="pipe", envelope_to="support@helpdesk.example")
        raw_id = raw.id
    process_one(raw_id)  # the job sent at the commit may have run it already: then a no-op
    with session_scope(mail_env) as session:
        found = session.get(RawMail, raw_id)
        assert found is not None
        session.expunge(found)
        return found


def _stored_files(mail_env, raw: RawMail) -> tuple[str, list[tuple[str, bytes]]]:
    """The body and the files (name, bytes) of the article the raw mail became."""
    with session_scope(mail_env) as session:
        article = session.scalar(select(Article).where(Article.raw_mail_id == raw.id))
        assert article is not None, (raw.status, raw.error)
        rows = session.scalars(
            select(Attachment).where(Attachment.article_id == article.id).order_by(Attachment.id)
        ).all()
        return article.body_text, [
            (row.filename, blobs.read(session, sha256=row.blob_sha256)) for row in rows
        ]


def test_raw_8bit_file_names_keep_every_attachment_with_its_name_and_bytes(mail_env):
    # The finding: a raw Latin-1 name made compat32 return a Header object, the walk raised,
    # every attachment was dropped and the MIME source became the body.
    data = _mail(
        _text(b"Hallo, anbei die \xdcbersicht.", b"iso-8859-1"),
        _file(
            b'Content-Type: application/pdf; name="\xdcbersicht M\xe4rz.pdf"\r\n'
            b'Content-Disposition: attachment; filename="\xdcbersicht M\xe4rz.pdf"\r\n',
            PDF,
        ),
        _file(
            b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="plain.pdf"\r\n',
            b"x",
        ),
    )
    raw = _process(mail_env, data)
    assert (raw.status, raw.error) == ("processed", None)
    body, files = _stored_files(mail_env, raw)
    assert body == "Hallo, anbei die Übersicht."
    assert files == [("Übersicht März.pdf", PDF), ("plain.pdf", b"x")]


def test_raw_8bit_names_without_any_declared_charset_are_detected():
    data = _mail(
        b"Content-Type: text/plain\r\n\r\nsee the files",
        _file(
            b"Content-Disposition: attachment;\r\n"
            b' filename="\xce\xf2\xf7\xb8\xf2 \xe7\xe0 \xec\xe0\xf0\xf2.xlsx"\r\n',  # cp1251
            XLSX,
        ),
        _file(b'Content-Disposition: attachment; filename="Stra\xc3\x9fe.pdf"\r\n', PDF),
        _file(b'Content-Disposition: attachment; filename="Gr\xfc\xdfe aus K\xf6ln.txt"\r\n', b"hi"),
    )
    parsed = parse_mail(data)
    assert _files(parsed) == [
        ("Отчёт за март.xlsx", XLSX),
        ("Straße.pdf", PDF),
        ("Grüße aus Köln.txt", b"hi"),
    ]
    assert parsed.body_text == "see the files"
    assert parsed.lost_parts == []


def test_rfc_2231_names_with_continuations_charset_and_language_and_rfc_2047_names():
    data = _mail(
        _text(b"files"),
        _file(
            b"Content-Type: application/pdf\r\n"
            b"Content-Disposition: attachment;\r\n"
            b" filename*0*=utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20;\r\n"
            b" filename*1*=%D0%B7%D0%B0%20%D0%BC%D0%B0%D1%80%D1%82;\r\n"
            b' filename*2=".pdf"\r\n',
            PDF,
        ),
        _file(b"Content-Disposition: attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt\r\n", b"1"),
        # Declared UTF-8, written in Latin-1: read with the charset that fits.
        _file(b"Content-Disposition: attachment; filename*=utf-8''Pr%FCfung.txt\r\n", b"2"),
        _file(b'Content-Type: image/png; name="=?utf-8?B?w5xiZXJzaWNodC5wbmc=?="\r\n', b"\x89PNG"),
        _file(
            b"Content-Type: application/pdf;\r\n"
            b' name="=?iso-8859-1?Q?Rechnung_f=FCr_?=\r\n =?iso-8859-1?Q?M=E4rz.pdf?="\r\n',
            b"3",
        ),
    )
    parsed = parse_mail(data)
    assert [a.filename for a in parsed.attachments] == [
        "Отчёт за март.pdf",
        "Grüße.txt",
        "Prüfung.txt",
        "Übersicht.png",
        "Rechnung für März.pdf",
    ]
    assert parsed.attachments[0].data == PDF


def test_the_corpus_mail_with_rfc_2231_continuations_in_iso_2022_jp():
    path = CORPUS / "rt" / "rfc2231-attachment-filename-continuations"
    if not path.is_file():
        unavailable("the mail corpus", f"{path} is missing")
    parsed = parse_mail(path.read_bytes())
    assert [a.filename for a in parsed.attachments] == ["新しいテキスト ドキュメント.txt"]
    assert "Some data in a file" in parsed.attachments[0].data.decode("utf-8-sig")


def test_unnamed_parts_get_names_with_a_real_extension():
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    data = _mail(
        _text(b"unnamed things"),
        _file(b"Content-Type: image/jpeg\r\nContent-ID: <photo@x>\r\n", b"\xff\xd8\xff"),
        _file(b"Content-Type: " + docx.encode() + b"\r\n", b"PK docx"),
        _file(b"Content-Type: text/calendar; method=REQUEST\r\n", b"BEGIN:VCALENDAR"),
        _file(b"Content-Type: application/octet-stream\r\n", b"\x00\x01"),
        _file(b"Content-Type: application/x-something-odd\r\n", b"?"),
        _file(b"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n", b"log line"),
    )
    parsed = parse_mail(data)
    assert [a.filename for a in parsed.attachments] == [
        "attachment.jpg",
        "attachment.docx",
        "invite.ics",
        "attachment.bin",
        "attachment.bin",
        "attachment.txt",
    ]
    assert parsed.body_text == "unnamed things"


def test_a_delivery_report_is_delivery_status_txt_and_the_returned_mail_is_named_after_its_subject():
    data = (
        b"From: MAILER-DAEMON@mx.example\r\nTo: support@helpdesk.example\r\nSubject: Undelivered\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@helpdesk.example\r\n"
        b"Subject: [Ticket#2026010110000011] Your request\r\nMessage-ID: <sent-9@helpdesk.example>\r\n"
        b"\r\nWe answered.\r\n--B--\r\n"
    )
    parsed = parse_mail(data)
    assert [a.filename for a in parsed.attachments] == [
        "delivery-status.txt",
        "[Ticket#2026010110000011] Your request.eml",
    ]
    assert parsed.is_bounce
    assert parsed.bounced_message_id == "<sent-9@helpdesk.example>"


def test_two_files_with_the_same_name_are_both_kept(mail_env):
    # A scanner's two pages, named alike (in its Latin-1), and two unnamed images.
    scan = b'Content-Type: image/png\r\nContent-Disposition: attachment; filename="Seite \xfcber.png"\r\n'
    data = _mail(
        _text(b"two scans"),
        _file(scan, b"first"),
        _file(scan, b"second"),
        _file(b"Content-Type: image/gif\r\n", b"GIF1"),
        _file(b"Content-Type: image/gif\r\n", b"GIF2"),
    )
    raw = _process(mail_env, data)
    assert raw.status == "processed"
    _body, files = _stored_files(mail_env, raw)
    assert files == [
        ("Seite über.png", b"first"),
        ("Seite über.png", b"second"),
        ("attachment.gif", b"GIF1"),
        ("attachment.gif", b"GIF2"),
    ]


def test_a_forwarded_mail_is_kept_byte_for_byte_and_named_after_its_subject(mail_env):
    # Folded and raw 8-bit headers, a bare LF, an attachment of its own: what a generator
    # would rewrite, and what a signature or a court needs as it came.
    inner = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@lieferant.example>\r\n"
        b"Subject: =?utf-8?q?Rechnung_M=C3=A4rz?=\r\n"
        b"X-Odd:   spaced \xe4 raw\r\n"
        b"\tfolded\r\n"
        b'Content-Type: multipart/mixed; boundary="IN"\r\n'
        b"\r\n--IN\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDie Rechnung f\xc3\xbcr M\xc3\xa4rz.\n"
        b"--IN\r\nContent-Type: application/pdf; name=rechnung.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\nJVBERi0xLjQ=\r\n--IN--"
    )
    data = _mail(
        _text(b"Bitte pr\xc3\xbcfen."),
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner,
    )
    raw = _process(mail_env, data)
    assert raw.status == "processed", raw.error
    body, files = _stored_files(mail_env, raw)
    assert body == "Bitte prüfen."
    assert files == [("Rechnung März.eml", inner)]


def test_the_corpus_mail_with_an_attached_mail_keeps_it_as_it_came():
    path = CORPUS / "rt" / "email-file-attachment.eml"
    if not path.is_file():
        unavailable("the mail corpus", f"{path} is missing")
    data = path.read_bytes()
    parsed = parse_mail(data)
    [eml] = [a for a in parsed.attachments if a.content_type == "message/rfc822"]
    assert eml.filename == "test-email.eml"
    assert eml.data.startswith(b"Return-Path: <user1@example.com>")
    assert eml.data in data  # the very bytes of the mail, not a re-generated copy


def _tnef(*files: tuple[str, bytes]) -> bytes:
    """A TNEF stream (MS-OXTNEF 2.1) with ``files`` as attachments, as Outlook writes it."""

    def attribute(level: int, attribute_id: int, value: bytes) -> bytes:
        checksum = sum(value) & 0xFFFF
        return struct.pack("<BII", level, attribute_id, len(value)) + value + struct.pack("<H", checksum)

    message, attachment = 0x01, 0x02
    out = struct.pack("<IH", 0x223E9F78, 0x0001)
    out += attribute(message, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attribute(message, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += attribute(message, 0x00078008, b"IPM.Microsoft Mail.Note\x00")  # attMessageClass
    for name, data in files:
        rendering = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 1, 1, 0)  # attachment, no position
        out += attribute(attachment, 0x00069002, rendering)  # attAttachRendData starts one
        out += attribute(attachment, 0x00018010, name.encode("cp1252") + b"\x00")  # attAttachTitle
        out += attribute(attachment, 0x0006800F, data)  # attAttachData
    return out


def test_a_winmail_dat_is_unpacked_into_its_files_and_kept(mail_env):
    winmail = _tnef(("Angebot.pdf", PDF), ("Notiz für Sie.txt", b"Bitte anrufen."))
    data = _mail(
        _text(b"Anbei das Angebot."),
        _file(
            b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
            b'Content-Disposition: attachment; filename="winmail.dat"\r\n',
            winmail,
        ),
    )
    raw = _process(mail_env, data)
    assert raw.status == "processed", raw.error
    _body, files = _stored_files(mail_env, raw)
    assert files == [("winmail.dat", winmail), ("Angebot.pdf", PDF), ("Notiz für Sie.txt", b"Bitte anrufen.")]
    kinds = [a.content_type for a in parse_mail(data).attachments]
    assert kinds == ["application/ms-tnef", "application/pdf", "text/plain"]


def test_a_broken_winmail_dat_is_still_kept():
    data = _mail(_text(b"x"), _file(b"Content-Type: application/ms-tnef\r\n", b"not TNEF at all"))
    parsed = parse_mail(data)
    assert _files(parsed) == [("attachment.dat", b"not TNEF at all")]
    assert parsed.lost_parts == []


def test_a_truncated_base64_file_is_kept_as_far_as_it_decodes():
    # Cut off in transit: the base64 of the PDF ends in the middle of a quantum.  The damage
    # is in the mail (reading it again cannot repair it): the file is kept as far as it goes.
    data = _mail(
        _text(b"The contract is attached."),
        b'Content-Type: application/pdf; name="contract.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        b"\r\nJVBERi0xLjQKJeLjz9MKMSAwIG9iago8P",
    )
    parsed = parse_mail(data)
    assert _files(parsed) == [("contract.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<")]
    assert parsed.lost_parts == []
    assert any("truncated or corrupt" in warning for warning in parsed.warnings)


def test_a_part_the_walk_cannot_read_leaves_the_mail_failed_with_the_reason(mail_env, monkeypatch):
    # The finding's failure (compat32's Header object where a string was expected) cannot
    # happen any more with real input, so it is put back for this test: should any part ever
    # be unreadable again, the mail is a visible failure, not a ticket missing a file.
    from mail.inbound import parse

    real = parse._filename

    def broken_for_pdfs(part, hint):
        if part.get_content_type() == "application/pdf":
            raise AttributeError("'Header' object has no attribute 'split'")
        return real(part, hint)

    monkeypatch.setattr(parse, "_filename", broken_for_pdfs)
    data = _mail(
        _text(b"The contract and the invoice are attached."),
        _file(b'Content-Type: application/pdf; name="contract.pdf"\r\n', PDF),
        _file(b'Content-Type: image/png; name="logo.png"\r\n', b"\x89PNG"),
    )
    raw = _process(mail_env, data)
    assert raw.status == "failed"
    assert "part 2 (application/pdf)" in raw.error
    assert "'Header' object has no attribute 'split'" in raw.error
    assert raw.ticket_id is None
    with session_scope(mail_env) as session:
        assert session.scalar(select(Article.id).where(Article.raw_mail_id == raw.id)) is None

    # Once the cause is gone, processing it again (what `mail reprocess` does) makes the ticket.
    monkeypatch.setattr(parse, "_filename", real)
    with session_scope(mail_env) as session:
        session.get(RawMail, raw.id).status = "received"
    process_one(raw.id)
    with session_scope(mail_env) as session:
        assert session.get(RawMail, raw.id).status == "processed"
    _body, files = _stored_files(mail_env, raw)
    assert files == [("contract.pdf", PDF), ("logo.png", b"\x89PNG")]
