"""Delivering outbox rows, with retries, backoff and a visible failed state.

Each attempt locks its row (``FOR UPDATE SKIP LOCKED``), so two workers never send the same
row at once.  A 5xx reply marks it *failed* at once; a temporary problem schedules another
try with exponential backoff (1, 2, 4 … minutes, at most an hour) until ``MAX_ATTEMPTS``,
then *failed*.  The failed state and its reason are shown on the ticket.  Delivery is
at-least-once: a crash after the relay accepted a mail but before the commit sends it again,
with the same Message-ID, which mail clients recognise.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import TicketflowError
from desk.outbox.models import OutboxMessage
from mail.outbound.compose import compose, recipients
from mail.outbound.senders import PermanentFailure, Sender, TemporaryFailure

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def due_ids(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Ids of queued rows whose next attempt is due."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def deliver(session: Session, *, outbox_id: int, sender: Sender, now: datetime | None = None) -> str:
    """Try to send one row; returns its status afterwards (``busy`` when another worker has it)."""
    now = now or utcnow()
    row = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        return "busy"
    if row.status != "queued" or (row.next_attempt_at is not None and row.next_attempt_at > now):
        return row.status
    row.attempts += 1
    try:
        mail = compose(row, session=session)
    except (TicketflowError, ValueError) as exc:
        # The mail cannot be built (e.g. an attachment's bytes are missing): retrying will
        # not help, so it fails at once and says why, instead of blocking the sweep forever.
        row.status, row.last_error, row.next_attempt_at = "failed", f"cannot compose: {exc}"[:2000], None
        session.flush()
        log.warning("outgoing mail %s failed: %s", row.message_id, row.last_error)
        return row.status
    try:
        sender.send(mail, recipients(row))
    except PermanentFailure as exc:
        row.status, row.last_error, row.next_attempt_at = "failed", str(exc)[:2000], None
    except TemporaryFailure as exc:
        row.last_error = str(exc)[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.next_attempt_at = "failed", None
        else:
            row.next_attempt_at = now + backoff(row.attempts)
    else:
        row.status, row.sent_at, row.last_error, row.next_attempt_at = "sent", now, None, None
    session.flush()
    if row.status == "failed":
        log.warning("outgoing mail %s failed: %s", row.message_id, row.last_error)
    return row.status
