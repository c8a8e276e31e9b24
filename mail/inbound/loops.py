"""When Ticketflow must not answer a mail automatically (RFC 3834 and common sense).

No automatic answer goes to a mail that is itself automatic (``Auto-Submitted`` other than
``no``, ``Precedence: bulk/list/junk``, mailing-list headers, Microsoft's
``X-Auto-Response-Suppress``), to a bounce or to an empty return path, to mailer-daemon or
postmaster, nor to a mail an upstream filter flagged as spam (``X-Spam-Flag: YES``,
``X-Spam-Status: Yes, …``): its sender is most likely forged, and answering it would send
our mail to an innocent address.  The rules that hold for every channel (never our own
addresses, at most an hourly maximum of automatic mail to one recipient) are
:mod:`flows.automatic_answer`'s, which sends the answers; this module only says why a *mail*
must not be answered.

:func:`automatic_reply_reason` is narrower: it says whether a mail was written by a machine
answering someone (a vacation notice, a bounce), which is never the customer's answer.
"""

from __future__ import annotations

from mail.inbound.parse import ParsedMail

DEFAULT_HOURLY_CAP = 10
_ROBOT_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")


def automatic_reason(parsed: ParsedMail) -> str | None:
    """Why ``parsed`` must get no automatic answer, or None when one is allowed."""
    headers = parsed.headers
    auto = automatic_reply_reason(parsed)
    if auto is not None:
        return auto
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing list"
    if "x-auto-response-suppress" in headers:
        return "marked as automatic"
    if "x-ticketflow-loop" in headers:
        return "sent by Ticketflow"
    spam = spam_reason(parsed)
    if spam is not None:
        return spam
    sender = parsed.reply_to or parsed.from_addr
    if not sender or "@" not in sender:
        return "no sender address"
    if sender.split("@", 1)[0].lower() in _ROBOT_LOCALPARTS:
        return f"robot sender {sender}"
    return None


def automatic_reply_reason(parsed: ParsedMail) -> str | None:
    """Why ``parsed`` is a machine's answer (auto-reply, vacation notice, bounce), or None.

    Only headers count, never the subject: "Out of office" or "Automatic reply" in a subject
    may be typed by a person, and the words differ in every language.  A mail with an empty
    return path (RFC 5321's null sender, used for bounces and, by RFC 3834, auto-replies)
    counts too: no person's answer is sent that way.
    """
    headers = parsed.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    if headers.get("precedence", "").strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return "marked as automatic reply"
    if parsed.is_bounce:
        return "bounce"
    if headers.get("return-path", "").strip() == "<>":
        return "empty return path"
    return None


def spam_reason(parsed: ParsedMail) -> str | None:
    """Why an upstream filter (SpamAssassin, rspamd, …) says ``parsed`` is spam, or None."""
    flag = parsed.headers.get("x-spam-flag", "").strip().lower()
    status = parsed.headers.get("x-spam-status", "").strip().lower()
    if flag.startswith("yes"):
        return "flagged as spam (X-Spam-Flag: YES)"
    if status.startswith("yes"):
        return "flagged as spam (X-Spam-Status: Yes)"
    return None
