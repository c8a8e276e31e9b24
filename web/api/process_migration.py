"""``POST /api/v1/tickets/{id}/process/migrate``: move a ticket's waiting process instance onto a
newer version of its process (admins only), through :func:`flows.process_migration.migrate`.

200 with the instance on its new version and its open tasks; 409 naming the steps the new
version lacks (the instance stays where it was); 422 for a version that is not newer or
does not exist; 403 for anyone but an admin.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from marshmallow import fields, validate

from flows import process_migration
from flows import tasks as task_flows
from web.api.common import current_agent, db, readable_ticket
from web.api.schemas import MAX_ID, Id, InputSchema, InstanceSchema
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint(
    "process_migration", url_prefix="/api/v1", description="Process versions of running tickets"
)


class MigrateSchema(InputSchema):
    """Which version to move to (and which instance, when the ticket runs several)."""

    version = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "a newer version of the instance's process"},
    )
    instance_id = Id(load_default=None, allow_none=True)


@bp.route("/tickets/<int:ticket_id>/process/migrate", methods=["POST"])
@bp.arguments(MigrateSchema)
@bp.response(200, InstanceSchema)
def migrate(data: dict[str, Any], ticket_id: int) -> SimpleNamespace:
    """Move the ticket's running process instance onto a newer version of its process."""
    session = db()
    ticket = readable_ticket(ticket_id)
    instance = process_migration.migrate(
        session,
        actor=current_agent(),
        ticket=ticket,
        version=data["version"],
        instance_id=data["instance_id"],
    )
    return SimpleNamespace(
        id=instance.id,
        ticket_id=instance.ticket_id,
        status=instance.status,
        process_version=instance.process_version,
        waiting_messages=instance.waiting_messages,
        error=instance.error,
        open_tasks=task_flows.open_tasks_of(session, instance=instance),
    )
