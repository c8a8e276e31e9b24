"""S1 and S2 through IMAP: a real Dovecot in, our fetcher, a real relay out.

The mailbox is fetched with :func:`mail.inbound.imap.fetch_account` (and once with
``ticketflow mail fetch``).  A mail is flagged on the server only after its bytes are
committed here, so an interrupted run fetches it again, and storing it again changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import get_settings
from core.db import session_scope
from desk.actor import SYSTEM
from desk.article.models import Article
from desk.rawmail.models import RawMail
from desk.ticket import service as tickets
from desk.ticket import states
from desk.ticket.models import Ticket
from engine import runtime
from mail.inbound import imap as imap_module
from mail.inbound.imap import FETCHED, fetch_account
from mail.models import MailAccount
from tests.mail.conftest import Relay, build_mail, ticket_of_raw
from tests.mail.dovecot import Dovecot, start_dovecot

BIN = Path(sys.executable).parent
SEEN = b"\\Seen"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot for this module (see tests/mail/dovecot.py)."""
    yield from start_dovecot()


@dataclass
class Imap:
    """Everything an IMAP test touches: the mailbox, the database, the relay, the jobs."""

    mailbox: Dovecot
    factory: sessionmaker[Session]
    relay: Relay
    drain: Callable[[], None]
    database_url: str
    accounts: list[int] = field(default_factory=list)

    def account(self, *, password: str | None = None, processed_folder: str = "") -> int:
        """A new active MailAccount for the Dovecot mailbox."""
        with session_scope(self.factory) as session:
            row = MailAccount(
                name=f"dovecot-{os.urandom(6).hex()}",
                host=self.mailbox.host,
                port=self.mailbox.port,
                use_ssl=False,
                username=self.mailbox.username,
                password=self.mailbox.password if password is None else password,
                processed_folder=processed_folder,
            )
            session.add(row)
            session.flush()
            self.accounts.append(row.id)
            return row.id

    def fetch(self, account_id: int) -> int:
        """Fetch the mailbox, then wait until every job (processing, answers) has run."""
        stored = fetch_account(account_id)
        self.drain()
        return stored


@pytest.fixture
def imap(
    dovecot: Dovecot,
    mail_env: sessionmaker[Session],
    mail_database: str,
    relay: Relay,
    drain: Callable[[], None],
) -> Iterator[Imap]:
    """An emptied mailbox; the accounts a test creates are deactivated after it."""
    dovecot.empty()
    world = Imap(dovecot, mail_env, relay, drain, mail_database)
    yield world
    with session_scope(mail_env) as session:
        for account_id in world.accounts:
            row = session.get(MailAccount, account_id)
            if row is not None:
                row.active = False
    dovecot.empty()


def _ticket(factory: sessionmaker[Session], message_id: str) -> tuple[int, str]:
    with session_scope(factory) as session:
        ticket = ticket_of_raw(session, message_id)
        assert ticket is not None, "the mail became no ticket"
        return ticket.id, ticket.number


def _acks(relay: Relay, address: str) -> list[Any]:
    return [m for m in relay.messages() if address in str(m["To"]) and m["Auto-Submitted"]]


def _raw_count(factory: sessionmaker[Session], message_id: str) -> int:
    with session_scope(factory) as session:
        count = select(func.count()).select_from(RawMail).where(RawMail.message_id == message_id)
        return int(session.scalar(count) or 0)


def _last_error(factory: sessionmaker[Session], account_id: int) -> str | None:
    with session_scope(factory) as session:
        row = session.get(MailAccount, account_id)
        assert row is not None
        return row.last_error


