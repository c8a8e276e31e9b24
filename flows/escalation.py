"""Escalations: due times kept current, warnings and breaches told once each.

The sweep (:func:`flows.jobs.sweep_escalations`) first recomputes the due times of every
ticket that changed since they were computed (a new article, a state change, a move, a new
service level), then acts on every ticket whose next escalation event has come: a warning
before a due time (the level's *notify before* share) and the breach itself.  Each event is
told once: a history row (OTRS's ``Escalation…NotifyBefore`` / ``Escalation…Start``), a mail
to the ticket's owner and responsible (the queue's agents when it has neither), stored as an
internal article so the thread shows it, and the BPMN message ``sla_warning`` or
``sla_breached`` to the ticket's processes that wait for it (a boundary message event that
moves the ticket to 2nd level, say).  Answering the customer ends the first-response and
update targets; their events are forgotten and may come again when the customer writes again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.i18n import N_, format_datetime, translator
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import reply as article_mail
from desk.history import service as history
from desk.history.models import History
from desk.permission import service as permissions
from desk.sla import service as sla
from desk.sla.due import DueTimes
from desk.ticket.models import State, Ticket
from engine import runtime, task_projection
from engine.models import HumanTask
from flows import notifications
from flows.process_events import running_instances

log = logging.getLogger(__name__)

SLA_WARNING = "sla_warning"
SLA_BREACHED = "sla_breached"
_HISTORY = {
    "first_response_warn": "EscalationResponseTimeNotifyBefore",
    "update_warn": "EscalationUpdateTimeNotifyBefore",
    "solution_warn": "EscalationSolutionTimeNotifyBefore",
    "first_response_breach": "EscalationResponseTimeStart",
    "update_breach": "EscalationUpdateTimeStart",
    "solution_breach": "EscalationSolutionTimeStart",
}
# What the mail (and the history comment, in English) says, per target and kind: whole
# sentences, so every language can order its words.
_TEXT = {
    ("first_response", "warn"): N_("The first response time of ticket %(number)s runs out at %(when)s."),
    ("update", "warn"): N_("The update time of ticket %(number)s runs out at %(when)s."),
    ("solution", "warn"): N_("The solution time of ticket %(number)s runs out at %(when)s."),
    ("first_response", "breach"): N_(
        "The first response time of ticket %(number)s ran out at %(when)s: the ticket escalates."
    ),
    ("update", "breach"): N_(
        "The update time of ticket %(number)s ran out at %(when)s: the ticket escalates."
    ),
    ("solution", "breach"): N_(
        "The solution time of ticket %(number)s ran out at %(when)s: the ticket escalates."
    ),
}
_SUBJECT = {"warn": N_("[Escalation warning] %(title)s"), "breach": N_("[Escalation] %(title)s")}
_FOOTER = N_("Queue: %(queue)s")
_TICKET_LINE = N_("Ticket: %(number)s %(title)s")


def stale_tickets(session: Session, *, limit: int = 500) -> list[int]:
    """Tickets whose due times were never computed or changed since."""
    changed_since = exists().where(
        History.ticket_id == Ticket.id, History.created_at > Ticket.escalation_computed_at
    )
    return list(
        session.scalars(
            select(Ticket.id)
            .join(State, State.id == Ticket.state_id)
            .where(
                or_(
                    Ticket.escalation_computed_at.is_(None),
                    Ticket.changed_at > Ticket.escalation_computed_at,
                    changed_since,
                ),
                # Ended tickets need one computation (to clear their due times), never more.
                or_(State.type.not_in(sla.ENDED_TYPES), Ticket.escalation_computed_at.is_(None)),
            )
            .order_by(Ticket.id)
            .limit(limit)
        )
    )


def due_tickets(session: Session, *, now: datetime) -> list[int]:
    """Tickets with an escalation event due at ``now``, earliest first."""
    return list(
        session.scalars(
            select(Ticket.id)
            .where(Ticket.escalation_next_event_at.is_not(None), Ticket.escalation_next_event_at <= now)
            .order_by(Ticket.escalation_next_event_at, Ticket.id)
        )
    )


def refresh(session: Session, *, ticket_id: int, now: datetime) -> DueTimes | None:
    """Recompute one ticket's due times (see :func:`desk.sla.service.refresh`)."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    return _refresh(session, ticket, now)


