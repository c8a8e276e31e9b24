"""What every API view shares: the token's agent, "load by id or 404", ETag / If-Match.

Authentication is ``Authorization: Bearer <token>`` only (tokens from ``ticketflow user
token LOGIN``, checked by :func:`desk.agent.service.authenticate_token`); the API never
reads the session cookie, so CSRF does not apply to it.  Tokens belong to agents: the API
is for agents, and customers use the portal or mail.

Optimistic locking: a ticket's ``ETag`` is derived from ``Ticket.version``.  A PATCH or a
state-changing POST on a ticket that sends ``If-Match`` with an older ETag gets 412 and
changes nothing; without ``If-Match`` the change is made (last writer wins, as in the web
UI, while a concurrent flush still fails with 409).
"""

from __future__ import annotations

from typing import TypeVar, cast

from flask import g, request
from sqlalchemy.orm import Session

from core.db import Base
from core.errors import NotFound
from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.ticket import service as ticket_service
from desk.ticket.models import Ticket
from web.api.errors import PreconditionFailed, Unauthorized
from web.api.schemas import MAX_ID
from web.db import get_db

_AGENT_KEY = "ticketflow_api_agent"
T = TypeVar("T", bound=Base)

IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ticket's ETag; a stale one gets 412 and changes nothing",
}
ETAG_HEADER = {"ETag": {"description": "the ticket's version", "schema": {"type": "string"}}}


def authenticate() -> None:
    """``before_request`` of every resource: the bearer token's agent, else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    agent = agent_service.authenticate_token(get_db(), token=token)
    if agent is None:
        raise Unauthorized("the API token is invalid, expired or revoked")
    setattr(g, _AGENT_KEY, agent)


def current_agent() -> Agent:
    """The agent the request's token belongs to."""
    return cast(Agent, g.get(_AGENT_KEY))


def db() -> Session:
    """The request's session (committed by :mod:`web.db` when the response is below 400)."""
    return get_db()


def get_or_404(model: type[T], object_id: int, what: str) -> T:
    """Load a row by id, or raise :class:`NotFound` (ids beyond 32 bits cannot exist)."""
    found = db().get(model, object_id) if 0 < object_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no such {what}")
    return found


def readable_ticket(ticket_id: int) -> Ticket:
    """The ticket if the agent may read it (404 / 403 otherwise)."""
    if not 0 < ticket_id <= MAX_ID:
        raise NotFound("no such ticket")
    return ticket_service.get_ticket(db(), actor=current_agent(), ticket_id=ticket_id)


def etag_of(ticket: Ticket) -> str:
    """The strong ETag of a ticket's current version."""
    return f'"ticket-{ticket.id}-v{ticket.version}"'


def check_if_match(ticket: Ticket) -> None:
    """Raise 412 when ``If-Match`` is present and names no current version of ``ticket``."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" in wanted or etag_of(ticket) in wanted:
        return
    raise PreconditionFailed(
        f"ticket {ticket.number} changed since you read it (now {etag_of(ticket)}); reload it"
    )


def with_etag(ticket: Ticket, status: int = 200) -> tuple[Ticket, int, dict[str, str]]:
    """A view result that sends ``ticket`` with its (flushed, current) ETag."""
    db().flush()
    return ticket, status, {"ETag": etag_of(ticket)}
