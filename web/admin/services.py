"""Services: the list with a create form, and each service's edit page (rename, move, deactivate)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import NotFound, ValidationError
from desk.audit import service as audit
from desk.services import service as services
from desk.sla import service as sla
from web.admin.forms import admin_actor, checked, optional_int
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _reference(name: str, errors: dict[str, list[str]]) -> int | None:
    """An optional id chosen in a select; anything else than a number is a field error."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    number = optional_int(raw)
    if number is None or number == 0:
        errors[name] = ["choose one of the list"]
    return number


def _values(errors: dict[str, list[str]]) -> dict[str, object]:
    return {
        "name": request.form.get("name", ""),
        "parent_id": _reference("parent_id", errors),
        "service_level_id": _reference("service_level_id", errors),
        "comment": request.form.get("comment", ""),
    }


def _level_options() -> list[tuple[int, str]]:
    return [(level.id, level.name) for level in sla.list_levels(get_db())]


@bp.route("/services", methods=["GET", "POST"])
@login_required
def it_services() -> ResponseReturnValue:
    """Every service (active or not); create one."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    form: object = {}
    if request.method == "POST":
        values = _values(errors)
        try:
            if errors:
                raise ValidationError("the service is not valid", errors=errors)
            with session.begin_nested():
                service = services.create_service(session, actor=actor, **values)  # type: ignore[arg-type]
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.it_service_edit", service_id=service.id), code=303)
    every = services.list_services(session, include_invalid=True)
    levels = _level_options()
    page = render_template(
        "admin/services/list.html",
        services=every,
        names={s.id: s.name for s in every},
        level_names=dict(levels),
        parent_options=[(s.id, s.name) for s in every],
        level_options=levels,
        form=form,
        errors=errors,
    )
    return page, 422 if errors else 200


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@login_required
def it_service_edit(service_id: int) -> ResponseReturnValue:
    """Rename a service, hang it elsewhere, give it a level, deactivate it; its audit trail."""
    session = get_db()
    actor = admin_actor()
    service = services.get_service(session, service_id)
    if service is None:
        raise NotFound(f"service {service_id} does not exist")
    errors: dict[str, list[str]] = {}
    form: object = {
        "name": service.name,
        "parent_id": str(service.parent_id or ""),
        "service_level_id": str(service.service_level_id or ""),
        "comment": service.comment,
        "valid": "on" if service.valid else "",
    }
    if request.method == "POST":
        values = _values(errors)
        try:
            if errors:
                raise ValidationError("the service is not valid", errors=errors)
            with session.begin_nested():
                services.update_service(
                    session,
                    actor=actor,
                    service_id=service.id,
                    valid=checked("valid"),
                    **values,  # type: ignore[arg-type]
                )
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.it_service_edit", service_id=service.id), code=303)
    page = render_template(
        "admin/services/edit.html",
        service=service,
        parent_options=[
            (s.id, s.name)
            for s in services.list_services(session, include_invalid=True)
            if s.id != service.id
        ],
        level_options=_level_options(),
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="service", object_id=service.id),
    )
    return page, 422 if errors else 200
