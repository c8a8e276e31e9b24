"""When Ticketflow must not answer a mail automatically (RFC 3834 and common sense).

No automatic answer goes to a mail that is itself automatic (``Auto-Submitted`` other than
``no``, ``Precedence: bulk/list/junk``, mailing-list headers, Microsoft's
``X-Auto-Response-Suppress``), to a bounce or to an empty return path, to mailer-daemon or
postmaster.  The rules that hold for every channel (never our own addresses, at most an
hourly maximum of automatic mail to one recipient) are :mod:`flows.automatic_answer`'s, which
sends the answers; this module only says why a *mail* must not be answered.
"""

from __future__ import annotations

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
