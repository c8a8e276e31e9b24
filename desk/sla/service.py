"""Service levels: administration, and the due times of a ticket.

Which level applies: the ticket's own (``ticket.service_level_id``), else the first valid
service-level rule that matches it (:mod:`desk.sla.rules`, by position), else its service's
(:mod:`desk.services`), else its customer company's (the contracted level), else its queue's; a
queue without a level but with minute targets counts them round the clock.  Due times follow
:mod:`desk.sla.due` from the ticket's articles: the first response is the first article an
agent made visible to the customer, an update is owed while the customer's newest message is
unanswered.  While the ticket is pending and the level pauses, no due time runs; the working
minutes it spent there push every due time back when it is open again.

:func:`refresh` writes the due times with a plain ``UPDATE`` (not through the ORM's version
counter): the sweep that calls it must never turn an agent's concurrent change into a
conflict, and the columns it writes are its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import NotFound, ValidationError
from desk.actor import Actor
from desk.article.models import Article
from desk.audit import service as audit
from desk.calendar.hours import WorkingCalendar
from desk.calendar.models import BusinessCalendar
from desk.permission.service import require_admin
from desk.sla import rules
from desk.sla.due import ALWAYS, DueTimes, Targets, TicketClock, due_times
from desk.sla.models import ServiceLevel, ServiceLevelRule
from desk.ticket.models import Ticket

PENDING_TYPES = ("pending_reminder", "pending_auto")
ENDED_TYPES = ("closed", "merged")
TARGETS = ("first_response", "update", "solution")


@dataclass(frozen=True)
class Applied:
    """The calendar and targets that apply to one ticket, and whether pending pauses them."""

    calendar: WorkingCalendar
    targets: Targets
    pauses: bool
    level: ServiceLevel | None
    # The rule that chose ``level`` (None: the ticket's own, its service's, company's or queue's).
    rule: ServiceLevelRule | None = None


def _snapshot(level: ServiceLevel) -> dict[str, object]:
    return {
        "name": level.name,
        "calendar_id": level.calendar_id,
        "first_response_minutes": level.first_response_minutes,
        "update_minutes": level.update_minutes,
        "solution_minutes": level.solution_minutes,
        "notify_before_percent": level.notify_before_percent,
        "pause_while_pending": level.pause_while_pending,
        "valid": level.valid,
    }


def _check(
    session: Session,
    *,
    name: str,
    calendar_id: int | None,
    minutes: Sequence[int],
    notify_before_percent: int,
    level_id: int | None = None,
) -> str:
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["a name is required"]
    else:
        clash = select(ServiceLevel.id).where(ServiceLevel.name == name)
        if level_id is not None:
            clash = clash.where(ServiceLevel.id != level_id)
        if session.scalar(clash) is not None:
            errors["name"] = ["a service level with this name exists"]
    if calendar_id is not None and session.get(BusinessCalendar, calendar_id) is None:
        errors["calendar_id"] = ["no such calendar"]
    for field, value in zip(
        ("first_response_minutes", "update_minutes", "solution_minutes"), minutes, strict=True
    ):
        if not 0 <= value <= 10 * 365 * 24 * 60:
            errors[field] = ["minutes from 0 (no target) to ten years"]
    if not 0 <= notify_before_percent <= 100:
        errors["notify_before_percent"] = ["a percentage from 0 to 100"]
    if errors:
        raise ValidationError("the service level is not valid", errors=errors)
    return name


def create_level(
    session: Session,
    *,
    actor: Actor,
    name: str,
    calendar_id: int | None = None,
    first_response_minutes: int = 0,
    update_minutes: int = 0,
    solution_minutes: int = 0,
    notify_before_percent: int = 0,
    pause_while_pending: bool = True,
    comment: str = "",
) -> ServiceLevel:
    """Add a service level (administrators only)."""
    require_admin(session, actor)
    name = _check(
        session,
        name=name,
        calendar_id=calendar_id,
        minutes=(first_response_minutes, update_minutes, solution_minutes),
        notify_before_percent=notify_before_percent,
    )
    level = ServiceLevel(
        name=name,
        calendar_id=calendar_id,
        first_response_minutes=first_response_minutes,
        update_minutes=update_minutes,
        solution_minutes=solution_minutes,
        notify_before_percent=notify_before_percent,
        pause_while_pending=pause_while_pending,
        comment=comment,
    )
    session.add(level)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="service_level",
        object_id=level.id,
        object_label=level.name,
        action="create",
        new=_snapshot(level),
    )
    return level


def update_level(
    session: Session,
    *,
    actor: Actor,
    level_id: int,
    name: str,
    calendar_id: int | None,
    first_response_minutes: int,
    update_minutes: int,
    solution_minutes: int,
    notify_before_percent: int,
    pause_while_pending: bool,
    valid: bool = True,
) -> ServiceLevel:
    """Change a level; running tickets get new due times at their next refresh."""
    require_admin(session, actor)
    level = get_level(session, level_id)
    if level is None:
        raise NotFound(f"service level {level_id} does not exist")
    name = _check(
        session,
        name=name,
        calendar_id=calendar_id,
        minutes=(first_response_minutes, update_minutes, solution_minutes),
        notify_before_percent=notify_before_percent,
        level_id=level.id,
    )
    before = _snapshot(level)
    level.name, level.calendar_id = name, calendar_id
    level.first_response_minutes, level.update_minutes = first_response_minutes, update_minutes
    level.solution_minutes, level.notify_before_percent = solution_minutes, notify_before_percent
    level.pause_while_pending, level.valid = pause_while_pending, valid
    session.flush()
    old, new = audit.changes(before, _snapshot(level))
    if new:
        audit.record(
            session,
            actor=actor,
            object_type="service_level",
            object_id=level.id,
            object_label=level.name,
            action="update",
            old=old,
            new=new,
        )
        # Every ticket under this level is recomputed by the next sweep.
        session.execute(
            update(Ticket).values(escalation_computed_at=None).execution_options(synchronize_session=False)
        )
    return level


def get_level(session: Session, level_id: int) -> ServiceLevel | None:
    """One level by id (None for an id that names nothing, also one beyond 32 bits)."""
    return session.get(ServiceLevel, level_id) if 0 < level_id < 2**31 else None


def list_levels(session: Session) -> Sequence[ServiceLevel]:
    """Every valid level by name."""
    return session.scalars(
        select(ServiceLevel).where(ServiceLevel.valid.is_(True)).order_by(ServiceLevel.name)
    ).all()


def applied(session: Session, ticket: Ticket) -> Applied | None:
    """What applies to ``ticket``, the first level found in this order:

    1. the ticket's own level (``ticket.service_level_id``, set by an agent or a process);
    2. the first valid service-level rule, by position, whose conditions all match and whose
       level is active (:func:`desk.sla.rules.choose`: one statement for every rule);
    3. its service's level, 4. its customer company's, 5. its queue's.

    An inactive level found at 1, 3, 4 or 5 ends the search as before (no level).  A queue
    without a level but with minute targets counts them round the clock.
    """
    rule = rules.choose(session, ticket) if ticket.service_level_id is None else None
    level_id = ticket.service_level_id or (rule.level_id if rule is not None else None)
    if level_id is None:
        company = ticket.customer_company
        service = ticket.service if ticket.service_id is not None else None
        level_id = (
            (service.service_level_id if service is not None else None)
            or (company.service_level_id if company is not None else None)
            or ticket.queue.service_level_id
        )
    level = session.get(ServiceLevel, level_id) if level_id is not None else None
    if level is not None and level.valid:
        calendar = level.calendar.working_calendar() if level.calendar is not None else ALWAYS
        targets = Targets(
            first_response_minutes=level.first_response_minutes,
            update_minutes=level.update_minutes,
            solution_minutes=level.solution_minutes,
            notify_before_percent=level.notify_before_percent,
        )
        return Applied(
            calendar=calendar, targets=targets, pauses=level.pause_while_pending, level=level, rule=rule
        )
    queue = ticket.queue
    if queue.first_response_minutes or queue.update_minutes or queue.solution_minutes:
        targets = Targets(
            first_response_minutes=queue.first_response_minutes,
            update_minutes=queue.update_minutes,
            solution_minutes=queue.solution_minutes,
        )
        return Applied(calendar=ALWAYS, targets=targets, pauses=True, level=None)
    return None


def clock_of(session: Session, ticket: Ticket) -> TicketClock:
    """The ticket's clock from its articles (see the module's rules)."""
    rows = session.execute(
        select(Article.sender_type, Article.is_visible_for_customer, Article.created_at)
        .where(Article.ticket_id == ticket.id)
        .order_by(Article.created_at, Article.id)
    ).all()
    first_response: datetime | None = None
    unanswered: datetime | None = None
    for sender_type, visible, created_at in rows:
        if sender_type == "agent" and visible:
            first_response = first_response or created_at
            unanswered = None
        elif sender_type == "customer" and unanswered is None:
            unanswered = created_at
    return TicketClock(
        opened_at=ticket.created_at,
        first_response_at=first_response,
        unanswered_since=unanswered,
        closed=ticket.state.type in ENDED_TYPES,
        paused_minutes=ticket.escalation_paused_minutes or 0,
    )


def refresh(session: Session, ticket: Ticket, *, now: datetime) -> DueTimes:
    """Compute and store the ticket's due times and its next escalation event."""
    rules = applied(session, ticket)
    # changed_at is kept: the column's onupdate would make every refresh look like a change.
    values: dict[str, object] = {"escalation_computed_at": now, "changed_at": ticket.changed_at}
    paused_since = ticket.escalation_paused_since
    paused_minutes = ticket.escalation_paused_minutes or 0
    pending = ticket.state.type in PENDING_TYPES
    if rules is not None and rules.pauses and pending:
        if paused_since is None:
            values["escalation_paused_since"] = paused_since = now
        due = DueTimes()  # nothing runs while the customer is waited for
    else:
        if paused_since is not None:
            calendar = rules.calendar if rules is not None else ALWAYS
            paused_minutes += calendar.working_minutes_between(paused_since, now)
            values["escalation_paused_since"] = None
            values["escalation_paused_minutes"] = paused_minutes
        due = DueTimes()
        if rules is not None:
            clock = replace(clock_of(session, ticket), paused_minutes=paused_minutes)
            due = due_times(rules.calendar, rules.targets, clock)
    notified = set((ticket.escalation_notified or "").split())
    # A target that no longer runs (answered, closed) may run again later: forget its events.
    for target in TARGETS:
        if getattr(due, f"{target}_due") is None:
            notified -= {f"{target}_warn", f"{target}_breach"}
    values.update(
        first_response_due=due.first_response_due,
        update_due=due.update_due,
        solution_due=due.solution_due,
        escalation_notified=" ".join(sorted(notified)),
        escalation_next_event_at=next_event(due, notified),
    )
    session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # Keep the loaded object in step without marking it dirty (no version bump on flush).
    for key, value in values.items():
        set_committed_value(ticket, key, value)
    return due


