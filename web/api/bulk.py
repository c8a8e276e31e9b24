"""``POST /api/v1/tickets/bulk``: one action for many tickets or tasks, reported per item.

The same use case as the lists' bulk bar (:func:`flows.bulk.run`): each item goes through
the single action's flow (move, lock, unlock, state, owner, claim) in a savepoint of its
own, so the permissions, rules and history are exactly those of the single action and of
the web, and a refused item undoes only itself.  The answer is 200 with every item as done
or refused with the service's error (``code``, ``message``, ``errors``, as an error body);
an item the agent may not read is named only by the id sent.  A bad request as a whole
(unknown action, no or too many items, an unknown target) is 422 and changes nothing.
Token authentication, so no CSRF token; a read-only observer is 403 before the body is read.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from core.errors import ValidationError
from flows import bulk as bulk_flow
from flows.bulk import BulkReport
from web.api.common import current_agent, db
from web.api.schemas import ErrorSchema, Id, InputSchema, Time
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("bulk", url_prefix="/api/v1/tickets/bulk", description="Bulk actions on tickets and tasks")

# The flow names its targets as the web form does; the API's fields carry ``_id``.
_API_FIELDS = {"queue": "queue_id", "state": "state_id", "owner": "owner_id"}


def _ids(description: str) -> fields.List[Any]:
    return fields.List(
        Id(),
        load_default=list,
        validate=validate.Length(max=bulk_flow.MAX_ITEMS),
        metadata={"description": description},
    )


class BulkSchema(InputSchema):
    """One action for several tickets (or tasks, which stand for their tickets)."""

    action = fields.String(
        required=True,
        validate=validate.OneOf(bulk_flow.ACTIONS),
        metadata={
            "description": "move (queue_id), lock, unlock, state (state_id; pending_until for a "
            "pending state; a closed state closes), owner (owner_id), claim (task_ids only)"
        },
    )
    ticket_ids = _ids("the tickets, in the order to report them")
    task_ids = _ids("tasks; a ticket action changes each task's ticket once")
    queue_id = Id(allow_none=True, load_default=None)
    state_id = Id(allow_none=True, load_default=None)
    owner_id = Id(allow_none=True, load_default=None)
    pending_until = Time(allow_none=True, load_default=None)


class BulkItemSchema(Schema):
    """One item's outcome."""

    id = fields.Integer(
        attribute="item_id", required=True, metadata={"description": "the ticket or task id as sent"}
    )
    ticket_id = fields.Integer(
        allow_none=True, required=True, metadata={"description": "null when the agent may not read it"}
    )
    task_id = fields.Integer(allow_none=True, required=True)
    number = fields.String(
        required=True, metadata={"description": "the ticket number, or #id when it may not be read"}
    )
    title = fields.String(required=True)
    done = fields.Boolean(required=True)
    # A TicketflowError has the error body's code, message and errors.
    error = fields.Nested(
        ErrorSchema,
        allow_none=True,
        required=True,
        metadata={"description": "why it was refused, as an error body; null when done"},
    )


class BulkResultSchema(Schema):
    """Every item in the order sent, with the counts."""

    action = fields.String(required=True)
    target = fields.String(required=True, metadata={"description": "the queue, state or owner's name"})
    done = fields.Function(lambda r: len(r.done), required=True, metadata={"type": "integer"})
    refused = fields.Function(lambda r: len(r.refused), required=True, metadata={"type": "integer"})
    items = fields.List(fields.Nested(BulkItemSchema), required=True)


@bp.route("", methods=["POST"])
@bp.arguments(BulkSchema)
@bp.response(200, BulkResultSchema)
def bulk(data: dict[str, Any]) -> BulkReport:
    """Carry out one action for each ticket or task; 200 lists every item as done or refused."""
    agent = current_agent()
    try:
        return bulk_flow.run(
            db(),
            actor=agent,
            action=data["action"],
            ticket_ids=data["ticket_ids"],
            task_ids=data["task_ids"],
            queue_id=data["queue_id"],
            state_id=data["state_id"],
            owner_id=data["owner_id"],
            pending_until=data["pending_until"],
        )
    except ValidationError as exc:
        # The request as a whole: nothing was done.
        raise ValidationError(
            exc.msgid,
            errors={_API_FIELDS.get(name, name): texts for name, texts in exc.errors.items()},
            **exc.params,
        ) from None
