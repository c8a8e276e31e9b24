"""What text every layer can store: valid Unicode without NUL characters.

PostgreSQL refuses NUL in text columns, and a lone surrogate (``"\\ud800"``, which JSON
escapes and ``surrogateescape`` decoding can produce) cannot be encoded as UTF-8 at all:
either would fail deep inside a flush as a server error.  Input from people and programs
(forms, the API) is refused with a field error (:func:`text_problem`); text derived from
mail, which nobody can be asked to send again, is repaired (:func:`scrub`) while the raw
mail is kept as it came.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or ``None`` when it can."""
    found = _BAD.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    return "must be valid Unicode (no lone surrogates)"


def scrub(value: str) -> str:
    """``value`` with every NUL and lone surrogate replaced by U+FFFD."""
    return _BAD.sub(REPLACEMENT, value)
