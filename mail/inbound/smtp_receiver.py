"""The built-in SMTP receiver (aiosmtpd): ``ticketflow mail receive`` and ``ticketflow run``.

A mail is answered ``250`` only after its raw bytes are committed; when the database is not
reachable the answer is ``451``, so the sending MTA keeps the mail and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mail.inbound.receive import MailTooLarge, accept
from mail.inbound.store import MAX_MAIL_BYTES

log = logging.getLogger(__name__)


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
            return "552 5.3.4 Message too big"
        except Exception:  # the database is down or full: the MTA must retry later
            log.exception("could not store an inbound mail")
            return "451 4.3.0 Temporary failure, please try again later"
        log.info("stored mail %s (%s)", raw_id, "new" if created else "known")
        return "250 2.0.0 Message accepted"


def make_controller(host: str, port: int) -> Any:
    """A started-on-demand SMTP server for Ticketflow on ``host:port``."""
    return Controller(
        TicketflowHandler(),
        hostname=host,
        port=port,
        data_size_limit=MAX_MAIL_BYTES,
        decode_data=False,
        server_hostname="ticketflow",
    )
