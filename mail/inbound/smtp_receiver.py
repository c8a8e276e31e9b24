"""The built-in SMTP receiver (aiosmtpd): ``ticketflow mail receive`` and ``ticketflow run``.

A mail is answered ``250`` only after its raw bytes and its envelope (MAIL FROM, every RCPT
TO: a Bcc recipient is only there) are committed.  Every failure of ours is temporary: when
the database is not reachable, or anything else goes wrong inside, the answer is ``451``, so
the sending MTA keeps the mail and tries again.  The only permanent refusal is size: the
limit (``TICKETFLOW_MAX_MAIL_BYTES``) is announced in the EHLO answer (``SIZE``) and a larger
mail is refused with ``552``, at MAIL FROM when the client declares its size, else after DATA.

The pipe (``ticketflow mail ingest``, :mod:`mail.inbound.pipe_client`) is a client of this
receiver: after EHLO it proves with ``XTFPIPE <token>`` (an HMAC of the database URL under
the secret key) that it is this installation's pipe.  Its mail is then stored as the pipe
stores it (source ``pipe``; no envelope sender when it had none; its bytes cut back to
``BYTES``, undoing the CRLF that DATA needs at the end) and the ``250`` names the raw mail
(``250 2.0.0 stored as raw mail 17``).  Other clients see ``XTFPIPE`` in the EHLO answer and
nothing else changes for them.

Lines may be of any length within that limit.  RFC 5321 allows 998 characters, but real
mail has longer ones (HTML on one line, long headers), the pipe and IMAP take them, and
aiosmtpd's ``500 Line too long`` is a permanent failure: the customer's MTA would bounce the
mail.  ``8BITMIME`` and ``SMTPUTF8`` are announced and accepted; the bytes are stored as they
came, never decoded here.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from core.config import get_settings
from mail.inbound.pipe_client import EXTENSION, pipe_token
from mail.inbound.receive import MailTooLarge, accept, max_mail_bytes

log = logging.getLogger(__name__)

TOO_BIG = "552 5.3.4 Message too big"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"


@dataclass(frozen=True)
class PipeTransfer:
    """What ``XTFPIPE`` said about the session's next mail."""

    length: int
    no_sender: bool


class TicketflowHandler:
    """aiosmtpd handler that stores every accepted mail.

    ``pipe_token`` is what this installation's pipe proves itself with (None: no pipe taken).
    """

    def __init__(self, pipe_token: str | None = None) -> None:
        self.pipe_token = pipe_token

    async def handle_EHLO(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """aiosmtpd's answer with ``XTFPIPE`` announced (before the closing ``250 HELP``)."""
        session.host_name = hostname
        if isinstance(server, TicketflowSMTP):
            server.pipe_transfer = None  # a new EHLO starts over, as for every other state
        return [*responses[:-1], f"250-{EXTENSION}", responses[-1]]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        )
        pipe = server.pipe_transfer if isinstance(server, TicketflowSMTP) else None
        if isinstance(server, TicketflowSMTP):
            server.pipe_transfer = None  # one mail per XTFPIPE
        envelope_from = str(envelope.mail_from or "")
        if pipe is not None:
            # DATA ends every mail in CRLF; the pipe added one when its mail had none.
            if not (
                len(data) - pipe.length in (0, 2)
                and data[pipe.length :] == b"\r\n"[: len(data) - pipe.length]
            ):
                log.error("a pipe's mail came with %s bytes, not the %s announced", len(data), pipe.length)
                return TRY_LATER
            data = data[: pipe.length]
            envelope_from = "" if pipe.no_sender else envelope_from
        try:
            raw_id, created = await asyncio.to_thread(
                accept,
                data,
                source="pipe" if pipe is not None else "smtp",
                envelope_from=envelope_from,
                envelope_to=",".join(envelope.rcpt_tos),
            )
        except MailTooLarge:
            return TOO_BIG
        except Exception:  # the database is down or full: the MTA must retry later
            log.exception("could not store an inbound mail")
            return TRY_LATER
        log.info("stored mail %s (%s)", raw_id, "new" if created else "known")
        if pipe is not None:
            # The pipe prints it, as it did when it stored the mail itself.
            return f"250 2.0.0 stored as raw mail {raw_id}" + ("" if created else " (already known)")
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
        # Set by XTFPIPE for the connection's next mail (aiosmtpd serves one connection each).
        self.pipe_transfer: PipeTransfer | None = None
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)

    async def push(self, status: Any) -> None:
        """Send ``status``, a too-long line reported for what it is: a too-big mail."""
        # A single line longer than the stream buffer ends aiosmtpd's DATA as "too long"
        # before the size is counted; with the buffer as large as the limit, it is too big.
        if isinstance(status, str) and status.startswith("500 Line too long"):
            status = TOO_BIG
        await super().push(status)

    async def smtp_XTFPIPE(self, arg: str) -> None:  # noqa: N802
        """``XTFPIPE <token> BYTES=<n> [NOSENDER]``: the next mail is this installation's pipe's."""
        if await self.check_helo_needed("EHLO"):
            return
        words = (arg or "").split()
        expected = getattr(self.event_handler, "pipe_token", None)
        if not words or expected is None or not hmac.compare_digest(words[0].encode(), expected.encode()):
            await self.push("550 5.7.1 Not this installation's pipe")
            return
        params = {name.upper(): value for name, _, value in (word.partition("=") for word in words[1:])}
        length = params.get("BYTES", "")
        if not length.isdigit() or set(params) - {"BYTES", "NOSENDER"}:
            await self.push("501 5.5.4 Syntax: XTFPIPE token BYTES=n [NOSENDER]")
            return
        self.pipe_transfer = PipeTransfer(length=int(length), no_sender="NOSENDER" in params)
        await self.push("250 2.0.0 Pipe of this installation")


class TicketflowController(Controller):
    """aiosmtpd's threaded controller, serving :class:`TicketflowSMTP`."""

    def factory(self) -> SMTP:
        """The server of one connection."""
        return TicketflowSMTP(self.handler, **self.SMTP_kwargs)


def make_controller(host: str, port: int, *, max_bytes: int | None = None) -> Any:
    """A started-on-demand SMTP server for Ticketflow on ``host:port``.

    ``max_bytes`` is the size limit (default: ``TICKETFLOW_MAX_MAIL_BYTES``).  It takes the
    pipe of the installation of these settings (same secret key, same database).
    """
    settings = get_settings()
    return TicketflowController(
        TicketflowHandler(pipe_token(settings.secret_key, settings.database_url)),
        hostname=host,
        port=port,
        data_size_limit=max_bytes or max_mail_bytes(),
        enable_SMTPUTF8=True,
        decode_data=False,
        server_hostname="ticketflow",
    )
