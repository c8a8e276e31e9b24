"""Queue and system-address administration pages: thin; ``flows.queue_admin`` and the desk
services check the right, validate, change and record the audit entry.

Queues are edited with their short name and a parent picker (the tree ``Parent::Child``),
and with their three automatic answers (new ticket, follow-up, reject).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from core.errors import Conflict, ValidationError
from desk.agent import grants
from desk.agent.models import Group
from desk.audit import service as audit
from desk.queue import identity
from desk.queue import service as queue_service
from desk.queue.models import QUEUE_SEPARATOR, Queue
from desk.template import admin as texts
from desk.template.models import AUTO_RESPONSE_KINDS, Salutation, Signature
from flows import queue_admin
from web.admin.forms import admin_actor, checked, optional_int
from web.admin.lookups import row, row_or_404
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _choices(queue: Queue | None) -> dict[str, Any]:
    """The pickers' (value, label) options; a queue cannot be its own parent."""
    session = get_db()
    actor = admin_actor()
    below = {q.id for q in queue_service.descendants(session, queue)} if queue else set()
    return {
        "parent_options": [
            (q.id, q.name)
            for q in queue_service.list_queues(session)
            if queue is None or (q.id != queue.id and q.id not in below)
        ],
        "group_options": [(g.id, g.name) for g in grants.list_groups(session, actor=actor)],
        "salutation_options": [
            (s.id, s.name) for s in session.scalars(select(Salutation).order_by(Salutation.name))
        ],
        "signature_options": [
            (s.id, s.name) for s in session.scalars(select(Signature).order_by(Signature.name))
        ],
        "process_options": [(p, p) for p in queue_admin.deployed_processes(session)],
        "variables": texts.VARIABLES,
    }


def _form_of(queue: Queue | None) -> dict[str, Any]:
    """The form's values for an existing queue (or the defaults of a new one)."""
    if queue is None:
        return {
            "follow_up_policy": "reopen",
            "unlock_timeout_minutes": "0",
            "time_accounting": "off",
            "valid": "on",
        }
    session = get_db()
    values: dict[str, Any] = {
        "name": queue.short_name,
        "parent_id": str(queue.parent_id or ""),
        "group_id": str(queue.group_id),
        "system_address": queue.system_address or "",
        "display_name": queue.display_name or "",
        "follow_up_policy": queue.follow_up_policy,
        "unlock_timeout_minutes": str(queue.unlock_timeout_minutes),
        "time_accounting": queue.time_accounting,
        "salutation_id": str(queue.salutation_id or ""),
        "signature_id": str(queue.signature_id or ""),
        "process_id": queue.process_id or "",
        "comment": queue.comment,
        "customer_facing": "on" if queue.customer_facing else "",
        "valid": "on" if queue.valid else "",
    }
    for kind in AUTO_RESPONSE_KINDS:
        response = texts.auto_response(session, queue=queue, kind=kind)
        values[f"{kind}_subject"] = response.subject if response else ""
        values[f"{kind}_text"] = response.text if response else ""
        values[f"{kind}_id"] = response.id if response else None
    return values


def _options(errors: dict[str, list[str]]) -> dict[str, Any]:
    """The typed values of the form for the services; bad references become field errors."""
    form = request.form
    group = row(Group, form.get("group_id"))
    if group is None:
        errors["group_id"] = [_("choose a group")]
    parent = None
    if form.get("parent_id"):
        parent = row(Queue, form.get("parent_id"))
        if parent is None:
            errors["parent_id"] = [_("choose a queue of the list")]
    timeout = optional_int(form.get("unlock_timeout_minutes", "0") or "0")
    if timeout is None:
        errors["unlock_timeout_minutes"] = [_("enter a number of minutes")]
    salutation, signature = (
        row(Salutation, form.get("salutation_id")),
        row(Signature, form.get("signature_id")),
    )
    for field, chosen in (("salutation_id", salutation), ("signature_id", signature)):
        if form.get(field) and chosen is None:
            errors[field] = [_("choose one of the list")]
    references = {
        "salutation_id": salutation.id if salutation is not None else None,
        "signature_id": signature.id if signature is not None else None,
    }
    return {
        "parent": parent,
        "group": group,
        "system_address": form.get("system_address", ""),
        "display_name": form.get("display_name", ""),
        "follow_up_policy": form.get("follow_up_policy", "reopen"),
        "unlock_timeout_minutes": timeout or 0,
        "time_accounting": form.get("time_accounting", "off"),
        "customer_facing": checked("customer_facing"),
        "valid": checked("valid"),
        "process_id": form.get("process_id") or None,
        "comment": form.get("comment", "")[:10_000],
        **references,
    }


