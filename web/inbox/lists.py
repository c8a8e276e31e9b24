"""What the ticket lists (inbox, search) share: markers, the bulk bar, saved views.

Everything here is asked once per page, for the whole page: the unread markers in one
query for all the page's tickets, the bulk bar's choices in a few queries whatever the
number of rows, so the lists' statement counts do not grow with their length.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy.orm import Session

from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.permission import service as permissions
from desk.reading import service as reading
from desk.saved_view import service as saved_views
from desk.ticket import states as state_service
from desk.ticket.models import PENDING_TYPES


def list_context(
    session: Session,
    *,
    agent: Agent,
    ticket_ids: Collection[int],
    kind: str,
    agents: Sequence[Agent] | None = None,
) -> dict[str, Any]:
    """Template variables for a list of ``kind`` (``inbox`` or ``search``) showing ``ticket_ids``.

    ``agents``: every agent (``list_agents(with_roles=False)``), when the page has read them already.
    """
    context: dict[str, Any] = {
        "unread": reading.unread_ticket_ids(session, agent=agent, ticket_ids=ticket_ids),
        "saved_views": saved_views.list_views(session, agent=agent),
        "view_kind": kind,
        "bulk": None,
    }
    if agent.read_only or not ticket_ids:
        return context
    context["bulk"] = {
        "queues": [q for q in permissions.queues_with(session, agent, "move_into") if q.valid],
        # Pending states need a time each; they are set on the ticket page.
        "states": [
            s
            for s in state_service.list_states(session)
            if s.valid and s.type != "merged" and s.type not in PENDING_TYPES
        ],
        "owners": [
            a
            for a in (agents if agents is not None else agent_service.list_agents(session, with_roles=False))
            if a.active and not a.read_only
        ],
    }
    return context
