"""Parser fixes the corpus acceptance table showed were needed, each for the general case.

Each mail is built here byte by byte (not taken from the corpus), so the rule, not one file,
is what is tested: a blank file name is no name; an encoded word folded in its middle is
still one word; undeclared 8-bit header bytes that are only signs (© ®) read as Western; an
attached mail whose header block has unindented continuation lines is still named after its
subject; a file uuencoded into the text (Lotus Notes) becomes an attachment.
"""

from __future__ import annotations

import binascii

from mail.inbound import uuencode
from mail.inbound.parse import parse_mail

HEAD = (
    b"From: Erika Muster <erika@kunde.example>\r\n"
    b"To: support@helpdesk.example\r\n"
    b"Subject: Unterlagen\r\n"
    b"Message-ID: <general-%s@kunde.example>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def _multipart(tag: bytes, *parts: bytes) -> bytes:
    body = b"".join(b"--XYZ\r\n" + part + b"\r\n" for part in parts)
    return HEAD % tag + b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n' + body + b"--XYZ--\r\n"


def test_a_blank_file_name_is_no_name():
    mail = _multipart(
        b"blank",
        b'Content-Type: text/plain; charset=utf-8; name=" "\r\n'
        b"Content-Disposition: inline\r\n\r\nDer Text.\r\n",
        b'Content-Type: text/html; charset=utf-8; name=""\r\n'
        b"Content-Disposition: inline\r\n\r\n<p>Der Text.</p>\r\n",
        b'Content-Type: application/pdf; name=""\r\n'
        b'Content-Disposition: attachment; filename=" "\r\n\r\n%PDF-1.4\r\n',
    )

    parsed = parse_mail(mail)

    # The inline text parts are the body; the unnamed PDF is named from its type.
    assert parsed.body_text == "Der Text."
    assert parsed.body_html is not None
    assert "Der Text." in parsed.body_html
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("attachment.pdf", "application/pdf")
    ]


def test_an_encoded_word_folded_in_its_middle_is_decoded():
    inner = (
        b"Subject: =?UTF-8?Q?Bericht=0D=0A=C3=BCber den \r\n Vorfall?=\r\nFrom: a@b.example\r\n\r\nText\r\n"
    )
    mail = _multipart(
        b"fold",
        b"Content-Type: text/plain\r\n\r\nSiehe Anhang.\r\n",
        b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner,
    )

    parsed = parse_mail(mail)

    # Unfolding keeps the blank of the fold; the CR/LF the word encodes become one space.
    assert [a.filename for a in parsed.attachments] == ["Bericht über den Vorfall.eml"]


def test_undeclared_8bit_signs_in_a_header_read_as_western():
    mail = (
        b"From: \xa9 Muster \xae AG <info@muster.example>\r\n"
        b"To: support@helpdesk.example\r\nSubject: Preise\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHallo\r\n"
    )

    parsed = parse_mail(mail)

    assert (parsed.from_name, parsed.from_addr) == ("© Muster ® AG", "info@muster.example")


def test_an_attached_mail_with_unindented_continuations_is_named_after_its_subject():
    inner = (
        b"Received: by mx.example (Postfix, from userid 99)\r\n"
        b"id 4711ABC; Fri,  6 Jul 2007 12:17:33 +0200 (CEST)\r\n"  # a continuation without indent
        b"Subject: Ihre Bestellung 4711\r\n"
        b"From: shop@shop.example\r\n\r\nDanke.\r\n"
    )
    mail = _multipart(
        b"bounce",
        b"Content-Type: text/plain\r\n\r\nUndeliverable.\r\n",
        b"Content-Type: message/rfc822\r\n\r\n" + inner,
    )

    parsed = parse_mail(mail)

    attached = parsed.attachments[0]
    assert attached.filename == "Ihre Bestellung 4711.eml"
    assert attached.data == inner  # kept byte for byte, the repair only reads it


def _uu(name: bytes, data: bytes) -> bytes:
    lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    return b"begin 644 " + name + b"\n" + b"".join(lines) + b"`\nend\n"


def test_a_file_uuencoded_into_the_text_becomes_an_attachment():
    picture = bytes(range(256)) * 3
    body = b"Anbei das Foto.\n\n" + _uu(b"Foto vom Schaden.jpg", picture) + b"\nGruss Erika\n"
    mail = HEAD % b"uu" + b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body

    parsed = parse_mail(mail)

    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("Foto vom Schaden.jpg", "image/jpeg", picture)
    ]
    assert parsed.body_text == "Anbei das Foto.\n\n\nGruss Erika"
    assert "begin 644" not in parsed.body_text


def test_text_that_only_looks_like_uuencoding_stays_text():
    text = "begin 644 notes.txt\nthis line is no uuencoding at all, é\nend\n"

    kept, files = uuencode.extract(text)

    assert (kept, files) == (text, [])


def test_a_nested_multipart_reusing_its_parents_boundary_loses_no_part():
    # Outlook Express for the Mac: the inner alternative has the outer boundary, and the file
    # after the inner part's closing delimiter used to vanish without a trace.
    raw = (
        HEAD % b"reuse"
        + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + b'--B\r\nContent-Type: multipart/alternative;\r\n boundary="B"\r\n\r\n\r\n'
        + b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDie Unterlagen anbei.\r\n"
        + b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Die Unterlagen anbei.</p>\r\n"
        + b"--B--\r\n\r\n"
        + b'--B\r\nContent-Type: application/pdf; name="vertrag.pdf"\r\n'
        + b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + binascii.b2a_base64(b"%PDF-1.4 contract")
        + b'--B\r\nContent-Type: image/png; name="scan.png"\r\n'
        + b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + binascii.b2a_base64(b"\x89PNG scan")
        + b"--B--\r\n"
    )
    parsed = parse_mail(raw)
    assert [a.filename for a in parsed.attachments] == ["vertrag.pdf", "scan.png"]
    assert [a.data for a in parsed.attachments] == [b"%PDF-1.4 contract", b"\x89PNG scan"]
    assert "Die Unterlagen anbei." in parsed.body_text


def test_mail_without_a_reused_boundary_is_read_from_the_same_bytes():
    from mail.inbound.boundaries import unique_nested

    raw = _multipart(b"plain", b"Content-Type: text/plain\r\n\r\nHallo\r\n")
    assert unique_nested(raw) is raw
