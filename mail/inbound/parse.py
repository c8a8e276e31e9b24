"""Turning raw mail bytes into a :class:`ParsedMail`, whatever the sender's software did.

The stdlib ``email`` package with ``policy.default`` reads most mail; where it raises on a
broken header (an RFC 2231 file name with invalid bytes, an Outlook-style Message-ID …) each
value falls back to the ``compat32`` reading of the same bytes.  Text whose declared charset
is missing, unknown or wrong is guessed (:mod:`mail.inbound.charsets`).  Nothing here raises for bad
input: what cannot be read is recorded in ``warnings`` and the rest is kept.  Files that old
mailers write uuencoded into the text become attachments (:mod:`mail.inbound.uuencode`).

Every text of the result can be stored (:mod:`core.text`): a NUL or a lone surrogate (from
``charset=utf-7`` or ``unicode_escape``, or 8-bit header bytes read with ``surrogateescape``)
becomes U+FFFD, since a sender cannot be asked to write again; the raw mail is kept as it
came, so nothing is lost.
"""

from __future__ import annotations

import binascii
import email
import mimetypes
import re
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors, policy
from email.header import Header, decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from core.text import scrub
from mail.inbound import boundaries, charsets, tnef, uuencode
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
    # Parts whose content could not be read ("part 3 (application/pdf): …"): the mail is
    # incomplete, so the pipeline records it as failed instead of processed.
    lost_parts: list[str] = field(default_factory=list)
    # Which header gave ``from_addr``: "from", "sender", "reply-to", "envelope" (the SMTP
    # envelope sender or Return-Path), or "" when none named an address.
    sender_source: str = ""

    @property
    def from_header(self) -> str:
        """``Name <addr>`` as it should appear on the article.

        A name with specials is quoted, so that whoever reads the header again (a reply, the
        ticket page) finds ``from_addr`` and never an address written into the name.
        """
        if not self.from_name:
            return self.from_addr
        name = self.from_name
        if _NAME_SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{self.from_addr}>"


_NAME_SPECIALS = re.compile(r'[][\\()<>@,:;."]')


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
    # Read by mail.inbound.loops: vacation programs and upstream spam filters.
    "x-autorespond",
    "x-spam-flag",
    "x-spam-status",
)
_MSGID = re.compile(r"<[^<>\s]+>")
_NEWLINE = re.compile(r"\r\n?")
_UNFOLD = re.compile(rb"\r?\n(?=[ \t])")  # unfolding: the line break goes, the blank stays


def decode_bytes(data: bytes, declared: str | None, hints: Sequence[str] = ()) -> str:
    """Text from ``data``: the declared charset if it decodes cleanly, else a detected one.

    ``hints`` are the charsets the same mail declares elsewhere (other parts, RFC 2047 words,
    the header block's), tried before any statistical guess (see :mod:`mail.inbound.charsets`).
    """
    return charsets.decode(data, declared, hints)


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
    # Unfolded first (RFC 5322 2.2.3: only the line break goes): an encoded word that a
    # mailer folded in its middle is one word again, not two halves left undecoded.
    text = _UNFOLD_TEXT.sub("", str(raw))
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


_UNFOLD_TEXT = re.compile(r"\r?\n(?=[ \t])")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
_SPACED_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")
# A would-be field such as "X-Broken Header: value" (a name with spaces): junk, not text.
_JUNK_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e][\x20-\x39\x3b-\x7e]{0,60}:")
_MAX_HEADER_BLOCK = 1_000_000  # bytes; a "header block" larger than this is no header block


def _header_block(raw: bytes) -> tuple[bytes, bool]:
    """The header block of ``raw`` (without the blank line) and whether a blank line ends it."""
    found = _BLANK_LINE.search(raw, 0, _MAX_HEADER_BLOCK)
    if found:
        return raw[: found.start()], True
    return raw[:_MAX_HEADER_BLOCK].rstrip(b"\r\n"), False


