"""Tickets: search, read, create (phone or web, with the first article), change, lock,
merge, link; their history and open tasks.

Each view calls the desk services, which check the permissions; a ticket the agent may
not read is 403 (404 when it does not exist).  Changes honour ``If-Match`` (see
:mod:`web.api.common`).

A customer token may search, read and open tickets (a web ticket for themself, in a queue
offered to customers) and nothing else here: every other view loads the ticket first (so a
ticket the customer may not see is 404) and then asks for an agent (403).  What a customer
reads is :class:`CustomerTicketSchema` (no agent logins, no lock, no internal queue); the
views customers may use document both shapes (``anyOf``) and serialize by token type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from flask import jsonify
from flask.typing import ResponseReturnValue

from core.errors import NotFound, PermissionDenied, ValidationError
from desk.agent.models import Agent
from desk.article.models import Article
from desk.customer.models import CustomerUser
from desk.history import service as history_service
from desk.history.models import History
from desk.queue.models import Queue
from desk.services import service as services
from desk.ticket import search, states
from desk.ticket import service as ticket_service
from desk.ticket.models import State, Ticket, TicketLink
from engine import inbox
from engine.models import HumanTask
from flows import forward as forward_flow
from flows import merge as merge_flow
from flows import state as state_flow
from flows import ticket_fields as fields
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from web.api import common
from web.api.common import (
    ETAG_HEADER,
    IF_MATCH_PARAMETER,
    current_actor,
    current_agent,
    db,
    etag_of,
    readable_ticket,
    with_etag,
)
from web.api.schemas import (
    MAX_ID,
    ArticleSchema,
    CustomerTicketSchema,
    ForwardSchema,
    HistorySchema,
    LinkOutSchema,
    LinkSchema,
    MergeSchema,
    SplitSchema,
    TaskSchema,
    TicketCreateSchema,
    TicketQuerySchema,
    TicketSchema,
    TicketUpdateSchema,
)
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("tickets", url_prefix="/api/v1/tickets", description="Tickets and what belongs to them")

TicketResult = tuple[Ticket, int, dict[str, str]]
M = TypeVar("M", Queue, Agent, CustomerUser)


def _ticket_either() -> dict[str, Any]:
    """The documented body of views that agents and customers share: one of the two shapes."""
    return {"anyOf": [TicketSchema, CustomerTicketSchema]}


def _ticket_schema(many: bool = False) -> TicketSchema | CustomerTicketSchema:
    """The schema for the token's actor: customers get the trimmed one."""
    if isinstance(current_actor(), CustomerUser):
        return CustomerTicketSchema(many=many)
    return TicketSchema(many=many)


def shown(ticket: Ticket, status: int = 200) -> ResponseReturnValue:
    """The ticket as the token's actor may see it, with its (flushed, current) ETag."""
    db().flush()
    return jsonify(_ticket_schema().dump(ticket)), status, {"ETag": etag_of(ticket)}


def referenced(model: type[M], object_id: int, field: str) -> M:
    """A row named in the request body; an unknown id is a field error (422)."""
    found = db().get(model, object_id) if 0 < object_id <= MAX_ID else None
    if found is None:
        raise ValidationError(
            "unknown reference", errors={field: [f"no {field.removesuffix('_id')} {object_id}"]}
        )
    return found


def state_named(name: str) -> State:
    """The state called ``name``; an unknown name is a field error."""
    try:
        return states.get_state(db(), name)
    except NotFound:
        raise ValidationError("unknown state", errors={"state": [f"no state named {name!r}"]}) from None