def events(due: DueTimes) -> list[tuple[str, datetime]]:
    """Every (event, time) of the due times: ``first_response_warn``, ``…_breach`` …"""
    found: list[tuple[str, datetime]] = []
    for target in TARGETS:
        warn, breach = getattr(due, f"{target}_warn"), getattr(due, f"{target}_due")
        if warn is not None:
            found.append((f"{target}_warn", warn))
        if breach is not None:
            found.append((f"{target}_breach", breach))
    return found


def next_event(due: DueTimes, notified: set[str]) -> datetime | None:
    """The earliest event not told yet."""
    times = [when for name, when in events(due) if name not in notified]
    return min(times) if times else None


def assign_queues(session: Session, *, actor: Actor, level_id: int, queue_ids: Sequence[int]) -> list[str]:
    """Make ``level_id`` the level of exactly these queues; returns the queue names."""
    from desk.queue.models import Queue

    require_admin(session, actor)
    level = get_level(session, level_id)
    if level is None:
        raise NotFound(f"service level {level_id} does not exist")
    wanted = set(queue_ids)
    before: list[str] = []
    after: list[str] = []
    for queue in session.scalars(select(Queue).order_by(Queue.name)):
        if queue.service_level_id == level.id:
            before.append(queue.name)
        if queue.id in wanted:
            queue.service_level_id = level.id
            after.append(queue.name)
        elif queue.service_level_id == level.id:
            queue.service_level_id = None
    session.flush()
    if before != after:
        audit.record(
            session,
            actor=actor,
            object_type="service_level",
            object_id=level.id,
            object_label=level.name,
            action="assign_queues",
            old={"queues": before},
            new={"queues": after},
        )
        session.execute(
            update(Ticket).values(escalation_computed_at=None).execution_options(synchronize_session=False)
        )
    return after
