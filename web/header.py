"""What the header of every page asks, in one statement per request.

The header shows the signed-in agent's availability and the unread notifications; the owner
picker marks the agents who are away.  Each was a statement of its own, issued from the
templates; :func:`facts` answers all three from one (``desk.team.service.availabilities``
with the unread COUNT as a scalar subquery), the first time a template asks.  A view that
will show agents in a picker names them first (:func:`will_show_agents`), so their status
comes with it; agents it did not name are asked for separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import g

from desk.agent.models import Agent
from desk.notifications import service as notifications
from desk.team import service as teams
from web.db import get_db

_FACTS_KEY = "ticketflow_header_facts"
_AGENTS_KEY = "ticketflow_header_agents"


@dataclass(frozen=True)
class HeaderFacts:
    """The answers, for the agent signed in during this request."""

    agent_id: int
    availability: dict[int, tuple[str, datetime | None]]
    unread: int


def will_show_agents(ids: Iterable[int]) -> None:
    """Ask the header's statement for these agents' availability too (call before rendering)."""
    wanted: set[int] = g.setdefault(_AGENTS_KEY, set())
    wanted.update(ids)


def facts(agent: Agent) -> HeaderFacts:
    """The header's answers for ``agent``, read once per request."""
    found: HeaderFacts | None = g.get(_FACTS_KEY)
    if found is None or found.agent_id != agent.id:
        ids = {agent.id, *g.get(_AGENTS_KEY, set())}
        availability, unread = teams.availabilities(
            get_db(), agent_ids=ids, also=notifications.unread_count_query(agent).scalar_subquery()
        )
        found = HeaderFacts(agent_id=agent.id, availability=availability, unread=int(unread or 0))
        setattr(g, _FACTS_KEY, found)
    return found


def away_ids(agent: Agent, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` are away now: from the header's statement when it covered them."""
    wanted = set(ids)
    known = facts(agent).availability
    if wanted <= known.keys():
        return {agent_id for agent_id in wanted if known[agent_id][0] == "away"}
    return teams.away_ids(get_db(), agent_ids=wanted)
