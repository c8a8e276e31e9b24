"""Failed inbound mail, made visible: list, download and reprocess (administrators only).

A raw mail whose processing failed is kept with the reason (``RawMail.status == "failed"``);
this module is what the admin page ``/admin/mail/failed`` and ``ticketflow mail failed`` /
``ticketflow mail reprocess --all-failed`` read and do.  Reprocessing reuses
``mail.tasks.process_one`` (the same path as the job), run once the status change committed,
so a mail that fails again is recorded exactly as the first time.
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import after_commit
from core.errors import NotFound
from core.i18n import N_
from desk.actor import Actor
from desk.blob.models import Blob
from desk.permission.service import require_admin
from desk.rawmail.models import RawMail

# Only the start of the stored bytes is read for the subject: a failed mail may be 50 MiB,
# and its headers are nearly always within the first few kilobytes.
HEADER_BYTES = 16 * 1024
# One page (and one "reprocess all" click) handles at most this many mails, so neither a
# listing nor a request grows without bound after a long outage.
LIMIT = 500
# Ids are 32-bit integers in the database; a larger number from a URL is simply no mail
# (PostgreSQL would refuse to compare with it).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class FailedMail:
    """One failed raw mail as the page and the command show it."""

    id: int
    received_at: datetime
    source: str
    envelope_from: str
    subject: str
    message_id: str
    attempts: int
    error: str
    size: int


def _subject(head: bytes | None) -> str:
    """The decoded Subject of a header block; never raises (the mail failed once already)."""
    if not head:
        return ""
    # Cut at the end of the header block when it is within the bytes read, so a body line
    # never reads as a header.
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end >= 0:
            head = head[:end]
            break
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(head)
        value = headers.get("Subject")
        text = str(value) if value is not None else ""
    except Exception:  # a header `email` cannot read must not hide the failed mail
        text = ""
    # One line, no control characters: this goes into a table cell and a terminal.
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def count_failed(session: Session, *, actor: Actor) -> int:
    """How many raw mails are failed right now."""
    require_admin(session, actor)
    return session.scalar(select(func.count()).select_from(RawMail).where(RawMail.status == "failed")) or 0


def list_failed(session: Session, *, actor: Actor, limit: int = LIMIT) -> list[FailedMail]:
    """The failed raw mails, oldest first (the order they came in and should be fixed)."""
    require_admin(session, actor)
    head = func.substr(Blob.data, 1, HEADER_BYTES)
    rows = session.execute(
        select(RawMail, head)
        .join(Blob, Blob.sha256 == RawMail.blob_sha256)
        .where(RawMail.status == "failed")
        .order_by(RawMail.received_at, RawMail.id)
        .limit(limit)
    ).all()
    return [
        FailedMail(
            id=raw.id,
            received_at=raw.received_at,
            source=raw.source,
            envelope_from=raw.envelope_from,
            subject=_subject(bytes(data) if data is not None else None),
            message_id=raw.message_id or "",
            attempts=raw.attempts,
            error=raw.error or "",
            size=raw.size,
        )
        for raw, data in rows
    ]


def raw_bytes(session: Session, *, actor: Actor, raw_mail_id: int) -> tuple[str, bytes]:
    """A download name and the untouched bytes of a stored mail."""
    require_admin(session, actor)
    raw = session.get(RawMail, raw_mail_id) if 0 < raw_mail_id <= MAX_ID else None
    if raw is None:
        raise NotFound(N_("no raw mail %(id)s"), id=raw_mail_id)
    data = session.scalar(select(Blob.data).where(Blob.sha256 == raw.blob_sha256))
    if data is None:
        raise NotFound(N_("the bytes of raw mail %(id)s are missing"), id=raw_mail_id)
    return f"raw-mail-{raw.id}.eml", bytes(data)


def reprocess(session: Session, *, actor: Actor, raw_mail_ids: Sequence[int] | None = None) -> list[int]:
    """Mark failed mails for processing again and process them after the commit.

    ``raw_mail_ids=None`` takes every failed mail (up to ``LIMIT``).  Only failed mails are
    taken; an id that is not failed (processed meanwhile, or unknown) is skipped, so a
    double click or a stale page does nothing twice.  Returns the ids that will be processed.
    """
    require_admin(session, actor)
    query = select(RawMail).where(RawMail.status == "failed").order_by(RawMail.received_at, RawMail.id)
    if raw_mail_ids is not None:
        query = query.where(RawMail.id.in_([i for i in raw_mail_ids if 0 < i <= MAX_ID]))
    mails = session.scalars(query.limit(LIMIT)).all()
    for raw in mails:
        raw.status = "received"
    session.flush()
    ids = [raw.id for raw in mails]
    if ids:
        # process_one opens its own units of work, so it must see the status committed.
        after_commit(session, lambda: _process(ids))
    return ids


def _process(ids: list[int]) -> None:
    # Imported here: mail.tasks pulls in the whole pipeline, which listing mails never needs.
    from mail.tasks import process_one

    for raw_mail_id in ids:
        process_one(raw_mail_id)