@bp.route("", methods=["GET"])
@bp.arguments(TicketQuerySchema, location="query")
@bp.response(200, {"type": "array", "items": _ticket_either()})
def list_tickets(args: dict[str, Any]) -> ResponseReturnValue:
    """Search the tickets the token's agent (or customer) may read, newest first.

    The same search as the search page (``desk.ticket.search``): ``words`` is full-text over
    the title and every article's subject and body, ``number`` part of the ticket number,
    ``customer`` part of the customer's address; every filter narrows the result.
    """
    criteria = search.SearchCriteria(
        number=args.get("number", ""),
        words=args.get("words", ""),
        customer_email=args.get("customer", ""),
        customer_user_id=args.get("customer_user_id"),
        title=args.get("title") or "",
        queue_ids=tuple(args.get("queue_id") or ()),
        state_types=tuple(args.get("state_type") or ()),
        created_from=args.get("created_from"),
        created_before=args.get("created_before"),
    )
    found = search.search_tickets(
        db(), actor=current_actor(), criteria=criteria, limit=args["limit"], offset=args["offset"]
    )
    return jsonify(_ticket_schema(many=True).dump(found))


def _links_from_new_ticket() -> dict[str, Any]:
    """OpenAPI links of a created ticket: what a client (and schemathesis' stateful runs) do next."""
    by_id = {"ticket_id": "$response.body#/id"}
    ref = "#/paths/~1api~1v1~1tickets~1{ticket_id}"
    return {
        "responses": {
            "201": {
                "links": {
                    "ReadTicket": {"operationRef": f"{ref}/get", "parameters": by_id},
                    "ListArticles": {"operationRef": f"{ref}~1articles/get", "parameters": by_id},
                    "WriteArticle": {"operationRef": f"{ref}~1articles/post", "parameters": by_id},
                    "ChangeTicket": {"operationRef": f"{ref}/patch", "parameters": by_id},
                }
            }
        }
    }


@bp.route("", methods=["POST"])
@bp.arguments(TicketCreateSchema)
@bp.response(201, _ticket_either(), headers=ETAG_HEADER)
@bp.doc(**_links_from_new_ticket())
def create_ticket(data: dict[str, Any]) -> ResponseReturnValue:
    """Open a phone or web ticket with its first article; start ``ticket_handling`` if deployed.

    A customer token opens a web ticket for the customer (``channel`` web, no ``state`` or
    ``pending_until``; ``customer_user_id`` absent or their own) in a queue offered to
    customers (``GET /queues`` with the customer's token lists them; any other id is 422).
    """
    actor = current_actor()
    if isinstance(actor, CustomerUser):
        return _create_customer_ticket(actor, data)
    session, agent = db(), current_agent()
    channel = data.get("channel", "phone")
    customer = (
        referenced(CustomerUser, data["customer_user_id"], "customer_user_id")
        if data["customer_user_id"] is not None
        else None
    )
    phone = channel == "phone"
    first = ArticleDraft(
        channel=channel,
        body_text=data["body"],
        subject=data["subject"] or data["title"],
        # A phone ticket records the customer's call; a web ticket is written by the agent.
        sender_type="customer" if phone and customer is not None else None,
        visible_for_customer=data["visible_for_customer"],
        from_addr=customer.email if phone and customer is not None else "",
    )
    opened = open_ticket(
        session,
        actor=agent,
        title=data["title"],
        queue=referenced(Queue, data["queue_id"], "queue_id"),
        customer_user=customer,
        state=state_named(data["state"]) if "state" in data else None,
        priority=data["priority"],
        pending_until=data["pending_until"],
        first=first,
    )
    return shown(opened.ticket, 201)


def _customer_queue(queue_id: int) -> Queue:
    """A queue offered to customers.  An internal queue reads as an unknown one, so its id
    tells a customer nothing (the desk refuses it again, 403, should a caller forget)."""
    found = db().get(Queue, queue_id) if 0 < queue_id <= MAX_ID else None
    if found is None or not (found.customer_facing and found.valid):
        raise ValidationError(
            "unknown reference",
            errors={"queue_id": [f"no queue {queue_id} open to customers; GET /api/v1/queues lists them"]},
        )
    return found


