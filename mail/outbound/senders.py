"""Where outgoing mail goes: an SMTP relay, or (embedded default) ``.eml`` files in a folder.

``TICKETFLOW_SMTP_URL`` picks the relay: ``smtp://host:25``, ``smtp://user:pass@host:587``
(STARTTLS is used whenever the server offers it, and required with ``?starttls=required``),
or ``smtps://user:pass@host:465`` for implicit TLS.  A 5xx answer is permanent; everything
else (4xx, a refused or dropped connection, a timeout) is temporary and retried.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from core.config import Settings


class PermanentFailure(Exception):
    """The relay refused the mail for good (a 5xx reply)."""


class TemporaryFailure(Exception):
    """The mail could not be sent now; try again later."""


class Sender(Protocol):
    """Delivers one composed mail."""

    def send(self, mail: EmailMessage, recipients: list[str]) -> None:
        """Deliver or raise :class:`PermanentFailure` / :class:`TemporaryFailure`."""


class FolderSender:
    """Writes each mail to ``<folder>/<id>.eml`` (atomically), for the embedded mode and demos."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, mail: EmailMessage, recipients: list[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = (str(mail["Message-ID"]).strip("<>").replace("/", "_") or "mail") + ".eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(mail.as_bytes())
        os.replace(tmp, self.folder / name)


class SmtpSender:
    """Sends through an SMTP relay."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("TICKETFLOW_SMTP_URL must start with smtp:// or smtps://")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        options = parse_qs(parts.query)
        self.require_starttls = options.get("starttls", [""])[0] == "required"
        self.timeout = timeout

    def send(self, mail: EmailMessage, recipients: list[str]) -> None:
        context = ssl.create_default_context()
        try:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.implicit_tls:
                    if client.has_extn("starttls"):
                        client.starttls(context=context)
                        client.ehlo()
                    elif self.require_starttls:
                        raise TemporaryFailure("the relay does not offer STARTTLS, which is required")
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(mail, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"all recipients refused: {exc.recipients}") from None
            raise TemporaryFailure(str(exc)) from None
        except smtplib.SMTPResponseException as exc:
            text = f"{exc.smtp_code} {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(text) from None
            raise TemporaryFailure(text) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None


def sender_for(settings: Settings) -> Sender:
    """The sender the settings choose."""
    if settings.smtp_url:
        return SmtpSender(settings.smtp_url)
    return FolderSender(settings.outbox_dir)
