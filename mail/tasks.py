"""Mail jobs: process stored inbound mail, deliver the outbox, fetch IMAP mailboxes.

Each has a per-item job sent right after the commit that created the work, and a periodic
sweep that picks up anything a lost message or a dead worker left behind.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.config import get_settings
from core.db import session_scope, utcnow
from core.errors import ConfigurationError, Conflict, TicketflowError
from core.jobs import enqueue, job, periodic
from desk.outbox.models import OutboxMessage
from desk.rawmail.models import RawMail
from mail.inbound.pipeline import process_raw_mail
from mail.outbound.delivery import deliver, due_ids
from mail.outbound.senders import sender_for

log = logging.getLogger(__name__)


def _seconds(name: str, default: float) -> float:
    """A duration from ``TICKETFLOW_<name>``, else ``default`` (tests shorten the sweeps)."""
    value = os.environ.get(f"TICKETFLOW_{name}", "")
    try:
        seconds = float(value) if value else default
    except ValueError:
        raise ConfigurationError(f"TICKETFLOW_{name} must be a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise ConfigurationError(f"TICKETFLOW_{name} must not be negative")
    return seconds


# How often the sweep looks for raw mails that were stored but never processed, and how old
# such a mail must be: younger ones still have their job on the way.
RAW_MAIL_SWEEP_SECONDS = _seconds("RAW_MAIL_SWEEP_SECONDS", 60)
SWEEP_GRACE = timedelta(seconds=30)


def sweep_grace() -> timedelta:
    """How long a raw mail waits for its own job before the sweep takes it."""
    return timedelta(seconds=_seconds("RAW_MAIL_SWEEP_GRACE_SECONDS", SWEEP_GRACE.total_seconds()))


# A conflict with a concurrent transaction (two first mails from one new address at the same
# moment, a ticket changed meanwhile, a serialization failure, the database restarting) is
# tried again at once a few times; if it persists the mail stays "received" for the sweep.
# Only after this many attempts in all does a mail that keeps conflicting count as failed.
RETRIES_NOW = 3
ATTEMPTS_BEFORE_FAILED = 10


def is_transient(exc: BaseException) -> bool:
    """True for errors that another try may not meet: conflicts, not bad mail."""
    if isinstance(exc, IntegrityError | StaleDataError | OperationalError | Conflict):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def process_one(raw_mail_id: int) -> None:
    """Process one raw mail; a failure is recorded on it (visible, re-processable).

    A transient conflict is retried, never a permanent failure: a few times right away, then
    by the sweep (the mail stays ``received``, the reason noted).
    """
    for attempt in range(1, RETRIES_NOW + 1):
        try:
            with session_scope() as session:
                process_raw_mail(session, raw_mail_id=raw_mail_id)
            return
        except Exception as exc:  # any failure must end up visible on the raw mail, not lost
            if is_transient(exc) and attempt < RETRIES_NOW:
                log.warning("raw mail %s met a conflict (%s); trying again", raw_mail_id, type(exc).__name__)
                time.sleep(0.05 * 2**attempt)
                continue
            log.exception("processing raw mail %s failed", raw_mail_id)
            _record_failure(raw_mail_id, exc)
            return


def _record_failure(raw_mail_id: int, exc: BaseException) -> None:
    message = exc.message if isinstance(exc, TicketflowError) else f"{type(exc).__name__}: {exc}"
    with session_scope() as session:
        raw = session.get(RawMail, raw_mail_id)
        if raw is None or raw.status == "processed":
            return
        raw.attempts += 1
        if is_transient(exc) and raw.attempts < ATTEMPTS_BEFORE_FAILED:
            # Left for the sweep, which takes "received" mails whose job is overdue.
            raw.status = "received"
            raw.error = f"will be tried again: {message}"[:4000]
        else:
            raw.status = "failed"
            raw.error = message[:4000]


@job
def process_raw_mail_job(raw_mail_id: int) -> None:
    """Job: process one stored raw mail."""
    process_one(raw_mail_id)


@periodic(every_seconds=RAW_MAIL_SWEEP_SECONDS)
def sweep_raw_mails() -> None:
    """Process raw mails that were stored but never processed (a lost job)."""
    cutoff = utcnow() - sweep_grace()
    with session_scope() as session:
        ids = list(
            session.scalars(
                select(RawMail.id)
                .where(RawMail.status == "received", RawMail.received_at <= cutoff)
                .order_by(RawMail.id)
                .limit(500)
            )
        )
    for raw_mail_id in ids:
        process_one(raw_mail_id)


@job
def deliver_outbox_job(outbox_id: int) -> None:
    """Job: try to send one outbox row."""
    sender = sender_for(get_settings())
    with session_scope() as session:
        deliver(session, outbox_id=outbox_id, sender=sender)


@periodic(every_seconds=15)
def sweep_outbox() -> None:
    """Send every queued outbox row whose next attempt is due (retries, lost jobs)."""
    with session_scope() as session:
        ids = due_ids(session, now=utcnow())
    if not ids:
        return  # no sender needed: an OAuth2 relay's token endpoint is asked only for real mail
    sender = sender_for(get_settings())
    for outbox_id in ids:
        with session_scope() as session:
            deliver(session, outbox_id=outbox_id, sender=sender)


@periodic(every_seconds=60)
def fetch_mailboxes() -> None:
    """Fetch every active IMAP mailbox."""
    from mail.inbound.imap import fetch_all

    fetch_all()


def _send_new_outbox_rows(session: Session, _context: Any) -> None:
    # Outbox rows are written by desk and engine code that knows nothing of delivery: every
    # new row gets its delivery job, sent once the transaction commits.
    for obj in session.new:
        if isinstance(obj, OutboxMessage):
            enqueue(session, deliver_outbox_job, outbox_id=obj.id)
        elif isinstance(obj, RawMail):
            enqueue(session, process_raw_mail_job, raw_mail_id=obj.id)


def install_listeners() -> None:
    """Give every new outbox row and raw mail its job after commit (idempotent).

    Called by the composition root, so the behaviour does not depend on whether something
    happened to import this module; the periodic sweeps cover whatever a process without
    the listener (or a lost message) leaves behind.
    """
    if not event.contains(Session, "after_flush", _send_new_outbox_rows):
        event.listen(Session, "after_flush", _send_new_outbox_rows)