def _repair_header_block(raw: bytes, warnings: list[str]) -> bytes:
    """``raw`` with a header block the ``email`` package can read, line by line.

    The parser ends the header block at the first line that is neither ``Name: value`` nor
    indented, so one broken line loses every header after it (a junk first line: all of
    them).  Here lines before the first field are dropped, as is a would-be field with a
    space in its name; ``Name : value`` loses the space; a line that is not a field is an
    unindented continuation of the field above it.  Only the last lines of the block are
    read otherwise: two or more of them there are the body of a mail that lacks its blank
    line.  The raw mail is stored as it came; what was dropped is named in ``warnings``.
    """
    head, separated = _header_block(raw)
    lines = _LINE_END.split(head)
    # An mbox "From sender date" line, which the parser reads itself (not "From : x").
    start = 1 if lines and lines[0].startswith(b"From ") and not _SPACED_NAME.match(lines[0]) else 0
    kinds = [_line_kind(line) for line in lines[start:]]
    if all(kind in ("field", "continued") for kind in kinds):
        return raw
    out = lines[:start]
    seen_field = False
    index = start
    while index < len(lines):
        line, kind = lines[index], kinds[index - start]
        if kind == "field":
            out.append(line)
            seen_field = True
        elif kind == "spaced":
            out.append(_SPACED_NAME.sub(rb"\1:", line, count=1))
            seen_field = True
        elif not seen_field or kind == "junk":
            warnings.append(f"junk header line dropped: {line[:200]!r}")
        elif kind == "continued":
            out.append(line)
        else:  # text: an unindented continuation, or the start of the body
            trailing = all(k in ("text", "continued") for k in kinds[index - start :])
            run = len(lines) - index
            if trailing and (run > 1 or not separated):
                warnings.append("no blank line after the headers: the body starts at its first text line")
                out.append(b"")
                out.extend(lines[index:])
                break
            warnings.append("unindented header continuation line joined to the field above")
            out.append(b" " + line.lstrip())
        index += 1
    line_end = b"\r\n" if b"\r\n" in head else b"\n"
    return line_end.join(out) + raw[len(head) :]


def _line_kind(line: bytes) -> str:
    """What a line of a header block is: field, continued, spaced (``Name : v``), junk, text."""
    if _HEADER_LINE.match(line):
        return "field"
    if line[:1] in (b" ", b"\t"):
        return "continued"
    if _SPACED_NAME.match(line):
        return "spaced"
    if _JUNK_FIELD.match(line) or not any(chr(b).isalnum() for b in line if b < 0x80):
        return "junk"
    return "text"


def _header_charset(head: bytes, body_charset: str | None) -> str | None:
    """The charset of raw 8-bit bytes in the header block ``head``.

    Old mailers write headers unencoded in their own charset: the body's declared charset
    or an encoded word's when it reads the block as text, else one detected over all of the
    block's 8-bit lines together (one field alone is too short to guess from).  ``None`` when the block is
    ASCII or UTF-8, which need no hint.
    """
    if head.isascii():
        return body_charset
    try:
        head.decode("utf-8")
        return body_charset
    except UnicodeDecodeError:
        pass
    # The body's and the encoded words' charsets first: one field alone is too short to
    # guess from, and a detector reads a KOI8-R subject as Japanese.
    hints = [body_charset] if body_charset else []
    hints += charsets.charsets_in_header(head)
    eight_bit = b"\n".join(line for line in _LINE_END.split(head) if not line.isascii())
    return charsets.guess(eight_bit, hints)[1]


