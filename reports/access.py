"""Who may read statistics: administrators, and agents with ``ro`` on the ``stats`` group."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from desk.actor import Actor
from desk.agent.models import Agent
from desk.permission import service as permissions

STATS_GROUP = "stats"


def may_read(session: Session, actor: Actor) -> bool:
    """True for administrators and for agents with ``ro`` on the stats group."""
    if permissions.is_admin(session, actor):
        return True
    if not isinstance(actor, Agent) or not actor.active:
        return False
    return "ro" in permissions.permissions_on_group_named(session, actor, STATS_GROUP)


def require_read(session: Session, actor: Actor) -> None:
    """Raise unless ``actor`` may read statistics."""
    if not may_read(session, actor):
        raise PermissionDenied("statistics need ro on the stats group")
