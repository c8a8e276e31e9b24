"""Group and role pages: lists with a create form, edit pages, the role ↔ group matrix."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.agent import grants
from desk.agent.models import PERMISSION_TYPES
from desk.audit import service as audit
from web.admin.forms import admin_actor, checked
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


@bp.route("/groups", methods=["GET", "POST"])
@login_required
def groups() -> ResponseReturnValue:
    """Every group; create one."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with session.begin_nested():
                group = grants.create_group(
                    session,
                    actor=actor,
                    name=request.form.get("name", ""),
                    comment=request.form.get("comment", ""),
                )
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.group_edit", group_id=group.id), code=303)
    page = render_template(
        "admin/groups/list.html",
        groups=grants.list_groups(session, actor=actor),
        errors=errors,
        form=request.form,
    )
    return page, 422 if errors else 200


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@login_required
def group_edit(group_id: int) -> ResponseReturnValue:
    """Rename, comment, (de)activate a group; who holds what on it; its audit trail."""
    session = get_db()
    actor = admin_actor()
    group = grants.get_group(session, actor=actor, group_id=group_id)
    errors: dict[str, list[str]] = {}
    form: object = {"name": group.name, "comment": group.comment, "valid": "on" if group.valid else ""}
    if request.method == "POST":
        try:
            with session.begin_nested():
                grants.update_group(
                    session,
                    actor=actor,
                    group_id=group_id,
                    name=request.form.get("name", ""),
                    comment=request.form.get("comment", ""),
                    valid=checked("valid"),
                )
        except ValidationError as exc:
            errors, form = exc.errors, request.form
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.group_edit", group_id=group_id), code=303)
    by_agent, by_role = grants.group_grants(session, actor=actor, group_id=group_id)
    page = render_template(
        "admin/groups/edit.html",
        group=group,
        form=form,
        errors=errors,
        by_agent=by_agent,
        by_role=by_role,
        permission_types=PERMISSION_TYPES,
        entries=audit.entries_for(session, object_type="group", object_id=group_id),
    )
    return page, 422 if errors else 200


@bp.route("/roles", methods=["GET", "POST"])
@login_required
def roles() -> ResponseReturnValue:
    """Every role; create one."""
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with session.begin_nested():
                role = grants.create_role(
                    session,
                    actor=actor,
                    name=request.form.get("name", ""),
                    comment=request.form.get("comment", ""),
                    may_contact_customers=checked("may_contact_customers"),
                )
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.role_edit", role_id=role.id), code=303)
    form = request.form if request.method == "POST" else {"may_contact_customers": "on"}
    page = render_template(
        "admin/roles/list.html", roles=grants.list_roles(session, actor=actor), errors=errors, form=form
    )
    return page, 422 if errors else 200


def _role_page(role_id: int, *, errors: dict[str, list[str]], form: object) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    role = grants.get_role(session, actor=actor, role_id=role_id)
    page = render_template(
        "admin/roles/edit.html",
        role=role,
        form=form,
        errors=errors,
        groups=grants.list_groups(session, actor=actor),
        matrix=grants.role_matrix(session, actor=actor, role_id=role_id),
        members=grants.role_members(session, actor=actor, role_id=role_id),
        permission_types=PERMISSION_TYPES,
        entries=audit.entries_for(session, object_type="role", object_id=role_id),
    )
    return page, 422 if errors else 200


@bp.route("/roles/<int:role_id>", methods=["GET", "POST"])
@login_required
def role_edit(role_id: int) -> ResponseReturnValue:
    """Rename, comment, customer contact, (de)activate a role; its matrix and members."""
    session = get_db()
    actor = admin_actor()
    role = grants.get_role(session, actor=actor, role_id=role_id)
    if request.method == "GET":
        form = {
            "name": role.name,
            "comment": role.comment,
            "may_contact_customers": "on" if role.may_contact_customers else "",
            "valid": "on" if role.valid else "",
        }
        return _role_page(role_id, errors={}, form=form)
    try:
        with session.begin_nested():
            grants.update_role(
                session,
                actor=actor,
                role_id=role_id,
                name=request.form.get("name", ""),
                comment=request.form.get("comment", ""),
                may_contact_customers=checked("may_contact_customers"),
                valid=checked("valid"),
            )
    except ValidationError as exc:
        return _role_page(role_id, errors=exc.errors, form=request.form)
    flash("admin_saved", "success")
    return redirect(url_for("admin.role_edit", role_id=role_id), code=303)


@bp.post("/roles/<int:role_id>/permissions")
@login_required
def role_permissions(role_id: int) -> ResponseReturnValue:
    """Save the role ↔ group matrix (seven types per group)."""
    session = get_db()
    actor = admin_actor()
    wanted = {
        group.id: [p for p in PERMISSION_TYPES if checked(f"perm-{group.id}-{p}")]
        for group in grants.list_groups(session, actor=actor)
    }
    grants.set_role_matrix(session, actor=actor, role_id=role_id, grants=wanted)
    flash("admin_saved", "success")
    return redirect(url_for("admin.role_edit", role_id=role_id), code=303)
