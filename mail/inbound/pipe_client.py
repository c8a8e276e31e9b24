"""The pipe as a small client of the running receiver: ``ticketflow mail ingest`` (issue 16).

An MTA starts ``ticketflow mail ingest`` once per mail, so what the process imports is its
cost.  This module imports only the standard library (no SQLAlchemy, no models, no click): it
hands the raw bytes with their envelope to the running SMTP receiver
(:mod:`mail.inbound.smtp_receiver`, ``ticketflow mail receive`` or ``ticketflow run``) on
``TICKETFLOW_SMTP_RECEIVER_HOST``:``TICKETFLOW_SMTP_RECEIVER_PORT``, which stores them exactly
as the pipe itself would: the same ``raw_mail`` row (source ``pipe``, the envelope, the bytes).

The dialogue is SMTP with one extension of ours, ``XTFPIPE``, announced in the receiver's
EHLO answer::

    EHLO ticketflow-pipe
    XTFPIPE <token> BYTES=<n> [NOSENDER]
    MAIL FROM:<sender> SIZE=<n>          (the null sender: MAIL FROM:<>)
    RCPT TO:<recipient>                  (every recipient)
    DATA …                               250 2.0.0 stored as raw mail 17 [(already known)]

(EHLO with XTFPIPE, and MAIL with the RCPTs and DATA, are pipelined: four round trips.)

The token (:func:`pipe_token`) is an HMAC of the database URL under the secret key: the
receiver accepts ``XTFPIPE`` only from a pipe of its own installation (same key, same
database), and only then records the source ``pipe``; a receiver of another installation, an
older receiver or any other SMTP server on the port refuses it, and the pipe stores the mail
itself.  ``BYTES`` makes the transfer byte-exact: SMTP's DATA ends every mail in CRLF, so
the client adds one when the mail lacks it (an MTA's pipe delivers LF line ends) and the
receiver cuts the mail back to its length.  ``NOSENDER`` stands for a pipe run without
``--sender`` (stored as no envelope sender, unlike the null sender ``<>``).

What happens when:

- nothing listens, the connection or the greeting times out, the server is not our
  receiver, or the envelope cannot be said in SMTP (no recipient, an address that is no plain
  ``local@domain``, a 5xx to MAIL or RCPT other than size): the pipe stores the mail itself,
  the way it did before (the ``direct`` callable: :func:`ticketflow.cli.mail.ingest_directly`);
- a 4xx, or the connection lost once MAIL FROM was accepted: exit 75 (``EX_TEMPFAIL``), the
  MTA tries again; storing is idempotent on the bytes, so a retry of a mail the receiver did
  store says "(already known)";
- 552 (too large): exit 1 with the same message as the pipe's own size check; any other 5xx
  after DATA: exit 1.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
import sys
from collections.abc import Callable, Mapping, Sequence

EX_TEMPFAIL = 75  # sysexits.h: the MTA keeps the mail and tries again
EX_FAILURE = 1  # what the pipe exits with for a refused mail (click's ClickException)
CONNECT_TIMEOUT = 5.0  # nobody answering this fast is as good as nobody listening
DIALOGUE_TIMEOUT = 300.0  # storing waits for the database; an MTA's pipe timeout is longer
EXTENSION = "XTFPIPE"
EHLO_NAME = "ticketflow-pipe"

# core.config's defaults, repeated so as not to import it (it imports babel via core.errors);
# tests/mail/test_pipe_client.py checks that both read the same environment the same way.
_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525

# A plain address: what SMTP and the pipe store alike.  Anything else (quoted local parts,
# no domain such as MAILER-DAEMON) goes the direct way, where it is stored as given.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_STORED = re.compile(r"stored as raw mail (\d+)( \(already known\))?")
# A dot opening a line (after CRLF, the line end DATA knows) is doubled (RFC 5321 4.5.2).
_LEADING_DOT = re.compile(rb"(?:^|(?<=\r\n))\.")

Direct = Callable[[bytes, str, str], int]


# Plain classes, no dataclasses or typing.NamedTuple: each import is start-up time of every pipe.
class ReceiverConfig:
    """Where the receiver listens and the token that proves this pipe is of its installation."""

    __slots__ = ("host", "port", "token")

    def __init__(self, host: str, port: int, token: str | None) -> None:
        self.host = host
        self.port = port
        self.token = token


class Outcome:
    """What the receiver made of a mail; ``handed`` False: the pipe must store it itself."""

    __slots__ = ("exit_code", "handed", "message", "reason")

    def __init__(self, handed: bool, exit_code: int = 0, message: str = "", *, reason: str = "") -> None:
        self.handed = handed
        self.exit_code = exit_code
        self.message = message
        self.reason = reason


def _setting(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(f"TICKETFLOW_{name}")
    return value if value not in (None, "") else default


def _database_url(env: Mapping[str, str], var_dir: str) -> str:
    url = _setting(env, "DATABASE_URL") or f"sqlite:///{os.path.join(var_dir, 'ticketflow.sqlite3')}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(env: Mapping[str, str], var_dir: str) -> str | None:
    key = _setting(env, "SECRET_KEY")
    if key is not None:
        return key
    try:  # the development key core.config keeps in var/ (never created here)
        with open(os.path.join(var_dir, "secret_key"), encoding="utf-8") as file:
            return file.read().strip() or None
    except OSError:
        return None


def pipe_token(secret_key: str, database_url: str) -> str:
    """The proof a pipe gives the receiver that both serve one installation (one database)."""
    digest = hmac.new(secret_key.encode(), b"ticketflow pipe\0" + database_url.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def receiver_config(environ: Mapping[str, str] | None = None) -> ReceiverConfig | None:
    """The receiver's address and this pipe's token from ``TICKETFLOW_*``; None if unusable."""
    env = os.environ if environ is None else environ
    var_dir = os.path.realpath(_setting(env, "VAR_DIR", os.path.join(_PROJECT_ROOT, "var")) or "var")
    try:
        port = int(_setting(env, "SMTP_RECEIVER_PORT", str(DEFAULT_PORT)) or "")
    except ValueError:
        return None  # the direct way reports the setting as core.config does
    secret = _secret_key(env, var_dir)
    return ReceiverConfig(
        host=_setting(env, "SMTP_RECEIVER_HOST", DEFAULT_HOST) or DEFAULT_HOST,
        port=port,
        token=pipe_token(secret, _database_url(env, var_dir)) if secret is not None else None,
    )


def wire_form(data: bytes) -> bytes:
    """``data`` as DATA sends it: dots opening a line doubled, ended by CRLF (without the dot)."""
    body = data if data.endswith(b"\r\n") else data + b"\r\n"
    return _LEADING_DOT.sub(b"..", body)


class _Refused(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class _Connection:
    """The few SMTP exchanges the pipe needs, over a plain socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.file = sock.makefile("rb")

    def reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        while True:
            line = self.file.readline(4096)
            if not line.endswith(b"\n"):
                raise ConnectionError("the receiver closed the connection")
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(text) < 3 or not text[:3].isdigit():
                raise ConnectionError(f"not an SMTP answer: {text[:80]!r}")
            lines.append(text[4:])
            if text[3:4] != "-":
                return int(text[:3]), lines

    def commands(self, *lines: str, last: int = 250) -> list[list[str]]:
        """Send ``lines`` in one write and read their answers (250 each, ``last`` for the last one).

        Pipelined (RFC 2920) to save round trips, which are most of the pipe's time on a busy
        machine; aiosmtpd reads commands one by one from its stream, so this is only done
        where the answers show it is our receiver (EHLO with XTFPIPE, then the envelope).
        """
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())
        answers = [self.reply() for _line in lines]
        for number, (code, text) in enumerate(answers):
            if code != (last if number == len(lines) - 1 else 250):
                raise _Refused(code, " ".join(text))
        return [text for _code, text in answers]

    def close(self) -> None:
        try:  # QUIT without waiting for its answer: nothing the answer says changes the outcome
            self.sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        finally:
            self.file.close()
            self.sock.close()