def test_s1_a_fetched_mail_becomes_a_ticket_and_is_flagged_only_after_it_is_stored(imap, monkeypatch):
    mail = build_mail(subject="Scanner jammed", sender="Ina Imap <ina@imap-customer.example>")
    imap.mailbox.deliver(mail)
    account_id = imap.account()
    message_id = mail["Message-ID"]
    seen_at_store: list[tuple[set[bytes], set[bytes], int]] = []
    real_accept = imap_module.accept

    def watching_accept(data: bytes, **kwargs: Any) -> tuple[int, bool]:
        before = imap.mailbox.flags()[message_id]
        result = real_accept(data, **kwargs)
        # The bytes are committed now, and the server still has the mail unflagged.
        after = imap.mailbox.flags()[message_id]
        seen_at_store.append((before, after, _raw_count(imap.factory, message_id)))
        return result

    monkeypatch.setattr(imap_module, "accept", watching_accept)
    assert imap.fetch(account_id) == 1

    [(before, after, stored)] = seen_at_store
    assert stored == 1
    for flags in (before, after):
        assert SEEN not in flags
        assert FETCHED not in flags
    assert {SEEN, FETCHED} <= imap.mailbox.flags()[message_id]
    assert _last_error(imap.factory, account_id) is None

    ticket_id, number = _ticket(imap.factory, message_id)
    with session_scope(imap.factory) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.queue.name == "Raw"
        assert ticket.customer_user.email == "ina@imap-customer.example"
        raw = session.scalars(select(RawMail).where(RawMail.message_id == message_id)).one()
        assert raw.source == f"imap:{imap.mailbox.username}"
    [ack] = _acks(imap.relay, "ina@imap-customer.example")
    assert f"[Ticket#{number}]" in str(ack["Subject"])
    assert ack["In-Reply-To"] == message_id

    # A second fetch finds nothing new: no second raw mail, ticket or answer.
    assert imap.fetch(account_id) == 0
    assert _raw_count(imap.factory, message_id) == 1
    assert len(_acks(imap.relay, "ina@imap-customer.example")) == 1


def test_s2_follow_ups_by_subject_and_by_references_land_on_the_same_ticket(imap):
    account_id = imap.account()
    first = build_mail(subject="Badge reader offline", sender="otto.imap@acme.example")
    imap.mailbox.deliver(first)
    assert imap.fetch(account_id) == 1
    ticket_id, number = _ticket(imap.factory, first["Message-ID"])
    [ack] = _acks(imap.relay, "otto.imap@acme.example")

    by_subject = build_mail(
        subject=f"Re: [Ticket#{number}] Badge reader offline",
        sender="otto.imap@acme.example",
        body="Still offline this morning.",
    )
    imap.mailbox.deliver(by_subject)
    assert imap.fetch(account_id) == 1
    by_references = build_mail(
        subject="Re: your answer",
        sender="otto.imap@acme.example",
        body="And the one on floor 2 too.",
        headers={"References": ack["Message-ID"]},
    )
    imap.mailbox.deliver(by_references)
    assert imap.fetch(account_id) == 1

    assert _ticket(imap.factory, by_subject["Message-ID"])[0] == ticket_id
    assert _ticket(imap.factory, by_references["Message-ID"])[0] == ticket_id
    with session_scope(imap.factory) as session:
        ticket = session.get(Ticket, ticket_id)
        bodies = [a.body_text for a in ticket.articles if a.sender_type == "customer"]
        assert [b.split()[0] for b in bodies] == ["The", "Still", "And"]
        titles = select(func.count()).select_from(Ticket).where(Ticket.title.contains("Badge reader"))
        assert session.scalar(titles) == 1


def test_s2_a_fetched_reply_to_a_closed_ticket_reopens_it(imap):
    account_id = imap.account()
    first = build_mail(subject="Keyboard sticky", sender="paula.imap@globex.example")
    imap.mailbox.deliver(first)
    assert imap.fetch(account_id) == 1
    ticket_id, number = _ticket(imap.factory, first["Message-ID"])
    with session_scope(imap.factory) as session:
        ticket = session.get(Ticket, ticket_id)
        for instance in runtime.instances_of(session, ticket=ticket):
            instance.status = "cancelled"  # as if its process had ended
        tickets.set_state(
            session, actor=SYSTEM, ticket=ticket, state=states.get_state(session, "closed successful")
        )

    imap.mailbox.deliver(
        build_mail(
            subject=f"Re: [Ticket#{number}] Keyboard sticky",
            sender="paula.imap@globex.example",
            body="Sticky again.",
        )
    )
    assert imap.fetch(account_id) == 1

    with session_scope(imap.factory) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.state.name == "open"
        assert ticket.articles[-1].body_text.startswith("Sticky again")


