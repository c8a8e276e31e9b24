"""What every API view shares: the token's actor, "load by id or 404", ETag / If-Match.

Authentication is ``Authorization: Bearer <token>`` only (tokens from ``ticketflow user
token LOGIN`` and ``ticketflow customer token EMAIL``, checked by
:func:`desk.agent.service.authenticate_token`); the API never reads the session cookie, so
CSRF does not apply to it.  A token belongs to an agent or to a customer user.  Customers
may list, read and open their own (and their company's) tickets (in customer-facing queues,
listed to them by ``GET /queues``), read their visible articles and attachments and write to
their tickets; every other endpoint calls
:func:`current_agent`, which answers 403 to a customer.  A ticket a customer may not see is
404 (never 403), so views load the ticket with :func:`readable_ticket` *before* they ask
for an agent.

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
from core.errors import NotFound, PermissionDenied
from desk.agent import service as agent_service
from desk.agent.models import Agent
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.ticket import service as ticket_service
from desk.ticket.models import Ticket
from web.api.errors import PreconditionFailed, Unauthorized
from web.api.language import ACTOR_KEY as _ACTOR_KEY
from web.api.schemas import MAX_ID
from web.db import get_db

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
    """``before_request`` of every resource: the bearer token's agent or customer, else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    actor = agent_service.authenticate_token(get_db(), token=token)
    if actor is None:
        raise Unauthorized("the API token is invalid, expired or revoked")
    setattr(g, _ACTOR_KEY, actor)


def current_actor() -> Agent | CustomerUser:
    """The agent or customer user the request's token belongs to."""
    return cast(Agent | CustomerUser, g.get(_ACTOR_KEY))


def current_agent() -> Agent:
    """The agent the request's token belongs to; a customer's token gets 403."""
    actor = current_actor()
    if not isinstance(actor, Agent):
        raise PermissionDenied("this endpoint is for agents; a customer token may not use it")
    return actor


def require_agent() -> None:
    """``before_request`` of the agent-only resources: 403 for a customer token."""
    current_agent()


def require_admin_token() -> None:
    """``before_request`` of the administration resources: 403 unless the token's agent
    administers the system, before any body is validated (the services check it again)."""
    permissions.require_admin(get_db(), current_agent())


def refuse_observer_writes() -> None:
    """``before_request`` of every resource: a read-only observer's write is 403 at once.

    Before the body is validated, so an observer learns that they may not write, not what
    is wrong with the body (the services refuse them too).
    """
    actor = current_actor()
    if request.method not in ("GET", "HEAD", "OPTIONS") and isinstance(actor, Agent) and actor.read_only:
        raise PermissionDenied(f"{actor.login} is a read-only observer and cannot change anything")


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
    """The ticket if the token's actor may read it (404 otherwise; 403 for an agent without
    the right, 404 for a customer who may not see it)."""
    if not 0 < ticket_id <= MAX_ID:
        raise NotFound("no such ticket")
    return ticket_service.get_ticket(db(), actor=current_actor(), ticket_id=ticket_id)


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
