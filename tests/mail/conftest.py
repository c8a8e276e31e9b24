"""Mail test fixtures: a database of the mail tests' own, our SMTP receiver, a real relay.

The receiver and the job runner work in their own transactions, as in production, so these
tests commit: they use a PostgreSQL database of their own (one per xdist worker and module)
with the demo data, the automatic answers and the default processes.  Outgoing mail goes to
a real aiosmtpd server acting as the relay, which records what it received and can be told
to refuse mail or be stopped.
"""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config, db, jobs
from core.db import make_sessionmaker
from desk.rawmail.models import RawMail
from desk.ticket.models import Ticket
from mail.inbound.smtp_receiver import make_controller
from tests.conftest import WORKER, seeded_pg_database


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RelayBehaviour:
    """What the fake-free relay answers: ``None`` accepts, else an SMTP reply line."""

    reply: str | None = None
    received: list[Any] = field(default_factory=list)


class RecordingHandler:
    """aiosmtpd handler of the relay: records envelopes, or refuses as told."""

    def __init__(self, behaviour: RelayBehaviour) -> None:
        self.behaviour = behaviour

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.behaviour.reply is not None:
            return self.behaviour.reply
        self.behaviour.received.append(envelope)
        return "250 OK"


@dataclass
class Relay:
    """The outgoing relay (a real SMTP server on 127.0.0.1)."""

    port: int
    behaviour: RelayBehaviour
    controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(RecordingHandler(self.behaviour), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[Any]:
        import email
        from email import policy

        return [
            email.message_from_bytes(e.original_content, policy=policy.default)
            for e in self.behaviour.received
        ]


@pytest.fixture(scope="module")
def mail_database(request: pytest.FixtureRequest) -> str:
    """A migrated database with demo data, automatic answers and the default processes."""
    return seeded_pg_database(f"tf_mail_{request.module.__name__.rsplit('.', 1)[-1][:20]}_{WORKER}")


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A running relay that accepts everything (tests may change its behaviour)."""
    relay = Relay(port=free_port(), behaviour=RelayBehaviour())
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture
def mail_env(
    mail_database: str, relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    """Point the whole process (receiver, jobs, senders) at the mail database and the relay."""
    monkeypatch.setenv("TICKETFLOW_DATABASE_URL", mail_database)
    monkeypatch.setenv("TICKETFLOW_SMTP_URL", relay.url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    backend = jobs.InProcessBackend()
    jobs.set_backend(backend)
    yield make_sessionmaker(db.get_engine())
    backend.join()
    jobs.set_backend(None)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()


@pytest.fixture
def drain() -> Callable[[], None]:
    """Wait until every job (processing, answers, delivery) has run."""

    def wait() -> None:
        backend = jobs.get_backend()
        assert isinstance(backend, jobs.InProcessBackend)
        backend.join()

    return wait


@pytest.fixture
def receiver(mail_env: sessionmaker[Session]) -> Iterator[Any]:
    """Our SMTP receiver on a free port."""
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    yield controller
    controller.stop()


def build_mail(
    *,
    sender: str = "john.doe@acme.example",
    to: str = "support@helpdesk.example",
    subject: str = "Printer broken",
    body: str = "The printer on floor 3 is broken.",
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> EmailMessage:
    """A plain mail as a mail client would write it."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="client.example")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail


def send(
    receiver: Any,
    mail: EmailMessage | bytes,
    *,
    envelope_from: str | None = None,
    to: list[str] | None = None,
) -> None:
    """Deliver ``mail`` to our receiver over SMTP."""
    # Lines end in CRLF on the wire: smtplib sends bytes unchanged, and aiosmtpd refuses a
    # "line" (an LF-only mail read up to its first CRLF) longer than 1001 bytes.
    data = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n")) if isinstance(mail, EmailMessage) else mail
    sender = (
        envelope_from
        if envelope_from is not None
        else (str(mail["From"]) if isinstance(mail, EmailMessage) else "someone@example.org")
    )
    recipients = to or ([str(mail["To"])] if isinstance(mail, EmailMessage) else ["support@helpdesk.example"])
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
        client.sendmail(sender, recipients, data)


def ticket_of_raw(session: Session, message_id: str) -> Ticket | None:
    """The ticket made from the stored mail with this Message-ID."""
    raw = session.scalar(select(RawMail).where(RawMail.message_id == message_id))
    return session.get(Ticket, raw.ticket_id) if raw is not None and raw.ticket_id else None


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
