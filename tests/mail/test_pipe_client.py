"""The pipe as a small client of the running receiver (issue 16).

``ticketflow mail ingest`` (the console script, as an MTA runs it) hands the mail to the
running SMTP receiver of its installation and imports neither SQLAlchemy nor click for it;
without a receiver it stores the mail itself.  Whichever way ran, the raw mail row (source,
envelope, bytes), the ticket and its articles are the same.  Each command runs under
``python -X importtime``: the modules it imported show which way it went.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.db import make_engine, make_sessionmaker, session_scope
from desk.blob import service as blobs
from desk.outbox.models import OutboxMessage
from desk.rawmail.models import RawMail
from mail.inbound.pipe_client import parse_arguments, pipe_token, receiver_config, wire_form
from tests.mail.conftest import build_mail, ticket_of_raw
from tests.subprocesses import TICKETFLOW, free_port, port_answers, start_ticketflow, stop, ticketflow_env

EX_TEMPFAIL = 75
LIMIT = 200_000  # the receivers' TICKETFLOW_MAX_MAIL_BYTES here
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)
STORED = re.compile(r"stored as raw mail (\d+)\n")


class Receiver:
    """``ticketflow mail receive`` as a process of its own, and the environment of its pipe."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = int(env["TICKETFLOW_SMTP_RECEIVER_PORT"])
        self._log = log.open("wb")
        self.process = start_ticketflow(["mail", "receive"], env, self._log)
        deadline = time.monotonic() + 90
        while not port_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the receiver did not start: {log.read_text()}")
            time.sleep(0.2)

    def close(self) -> None:
        stop(self.process)
        self._log.close()


