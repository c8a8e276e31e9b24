"""The built-in SMTP receiver (aiosmtpd): ``ticketflow mail receive`` and ``ticketflow run``.

A mail is answered ``250`` only after its raw bytes and its envelope (MAIL FROM, every RCPT
TO: a Bcc recipient is only there) are committed.  Every failure of ours is temporary: when
the database is not reachable, or anything else goes wrong inside, the answer is ``451``, so
the sending MTA keeps the mail and tries again.  The only permanent refusal is size: the
limit (``TICKETFLOW_MAX_MAIL_BYTES``) is announced in the EHLO answer (``SIZE``) and a larger
mail is refused with ``552``, at MAIL FROM when the client declares its size, else after DATA.

Lines may be of any length within that limit.  RFC 5321 allows 998 characters, but real
mail has longer ones (HTML on one line, long headers), the pipe and IMAP take them, and
aiosmtpd's ``500 Line too long`` is a permanent failure: the customer's MTA would bounce the
mail.  ``8BITMIME`` and ``SMTPUTF8`` are announced and accepted; the bytes are stored as they
came, never decoded here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mail.inbound.receive import MailTooLarge, accept, max_mail_bytes

log = logging.getLogger(__name__)

TOO_BIG = "552 5.3.4 Message too big"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"


class TicketflowHandler:
    """aiosmtpd handler that stores every accepted mail."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        )
        try:
            raw_id, created = await asyncio.to_thread(
                accept,
                data,
                source="smtp",
                envelope_from=str(envelope.mail_from or ""),
                envelope_to=",".join(envelope.rcpt_tos),
            )
        except MailTooLarge:
            return TOO_BIG
        except Exception:  # the database is down or full: the MTA must retry later
            log.exception("could not store an inbound mail")
            return TRY_LATER
        log.info("stored mail %s (%s)", raw_id, "new" if created else "known")
        return "250 2.0.0 Message accepted"

    async def handle_exception(self, error: Exception) -> str:
        """Any other failure inside the session: aiosmtpd would answer a permanent ``500``."""
        log.error("SMTP session failed: %r", error, exc_info=error)
        return TRY_LATER


class TicketflowSMTP(SMTP):
    """aiosmtpd's server with lines as long as the whole mail may be."""

    def __init__(self, handler: Any, *, data_size_limit: int, **kwargs: Any) -> None:
        # aiosmtpd sizes its stream buffer from this attribute in ``SMTP.__init__``, so it must
        # be set first.  CRLF and a stuffed dot come on top of the mail's own bytes.
        self.line_length_limit = data_size_limit + 3
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)

    async def push(self, status: Any) -> None:
        """Send ``status``, a too-long line reported for what it is: a too-big mail."""
        # A single line longer than the stream buffer ends aiosmtpd's DATA as "too long"
        # before the size is counted; with the buffer as large as the limit, it is too big.
        if isinstance(status, str) and status.startswith("500 Line too long"):
            status = TOO_BIG
        await super().push(status)


class TicketflowController(Controller):
    """aiosmtpd's threaded controller, serving :class:`TicketflowSMTP`."""

    def factory(self) -> SMTP:
        """The server of one connection."""
        return TicketflowSMTP(self.handler, **self.SMTP_kwargs)


def make_controller(host: str, port: int, *, max_bytes: int | None = None) -> Any:
    """A started-on-demand SMTP server for Ticketflow on ``host:port``.

    ``max_bytes`` is the size limit (default: ``TICKETFLOW_MAX_MAIL_BYTES``).
    """
    return TicketflowController(
        TicketflowHandler(),
        hostname=host,
        port=port,
        data_size_limit=max_bytes or max_mail_bytes(),
        enable_SMTPUTF8=True,
        decode_data=False,
        server_hostname="ticketflow",
    )
