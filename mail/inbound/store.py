"""Storing inbound mail raw, before anything else: the first step of every inbound path.

Identical bytes are stored once: an MTA retry or a second fetch of the same mail delivers
the same bytes.  Different bytes are always stored, even under a Message-ID seen before:
broken mailers reuse Message-IDs, and a mail dropped here would be lost without a trace.  A
copy of the same mail that arrived another way (a second mailbox) is recognised when it is
processed (see :mod:`mail.inbound.pipeline`).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.blob import service as blobs
from desk.rawmail.models import RawMail

MAX_MAIL_BYTES = 50 * 1024 * 1024
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^<>\s]{1,900}>)", re.IGNORECASE | re.MULTILINE)


def _header_block(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
    return data[: end if end >= 0 else 65536]


def message_id_of(data: bytes) -> str | None:
    """The Message-ID of raw mail bytes, read without parsing the whole mail."""
    found = _MESSAGE_ID.search(_header_block(data))
    # RFC 6532 (SMTPUTF8) mail may carry UTF-8 in its Message-ID.
    return found.group(1).decode("utf-8", "replace") if found else None


def store_raw(
    session: Session,
    *,
    data: bytes,
    source: str,
    envelope_from: str = "",
    envelope_to: str = "",
) -> tuple[RawMail, bool]:
    """Store ``data`` unless it is known; returns the row and whether it is new."""
    message_id = message_id_of(data)
    sha = blobs.store(session, data=data)
    existing = session.scalar(select(RawMail).where(RawMail.blob_sha256 == sha))
    if existing is not None:
        return existing, False
    raw = RawMail(
        blob_sha256=sha,
        message_id=message_id,
        source=source,
        envelope_from=envelope_from[:998],
        envelope_to=envelope_to[:4000],
        size=len(data),
    )
    try:
        with session.begin_nested():
            session.add(raw)
    except IntegrityError:
        # The same bytes arrived twice at the same moment; the other copy won.
        found = session.scalar(select(RawMail).where(RawMail.blob_sha256 == sha))
        if found is None:
            raise
        return found, False
    return raw, True
