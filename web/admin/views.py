"""Administration views: thin, the services check that the agent administers the system."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import PermissionDenied, TicketflowError, ValidationError
from desk.permission import service as permissions
from mail import accounts as account_service
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_link() -> dict[str, object]:
    """``may_administer()`` for the header link (asked only when the header shows it)."""

    def may_administer() -> bool:
        return permissions.is_admin(get_db(), current_agent())

    return {"may_administer": may_administer}


@bp.route("/mailboxes", methods=["GET", "POST"])
@login_required
def mailboxes() -> ResponseReturnValue:
    """The IMAP mailboxes: when each was last fetched and its last error; add one."""
    session = get_db()
    agent = current_agent()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            port = int(form.get("port", "993") or "993")
        except ValueError:
            port = 0
        try:
            with session.begin_nested():
                account_service.create_account(
                    session,
                    actor=agent,
                    name=form.get("name", ""),
                    host=form.get("host", ""),
                    username=form.get("username", ""),
                    password=form.get("password", ""),
                    port=port,
                    use_ssl=form.get("use_ssl") == "on",
                    folder=form.get("folder", "INBOX"),
                    processed_folder=form.get("processed_folder", ""),
                )
        except PermissionDenied:
            raise
        except ValidationError as exc:
            errors, status = exc.errors, 422
        except TicketflowError as exc:
            errors, status = {"name": [exc.message]}, exc.http_status
        else:
            flash("mailbox_added", "success")
            return redirect(url_for("admin.mailboxes"), code=303)
    rows = account_service.list_accounts(session, actor=agent)
    page = render_template("admin/mailboxes.html", accounts=rows, errors=errors, form=request.form)
    return page, status
