"""Turning raw mail bytes into a :class:`ParsedMail`, whatever the sender's software did.

The stdlib ``email`` package with ``policy.default`` reads most mail; where it raises on a
broken header (an RFC 2231 file name with invalid bytes, an Outlook-style Message-ID …) each
value falls back to the ``compat32`` reading of the same bytes.  Text whose declared charset
is missing, unknown or wrong is decoded with charset-normalizer.  Nothing here raises for bad
input: what cannot be read is recorded in ``warnings`` and the rest is kept.

Every text of the result can be stored (:mod:`core.text`): a NUL or a lone surrogate (from
``charset=utf-7`` or ``unicode_escape``, or 8-bit header bytes read with ``surrogateescape``)
becomes U+FFFD, since a sender cannot be asked to write again; the raw mail is kept as it
came, so nothing is lost.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

from charset_normalizer import from_bytes

from core.text import scrub
from mail.inbound.sanitize import html_to_text, sanitize_html

MAX_HEADER = 4000


@dataclass
class ParsedAttachment:
    """A file of the mail."""

    filename: str
    content_type: str
    data: bytes
    is_inline: bool = False
    content_id: str | None = None


@dataclass
class ParsedMail:
    """What Ticketflow needs of a mail."""

    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str = ""
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    date: datetime | None = None
    body_text: str = ""
    body_html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    is_bounce: bool = False
    bounced_message_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def from_header(self) -> str:
        """``Name <addr>`` as it should appear on the article."""
        return f"{self.from_name} <{self.from_addr}>" if self.from_name else self.from_addr


_LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "x-loop",
    "x-autoreply",
    "x-auto-response-suppress",
    "x-ticketflow-loop",
)
_MSGID = re.compile(r"<[^<>\s]+>")
_NEWLINE = re.compile(r"\r\n?")
_MIN_DETECT = 64  # bytes; charset detection on shorter text is mostly a wild guess


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Text from ``data``: the declared charset if it decodes cleanly, else a detected one."""
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if len(data) >= _MIN_DETECT:
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    # Too short to guess from (a guess may even merge ASCII letters into CJK characters):
    # the commonest legacy charset, which leaves all ASCII text as it is.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_8bit(data: bytes, hint: str | None) -> str:
    """Raw 8-bit header bytes: UTF-8 (RFC 6532) if valid, else the mail's charset or a guess."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return decode_bytes(data, hint)


def _decode_header_value(raw: Any, hint: str | None = None) -> str:
    """A header value decoded from RFC 2047 words, never raising.

    ``hint`` is the charset that raw 8-bit bytes in the header are most likely in (old
    mailers write headers unencoded in the charset of the body).
    """
    if raw is None:
        return ""
    if isinstance(raw, Header):  # compat32 keeps raw 8-bit bytes as "unknown-8bit" chunks
        try:
            chunks = decode_header(raw)
        except Exception:
            return str(raw)
        decoded: list[str] = []
        for chunk, charset in chunks:
            if not isinstance(chunk, bytes):
                decoded.append(chunk)
            elif charset in (None, "unknown-8bit"):
                text = _decode_8bit(chunk, hint)
                decoded.append(_decode_header_value(text) if "=?" in text else text)
            else:
                decoded.append(decode_bytes(chunk, charset))
        return "".join(decoded)
    text = str(raw)
    try:
        parts = decode_header(text)
    except Exception:  # malformed encoded words: show them as they are
        return text
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset if charset and charset != "unknown-8bit" else None))
        else:
            out.append(chunk)
    return "".join(out)


class _Reader:
    """Reads header values from the modern parse, falling back to compat32 per value."""

    def __init__(self, raw: bytes, warnings: list[str]) -> None:
        self.warnings = warnings
        self.compat = email.message_from_bytes(raw, policy=policy.compat32)
        try:
            self.modern: Message | None = email.message_from_bytes(raw, policy=policy.default)
        except Exception as exc:  # the modern parser gave up on the whole message
            warnings.append(f"modern parser failed: {exc!r}")
            self.modern = None
        try:
            self.hint = next((c for part in self.compat.walk() if (c := _charset(part))), None)
        except Exception:
            self.hint = None

    def header(self, name: str) -> str:
        if self.modern is not None:
            try:
                value = self.modern.get(name)
                if value is None:
                    return ""
                text = str(value)
                # U+FFFD stands for raw 8-bit bytes the modern parser could not read: the
                # compat32 reading below still has them.
                if "\ufffd" not in text:
                    return " ".join(text.split())[:MAX_HEADER]
            except Exception as exc:
                self.warnings.append(f"header {name}: {exc!r}")
        value = self.compat.get(name)
        if value is None:
            return ""
        return " ".join(_decode_header_value(value, self.hint).split())[:MAX_HEADER]

    def raw_header(self, name: str) -> str:
        value = self.compat.get(name)
        return str(value).strip()[:MAX_HEADER] if value is not None else ""


def _addresses(value: str) -> list[str]:
    return [addr.strip().lower() for _, addr in getaddresses([value]) if "@" in addr]


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        return None
    if isinstance(name, tuple):  # an RFC 2231 triple compat32 could not collapse
        name = name[2]
    text = _decode_header_value(name)
    # Path separators and control characters never reach a Content-Disposition or a disk.
    text = re.sub(r"[\x00-\x1f/\\]+", "_", text).strip() or "attachment"
    return text[:255]


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    if isinstance(payload, list):  # message/*: an attached mail, or the blocks of a DSN
        return b"".join(_message_bytes(inner) for inner in payload if isinstance(inner, Message))
    return b""


def _message_bytes(message: Message) -> bytes:
    """``message`` written back as bytes, as far as the generator can."""
    try:
        return message.as_bytes(policy=policy.compat32)
    except Exception:  # a structure the generator cannot write back: keep its text
        try:
            return message.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return charset if charset and charset != "unknown-8bit" else None


def _leaves(message: Message) -> Iterator[Message]:
    """The parts of ``message`` that hold content; an attached mail (message/rfc822) is one."""
    payload = message.get_payload()
    if message.get_content_maintype() == "multipart" and isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                yield from _leaves(part)
    else:
        yield message


def _walk(message: Message, parsed: ParsedMail, texts: list[str], htmls: list[str]) -> None:
    for part in _leaves(message):
        content_type = (part.get_content_type() or "text/plain").lower()
        if content_type.startswith("multipart/"):
            # A multipart without a usable boundary could not be split: show its text.
            parsed.warnings.append(f"{content_type} without a usable boundary, kept as text")
            texts.append(decode_bytes(_payload_bytes(part), _charset(part)))
            continue
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part)
        content_id = part.get("Content-ID")
        is_body_text = (
            content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename
        )
        if is_body_text:
            text = decode_bytes(_payload_bytes(part), _charset(part))
            (htmls if content_type == "text/html" else texts).append(text)
            continue
        if content_type in ("message/delivery-status", "text/rfc822-headers"):
            texts.append(decode_bytes(_payload_bytes(part), _charset(part)))
        data = _payload_bytes(part)
        parsed.attachments.append(
            ParsedAttachment(
                filename=filename or _default_name(content_type),
                content_type=content_type,
                data=data,
                is_inline=disposition == "inline" or (content_id is not None and disposition != "attachment"),
                content_id=str(content_id).strip().strip("<>")[:900] if content_id else None,
            )
        )


def _default_name(content_type: str) -> str:
    extension = {"message/rfc822": "eml", "text/plain": "txt", "text/html": "html"}.get(content_type)
    if extension is None:
        extension = content_type.rsplit("/", maxsplit=1)[-1].split("+", maxsplit=1)[0][:10] or "bin"
    return f"attachment.{extension}"


def _bounce(reader: _Reader, parsed: ParsedMail) -> None:
    content_type = (reader.compat.get_content_type() or "").lower()
    report_type = (reader.compat.get_param("report-type") or "") if content_type == "multipart/report" else ""
    if content_type != "multipart/report" or str(report_type).lower() != "delivery-status":
        return
    parsed.is_bounce = True
    for part in reader.compat.walk():
        kind = (part.get_content_type() or "").lower()
        if kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                original = payload[0]
            else:
                original = email.message_from_bytes(_payload_bytes(part), policy=policy.compat32)
            found = _MSGID.search(str(original.get("Message-ID") or ""))
            if found:
                parsed.bounced_message_id = found.group(0)
                return


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse ``raw``; never raises for malformed input (problems go to ``warnings``)."""
    parsed = ParsedMail()
    reader = _Reader(raw, parsed.warnings)
    parsed.subject = reader.header("Subject")
    from_value = reader.header("From") or reader.raw_header("From")
    name, addr = parseaddr(from_value)
    parsed.from_name, parsed.from_addr = _decode_header_value(name).strip(), addr.strip().lower()
    parsed.to = _addresses(reader.header("To"))
    parsed.cc = _addresses(reader.header("Cc"))
    parsed.reply_to = parseaddr(reader.header("Reply-To"))[1].strip().lower()
    found = _MSGID.search(reader.raw_header("Message-ID"))
    parsed.message_id = found.group(0) if found else None
    reply = _MSGID.search(reader.raw_header("In-Reply-To"))
    parsed.in_reply_to = reply.group(0) if reply else None
    parsed.references = _MSGID.findall(reader.raw_header("References"))[:100]
    try:
        date = parsedate_to_datetime(reader.raw_header("Date")) if reader.raw_header("Date") else None
        parsed.date = date if date is None or date.tzinfo else date.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        parsed.warnings.append("unreadable Date header")
    for header in _LOOP_HEADERS:
        value = reader.raw_header(header)
        if value:
            parsed.headers[header] = value
    texts: list[str] = []
    htmls: list[str] = []
    try:
        _walk(reader.compat, parsed, texts, htmls)
    except Exception as exc:  # a structure the walker cannot follow: keep the raw text
        parsed.warnings.append(f"body: {exc!r}")
        texts.append(decode_bytes(raw, None))
    # Mail arrives with CRLF line ends (SMTP, IMAP); the stored text has plain newlines.
    # Scrubbed before the sanitizer, which cannot even read a lone surrogate.
    texts = [scrub(_NEWLINE.sub("\n", t)) for t in texts]
    htmls = [scrub(_NEWLINE.sub("\n", h)) for h in htmls]
    if htmls:
        parsed.body_html = sanitize_html("\n".join(htmls))
    parsed.body_text = "\n\n".join(t.strip("\n") for t in texts) if texts else html_to_text("\n".join(htmls))
    _bounce(reader, parsed)
    _scrub_fields(parsed)
    return parsed


def _scrub_fields(parsed: ParsedMail) -> None:
    """Make every text of ``parsed`` storable (see the module docstring)."""
    for name in ("subject", "from_name", "from_addr", "reply_to", "message_id", "in_reply_to", "body_text"):
        value = getattr(parsed, name)
        if value is not None:
            setattr(parsed, name, scrub(value))
    if parsed.body_html is not None:
        parsed.body_html = scrub(parsed.body_html)
    if parsed.bounced_message_id is not None:
        parsed.bounced_message_id = scrub(parsed.bounced_message_id)
    parsed.to = [scrub(a) for a in parsed.to]
    parsed.cc = [scrub(a) for a in parsed.cc]
    parsed.references = [scrub(r) for r in parsed.references]
    parsed.headers = {name: scrub(value) for name, value in parsed.headers.items()}
    parsed.warnings = [scrub(w) for w in parsed.warnings]
    for attachment in parsed.attachments:
        attachment.filename = scrub(attachment.filename)
        attachment.content_type = scrub(attachment.content_type)
        if attachment.content_id is not None:
            attachment.content_id = scrub(attachment.content_id)
