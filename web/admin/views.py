"""Administration views: thin, the services check that the agent administers the system."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import PermissionDenied, TicketflowError, ValidationError
from desk.permission import service as permissions
from mail import accounts as account_service
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


# The administration's sub-navigation: a label and the endpoints that may serve it, first
# existing one wins.  Areas built by other modules appear as soon as their view exists.
ADMIN_NAV: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dashboard", ("admin.dashboard",)),
    ("agents", ("admin.agents",)),
    ("groups", ("admin.groups",)),
    ("roles", ("admin.roles",)),
    ("queues", ("admin.queues", "admin.queue_list", "admin.queue_tree")),
    ("teams", ("admin.teams_page",)),
    ("addresses", ("admin.addresses", "admin.system_addresses")),
    ("states", ("admin.states", "admin.ticket_states")),
    ("service_levels", ("admin.service_levels",)),
    ("services", ("admin.it_services",)),
    ("texts", ("admin.texts", "admin.templates")),
    ("customers", ("admin.customers", "admin.customer_users")),
    ("mailboxes", ("admin.mailboxes",)),
    ("failed_mail", ("admin.failed_mail",)),
    ("audit", ("admin.audit",)),
)


def admin_nav_items() -> list[tuple[str, str]]:
    """``(key, endpoint)`` of each sub-navigation entry whose page exists in this app."""
    views = current_app.view_functions
    items: list[tuple[str, str]] = []
    for key, endpoints in ADMIN_NAV:
        found = next((endpoint for endpoint in endpoints if endpoint in views), None)
        if found is not None:
            items.append((key, found))
    return items


def admin_link() -> dict[str, object]:
    """``may_administer()`` for the header link (asked only when the header shows it) and
    ``admin_nav_items()`` for the administration's sub-navigation."""

    def may_administer() -> bool:
        return permissions.is_admin(get_db(), current_agent())

    return {"may_administer": may_administer, "admin_nav_items": admin_nav_items}


@bp.route("/mailboxes", methods=["GET", "POST"])
@login_required
def mailboxes() -> ResponseReturnValue:
    """The IMAP mailboxes: when each was last fetched, its last error, the mails set aside; add one.

    Secrets typed into the form are never sent back (not even on a 422).
    """
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
                    oversize_folder=form.get("oversize_folder", ""),
                    auth_method=form.get("auth_method", "password"),
                    oauth2_token_url=form.get("oauth2_token_url", ""),
                    oauth2_client_id=form.get("oauth2_client_id", ""),
                    oauth2_client_secret=form.get("oauth2_client_secret", ""),
                    oauth2_refresh_token=form.get("oauth2_refresh_token", ""),
                    oauth2_scope=form.get("oauth2_scope", ""),
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
    return _mailboxes_page(errors=errors, form=request.form), status


def _mailboxes_page(
    *,
    errors: dict[str, list[str]] | None = None,
    form: Mapping[str, str] | None = None,
    secret_errors: dict[int, dict[str, list[str]]] | None = None,
) -> str:
    session = get_db()
    agent = current_agent()
    rows = account_service.list_accounts(session, actor=agent)
    events = account_service.list_events(session, actor=agent)
    return render_template(
        "admin/mailboxes.html",
        accounts=rows,
        events=events,
        account_names={row.id: row.name for row in rows},
        errors=errors or {},
        form=form or {},
        secret_errors=secret_errors or {},
    )


@bp.route("/mailboxes/<int:account_id>/secrets", methods=["POST"])
@login_required
def mailbox_secrets(account_id: int) -> ResponseReturnValue:
    """Enter a mailbox's secrets again (after a change of the secret key, a new consent)."""
    session = get_db()
    form = request.form
    try:
        with session.begin_nested():
            account_service.set_secrets(
                session,
                actor=current_agent(),
                account_id=account_id,
                password=form.get("password", ""),
                oauth2_client_secret=form.get("oauth2_client_secret", ""),
                oauth2_refresh_token=form.get("oauth2_refresh_token", ""),
            )
    except ValidationError as exc:
        return _mailboxes_page(secret_errors={account_id: exc.errors}), 422
    flash("mailbox_secrets_saved", "success")
    return redirect(url_for("admin.mailboxes"), code=303)