def _receiver(database_url: str, workdir: Path) -> Iterator[Receiver]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = ticketflow_env(
        database_url, workdir, SMTP_RECEIVER_PORT=str(free_port()), MAX_MAIL_BYTES=str(LIMIT)
    )
    receiver = Receiver(env, workdir / "receiver.log")
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture(scope="module")
def receiver(mail_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """The receiver of the mail database (no Redis: it processes the mail it stores itself)."""
    yield from _receiver(mail_database, tmp_path_factory.mktemp("receiver"))


@pytest.fixture
def receiver_without_database(tmp_path: Path) -> Iterator[Receiver]:
    """A receiver running while its database is down."""
    yield from _receiver(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none", tmp_path / "down")


def _ingest(
    data: bytes, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """The console script as the MTA runs it; also the modules it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", TICKETFLOW, "mail", "ingest", *args],
        input=data,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done, set(IMPORTED.findall(done.stderr.decode()))


def _messages(done: subprocess.CompletedProcess[bytes]) -> str:
    """Standard error without Python's import report."""
    return "\n".join(
        line for line in done.stderr.decode().splitlines() if not line.startswith("import time:")
    )


def _via_receiver(modules: set[str]) -> bool:
    assert "mail.inbound.pipe_client" in modules  # the report is read right
    return "sqlalchemy" not in modules and "click" not in modules


def _raw_id(done: subprocess.CompletedProcess[bytes]) -> int:
    match = STORED.fullmatch(done.stdout.decode())
    assert match, (done.stdout, _messages(done))
    return int(match.group(1))


def _processed(database_url: str, raw_id: int) -> RawMail:
    """The raw mail once processed (the receiver processes on a thread after its 250)."""
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + 60
        while True:
            with session_scope(make_sessionmaker(engine)) as session:
                raw = session.get(RawMail, raw_id)
                assert raw is not None
                if raw.status != "received" or time.monotonic() > deadline:
                    session.expunge(raw)
                    return raw
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_the_pipe_hands_the_mail_to_the_running_receiver_without_sqlalchemy(
    receiver: Receiver, mail_database: str
) -> None:
    mail = build_mail(subject="Handed to the receiver", sender="Hana Hand <hana@pipe.example>")

    done, modules = _ingest(
        mail.as_bytes(),
        receiver.env,
        "--sender",
        "hana@pipe.example",
        "--recipient",
        "support@helpdesk.example",
    )

    assert done.returncode == 0, _messages(done)
    assert _via_receiver(modules), sorted(m for m in modules if m.startswith(("sqlalchemy", "click")))
    raw_id = _raw_id(done)
    raw = _processed(mail_database, raw_id)
    assert (raw.source, raw.status, raw.error) == ("pipe", "processed", None)
    assert (raw.envelope_from, raw.envelope_to) == ("hana@pipe.example", "support@helpdesk.example")
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            ticket = ticket_of_raw(session, mail["Message-ID"])
            assert ticket is not None
            assert ticket.title == "Handed to the receiver"
            assert ticket.customer_user is not None
            assert ticket.customer_user.email == "hana@pipe.example"
    finally:
        engine.dispose()

    again, modules = _ingest(
        mail.as_bytes(), receiver.env, "--sender=hana@pipe.example", "support@helpdesk.example"
    )

    assert again.returncode == 0, _messages(again)
    assert again.stdout.decode() == f"stored as raw mail {raw_id} (already known)\n"
    assert _via_receiver(modules)


@pytest.mark.parametrize("way", ["receiver", "direct"])
def test_the_stored_mail_is_the_same_whichever_way_the_pipe_went(
    way: str, receiver: Receiver, mail_database: str
) -> None:
    """A bounce (null sender) Bcc'd to finance, LF line ends, a line of one dot, no final newline."""
    mail = build_mail(
        subject=f"Bounce the {way} way", sender="robot@partner.example", to="someone@partner.example"
    )
    data = mail.as_bytes().rstrip(b"\n") + b"\n.\n..two dots\n.one dot\nno newline at the end"
    assert b"\r\n" not in data
    env = dict(receiver.env)
    if way == "direct":
        env["TICKETFLOW_SMTP_RECEIVER_PORT"] = str(free_port())  # nobody listens there

    done, modules = _ingest(
        data,
        env,
        "--sender=",
        "--recipient=nobody@helpdesk.example",
        "--",
        "finance@helpdesk.example",
        "support@helpdesk.example",
    )

    assert done.returncode == 0, _messages(done)
    assert _via_receiver(modules) == (way == "receiver")
    raw = _processed(mail_database, _raw_id(done))
    assert raw.status == "processed", raw.error
    assert raw.source == "pipe"
    assert raw.envelope_from == "<>"
    assert raw.envelope_to == "nobody@helpdesk.example,finance@helpdesk.example,support@helpdesk.example"
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            assert blobs.read(session, sha256=raw.blob_sha256) == data
            ticket = ticket_of_raw(session, mail["Message-ID"])
            assert ticket is not None
            assert ticket.queue.name == "Finance"  # the first envelope recipient that is a queue's
            [article] = ticket.articles
            assert article.subject == f"Bounce the {way} way"
            assert article.body_text.splitlines()[-4:] == [
                ".",
                "..two dots",
                ".one dot",
                "no newline at the end",
            ]
            # Mail from the null sender is a robot's: it gets no acknowledgement.
            acks = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)
            assert session.scalar(acks) == 0
    finally:
        engine.dispose()


def test_a_pipe_run_without_sender_stores_no_envelope_sender(receiver: Receiver, mail_database: str) -> None:
    mail = build_mail(subject="No envelope sender", sender="nina@pipe.example")

    done, modules = _ingest(mail.as_bytes(), receiver.env, "--recipient", "support@helpdesk.example")

    assert done.returncode == 0, _messages(done)
    assert _via_receiver(modules)
    raw = _processed(mail_database, _raw_id(done))
    assert (raw.source, raw.envelope_from, raw.envelope_to) == ("pipe", "", "support@helpdesk.example")
    assert raw.status == "processed", raw.error


def test_a_mail_over_the_limit_is_refused_for_good(receiver: Receiver, mail_database: str) -> None:
    mail = build_mail(subject="Far too large", body="x" * 80 + "\n" * 1 + ("y" * 99 + "\n") * 3000)
    data = mail.as_bytes()
    assert len(data) > LIMIT

    done, modules = _ingest(
        data, receiver.env, "--sender=big@pipe.example", "--recipient=support@helpdesk.example"
    )

    assert done.returncode == 1
    assert _via_receiver(modules)
    assert _messages(done) == f"Error: mail of {len(data)} bytes is over the limit of {LIMIT}"
    assert done.stdout == b""
    engine = make_engine(mail_database)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            stored = select(func.count()).select_from(RawMail).where(RawMail.message_id == mail["Message-ID"])
            assert session.scalar(stored) == 0
    finally:
        engine.dispose()


def test_a_receiver_whose_database_is_down_makes_the_pipe_exit_75(
    receiver_without_database: Receiver,
) -> None:
    done, modules = _ingest(
        build_mail(subject="Database down behind the receiver").as_bytes(),
        receiver_without_database.env,
        "--sender=someone@pipe.example",
        "--recipient=support@helpdesk.example",
    )

    assert done.returncode == EX_TEMPFAIL
    assert _via_receiver(modules)
    messages = _messages(done)
    assert messages.startswith("cannot store the mail now: the receiver answered 451"), messages
    assert "Traceback" not in messages


def test_the_receiver_of_another_installation_is_not_handed_the_mail(
    receiver: Receiver, mail_database: str
) -> None:
    """Another secret key: the receiver refuses the pipe's token, and the pipe stores the mail itself."""
    env = {**receiver.env, "TICKETFLOW_SECRET_KEY": "another-installation"}
    mail = build_mail(subject="Not for that receiver", sender="olga@pipe.example")

    done, modules = _ingest(
        mail.as_bytes(), env, "--sender=olga@pipe.example", "--recipient=support@helpdesk.example"
    )

    assert done.returncode == 0, _messages(done)
    assert not _via_receiver(modules)
    raw = _processed(mail_database, _raw_id(done))
    assert (raw.source, raw.status, raw.envelope_from) == ("pipe", "processed", "olga@pipe.example")


def test_help_and_bad_usage_are_answered_by_the_full_command(tmp_path: Path) -> None:
    env = ticketflow_env(f"sqlite:///{tmp_path / 'none.sqlite3'}", tmp_path)

    shown = subprocess.run(
        [TICKETFLOW, "mail", "ingest", "--help"], env=env, capture_output=True, timeout=60, check=False
    )
    bad = subprocess.run(
        [TICKETFLOW, "mail", "ingest", "--bogus"],
        input=b"x",
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert shown.returncode == 0
    assert b"--recipient ADDRESS" in shown.stdout
    assert bad.returncode == 2
    assert b"No such option '--bogus'" in bad.stderr


@pytest.mark.parametrize(
    "environ",
    [
        {"TICKETFLOW_SECRET_KEY": "k", "TICKETFLOW_DATABASE_URL": "postgresql://u:p@db.example/tf"},
        {
            "TICKETFLOW_SECRET_KEY": "k",
            "TICKETFLOW_DATABASE_URL": "postgres://u@h/x",
            "TICKETFLOW_SMTP_RECEIVER_HOST": "10.0.0.5",
            "TICKETFLOW_SMTP_RECEIVER_PORT": "2626",
        },
        {"TICKETFLOW_SECRET_KEY": "k", "TICKETFLOW_SMTP_RECEIVER_HOST": "", "TICKETFLOW_DATABASE_URL": ""},
        {},  # the development key kept in the var directory
    ],
)
def test_the_pipe_reads_the_receivers_settings_as_core_config_does(
    environ: dict[str, str], tmp_path: Path
) -> None:
    environ = {"TICKETFLOW_VAR_DIR": str(tmp_path), **environ}
    settings = Settings.from_env(environ)  # writes the development key when none is set

    config = receiver_config(environ)

    assert config is not None
    assert (config.host, config.port) == (settings.smtp_receiver_host, settings.smtp_receiver_port)
    assert config.token == pipe_token(settings.secret_key, settings.database_url)


def test_the_wire_form_doubles_leading_dots_and_ends_in_crlf() -> None:
    assert wire_form(b".a\n.b\r\n.c\r\nd.") == b"..a\n.b\r\n..c\r\nd.\r\n"
    assert wire_form(b"x\r\n") == b"x\r\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--sender=", "--recipient=nobody@x.example", "--", "finance@x.example", "-odd@x.example"],
        ["--sender", "s@x.example", "r@x.example", "--recipient", "t@x.example", "--sender=last@x.example"],
        ["--recipient", "--sender"],  # an option's value may look like an option
        ["-", "--recipient="],
        [],
    ],
)
def test_the_small_parser_reads_the_arguments_as_the_click_command_does(argv: list[str]) -> None:
    from ticketflow.cli.mail import mail_ingest

    params = mail_ingest.make_context("ingest", list(argv)).params

    assert parse_arguments(argv) == (params["sender"], [*params["recipients"], *params["more_recipients"]])


@pytest.mark.parametrize("argv", [["--help"], ["-v"], ["--sender"], ["--bogus", "a@x.example"], ["--send=a"]])
def test_what_the_small_parser_does_not_take_goes_to_click(argv: list[str]) -> None:
    assert parse_arguments(argv) is None
