"""Problem tickets (S9): group incidents under a problem, write once to every reporter.

Incidents are linked to the problem as its children (:func:`flows.merge.link` with
``parent_child``; true duplicates are merged instead).  A message written on the problem is
an answer in each incident's own thread: :func:`flows.reply.reply` per incident, so each mail
has that ticket's number in the subject, answers the reporter's last mail (In-Reply-To and
References), goes to that reporter alone and leaves through the outbox with its own delivery
state.  An incident that cannot be answered (no customer address, locked by another agent,
no right on its queue) does not stop the others: it is recorded with the reason.
The web page and the API call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from core.errors import TicketflowError
from desk.actor import Actor
from desk.history import service as history
from desk.problem import service as problems
from desk.problem.models import ProblemMessage
from desk.ticket.models import Ticket, TicketLink
from flows import merge, state
from flows import reply as reply_flow

PARENT_CHILD = problems.PARENT_CHILD
_DONE = ("closed", "merged")


def link_incidents(
    session: Session, *, actor: Actor, problem: Ticket, incidents: Sequence[Ticket]
) -> list[TicketLink]:
    """Link every ticket of ``incidents`` to ``problem`` as one of its incidents."""
    return [
        merge.link(session, actor=actor, source=problem, target=incident, kind=PARENT_CHILD)
        for incident in incidents
    ]


def belongs_to(session: Session, *, actor: Actor, incident: Ticket, problem: Ticket) -> TicketLink:
    """Link ``incident`` to ``problem`` (the incident's side of :func:`link_incidents`)."""
    return merge.link(session, actor=actor, source=problem, target=incident, kind=PARENT_CHILD)


def message_reporters(session: Session, *, actor: Actor, problem: Ticket, body_text: str) -> ProblemMessage:
    """Send ``body_text`` to the reporter of every incident of ``problem``, each in their ticket."""
    message = problems.start_message(session, actor=actor, problem=problem, body_text=body_text)
    for incident in problems.incidents_of(session, actor=actor, problem=problem):
        if incident.state.type == "merged":
            problems.add_recipient(
                session, message=message, ticket=incident, article=None, error="merged into another ticket"
            )
            continue
        try:
            # One savepoint per reporter: a refusal leaves nothing half-written for that
            # incident and the others still get their mail.
            with session.begin_nested():
                article = reply_flow.reply(
                    session, actor=actor, ticket=incident, body_text=body_text, subject=problem.title
                )
        except TicketflowError as exc:
            problems.add_recipient(session, message=message, ticket=incident, article=None, error=exc.message)
            continue
        problems.add_recipient(session, message=message, ticket=incident, article=article)
    sent = sum(1 for r in message.recipients if r.article_id is not None)
    history.record(
        session,
        ticket=problem,
        actor=actor,
        type="SendAnswer",
        new=f"problem message {message.id}",
        comment=f"message to the reporters of {sent} of {len(message.recipients)} incident(s)",
    )
    return message


def close_problem(
    session: Session, *, actor: Actor, problem: Ticket, body_text: str = "", close_incidents: bool = False
) -> ProblemMessage | None:
    """Close ``problem``; with ``close_incidents`` its open incidents too, with ``body_text``
    (when given) sent to every reporter first."""
    message = None
    if body_text.strip():
        message = message_reporters(session, actor=actor, problem=problem, body_text=body_text)
    if close_incidents:
        for incident in problems.incidents_of(session, actor=actor, problem=problem):
            if incident.state.type not in _DONE:
                state.close(session, actor=actor, ticket=incident, comment=f"problem {problem.number} solved")
    if problem.state.type not in _DONE:
        state.close(session, actor=actor, ticket=problem, comment="problem solved")
    return message
