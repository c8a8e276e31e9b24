"""Actions on a ticket: each a small form posting to ``/tickets/<id>/<action>``.

Every action loads the ticket (read permission), reads its form, calls one service and
redirects back to the ticket with a message.  A refusal by the service is flashed (and its
half-done changes rolled back); a missing permission is the 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from flask import Blueprint, abort, make_response, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from desk.agent.models import Agent
from desk.article.models import Article
from desk.article.service import AttachmentDraft
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.services import service as service_admin
from desk.ticket import service as ticket_service
from desk.ticket.models import State, Ticket
from flows import forward as forward_flow
from flows import merge as merge_flow
from flows import note as note_flow
from flows import reply as reply_flow
from flows import state as state_flow
from flows import ticket_fields as fields
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.tickets import formstate, taskforms
from web.tickets import views as ticket_views
from web.tickets.support import _, attempt, back_to, check_id, flash_done

bp = Blueprint("ticket_actions", __name__)

MAX_BODY = 100_000
MAX_ATTACHMENTS = 20

# Actions with a form the agent fills in: a refusal shows the form again as typed (with
# the errors beside the fields) instead of a message above an empty form.
FORM_ACTIONS = frozenset(
    {"reply", "note", "phone", "forward", "move", "owner", "responsible", "state", "priority"}
    | {"merge", "link", "split", "service"}
)

M = TypeVar("M", Queue, Agent, State)
Action = Callable[[Session, Agent, Ticket], str]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    """Register an action; it returns the success message."""

    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


@bp.post("/tickets/<int:ticket_id>/<name>")
@login_required
def run(ticket_id: int, name: str) -> ResponseReturnValue:
    """Run the action ``name`` on the ticket."""
    handler = ACTIONS.get(name)
    if handler is None:
        abort(404)
    session = get_db()
    agent = current_agent()
    if agent.read_only:
        # Observers read everything and change nothing; refuse before reading any input.
        raise PermissionDenied(f"{agent.login} is a read-only observer and cannot change anything")
    ticket = ticket_service.get_ticket(session, actor=agent, ticket_id=check_id(ticket_id))
    if name not in FORM_ACTIONS:
        ok, message = attempt(lambda: handler(session, agent, ticket))
        if ok and message:
            flash_done(message)
        return back_to(url_for("ticket_view.view", ticket_id=ticket.id))
    message, error = taskforms.attempt_form(session, lambda: handler(session, agent, ticket))
    if error is not None:
        # Refused: the page (or, to htmx, the form alone) comes back as the agent typed it,
        # the errors beside the fields; nothing was written.
        state = formstate.remember(name, request.form, error)
        session.refresh(ticket)
        if taskforms.is_htmx():
            fragment = make_response(ticket_views.action_form(ticket.id, formstate.panel_of(state.action)))
            fragment.status_code = 422
            return fragment
        return ticket_views.render_ticket(ticket, status=422)
    if message:
        flash_done(message)
    return back_to(url_for("ticket_view.view", ticket_id=ticket.id))


# --- reading the forms -------------------------------------------------------------------


def _text(name: str, *, required: bool = True) -> str:
    value = request.form.get(name, "")
    if len(value) > MAX_BODY:
        raise ValidationError("too long", errors={name: [f"at most {MAX_BODY} characters"]})
    if required and not value.strip():
        raise ValidationError("empty field", errors={name: ["this field is required"]})
    return value


def _int(name: str) -> int:
    try:
        return check_id(int(request.form.get(name, "")))
    except ValueError:
        raise ValidationError("invalid choice", errors={name: ["choose one"]}) from None


def _load(session: Session, model: type[M], name: str) -> M:
    found = session.get(model, _int(name))
    if found is None:
        raise ValidationError("invalid choice", errors={name: ["choose one of the list"]})
    return found


def _optional_id(name: str) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError("invalid choice", errors={name: ["choose one of the list"]})
    return int(raw)


def _attachments() -> list[AttachmentDraft]:
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError("too many files", errors={"attachments": [f"at most {MAX_ATTACHMENTS}"]})
    return [
        AttachmentDraft(
            # As the API does: the tail keeps the extension; the column holds 1,000.
            filename=(f.filename or "attachment")[-255:],
            content_type=(f.mimetype or "application/octet-stream")[:255],
            data=f.read(),
        )
        for f in files
    ]


def _pending_until() -> datetime | None:
    raw = request.form.get("pending_until", "").strip()
    if not raw:
        return None
    try:
        # The datetime-local input has no zone; the page says the time is UTC.
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError("invalid time", errors={"pending_until": ["enter a date and time"]}) from None


# --- the actions -------------------------------------------------------------------------


@action("reply")
def reply(session: Session, agent: Agent, ticket: Ticket) -> str:
    """E-mail the customer (visible; auto-locks; the mail goes to the outbox)."""
    reply_flow.reply(
        session,
        actor=agent,
        ticket=ticket,
        body_text=_text("body"),
        subject=request.form.get("subject", "")[:500],
        attachments=_attachments(),
        # The standard template chosen above the form: its files go along.
        template_id=_optional_id("template_id"),
        time_units=request.form.get("time_units"),
    )
    return _("Your reply was sent to the customer.")


@action("note")
def note(session: Session, agent: Agent, ticket: Ticket) -> str:
    """An internal note (never shown to the customer)."""
    note_flow.note(
        session,
        actor=agent,
        ticket=ticket,
        subject=request.form.get("subject", "")[:500],
        body_text=_text("body"),
        attachments=_attachments(),
        time_units=request.form.get("time_units"),
    )
    return _("The note was added.")


@action("phone")
def phone(session: Session, agent: Agent, ticket: Ticket) -> str:
    """A phone call with the customer, visible to them."""
    note_flow.phone_note(
        session,
        actor=agent,
        ticket=ticket,
        subject=request.form.get("subject", "")[:500],
        body_text=_text("body"),
        time_units=request.form.get("time_units"),
    )
    return _("The phone note was added.")


@action("move")
def move(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Move the ticket to another queue: one of those offered (a forged one is a field error)."""
    # The right on this queue first: without it the agent learns that, not that the choice is bad.
    permissions.require_queue(session, agent, ticket.queue, "move_into")
    queue = _load(session, Queue, "queue")
    offered = {q.id for q in permissions.queues_with(session, agent, "move_into") if q.valid}
    if queue.id not in offered or queue.id == ticket.queue_id:
        raise ValidationError("invalid choice", errors={"queue": [N_("choose one of the offered queues")]})
    fields.move(session, actor=agent, ticket=ticket, queue=queue, comment=request.form.get("comment", ""))
    return _("The ticket was moved to %(queue)s.", queue=queue.name)