def _create_customer_ticket(customer: CustomerUser, data: dict[str, Any]) -> ResponseReturnValue:
    if data.get("channel", "web") != "web":
        raise PermissionDenied("customers open web tickets")
    if data["customer_user_id"] not in (None, customer.id):
        raise PermissionDenied("customers open tickets for themselves only")
    if "state" in data or data["pending_until"] is not None:
        raise PermissionDenied("customers do not set the state of a ticket")
    opened = open_ticket(
        db(),
        actor=customer,
        title=data["title"],
        queue=_customer_queue(data["queue_id"]),
        priority=data["priority"],
        first=ArticleDraft(
            channel="web",
            body_text=data["body"],
            subject=data["subject"] or data["title"],
            from_addr=customer.email,
        ),
    )
    return shown(opened.ticket, 201)


@bp.route("/<int:ticket_id>", methods=["GET"])
@bp.response(200, _ticket_either(), headers=ETAG_HEADER)
def get_ticket(ticket_id: int) -> ResponseReturnValue:
    """One ticket; its ETag is what ``If-Match`` of a later change should send."""
    return shown(readable_ticket(ticket_id))


@bp.route("/by-number/<number>", methods=["GET"])
@bp.response(200, _ticket_either(), headers=ETAG_HEADER)
def get_ticket_by_number(number: str) -> ResponseReturnValue:
    """One ticket by its number."""
    if len(number) > 40 or "\x00" in number:
        raise NotFound("no such ticket")
    return shown(ticket_service.get_by_number(db(), actor=current_actor(), number=number))


@bp.route("/<int:ticket_id>", methods=["PATCH"])
@bp.arguments(TicketUpdateSchema)
@bp.response(200, TicketSchema, headers=ETAG_HEADER)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def update_ticket(data: dict[str, Any], ticket_id: int) -> TicketResult:
    """Change queue, state and pending time, priority, owner, responsible, title or service.

    Each field is changed by its own service function with its own permission; the first
    refusal rolls the whole request back.
    """
    ticket = readable_ticket(ticket_id)
    session, agent = db(), current_agent()
    common.check_if_match(ticket)
    if "queue_id" in data:
        fields.move(
            session, actor=agent, ticket=ticket, queue=referenced(Queue, data["queue_id"], "queue_id")
        )
    if "state" in data or "pending_until" in data:
        state = state_named(data["state"]) if "state" in data else ticket.state
        pending = data.get("pending_until", ticket.pending_until)
        state_flow.set_state(session, actor=agent, ticket=ticket, state=state, pending_until=pending)
    if "priority" in data:
        fields.set_priority(session, actor=agent, ticket=ticket, priority=data["priority"])
    if "owner_id" in data:
        owner = referenced(Agent, data["owner_id"], "owner_id")
        fields.set_owner(session, actor=agent, ticket=ticket, owner=owner)
    if "responsible_id" in data:
        responsible = referenced(Agent, data["responsible_id"], "responsible_id")
        fields.set_responsible(session, actor=agent, ticket=ticket, responsible=responsible)
    if "title" in data:
        fields.set_title(session, actor=agent, ticket=ticket, title=data["title"])
    if "service_id" in data:
        service = None
        if data["service_id"] is not None:
            service = services.get_service(session, data["service_id"])
            if service is None:
                raise ValidationError(
                    "unknown reference", errors={"service_id": [f"no service {data['service_id']}"]}
                )
        fields.set_service(session, actor=agent, ticket=ticket, service=service)
    return with_etag(ticket)


@bp.route("/<int:ticket_id>/lock", methods=["POST"])
@bp.response(200, TicketSchema, headers=ETAG_HEADER)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def lock_ticket(ticket_id: int) -> TicketResult:
    """Lock the ticket for the agent (who becomes its owner)."""
    ticket = readable_ticket(ticket_id)
    agent = current_agent()
    common.check_if_match(ticket)
    fields.lock(db(), actor=agent, ticket=ticket)
    return with_etag(ticket)


@bp.route("/<int:ticket_id>/unlock", methods=["POST"])
@bp.response(200, TicketSchema, headers=ETAG_HEADER)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def unlock_ticket(ticket_id: int) -> TicketResult:
    """Release the ticket's lock, whoever holds it."""
    ticket = readable_ticket(ticket_id)
    agent = current_agent()
    common.check_if_match(ticket)
    fields.unlock(db(), actor=agent, ticket=ticket)
    return with_etag(ticket)


