"""Agent administration pages: thin; ``desk.agent.admin`` and ``desk.agent.grants`` do the work."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.agent import admin as agent_admin
from desk.agent import grants
from desk.agent.models import PERMISSION_TYPES, Agent
from desk.audit import service as audit
from desk.permission import explain as why
from desk.queue import service as queue_service
from web.admin.forms import admin_actor, checked, int_list, optional_int, page_number
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db

_ACTIVE_FILTER = {"1": True, "0": False}


def _filters() -> dict[str, str]:
    args = request.args
    return {
        key: args.get(key, "")
        for key in ("q", "active", "role", "group")
        if args.get(key, "") not in ("", None)
    }


def _list_page(
    results: list[agent_admin.BulkResult] | None = None,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    filters = _filters()
    found = agent_admin.search(
        session,
        actor=actor,
        text=filters.get("q", ""),
        active=_ACTIVE_FILTER.get(filters.get("active", "")),
        role_id=optional_int(filters.get("role")),
        group_id=optional_int(filters.get("group")),
        page=page_number(),
    )
    page = render_template(
        "admin/agents/list.html",
        found=found,
        filters=filters,
        roles=grants.list_roles(session, actor=actor),
        groups=grants.list_groups(session, actor=actor),
        results=results,
        errors=errors or {},
    )
    return page, status


@bp.get("/agents")
@login_required
def agents() -> ResponseReturnValue:
    """The agents with search, filters (active, role, group) and pages."""
    return _list_page()


@bp.post("/agents/bulk")
@login_required
def agents_bulk() -> ResponseReturnValue:
    """Activate or deactivate the ticked agents; the list shows what happened to each."""
    actor = admin_actor()
    action = request.form.get("action", "")
    if action not in ("activate", "deactivate"):
        return _list_page(status=422, errors={"action": ["choose activate or deactivate"]})
    results = agent_admin.bulk_set_active(
        get_db(), actor=actor, agent_ids=int_list("agent_ids"), active=action == "activate"
    )
    return _list_page(results=results)


def _agent_values() -> dict[str, object]:
    form = request.form
    return {
        "first_name": form.get("first_name", ""),
        "last_name": form.get("last_name", ""),
        "email": form.get("email", ""),
        "language": form.get("language", "en"),
        "may_contact_customers": checked("may_contact_customers"),
        "read_only": checked("read_only"),
    }


@bp.route("/agents/new", methods=["GET", "POST"])
@login_required
def agent_new() -> ResponseReturnValue:
    """Create an agent (with a password, or without one and a set-password link later)."""
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with get_db().begin_nested():
                agent = agent_admin.create(
                    get_db(),
                    actor=actor,
                    login=request.form.get("login", ""),
                    password=request.form.get("password", "") or None,
                    **_agent_values(),  # type: ignore[arg-type]
                )
        except ValidationError as exc:
            errors = exc.errors
        else:
            flash("admin_saved", "success")
            return redirect(url_for("admin.agent_edit", agent_id=agent.id), code=303)
    form = request.form if request.method == "POST" else {"may_contact_customers": "on"}
    page = render_template(
        "admin/agents/new.html", form=form, errors=errors, agent_languages=agent_admin.LANGUAGES
    )
    return page, 422 if errors else 200


def edit_page(
    agent_id: int, *, errors: dict[str, list[str]] | None = None, form: object = None
) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    agent = agent_admin.get(session, actor=actor, agent_id=agent_id)
    page = render_template(
        "admin/agents/edit.html",
        agent=agent,
        form=form if form is not None else {**agent_admin_form(agent)},
        errors=errors or {},
        agent_languages=agent_admin.LANGUAGES,
        tokens=agent_admin.tokens(session, actor=actor, agent_id=agent_id),
        queues=list(queue_service.list_queues(session)),
        entries=audit.entries_for(session, object_type="agent", object_id=agent_id),
        password_link_endpoint=(
            "admin.agent_password_link" if "admin.agent_password_link" in current_app.view_functions else None
        ),
    )
    return page, 422 if errors else 200


def agent_admin_form(agent: Agent) -> dict[str, str]:
    """The edit form's values from the stored agent."""
    values = {name: str(getattr(agent, name)) for name in ("first_name", "last_name", "email", "language")}
    for flag in ("may_contact_customers", "read_only"):
        if getattr(agent, flag):
            values[flag] = "on"
    return values


