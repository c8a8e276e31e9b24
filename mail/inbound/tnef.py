"""The files inside a TNEF ``winmail.dat`` (Outlook's "rich text" attachment wrapper).

Outlook and Exchange send a mail's attachments packed into one ``application/ms-tnef``
part that no other program opens, so an agent would see only ``winmail.dat``.  The files
are unpacked with ``tnefparse``; the parser keeps the original part as well, so a TNEF
file this cannot read loses nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from tnefparse.tnef import TNEF  # type: ignore[import-untyped]

TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


@dataclass(frozen=True)
class TnefFile:
    """One file packed in a TNEF part: its name (as Outlook gave it) and its bytes."""

    filename: str
    data: bytes


def is_tnef(content_type: str, filename: str | None) -> bool:
    """Whether a part is TNEF: by type, or by the name Outlook gives it under any type."""
    return content_type in TNEF_TYPES or (filename or "").lower() == "winmail.dat"


def unpack(data: bytes) -> list[TnefFile]:
    """The files of a TNEF part; raises ``ValueError`` for bytes that are no TNEF."""
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:  # tnefparse indexes into the bytes: a truncated file raises anything
        raise ValueError(f"unreadable TNEF: {exc!r}") from exc
    files = []
    for attachment in tnef.attachments:
        content = attachment.data
        if not isinstance(content, bytes) or not content:
            continue  # rendering-only entries (an OLE placeholder) carry no file
        files.append(TnefFile(_name(attachment, tnef.codepage or "cp1252"), content))
    return files


def _name(attachment: Any, codepage: str) -> str:
    """The long file name if Outlook stored one, else the short (8.3) one.

    tnefparse reads the short name as UTF-8, but Outlook writes it in the codepage the TNEF
    stream declares (attOemCodepage): that one is used where UTF-8 fails.
    """
    candidates: list[Any] = [getattr(attachment, "_name", b"")]
    with contextlib.suppress(Exception):  # no long name, and the short one is not UTF-8
        candidates.insert(0, attachment.long_filename())
    for candidate in candidates:
        value = candidate
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = value.decode(codepage, "replace")
        if isinstance(value, str) and value.strip("\x00 "):
            return value.strip("\x00 ")
    return ""
