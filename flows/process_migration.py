"""Move a ticket's waiting process instance onto a newer version of its process.

Running tickets finish on the version they started with; an admin may move one forward (for
example after fixing a step) when every step that ran or waits has a counterpart in the new
version (:mod:`engine.migration`).  Otherwise the move is refused naming the steps that are
missing, and the instance stays as it was.  Admins only (``rw`` on the admin group), checked
before anything about the instance is looked at; the ticket's history records the move.
Web, API and CLI all come through :func:`migrate`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.permission import service as permissions
from desk.ticket.models import Ticket
from engine import runtime
from engine.models import ProcessInstance


def migrate(
    session: Session, *, actor: Actor, ticket: Ticket, version: int, instance_id: int | None = None
) -> ProcessInstance:
    """Move the ticket's running instance (``instance_id``, or its only running one) to ``version``."""
    if not permissions.is_admin(session, actor):
        raise PermissionDenied("moving a process instance to another version needs rw on the admin group")
    query = select(ProcessInstance).where(
        ProcessInstance.ticket_id == ticket.id, ProcessInstance.status == "running"
    )
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    running = list(session.scalars(query.order_by(ProcessInstance.id)))
    if not running:
        raise NotFound(
            "no such running process instance on this ticket"
            if instance_id is not None
            else "the ticket has no running process instance"
        )
    if len(running) > 1:
        names = ", ".join(f"{i.id} ({i.process_version.process_id})" for i in running)
        raise ValidationError(
            N_("several running instances"),
            errors={
                "instance_id": [
                    FieldMessage(
                        N_("the ticket runs several process instances; name one of %(names)s"), names=names
                    )
                ]
            },
        )
    return runtime.migrate(session, actor=actor, instance_id=running[0].id, version=version)