@bp.route("/agents/<int:agent_id>", methods=["GET", "POST"])
@login_required
def agent_edit(agent_id: int) -> ResponseReturnValue:
    """Edit an agent's name, e-mail, language and flags; the audit trail below."""
    if request.method == "GET":
        return edit_page(agent_id)
    actor = admin_actor()
    try:
        with get_db().begin_nested():
            agent_admin.update(get_db(), actor=actor, agent_id=agent_id, **_agent_values())
    except ValidationError as exc:
        return edit_page(agent_id, errors=exc.errors, form=request.form)
    flash("admin_saved", "success")
    return redirect(url_for("admin.agent_edit", agent_id=agent_id), code=303)


@bp.post("/agents/<int:agent_id>/active")
@login_required
def agent_active(agent_id: int) -> ResponseReturnValue:
    """Deactivate (signs the agent out everywhere) or reactivate."""
    actor = admin_actor()
    try:
        with get_db().begin_nested():
            agent_admin.set_active(
                get_db(), actor=actor, agent_id=agent_id, active=request.form.get("active") == "1"
            )
    except ValidationError as exc:
        return edit_page(agent_id, errors=exc.errors)
    flash("admin_saved", "success")
    return redirect(url_for("admin.agent_edit", agent_id=agent_id), code=303)


@bp.post("/agents/<int:agent_id>/password")
@login_required
def agent_password(agent_id: int) -> ResponseReturnValue:
    """Set the agent's password (they are signed out everywhere)."""
    actor = admin_actor()
    try:
        with get_db().begin_nested():
            agent_admin.set_password(
                get_db(), actor=actor, agent_id=agent_id, password=request.form.get("password", "")
            )
    except ValidationError as exc:
        return edit_page(agent_id, errors=exc.errors)
    flash("admin_password_set", "success")
    return redirect(url_for("admin.agent_edit", agent_id=agent_id), code=303)


@bp.post("/agents/<int:agent_id>/tokens/<int:token_id>/revoke")
@login_required
def agent_token_revoke(agent_id: int, token_id: int) -> ResponseReturnValue:
    """Revoke one API token of the agent."""
    agent_admin.revoke_token(get_db(), actor=admin_actor(), agent_id=agent_id, token_id=token_id)
    flash("admin_token_revoked", "success")
    return redirect(url_for("admin.agent_edit", agent_id=agent_id), code=303)


@bp.route("/agents/<int:agent_id>/permissions", methods=["GET", "POST"])
@login_required
def agent_permissions(agent_id: int) -> ResponseReturnValue:
    """The agent ↔ group matrix (seven types per group) and the agent's roles."""
    session = get_db()
    actor = admin_actor()
    agent = agent_admin.get(session, actor=actor, agent_id=agent_id)
    if request.method == "POST":
        wanted = {
            group.id: [p for p in PERMISSION_TYPES if checked(f"perm-{group.id}-{p}")]
            for group in grants.list_groups(session, actor=actor)
        }
        grants.set_agent_matrix(session, actor=actor, agent_id=agent_id, grants=wanted)
        grants.set_agent_roles(session, actor=actor, agent_id=agent_id, role_ids=int_list("role_ids"))
        flash("admin_saved", "success")
        return redirect(url_for("admin.agent_permissions", agent_id=agent_id), code=303)
    return render_template(
        "admin/agents/permissions.html",
        agent=agent,
        groups=grants.list_groups(session, actor=actor),
        roles=grants.list_roles(session, actor=actor),
        matrix=grants.agent_matrix(session, actor=actor, agent_id=agent_id),
        member_of={role.id for role in agent.roles},
        permission_types=PERMISSION_TYPES,
    )


@bp.get("/agents/<int:agent_id>/why")
@login_required
def agent_why(agent_id: int) -> ResponseReturnValue:
    """What this agent can do in a chosen queue, and why (directly or through which role)."""
    session = get_db()
    actor = admin_actor()
    agent = agent_admin.get(session, actor=actor, agent_id=agent_id)
    queues = list(queue_service.list_queues(session))
    queue_id = optional_int(request.args.get("queue"))
    queue = next((q for q in queues if q.id == queue_id), None)
    if queue is None and queues:
        queue = queues[0]
    explanation = why.explain(session, actor=actor, agent=agent, queue=queue) if queue else None
    return render_template(
        "admin/agents/why.html", agent=agent, queues=queues, queue=queue, explanation=explanation
    )
