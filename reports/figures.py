"""The figures, as SQL aggregates with filters (date range, queues, agent, process).

Every function returns a :class:`Table` (column names and rows of plain values), which the
page draws as a chart and a table, the API returns as JSON and the export writes as CSV: the
three can never disagree.  Counts are ``GROUP BY`` queries.  Durations are reduced to median
and nearest-rank 90th percentile (:func:`median_p90`): first response and solution from the
ticket's stored moments (migration 0024), by ``percentile_disc`` on PostgreSQL and in Python
on SQLite, the same numbers; the time at a process step from the tasks completed in the range.
:data:`FIGURES` names every figure, so one can be computed alone (:func:`one_table`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Float, Select, and_, cast, func, select
from sqlalchemy.orm import Session

from desk.agent.models import Agent
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
    """Per queue: median and p90 minutes to the first response and to the first close.

    The moments are the ticket's stored ``first_response_at`` and ``first_closed_at``
    (:mod:`desk.ticket.firsts`, migration 0024), so the figure reads the range's tickets only.
    On PostgreSQL the server also takes the percentiles and returns a row per queue.
    """
    if session.get_bind().dialect.name == "postgresql":
        return _response_and_solution_times_in_sql(session, filters)
    query = _ticket_scope(
        select(Queue.name, Ticket.created_at, Ticket.first_response_at, Ticket.first_closed_at)
        .join(Queue, Queue.id == Ticket.queue_id)
        .where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until),
        filters,
    )
    responses: dict[str, list[float]] = defaultdict(list)
    solutions: dict[str, list[float]] = defaultdict(list)
    names: set[str] = set()
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
    return Table("response_and_solution_times", RESPONSE_COLUMNS, rows)


RESPONSE_COLUMNS = (
    "queue",
    "answered",
    "first_response_median_min",
    "first_response_p90_min",
    "solved",
    "solution_median_min",
    "solution_p90_min",
)


def _response_and_solution_times_in_sql(session: Session, filters: Filters) -> Table:
    """The same figure with the percentiles taken by PostgreSQL: a row per queue comes back.

    :func:`median_p90` rounds each ticket's minutes, then takes the median (the mean of the two
    middle values for an even count) and the nearest-rank p90.  Rounding keeps the order, so the
    k-th smallest rounded value is the rounded k-th smallest: ``percentile_disc`` picks the two
    middle values (0.5 ascending and descending, the same one for an odd count) and the p90
    (the first with a cumulative share of at least 0.9, the nearest rank) in seconds, and they
    are rounded and averaged here as before — the numbers are the ones the Python gave.
    """

    def waited(at: Any) -> Any:
        # extract() is exact to the microsecond and both sides round the same rational to the
        # nearest double, so the minutes are the ones timedelta.total_seconds() gives.
        return cast(func.extract("epoch", at - Ticket.created_at), Float)

    per_ticket = _ticket_scope(
        select(
            Ticket.queue_id.label("queue_id"),
            waited(Ticket.first_response_at).label("answer"),
            waited(Ticket.first_closed_at).label("solution"),
        ).where(Ticket.created_at >= filters.since, Ticket.created_at < filters.until),
        filters,
    ).subquery()

    def spread(column: Any) -> tuple[Any, ...]:
        return (
            func.count(column),
            func.percentile_disc(0.5).within_group(column),
            func.percentile_disc(0.5).within_group(column.desc()),
            func.percentile_disc(0.9).within_group(column),
        )

    query = (
        select(Queue.name, *spread(per_ticket.c.answer), *spread(per_ticket.c.solution))
        .select_from(per_ticket)
        .join(Queue, Queue.id == per_ticket.c.queue_id)
        .group_by(Queue.name)
        .order_by(Queue.name)
    )
    rows: list[tuple[Value, ...]] = []
    for name, *values in session.execute(query):
        rows.append((str(name), *_spread_row(values[:4]), *_spread_row(values[4:])))
    rows.sort(key=lambda row: str(row[0]))  # the Python order, not the database's collation
    return Table("response_and_solution_times", RESPONSE_COLUMNS, rows)


def _spread_row(values: Sequence[Any]) -> tuple[int, float | None, float | None]:
    count, low, high, p90 = values
    if not count:
        return 0, None, None
    low_min, high_min = round(float(low) / 60, 1), round(float(high) / 60, 1)
    return int(count), round(statistics.median([low_min, high_min]), 1), round(float(p90) / 60, 1)


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
    """Open tickets by age.

    Counted by the database (one row back, not one per open ticket): a ticket is younger than
    ``days`` exactly when it was created after ``now - days``.
    """
    buckets: list[Any] = []
    younger: Any = None
    for days, _label in BACKLOG_BUCKETS:
        if days is None:
            buckets.append(func.count().filter(~younger) if younger is not None else func.count())
            break
        edge = Ticket.created_at > now - timedelta(days=days)
        this = edge if younger is None else and_(edge, ~younger)
        buckets.append(func.count().filter(this))
        younger = edge
    query = _ticket_scope(
        select(*buckets)
        .select_from(Ticket)
        .join(State, State.id == Ticket.state_id)
        .where(State.type.not_in(("closed", "merged"))),
        filters,
    )
    counts = session.execute(query).one()
    return Table(
        "backlog_age",
        ("age", "open"),
        [(label, int(n or 0)) for (_days, label), n in zip(BACKLOG_BUCKETS, counts, strict=True)],
    )


def _steps_scope(query: Select[*Ts], filters: Filters) -> Select[*Ts]:
    """The process-step figure's tasks: created before the range ends, by process, version, queue."""
    query = query.where(HumanTask.created_at < filters.until)
    if filters.process_id is not None:
        query = query.where(HumanTask.process_id == filters.process_id)
    if filters.process_version is not None:
        # Only for the version: every task has its instance and every instance its version
        # (non-null foreign keys), so without this filter the joins would change no count.
        query = (
            query.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
            .where(ProcessVersion.version == filters.process_version)
        )
    if filters.queue_ids is not None:
        query = query.join(Ticket, Ticket.id == HumanTask.ticket_id).where(
            Ticket.queue_id.in_(filters.queue_ids)
        )
    return query


