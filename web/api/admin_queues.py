"""Queue administration over the API: ``/api/v1/admin/queues`` (administrators).

The same use cases as the admin page and ``ticketflow queue create``
(:mod:`flows.queue_admin`); the token's agent must administer the system (checked before the
body is read, :func:`web.api.common.require_admin_token`, and again by the services).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from core.errors import NotFound, ValidationError
from desk.agent.models import Group
from desk.queue import identity
from desk.queue.models import FOLLOW_UP_POLICIES, QUEUE_SEPARATOR, Queue
from desk.template.models import AUTO_RESPONSE_KINDS
from flows import queue_admin
from web.api.common import current_agent, db
from web.api.schemas import MAX_ID, Id, InputSchema, Text
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint("admin_queues", url_prefix="/api/v1/admin", description="Queues (administrators)")


class AdminQueueSchema(Schema):
    """A queue with everything an administrator sets."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    parent_id = fields.Integer(allow_none=True, required=True)
    group_id = fields.Integer(required=True)
    system_address = fields.String(allow_none=True, required=True)
    display_name = fields.String(allow_none=True, required=True)
    sends_as = fields.Function(
        lambda q: identity.sender_address(db(), q),
        allow_none=True,
        required=True,
        metadata={"type": "string", "description": "its own address, a parent's, or the default sender"},
    )
    follow_up_policy = fields.String(required=True)
    unlock_timeout_minutes = fields.Integer(required=True)
    salutation_id = fields.Integer(allow_none=True, required=True)
    signature_id = fields.Integer(allow_none=True, required=True)
    process_id = fields.String(allow_none=True, required=True)
    customer_facing = fields.Boolean(required=True)
    valid = fields.Boolean(required=True)


class AnswerSchema(InputSchema):
    """One automatic answer of the queue."""

    kind = fields.String(required=True, validate=validate.OneOf(AUTO_RESPONSE_KINDS))
    subject = Text(required=True, max_length=1000)
    text = Text(required=True, max_length=100_000)
    valid = fields.Boolean(load_default=True)


class QueueFieldsSchema(InputSchema):
    """The settable fields of a queue; on PATCH absent fields stay as they are."""

    group_id = Id()
    system_address = Text(allow_none=True, max_length=320)
    display_name = Text(allow_none=True, max_length=200)
    follow_up_policy = fields.String(validate=validate.OneOf(FOLLOW_UP_POLICIES))
    unlock_timeout_minutes = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000_000))
    salutation_id = Id(allow_none=True)
    signature_id = Id(allow_none=True)
    process_id = Text(allow_none=True, max_length=255)
    customer_facing = fields.Boolean()
    valid = fields.Boolean()
    automatic_answers = fields.List(fields.Nested(AnswerSchema), validate=validate.Length(max=3))


class QueueCreateSchema(QueueFieldsSchema):
    """A new queue: ``name`` is the full path (``Parent::Child``, the parent must exist)."""

    name = Text(required=True, max_length=400)
    group_id = Id(required=True)


class QueueUpdateSchema(QueueFieldsSchema):
    """Changes: ``name`` is the queue's own part of the path, ``parent_id`` where it hangs."""

    name = Text(max_length=200)
    parent_id = Id(allow_none=True)


def _group(group_id: int) -> Group:
    group = db().get(Group, group_id)
    if group is None:
        raise ValidationError("unknown reference", errors={"group_id": [f"no group {group_id}"]})
    return group


def _answers(args: dict[str, Any]) -> list[queue_admin.AnswerText]:
    return [queue_admin.AnswerText(**answer) for answer in args.pop("automatic_answers", [])]


@bp.route("/queues", methods=["POST"])
@bp.arguments(QueueCreateSchema)
@bp.response(201, AdminQueueSchema)
def create_queue(args: dict[str, Any]) -> Queue:
    """Create a queue with its automatic answers."""
    answers = _answers(args)
    args["group"] = _group(args.pop("group_id"))
    return queue_admin.create_queue(db(), actor=current_agent(), answers=answers, **args)


@bp.route("/queues/<int:queue_id>", methods=["PATCH"])
@bp.arguments(QueueUpdateSchema)
@bp.response(200, AdminQueueSchema)
def update_queue(args: dict[str, Any], queue_id: int) -> Queue:
    """Rename, move or change a queue (absent fields stay as they are)."""
    session, actor = db(), current_agent()
    queue = session.get(Queue, queue_id) if 0 < queue_id <= MAX_ID else None
    if queue is None:
        raise NotFound("no such queue")
    answers = _answers(args)
    parent_id = args.pop("parent_id", queue.parent_id)
    parent = session.get(Queue, parent_id) if parent_id is not None else None
    if parent_id is not None and parent is None:
        raise ValidationError("unknown reference", errors={"parent_id": [f"no queue {parent_id}"]})
    current: dict[str, Any] = {
        "name": queue.name.rsplit(QUEUE_SEPARATOR, 1)[-1],
        "group": queue.group,
        "system_address": queue.system_address,
        "display_name": queue.display_name,
        "follow_up_policy": queue.follow_up_policy,
        "unlock_timeout_minutes": queue.unlock_timeout_minutes,
        "salutation_id": queue.salutation_id,
        "signature_id": queue.signature_id,
        "process_id": queue.process_id,
        "customer_facing": queue.customer_facing,
        "valid": queue.valid,
    }
    if "group_id" in args:
        args["group"] = _group(args.pop("group_id"))
    return queue_admin.update_queue(
        session, actor=actor, queue=queue, parent=parent, answers=answers, **{**current, **args}
    )
