"""State and ticket-type administration pages: thin; ``desk.ticket.admin`` checks the right,
validates, changes and records the audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.audit import service as audit
from desk.ticket import admin as ticket_admin
from desk.ticket import states as state_service
from desk.ticket.models import STATE_TYPES, State, TicketType
from web.admin.forms import admin_actor, checked
from web.admin.lookups import row, row_or_404
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _next_state_options() -> list[tuple[int, str]]:
    return [(s.id, s.name) for s in state_service.list_states(get_db()) if s.type in ("open", "closed")]


def _overview(form: dict[str, Any], errors: dict[str, list[str]], status: int) -> ResponseReturnValue:
    session = get_db()
    admin_actor()
    page = render_template(
        "admin/states/list.html",
        states=state_service.list_states(session),
        types=ticket_admin.list_types(session),
        state_types=STATE_TYPES,
        next_state_options=_next_state_options(),
        form=form,
        errors=errors,
        priority_labels=ticket_admin.priority_names(session),
    )
    return page, status


@bp.get("/states")
@login_required
def states() -> ResponseReturnValue:
    """The states by state type and the ticket types; forms to add either."""
    return _overview({}, {}, 200)


@bp.post("/states")
@login_required
def state_add() -> ResponseReturnValue:
    """Add a state within a state type."""
    session = get_db()
    actor = admin_actor()
    form = request.form
    next_state = row(State, form.get("next_state_id"))
    try:
        with session.begin_nested():
            ticket_admin.create_state(
                session,
                actor=actor,
                name=form.get("name", "")[:200],
                type=form.get("type", ""),
                next_state=next_state,
            )
    except ValidationError as exc:
        return _overview(dict(form), exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.states"), code=303)


@bp.post("/types")
@login_required
def type_add() -> ResponseReturnValue:
    """Add a ticket type."""
    session = get_db()
    actor = admin_actor()
    try:
        with session.begin_nested():
            ticket_admin.save_type(
                session, actor=actor, ticket_type=None, name=request.form.get("type_name", "")
            )
    except ValidationError as exc:
        return _overview(dict(request.form), exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.states"), code=303)


@bp.route("/states/<int:state_id>", methods=["GET", "POST"])
@login_required
def state_edit(state_id: int) -> ResponseReturnValue:
    """Rename a state, switch it off or on, or change where a pending-auto state leads."""
    session = get_db()
    actor = admin_actor()
    state = row_or_404(State, state_id)
    errors: dict[str, list[str]] = {}
    status = 200
    form: dict[str, Any] = {
        "name": state.name,
        "valid": "on" if state.valid else "",
        "next_state_id": str(state.next_state_id or ""),
    }
    if request.method == "POST":
        form = dict(request.form)
        next_state = row(State, request.form.get("next_state_id"))
        try:
            with session.begin_nested():
                ticket_admin.update_state(
                    session,
                    actor=actor,
                    state=state,
                    name=request.form.get("name", "")[:200],
                    valid=checked("valid"),
                    next_state=next_state,
                )
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.state_edit", state_id=state.id), code=303)
    page = render_template(
        "admin/states/edit.html",
        state=state,
        form=form,
        errors=errors,
        next_state_options=[o for o in _next_state_options() if o[0] != state.id],
        entries=audit.entries_for(session, object_type="state", object_id=state.id),
    )
    return page, status


@bp.route("/types/<int:type_id>", methods=["GET", "POST"])
@login_required
def type_edit(type_id: int) -> ResponseReturnValue:
    """Rename a ticket type or switch it off or on."""
    session = get_db()
    actor = admin_actor()
    ticket_type = row_or_404(TicketType, type_id)
    errors: dict[str, list[str]] = {}
    status = 200
    form: dict[str, Any] = {"type_name": ticket_type.name, "valid": "on" if ticket_type.valid else ""}
    if request.method == "POST":
        form = dict(request.form)
        try:
            with session.begin_nested():
                ticket_admin.save_type(
                    session,
                    actor=actor,
                    ticket_type=ticket_type,
                    name=request.form.get("type_name", "")[:200],
                    valid=checked("valid"),
                )
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.type_edit", type_id=ticket_type.id), code=303)
    page = render_template(
        "admin/states/type.html",
        ticket_type=ticket_type,
        form=form,
        errors=errors,
        entries=audit.entries_for(session, object_type="ticket_type", object_id=ticket_type.id),
    )
    return page, status


@bp.post("/priorities")
@login_required
def priorities() -> ResponseReturnValue:
    """Name the five priorities (an empty name: the built-in one)."""
    session = get_db()
    actor = admin_actor()
    names = {number: request.form.get(f"priority_{number}", "") for number in range(1, 6)}
    try:
        with session.begin_nested():
            ticket_admin.set_priority_names(session, actor=actor, names=names)
    except ValidationError as exc:
        return _overview(dict(request.form), exc.errors, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.states"), code=303)
