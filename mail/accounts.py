"""IMAP mailboxes: adding and listing them (administrators only), for the admin page and the CLI.

Secrets (the password, an OAuth2 client secret and refresh token) are encrypted by the model
(:mod:`mail.secrets`) as they are set, and no function here returns them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.permission.service import require_admin
from mail import oauth2
from mail.models import AUTH_METHODS, DEFAULT_OVERSIZE_FOLDER, MailAccount, MailboxEvent


def list_accounts(session: Session, *, actor: Actor) -> Sequence[MailAccount]:
    """Every mailbox, by name."""
    require_admin(session, actor)
    return session.scalars(select(MailAccount).order_by(MailAccount.name)).all()


def list_events(session: Session, *, actor: Actor, limit: int = 100) -> Sequence[MailboxEvent]:
    """What fetching set aside (oversize mails), newest first."""
    require_admin(session, actor)
    return session.scalars(
        select(MailboxEvent).order_by(MailboxEvent.created_at.desc(), MailboxEvent.id.desc()).limit(limit)
    ).all()


def _token_url_error(url: str) -> str | None:
    """Why ``url`` cannot be a token endpoint: https, or http only on this machine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and host:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return None
    # The refresh token and client secret travel in this request: never in the clear.
    return "enter the token endpoint's https:// address"


def _auth_errors(
    auth_method: str, password: str, token_url: str, client_id: str, refresh_token: str
) -> dict[str, list[str]]:
    """The field errors of the login settings."""
    errors: dict[str, list[str]] = {}
    if auth_method not in AUTH_METHODS:
        errors["auth_method"] = ["choose password or OAuth2"]
    elif auth_method == "password" and not password:
        errors["password"] = ["enter the password of the mailbox"]
    elif auth_method == "oauth2":
        url_error = _token_url_error(token_url)
        if url_error:
            errors["oauth2_token_url"] = [url_error]
        if not client_id:
            errors["oauth2_client_id"] = ["enter the client id of the app registration"]
        if not refresh_token:
            errors["oauth2_refresh_token"] = ["enter the refresh token the mailbox's consent gave"]
    return errors


def create_account(
    session: Session,
    *,
    actor: Actor,
    name: str,
    host: str,
    username: str,
    password: str = "",
    port: int = 993,
    use_ssl: bool = True,
    folder: str = "INBOX",
    processed_folder: str = "",
    oversize_folder: str = DEFAULT_OVERSIZE_FOLDER,
    auth_method: str = "password",
    oauth2_token_url: str = "",
    oauth2_client_id: str = "",
    oauth2_client_secret: str = "",
    oauth2_refresh_token: str = "",
    oauth2_scope: str = "",
) -> MailAccount:
    """Add a mailbox to fetch; its address (``username``) routes its mail to a queue."""
    require_admin(session, actor)
    name, host, username = name.strip(), host.strip(), username.strip()
    token_url, client_id = oauth2_token_url.strip(), oauth2_client_id.strip()
    refresh_token, scope = oauth2_refresh_token.strip(), " ".join(oauth2_scope.split())
    oversize_folder = oversize_folder.strip() or DEFAULT_OVERSIZE_FOLDER
    errors = _auth_errors(auth_method, password, token_url, client_id, refresh_token)
    if not name:
        errors["name"] = ["give the mailbox a name"]
    if not host or any(ch.isspace() for ch in host):
        errors["host"] = ["enter the IMAP server's host name"]
    if not username:
        errors["username"] = ["enter the login of the mailbox"]
    if not 1 <= port <= 65535:
        errors["port"] = ["a port is a number from 1 to 65535"]
    if not folder.strip():
        errors["folder"] = ["name the folder to fetch (usually INBOX)"]
    if oversize_folder in (folder.strip(), processed_folder.strip()):
        errors["oversize_folder"] = ["the oversize folder must differ from the fetched and processed folders"]
    if errors:
        raise ValidationError("invalid mailbox", errors=errors)
    if session.scalar(select(MailAccount.id).where(MailAccount.name == name)) is not None:
        raise Conflict(N_("a mailbox named %(name)r exists already"), name=name)
    account = MailAccount(
        name=name,
        host=host,
        port=port,
        use_ssl=use_ssl,
        username=username,
        auth_method=auth_method,
        folder=folder.strip(),
        processed_folder=processed_folder.strip(),
        oversize_folder=oversize_folder,
    )
    if auth_method == "password":
        account.password = password
    else:
        account.oauth2_token_url = token_url
        account.oauth2_client_id = client_id
        account.oauth2_client_secret = oauth2_client_secret.strip()
        account.oauth2_refresh_token = refresh_token
        account.oauth2_scope = scope
    session.add(account)
    session.flush()
    oauth2.forget(account.id)
    return account


def set_secrets(
    session: Session,
    *,
    actor: Actor,
    account_id: int,
    password: str = "",
    oauth2_client_secret: str = "",
    oauth2_refresh_token: str = "",
) -> MailAccount:
    """Enter a mailbox's secrets again (a changed secret key, a new consent, a new password).

    A password mailbox needs the password; an OAuth2 mailbox the refresh token, and its
    client secret is replaced when one is given.  The next fetch uses them.
    """
    require_admin(session, actor)
    # Ids are 32-bit in the database: a bigger one names no mailbox (and must not reach it).
    account = session.get(MailAccount, account_id) if 0 < account_id < 2**31 else None
    if account is None:
        raise NotFound("no such mailbox")
    errors: dict[str, list[str]] = {}
    if account.auth_method == "oauth2":
        if not oauth2_refresh_token.strip():
            errors["oauth2_refresh_token"] = ["enter the refresh token the mailbox's consent gave"]
    elif not password:
        errors["password"] = ["enter the password of the mailbox"]
    if errors:
        raise ValidationError("invalid secrets", errors=errors)
    if account.auth_method == "oauth2":
        account.oauth2_refresh_token = oauth2_refresh_token.strip()
        if oauth2_client_secret.strip():
            account.oauth2_client_secret = oauth2_client_secret.strip()
    else:
        account.password = password
    session.flush()
    oauth2.forget(account.id)
    return account
