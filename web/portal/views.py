"""The portal's pages: sign-in (password or a one-time link), the ticket list, a ticket,
a new ticket, replies with attachments, close and reopen, attachment downloads.

Every page needs a signed-in customer (:mod:`web.portal.session`), except the sign-in pages.
What a customer may see and do is decided by the services and use cases with the customer
as the actor: a ticket, article or attachment they may not see is *not found* (404), never
*forbidden*, so ids cannot be probed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, gettext

from core.errors import NotFound, PermissionDenied, TicketflowError, ValidationError
from desk.article import attachments as attachment_service
from desk.article import service as article_service
from desk.customer import service as customer_service
from desk.customer.models import CustomerUser
from desk.portal import service as portal_service
from desk.queue import service as queue_service
from desk.queue.models import Queue
from desk.ticket import service as ticket_service
from desk.ticket.models import Ticket
from flows import portal as portal_flows
from flows.customer_message import customer_message
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from web.auth import get_limiter
from web.db import get_db
from web.portal import session as portal_session
from web.portal.forms import read_message, read_new_ticket
from web.portal.limits import link_refusal
from web.tickets.support import check_id
from web.tickets.views import INLINE_TYPES, _disposition

log = logging.getLogger(__name__)

bp = Blueprint("portal", __name__, url_prefix="/portal")

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])

# The password limiter's counters are shared with the agents' sign-in; customers' logins
# get a prefix so a customer and an agent of the same name do not share a count.
_LIMIT_PREFIX = "portal:"


@bp.before_request
def _language() -> None:
    # The customer's own language wins in the portal (Flask-Babel asks web.i18n, which
    # looks here first); before sign-in the browser's preference decides.
    customer = portal_session.current_customer()
    if customer is not None:
        g.portal_language = customer.language


@bp.context_processor
def _portal_context() -> dict[str, object]:
    return {"customer": portal_session.current_customer()}


def customer_required(view: View) -> View:
    """Send a visitor without a portal session to the portal's sign-in page."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
        if portal_session.current_customer() is None:
            return redirect(url_for("portal.sign_in"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current_customer() -> CustomerUser:
    """The signed-in customer of a view under :func:`customer_required`."""
    customer = portal_session.current_customer()
    if customer is None:
        abort(401)
    return customer


@bp.errorhandler(TicketflowError)
def _ticketflow_error(exc: TicketflowError) -> ResponseReturnValue:
    # Customers learn nothing about what exists: a refusal reads as "not found".
    status = 404 if isinstance(exc, (NotFound, PermissionDenied)) else exc.http_status
    return _error_page(status, exc.translated(gettext) if status != 404 else "")


def _error_page(status: int, message: str = "") -> ResponseReturnValue:
    return render_template("portal/error.html", code=status, message=message), status


def _not_found(_exc: Exception) -> ResponseReturnValue:
    return _error_page(404)


bp.register_error_handler(404, _not_found)


# --- signing in --------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Sign in with login and password (rate-limited as the agents' sign-in is)."""
    if portal_session.current_customer() is not None:
        return redirect(url_for("portal.index"))
    if request.method == "GET":
        return render_template("portal/sign_in.html", form={}, errors={})
    login = request.form.get("login", "").strip()
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not login or len(login) > 200:
        errors["login"] = gettext("Please enter your login.")
    if not password or len(password) > 1024:
        errors["password"] = gettext("Please enter your password.")
    if errors:
        return render_template("portal/sign_in.html", form=request.form, errors=errors), 422
    address = request.remote_addr or "unknown"
    limiter = get_limiter()
    refusal = limiter.check(login=_LIMIT_PREFIX + login, address=address)
    if refusal is not None:
        log.warning("portal sign-in refused (%s) for %r from %s", refusal.reason, login, address)
        page = render_template("portal/sign_in.html", form=request.form, errors={}, wait=refusal.retry_after)
        return page, 429, {"Retry-After": str(refusal.retry_after)}
    customer = customer_service.authenticate(get_db(), login=login, password=password)
    if customer is None:
        limiter.record_failure(login=_LIMIT_PREFIX + login, address=address)
        page = render_template("portal/sign_in.html", form=request.form, errors={}, failed=True)
        return page, 422
    limiter.record_success(login=_LIMIT_PREFIX + login, address=address)
    return portal_session.sign_in(redirect(url_for("portal.index"), 303), customer)


@bp.post("/sign-in/link")
def request_link() -> ResponseReturnValue:
    """Mail a one-time sign-in link; the answer is the same whether the address is known."""
    email = request.form.get("email", "").strip()
    if "@" not in email or len(email) > 254 or any(ch.isspace() for ch in email):
        errors = {"email": gettext("Enter your e-mail address.")}
        return render_template("portal/sign_in.html", form=request.form, errors=errors), 422
    wait = link_refusal(email=email, address=request.remote_addr or "unknown")
    if wait is not None:
        page = render_template("portal/sign_in.html", form=request.form, errors={}, wait=wait)
        return page, 429, {"Retry-After": str(wait)}
    portal_flows.send_sign_in_link(get_db(), email=email, compose=_link_mail)
    return render_template("portal/link_sent.html", email=email)


def _link_mail(customer: CustomerUser, token: str) -> tuple[str, str]:
    link = url_for("portal.redeem_link", token=token, _external=True)
    minutes = int(portal_service.LINK_LIFETIME.total_seconds() // 60)
    with force_locale(customer.language or "en"):
        subject = gettext("Your sign-in link for the help desk")
        text = gettext(
            "Hello %(name)s,\n\nopen this link to sign in to the help desk portal:\n\n%(link)s\n\n"
            "The link works once and for %(minutes)s minutes. If you did not ask for it, "
            "you can ignore this mail.",
            name=customer.full_name,
            link=link,
            minutes=minutes,
        )
    return subject, text


@bp.get("/sign-in/link/<token>")
def redeem_link(token: str) -> ResponseReturnValue:
    """Ask to confirm the sign-in: a mail scanner opening the link must not use it up."""
    return render_template("portal/redeem.html", token=token)


@bp.post("/sign-in/link/<token>")
def use_link(token: str) -> ResponseReturnValue:
    """Use the one-time link: it opens a session once, and never after it expired."""
    if len(token) > 100:
        abort(404)
    try:
        customer = portal_service.redeem_link(get_db(), token=token)
    except NotFound:
        return render_template("portal/redeem.html", token=token, invalid=True), 404
    return portal_session.sign_in(redirect(url_for("portal.index"), 303), customer)


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the portal session (POST with CSRF: a link elsewhere cannot sign anyone out)."""
    return portal_session.sign_out(redirect(url_for("portal.sign_in"), 303))


# --- tickets -----------------------------------------------------------------------------


@bp.get("/")
@customer_required
def index() -> ResponseReturnValue:
    """The customer's tickets and, where allowed, their company's."""
    customer = current_customer()
    found = ticket_service.list_tickets(get_db(), actor=customer, limit=200)
    return render_template("portal/index.html", tickets=found, customer=customer)


def _customer_queues() -> list[Queue]:
    return [q for q in queue_service.list_queues(get_db()) if q.customer_facing and q.valid]


@bp.route("/tickets/new", methods=["GET", "POST"])
@customer_required
def new_ticket() -> ResponseReturnValue:
    """Open a ticket in a queue offered to customers; bad input comes back with its errors."""
    customer = current_customer()
    queues = _customer_queues()
    if request.method == "GET":
        return render_template("portal/new.html", queues=queues, form={}, errors={})
    session = get_db()
    try:
        with session.begin_nested():
            queue_id, title, body, files = read_new_ticket(request)
            queue = next((q for q in queues if q.id == queue_id), None)
            if queue is None:
                raise ValidationError("invalid queue", errors={"queue": [gettext("Choose a topic.")]})
            opened = open_ticket(
                session,
                actor=customer,
                queue=queue,
                title=title,
                first=ArticleDraft(
                    channel="web", body_text=body, subject=title, from_addr=customer.email, attachments=files
                ),
            )
    except ValidationError as exc:
        errors = {field: "; ".join(messages) for field, messages in exc.errors.items()}
        return render_template("portal/new.html", queues=queues, form=request.form, errors=errors), 422
    return redirect(url_for("portal.ticket", ticket_id=opened.ticket.id), 303)


def _ticket(ticket_id: int) -> Ticket:
    return ticket_service.get_ticket(get_db(), actor=current_customer(), ticket_id=check_id(ticket_id))


def _render_ticket(ticket: Ticket, *, form: object = None, errors: dict[str, str] | None = None) -> str:
    customer = current_customer()
    return render_template(
        "portal/ticket.html",
        ticket=ticket,
        articles=article_service.list_articles(get_db(), actor=customer, ticket=ticket),
        customer=customer,
        may_close=portal_service.may_close(customer, ticket),
        may_reopen=portal_service.may_reopen(customer, ticket),
        form=form or {},
        errors=errors or {},
        done=request.args.get("done", ""),
    )


@bp.get("/tickets/<int:ticket_id>")
@customer_required
def ticket(ticket_id: int) -> ResponseReturnValue:
    """One ticket with the articles the customer may see and the reply form."""
    return _render_ticket(_ticket(ticket_id))


@bp.post("/tickets/<int:ticket_id>/reply")
@customer_required
def reply(ticket_id: int) -> ResponseReturnValue:
    """The customer writes to the ticket: the same use case as their mail would be."""
    found = _ticket(ticket_id)
    customer = current_customer()
    session = get_db()
    try:
        with session.begin_nested():
            body, files = read_message(request)
            draft = ArticleDraft(
                channel="web",
                body_text=body,
                subject=f"Re: {found.title}",
                from_addr=customer.email,
                attachments=files,
            )
            delivered = customer_message(
                session, actor=customer, ticket=found, draft=draft, rejectable=False, sender=customer
            )
    except ValidationError as exc:
        errors = {field: "; ".join(messages) for field, messages in exc.translated_errors(gettext).items()}
        return _render_ticket(found, form=request.form, errors=errors), 422
    except TicketflowError as exc:
        if isinstance(exc, (NotFound, PermissionDenied)):
            raise
        message = exc.translated(gettext)
        return _render_ticket(found, form=request.form, errors={"body": message}), exc.http_status
    return redirect(url_for("portal.ticket", ticket_id=delivered.ticket.id, done="reply"), 303)


@bp.post("/tickets/<int:ticket_id>/close")
@customer_required
def close(ticket_id: int) -> ResponseReturnValue:
    """The customer closes their own ticket."""
    portal_flows.close(get_db(), actor=current_customer(), ticket=_ticket(ticket_id))
    return redirect(url_for("portal.ticket", ticket_id=ticket_id, done="closed"), 303)


@bp.post("/tickets/<int:ticket_id>/reopen")
@customer_required
def reopen(ticket_id: int) -> ResponseReturnValue:
    """The customer reopens their closed ticket (where the queue reopens follow-ups)."""
    portal_flows.reopen(get_db(), actor=current_customer(), ticket=_ticket(ticket_id))
    return redirect(url_for("portal.ticket", ticket_id=ticket_id, done="reopened"), 303)


@bp.get("/attachments/<int:attachment_id>")
@customer_required
def attachment(attachment_id: int) -> ResponseReturnValue:
    """Download an attachment of an article the customer may see (else 404)."""
    found, data = attachment_service.open_attachment(
        get_db(), actor=current_customer(), attachment_id=check_id(attachment_id)
    )
    content_type = (found.content_type or "").split(";")[0].strip().lower()
    inline = content_type in INLINE_TYPES
    response = Response(data, mimetype=content_type if inline else "application/octet-stream")
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", found.filename
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
