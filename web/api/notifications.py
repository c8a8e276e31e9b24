"""The token's agent's in-app notifications (the bell), newest first, translated for them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields, validate

from desk.notifications import service as notifications
from desk.notifications.models import Notification
from web.api.common import current_agent, db
from web.api.schemas import InputSchema
from web.api.smorest import ApiBlueprint
from web.notifications.texts import render

bp = ApiBlueprint("api_notifications", url_prefix="/api/v1/notifications", description="In-app notifications")


class NotificationQuerySchema(InputSchema):
    """Paging, and only the unread ones if asked."""

    unread = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=notifications.PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class NotificationSchema(Schema):
    """One notification with its text in the agent's language."""

    id = fields.Integer(required=True)
    ticket_id = fields.Integer(allow_none=True, required=True)
    kind = fields.String(required=True)
    text = fields.Function(render, required=True, metadata={"type": "string"})
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)


@bp.route("", methods=["GET"])
@bp.arguments(NotificationQuerySchema, location="query")
@bp.response(200, NotificationSchema(many=True))
def list_notifications(args: dict[str, Any]) -> Sequence[Notification]:
    """The agent's notifications, newest first (``unread=true``: only the unread)."""
    return notifications.list_for(
        db(), agent=current_agent(), unread_only=args["unread"], limit=args["limit"], offset=args["offset"]
    )
