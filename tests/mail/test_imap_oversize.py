"""A mail over the size limit in an IMAP mailbox is set aside, never downloaded whole.

The limit (``TICKETFLOW_MAX_MAIL_BYTES``) is lowered for the test so a mail of some 40 kB
is "too large".  The fetcher asks the sizes first, reads only the big mail's headers,
records it (shown on the mailboxes page) and moves it to the oversize folder on the server,
creating the folder; the mails around it become tickets as usual.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from imapclient import IMAPClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.db import session_scope
from desk.actor import SYSTEM
from desk.ticket.models import Ticket
from mail.accounts import create_account
from mail.inbound.imap import fetch_account
from mail.models import MailAccount, MailboxEvent
from tests.mail.conftest import build_mail
from tests.mail.dovecot import Dovecot, start_dovecot

LIMIT = 20_000


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot (password logins)."""
    yield from start_dovecot()


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Mails over 20,000 bytes are too large for this test."""
    monkeypatch.setenv("TICKETFLOW_MAX_MAIL_BYTES", str(LIMIT))
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


@pytest.fixture
def mailbox(
    dovecot: Dovecot, mail_env: sessionmaker[Session], small_limit: None, drain: Callable[[], None]
) -> Iterator[Dovecot]:
    """The emptied Dovecot mailbox, with no oversize folders left from another test."""
    dovecot.empty()
    with dovecot.client() as client:
        folders = [(flags, name) for flags, _delimiter, name in client.list_folders() if name != "INBOX"]
        for flags, name in sorted(folders, key=lambda entry: -len(entry[1])):  # children first
            if b"\\Noselect" not in flags and b"\\NonExistent" not in flags:
                client.delete_folder(name)
    yield dovecot
    drain()
    with session_scope(mail_env) as session:
        for row in session.scalars(select(MailAccount)):
            row.active = False


def _account(factory: sessionmaker[Session], mailbox: Dovecot, **options: Any) -> int:
    with session_scope(factory) as session:
        row = create_account(
            session,
            actor=SYSTEM,
            name=f"oversize-{os.urandom(6).hex()}",
            host=mailbox.host,
            port=mailbox.port,
            use_ssl=False,
            username=mailbox.username,
            password=mailbox.password,
            **options,
        )
        return row.id


def _subjects_of_tickets(factory: sessionmaker[Session]) -> set[str]:
    with session_scope(factory) as session:
        return set(session.scalars(select(Ticket.title)))


def test_an_oversize_mail_is_moved_to_the_oversize_folder_and_recorded_from_its_headers(
    mailbox, mail_env, drain, monkeypatch
):
    before = build_mail(subject="Small before the big one", sender="sb.over@acme.example")
    big = build_mail(
        subject="Scan of the whole contract",
        sender="Bea Big <bea.big@acme.example>",
        body="scan data " * 4_000,  # about 40 kB
    )
    after = build_mail(subject="Small after the big one", sender="sa.over@acme.example")
    for mail in (before, big, after):
        mailbox.deliver(mail)
    account_id = _account(mail_env, mailbox)
    downloaded: list[tuple[int, ...]] = []
    real_fetch = IMAPClient.fetch

    def recording_fetch(self: IMAPClient, messages: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        if any(str(item) == "BODY.PEEK[]" for item in data):
            downloaded.append(tuple(messages))
        return real_fetch(self, messages, data, *args, **kwargs)

    monkeypatch.setattr(IMAPClient, "fetch", recording_fetch)

    assert fetch_account(account_id) == 2
    drain()

    # Only the two small mails were downloaded; the big one now sits in the oversize folder.
    with mailbox.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["ALL"])) == 2
        assert client.folder_exists("Ticketflow.Oversize")
    assert sum(len(batch) for batch in downloaded) == 2
    assert set(mailbox.flags("Ticketflow.Oversize")) == {big["Message-ID"]}
    assert b"\\Seen" not in mailbox.flags("Ticketflow.Oversize")[big["Message-ID"]]
    tickets = _subjects_of_tickets(mail_env)
    assert {"Small before the big one", "Small after the big one"} <= tickets
    assert "Scan of the whole contract" not in tickets

    with session_scope(mail_env) as session:
        [event] = session.scalars(select(MailboxEvent).where(MailboxEvent.account_id == account_id)).all()
        assert event.kind == "oversize"
        assert event.size > LIMIT
        assert event.sender == "Bea Big <bea.big@acme.example>"
        assert event.subject == "Scan of the whole contract"
        assert event.message_id == big["Message-ID"]
        assert event.folder == "Ticketflow.Oversize"
        assert session.get(MailAccount, account_id).last_error is None

    # The mailbox is not stuck: the next fetch finds nothing, and records nothing again.
    assert fetch_account(account_id) == 0
    with session_scope(mail_env) as session:
        events = session.scalars(select(MailboxEvent).where(MailboxEvent.account_id == account_id)).all()
        assert len(events) == 1


def test_the_oversize_folder_is_configurable_per_mailbox(mailbox, mail_env):
    big = build_mail(subject="Huge video", sender="hv.over@acme.example", body="frame " * 6_000)
    mailbox.deliver(big)
    account_id = _account(mail_env, mailbox, oversize_folder="Too big/For the help desk")

    assert fetch_account(account_id) == 0

    assert set(mailbox.flags("Too big.For the help desk")) == {big["Message-ID"]}
    assert mailbox.flags() == {}
    with session_scope(mail_env) as session:
        event = session.scalars(select(MailboxEvent).where(MailboxEvent.account_id == account_id)).one()
        assert event.folder == "Too big.For the help desk"
        assert event.subject == "Huge video"