def _refresh(session: Session, ticket: Ticket, now: datetime) -> DueTimes:
    due = sla.refresh(session, ticket, now=now)
    # The due times were written without the ORM (no version bump), so the inbox's copy on
    # the open tasks (engine.task_projection) is carried here, the same way.
    escalation_due = task_projection.escalation_of(ticket)
    session.execute(
        update(HumanTask)
        .where(HumanTask.ticket_id == ticket.id, HumanTask.state == "open")
        .values(escalation_due=escalation_due)
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, HumanTask) and obj.ticket_id == ticket.id:
            set_committed_value(obj, "escalation_due", escalation_due)
    return due


def escalate(session: Session, *, ticket_id: int, now: datetime) -> list[str]:
    """Tell every escalation event of one ticket that has come and was not told; returns them."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return []
    due = _refresh(session, ticket, now)
    notified = set(ticket.escalation_notified.split())
    told: list[str] = []
    for event, when in sorted(sla.events(due), key=lambda item: item[1]):
        if when > now or event in notified:
            continue
        target, kind = event.rsplit("_", 1)
        if kind == "warn" and f"{target}_breach" in notified:
            continue
        # A warning names the time that runs out (the due time), not its own moment.
        deadline = getattr(due, f"{target}_due", None) or when
        _tell(session, ticket=ticket, target=target, kind=kind, when=when, deadline=deadline)
        notified.add(event)
        told.append(event)
    if told:
        values = {
            "escalation_notified": " ".join(sorted(notified)),
            "escalation_next_event_at": sla.next_event(due, notified),
        }
        session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(**values, changed_at=ticket.changed_at)
            .execution_options(synchronize_session=False)
        )
        for key, value in values.items():
            set_committed_value(ticket, key, value)
    return told


def _people(session: Session, ticket: Ticket) -> list[Agent]:
    people = {a.id: a for a in (ticket.owner, ticket.responsible) if a is not None and a.active}
    if not people:
        for agent in session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id)):
            if not agent.read_only and permissions.has_queue_permission(session, agent, ticket.queue, "rw"):
                people[agent.id] = agent
    return list(people.values())


def _tell(
    session: Session, *, ticket: Ticket, target: str, kind: str, when: datetime, deadline: datetime
) -> None:
    msgid = _TEXT[(target, kind)]
    text = msgid % {"number": ticket.number, "when": deadline.strftime("%Y-%m-%d %H:%M UTC")}
    people = _people(session, ticket)
    names = ", ".join(a.login for a in people) or "nobody"
    history.record(
        session,
        ticket=ticket,
        actor=SYSTEM,
        type=_HISTORY[f"{target}_{kind}"],
        new=when.isoformat(),
        comment=f"{text} Told: {names}.",
    )
    notifications.escalated(
        session, agents=people, ticket=ticket, kind=kind, text=msgid, when=when.isoformat()
    )
    # One mail per language and time zone: each reader gets it in their own (usually one mail).
    readers: dict[tuple[str, str], list[Agent]] = {}
    for person in people:
        if person.email:
            readers.setdefault((person.language or "en", person.time_zone or "UTC"), []).append(person)
    for (language, zone), group in readers.items():
        _ = translator(language)
        stamp = format_datetime(deadline, language=language, zone=zone)
        body = _(msgid, number=ticket.number, when=stamp)
        footer = _(_FOOTER, queue=ticket.queue.name)
        line = _(_TICKET_LINE, number=ticket.number, title=ticket.title)
        article_mail.mail_article(
            session,
            actor=SYSTEM,
            ticket=ticket,
            to_addr=", ".join(a.email for a in group),
            subject=_(_SUBJECT[kind], title=ticket.title),
            body_text=f"{body}\n\n{footer}\n{line}\n",
            visible_for_customer=False,
            sender_type="system",
            auto_submitted="auto-generated",
        )
    message = SLA_BREACHED if kind == "breach" else SLA_WARNING
    for instance in running_instances(session, ticket=ticket):
        if message in (instance.waiting_messages or []):
            runtime.deliver_message(
                session,
                ticket=ticket,
                name=message,
                payload={"target": target, "due": when.isoformat()},
                instance_id=instance.id,
            )
