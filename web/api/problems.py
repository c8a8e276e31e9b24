"""Problems (S9): a problem ticket's incidents, one message to every reporter, closing.

The same use cases as the web's problem page (:mod:`flows.problem`).  Agents only (customer
tokens get 403, like every agent-only resource); a problem the agent may not read is 403 or
404 as for any ticket.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from desk.problem import service as problems
from desk.ticket.models import Ticket
from flows import problem as problem_flow
from web.api.common import current_agent, db, readable_ticket
from web.api.schemas import MAX_ID, Id, InputSchema, Text
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint(
    "problems", url_prefix="/api/v1/problems", description="Problem tickets and their incidents"
)

MAX_INCIDENTS_PER_CALL = 500


class IncidentSchema(Schema):
    """An incident of a problem."""

    id = fields.Integer(required=True)
    number = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True)


class DeliverySchema(Schema):
    """One reporter of a problem message and the state of their mail."""

    ticket_id = fields.Integer(required=True)
    number = fields.String(required=True)
    address = fields.String(required=True)
    status = fields.String(
        required=True, metadata={"description": "queued, sent, failed, or not sent (see error)"}
    )
    error = fields.String(allow_none=True)


class MessageSchema(Schema):
    """A message written on a problem, with its recipients."""

    id = fields.Integer(required=True)
    body = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    recipients = fields.List(fields.Nested(DeliverySchema), required=True)


class ProblemSchema(Schema):
    """A problem ticket with its incidents and messages (newest first)."""

    ticket_id = fields.Integer(required=True)
    incidents = fields.List(fields.Nested(IncidentSchema), required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True)


class IncidentLinkSchema(InputSchema):
    """Tickets to link to the problem as its incidents."""

    ticket_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=MAX_INCIDENTS_PER_CALL))


class ProblemMessageSchema(InputSchema):
    """The text for every reporter."""

    body = Text(required=True, min_length=1, max_length=100_000)


class ProblemCloseSchema(InputSchema):
    """Close the problem; optionally its incidents, with a message to the reporters first."""

    body = Text(load_default="", max_length=100_000)
    close_incidents = fields.Boolean(load_default=False)


def _shown(problem: Ticket) -> dict[str, Any]:
    session, agent = db(), current_agent()
    incidents = problems.incidents_of(session, actor=agent, problem=problem)
    return {
        "ticket_id": problem.id,
        "incidents": [
            {"id": t.id, "number": t.number, "title": t.title, "state": t.state.name} for t in incidents
        ],
        "messages": [
            {
                "id": message.id,
                "body": message.body_text,
                "created_at": message.created_at,
                "recipients": [
                    {
                        "ticket_id": d.ticket.id,
                        "number": d.ticket.number,
                        "address": d.address,
                        "status": d.status,
                        "error": d.error,
                    }
                    for d in rows
                ],
            }
            for message, rows in problems.deliveries(session, actor=agent, problem=problem)
        ],
    }


def _problem(ticket_id: int) -> Ticket:
    current_agent()
    return readable_ticket(ticket_id)


@bp.route("/<int:ticket_id>", methods=["GET"])
@bp.response(200, ProblemSchema)
def get_problem(ticket_id: int) -> dict[str, Any]:
    """The ticket as a problem: its incidents and the delivery state of every message."""
    return _shown(_problem(ticket_id))


@bp.route("/<int:ticket_id>/incidents", methods=["POST"])
@bp.arguments(IncidentLinkSchema)
@bp.response(200, ProblemSchema)
def link_incidents(data: dict[str, Any], ticket_id: int) -> dict[str, Any]:
    """Link tickets to the problem as its incidents (each must be readable)."""
    problem = _problem(ticket_id)
    incidents = [readable_ticket(i) for i in data["ticket_ids"] if 0 < i <= MAX_ID]
    problem_flow.link_incidents(db(), actor=current_agent(), problem=problem, incidents=incidents)
    return _shown(problem)


@bp.route("/<int:ticket_id>/messages", methods=["POST"])
@bp.arguments(ProblemMessageSchema)
@bp.response(201, ProblemSchema)
def message_reporters(data: dict[str, Any], ticket_id: int) -> ResponseReturnValue:
    """Send one message to the reporter of every incident, each in their own ticket's thread."""
    problem = _problem(ticket_id)
    problem_flow.message_reporters(db(), actor=current_agent(), problem=problem, body_text=data["body"])
    return _shown(problem)


@bp.route("/<int:ticket_id>/close", methods=["POST"])
@bp.arguments(ProblemCloseSchema)
@bp.response(200, ProblemSchema)
def close_problem(data: dict[str, Any], ticket_id: int) -> dict[str, Any]:
    """Close the problem (and, with ``close_incidents``, its open incidents)."""
    problem = _problem(ticket_id)
    problem_flow.close_problem(
        db(),
        actor=current_agent(),
        problem=problem,
        body_text=data["body"],
        close_incidents=data["close_incidents"],
    )
    return _shown(problem)
