"""Files written uuencoded into a mail's text, as Lotus Notes and old mailers still send them.

Such a file is no MIME part: it sits in the body text between ``begin <mode> <name>`` and
``end``.  Left there, the customer's file is a page of gibberish in the article and no
attachment; so the blocks are cut out of the text and returned as files.  A block that does
not decode stays in the text as it came (nothing is lost either way).
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

_BLOCK = re.compile(
    r"^begin [0-7]{3,4} ([^\r\n]+?)[ \t]*\r?\n(.*?)^end[ \t]*(?:\r?\n|\Z)", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class UuFile:
    """A file found uuencoded in a text."""

    filename: str
    data: bytes


def _decode(lines: str) -> bytes:
    """The bytes of a block's lines; raises :class:`ValueError` for lines that are no uuencoding."""
    out = bytearray()
    for line in lines.splitlines():
        if not line or line in ("`", " "):  # the zero-length line before "end"
            continue
        data = line.encode("ascii")
        try:
            out += binascii.a2b_uu(data)
        except binascii.Error:
            # Some encoders pad lines past their length byte (the stdlib ``uu`` module's
            # workaround): only the bytes the length byte announces count.
            count = (((data[0] - 32) & 63) * 4 + 5) // 3
            out += binascii.a2b_uu(data[:count])
    return bytes(out)


def extract(text: str) -> tuple[str, list[UuFile]]:
    """``text`` without its uuencoded blocks, and the files they hold (in order)."""
    files: list[UuFile] = []

    def cut(match: re.Match[str]) -> str:
        try:
            data = _decode(match.group(2))
        except (ValueError, UnicodeEncodeError, IndexError):
            return match.group(0)
        files.append(UuFile(match.group(1).strip(), data))
        return ""

    if "begin " not in text:
        return text, []
    return _BLOCK.sub(cut, text), files
