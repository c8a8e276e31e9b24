"""The signed-in agent as Flask-Login sees it, and how a session finds it again.

The signed cookie stores ``"<session token>:<password fingerprint>"``.  The token names a
row of ``agent_session`` (by its hash), which every request checks: a revoked session
(sign-out, "sign out everywhere", a password change through the service), one idle for
longer than ``TICKETFLOW_SESSION_IDLE_MINUTES`` or older than ``TICKETFLOW_SESSION_MAX_HOURS``
opens nothing, so a copied cookie is worthless once its session has ended.  The fingerprint
changes with the password hash, so even a password set behind the services' back ends
every session; an agent who was deactivated is signed out on their next request.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import cast

import flask_login
from flask import abort, current_app

from core.config import Settings
from desk.agent import service as agent_service
from desk.agent.models import Agent, AgentSession
from web.db import get_db

# Tokens are ``tf_`` and 43 URL-safe characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 100


class AgentUser:
    """Wraps an :class:`Agent` and its session with the members Flask-Login expects."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, agent: Agent, agent_session: AgentSession, token: str) -> None:
        self.agent = agent
        self.agent_session = agent_session
        self._token = token
        # Copied now, so a page can show who is signed in even after the request's
        # session is gone (an error page after a failed commit).
        self.display_name = agent.full_name

    @property
    def is_active(self) -> bool:
        """Only active agents may be signed in."""
        return self.agent.active

    def get_id(self) -> str:
        """What the session cookie stores."""
        return f"{self._token}:{_fingerprint(self.agent)}"


def settings() -> Settings:
    """The settings of the current app (the session timeouts live there)."""
    return cast(Settings, current_app.extensions["ticketflow.settings"])


def load_user(user_id: str) -> AgentUser | None:
    """Flask-Login's user loader: the agent of a live session, or None to sign it out."""
    token, _, fingerprint = user_id.rpartition(":")
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    config = settings()
    db = get_db()
    row = agent_service.find_session(
        db, token=token, idle=config.session_idle, lifetime=config.session_lifetime
    )
    if row is None:
        return None
    agent = row.agent
    if not agent.active or not hmac.compare_digest(fingerprint, _fingerprint(agent)):
        agent_service.end_session(db, agent_session=row)
        return None
    return AgentUser(agent, row, token)


def current_agent() -> Agent:
    """The signed-in agent; call it in views protected by ``login_required``."""
    return current_user().agent


def current_user() -> AgentUser:
    """The signed-in agent with their session; call it in views protected by ``login_required``."""
    user = cast(object, flask_login.current_user._get_current_object())
    if not isinstance(user, AgentUser):
        abort(401)
    return user


def _fingerprint(agent: Agent) -> str:
    # A hash of the argon2 hash: it reveals nothing about the password (the cookie is
    # signed but readable) and changes whenever the password does.
    return hashlib.sha256((agent.password_hash or "").encode()).hexdigest()[:16]
