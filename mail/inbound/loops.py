"""When Ticketflow must not answer a mail automatically (RFC 3834 and common sense).

No automatic answer goes to a mail that is itself automatic (``Auto-Submitted`` other than
``no``, ``Precedence: bulk/list/junk``, mailing-list headers, Microsoft's
``X-Auto-Response-Suppress``), to a bounce or to an empty return path, to mailer-daemon or
postmaster, to one of our own addresses, or to a recipient who already got the hourly
maximum of automatic mail from us — the last rule stops two auto-responders from answering
each other forever.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from mail.inbound.parse import ParsedMail

DEFAULT_HOURLY_CAP = 10
_ROBOT_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")


def automatic_reason(parsed: ParsedMail) -> str | None:
    """Why ``parsed`` must get no automatic answer, or None when one is allowed."""
    headers = parsed.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing list"
    if "x-auto-response-suppress" in headers or "x-autoreply" in headers:
        return "marked as automatic"
    if "x-ticketflow-loop" in headers:
        return "sent by Ticketflow"
    if parsed.is_bounce:
        return "bounce"
    if headers.get("return-path", "").strip() == "<>":
        return "empty return path"
    sender = parsed.reply_to or parsed.from_addr
    if not sender or "@" not in sender:
        return "no sender address"
    if sender.split("@", 1)[0].lower() in _ROBOT_LOCALPARTS:
        return f"robot sender {sender}"
    return None


def own_address(session: Session, address: str) -> bool:
    """True for the system addresses of our queues (never answer ourselves)."""
    return (
        session.scalar(select(Queue.id).where(func.lower(Queue.system_address) == address.lower()))
        is not None
    )


def over_hourly_cap(session: Session, *, recipient: str, cap: int = DEFAULT_HOURLY_CAP) -> bool:
    """True when ``recipient`` already got ``cap`` automatic mails from us in the last hour."""
    since = utcnow() - timedelta(hours=1)
    sent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            func.lower(OutboxMessage.to_addr) == recipient.lower(),
            OutboxMessage.auto_submitted.is_not(None),
            OutboxMessage.created_at >= since,
        )
    )
    return int(sent or 0) >= cap
