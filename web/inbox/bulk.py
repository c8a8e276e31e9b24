"""Bulk actions and saved views of the ticket lists (inbox and search).

``POST /bulk`` takes the ticked rows (``ticket`` and ``task`` ids) and the button pressed
(``action``) and hands them to :mod:`flows.bulk`, which runs the single-ticket use cases one
by one; the answer is a page listing what was done and what was refused, with the reason for
each item.  Saved views are the agent's own: saving replaces a view of the same name, and
another agent's view is *not found*.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import ngettext

from core.errors import FieldMessage, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from desk.saved_view import service as saved_views
from flows import bulk as bulk_flow
from flows.bulk import BulkReport
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.tickets.support import _, attempt, back_to, check_id, describe, flash_done, local_target

bp = Blueprint("lists", __name__)


def _ids(name: str) -> list[int]:
    """The ids ticked in the list; ids no row can have are the 404 page, as everywhere."""
    values = request.form.getlist(name)
    if len(values) > bulk_flow.MAX_ITEMS:
        raise ValidationError(
            N_("too many items"),
            errors={"items": [FieldMessage(N_("at most %(num)s at once"), num=bulk_flow.MAX_ITEMS)]},
        )
    ids = []
    for value in values:
        if not value.strip().isdigit():
            raise ValidationError("invalid selection", errors={"items": ["select rows of the list"]})
        ids.append(check_id(int(value)))
    return ids


def _optional_id(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationError("invalid choice", errors={name: ["choose one of the list"]})
    return check_id(int(value))


def summary(report: BulkReport) -> str:
    """The first line of the result page: how many items were done (counted, translated)."""
    num, target = len(report.done), report.target
    texts = {
        "move": ngettext(
            "%(num)s ticket was moved to %(target)s.",
            "%(num)s tickets were moved to %(target)s.",
            num,
            target=target,
        ),
        "lock": ngettext("%(num)s ticket was locked for you.", "%(num)s tickets were locked for you.", num),
        "unlock": ngettext("%(num)s ticket was unlocked.", "%(num)s tickets were unlocked.", num),
        "state": ngettext(
            "%(num)s ticket was set to %(target)s.",
            "%(num)s tickets were set to %(target)s.",
            num,
            target=target,
        ),
        "owner": ngettext(
            "%(target)s is now the owner of %(num)s ticket.",
            "%(target)s is now the owner of %(num)s tickets.",
            num,
            target=target,
        ),
        "claim": ngettext("You claimed %(num)s task.", "You claimed %(num)s tasks.", num),
    }
    return str(texts[report.action])


@bp.post("/bulk")
@login_required
def run() -> ResponseReturnValue:
    """Carry out one action for every ticked row; the page reports on each row."""
    agent = current_agent()
    if agent.read_only:
        # As the single actions: observers are refused before their input is read.
        raise PermissionDenied(
            N_("%(login)s is a read-only observer and cannot change anything"), login=agent.login
        )
    back = local_target(url_for("inbox.index"))
    session = get_db()
    try:
        report = bulk_flow.run(
            session,
            actor=agent,
            action=request.form.get("action", ""),
            ticket_ids=_ids("ticket"),
            task_ids=_ids("task"),
            queue_id=_optional_id("queue"),
            state_id=_optional_id("state"),
            owner_id=_optional_id("owner"),
        )
    except ValidationError as exc:
        # Nothing was done: the list again, with the reason on top.
        flash(describe(exc), "error")
        return back_to(back)
    refused = len(report.refused)
    return render_template(
        "inbox/bulk_result.html",
        report=report,
        summary=summary(report),
        refused_summary=ngettext("%(num)s refused:", "%(num)s refused:", refused) if refused else "",
        reason=describe,
        back=back,
    )


@bp.post("/views")
@login_required
def save_view() -> ResponseReturnValue:
    """Save the list's current filters under a name, then open the saved view."""
    agent = current_agent()
    kind = request.form.get("kind", "")
    query = request.form.get("query", "")[:4000]
    pairs = parse_qsl(query, keep_blank_values=False)
    ok, view = attempt(
        lambda: saved_views.save_view(
            get_db(), agent=agent, name=request.form.get("name", ""), kind=kind, pairs=pairs
        )
    )
    endpoint = "search.index" if kind == "search" else "inbox.index"
    if not ok or view is None:
        return back_to(local_target(url_for(endpoint)))
    flash_done(_("The view %(name)s was saved.", name=view.name))
    return back_to(view_url(view.kind, view.query))


@bp.post("/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int) -> ResponseReturnValue:
    """Delete one of the agent's own saved views (another agent's is the 404 page)."""
    try:
        saved_views.delete_view(get_db(), agent=current_agent(), view_id=check_id(view_id))
    except NotFound:
        abort(404)
    flash_done(_("The view was deleted."))
    return back_to(local_target(url_for("inbox.index")))


def view_url(kind: str, query: str) -> str:
    """Where a saved view leads: its page with its filters."""
    base = url_for("search.index" if kind == "search" else "inbox.index")
    return f"{base}?{query}" if query else base
