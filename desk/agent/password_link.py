"""Set-password links: an administrator has one mailed to an agent, who chooses a password.

The token is random and shown only in the mail; the table keeps its SHA-256 hash.  A link
is valid for :data:`LIFETIME`, works once, and a newer link ends the older ones.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound, ValidationError
from core.security import hash_token, new_token
from desk.actor import Actor
from desk.agent import admin as agent_admin
from desk.agent import service as agents
from desk.agent.models import Agent, PasswordLink
from desk.audit import service as audit

LIFETIME = timedelta(hours=24)


def create_link(session: Session, *, actor: Actor, agent_id: int) -> tuple[Agent, str]:
    """A new link for the agent (administrators only); returns the agent and the token."""
    agent = agent_admin.get(session, actor=actor, agent_id=agent_id)
    if not agent.email:
        raise ValidationError("no address", errors={"email": ["the agent has no e-mail address"]})
    if not agent.active:
        raise ValidationError("inactive", errors={"active": ["the agent is inactive; reactivate them first"]})
    now = utcnow()
    # Only the newest link works: an older mail found later opens nothing.
    session.execute(
        update(PasswordLink)
        .where(PasswordLink.agent_id == agent.id, PasswordLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    token = new_token()
    expires = now + LIFETIME
    link = PasswordLink(token_hash=hash_token(token), agent_id=agent.id, expires_at=expires)
    link.created_at = now
    session.add(link)
    audit.record(
        session,
        actor=actor,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="password_link",
        new={"password_link": agent.email},
    )
    session.flush()
    return agent, token


def find_link(session: Session, *, token: str) -> PasswordLink | None:
    """The unused, unexpired link with ``token`` of an active agent, else None."""
    row = session.scalar(select(PasswordLink).where(PasswordLink.token_hash == hash_token(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.agent.active:
        return None
    return row


def use_link(session: Session, *, token: str, password: str) -> Agent:
    """Set the agent's password through the link, which then works no more."""
    row = find_link(session, token=token)
    if row is None:
        raise NotFound("this link is used, expired or unknown")
    agent = row.agent
    # The agent acts on their own account: set_password checks the length and ends sessions.
    agents.set_password(session, actor=agent, agent=agent, password=password)
    row.used_at = utcnow()
    audit.record(
        session,
        actor=agent,
        object_type="agent",
        object_id=agent.id,
        object_label=agent.login,
        action="set_password",
        new={"password": "chosen through the link"},
    )
    session.flush()
    return agent
