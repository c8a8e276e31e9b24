"""The SMTP receiver as a sending MTA meets it: smtplib against our aiosmtpd server.

What the customer's MTA must never see is a permanent failure for a mail we could take (a
long line, UTF-8 addresses) or for a failure of ours (the database down): it would bounce
the customer's mail.  The one permanent refusal is a mail over the announced size.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from core import config, db
from core.db import session_scope
from desk.blob import service as blobs
from desk.rawmail.models import RawMail
from mail.inbound.smtp_receiver import make_controller
from tests.mail.conftest import build_mail, free_port, send, ticket_of_raw

FIFTY_MB = 50 * 1024 * 1024


def _raw_mail(session: Any, message_id: str) -> RawMail | None:
    return session.scalar(select(RawMail).where(RawMail.message_id == message_id))


def _crlf(*lines: str) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode()


@pytest.fixture
def small_receiver(mail_env: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A receiver whose size limit is set to 100,000 bytes through TICKETFLOW_MAX_MAIL_BYTES."""
    monkeypatch.setenv("TICKETFLOW_MAX_MAIL_BYTES", "100000")
    config.get_settings.cache_clear()
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    yield controller
    controller.stop()


def test_a_line_of_5000_bytes_is_accepted_and_stored_byte_exact(mail_env, receiver, drain):
    long_line = "Ä" + "x" * 4998  # 5,000 bytes in UTF-8: HTML mailers write whole mails on one line
    data = _crlf(
        "From: Lina Long <lina@long.example>",
        "To: support@helpdesk.example",
        "Subject: One very long line",
        "Message-ID: <long-line@long.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Before the line.",
        long_line,
        "After the line.",
    )
    assert len(long_line.encode()) == 5000

    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
        refused = client.sendmail("lina@long.example", ["support@helpdesk.example"], data, ["BODY=8BITMIME"])
    drain()

    assert refused == {}
    with session_scope(mail_env) as session:
        raw = _raw_mail(session, "<long-line@long.example>")
        assert raw is not None
        assert blobs.read(session, sha256=raw.blob_sha256) == data
        ticket = ticket_of_raw(session, "<long-line@long.example>")
        assert ticket is not None
        assert long_line in ticket.articles[0].body_text


def test_the_ehlo_answer_announces_size_8bitmime_and_smtputf8(mail_env, receiver):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
        code, _ = client.ehlo("mta.example")
        assert code == 250
        assert client.esmtp_features["size"] == str(FIFTY_MB)
        assert client.has_extn("8bitmime")
        assert client.has_extn("smtputf8")


def test_a_utf8_address_is_accepted_with_smtputf8(mail_env, receiver, drain):
    sender = "josé@bücher.example"
    data = _crlf(
        f"From: José Núñez <{sender}>",
        "To: support@helpdesk.example",
        "Subject: Bestellung ärgerlich",
        "Message-ID: <utf8-address@bücher.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Grüße aus München.",
    )

    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
        refused = client.sendmail(sender, ["support@helpdesk.example"], data, ["SMTPUTF8", "BODY=8BITMIME"])
    drain()

    assert refused == {}
    with session_scope(mail_env) as session:
        raw = _raw_mail(session, "<utf8-address@bücher.example>")
        assert raw is not None
        assert raw.envelope_from == sender
        assert blobs.read(session, sha256=raw.blob_sha256) == data
        ticket = ticket_of_raw(session, "<utf8-address@bücher.example>")
        assert ticket is not None
        assert ticket.title == "Bestellung ärgerlich"
        assert "Grüße aus München." in ticket.articles[0].body_text


def test_a_mail_over_the_size_limit_is_refused_permanently_with_552(mail_env, small_receiver):
    with smtplib.SMTP(small_receiver.hostname, small_receiver.port, timeout=30) as client:
        client.ehlo("mta.example")
        assert client.esmtp_features["size"] == "100000"

    big = build_mail(subject="Too big, declared", body="y" * 150_000)
    # An MTA that declares the size (smtplib does, as SIZE=) is refused at MAIL FROM.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(small_receiver, big)
    assert refused.value.smtp_code == 552

    # One that does not is refused after DATA, also when the excess is in one single line.
    undeclared = build_mail(subject="Too big, undeclared", body="z" * 150_000)
    one_line = _crlf(
        "From: john.doe@acme.example",
        "To: support@helpdesk.example",
        "Subject: Too big, one line",
        "Message-ID: <one-huge-line@acme.example>",
        "",
        "w" * 150_000,
    )
    for data in (undeclared.as_bytes(policy=undeclared.policy.clone(linesep="\r\n")), one_line):
        with smtplib.SMTP(small_receiver.hostname, small_receiver.port, timeout=30) as client:
            client.ehlo("mta.example")
            assert client.mail("john.doe@acme.example")[0] == 250
            assert client.rcpt("support@helpdesk.example")[0] == 250
            assert client.data(data)[0] == 552
            # The session goes on: the next mail of the connection is taken.
            fits = build_mail(subject="Small enough")
            assert (
                client.sendmail("john.doe@acme.example", ["support@helpdesk.example"], fits.as_bytes()) == {}
            )

    with session_scope(mail_env) as session:
        for message_id in (big["Message-ID"], undeclared["Message-ID"], "<one-huge-line@acme.example>"):
            assert _raw_mail(session, message_id) is None


def test_a_database_error_is_a_temporary_451_and_the_retry_is_stored(
    mail_env, mail_database, monkeypatch, drain
):
    monkeypatch.setenv("TICKETFLOW_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/unreachable")
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    mail = build_mail(subject="While the database is down")
    try:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            send(controller, mail)
        assert failed.value.smtp_code == 451  # 4xx: the sending MTA keeps the mail

        # The database is back: the MTA's next attempt is taken.
        monkeypatch.setenv("TICKETFLOW_DATABASE_URL", mail_database)
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()
        send(controller, mail)
        drain()
    finally:
        controller.stop()
    with session_scope(db.make_sessionmaker(db.get_engine())) as session:
        assert ticket_of_raw(session, mail["Message-ID"]) is not None


def test_the_envelope_is_kept_and_a_bcc_to_a_queue_address_routes_the_mail(mail_env, receiver, drain):
    # Bcc'd to Finance: the queue's address is only in the envelope.
    mail = build_mail(subject="Invoice copy for you", to="colleague@acme.example")
    send(receiver, mail, envelope_from="bounces+42@acme.example", to=["finance@helpdesk.example"])
    drain()

    with session_scope(mail_env) as session:
        raw = _raw_mail(session, mail["Message-ID"])
        assert raw is not None
        assert (raw.envelope_from, raw.envelope_to) == ("bounces+42@acme.example", "finance@helpdesk.example")
        ticket = ticket_of_raw(session, mail["Message-ID"])
        assert ticket is not None
        assert ticket.queue.name == "Finance"


def test_the_to_header_decides_before_the_envelope_order(mail_env, receiver, drain):
    # Written to Support with Finance in Cc; the MTA happens to list Finance first.
    mail = build_mail(subject="Which queue?", headers={"Cc": "finance@helpdesk.example"})
    send(receiver, mail, to=["finance@helpdesk.example", "support@helpdesk.example"])
    drain()

    with session_scope(mail_env) as session:
        ticket = ticket_of_raw(session, mail["Message-ID"])
        assert ticket is not None
        assert ticket.queue.name == "Raw"  # the queue of support@helpdesk.example
        count = select(func.count()).select_from(RawMail).where(RawMail.message_id == mail["Message-ID"])
        assert session.scalar(count) == 1
