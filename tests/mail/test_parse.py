"""parse_mail and the HTML sanitizer: whatever the bytes, a ParsedMail comes back."""

from __future__ import annotations

import random
from email.message import EmailMessage

import pytest

from mail.inbound.parse import decode_bytes, parse_mail
from mail.inbound.sanitize import html_to_text, sanitize_html

CRLF = b"\r\n"


def _raw(*lines: str | bytes) -> bytes:
    return CRLF.join(line.encode() if isinstance(line, str) else line for line in lines) + CRLF


def test_multipart_alternative_gives_the_text_and_a_sanitized_html_body():
    mail = EmailMessage()
    mail["From"] = "Ann Example <Ann@Example.ORG>"
    mail["To"] = "Support <support@helpdesk.example>, other@example.org"
    mail["Cc"] = "boss@example.org"
    mail["Subject"] = "Printer"
    mail["Message-ID"] = "<m1@example.org>"
    mail["In-Reply-To"] = "<earlier@helpdesk.example>"
    mail["References"] = "<first@helpdesk.example> <earlier@helpdesk.example>"
    mail["Date"] = "Tue, 03 Mar 2026 10:00:00 +0100"
    mail.set_content("Plain text\nsecond line\n")
    mail.add_alternative("<p>Plain <b>text</b></p><script>alert(1)</script>", subtype="html")

    parsed = parse_mail(mail.as_bytes())

    assert parsed.subject == "Printer"
    assert (parsed.from_name, parsed.from_addr) == ("Ann Example", "ann@example.org")
    assert parsed.from_header == "Ann Example <ann@example.org>"
    assert parsed.to == ["support@helpdesk.example", "other@example.org"]
    assert parsed.cc == ["boss@example.org"]
    assert parsed.message_id == "<m1@example.org>"
    assert parsed.in_reply_to == "<earlier@helpdesk.example>"
    assert parsed.references == ["<first@helpdesk.example>", "<earlier@helpdesk.example>"]
    assert parsed.date is not None
    assert parsed.date.utcoffset() is not None
    assert parsed.body_text == "Plain text\nsecond line"
    assert parsed.body_html is not None
    assert "<b>text</b>" in parsed.body_html
    assert "script" not in parsed.body_html
    assert parsed.attachments == []
    assert parsed.warnings == []


def test_crlf_line_ends_become_newlines():
    raw = _raw("From: a@example.org", "Subject: CRLF", "", "one", "two", "")
    assert parse_mail(raw).body_text == "one\ntwo"


def test_an_html_only_mail_gets_a_text_version():
    raw = _raw(
        "From: a@example.org",
        "Content-Type: text/html; charset=utf-8",
        "",
        "<div>Hello<br>world</div><p>Caf&eacute;</p>",
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "Hello\nworld\nCafé"
    assert parsed.body_html is not None


def test_attachments_and_inline_cid_images_are_kept_apart_from_the_body():
    mail = EmailMessage()
    mail["From"] = "a@example.org"
    mail["Subject"] = "Screenshot"
    mail.set_content("See the picture.")
    mail.add_alternative('<p>See <img src="cid:shot@local"></p>', subtype="html")
    html_part = mail.get_payload()[1]
    html_part.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<shot@local>")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="report.pdf")
    mail.add_attachment(b"evil", maintype="application", subtype="octet-stream", filename="../../etc/passwd")

    parsed = parse_mail(mail.as_bytes())

    assert parsed.body_text == "See the picture."
    assert parsed.body_html is not None
    assert 'src="cid:shot@local"' in parsed.body_html
    by_name = {a.filename: a for a in parsed.attachments}
    assert set(by_name) == {"attachment.png", "report.pdf", ".._.._etc_passwd"}
    image = by_name["attachment.png"]
    assert (image.is_inline, image.content_id, image.data) == (True, "shot@local", b"\x89PNG fake")
    report = by_name["report.pdf"]
    assert (report.is_inline, report.content_type, report.data) == (False, "application/pdf", b"%PDF-1.4")


def test_an_attached_mail_is_one_eml_attachment_not_part_of_the_body():
    inner = EmailMessage()
    inner["From"] = "someone@example.org"
    inner["Subject"] = "Original"
    inner.set_content("The forwarded text.")
    outer = EmailMessage()
    outer["From"] = "a@example.org"
    outer["Subject"] = "Fwd: Original"
    outer.set_content("Please look at this.")
    outer.add_attachment(inner)

    parsed = parse_mail(outer.as_bytes())

    assert parsed.body_text == "Please look at this."
    [eml] = parsed.attachments
    assert (eml.filename, eml.content_type) == ("Original.eml", "message/rfc822")
    assert b"The forwarded text." in eml.data
    assert b"Subject: Original" in eml.data


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("=?utf-8?B?w4RyZ2VyIG1pdCBkZW0gRHJ1Y2tlcg==?=", "Ärger mit dem Drucker"),
        ("=?iso-8859-1?Q?Gr=FC=DFe?= aus =?utf-8?q?K=C3=B6ln?=", "Grüße aus Köln"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=", "テスト"),
        ("=?utf-8?Q?broken", "=?utf-8?Q?broken"),
        ("=?x-unknown?Q?caf=E9?=", "café"),
    ],
)
def test_rfc_2047_subjects_are_decoded(header, expected):
    parsed = parse_mail(_raw("From: a@example.org", f"Subject: {header}", "", "body"))
    assert parsed.subject == expected


