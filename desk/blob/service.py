"""Store and read blobs.  Storing the same bytes twice stores them once."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from core.errors import NotFound
from desk.blob.models import Blob


def store(session: Session, *, data: bytes) -> str:
    """Store ``data`` (idempotently) and return its SHA-256 hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    if session.get(Blob, digest) is None:
        session.add(Blob(sha256=digest, size=len(data), data=data))
        session.flush()
    return digest


def read(session: Session, *, sha256: str) -> bytes:
    """The bytes stored under ``sha256``."""
    blob = session.get(Blob, sha256)
    if blob is None:
        raise NotFound(f"no stored content {sha256}")
    return blob.data