@action("owner")
def owner(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Make another agent the owner."""
    new = _load(session, Agent, "agent")
    fields.set_owner(session, actor=agent, ticket=ticket, owner=new)
    return _("%(name)s is now the owner.", name=new.full_name)


@action("responsible")
def responsible(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Make another agent responsible."""
    new = _load(session, Agent, "agent")
    fields.set_responsible(session, actor=agent, ticket=ticket, responsible=new)
    return _("%(name)s is now responsible.", name=new.full_name)


@action("state")
def state(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Change the state (pending states with their time); a close ends the ticket's processes."""
    new = _load(session, State, "state")
    state_flow.set_state(session, actor=agent, ticket=ticket, state=new, pending_until=_pending_until())
    return _("The state is now %(state)s.", state=new.name)


@action("priority")
def priority(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Change the priority."""
    try:
        value = int(request.form.get("priority", ""))
    except ValueError:
        raise ValidationError("invalid priority", errors={"priority": ["must be 1 to 5"]}) from None
    fields.set_priority(session, actor=agent, ticket=ticket, priority=value)
    return _("The priority was changed.")


@action("service")
def service(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Set the ticket's service (empty: none); its service level may change with it."""
    chosen = _optional_id("service_id")
    found = service_admin.get_service(session, chosen) if chosen is not None else None
    if chosen is not None and found is None:
        raise ValidationError("invalid choice", errors={"service_id": ["choose one of the list"]})
    fields.set_service(session, actor=agent, ticket=ticket, service=found)
    return _("The service was changed.")


@action("lock")
def lock(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Lock the ticket for oneself."""
    fields.lock(session, actor=agent, ticket=ticket)
    return _("The ticket is locked for you.")


@action("unlock")
def unlock(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Release the lock, whoever holds it (S14)."""
    fields.unlock(session, actor=agent, ticket=ticket)
    return _("The ticket is unlocked.")


def _target(session: Session, agent: Agent) -> Ticket:
    number = request.form.get("number", "").strip()
    if not number:
        raise ValidationError("no ticket number", errors={"number": ["enter a ticket number"]})
    try:
        return ticket_service.get_by_number(session, actor=agent, number=number[:40])
    except NotFound:
        raise ValidationError("unknown ticket", errors={"number": [f"no ticket {number[:40]}"]}) from None


@action("merge")
def merge(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Merge this ticket into another one."""
    # The right first: an agent who may not merge learns that, not that the number is wrong.
    permissions.require_queue(session, agent, ticket.queue, "rw")
    target = _target(session, agent)
    merge_flow.merge(session, actor=agent, ticket=ticket, into=target)
    return _("The ticket was merged into %(number)s.", number=target.number)


@action("link")
def link(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Link this ticket to another one."""
    permissions.require_queue(session, agent, ticket.queue, "rw")
    target = _target(session, agent)
    kind = request.form.get("kind", "normal")
    merge_flow.link(session, actor=agent, source=ticket, target=target, kind=kind)
    return _("The ticket was linked to %(number)s.", number=target.number)


@action("split")
def split(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Copy an article of this ticket into a new child ticket (OTRS split)."""
    permissions.require_queue(session, agent, ticket.queue, "rw")
    article = session.get(Article, _int("article"))
    if article is None or article.ticket_id != ticket.id:
        raise ValidationError("no article", errors={"article": ["choose an article of this ticket"]})
    title = request.form.get("title", "").strip()[:255] or None
    child = merge_flow.split(session, actor=agent, article=article, title=title)
    return _("The article was split into the new ticket %(number)s.", number=child.number)


@action("forward")
def forward(session: Session, agent: Agent, ticket: Ticket) -> str:
    """Forward an article (default: the newest) to an e-mail address, with an optional comment.

    Forwarding goes to a third party (a supplier, a specialist), not to the customer: so it
    needs ``rw`` on the queue, and *may contact customers* only when the address is a
    customer's (the ticket's customer, an address the customer copied in, any customer user:
    refused by ``mail_article`` with the 403 page, nothing written).  The forwarded mail, with
    the article's attachments, is kept as an internal e-mail article, never shown to the
    customer.  The mail goes to the outbox in the same transaction, with the ticket number in
    its subject.
    """
    raw_article = request.form.get("article", "").strip()
    forwarded = forward_flow.forward(
        session,
        actor=agent,
        ticket=ticket,
        to_addr=request.form.get("to", ""),
        article_id=_int("article") if raw_article else None,
        comment=_text("comment", required=False),
    )
    to_addr = forwarded.to_addr
    return _("The article was forwarded to %(address)s.", address=to_addr)