def test_an_encoded_sender_name_is_decoded():
    raw = _raw("From: =?utf-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.org>", "", "x")
    parsed = parse_mail(raw)
    assert (parsed.from_name, parsed.from_addr) == ("Иван Петров", "ivan@example.org")


def test_raw_8bit_headers_are_read_with_the_charset_of_the_body():
    raw = _raw(
        b"From: Wilhelmsen H\xe5vard <hw@example.org>",
        b"Subject: R\xe9sum\xe9",
        b"Content-Type: text/plain; charset=iso-8859-1",
        b"",
        b"H\xe5vard",
    )
    parsed = parse_mail(raw)
    assert parsed.from_name == "Wilhelmsen Håvard"
    assert parsed.subject == "Résumé"
    assert parsed.body_text == "Håvard"


def test_raw_utf8_headers_are_read_as_utf8():
    raw = _raw("From: José <jose@example.org>", "Subject: Überweisung", "", "x")
    parsed = parse_mail(raw)
    assert (parsed.from_name, parsed.subject) == ("José", "Überweisung")


def test_a_body_in_a_wrong_charset_is_still_decoded():
    raw = _raw(
        b"From: a@example.org",
        b"Content-Type: text/plain; charset=us-ascii",
        b"",
        "Grüße aus Köln, schöne Grüße".encode(),
    )
    assert parse_mail(raw).body_text == "Grüße aus Köln, schöne Grüße"
    text = "Добрый день! Принтер на третьем этаже снова не печатает, посмотрите, пожалуйста."
    assert decode_bytes(text.encode("cp1251"), "no-such-charset") == text
    # Too short to guess from: a single-byte reading that leaves ASCII alone.
    assert decode_bytes(b"caf\xe9 au lait", None) == "café au lait"


DSN = _raw(
    "From: MAILER-DAEMON@relay.example",
    "To: support@helpdesk.example",
    "Subject: Undelivered Mail Returned to Sender",
    "Message-ID: <dsn@relay.example>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    "",
    "--B",
    "Content-Type: text/plain",
    "",
    "Your mail could not be delivered.",
    "--B",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; relay.example",
    "",
    "Final-Recipient: rfc822; gone@example.org",
    "Action: failed",
    "Status: 5.1.1",
    "",
    "--B",
    "Content-Type: message/rfc822",
    "",
    "From: support@helpdesk.example",
    "To: gone@example.org",
    "Subject: [Ticket#2026010110000011] Your request",
    "Message-ID: <sent-1@helpdesk.example>",
    "",
    "We answered.",
    "--B--",
)


def test_a_dsn_is_a_bounce_with_the_original_message_id():
    parsed = parse_mail(DSN)
    assert parsed.is_bounce
    assert parsed.bounced_message_id == "<sent-1@helpdesk.example>"
    assert "Your mail could not be delivered." in parsed.body_text
    assert "Status: 5.1.1" in parsed.body_text
    assert "We answered." not in parsed.body_text
    kinds = sorted(a.content_type for a in parsed.attachments)
    assert kinds == ["message/delivery-status", "message/rfc822"]
    assert all(a.data for a in parsed.attachments)


def test_a_dsn_with_only_the_headers_of_the_original_is_a_bounce_too():
    raw = DSN.replace(b"Content-Type: message/rfc822", b"Content-Type: text/rfc822-headers")
    assert parse_mail(raw).bounced_message_id == "<sent-1@helpdesk.example>"