def _answers() -> list[queue_admin.AnswerText]:
    form = request.form
    return [
        queue_admin.AnswerText(
            kind=kind,
            subject=form.get(f"{kind}_subject", "")[:1000],
            text=form.get(f"{kind}_text", "")[:100_000],
        )
        for kind in AUTO_RESPONSE_KINDS
    ]


def _page(
    queue: Queue | None, form: dict[str, Any], errors: dict[str, list[str]], status: int
) -> ResponseReturnValue:
    session = get_db()
    entries = []
    if queue is not None:
        # The queue's own changes and those of its automatic answers, newest first.
        entries = list(audit.entries_for(session, object_type="queue", object_id=queue.id))
        for kind in AUTO_RESPONSE_KINDS:
            response = texts.auto_response(session, queue=queue, kind=kind)
            if response is not None:
                entries += audit.entries_for(session, object_type="auto_response", object_id=response.id)
        entries.sort(key=lambda entry: entry.id, reverse=True)
    sender = None
    if queue is not None:
        sender = identity.sender_address(session, queue)
    page = render_template(
        "admin/queues/edit.html",
        queue=queue,
        form=form,
        errors=errors,
        entries=entries,
        sender=sender,
        shown_name=identity.display_name(queue) if queue else "",
        **_choices(queue),
    )
    return page, status


@bp.get("/queues")
@login_required
def queues() -> ResponseReturnValue:
    """The queue tree with each queue's group, address, policy and process."""
    session = get_db()
    admin_actor()
    rows = [
        (q, q.name.count(QUEUE_SEPARATOR), identity.sender_address(session, q))
        for q in queue_service.list_queues(session)
    ]
    return render_template("admin/queues/list.html", rows=rows)


def _save(queue: Queue | None) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    errors: dict[str, list[str]] = {}
    options = _options(errors)
    name = request.form.get("name", "").strip()
    if not name:
        errors["name"] = [_("a queue needs a name")]
    if errors:
        return _page(queue, dict(request.form), errors, 422)
    parent = options.pop("parent")
    try:
        with session.begin_nested():
            if queue is None:
                full = f"{parent.name}{QUEUE_SEPARATOR}{name}" if parent is not None else name
                if QUEUE_SEPARATOR in name:
                    raise ValidationError(
                        "invalid queue",
                        errors={"name": [_("the name is one part of the path; choose the parent")]},
                    )
                saved = queue_admin.create_queue(
                    session, actor=actor, name=full, answers=_answers(), **options
                )
            else:
                saved = queue_admin.update_queue(
                    session, actor=actor, queue=queue, name=name, parent=parent, answers=_answers(), **options
                )
    except ValidationError as exc:
        return _page(queue, dict(request.form), exc.errors, 422)
    except Conflict as exc:
        return _page(queue, dict(request.form), {"name": [exc.message]}, 422)
    flash("admin_saved", "success")
    return redirect(url_for("admin.queue_edit", queue_id=saved.id), code=303)


@bp.route("/queues/new", methods=["GET", "POST"])
@login_required
def queue_new() -> ResponseReturnValue:
    """Create a queue."""
    admin_actor()
    if request.method == "POST":
        return _save(None)
    return _page(None, _form_of(None), {}, 200)


@bp.route("/queues/<int:queue_id>", methods=["GET", "POST"])
@login_required
def queue_edit(queue_id: int) -> ResponseReturnValue:
    """Edit a queue: path, group, identity, texts, policy, process, flags; its audit trail."""
    admin_actor()
    queue = row_or_404(Queue, queue_id)
    if request.method == "POST":
        return _save(queue)
    return _page(queue, _form_of(queue), {}, 200)


@bp.get("/addresses")
@login_required
def addresses() -> ResponseReturnValue:
    """The system addresses: which queue receives each, and what each queue sends as."""
    session = get_db()
    admin_actor()
    rows = [
        (q, identity.sender_address(session, q), identity.display_name(q))
        for q in queue_service.list_queues(session)
    ]
    return render_template("admin/queues/addresses.html", rows=rows)
