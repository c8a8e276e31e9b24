"""An outbox row as an RFC 5322 message, with the headers that make answers thread back."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from desk.outbox.models import OutboxMessage


def compose(message: OutboxMessage) -> EmailMessage:
    """The mail for ``message``: UTF-8 text, our Message-ID, In-Reply-To and References."""
    mail = EmailMessage(policy=SMTP)
    mail["From"] = message.from_addr
    mail["To"] = message.to_addr
    if message.cc_addr:
        mail["Cc"] = message.cc_addr
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message.message_id
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
    if message.references:
        mail["References"] = message.references
    if message.auto_submitted:
        # RFC 3834: other systems must not answer this automatically.
        mail["Auto-Submitted"] = message.auto_submitted
        mail["X-Auto-Response-Suppress"] = "All"
        mail["Precedence"] = "auto_reply"
    mail["X-Ticketflow-Loop"] = "yes" if message.auto_submitted else "no"
    mail.set_content(message.body_text, charset="utf-8")
    return mail


def recipients(message: OutboxMessage) -> list[str]:
    """Every envelope recipient of ``message``."""
    from email.utils import getaddresses

    return [addr for _, addr in getaddresses([message.to_addr, message.cc_addr]) if addr]
