"""The signed-in agent as Flask-Login sees it, and how a session finds it again.

The session stores ``"<agent id>:<password fingerprint>"``.  The fingerprint changes with
the password hash, so changing a password ends every other session of that agent; an agent
who was deactivated is signed out on their next request.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import cast

import flask_login
from flask import abort

from desk.agent.models import Agent
from web.db import get_db

# Agent ids are PostgreSQL integers; anything outside is not one of ours (and would make
# the database raise instead of simply finding nothing).
_MAX_ID = 2**31 - 1


class AgentUser:
    """Wraps an :class:`Agent` with the four members Flask-Login expects."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        # Copied now, so a page can show who is signed in even after the request's
        # session is gone (an error page after a failed commit).
        self.display_name = agent.full_name

    @property
    def is_active(self) -> bool:
        """Only active agents may be signed in."""
        return self.agent.active

    def get_id(self) -> str:
        """What the session cookie stores."""
        return f"{self.agent.id}:{_fingerprint(self.agent)}"


def load_user(user_id: str) -> AgentUser | None:
    """Flask-Login's user loader: the agent of a session, or None to sign it out."""
    raw_id, _, fingerprint = user_id.partition(":")
    try:
        agent_id = int(raw_id)
    except ValueError:
        return None
    if not 0 < agent_id <= _MAX_ID:
        return None
    agent = get_db().get(Agent, agent_id)
    if agent is None or not agent.active:
        return None
    if not hmac.compare_digest(fingerprint, _fingerprint(agent)):
        return None
    return AgentUser(agent)


def current_agent() -> Agent:
    """The signed-in agent; call it in views protected by ``login_required``."""
    user = cast(object, flask_login.current_user._get_current_object())
    if not isinstance(user, AgentUser):
        abort(401)
    return user.agent


def _fingerprint(agent: Agent) -> str:
    # A hash of the argon2 hash: it reveals nothing about the password (the cookie is
    # signed but readable) and changes whenever the password does.
    return hashlib.sha256((agent.password_hash or "").encode()).hexdigest()[:16]
