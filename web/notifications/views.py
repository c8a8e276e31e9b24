"""The notifications page: the agent's own, newest first; mark one or all read."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from desk.notifications import service as notifications
from web import header
from web.auth import login_required
from web.auth.users import AgentUser, current_agent
from web.db import get_db
from web.notifications.texts import render
from web.tickets.support import back_to, check_id

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def bell() -> dict[str, object]:
    """``unread_notifications()`` for the header's bell: one COUNT, only when a page asks."""

    def unread_notifications() -> int:
        user = current_user._get_current_object()
        if not isinstance(user, AgentUser):
            return 0
        return header.facts(user.agent).unread  # with the header's other questions

    return {"unread_notifications": unread_notifications}


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """The agent's notifications (``?unread=1``: only the unread)."""
    unread_only = request.args.get("unread") == "1"
    rows = notifications.list_for(get_db(), agent=current_agent(), unread_only=unread_only)
    return render_template("notifications/index.html", rows=rows, text_of=render, unread_only=unread_only)


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int) -> ResponseReturnValue:
    """Mark one read (someone else's is 404); back to the page or to its ticket (``open``)."""
    row = notifications.mark_read(get_db(), agent=current_agent(), notification_id=check_id(notification_id))
    if request.form.get("open") == "1" and row.ticket_id is not None:
        return back_to(url_for("ticket_view.view", ticket_id=row.ticket_id))
    return back_to(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all() -> ResponseReturnValue:
    """Mark every unread notification of the agent read."""
    notifications.mark_all_read(get_db(), agent=current_agent())
    return back_to(url_for("notifications.index"))
