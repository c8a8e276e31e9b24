"""A real Postfix delivers to ``ticketflow mail ingest`` through the documented pipe(8) transport.

Mail is sent to Postfix over SMTP, as a customer's provider would; Postfix hands it to the
``ticketflow`` pipe with the envelope in the arguments.  The envelope recipient routes a
Bcc'd queue address; while the database is unreachable the pipe exits 75 and the mail stays
in Postfix's queue, and ``postqueue -f`` delivers it once the database is back.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker, session_scope
from desk.rawmail.models import RawMail
from tests.mail.conftest import build_mail, free_port, ticket_of_raw, wait_for
from tests.mail.postfix import Postfix, start_postfix, var_dir_of


@pytest.fixture(scope="module")
def postfix() -> Iterator[Postfix]:
    """The private Postfix of this module (see tests/mail/postfix.py)."""
    yield from start_postfix()


@pytest.fixture(scope="module")
def factory(mail_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(mail_database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _environment(database_url: str, postfix: Postfix) -> dict[str, str]:
    return {
        "TICKETFLOW_DATABASE_URL": database_url,
        "TICKETFLOW_SECRET_KEY": "postfix-test",
        "TICKETFLOW_ENV": "test",
        "TICKETFLOW_VAR_DIR": str(var_dir_of(postfix)),
    }


@pytest.fixture
def reachable(postfix: Postfix, mail_database: str) -> Postfix:
    """The pipe's environment names the test database."""
    postfix.set_environment(_environment(mail_database, postfix))
    return postfix


def _submit(postfix: Postfix, mail: EmailMessage, sender: str, recipients: list[str]) -> None:
    with smtplib.SMTP(postfix.host, postfix.port, timeout=30) as client:
        client.sendmail(sender, recipients, mail.as_bytes())


def _raw(factory: sessionmaker[Session], message_id: str) -> RawMail | None:
    with session_scope(factory) as session:
        raw = session.scalars(select(RawMail).where(RawMail.message_id == message_id)).one_or_none()
        if raw is not None:
            session.expunge(raw)
        return raw


def _processed(factory: sessionmaker[Session], message_id: str) -> bool:
    raw = _raw(factory, message_id)
    return raw is not None and raw.status == "processed"


def test_a_bccd_queue_address_is_routed_by_the_envelope_recipient(reachable, factory):
    mail = build_mail(
        subject="Invoice 4711 is wrong",
        sender="Bea Bcc <bea.bcc@acme.example>",
        to="Accounts payable <ap@partner.example>",  # the queue's address is only in the envelope
    )

    _submit(reachable, mail, "bea.bcc@acme.example", ["finance@helpdesk.example"])

    assert wait_for(lambda: _processed(factory, mail["Message-ID"]), timeout=90), reachable.log()
    raw = _raw(factory, mail["Message-ID"])
    assert raw is not None
    assert (raw.source, raw.envelope_from, raw.envelope_to) == (
        "pipe",
        "bea.bcc@acme.example",
        "finance@helpdesk.example",
    )
    with session_scope(factory) as session:
        ticket = ticket_of_raw(session, mail["Message-ID"])
        assert ticket is not None
        assert ticket.queue.name == "Finance"
        assert ticket.customer_user.email == "bea.bcc@acme.example"
        assert ticket.title == "Invoice 4711 is wrong"
    # The pipe exited 0 after the commit: Postfix counts the mail delivered and forgets it.
    delivered = "dsn=2.0.0, status=sent (delivered via ticketflow service"
    assert wait_for(lambda: delivered in reachable.log(), timeout=30), reachable.log()
    assert wait_for(lambda: reachable.queue() == [], timeout=30)


def test_mail_waits_in_postfixs_queue_while_the_database_is_down_and_arrives_after(
    postfix, mail_database, factory
):
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    postfix.set_environment(_environment(unreachable, postfix))
    mail = build_mail(subject="Sent while the database was down", sender="dora.down@acme.example")

    _submit(postfix, mail, "dora.down@acme.example", ["support@helpdesk.example"])

    def deferred() -> list[dict[str, object]]:
        return [
            entry
            for entry in postfix.queue()
            if entry["queue_name"] == "deferred" and entry["sender"] == "dora.down@acme.example"
        ]

    assert wait_for(lambda: bool(deferred()), timeout=90), postfix.log()
    [entry] = deferred()
    [recipient] = entry["recipients"]  # type: ignore[misc]
    assert recipient["address"] == "support@helpdesk.example"
    assert "dsn=4." in postfix.log()  # a temporary failure (exit 75), not a bounce
    assert "bounced" not in postfix.log()
    assert _raw(factory, mail["Message-ID"]) is None

    postfix.set_environment(_environment(mail_database, postfix))
    postfix.flush()

    assert wait_for(lambda: _processed(factory, mail["Message-ID"]), timeout=90), postfix.log()
    assert wait_for(lambda: not deferred(), timeout=30)
    with session_scope(factory) as session:
        ticket = ticket_of_raw(session, mail["Message-ID"])
        assert ticket is not None
        assert ticket.queue.name == "Raw"
        assert ticket.title == "Sent while the database was down"
