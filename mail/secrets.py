"""Mailbox secrets at rest: passwords, OAuth2 client secrets and refresh tokens.

Each secret is stored as ``fernet1:<token>``: Fernet (AES-128-CBC with an HMAC-SHA256) under
a key derived with HKDF-SHA256 from ``TICKETFLOW_SECRET_KEY``, so a copy of the database
(a backup, a dump handed to support) holds no usable mailbox password.  The key is never
stored; changing the secret key makes the stored secrets unreadable, which the mailbox
shows as its last error (enter the secrets again).  A value without the prefix is a
plaintext secret from before migration 0010; it is still read, and encrypted when written.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.config import get_settings
from core.errors import TicketflowError

PREFIX = "fernet1:"
# Binds the derived key to this use: the same secret key signs sessions (Flask) as well.
_INFO = b"ticketflow mailbox secrets v1"


class SecretUnreadable(TicketflowError):
    """A stored secret cannot be decrypted with the current secret key."""

    code = "secret_unreadable"
    http_status = 500


def derive_key(secret_key: str) -> bytes:
    """The Fernet key (urlsafe base64 of 32 bytes) for ``secret_key``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    return Fernet(derive_key(secret_key))


def _current() -> Fernet:
    return _fernet(get_settings().secret_key)


def encrypt(plaintext: str) -> str:
    """The stored form of ``plaintext``; an empty secret stays empty (nothing to hide)."""
    if not plaintext:
        return ""
    return PREFIX + _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(stored: str, *, what: str = "secret") -> str:
    """The plaintext of a stored secret; :class:`SecretUnreadable` when the key does not fit."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        return stored  # written before secrets were encrypted (see the module docstring)
    try:
        return _current().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretUnreadable(
            f"the stored {what} cannot be decrypted with this TICKETFLOW_SECRET_KEY "
            "(was the secret key changed?); enter it again on the mailboxes page (New secrets)"
        ) from None


def is_encrypted(stored: str) -> bool:
    """True when ``stored`` is empty or in the encrypted form."""
    return not stored or stored.startswith(PREFIX)
