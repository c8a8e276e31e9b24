"""The figures, as SQL aggregates with filters (date range, queues, agent, process).

Every function returns a :class:`Table` (column names and rows of plain values), which the
page draws as a chart and a table, the API returns as JSON and the export writes as CSV: the
three can never disagree.  Counts are ``GROUP BY`` queries; durations (first response,
solution, time at a process step) are fetched as one value per ticket or task and reduced
to median and 90th percentile here, the same on PostgreSQL and SQLite.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Float, Select, and_, cast, func, select
from sqlalchemy.orm import Session

from desk.agent.models import Agent
from desk.article.models import Article
from desk.history.models import History
from desk.queue.models import Queue
from desk.services.models import Service
from desk.ticket.models import State, Ticket
from desk.time_accounting.models import TimeAccounting
from engine.models import HumanTask, ProcessInstance, ProcessVersion

Value = str | int | float | None
Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Filters:
    """What the figures cover; ``None`` means everything."""

    start: date
    end: date  # inclusive
    queue_ids: Sequence[int] | None = None
    agent_id: int | None = None
    process_id: str | None = None
    process_version: int | None = None

    @property
    def since(self) -> datetime:
        """The first moment covered (UTC)."""
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first moment after the range (UTC)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)

    def days(self) -> list[date]:
        """Every day of the range."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Table:
    """A figure: a name, column names and rows."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Value, ...]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"name": self.name, "columns": list(self.columns), "rows": [list(r) for r in self.rows]}


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def median_p90(values: Iterable[float]) -> tuple[float | None, float | None]:
    """Median and 90th percentile (nearest-rank), None for no values."""
    data = sorted(values)
    if not data:
        return None, None
    rank = max(0, min(len(data) - 1, -(-len(data) * 9 // 10) - 1))
    return round(statistics.median(data), 1), round(data[rank], 1)


def _ticket_scope(query: Select[*Ts], filters: Filters) -> Select[*Ts]:
    if filters.queue_ids is not None:
        query = query.where(Ticket.queue_id.in_(filters.queue_ids))
    if filters.agent_id is not None:
        query = query.where(Ticket.owner_id == filters.agent_id)
    return query


def _day(column: Any) -> Any:
    return func.date(column)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def created_and_closed_per_day(session: Session, filters: Filters) -> Table:
    """Tickets opened and closed per day of the range."""
    created = _ticket_scope(
        select(_day(Ticket.created_at), func.count())
        .where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until)
        .group_by(_day(Ticket.created_at)),
        filters,
    )
    closed = _ticket_scope(
        select(_day(History.created_at), func.count(func.distinct(History.ticket_id)))
        .join(Ticket, Ticket.id == History.ticket_id)
        .join(State, and_(State.name == History.new_value, State.type == "closed"))
        .where(
            History.type == "StateUpdate",
            History.created_at >= filters.since,
            History.created_at < filters.until,
        )
        .group_by(_day(History.created_at)),
        filters,
    )
    opened_by_day = {_as_date(day): count for day, count in session.execute(created)}
    closed_by_day = {_as_date(day): count for day, count in session.execute(closed)}
    rows: list[tuple[Value, ...]] = [
        (day.isoformat(), int(opened_by_day.get(day, 0)), int(closed_by_day.get(day, 0)))
        for day in filters.days()
    ]
    return Table("created_closed_per_day", ("day", "created", "closed"), rows)


def open_by(session: Session, filters: Filters, dimension: str) -> Table:
    """Tickets not closed or merged now, by ``queue``, ``state`` or ``priority``."""
    column = {"queue": Queue.name, "state": State.name, "priority": Ticket.priority}[dimension]
    query = _ticket_scope(
        select(column, func.count())
        .select_from(Ticket)
        .join(State, State.id == Ticket.state_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(State.type.not_in(("closed", "merged")))
        .group_by(column)
        .order_by(column),
        filters,
    )
    rows: list[tuple[Value, ...]] = [(str(key), int(count)) for key, count in session.execute(query)]
    return Table(f"open_by_{dimension}", (dimension, "open"), rows)


def open_by_service(session: Session, filters: Filters) -> Table:
    """Tickets not closed or merged now, by service (``(none)`` for tickets without one)."""
    query = _ticket_scope(
        select(Service.name, func.count())
        .select_from(Ticket)
        .join(State, State.id == Ticket.state_id)
        .outerjoin(Service, Service.id == Ticket.service_id)
        .where(State.type.not_in(("closed", "merged")))
        .group_by(Service.name)
        .order_by(Service.name),
        filters,
    )
    named: list[tuple[Value, ...]] = []
    without = 0
    for name, count in session.execute(query):
        if name is None:
            without = int(count)
        else:
            named.append((str(name), int(count)))
    rows = sorted(named, key=lambda row: str(row[0])) + ([("(none)", without)] if without else [])
    return Table("open_by_service", ("service", "open"), rows)


def response_and_solution_times(session: Session, filters: Filters) -> Table:
    """Per queue: median and p90 minutes to the first response and to the first close."""
    # Only rows written since the range began can be the first answer or close of a ticket
    # created in it: on a long history the aggregates read the range, not all of it.  And only
    # the chosen tickets' rows: for a short range or one queue the server then reads their
    # articles by ticket (the ticket_id index) instead of scanning every article.
    chosen = _ticket_scope(
        select(Ticket.id).where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until),
        filters,
    )
    first_answer = (
        select(Article.ticket_id, func.min(Article.created_at).label("at"))
        .where(
            Article.sender_type == "agent",
            Article.is_visible_for_customer.is_(True),
            Article.created_at >= filters.since,
            Article.ticket_id.in_(chosen),
        )
        .group_by(Article.ticket_id)
        .subquery()
    )
    first_close = (
        select(History.ticket_id, func.min(History.created_at).label("at"))
        .join(State, and_(State.name == History.new_value, State.type == "closed"))
        .where(
            History.type == "StateUpdate",
            History.created_at >= filters.since,
            History.ticket_id.in_(chosen),
        )
        .group_by(History.ticket_id)
        .subquery()
    )
    responses: dict[str, list[float]] = defaultdict(list)
    solutions: dict[str, list[float]] = defaultdict(list)
    names: set[str] = set()
    if session.get_bind().dialect.name == "postgresql":
        # The server subtracts: two floats a row instead of three time-zone-aware datetimes
        # halves the Python side (docs/performance.md "Statistics").  extract() is exact to
        # the microsecond and both sides round the same rational to the nearest double, so
        # the minutes are the ones timedelta.total_seconds() gives.
        def waited(at: Any) -> Any:
            return cast(func.extract("epoch", at - Ticket.created_at), Float)

        seconds = _ticket_scope(
            select(Queue.name, waited(first_answer.c.at), waited(first_close.c.at))
            .select_from(Ticket)
            .join(Queue, Queue.id == Ticket.queue_id)
            .outerjoin(first_answer, first_answer.c.ticket_id == Ticket.id)
            .outerjoin(first_close, first_close.c.ticket_id == Ticket.id)
            .where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until),
            filters,
        )
        for queue_name, to_answer, to_close in session.execute(seconds):
            names.add(queue_name)
            if to_answer is not None:
                responses[queue_name].append(round(to_answer / 60, 1))
            if to_close is not None:
                solutions[queue_name].append(round(to_close / 60, 1))
    else:
        query = _ticket_scope(
            select(Queue.name, Ticket.created_at, first_answer.c.at, first_close.c.at)
            .select_from(Ticket)
            .join(Queue, Queue.id == Ticket.queue_id)
            .outerjoin(first_answer, first_answer.c.ticket_id == Ticket.id)
            .outerjoin(first_close, first_close.c.ticket_id == Ticket.id)
            .where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until),
            filters,
        )
        for queue_name, created, answered, closed in session.execute(query):
            names.add(queue_name)
            if answered is not None:
                responses[queue_name].append(_minutes(_aware(answered) - _aware(created)))
            if closed is not None:
                solutions[queue_name].append(_minutes(_aware(closed) - _aware(created)))
    rows: list[tuple[Value, ...]] = []
    for name in sorted(names):
        response_median, response_p90 = median_p90(responses[name])
        solution_median, solution_p90 = median_p90(solutions[name])
        rows.append(
            (
                name,
                len(responses[name]),
                response_median,
                response_p90,
                len(solutions[name]),
                solution_median,
                solution_p90,
            )
        )
    columns = (
        "queue",
        "answered",
        "first_response_median_min",
        "first_response_p90_min",
        "solved",
        "solution_median_min",
        "solution_p90_min",
    )
    return Table("response_and_solution_times", columns, rows)


def _pairs(rows: Iterable[Any]) -> dict[Any, int]:
    return {key: int(count) for key, count in rows}


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def escalations(session: Session, filters: Filters) -> Table:
    """Per queue: warnings and breaches told in the range (from the history)."""
    kinds = {
        "EscalationResponseTimeStart": "first_response",
        "EscalationUpdateTimeStart": "update",
        "EscalationSolutionTimeStart": "solution",
    }
    query = _ticket_scope(
        select(Queue.name, History.type, func.count())
        .select_from(History)
        .join(Ticket, Ticket.id == History.ticket_id)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(
            History.type.in_(kinds),
            History.created_at >= filters.since,
            History.created_at < filters.until,
        )
        .group_by(Queue.name, History.type),
        filters,
    )
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds.values(), 0))
    for queue_name, kind, count in session.execute(query):
        counts[queue_name][kinds[kind]] = int(count)
    rows: list[tuple[Value, ...]] = [
        (name, c["first_response"], c["update"], c["solution"]) for name, c in sorted(counts.items())
    ]
    return Table("sla_breaches", ("queue", "first_response", "update", "solution"), rows)


def agent_load(session: Session, filters: Filters) -> Table:
    """Per agent: open tickets owned, open tasks claimed, tasks completed in the range."""
    owned = _pairs(
        session.execute(
            select(Ticket.owner_id, func.count())
            .join(State, State.id == Ticket.state_id)
            .where(Ticket.owner_id.is_not(None), State.type.not_in(("closed", "merged")))
            .group_by(Ticket.owner_id)
        )
    )
    claimed = _pairs(
        session.execute(
            select(HumanTask.claimed_by_id, func.count())
            .where(HumanTask.state == "open", HumanTask.claimed_by_id.is_not(None))
            .group_by(HumanTask.claimed_by_id)
        )
    )
    completed = _pairs(
        session.execute(
            select(HumanTask.completed_by_id, func.count())
            .where(
                HumanTask.state == "completed",
                HumanTask.completed_at >= filters.since,
                HumanTask.completed_at < filters.until,
            )
            .group_by(HumanTask.completed_by_id)
        )
    )
    agents = session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.login)).all()
    rows: list[tuple[Value, ...]] = [
        (a.login, int(owned.get(a.id, 0)), int(claimed.get(a.id, 0)), int(completed.get(a.id, 0)))
        for a in agents
        if filters.agent_id is None or a.id == filters.agent_id
    ]
    return Table("agent_load", ("agent", "open_owned", "open_claimed", "completed"), rows)


BACKLOG_BUCKETS = ((1, "under 1 day"), (3, "1–3 days"), (7, "3–7 days"), (30, "1–4 weeks"), (None, "older"))


def backlog_age(session: Session, filters: Filters, *, now: datetime) -> Table:
    """Open tickets by age."""
    query = _ticket_scope(
        select(Ticket.created_at)
        .join(State, State.id == Ticket.state_id)
        .where(State.type.not_in(("closed", "merged"))),
        filters,
    )
    counts = dict.fromkeys((label for _days, label in BACKLOG_BUCKETS), 0)
    for (created,) in session.execute(query):
        age = (now - _aware(created)).total_seconds() / 86400
        for days, label in BACKLOG_BUCKETS:
            if days is None or age < days:
                counts[label] += 1
                break
    return Table("backlog_age", ("age", "open"), [(label, n) for label, n in counts.items()])


def process_steps(session: Session, filters: Filters, *, now: datetime) -> Table:
    """Per BPMN user task: tickets there now, time spent there (median, p90), rework.

    Rework counts the instances that came to the step more than once (a loop back).
    """
    query = (
        select(
            HumanTask.process_id,
            HumanTask.bpmn_id,
            HumanTask.name,
            HumanTask.instance_id,
            HumanTask.state,
            HumanTask.created_at,
            HumanTask.completed_at,
        )
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(HumanTask.created_at < filters.until)
    )
    if filters.process_id is not None:
        query = query.where(HumanTask.process_id == filters.process_id)
    if filters.process_version is not None:
        query = query.where(ProcessVersion.version == filters.process_version)
    if filters.queue_ids is not None:
        query = query.join(Ticket, Ticket.id == HumanTask.ticket_id).where(
            Ticket.queue_id.in_(filters.queue_ids)
        )
    waiting: dict[tuple[str, str], int] = defaultdict(int)
    spent: dict[tuple[str, str], list[float]] = defaultdict(list)
    visits: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[tuple[str, str], str] = {}
    for process_id, bpmn_id, name, instance_id, state, created, completed in session.execute(query):
        key = (process_id, bpmn_id)
        names[key] = name
        visits[key][instance_id] += 1
        if state == "open":
            waiting[key] += 1
        elif state == "completed" and completed is not None and _aware(completed) >= filters.since:
            spent[key].append(_minutes(_aware(completed) - _aware(created)))
    rows: list[tuple[Value, ...]] = []
    for key in sorted(names):
        median, p90 = median_p90(spent[key])
        rework = sum(1 for count in visits[key].values() if count > 1)
        rows.append((key[0], key[1], names[key], waiting[key], len(spent[key]), median, p90, rework))
    columns = (
        "process",
        "step",
        "name",
        "waiting_now",
        "completed",
        "median_min",
        "p90_min",
        "rework_instances",
    )
    return Table("process_steps", columns, rows)


def time_spent(session: Session, filters: Filters) -> Table:
    """Per queue and agent: the minutes booked in the range (time accounting) and in how many entries.

    The queue is the one the work was booked in (tickets move); the agent filter is the
    agent who booked it.
    """
    query = (
        select(Queue.name, Agent.login, func.count(), func.sum(TimeAccounting.minutes))
        .select_from(TimeAccounting)
        .join(Queue, Queue.id == TimeAccounting.queue_id)
        .join(Agent, Agent.id == TimeAccounting.agent_id)
        .where(TimeAccounting.created_at >= filters.since, TimeAccounting.created_at < filters.until)
        .group_by(Queue.name, Agent.login)
        .order_by(Queue.name, Agent.login)
    )
    if filters.queue_ids is not None:
        query = query.where(TimeAccounting.queue_id.in_(filters.queue_ids))
    if filters.agent_id is not None:
        query = query.where(TimeAccounting.agent_id == filters.agent_id)
    rows: list[tuple[Value, ...]] = [
        (str(queue), str(login), int(entries), int(minutes or 0))
        for queue, login, entries, minutes in session.execute(query)
    ]
    return Table("time_spent", ("queue", "agent", "entries", "minutes"), rows)


def all_tables(session: Session, filters: Filters, *, now: datetime) -> list[Table]:
    """Every figure of the statistics page, in its order."""
    return [
        created_and_closed_per_day(session, filters),
        open_by(session, filters, "queue"),
        open_by(session, filters, "state"),
        open_by(session, filters, "priority"),
        open_by_service(session, filters),
        response_and_solution_times(session, filters),
        escalations(session, filters),
        agent_load(session, filters),
        backlog_age(session, filters, now=now),
        process_steps(session, filters, now=now),
        time_spent(session, filters),
    ]
