"""Fetching IMAP mailboxes (imapclient).

A mail is flagged (or moved) on the server only after its raw bytes are committed here, so
a crash in between fetches it again next time; storing is idempotent, so nothing doubles.
Fetched mail is marked with the ``$TicketflowFetched`` keyword (and ``\\Seen``), or moved
to the account's processed folder.

The size of each new mail is asked first (``RFC822.SIZE``).  A mail over
``TICKETFLOW_MAX_MAIL_BYTES`` is never downloaded: its headers alone are read, it is
recorded as a :class:`~mail.models.MailboxEvent` (shown on the mailboxes page) and then
moved to the account's oversize folder (created when missing), so the mail after it is
fetched as usual and the mailbox is never stuck behind it.

A mailbox logs in with its password or, with ``auth_method = "oauth2"``, with XOAUTH2 and an
access token from :mod:`mail.oauth2`.  Whatever stops a fetch (a refused login or refresh,
a secret that the current secret key cannot decrypt, an unreachable server) becomes the
account's ``last_error``; nothing is raised to the scheduler.
"""

from __future__ import annotations

import email
import logging
import ssl
from dataclasses import dataclass
from email import policy

from imapclient import IMAPClient
from sqlalchemy import select

from core.db import session_scope, utcnow
from core.errors import TicketflowError
from mail import oauth2
from mail.inbound.receive import accept, max_mail_bytes
from mail.models import MailAccount, MailboxEvent

log = logging.getLogger(__name__)

FETCHED = b"$TicketflowFetched"
BATCH = 50
_HEADERS = b"BODY[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)]"


@dataclass(frozen=True)
class _Login:
    """Everything the fetch needs from the account row, read in one short transaction."""

    host: str
    port: int
    use_ssl: bool
    username: str
    password: str  # the password, or an OAuth2 access token
    oauth2: bool
    folder: str
    processed_folder: str
    oversize_folder: str


def _login_of(account_id: int) -> _Login | None:
    """The account's settings and secret; an access token is obtained (and committed) here."""
    with session_scope() as session:
        account = session.get(MailAccount, account_id)
        if account is None or not account.active:
            return None
        use_oauth2 = account.auth_method == "oauth2"
        secret = oauth2.access_token(session, account) if use_oauth2 else account.password
        return _Login(
            host=account.host,
            port=account.port,
            use_ssl=account.use_ssl,
            username=account.username,
            password=secret,
            oauth2=use_oauth2,
            folder=account.folder,
            processed_folder=account.processed_folder,
            oversize_folder=account.oversize_folder,
        )


def fetch_account(account_id: int) -> int:
    """Fetch one mailbox; returns how many new mails were stored."""
    stored: list[int] = []  # the raw mail ids stored, kept when the run breaks off later
    error: str | None = None
    try:
        login = _login_of(account_id)
        if login is None:
            return 0
        _fetch(account_id, login, stored)
    except TicketflowError as exc:  # a refused refresh, an undecryptable secret
        log.warning("fetching mailbox %s failed: %s", account_id, exc.message)
        error = exc.message[:2000]
    except Exception as exc:  # an unreachable server or bad password is shown on the account
        log.warning("fetching mailbox %s failed: %s", account_id, exc)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        oauth2.forget(account_id)  # a token the server refused is not offered again
    with session_scope() as session:
        account = session.get(MailAccount, account_id)
        if account is not None:
            account.last_fetch_at = utcnow()
            account.last_error = error
    return len(stored)


