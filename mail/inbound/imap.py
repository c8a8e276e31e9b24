"""Fetching IMAP mailboxes (imapclient).

A mail is flagged (or moved) on the server only after its raw bytes are committed here, so
a crash in between fetches it again next time; storing is idempotent, so nothing doubles.
Fetched mail is marked with the ``$TicketflowFetched`` keyword (and ``\\Seen``), or moved
to the account's processed folder.
"""

from __future__ import annotations

import logging
import ssl

from imapclient import IMAPClient
from sqlalchemy import select

from core.db import session_scope, utcnow
from mail.inbound.receive import accept
from mail.models import MailAccount

log = logging.getLogger(__name__)

FETCHED = b"$TicketflowFetched"
BATCH = 50


def fetch_account(account_id: int) -> int:
    """Fetch one mailbox; returns how many new mails were stored."""
    with session_scope() as session:
        account = session.get(MailAccount, account_id)
        if account is None or not account.active:
            return 0
        host, port, use_ssl = account.host, account.port, account.use_ssl
        username, password = account.username, account.password
        folder, processed_folder = account.folder, account.processed_folder
        # The mailbox's own address routes its mail, like an SMTP envelope recipient.
        queue_address = account.username
    stored = 0
    error: str | None = None
    try:
        context = ssl.create_default_context() if use_ssl else None
        with IMAPClient(host, port=port, ssl=use_ssl, ssl_context=context, timeout=30) as client:
            client.login(username, password)
            client.select_folder(folder)
            uids = client.search(["NOT", "DELETED", "NOT", "KEYWORD", FETCHED.decode()])
            for start in range(0, len(uids), BATCH):
                batch = uids[start : start + BATCH]
                for uid, data in client.fetch(batch, ["BODY.PEEK[]"]).items():
                    raw = data.get(b"BODY[]")
                    if not isinstance(raw, bytes):
                        continue
                    _, created = accept(raw, source=f"imap:{username}", envelope_to=queue_address)
                    stored += int(created)
                    # Only now, with the bytes committed, may the server forget about it.
                    if processed_folder:
                        client.move([uid], processed_folder)
                    else:
                        client.add_flags([uid], [b"\\Seen", FETCHED])
    except Exception as exc:  # an unreachable server or bad password is shown on the account
        log.warning("fetching mailbox %s failed: %s", account_id, exc)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    with session_scope() as session:
        account = session.get(MailAccount, account_id)
        if account is not None:
            account.last_fetch_at = utcnow()
            account.last_error = error
    return stored


def fetch_all() -> int:
    """Fetch every active mailbox; returns how many new mails were stored."""
    with session_scope() as session:
        ids = list(session.scalars(select(MailAccount.id).where(MailAccount.active.is_(True))))
    return sum(fetch_account(account_id) for account_id in ids)