class _Reader:
    """Reads header values from the modern parse, falling back to compat32 per value.

    A header block the ``email`` package cannot read is repaired first (see
    :func:`_repair_header_block`); raw 8-bit header bytes are read in one charset chosen for
    the whole block (:func:`_header_charset`), since a single field is too short to guess from.
    """

    def __init__(self, raw: bytes, warnings: list[str]) -> None:
        self.warnings = warnings
        # The repaired bytes, for the MIME walk too (the stored raw mail stays as it came).
        self.raw = raw = boundaries.unique_nested(_repair_header_block(raw, warnings), warnings)
        self.compat = email.message_from_bytes(raw, policy=policy.compat32)
        try:
            self.modern: Message | None = email.message_from_bytes(raw, policy=policy.default)
        except Exception as exc:  # the modern parser gave up on the whole message
            warnings.append(f"modern parser failed: {exc!r}")
            self.modern = None
        try:
            body_hint = next((c for part in self.compat.walk() if (c := _charset(part))), None)
        except Exception:
            body_hint = None
        self.hint = _header_charset(_header_block(raw)[0], body_hint)

    def header(self, name: str) -> str:
        """The decoded value of ``name`` on one line (empty when missing)."""
        if self.modern is not None:
            try:
                value = self.modern.get(name)
                if value is None:
                    return ""
                text = str(value)
                # U+FFFD stands for raw 8-bit bytes the modern parser could not read, and an
                # encoded word left as it came for one its codec refused (ISO-2022-JP with
                # NEC's ①): the compat32 reading below still has them.
                if "\ufffd" not in text and not _ENCODED_WORD.search(text):
                    return " ".join(text.split())[:MAX_HEADER]
            except Exception as exc:
                self.warnings.append(f"header {name}: {exc!r}")
        value = self.compat.get(name)
        if value is None:
            return ""
        return " ".join(_decode_header_value(value, self.hint).split())[:MAX_HEADER]

    def raw_header(self, name: str) -> str:
        """The undecoded value of ``name`` on one line (empty when missing)."""
        value = self.compat.get(name)
        return " ".join(str(value).split())[:MAX_HEADER] if value is not None else ""

    def address_header(self, name: str) -> str:
        """Every ``name`` field, undecoded (encoded words as they came), unfolded, joined.

        Address lists are split on this text, before any display name is decoded: an
        encoded word can hold ``<`` and ``@`` but is never more than a name.  Raw 8-bit bytes
        are text already (RFC 6532), so they are read here with the block's charset.
        """
        values: list[str] = []
        for field_name, value in self.compat.raw_items():
            if field_name.lower() != name.lower():
                continue
            data = str(value).encode("utf-8", "surrogateescape")
            text = data.decode("ascii") if data.isascii() else _decode_8bit(data, self.hint)
            values.append(_FOLD.sub("", text))
        return ", ".join(values)[:_MAX_ADDRESS_HEADER]


_FOLD = re.compile(r"\r\n|\r|\n")
_MAX_ADDRESS_HEADER = 64_000  # a To with hundreds of recipients, not a whole mail
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_TRAILING_DOT = re.compile(r"\.+$")


def _mailboxes(value: str) -> list[tuple[str, str]]:
    """``(name, address)`` of each mailbox in the undecoded address list ``value``.

    Encoded words are set aside before the list is split, so that what they decode to can
    only ever be a name; then names (a phrase or an ``addr (Name)`` comment, group names
    dropped) are decoded and put on one line.  Addresses are lower-cased (compared
    case-insensitively everywhere; an IDN domain in its ASCII form, so ``bücher.example``
    and ``xn--bcher-kva.example`` are one customer and answers can be sent) and lose a trailing dot of
    the domain (``bob@example.org.`` is the same address).  Entries without an address
    (an empty group, a stray comma) are dropped.
    """
    words: dict[str, str] = {}
    nonce = secrets.token_hex(4)

    def hide(match: re.Match[str]) -> str:
        token = f"tfew{nonce}x{len(words)}z"
        words[token] = match.group(0)
        return token

    def restore(text: str) -> str:
        for token, word in words.items():
            text = text.replace(token, word)
        return text

    result: list[tuple[str, str]] = []
    for name, addr in getaddresses([_ENCODED_WORD.sub(hide, value)]):
        address = "".join(restore(addr).split()).lower()
        local, at, domain = address.rpartition("@")
        if at:
            address = f"{local}@{_ascii_domain(_TRAILING_DOT.sub('', domain))}"
        if not address or address in ("<>", "@"):
            continue
        decoded = _decode_name(restore(name)) if name else ""
        result.append((" ".join(decoded.split())[:MAX_HEADER], address[:MAX_HEADER]))
    return result


def _ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (punycode) form; anything else as it is."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDN: kept as written, still the same each time
        return domain


