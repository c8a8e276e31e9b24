"""Issue 10's acceptance table: every corpus mail over SMTP and through the pipe.

Every file of ``shared/corpus/mail`` (walked recursively, read where it lies) is sent to our
SMTP receiver and, as its own subprocess, to ``ticketflow mail ingest``, each channel into a
database of its own (the pipe hands its mails to a receiver of its own database, as it does
in production; one group's pipe stores them itself, the fallback when no receiver runs).
Both channels must leave the same ticket, article and attachment rows; and for every mail
whose right answer a person can work out from the raw bytes, the decoded subject, the sender
address and the attachment names must be the ones written down in
``corpus_expectations.json`` (worked out by reading each raw mail, not by running the code).

The mails go in groups (a folder, large folders halved), one group per test, so that xdist
spreads the work and a group's databases stay small.  Both channels get the same bytes with
the same envelope: lines end in CRLF, as SMTP requires.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import smtplib
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import make_engine, make_sessionmaker, session_scope
from desk.article.models import Article, Attachment
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.smtp_receiver import make_controller
from tests.conftest import IN_CI, WORKER, seeded_pg_database
from tests.mail.conftest import Relay, RelayBehaviour, free_port
from tests.subprocesses import TICKETFLOW, ticketflow_env

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mail"
EXPECTATIONS = json.loads((Path(__file__).with_name("corpus_expectations.json")).read_text("utf-8"))
ENVELOPE_FROM = "corpus@sender.example"
ENVELOPE_TO = "support@helpdesk.example"
# A group per test: (name, folder, slice of its sorted files).
GROUPS = {
    "cpython-1": ("cpython", slice(0, 24)),
    "cpython-2": ("cpython", slice(24, None)),
    "otobo-emailparser": ("otobo/EmailParser", slice(None)),
    "otobo-postmaster": ("otobo/PostMaster", slice(None)),
    "otobo-samples-and-rt": ("otobo/sample_mails rt", slice(None)),
}
# The pipe hands its mails to the running receiver, as in production; this group's pipe
# runs without one, so the fallback (every process storing its own mail) sees real mails too.
DIRECT_PIPE_GROUPS = {"otobo-samples-and-rt"}
# What tests.subprocesses.ticketflow_env gives every ticketflow subprocess.
PIPE_SECRET_KEY = "subprocess-test"


def _require_corpus() -> None:
    if not CORPUS.is_dir():
        message = f"the mail corpus is missing: {CORPUS}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _files(group: str) -> list[Path]:
    folders, part = GROUPS[group]
    files: list[Path] = []
    for folder in folders.split():
        files += sorted(p for p in (CORPUS / folder).rglob("*") if p.is_file())
    return files[part]


def _name(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def as_sent(data: bytes) -> bytes:
    """``data`` as an MTA hands it on: lines end in CRLF (aiosmtpd reads nothing else)."""
    data = re.sub(rb"\r\n|\n|\r(?!\n)", b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


@contextlib.contextmanager
def _receiving(database_url: str) -> Iterator[Any]:
    """Our SMTP receiver on a free port, storing into ``database_url`` and running every job.

    Its secret key is the one ``ticketflow_env`` gives the pipe's subprocesses, so the pipe
    proves itself to it (``XTFPIPE``) and its mails are stored as the pipe's.
    """
    relay = Relay(port=free_port(), behaviour=RelayBehaviour())
    relay.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TICKETFLOW_DATABASE_URL", database_url)
        patch.setenv("TICKETFLOW_SMTP_URL", relay.url)
        patch.setenv("TICKETFLOW_SECRET_KEY", PIPE_SECRET_KEY)
        config.get_settings.cache_clear()
        db.get_engine.cache_clear()
        backend = jobs.InProcessBackend()
        jobs.set_backend(backend)
        receiver = make_controller("127.0.0.1", free_port())
        receiver.start()
        try:
            yield receiver
            backend.join()
        finally:
            receiver.stop()
            relay.stop()
            backend.join()
            jobs.set_backend(None)
            db.get_engine.cache_clear()
    config.get_settings.cache_clear()


def _over_smtp(files: list[Path], database_url: str) -> dict[str, str]:
    """Send ``files`` to our receiver (and run every job); what the receiver refused."""
    refused: dict[str, str] = {}
    with (
        _receiving(database_url) as receiver,
        smtplib.SMTP(receiver.hostname, receiver.port, timeout=60) as client,
    ):
        for path in files:
            try:
                client.sendmail(ENVELOPE_FROM, [ENVELOPE_TO], as_sent(path.read_bytes()))
            except smtplib.SMTPException as exc:
                refused[_name(path)] = repr(exc)
    return refused


def _through_the_pipe(files: list[Path], database_url: str, var_dir: Path, *, direct: bool) -> dict[str, str]:
    """``ticketflow mail ingest`` once per file, as an MTA runs it; what it refused.

    With a receiver running (as in production) the pipe hands each mail to it; ``direct``
    runs no receiver, so every process stores its mail itself (the pipe's fallback path).
    """

    def run_all(env: dict[str, str]) -> dict[str, str]:
        args = [TICKETFLOW, "mail", "ingest", "--sender", ENVELOPE_FROM, "--recipient", ENVELOPE_TO]

        def ingest(path: Path) -> tuple[str, subprocess.CompletedProcess[bytes]]:
            data = as_sent(path.read_bytes())
            done = subprocess.run(args, input=data, env=env, capture_output=True, timeout=180, check=False)
            return _name(path), done

        # Two at a time: a mail's sender may be new to both (the pipeline retries that
        # conflict, as it does for two MTAs delivering at once).
        refused: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=2) as pool:
            for name, done in pool.map(ingest, files):
                if done.returncode != 0:
                    refused[name] = f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
        return refused

    if direct:
        return run_all(ticketflow_env(database_url, var_dir, SMTP_RECEIVER_PORT=str(free_port())))
    with _receiving(database_url) as receiver:
        env = ticketflow_env(
            database_url, var_dir, SMTP_RECEIVER_HOST=receiver.hostname, SMTP_RECEIVER_PORT=str(receiver.port)
        )
        return run_all(env)


def _raw_of(session: Session, path: Path) -> RawMail:
    sha = hashlib.sha256(as_sent(path.read_bytes())).hexdigest()
    raw = session.scalar(select(RawMail).where(RawMail.blob_sha256 == sha))
    assert raw is not None, f"{_name(path)} was not stored byte for byte"
    return raw


def _rows(session: Session, path: Path) -> dict[str, Any]:
    """What a user would notice of one mail: its raw mail's outcome, ticket, article, files."""
    raw = _raw_of(session, path)
    ticket = session.get(Ticket, raw.ticket_id) if raw.ticket_id is not None else None
    article = session.scalar(select(Article).where(Article.raw_mail_id == raw.id))
    attachments = (
        session.scalars(
            select(Attachment).where(Attachment.article_id == article.id).order_by(Attachment.id)
        ).all()
        if article is not None
        else []
    )
    return {
        "raw": (raw.status, raw.error, raw.envelope_from, raw.envelope_to),
        "ticket": None
        if ticket is None
        else (
            ticket.title,
            ticket.queue.name,
            ticket.state.name,
            ticket.customer_user.email if ticket.customer_user is not None else None,
            len(ticket.articles),
        ),
        "article": None
        if article is None
        else (
            article.channel,
            article.sender_type,
            article.is_visible_for_customer,
            article.from_addr,
            article.to_addr,
            article.cc_addr,
            article.subject,
            article.body_text,
            article.body_html,
            article.message_id,
            article.in_reply_to,
        ),
        "attachments": [
            (a.filename, a.content_type, a.size, a.blob_sha256, a.is_inline, a.content_id)
            for a in attachments
        ],
    }


@pytest.fixture(scope="module")
def channels_of(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``channels_of(group)``: the group sent over SMTP and the pipe, as session factories."""
    engines: list[Any] = []

    def run(group: str) -> tuple[list[Path], sessionmaker[Session], sessionmaker[Session]]:
        _require_corpus()
        files = _files(group)
        assert files, f"no corpus mails for {group}"
        tag = group.replace("-", "_")[:16]
        smtp_url = seeded_pg_database(f"tf_corpus_s_{tag}_{WORKER}")
        pipe_url = seeded_pg_database(f"tf_corpus_p_{tag}_{WORKER}")
        refused = _over_smtp(files, smtp_url)
        assert refused == {}, "the SMTP receiver refused corpus mails"
        refused = _through_the_pipe(
            files, pipe_url, tmp_path_factory.mktemp(f"pipe-{group}"), direct=group in DIRECT_PIPE_GROUPS
        )
        assert refused == {}, "the pipe refused corpus mails"
        factories = []
        for url in (smtp_url, pipe_url):
            engine = make_engine(url)
            engines.append(engine)
            factories.append(make_sessionmaker(engine))
        return files, factories[0], factories[1]

    yield run
    for engine in engines:
        engine.dispose()


def _sender_address(article: Article) -> str:
    return parseaddr(article.from_addr)[1]


def _check_expectation(session: Session, path: Path) -> list[str]:
    """How the mail's first article differs from the table (``[]``: as written down)."""
    name = _name(path)
    expected = EXPECTATIONS[name]
    raw = _raw_of(session, path)
    if raw.status != "processed":
        return [f"{name}: {raw.status} {raw.error}"]
    if "copy_of" in expected:
        # The same mail arrived before as another file: added once, noted in the history.
        first = _raw_of(session, CORPUS / expected["copy_of"])
        if raw.ticket_id != first.ticket_id or session.scalar(
            select(Article.id).where(Article.raw_mail_id == raw.id)
        ):
            return [f"{name}: not recognised as the copy of {expected['copy_of']}"]
        return []
    article = session.scalar(select(Article).where(Article.raw_mail_id == raw.id))
    if article is None:
        return [f"{name}: processed without an article"]
    if "unknowable" in expected:
        return []
    names = list(
        session.scalars(
            select(Attachment.filename).where(Attachment.article_id == article.id).order_by(Attachment.id)
        )
    )
    actual = {"subject": article.subject, "sender": _sender_address(article).lower(), "attachments": names}
    wanted = {
        "subject": expected["subject"],
        "sender": expected["sender"].lower(),
        "attachments": expected["attachments"],
    }
    wrong = [
        f"{name}: {key} is {actual[key]!r}, not {wanted[key]!r}"
        for key in wanted
        if actual[key] != wanted[key]
    ]
    if "known_gap" in expected:
        # Written down as right, known to be wrong: once the product gets it, the mark goes.
        return [] if wrong else [f"{name}: now right, remove its known_gap ({expected['known_gap']})"]
    return wrong


def test_every_corpus_mail_has_a_row_in_the_table():
    """The table covers the corpus exactly: a new corpus file needs its answer written down."""
    _require_corpus()
    on_disk = {_name(p) for p in CORPUS.rglob("*") if p.is_file()}
    assert on_disk == set(EXPECTATIONS) - {"_comment"}
    grouped = [_name(p) for group in GROUPS for p in _files(group)]
    assert sorted(grouped) == sorted(on_disk)
    for name, row in EXPECTATIONS.items():
        if name == "_comment":
            continue
        assert "unknowable" in row or "copy_of" in row or {"subject", "sender", "attachments"} <= set(row), (
            name
        )


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_corpus_over_smtp_and_the_pipe(group, channels_of):
    """One group: both channels give the same rows, and the table's answers."""
    files, over_smtp, over_pipe = channels_of(group)
    problems: list[str] = []
    with session_scope(over_smtp) as smtp, session_scope(over_pipe) as pipe:
        for path in files:
            by_smtp, by_pipe = _rows(smtp, path), _rows(pipe, path)
            if by_smtp != by_pipe:
                problems.append(f"{_name(path)}: the channels differ:\n  smtp {by_smtp}\n  pipe {by_pipe}")
            if by_pipe["raw"][2:] != (ENVELOPE_FROM, ENVELOPE_TO):
                problems.append(f"{_name(path)}: the envelope is {by_pipe['raw'][2:]}")
            for session in (smtp, pipe):
                problems += _check_expectation(session, path)
    assert not problems, "\n".join(problems)