@bp.route("/<int:ticket_id>/merge", methods=["POST"])
@bp.arguments(MergeSchema)
@bp.response(200, TicketSchema, headers=ETAG_HEADER)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def merge_ticket(data: dict[str, Any], ticket_id: int) -> TicketResult:
    """Merge this ticket into another; its articles move there."""
    ticket = readable_ticket(ticket_id)
    agent = current_agent()
    common.check_if_match(ticket)
    into = readable_ticket(data["into_ticket_id"])
    merge_flow.merge(db(), actor=agent, ticket=ticket, into=into)
    return with_etag(ticket)


@bp.route("/<int:ticket_id>/links", methods=["GET"])
@bp.response(200, LinkOutSchema(many=True))
def list_links(ticket_id: int) -> Sequence[TicketLink]:
    """Every link from or to the ticket (agents only)."""
    ticket = readable_ticket(ticket_id)
    current_agent()
    return ticket_service.links_of(db(), ticket=ticket)


@bp.route("/<int:ticket_id>/links", methods=["POST"])
@bp.arguments(LinkSchema)
@bp.response(201, LinkOutSchema)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def link_ticket(data: dict[str, Any], ticket_id: int) -> TicketLink:
    """Link the ticket to another (``parent_child``: this one is the parent)."""
    source = readable_ticket(ticket_id)
    agent = current_agent()
    common.check_if_match(source)
    target = readable_ticket(data["target_ticket_id"])
    return merge_flow.link(db(), actor=agent, source=source, target=target, kind=data["kind"])


@bp.route("/<int:ticket_id>/history", methods=["GET"])
@bp.response(200, HistorySchema(many=True))
def ticket_history(ticket_id: int) -> Sequence[History]:
    """The ticket's history, oldest first (agents only)."""
    ticket = readable_ticket(ticket_id)
    current_agent()
    return history_service.for_ticket(db(), ticket=ticket)


@bp.route("/<int:ticket_id>/tasks", methods=["GET"])
@bp.response(200, TaskSchema(many=True))
def ticket_tasks(ticket_id: int) -> Sequence[HumanTask]:
    """The open process tasks of the ticket (agents only)."""
    ticket = readable_ticket(ticket_id)
    current_agent()
    return inbox.open_tasks_of_ticket(db(), ticket=ticket)


@bp.route("/<int:ticket_id>/forward", methods=["POST"])
@bp.arguments(ForwardSchema)
@bp.response(201, ArticleSchema)
@bp.doc(parameters=[IF_MATCH_PARAMETER])
def forward_ticket_article(data: dict[str, Any], ticket_id: int) -> Article:
    """Forward an article (default: the newest) by e-mail, as the web Forward action does.

    It needs ``rw``; a customer's address needs *may contact customers* as well.
    """
    ticket = readable_ticket(ticket_id)
    agent = current_agent()
    common.check_if_match(ticket)
    return forward_flow.forward(
        db(),
        actor=agent,
        ticket=ticket,
        to_addr=data["to"],
        article_id=data.get("article_id"),
        comment=data["comment"],
    )


@bp.route("/<int:ticket_id>/articles/<int:article_id>/split", methods=["POST"])
@bp.arguments(SplitSchema)
@bp.response(201, TicketSchema, headers=ETAG_HEADER)
def split_article(data: dict[str, Any], ticket_id: int, article_id: int) -> TicketResult:
    """Copy an article into a new ticket, linked as this ticket's child; its process starts."""
    ticket = readable_ticket(ticket_id)
    agent = current_agent()
    article = db().get(Article, article_id) if 0 < article_id <= MAX_ID else None
    if article is None or article.ticket_id != ticket.id:
        raise NotFound("no such article on this ticket")
    child = merge_flow.split(db(), actor=agent, article=article, title=data.get("title"))
    return with_etag(child, 201)
