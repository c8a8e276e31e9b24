"""Where outgoing mail goes: an SMTP relay, or (embedded default) ``.eml`` files in a folder.

``TICKETFLOW_SMTP_URL`` picks the relay: ``smtp://host:25``, ``smtp://user:pass@host:587``
(STARTTLS is used whenever the server offers it, and required with ``?starttls=required``),
or ``smtps://user:pass@host:465`` for implicit TLS.  A 5xx answer is permanent; everything
else (4xx, a refused or dropped connection, a timeout) is temporary and retried.

``?oauth2_mailbox=NAME`` logs in with XOAUTH2 as the IMAP mailbox ``NAME`` (its login and an
access token from its refresh token, :mod:`mail.oauth2`), as Microsoft 365 and Google require:
``smtp://smtp.office365.com:587?starttls=required&oauth2_mailbox=Support``.  The token is
obtained by :func:`sender_for`, before the delivery's transaction begins (on SQLite a second
transaction inside it would wait for the first); a refused refresh makes every mail of that
round a temporary failure whose reason is the provider's answer.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from core.config import Settings
from core.db import session_scope
from core.errors import TicketflowError
from mail import oauth2
from mail.models import MailAccount


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


@dataclass(frozen=True)
class OAuth2Login:
    """An XOAUTH2 login: the mailbox's address and an access token, or why there is none."""

    username: str
    access_token: str = ""
    error: str = ""


class SmtpSender:
    """Sends through an SMTP relay."""

    def __init__(self, url: str, timeout: float = 30.0, oauth2_login: OAuth2Login | None = None) -> None:
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
        self.oauth2_mailbox = options.get("oauth2_mailbox", [""])[0]
        self.oauth2_login = oauth2_login
        self.timeout = timeout

    def _authenticate(self, client: smtplib.SMTP) -> None:
        if self.oauth2_login is not None:
            _xoauth2(client, self.oauth2_login)
        elif self.username:
            client.login(self.username, self.password or "")

    def _transmit(self, mail: EmailMessage, recipients: list[str]) -> None:
        context = ssl.create_default_context()
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
            self._authenticate(client)
            client.send_message(mail, to_addrs=recipients)

    def send(self, mail: EmailMessage, recipients: list[str]) -> None:
        if self.oauth2_mailbox and (self.oauth2_login is None or not self.oauth2_login.access_token):
            reason = self.oauth2_login.error if self.oauth2_login else "no access token was obtained"
            raise TemporaryFailure(f"OAuth2 login of mailbox {self.oauth2_mailbox!r}: {reason}")
        try:
            self._transmit(mail, recipients)
        except smtplib.SMTPAuthenticationError as exc:
            # Our sign-in is wrong (a password, a token the relay refused), not the mail: it
            # waits for the fix instead of failing for good; a new token is asked next time.
            if self.oauth2_login is not None:
                oauth2.forget_all()
            text = f"the relay refused our sign-in: {exc.smtp_code} {exc.smtp_error!r}"
            raise TemporaryFailure(text) from None
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


def _xoauth2(client: smtplib.SMTP, login: OAuth2Login) -> None:
    """AUTH XOAUTH2 with the initial response; a refusal comes as a 334 challenge first."""

    def respond(challenge: bytes | None = None) -> str:
        # After the server's error challenge (JSON) the client must send an empty line,
        # then the server answers 535.
        return "" if challenge else oauth2.xoauth2_string(login.username, login.access_token)

    client.auth("XOAUTH2", respond)


def oauth2_login_for(mailbox: str) -> OAuth2Login:
    """The XOAUTH2 login of the mailbox named ``mailbox``, in a transaction of its own."""
    try:
        with session_scope() as session:
            account = session.scalar(select(MailAccount).where(MailAccount.name == mailbox))
            if account is None or account.auth_method != "oauth2":
                return OAuth2Login(username="", error="no mailbox of that name uses OAuth2")
            return OAuth2Login(username=account.username, access_token=oauth2.access_token(session, account))
    except TicketflowError as exc:
        return OAuth2Login(username="", error=exc.message)


def sender_for(settings: Settings) -> Sender:
    """The sender the settings choose (call it outside any transaction: see the module doc)."""
    if settings.smtp_url:
        sender = SmtpSender(settings.smtp_url)
        if sender.oauth2_mailbox:
            sender.oauth2_login = oauth2_login_for(sender.oauth2_mailbox)
        return sender
    return FolderSender(settings.outbox_dir)
