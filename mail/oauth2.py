"""OAuth2 for mailboxes: access tokens from a refresh token, and the XOAUTH2 SASL string.

Microsoft 365 and Google accept IMAP and SMTP logins only with OAuth2.  A mailbox keeps a
refresh token (encrypted, :mod:`mail.secrets`); before each login an access token is
obtained with the refresh-token grant (RFC 6749, section 6) from the mailbox's token
endpoint and kept in this process until shortly before it expires.  A provider that
rotates refresh tokens (Microsoft does) returns a new one with the access token: it
replaces the stored one, since the old one stops working.  A refused refresh raises
:class:`OAuth2Refused` with the provider's error, which the mailbox shows as its last error.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.errors import TicketflowError
from mail.models import MailAccount

# An access token is used no later than this many seconds before its stated expiry, so a
# login never presents one that expires on the way.
EXPIRY_MARGIN = 60
TIMEOUT = 30


class OAuth2Refused(TicketflowError):
    """The token endpoint gave no access token (a revoked refresh token, a wrong client)."""

    code = "oauth2_refused"
    http_status = 502


@dataclass(frozen=True)
class Credentials:
    """What the refresh-token grant needs, decrypted."""

    token_url: str
    client_id: str
    client_secret: str
    refresh_token: str
    scope: str

    def fingerprint(self) -> str:
        """Identifies these credentials in the cache without keeping them in the key."""
        joined = "\0".join((self.token_url, self.client_id, self.refresh_token, self.scope))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Cached:
    access_token: str
    valid_until: float  # time.monotonic()


_cache: dict[tuple[int, str], _Cached] = {}
_lock = threading.Lock()


def credentials_of(account: MailAccount) -> Credentials:
    """The account's OAuth2 settings, decrypted (:class:`mail.secrets.SecretUnreadable`)."""
    return Credentials(
        token_url=account.oauth2_token_url,
        client_id=account.oauth2_client_id,
        client_secret=account.oauth2_client_secret,
        refresh_token=account.oauth2_refresh_token,
        scope=account.oauth2_scope,
    )


def xoauth2_string(username: str, access_token: str) -> str:
    """The XOAUTH2 initial client response (before base64), as Google and Microsoft define it."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01"


def access_token(session: Session, account: MailAccount) -> str:
    """A valid access token for ``account``, from the cache or the token endpoint.

    A refresh token the endpoint rotated is written to ``account`` (the caller commits).
    """
    credentials = credentials_of(account)
    key = (account.id, credentials.fingerprint())
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.valid_until > time.monotonic():
            return cached.access_token
    token, expires_in, new_refresh_token = refresh(credentials)
    if new_refresh_token and new_refresh_token != credentials.refresh_token:
        account.oauth2_refresh_token = new_refresh_token
        session.flush()
        key = (account.id, credentials_of(account).fingerprint())
    with _lock:
        _cache[key] = _Cached(token, time.monotonic() + max(expires_in - EXPIRY_MARGIN, 0))
    return token


def forget(account_id: int) -> None:
    """Drop the cached access tokens of one mailbox (its settings changed, or a login failed)."""
    with _lock:
        for key in [k for k in _cache if k[0] == account_id]:
            del _cache[key]


def forget_all() -> None:
    """Drop every cached access token (a relay refused one; which mailbox's is not known)."""
    with _lock:
        _cache.clear()


def refresh(credentials: Credentials) -> tuple[str, int, str | None]:
    """The refresh-token grant: (access token, seconds it is valid, a rotated refresh token)."""
    if not credentials.token_url or not credentials.refresh_token:
        raise OAuth2Refused("the mailbox has no token endpoint or no refresh token")
    fields = {
        "grant_type": "refresh_token",
        "refresh_token": credentials.refresh_token,
        "client_id": credentials.client_id,
    }
    if credentials.client_secret:
        fields["client_secret"] = credentials.client_secret
    if credentials.scope:
        fields["scope"] = credentials.scope
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked when the mailbox is saved)
        credentials.token_url,
        data=urllib.parse.urlencode(fields).encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        raise OAuth2Refused(f"the token endpoint refused the refresh token: {_reason(exc)}") from None
    except (OSError, ValueError) as exc:
        raise OAuth2Refused(f"the token endpoint cannot be reached: {exc}") from None
    try:
        answer = json.loads(body)
        token = answer["access_token"]
        expires_in = int(answer.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError):
        raise OAuth2Refused("the token endpoint answered without an access token") from None
    if not isinstance(token, str) or not token:
        raise OAuth2Refused("the token endpoint answered without an access token")
    rotated = answer.get("refresh_token")
    return token, expires_in, rotated if isinstance(rotated, str) and rotated else None


def _reason(exc: urllib.error.HTTPError) -> str:
    """``HTTP 400 invalid_grant: <description>`` from an OAuth2 error response."""
    text = f"HTTP {exc.code}"
    try:
        answer = json.loads(exc.read(100_000))
    except (ValueError, OSError):
        return text
    if isinstance(answer, dict):
        error = str(answer.get("error", ""))[:200]
        description = str(answer.get("error_description", ""))[:500]
        text += f" {error}" + (f": {description}" if description else "")
    return text
