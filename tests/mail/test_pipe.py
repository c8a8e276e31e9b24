"""``ticketflow mail ingest`` as an MTA pipe runs it: stdin in, exit status out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import make_engine, make_sessionmaker, session_scope
from desk.outbox.models import OutboxMessage
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from tests.mail.conftest import build_mail, ticket_of_raw

BIN = Path(sys.executable).parent
EX_TEMPFAIL = 75


def _env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_DATABASE_URL": database_url,
            "TICKETFLOW_SECRET_KEY": "pipe-test",
            "TICKETFLOW_ENV": "test",
            "TICKETFLOW_VAR_DIR": str(var_dir),
        }
    )
    return env


def _ingest(data: bytes, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(BIN / "ticketflow"), "mail", "ingest", *args],
        input=data,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def pipe_env(mail_database: str, tmp_path: Path) -> dict[str, str]:
    return _env(mail_database, tmp_path)


def test_a_piped_mail_is_stored_and_becomes_a_ticket_once(pipe_env, mail_database, tmp_path):
    mail = build_mail(subject="Piped printer trouble", sender="Pia Pipe <pia@pipe.example>")
    (tmp_path / "mail.eml").write_bytes(mail.as_bytes())

    first = _ingest((tmp_path / "mail.eml").read_bytes(), pipe_env)
    assert first.returncode == 0, first.stderr.decode()
    assert b"stored as raw mail" in first.stdout
    assert b"already known" not in first.stdout
    again = _ingest(mail.as_bytes(), pipe_env)
    assert again.returncode == 0, again.stderr.decode()
    assert b"(already known)" in again.stdout

    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            raw = session.scalars(select(RawMail).where(RawMail.message_id == mail["Message-ID"])).one()
            assert (raw.source, raw.status) == ("pipe", "processed")
            ticket = ticket_of_raw(session, mail["Message-ID"])
            assert ticket is not None
            assert ticket.customer_user.email == "pia@pipe.example"
            titles = select(func.count()).select_from(Ticket).where(Ticket.title == "Piped printer trouble")
            assert session.scalar(titles) == 1
            # The acknowledgement waits in the outbox for the worker's sweep.
            ack = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).one()
            assert ack.to_addr == "pia@pipe.example"
    finally:
        engine.dispose()


def test_an_unreachable_database_asks_the_mta_to_retry(tmp_path):
    env = _env("postgresql+psycopg://postgres@127.0.0.1:1/x", tmp_path)

    done = _ingest(build_mail(subject="Database down").as_bytes(), env)

    assert done.returncode == EX_TEMPFAIL
    output = (done.stdout + done.stderr).decode()
    assert "Traceback" not in output
    assert "cannot store the mail now" in output


@pytest.mark.parametrize("data", [b"", b"\r\n  \n"])
def test_empty_input_is_a_clear_error(tmp_path, data):
    env = _env("postgresql+psycopg://postgres@127.0.0.1:1/x", tmp_path)

    done = _ingest(data, env)

    assert done.returncode == 1
    output = (done.stdout + done.stderr).decode()
    assert "no mail on standard input" in output
    assert "Traceback" not in output


def test_the_envelope_recipient_routes_a_bcc_mail_to_its_queue(pipe_env, mail_database):
    """As Postfix's pipe(8) runs it: ``--sender=${sender} --recipient=${recipient}``."""
    mail = build_mail(subject="Piped Bcc to finance", to="colleague@acme.example")

    done = _ingest(
        mail.as_bytes(), pipe_env, "--sender=john.doe@acme.example", "--recipient", "finance@helpdesk.example"
    )

    assert done.returncode == 0, done.stderr.decode()
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            raw = session.scalars(select(RawMail).where(RawMail.message_id == mail["Message-ID"])).one()
            assert (raw.envelope_from, raw.envelope_to) == (
                "john.doe@acme.example",
                "finance@helpdesk.example",
            )
            ticket = ticket_of_raw(session, mail["Message-ID"])
            assert ticket is not None
            assert ticket.queue.name == "Finance"
    finally:
        engine.dispose()


def test_every_recipient_is_kept_and_an_empty_sender_is_the_null_sender(pipe_env, mail_database):
    """Postfix's ${recipient} becomes one argument per recipient; a bounce's sender is empty."""
    mail = build_mail(
        subject="Piped to two queues", sender="robot@partner.example", to="someone@partner.example"
    )

    done = _ingest(
        mail.as_bytes(),
        pipe_env,
        "--sender=",
        "--recipient=nobody@helpdesk.example",
        "--",
        "finance@helpdesk.example",
        "support@helpdesk.example",
    )

    assert done.returncode == 0, done.stderr.decode()
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            raw = session.scalars(select(RawMail).where(RawMail.message_id == mail["Message-ID"])).one()
            assert raw.envelope_from == "<>"
            assert (
                raw.envelope_to == "nobody@helpdesk.example,finance@helpdesk.example,support@helpdesk.example"
            )
            ticket = ticket_of_raw(session, mail["Message-ID"])
            assert ticket is not None
            assert ticket.queue.name == "Finance"  # the first envelope recipient that is a queue's
            # Mail from the null sender is a robot's: it gets no acknowledgement.
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.ticket_id == ticket.id)
                )
                == 0
            )
    finally:
        engine.dispose()
