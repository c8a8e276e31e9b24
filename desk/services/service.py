"""Services: administration (create, rename, move, deactivate) and a ticket's service.

Administrators keep the list; a ticket's service is set by agents with ``rw`` on its queue
(web, API, processes through :mod:`flows.ticket_fields`).  Changing a ticket's service
changes which service level it follows, so its due times are recomputed at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.i18n import N_
from desk.actor import Actor
from desk.audit import service as audit
from desk.history import service as history
from desk.permission import service as permissions
from desk.permission.service import require_admin
from desk.services.models import Service
from desk.sla.models import ServiceLevel
from desk.ticket.models import Ticket

MAX_ID = 2**31 - 1


def _snapshot(service: Service) -> dict[str, object]:
    return {
        "name": service.name,
        "parent_id": service.parent_id,
        "service_level_id": service.service_level_id,
        "comment": service.comment,
        "valid": service.valid,
    }


def get_service(session: Session, service_id: int) -> Service | None:
    """One service by id (None for an id that names nothing, also one beyond 32 bits)."""
    return session.get(Service, service_id) if 0 < service_id <= MAX_ID else None


def list_services(session: Session, *, include_invalid: bool = False) -> Sequence[Service]:
    """The services by name (only the valid ones unless asked)."""
    query = select(Service).order_by(Service.name)
    if not include_invalid:
        query = query.where(Service.valid.is_(True))
    return session.scalars(query).all()


def _check(
    session: Session,
    *,
    name: str,
    parent_id: int | None,
    service_level_id: int | None,
    service: Service | None = None,
) -> str:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = [N_("a name is required")]
    elif len(name) > 200:
        errors["name"] = [N_("at most 200 characters")]
    else:
        clash = select(Service.id).where(Service.name == name)
        if service is not None:
            clash = clash.where(Service.id != service.id)
        if session.scalar(clash) is not None:
            errors["name"] = [N_("a service with this name exists")]
    if parent_id is not None:
        parent = get_service(session, parent_id)
        if parent is None:
            errors["parent_id"] = [N_("choose a service of the list")]
        elif service is not None and _is_below_or_same(session, parent, service):
            errors["parent_id"] = [N_("a service cannot hang below itself")]
    if service_level_id is not None and (
        not 0 < service_level_id <= MAX_ID or session.get(ServiceLevel, service_level_id) is None
    ):
        errors["service_level_id"] = [N_("choose a service level of the list")]
    if errors:
        raise ValidationError(N_("the service is not valid"), errors=errors)
    return name


def _is_below_or_same(session: Session, candidate: Service, service: Service) -> bool:
    seen: set[int] = set()
    current: Service | None = candidate
    while current is not None and current.id not in seen:
        if current.id == service.id:
            return True
        seen.add(current.id)
        current = session.get(Service, current.parent_id) if current.parent_id else None
    return False


def create_service(
    session: Session,
    *,
    actor: Actor,
    name: str,
    parent_id: int | None = None,
    service_level_id: int | None = None,
    comment: str = "",
) -> Service:
    """Add a service (administrators only)."""
    require_admin(session, actor)
    name = _check(session, name=name, parent_id=parent_id, service_level_id=service_level_id)
    service = Service(
        name=name, parent_id=parent_id, service_level_id=service_level_id, comment=comment[:10_000]
    )
    session.add(service)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="service",
        object_id=service.id,
        object_label=service.name,
        action="create",
        new=_snapshot(service),
    )
    return service


def update_service(
    session: Session,
    *,
    actor: Actor,
    service_id: int,
    name: str,
    parent_id: int | None,
    service_level_id: int | None,
    comment: str,
    valid: bool,
) -> Service:
    """Rename, move, relevel or (de)activate a service; tickets keep it, new ones cannot pick it."""
    require_admin(session, actor)
    service = get_service(session, service_id)
    if service is None:
        raise NotFound(N_("service %(id)s does not exist"), id=service_id)
    name = _check(session, name=name, parent_id=parent_id, service_level_id=service_level_id, service=service)
    before = _snapshot(service)
    service.name, service.parent_id, service.service_level_id = name, parent_id, service_level_id
    service.comment, service.valid = comment[:10_000], valid
    session.flush()
    old, new = audit.changes(before, _snapshot(service))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="service",
            object_id=service.id,
            object_label=service.name,
            action="update",
            old=old,
            new=new,
        )
    return service


def set_for_ticket(session: Session, *, actor: Actor, ticket: Ticket, service: Service | None) -> None:
    """Give ``ticket`` a service (None: no service); needs ``rw`` on its queue.

    Only a valid service can be chosen.  The history says ``ServiceUpdate`` with both names.
    """
    permissions.require_queue(session, actor, ticket.queue, "rw")
    if ticket.state.type == "merged":
        raise ValidationError(
            N_("a merged ticket cannot change"), errors={"service_id": [N_("the ticket is merged")]}
        )
    if service is not None and not service.valid:
        raise ValidationError(
            N_("invalid service %(name)s"),
            errors={"service_id": [N_("this service is not active")]},
            name=service.name,
        )
    new_id = service.id if service is not None else None
    if ticket.service_id == new_id:
        return
    old = session.get(Service, ticket.service_id) if ticket.service_id else None
    ticket.service_id = new_id
    session.flush()
    history.record(
        session,
        ticket=ticket,
        actor=actor,
        type="ServiceUpdate",
        old=old.name if old is not None else None,
        new=service.name if service is not None else None,
    )
