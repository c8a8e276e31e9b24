"""The shared first step of SMTP, IMAP and the pipe: store the bytes, commit, then process."""

from __future__ import annotations

from core.db import session_scope
from desk.rawmail.models import RawMail
from mail.inbound.store import MAX_MAIL_BYTES, store_raw


class MailTooLarge(ValueError):
    """The mail is larger than Ticketflow accepts."""


def accept(data: bytes, *, source: str, envelope_from: str = "", envelope_to: str = "") -> tuple[int, bool]:
    """Store ``data`` raw and commit; returns the raw mail id and whether it is new.

    Processing is a job sent after the commit (the listener ``mail.tasks.install_listeners()``
    puts in place at bootstrap): when this returns, the mail is safe, whatever happens next.
    """
    if len(data) > MAX_MAIL_BYTES:
        raise MailTooLarge(f"mail of {len(data)} bytes is over the limit of {MAX_MAIL_BYTES}")
    with session_scope() as session:
        raw: RawMail
        raw, created = store_raw(
            session, data=data, source=source, envelope_from=envelope_from, envelope_to=envelope_to
        )
        return raw.id, created
