"""Password hashing (argon2) and API tokens (random, stored only as a SHA-256 hash)."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A valid hash of a random password: verifying against it when the login does not exist
    costs the same time as a real check, so response time does not reveal valid logins.

    Made on first use, not at import: an argon2 hash takes tens of milliseconds, and most
    processes that import this module (the pipe, the worker) never check a password.
    """
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; safe to call with ``None`` (unknown user)."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh API token, shown to the user once."""
    return "tf_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The form in which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()