def process_steps(session: Session, filters: Filters, *, now: datetime) -> Table:
    """Per BPMN user task: tickets there now, time spent there (median, p90), rework.

    Rework counts the instances that came to the step more than once (a loop back).  The
    counts are grouped by the database; only the tasks completed in the range come back one
    by one (for the percentiles), not every task ever created.
    """
    key = (HumanTask.process_id, HumanTask.bpmn_id)
    waiting: dict[tuple[str, str], int] = {}
    last_ids: dict[tuple[str, str], int] = {}
    for process_id, bpmn_id, open_now, last_id in session.execute(
        _steps_scope(
            select(*key, func.count().filter(HumanTask.state == "open"), func.max(HumanTask.id)).select_from(
                HumanTask
            ),
            filters,
        ).group_by(*key)
    ):
        waiting[(process_id, bpmn_id)] = int(open_now or 0)
        last_ids[(process_id, bpmn_id)] = int(last_id)
    # A step's name as its latest task has it (a newer version may have renamed it).
    names: dict[tuple[str, str], str] = {}
    if last_ids:
        for process_id, bpmn_id, name in session.execute(
            select(*key, HumanTask.name).where(HumanTask.id.in_(last_ids.values()))
        ):
            names[(process_id, bpmn_id)] = name
    visits = (
        _steps_scope(select(*key).select_from(HumanTask), filters)
        .group_by(*key, HumanTask.instance_id)
        .having(func.count() > 1)
        .subquery()
    )
    rework = {
        (process_id, bpmn_id): int(count)
        for process_id, bpmn_id, count in session.execute(
            select(visits.c.process_id, visits.c.bpmn_id, func.count()).group_by(
                visits.c.process_id, visits.c.bpmn_id
            )
        )
    }
    spent: dict[tuple[str, str], list[float]] = defaultdict(list)
    for process_id, bpmn_id, created, completed in session.execute(
        _steps_scope(
            select(*key, HumanTask.created_at, HumanTask.completed_at).select_from(HumanTask), filters
        ).where(
            HumanTask.state == "completed",
            HumanTask.completed_at.is_not(None),
            HumanTask.completed_at >= filters.since,
        )
    ):
        if completed is not None:
            spent[(process_id, bpmn_id)].append(_minutes(_aware(completed) - _aware(created)))
    rows: list[tuple[Value, ...]] = []
    for step in sorted(waiting):
        median, p90 = median_p90(spent[step])
        rows.append(
            (step[0], step[1], names[step], waiting[step], len(spent[step]), median, p90, rework.get(step, 0))
        )
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


FIGURES: dict[str, Callable[[Session, Filters, datetime], Table]] = {
    "created_closed_per_day": lambda s, f, now: created_and_closed_per_day(s, f),
    "open_by_queue": lambda s, f, now: open_by(s, f, "queue"),
    "open_by_state": lambda s, f, now: open_by(s, f, "state"),
    "open_by_priority": lambda s, f, now: open_by(s, f, "priority"),
    "open_by_service": lambda s, f, now: open_by_service(s, f),
    "response_and_solution_times": lambda s, f, now: response_and_solution_times(s, f),
    "sla_breaches": lambda s, f, now: escalations(s, f),
    "agent_load": lambda s, f, now: agent_load(s, f),
    "backlog_age": lambda s, f, now: backlog_age(s, f, now=now),
    "process_steps": lambda s, f, now: process_steps(s, f, now=now),
    "time_spent": lambda s, f, now: time_spent(s, f),
}
"""Every figure of the statistics page by its table's name, in the page's order."""


def one_table(session: Session, filters: Filters, name: str, *, now: datetime) -> Table:
    """The figure ``name`` alone (a name of :data:`FIGURES`; ``KeyError`` otherwise)."""
    return FIGURES[name](session, filters, now)


def all_tables(session: Session, filters: Filters, *, now: datetime) -> list[Table]:
    """Every figure of the statistics page, in its order."""
    return [compute(session, filters, now) for compute in FIGURES.values()]