def _decode_name(name: str) -> str:
    """A display name with its encoded words decoded.

    RFC 2047 drops the space between two encoded words; that joins what a mailer split
    into words of one charset, but names written as words of different charsets
    (``=?windows-1252?q?Hans?= =?iso-8859-15?q?Sch=F6nland?=``) keep their space, as the
    stdlib's own phrase reading and mail clients show them.
    """
    out: list[str] = []
    previous: str | None = None  # the charset of the encoded word just before
    position = 0
    for match in _ENCODED_WORD.finditer(name):
        between = name[position : match.start()]
        charset = match.group(0)[2:].split("?", 1)[0].split("*", 1)[0].lower()
        if between and not (between.isspace() and previous == charset):
            out.append(between)
        out.append(_decode_header_value(match.group(0)))
        previous, position = charset, match.end()
    out.append(name[position:])
    return "".join(out)


def _addresses(value: str) -> list[str]:
    """The addresses (with an ``@``) of the undecoded address list ``value``."""
    return [addr for _, addr in _mailboxes(value) if "@" in addr]


def _sender(reader: _Reader, envelope_from: str) -> tuple[str, str, str]:
    """``(name, address, source)`` of the sender: From, else Sender, Reply-To, the envelope.

    Of several From addresses the first that is one (has an ``@``) counts.  The envelope
    sender is the SMTP MAIL FROM when the caller knows it, else the Return-Path the
    delivering MTA wrote; the null sender ``<>`` names nobody.
    """
    candidates = [
        ("from", reader.address_header("From")),
        ("sender", reader.address_header("Sender")),
        ("reply-to", reader.address_header("Reply-To")),
        ("envelope", envelope_from.strip() or reader.address_header("Return-Path")),
    ]
    for source, value in candidates:
        for name, addr in _mailboxes(value):
            if "@" in addr:
                return name, addr, source
    return "", "", ""


def _raw_header(part: Message, name: str) -> bytes | None:
    """The header ``name`` of ``part`` as it came: unfolded bytes, raw 8-bit bytes included.

    compat32 turns a value holding raw 8-bit bytes into a ``Header`` object, which neither
    ``str`` methods nor ``get_param`` read reliably; the bytes themselves can be decoded.
    """
    for key, value in part.raw_items():
        if key.lower() == name:
            data = str(value).encode("utf-8", "surrogateescape")
            return _UNFOLD.sub(b"", data).strip()
    return None


def _header_text(part: Message, name: str, hint: str | None) -> str:
    """A structured header of a part (Content-Type, Content-Disposition …) as text."""
    data = _raw_header(part, name)
    if data is None:
        return ""
    return data.decode("ascii") if data.isascii() else _decode_name_bytes(data, hint)


def _decode_name_bytes(data: bytes, hint: str | None, declared: str | None = None) -> str:
    """Bytes of a file name: the declared charset, UTF-8, the mail's, else the likeliest legacy one.

    ``declared`` is an RFC 2231 charset; raw 8-bit bytes have none, and ``hint`` is the
    charset of the mail's text.  A file name is too short for statistical detection
    (charset-normalizer reads a German name as Korean), so the legacy charsets mailers write
    are tried and the reading that gives letters of one script, cased like words, wins.
    """
    candidates = [declared] if declared else []
    if b"\x1b$" in data:  # 7-bit ISO-2022-JP is valid ASCII, but its escapes are no name
        candidates.append("iso-2022-jp")  # with its extensions (NEC's ①: see charsets)
    for charset in candidates:
        text = charsets.decode_declared(data, charset)
        if text is not None:
            return text
    if b"\x1b$" in data:  # a designation no reading knows: U+FFFD just for that character
        return data.decode("iso2022_jp_2", "replace")
    for fallback in ("utf-8", hint):
        if not fallback:
            continue
        try:
            return data.decode(fallback)
        except (LookupError, ValueError):
            pass
    best, best_score = data.decode("cp1252", "replace"), float("-inf")
    for charset in _LEGACY_CHARSETS:
        try:
            text = data.decode(charset)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text, data, charset)
        if score > best_score:
            best, best_score = text, score
    return best


_LEGACY_CHARSETS = (
    *("cp1252", "cp1251", "cp1250", "koi8_r", "cp1253"),
    *("gb18030", "shift_jis", "big5", "euc_kr"),
)


