"""The shared first step of SMTP, IMAP and the pipe: store the bytes, commit, then process."""

from __future__ import annotations

from core.config import get_settings
from core.db import session_scope
from desk.rawmail.models import RawMail
from mail.inbound.store import store_raw


class MailTooLarge(ValueError):
    """The mail is larger than Ticketflow accepts (``TICKETFLOW_MAX_MAIL_BYTES``)."""


def max_mail_bytes() -> int:
    """The size limit of one inbound mail, the same for every path."""
    return get_settings().max_mail_bytes


def accept(data: bytes, *, source: str, envelope_from: str = "", envelope_to: str = "") -> tuple[int, bool]:
    """Store ``data`` raw and commit; returns the raw mail id and whether it is new.

    ``envelope_from`` and ``envelope_to`` are what the transport said (SMTP's MAIL FROM and
    RCPT TO, the pipe's ``--sender`` and ``--recipient``; recipients comma-separated): a Bcc
    recipient is only there.  Processing is a job sent after the commit (the listener
    ``mail.tasks.install_listeners()`` puts in place at bootstrap): when this returns, the
    mail is safe, whatever happens next.
    """
    limit = max_mail_bytes()
    if len(data) > limit:
        raise MailTooLarge(f"mail of {len(data)} bytes is over the limit of {limit}")
    with session_scope() as session:
        raw: RawMail
        raw, created = store_raw(
            session, data=data, source=source, envelope_from=envelope_from, envelope_to=envelope_to
        )
        return raw.id, created