def _fetch(account_id: int, login: _Login, stored: list[int]) -> None:
    limit = max_mail_bytes()
    # The mailbox's own address routes its mail, like an SMTP envelope recipient.
    queue_address = login.username
    context = ssl.create_default_context() if login.use_ssl else None
    client = IMAPClient(login.host, port=login.port, ssl=login.use_ssl, ssl_context=context, timeout=30)
    with client:
        if login.oauth2:
            client.oauth2_login(login.username, login.password)
        else:
            client.login(login.username, login.password)
        client.select_folder(login.folder)
        uids = client.search(["NOT", "DELETED", "NOT", "KEYWORD", FETCHED.decode()])
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            answer = client.fetch(batch, ["RFC822.SIZE"])
            sizes = {uid: int(data.get(b"RFC822.SIZE", 0)) for uid, data in answer.items()}
            oversize = [uid for uid in batch if sizes.get(uid, 0) > limit]
            if oversize:
                _set_aside(client, account_id, login.oversize_folder, oversize, sizes)
            wanted = [uid for uid in batch if uid in sizes and uid not in oversize]
            if not wanted:
                continue
            for uid, data in client.fetch(wanted, ["BODY.PEEK[]"]).items():
                raw = data.get(b"BODY[]")
                if not isinstance(raw, bytes):
                    continue
                raw_id, created = accept(raw, source=f"imap:{login.username}", envelope_to=queue_address)
                if created:
                    stored.append(raw_id)
                # Only now, with the bytes committed, may the server forget about it.
                if login.processed_folder:
                    _move(client, [uid], login.processed_folder)
                else:
                    client.add_flags([uid], [b"\\Seen", FETCHED])


def _set_aside(
    client: IMAPClient, account_id: int, folder: str, uids: list[int], sizes: dict[int, int]
) -> None:
    """Record each oversize mail from its headers, then move it to ``folder`` unread."""
    target = server_folder_name(client, folder)
    headers = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (FROM SUBJECT MESSAGE-ID)]"])
    with session_scope() as session:
        for uid in uids:
            sender, subject, message_id = header_fields(headers.get(uid, {}).get(_HEADERS, b""))
            known = session.scalar(
                select(MailboxEvent.id).where(
                    MailboxEvent.account_id == account_id,
                    MailboxEvent.kind == "oversize",
                    MailboxEvent.message_id == message_id,
                    MailboxEvent.size == sizes[uid],
                )
            )
            if known is not None and message_id:
                continue  # recorded by a run that died before the move
            session.add(
                MailboxEvent(
                    account_id=account_id,
                    kind="oversize",
                    size=sizes[uid],
                    sender=sender[:998],
                    subject=subject[:2000],
                    message_id=message_id[:998],
                    folder=target,
                )
            )
            log.warning("mailbox %s: mail %s of %d bytes set aside", account_id, message_id, sizes[uid])
    # Recorded first: a crash now leaves the mail in place to be recorded (once) again.
    if not client.folder_exists(target):
        client.create_folder(target)
        client.subscribe_folder(target)
    _move(client, uids, target)


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    """MOVE (RFC 6851) where the server has it, else copy, delete and expunge."""
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.delete_messages(uids)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


def server_folder_name(client: IMAPClient, folder: str) -> str:
    """``folder`` written with ``/`` as the hierarchy separator, in the server's own spelling.

    Dovecot's Maildir uses ``.``, Exchange ``/``; a server with a personal namespace prefix
    (``INBOX.`` on Courier and Cyrus) gets it in front.
    """
    try:
        personal = client.namespace().personal or ()
    except Exception:  # NAMESPACE (RFC 2342) is optional; take the name as it is
        return folder
    if not personal:
        return folder
    prefix, delimiter = personal[0]
    prefix_text = prefix.decode() if isinstance(prefix, bytes) else str(prefix or "")
    delimiter_text = delimiter.decode() if isinstance(delimiter, bytes) else str(delimiter or "/")
    name = delimiter_text.join(part for part in folder.split("/") if part)
    if prefix_text and not name.startswith(prefix_text) and name.upper() != "INBOX":
        name = prefix_text + name
    return name


def header_fields(block: bytes) -> tuple[str, str, str]:
    """(From, Subject, Message-ID) of a header block, decoded, on one line each."""
    message = email.message_from_bytes(block, policy=policy.default)
    return _text(message, "From"), _text(message, "Subject"), _text(message, "Message-ID")


def _text(message: email.message.Message, name: str) -> str:
    try:
        value = str(message.get(name, "") or "")
    except Exception:  # an unreadable header is shown raw rather than losing the record
        value = str(message.get_all(name, [""])[0])
    return " ".join(_printable(value).split())


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() or ch in " \t" else " " for ch in text)


def fetch_all() -> int:
    """Fetch every active mailbox; returns how many new mails were stored."""
    with session_scope() as session:
        ids = list(session.scalars(select(MailAccount.id).where(MailAccount.active.is_(True))))
    return sum(fetch_account(account_id) for account_id in ids)