def _size_limit(extensions: list[str]) -> int | None:
    for line in extensions:
        name, _, value = line.partition(" ")
        if name.upper() == "SIZE" and value.strip().isdigit():
            return int(value)
    return None


def hand_to_receiver(
    data: bytes, *, sender: str | None, recipients: Sequence[str], config: ReceiverConfig
) -> Outcome:
    """Deliver ``data`` to the receiver as this installation's pipe (see the module docstring).

    ``sender`` None is a pipe run without ``--sender``; ``""`` or ``"<>"`` the null sender.
    """
    null = sender is not None and sender in ("", "<>")
    if config.token is None:
        return Outcome(False, reason="no secret key to prove this pipe to the receiver")
    if not recipients:
        return Outcome(False, reason="no envelope recipient to name in SMTP")
    addresses = [*recipients, *([] if sender is None or null else [sender])]
    if not all(_ADDRESS.fullmatch(a) for a in addresses):
        return Outcome(False, reason="an envelope address SMTP would rewrite")
    try:
        # A host as bytes: a str would import the idna codec first (getaddrinfo encodes it).
        host = config.host.encode() if config.host.isascii() else config.host
        sock = socket.create_connection((host, config.port), timeout=CONNECT_TIMEOUT)  # type: ignore[arg-type]
    except OSError as exc:
        return Outcome(False, reason=f"no receiver on {config.host}:{config.port} ({exc})")
    connection = _Connection(sock)
    try:
        return _dialogue(
            connection,
            data,
            address=None if sender is None or null else sender,
            null=null,
            recipients=recipients,
            config=config,
        )
    finally:
        connection.close()


