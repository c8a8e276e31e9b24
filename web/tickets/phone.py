"""A new phone ticket: an agent records a customer's call as a new ticket.

The agent opens the ticket (``create`` on the queue), the call becomes its first article
(channel ``phone``, written as the customer, visible to them: that needs ``rw`` and *may
contact customers*, like any phone note) and the default process starts when it is deployed.
Everything runs in one savepoint: a refusal leaves neither ticket nor customer behind.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.orm import Session

from core.errors import ValidationError
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.customer import service as customer_service
from desk.customer.models import CustomerUser
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.ticket.models import Ticket
from flows.drafts import ArticleDraft
from flows.open_ticket import open_ticket
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.tickets.support import _, attempt_validated, back_to, flash_done

bp = Blueprint("phone_ticket", __name__)

MAX_BODY = 100_000
MAX_TITLE = 255
MAX_EMAIL = 254


def _creatable_queues(session: Session, agent: Agent) -> list[Queue]:
    return [q for q in permissions.queues_with(session, agent, "create") if q.valid]


def _render(
    queues: list[Queue], *, status: int = 200, errors: dict[str, list[str]] | None = None
) -> Response:
    page = render_template("tickets/phone.html", queues=queues, form=request.form, errors=errors or {})
    return Response(page, status=status)


@bp.app_context_processor
def phone_ticket_link() -> dict[str, object]:
    """``may_open_phone_tickets()`` for the header link (asked only when the header shows it)."""

    def may_open() -> bool:
        agent = current_agent()
        return not agent.read_only and bool(_creatable_queues(get_db(), agent))

    return {"may_open_phone_tickets": may_open}


@bp.get("/tickets/new/phone")
@login_required
def new() -> ResponseReturnValue:
    """The form for a new phone ticket."""
    agent = current_agent()
    queues = _creatable_queues(get_db(), agent)
    if agent.read_only or not queues:
        abort(403)
    return _render(queues)


@bp.post("/tickets/new/phone")
@login_required
def create() -> ResponseReturnValue:
    """Open the ticket; invalid input shows the form again with the messages (422)."""
    session = get_db()
    agent = current_agent()
    queues = _creatable_queues(session, agent)
    if agent.read_only or not queues:
        abort(403)
    ticket, error = attempt_validated(lambda: _open(session, agent, queues))
    if ticket is None:
        errors = (error.translated_errors(gettext) or {"_form": [error.translated(gettext)]}) if error else {}
        return _render(queues, status=422, errors=errors)
    flash_done(_("Phone ticket %(number)s was created.", number=ticket.number))
    return back_to(url_for("ticket_view.view", ticket_id=ticket.id))


def _read_form(queues: list[Queue]) -> tuple[Queue, str, str, str]:
    """The form's values; raises a ValidationError naming every bad field."""
    errors: dict[str, list[str]] = {}
    raw_queue = request.form.get("queue", "")
    queue = next((q for q in queues if str(q.id) == raw_queue), None)
    if queue is None:
        errors["queue"] = [_("Choose a queue.")]
    email = request.form.get("customer_email", "").strip()
    if "@" not in email or len(email) > MAX_EMAIL or any(ch.isspace() for ch in email):
        errors["customer_email"] = [_("Enter the customer's e-mail address.")]
    title = request.form.get("title", "").strip()
    if not title:
        errors["title"] = [_("Enter a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("At most %(count)s characters.", count=MAX_TITLE)]
    body = request.form.get("body", "")
    if not body.strip():
        errors["body"] = [_("Write down what the customer said.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [_("At most %(count)s characters.", count=MAX_BODY)]
    if errors or queue is None:
        raise ValidationError("invalid phone ticket", errors=errors)
    return queue, email, title, body


def _customer(session: Session, email: str) -> CustomerUser:
    found = customer_service.find_by_email(session, email=email)
    if found is not None:
        return found
    # Creating customer users is administration (it needs the admin group), but an agent
    # taking a call from someone new only records who called, as the mail gateway does for
    # an unknown sender: so the unknown caller is created by the system, not by the agent.
    return customer_service.create_customer_user(session, actor=SYSTEM, email=email)


def _open(session: Session, agent: Agent, queues: list[Queue]) -> Ticket:
    queue, email, title, body = _read_form(queues)
    # The agent's right on the queue first: an agent who may not open tickets there learns
    # that (403), and no customer is created for a ticket that cannot exist.
    permissions.require_queue(session, agent, queue, "create")
    customer = _customer(session, email)
    first = ArticleDraft(
        channel="phone",
        sender_type="customer",
        visible_for_customer=True,
        subject=title,
        body_text=body,
        from_addr=customer.email,
    )
    opened = open_ticket(session, actor=agent, title=title, queue=queue, customer_user=customer, first=first)
    return opened.ticket
