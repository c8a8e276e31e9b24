"""IMAP mailboxes: adding and listing them (administrators only), for the admin page and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, ValidationError
from desk.actor import Actor
from desk.permission.service import require_admin
from mail.models import MailAccount


def list_accounts(session: Session, *, actor: Actor) -> Sequence[MailAccount]:
    """Every mailbox, by name."""
    require_admin(session, actor)
    return session.scalars(select(MailAccount).order_by(MailAccount.name)).all()


def create_account(
    session: Session,
    *,
    actor: Actor,
    name: str,
    host: str,
    username: str,
    password: str,
    port: int = 993,
    use_ssl: bool = True,
    folder: str = "INBOX",
    processed_folder: str = "",
) -> MailAccount:
    """Add a mailbox to fetch; its address (``username``) routes its mail to a queue."""
    require_admin(session, actor)
    name, host, username = name.strip(), host.strip(), username.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["give the mailbox a name"]
    if not host or any(ch.isspace() for ch in host):
        errors["host"] = ["enter the IMAP server's host name"]
    if not username:
        errors["username"] = ["enter the login of the mailbox"]
    if not password:
        errors["password"] = ["enter the password of the mailbox"]
    if not 1 <= port <= 65535:
        errors["port"] = ["a port is a number from 1 to 65535"]
    if not folder.strip():
        errors["folder"] = ["name the folder to fetch (usually INBOX)"]
    if errors:
        raise ValidationError("invalid mailbox", errors=errors)
    if session.scalar(select(MailAccount.id).where(MailAccount.name == name)) is not None:
        raise Conflict(f"a mailbox named {name!r} exists already")
    account = MailAccount(
        name=name,
        host=host,
        port=port,
        use_ssl=use_ssl,
        username=username,
        password=password,
        folder=folder.strip(),
        processed_folder=processed_folder.strip(),
    )
    session.add(account)
    session.flush()
    return account