def _dialogue(
    connection: _Connection,
    data: bytes,
    *,
    address: str | None,
    null: bool,
    recipients: Sequence[str],
    config: ReceiverConfig,
) -> Outcome:
    limit: int | None = None
    stage = "greeting"
    try:
        code, _greeting = connection.reply()
        if code != 220:
            return Outcome(False, reason=f"the server on the port greets with {code}")
        no_sender = " NOSENDER" if address is None and not null else ""
        ehlo, _pipe = connection.commands(
            f"EHLO {EHLO_NAME}", f"{EXTENSION} {config.token} BYTES={len(data)}{no_sender}"
        )
        extensions = ehlo[1:]
        limit = _size_limit(extensions)
        if EXTENSION not in {line.split(" ")[0].upper() for line in extensions}:
            return Outcome(False, reason="the server on the port is not Ticketflow's receiver")
        connection.sock.settimeout(DIALOGUE_TIMEOUT)
        stage = "envelope"
        recipients_then_data = [f"RCPT TO:<{recipient}>" for recipient in recipients] + ["DATA"]
        connection.commands(f"MAIL FROM:<{address or ''}> SIZE={len(data)}", *recipients_then_data, last=354)
        stage = "data"
        connection.sock.sendall(wire_form(data) + b".\r\n")
        code, lines = connection.reply()
        if code != 250:
            raise _Refused(code, " ".join(lines))
    except _Refused as refused:
        return _refusal(refused, stage, data, limit)
    except OSError as exc:  # ConnectionError and timeouts included
        if stage == "greeting":
            return Outcome(False, reason=f"the receiver did not answer ({exc})")
        # Perhaps stored, perhaps not: the MTA's retry finds out (identical bytes are stored once).
        return Outcome(True, EX_TEMPFAIL, f"cannot store the mail now: the receiver went away ({exc})")
    text = " ".join(lines)
    stored = _STORED.search(text)
    if stored is None:
        return Outcome(True, 0, f"stored by the receiver ({text})")
    known = " (already known)" if stored.group(2) else ""
    return Outcome(True, 0, f"stored as raw mail {stored.group(1)}{known}")