def test_a_normal_multipart_mail_is_no_bounce():
    raw = DSN.replace(b"multipart/report; report-type=delivery-status", b"multipart/mixed")
    parsed = parse_mail(raw)
    assert not parsed.is_bounce
    assert parsed.bounced_message_id is None


def test_a_multipart_mail_without_a_boundary_keeps_its_text():
    raw = _raw(
        "From: a@example.org",
        "Subject: no boundary",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed",
        "",
        "Hello, the boundary is missing.",
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "no boundary"
    assert "Hello, the boundary is missing." in parsed.body_text
    assert any("boundary" in warning for warning in parsed.warnings)


def test_a_multipart_mail_with_a_wrong_boundary_keeps_its_text():
    raw = _raw(
        "From: a@example.org",
        'Content-Type: multipart/mixed; boundary="NOT-THERE"',
        "",
        "--OTHER",
        "Content-Type: text/plain",
        "",
        "message 1",
        "--OTHER--",
    )
    assert "message 1" in parse_mail(raw).body_text


def test_a_missing_from_gives_an_empty_sender():
    parsed = parse_mail(_raw("To: support@helpdesk.example", "Subject: who am I", "", "anonymous"))
    assert (parsed.from_addr, parsed.from_name, parsed.from_header) == ("", "", "")
    assert parsed.body_text == "anonymous"


def test_broken_dates_and_message_ids_are_tolerated():
    raw = _raw(
        "From: a@example.org",
        "Date: the day after tomorrow",
        "Message-ID: 000000B9",
        "In-Reply-To: not an id",
        "References: <ok@example.org> junk <also-ok@example.org>",
        "",
        "x",
    )
    parsed = parse_mail(raw)
    assert parsed.date is None
    assert parsed.message_id is None
    assert parsed.in_reply_to is None
    assert parsed.references == ["<ok@example.org>", "<also-ok@example.org>"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00\xff\xfe garbage \x80\x81",
        b"Subject: =?\r\nFrom: <<<>>>\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        b'Content-Type: text/plain; charset="\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64',
        b"Content-Type: message/rfc822\r\n\r\nnot a mail at all",
        b"From: a@example.org\r\nContent-Disposition: attachment; filename*=bogus''%ZZ%\r\n\r\nx",
        bytes(random.Random(7).randrange(256) for _ in range(5000)),  # noqa: S311 (not for secrets)
        b"From: " + b"A" * 100_000 + b"\r\n\r\nlong header",
    ],
    ids=[
        "empty",
        "blank",
        "binary",
        "broken-mime",
        "bad-base64",
        "bad-rfc822",
        "bad-rfc2231",
        "random",
        "huge",
    ],
)
def test_garbage_never_raises(raw):
    parsed = parse_mail(raw)
    assert isinstance(parsed.body_text, str)
    assert len(parsed.subject) <= 4000
    assert len(parsed.from_header) <= 8000


@pytest.mark.parametrize(
    ("hostile", "gone"),
    [
        ("<script>alert(1)</script>ok", "<script"),
        ('<p onclick="steal()">ok</p>', "onclick"),
        ('<a href="javascript:alert(1)">ok</a>', "javascript:"),
        ('<iframe src="https://evil.example"></iframe>ok', "<iframe"),
        ("<style>body{display:none}</style>ok", "display:none"),
        ('<form action="https://evil.example"><input name="pw"></form>ok', "<form"),
        ('<img src="https://tracker.example/p.gif">ok', ' src="https://tracker'),
    ],
)
def test_sanitize_removes_what_could_run_track_or_trick(hostile, gone):
    clean = sanitize_html(hostile)
    assert gone not in clean
    assert "ok" in clean


def test_sanitize_keeps_remote_images_only_as_data_remote_src_and_cid_images_as_they_are():
    clean = sanitize_html('<img src="https://cdn.example/a.png" alt="a"><img src="cid:logo@local">')
    assert 'data-remote-src="https://cdn.example/a.png"' in clean
    assert 'src="cid:logo@local"' in clean
    assert 'rel="noopener noreferrer nofollow"' in sanitize_html('<a href="https://example.org">x</a>')


def test_html_to_text_reads_like_the_mail():
    html = "<h1>Title</h1><p>First&nbsp;para</p><ul><li>one</li><li>two</li></ul><script>x()</script>"
    assert html_to_text(html) == "Title\nFirst\xa0para\none\ntwo"
