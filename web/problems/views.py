"""``/tickets/<id>/problem``: link incidents (search and select many, or "belongs to problem"
from the incident), write one message to every reporter, close the problem (and its
incidents).  Each form calls one use case of :mod:`flows.problem`; a refused form comes back
with its errors and values (422), a missing right is the 403 page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.errors import NotFound, ValidationError
from desk.problem import service as problems
from desk.problem.models import ProblemRecipient
from desk.ticket import search as ticket_search
from desk.ticket import service as ticket_service
from desk.ticket.models import Ticket
from flows import problem as problem_flow
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db
from web.tickets.support import MAX_ID, back_to, check_id, flash_done

bp = Blueprint("problem", __name__)

MAX_BODY = 100_000
MAX_SELECTED = 500


def _ticket(ticket_id: int) -> Ticket:
    return ticket_service.get_ticket(get_db(), actor=current_agent(), ticket_id=check_id(ticket_id))


def _render(
    ticket: Ticket, *, status: int = 200, errors: dict[str, str] | None = None, form: object = None
) -> Response:
    session, agent = get_db(), current_agent()
    incidents = problems.incidents_of(session, actor=agent, problem=ticket)
    linked = {t.id for t in incidents}
    words = request.args.get("words", "").strip()[: ticket_search.MAX_WORDS_LENGTH]
    found: list[Ticket] = []
    if words:
        criteria = ticket_search.SearchCriteria(words=words)
        found = [
            t
            for t in ticket_search.search_tickets(session, actor=agent, criteria=criteria, limit=100)
            if t.id != ticket.id and t.id not in linked
        ]
    page = render_template(
        "problems/page.html",
        ticket=ticket,
        incidents=incidents,
        problems_of=problems.problems_of(session, actor=agent, incident=ticket),
        deliveries=problems.deliveries(session, actor=agent, problem=ticket),
        words=words,
        found=found,
        errors=errors or {},
        form=form or {},
    )
    return Response(page, status=status)


@bp.get("/tickets/<int:ticket_id>/problem")
@login_required
def page(ticket_id: int) -> ResponseReturnValue:
    """The ticket as a problem: its incidents, their delivery states, the forms."""
    return _render(_ticket(ticket_id))


def _selected_ids() -> list[int]:
    raw = request.form.getlist("incident")
    if not raw:
        raise ValidationError(
            "nothing selected", errors={"incident": [gettext("Select at least one ticket.")]}
        )
    if len(raw) > MAX_SELECTED:
        raise ValidationError(
            "too many", errors={"incident": [gettext("At most %(count)s tickets.", count=MAX_SELECTED)]}
        )
    ids = []
    for value in raw:
        if not (value.isascii() and value.isdigit() and len(value) <= 10) or not 0 < int(value) <= MAX_ID:
            raise ValidationError("invalid", errors={"incident": [gettext("Select tickets from the list.")]})
        ids.append(int(value))
    return ids


def _run(ticket: Ticket, action: Callable[[], None]) -> ResponseReturnValue | None:
    """Run a form's use case in a savepoint; a ValidationError gives the page back with 422."""
    session = get_db()
    try:
        with session.begin_nested():
            action()
    except ValidationError as exc:
        errors = {field: "; ".join(messages) for field, messages in exc.errors.items()} or {
            "_form": exc.message
        }
        return _render(ticket, status=422, errors=errors, form=request.form)
    return None


@bp.post("/tickets/<int:ticket_id>/problem/incidents")
@login_required
def link_incidents(ticket_id: int) -> ResponseReturnValue:
    """Link the selected tickets to this problem."""
    problem, agent, session = _ticket(ticket_id), current_agent(), get_db()

    def act() -> None:
        ids = _selected_ids()
        incidents = [ticket_service.get_ticket(session, actor=agent, ticket_id=i) for i in ids]
        problem_flow.link_incidents(session, actor=agent, problem=problem, incidents=incidents)
        flash_done(gettext("%(count)s ticket(s) linked to this problem.", count=len(incidents)))

    return _run(problem, act) or back_to(url_for("problem.page", ticket_id=problem.id))


@bp.post("/tickets/<int:ticket_id>/problem/belongs")
@login_required
def belongs_to(ticket_id: int) -> ResponseReturnValue:
    """Link this ticket, an incident, to the problem with the number typed in."""
    incident, agent, session = _ticket(ticket_id), current_agent(), get_db()

    def act() -> None:
        number = request.form.get("number", "").strip()
        try:
            problem = (
                ticket_service.get_by_number(session, actor=agent, number=number[:40]) if number else None
            )
        except NotFound:
            problem = None
        if problem is None:
            raise ValidationError("unknown", errors={"number": [gettext("No ticket with this number.")]})
        problem_flow.belongs_to(session, actor=agent, incident=incident, problem=problem)
        flash_done(gettext("This ticket now belongs to problem %(number)s.", number=problem.number))

    return _run(incident, act) or back_to(url_for("problem.page", ticket_id=incident.id))


def _body() -> str:
    body = request.form.get("body", "")
    if len(body) > MAX_BODY:
        raise ValidationError(
            "too long", errors={"body": [gettext("At most %(count)s characters.", count=MAX_BODY)]}
        )
    return body


@bp.post("/tickets/<int:ticket_id>/problem/message")
@login_required
def message(ticket_id: int) -> ResponseReturnValue:
    """Send one message to the reporter of every incident, each in their own ticket."""
    problem, agent, session = _ticket(ticket_id), current_agent(), get_db()

    def act() -> None:
        body = _body()
        if not body.strip():
            raise ValidationError("empty", errors={"body": [gettext("Write the message to the reporters.")]})
        sent = problem_flow.message_reporters(session, actor=agent, problem=problem, body_text=body)
        flash_done(gettext("The message went to %(count)s reporter(s).", count=_sent(sent.recipients)))

    return _run(problem, act) or back_to(url_for("problem.page", ticket_id=problem.id))


def _sent(recipients: list[ProblemRecipient]) -> int:
    return sum(1 for r in recipients if r.article_id is not None)


@bp.post("/tickets/<int:ticket_id>/problem/close")
@login_required
def close(ticket_id: int) -> ResponseReturnValue:
    """Close the problem; optionally its incidents too, with a message to their reporters."""
    problem, agent, session = _ticket(ticket_id), current_agent(), get_db()

    def act() -> None:
        problem_flow.close_problem(
            session,
            actor=agent,
            problem=problem,
            body_text=_body(),
            close_incidents=request.form.get("close_incidents") == "yes",
        )
        flash_done(gettext("The problem is closed."))

    return _run(problem, act) or back_to(url_for("problem.page", ticket_id=problem.id))
