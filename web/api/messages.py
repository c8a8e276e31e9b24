"""Messages for processes, sent by integrations.

``POST /api/v1/tickets/{id}/messages`` hands a named BPMN message (payload, optional
correlation) to the ticket's waiting process, through :func:`flows.process_messages.send_message`
(the same delivery as the mail channel's ``customer_replied``).  ``POST
/api/v1/processes/{process_id}/messages`` starts that process for a ticket through its
message start event (:func:`flows.process_messages.start_process`).  Both answer 202 with the
recorded message: *delivered* (with the instance that got it) or *unmatched* when nothing
waited for that name.  Agents with ``rw`` on the ticket's queue only; customer tokens get 403.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.models import ProcessMessage
from flows import process_messages
from web.api.common import current_agent, db, readable_ticket
from web.api.schemas import (
    MAX_TASK_DATA_BYTES,
    MAX_TASK_DATA_DEPTH,
    Id,
    InputSchema,
    Text,
    _storable,
    _task_data_bounds,
)
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("messages", url_prefix="/api/v1", description="Messages for processes (integrations)")

_BOUNDS = f"at most {MAX_TASK_DATA_BYTES} bytes as JSON, nested at most {MAX_TASK_DATA_DEPTH} levels"


def _data(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=_storable),
        load_default=dict,
        validate=_task_data_bounds,
        metadata={"description": f"{description}; {_BOUNDS}"},
    )


class SendMessageSchema(InputSchema):
    """A message for the ticket's waiting process."""

    name = Text(
        required=True, min_length=1, max_length=255, metadata={"description": "the BPMN message name"}
    )
    payload = _data("merged into the process data where the message is caught")
    correlation = _data("task-data names and the values the waiting task must hold")


class StartMessageSchema(InputSchema):
    """A message that starts a process for a ticket through its message start event."""

    ticket_id = Id(required=True)
    name = Text(
        required=True, min_length=1, max_length=255, metadata={"description": "the BPMN message name"}
    )
    payload = _data("the new instance's start data")


class ProcessMessageSchema(Schema):
    """A recorded message: delivered to an instance, or unmatched."""

    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    name = fields.String(required=True)
    payload = fields.Dict(required=True)
    correlation = fields.Dict(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("delivered", "unmatched")))
    instance_id = fields.Integer(allow_none=True, required=True)
    received_at = fields.DateTime(required=True)


@bp.route("/tickets/<int:ticket_id>/messages", methods=["POST"])
@bp.arguments(SendMessageSchema)
@bp.response(202, ProcessMessageSchema)
def send_message(data: dict[str, Any], ticket_id: int) -> ProcessMessage:
    """Correlate a named message with the ticket's waiting process instance."""
    ticket = readable_ticket(ticket_id)
    return process_messages.send_message(
        db(),
        actor=current_agent(),
        ticket=ticket,
        name=data["name"],
        payload=data["payload"],
        correlation=data["correlation"],
    )


@bp.route("/processes/<process_id>/messages", methods=["POST"])
@bp.arguments(StartMessageSchema)
@bp.response(202, ProcessMessageSchema)
def start_process(data: dict[str, Any], process_id: str) -> ProcessMessage:
    """Start the process for a ticket through its message start event."""
    ticket = readable_ticket(data["ticket_id"])
    return process_messages.start_process(
        db(),
        actor=current_agent(),
        ticket=ticket,
        process_id=process_id,
        name=data["name"],
        payload=data["payload"],
    )