def _plausibility(text: str, data: bytes, charset: str) -> float:
    """How much ``text`` looks like a name a person wrote (higher is likelier)."""
    scripts: dict[str, int] = {}
    penalty = 0
    previous = ""
    for char in text:
        if char.isascii():
            previous = char
            continue
        weight = len(char.encode(charset, "replace"))
        category = unicodedata.category(char)
        if category.startswith("L"):
            script = unicodedata.name(char, "?").split(" ")[0]
            scripts[script] = scripts.get(script, 0) + weight
            if char.isupper() and previous.islower():
                penalty += 1  # "ОТчЁт": a reading of the wrong Cyrillic table
        elif not category.startswith(("P", "Z", "Sc")):
            penalty += 2 * weight  # box drawing, controls, unassigned: not a file name
        previous = char
    main = max(scripts.values(), default=0)
    # A multibyte reading that swallowed ASCII letters as second bytes ("Üb" as one CJK
    # character) is the usual false reading of a short Latin name.
    swallowed = sum(1 for byte in data if byte < 0x80) - sum(1 for char in text if char.isascii())
    return main - 2 * (sum(scripts.values()) - main) - penalty - 2 * swallowed


def _filename(part: Message, hint: str | None) -> str | None:
    """The file name the sender gave, from any form mailers write it in, or ``None``.

    Raw 8-bit bytes (decoded with the mail's or a detected charset), RFC 2231 (with
    continuations, charset and language) and RFC 2047 encoded words, in Content-Disposition
    ``filename`` or else Content-Type ``name``.
    """
    probe = Message()  # the two headers decoded to plain text, for compat32's parameter parser
    for header in ("content-disposition", "content-type"):
        text = _header_text(part, header, hint)
        if text:
            probe[header] = text
    value: Any = None
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = probe.get_param(param, None, header)
        if value is not None:
            break
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, the bytes as latin-1 text)
        charset, _language, text = value
        try:
            name = _decode_name_bytes(str(text).encode("latin-1"), hint, str(charset or "") or None)
        except UnicodeEncodeError:  # letters written unencoded into an RFC 2231 value
            name = str(text)
    else:
        name = str(value)
    if "=?" in name:
        name = _decode_header_value(name, hint)
    # A blank name (name="" or name=" ", as some mailers write for inline text) is no name:
    # the part is then body text, or named from its type like any unnamed part.
    return _clean_name(name) or None


def _clean_name(name: str) -> str:
    """``name`` safe for a Content-Disposition and a disk, at most 255 characters.

    Path separators and control characters become ``_``; a long name is cut in its stem so
    the extension, which decides how the file opens, survives.
    """
    text = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", name).strip()
    if len(text) <= 255:
        return text
    stem, dot, extension = text.rpartition(".")
    if dot and 0 < len(extension) <= 16:
        return f"{stem[: 254 - len(extension)]}.{extension}"
    return text[:255]


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    try:
        payload = part.get_payload()
    except Exception:  # compat32 decodes with the charset parameter here, which may be junk
        payload = part.__dict__.get("_payload")  # the undecoded text; there is no public way
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    if isinstance(payload, list):  # message/*: an attached mail, or the blocks of a DSN
        return b"".join(_message_bytes(inner) for inner in payload if isinstance(inner, Message))
    return b""