def test_a_mail_stored_by_an_interrupted_run_is_not_stored_twice(imap, monkeypatch):
    account_id = imap.account()
    mail = build_mail(subject="Interrupted fetch", sender="ivo.imap@acme.example")
    imap.mailbox.deliver(mail)
    message_id = mail["Message-ID"]
    real_add_flags = IMAPClient.add_flags
    calls = {"n": 0}

    def add_flags_dies_once(self: IMAPClient, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the connection died before the mail was flagged")
        return real_add_flags(self, *args, **kwargs)

    monkeypatch.setattr(IMAPClient, "add_flags", add_flags_dies_once)

    assert imap.fetch(account_id) == 1  # stored, but the server never heard of it
    assert "ConnectionResetError" in (_last_error(imap.factory, account_id) or "")
    assert FETCHED not in imap.mailbox.flags()[message_id]

    assert imap.fetch(account_id) == 0  # fetched again: already known
    assert {SEEN, FETCHED} <= imap.mailbox.flags()[message_id]
    assert _last_error(imap.factory, account_id) is None
    assert _raw_count(imap.factory, message_id) == 1
    with session_scope(imap.factory) as session:
        ticket = ticket_of_raw(session, message_id)
        assert ticket is not None
        assert len([a for a in ticket.articles if a.sender_type == "customer"]) == 1
        titles = select(func.count()).select_from(Ticket).where(Ticket.title == "Interrupted fetch")
        assert session.scalar(titles) == 1
    assert imap.fetch(account_id) == 0
    assert len(_acks(imap.relay, "ivo.imap@acme.example")) == 1


def test_fetched_mail_is_moved_to_the_processed_folder(imap):
    with imap.mailbox.client() as client:
        if not client.folder_exists("Processed"):
            client.create_folder("Processed")
    imap.mailbox.empty("Processed")
    account_id = imap.account(processed_folder="Processed")
    mail = build_mail(subject="Move me", sender="mo.imap@acme.example")
    imap.mailbox.deliver(mail)

    assert imap.fetch(account_id) == 1
    assert imap.mailbox.flags() == {}
    assert mail["Message-ID"] in imap.mailbox.flags("Processed")
    assert _ticket(imap.factory, mail["Message-ID"])
    assert imap.fetch(account_id) == 0
    imap.mailbox.empty("Processed")


def test_a_wrong_password_is_recorded_on_the_account_not_raised(imap):
    imap.mailbox.deliver(build_mail(subject="Never fetched", sender="nf.imap@acme.example"))
    account_id = imap.account(password="wrong")

    assert imap.fetch(account_id) == 0

    with session_scope(imap.factory) as session:
        row = session.get(MailAccount, account_id)
        assert row.last_fetch_at is not None
        assert "LoginError" in (row.last_error or "")
        assert session.scalar(select(Ticket.id).where(Ticket.title == "Never fetched")) is None
    assert FETCHED not in next(iter(imap.mailbox.flags().values()))


def test_ticketflow_mail_fetch_turns_the_mailbox_into_tickets(imap, tmp_path):
    imap.account()
    mail = build_mail(subject="Fetched by the command", sender="cli.imap@acme.example")
    imap.mailbox.deliver(mail)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_DATABASE_URL": imap.database_url,
            "TICKETFLOW_SMTP_URL": imap.relay.url,
            # The key the mailbox's password was encrypted with (mail/secrets.py).
            "TICKETFLOW_SECRET_KEY": get_settings().secret_key,
            "TICKETFLOW_ENV": "test",
            "TICKETFLOW_VAR_DIR": str(tmp_path),
        }
    )
    command = [str(BIN / "ticketflow"), "mail", "fetch"]

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "1 new mail(s) stored" in done.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "0 new mail(s) stored" in again.stdout, again.stderr

    # Without Redis the command processed the mail itself before it exited.
    ticket_id, number = _ticket(imap.factory, mail["Message-ID"])
    assert {SEEN, FETCHED} <= imap.mailbox.flags()[mail["Message-ID"]]
    [ack] = _acks(imap.relay, "cli.imap@acme.example")
    assert f"[Ticket#{number}]" in str(ack["Subject"])
    with session_scope(imap.factory) as session:
        count = select(func.count()).select_from(Article).where(Article.ticket_id == ticket_id)
        assert session.scalar(count) == 2  # the customer's mail and the acknowledgement