def _refusal(refused: _Refused, stage: str, data: bytes, limit: int | None) -> Outcome:
    """What an SMTP refusal at ``stage`` means for the pipe."""
    if stage == "greeting":  # XTFPIPE refused: a receiver of another installation
        return Outcome(False, reason=f"the receiver does not take this pipe ({refused})")
    if refused.code == 552:
        if stage == "data" and limit is not None and len(data) <= limit:
            # Only the doubled dots and the added CRLF took it over: the pipe takes it itself.
            return Outcome(False, reason="over the receiver's limit on the wire only")
        # The words of mail.inbound.receive.MailTooLarge: the same refusal whichever way ran.
        over = f"over the limit of {limit}" if limit is not None else "too large"
        return Outcome(True, EX_FAILURE, f"Error: mail of {len(data)} bytes is {over}")
    if 400 <= refused.code < 500:
        return Outcome(True, EX_TEMPFAIL, f"cannot store the mail now: the receiver answered {refused}")
    if stage == "envelope":  # an address the receiver will not take: the pipe stores it as given
        return Outcome(False, reason=f"the receiver does not take this envelope ({refused})")
    return Outcome(True, EX_FAILURE, f"Error: the receiver refused the mail: {refused}")


def envelope_of(sender: str | None, recipients: Sequence[str]) -> tuple[str, list[str]]:
    """The stored envelope of the pipe's arguments: (envelope from, recipients).

    An MTA passes an empty sender for the null sender ``<>`` of bounces; stored as ``"<>"``,
    so that it differs from a pipe that passed no envelope at all (``""``).
    """
    envelope_to = [r.strip() for r in recipients if r.strip()]
    envelope_from = "" if sender is None else (sender.strip() or "<>")
    return envelope_from, envelope_to


def ingest(
    data: bytes,
    *,
    sender: str | None,
    recipients: Sequence[str],
    direct: Direct,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Hand one mail to the receiver, else store it with ``direct``; prints the outcome, returns the status.

    ``direct(data, envelope_from, envelope_to)`` is the pipe's own way (it prints its outcome).
    """
    envelope_from, envelope_to = envelope_of(sender, recipients)
    config = receiver_config(environ)
    outcome = (
        hand_to_receiver(
            data, sender=None if sender is None else envelope_from, recipients=envelope_to, config=config
        )
        if config is not None
        else Outcome(False, reason="no receiver configured")
    )
    if not outcome.handed:
        return direct(data, envelope_from, ",".join(envelope_to))
    stream = sys.stdout if outcome.exit_code == 0 else sys.stderr
    stream.write(outcome.message + "\n")
    stream.flush()
    return outcome.exit_code


def parse_arguments(argv: Sequence[str]) -> tuple[str | None, list[str]] | None:
    """``mail ingest``'s arguments as click reads them: (sender, recipients); None: leave it to click.

    ``--sender S`` / ``--sender=S`` (the last one counts), ``--recipient R`` / ``--recipient=R``
    (repeatable), further recipients as arguments, anywhere, all after ``--``.  Help, and
    anything else that looks like an option, goes to the click command, which answers it as
    it always did.  (Not argparse: importing it costs the pipe more than parsing this.)
    """
    sender: str | None = None
    recipients: list[str] = []
    more: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            more.extend(args[index:])
            break
        name, equals, value = arg.partition("=")
        if name in ("--sender", "--recipient"):
            if not equals:
                if index >= len(args):
                    return None  # click: "Option '--sender' requires an argument."
                value = args[index]
                index += 1
            if name == "--sender":
                sender = value
            else:
                recipients.append(value)
        elif arg.startswith("-") and arg != "-":
            return None  # --help, -v, a misspelt option: click's answer
        else:
            more.append(arg)
    return sender, [*recipients, *more]


def main(argv: Sequence[str], direct: Direct) -> int | None:
    """``ticketflow mail ingest ARGV`` without click; None when click must answer instead."""
    parsed = parse_arguments(argv)
    if parsed is None:
        return None
    sender, recipients = parsed
    data = sys.stdin.buffer.read()
    if not data.strip():
        sys.stderr.write("Error: no mail on standard input\n")
        return EX_FAILURE
    return ingest(data, sender=sender, recipients=recipients, direct=direct)