def _content(part: Message, warnings: list[str]) -> bytes:
    """The decoded bytes of a leaf part.

    Base64 whose length no decoder can make sense of (a mail cut off in transit, a broken
    gateway) comes back from ``email`` as its encoded text, which is not the sender's file:
    it is decoded as far as it goes, as mail clients do, and the damage is noted.  The
    damage is in the mail itself (reading it again cannot repair it), so it does not fail
    the mail; the raw mail keeps the bytes as they came.
    """
    data = _payload_bytes(part)
    if not any(isinstance(defect, errors.InvalidBase64LengthDefect) for defect in part.defects):
        return data
    alphabet = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    warnings.append(f"{part.get_content_type()}: base64 truncated or corrupt, kept as far as it decodes")
    return binascii.a2b_base64(alphabet[: len(alphabet) // 4 * 4])


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


class _LeafMessage(Message):
    """A compat32 message that leaves attached mails unparsed, so their bytes stay as they came.

    The feed parser descends into every ``message/*`` part it is told has that main type;
    this one says ``application`` for them (the content type itself is unchanged), so the
    part keeps the exact bytes of the attached mail as its payload.  ``message/delivery-
    status`` is read by the parser before it asks, and stays a list of header blocks.
    """

    def get_content_maintype(self) -> str:
        maintype = super().get_content_maintype()
        return "application" if maintype == "message" else maintype


def _leaves(message: Message) -> Iterator[Message]:
    """The parts of ``message`` that hold content; an attached mail (message/rfc822) is one."""
    # is_multipart(), not get_payload(): compat32 decodes a leaf's text with its charset
    # parameter there and raises on an RFC 2231 or NUL-holding one.
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _leaves(part)
    else:
        yield message


def _walk(raw: bytes, parsed: ParsedMail, texts: list[str], htmls: list[str], hint: str | None) -> None:
    """Every leaf part of ``raw`` into the body texts or the attachments.

    A part that cannot be read is recorded in ``parsed.lost_parts`` and the walk goes on,
    so one bad part costs neither the others nor the body.
    """
    message = email.message_from_bytes(raw, _class=_LeafMessage, policy=policy.compat32)
    leaves = list(_leaves(message))
    # A part without a (usable) charset is most likely in one its siblings or the headers
    # declare: those are tried before any statistical guess.
    hints = [c for part in leaves if (c := _charset(part))]
    hints += charsets.charsets_in_header(_header_block(raw)[0])
    hints += [hint] if hint else []
    for number, part in enumerate(leaves, start=1):
        try:
            _read_part(part, parsed, texts, htmls, hint, hints=hints)
        except Exception as exc:  # the mail is kept raw; the pipeline refuses to call it processed
            try:
                kind = part.get_content_type()
            except Exception:
                kind = "unknown type"
            parsed.lost_parts.append(f"part {number} ({kind}): {exc!r}")


def _read_part(
    part: Message,
    parsed: ParsedMail,
    texts: list[str],
    htmls: list[str],
    hint: str | None,
    *,
    hints: Sequence[str] = (),
) -> None:
    """One leaf part: body text (plain or HTML), or an attachment (plus a TNEF's files)."""
    content_type = (part.get_content_type() or "text/plain").lower()
    if content_type.startswith("multipart/"):
        # A multipart without a usable boundary could not be split: show its text.
        parsed.warnings.append(f"{content_type} without a usable boundary, kept as text")
        texts.append(decode_bytes(_payload_bytes(part), _charset(part), hints))
        return
    disposition = _header_text(part, "content-disposition", hint).split(";")[0].strip().lower()
    filename = _filename(part, hint)
    content_id = _header_text(part, "content-id", hint).strip().strip("<>")[:900] or None
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        text = decode_bytes(_content(part, parsed.warnings), _charset(part), hints)
        if content_type == "text/plain":
            text, uufiles = uuencode.extract(text)
            for found in uufiles:
                name = _clean_name(found.filename) or _default_name("application/octet-stream", b"", hint)
                parsed.attachments.append(ParsedAttachment(name, _type_of_name(name), found.data))
        (htmls if content_type == "text/html" else texts).append(text)
        return
    data = _content(part, parsed.warnings)
    if content_type in ("message/delivery-status", "text/rfc822-headers"):
        texts.append(decode_bytes(data, _charset(part), hints))
    parsed.attachments.append(
        ParsedAttachment(
            filename=filename or _default_name(content_type, data, hint),
            content_type=content_type,
            data=data,
            is_inline=disposition == "inline" or (content_id is not None and disposition != "attachment"),
            content_id=content_id,
        )
    )
    if tnef.is_tnef(content_type, filename):
        try:
            files = tnef.unpack(data)
        except ValueError as exc:  # the original winmail.dat is kept above: nothing is lost
            parsed.warnings.append(f"{filename or 'winmail.dat'}: {exc}")
            return
        for packed in files:
            name = _clean_name(packed.filename) or _default_name("application/octet-stream", b"", hint)
            parsed.attachments.append(ParsedAttachment(name, _type_of_name(name), packed.data))


# Content types without an extension in Python's own table (the system's table differs
# from machine to machine, so it is not read) or with a misleading one.
_EXTENSIONS = {
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pgp-keys": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/x-zip-compressed": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.ms-outlook": ".msg",
    "application/ics": ".ics",
    "text/calendar": ".ics",
    "text/vcard": ".vcf",
    "text/x-vcard": ".vcf",
    "text/markdown": ".md",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/heic": ".heic",
    "image/webp": ".webp",
    "message/global": ".eml",
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "message/rfc822-headers": ".txt",
}
# Parts whose kind says more than "attachment" does.
_STEMS = {
    "message/delivery-status": "delivery-status",
    "message/global-delivery-status": "delivery-status",
    "message/disposition-notification": "disposition-notification",
    "text/rfc822-headers": "rfc822-headers",
    "message/rfc822-headers": "rfc822-headers",
    "application/pgp-signature": "signature",
    "application/pkcs7-signature": "smime",
    "application/x-pkcs7-signature": "smime",
    "text/calendar": "invite",
}
_MIME_TYPES = mimetypes.MimeTypes()  # Python's table only: the same names on every machine


def _default_name(content_type: str, data: bytes, hint: str | None) -> str:
    """A name for a part the sender did not name, with an extension that opens it.

    An attached mail is named after its own subject (``<subject>.eml``), as mail clients
    save it.
    """
    extension = _EXTENSIONS.get(content_type) or _MIME_TYPES.guess_extension(content_type, strict=False)
    if extension is None:
        extension = ".txt" if content_type.startswith("text/") else ".bin"
    if content_type in ("message/rfc822", "message/global"):
        subject = _subject_of(data, hint)
        if subject:
            return _clean_name(re.sub(r'[:*?"<>|]+', "_", subject).strip(" .") + extension)
        return f"message{extension}"
    return f"{_STEMS.get(content_type, 'attachment')}{extension}"


def _subject_of(data: bytes, hint: str | None) -> str:
    """The decoded subject of the mail in ``data`` (an attached mail), or ``""``."""
    try:
        # Repaired as the mail's own header block is: an unindented continuation line (a
        # bounced mail's Received fields) would otherwise end the block before the Subject.
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(_repair_header_block(data, []))
        value = headers.get("Subject")
    except Exception:
        return ""
    return " ".join(_decode_header_value(value, hint).split())[:200] if value is not None else ""


def _type_of_name(filename: str) -> str:
    """The content type a file name stands for (for files unpacked from a container)."""
    guessed, _encoding = _MIME_TYPES.guess_type(filename, strict=False)
    if guessed is None:
        extension = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
        guessed = next((kind for kind, ext in _EXTENSIONS.items() if ext == extension), None)
    return guessed or "application/octet-stream"


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


def parse_mail(raw: bytes, *, envelope_from: str = "") -> ParsedMail:
    """Parse ``raw``; never raises for malformed input (problems go to ``warnings``).

    ``envelope_from`` is the SMTP envelope sender (MAIL FROM) when known: the last
    fallback for the sender, after From, Sender and Reply-To.
    """
    parsed = ParsedMail()
    reader = _Reader(raw, parsed.warnings)
    raw = reader.raw  # with a readable header block
    parsed.subject = reader.header("Subject")
    parsed.from_name, parsed.from_addr, parsed.sender_source = _sender(reader, envelope_from)
    parsed.to = _addresses(reader.address_header("To"))
    parsed.cc = _addresses(reader.address_header("Cc"))
    parsed.reply_to = next(iter(_addresses(reader.address_header("Reply-To"))), "")
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
        _walk(raw, parsed, texts, htmls, reader.hint)
    except Exception as exc:  # a structure the walker cannot follow: keep the raw text
        parsed.warnings.append(f"body: {exc!r}")
        parsed.lost_parts.append(f"the MIME structure: {exc!r}")
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
    parsed.lost_parts = [scrub(p) for p in parsed.lost_parts]
    for attachment in parsed.attachments:
        attachment.filename = scrub(attachment.filename)
        attachment.content_type = scrub(attachment.content_type)
        if attachment.content_id is not None:
            attachment.content_id = scrub(attachment.content_id)
