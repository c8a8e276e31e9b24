"""Statistics at scale: each ``/stats`` figure's query and ``GET /api/v1/stats`` on the dataset.

The dataset (:mod:`bench.dataset`) has tickets and articles; this adds what the figures
read and the load does not make: ``--history`` ticket-history rows per ticket (state
changes, answers, notes, moves, closes of the closed tickets, escalations of one ticket in
twenty), one time-accounting row per three tickets, by COPY; the tickets' creation times are
spread over the last 90 days (so run it after the other scenarios on the same dataset).
Then it runs every figure of :func:`reports.figures.all_tables` ``--repeat`` times for three
filters (30 days, 365 days, 30 days in one queue) and the API endpoint in-process (the
Flask test client, an administrator's token), and reports the median and the slowest.

``python -m bench.stats --size small [--history 10] [--repeat 5] [--short-bodies]`` writes
var/bench/stats.json; ``--short-bodies`` uses (or builds) ``tf_bench_<size>_short``, the
dataset with one-line article bodies (the figures read no body, and ``full`` with 2–15 KB
bodies is ~9 GB).  The acceptance target is ≤ 1 s per figure at ``full`` (100k tickets, 1M
history rows).  Before timing, the response-and-solution figure is checked against the
computation it had before migration 0024 (the rows must be equal).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.common import SERVER, database_exists, latency_ms, write_report
from bench.dataset import _copy, build, database_name

MARK = "bench-stats"
HISTORY_TYPES = ("SendAnswer", "AddNote", "OwnerUpdate", "PriorityUpdate", "Move", "StateUpdate")


def _history_rows(
    tickets: Sequence[tuple[int, datetime, bool]],
    *,
    per_ticket: int,
    closed_state: str,
    open_state: str,
    agents: Sequence[tuple[int, str]],
    rng: random.Random,
) -> Iterator[Sequence[Any]]:
    for ticket_id, created, closed in tickets:
        for n in range(per_ticket):
            at = created + timedelta(minutes=rng.randint(1, 60 * 24 * 20) * (n + 1) // per_ticket)
            agent_id, login = agents[rng.randrange(len(agents))]
            kind = HISTORY_TYPES[n % len(HISTORY_TYPES)]
            old, new = None, None
            if kind == "StateUpdate":
                old, new = "new", open_state
            if closed and n == per_ticket - 1:
                kind, old, new = "StateUpdate", open_state, closed_state
            elif ticket_id % 20 == 0 and n == 1:
                kind = "EscalationResponseTimeStart"
            yield (ticket_id, kind, "agent", agent_id, login, old, new, MARK, at)


def refresh_firsts(engine: Any) -> None:
    """Set every ticket's stored first answer and first close from its articles and history.

    COPY bypasses the use cases that store them (desk.ticket.firsts); this is migration 0024's
    backfill as one set-based UPDATE (PostgreSQL), after ANALYZE: on fresh COPY rows without
    statistics the planner would read the history by type instead of by ticket.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE article, ticket_history, ticket"))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE ticket t SET first_response_at = f.response, first_closed_at = f.closed FROM ("
                " SELECT t2.id, a.at AS response, h.at AS closed FROM ticket t2"
                " LEFT JOIN (SELECT ticket_id, min(created_at) AS at FROM article"
                "  WHERE sender_type = 'agent' AND is_visible_for_customer GROUP BY ticket_id) a"
                "  ON a.ticket_id = t2.id"
                " LEFT JOIN (SELECT h.ticket_id, min(h.created_at) AS at FROM ticket_history h"
                "  JOIN ticket_state s ON s.name = h.new_value AND s.type = 'closed'"
                "  WHERE h.type = 'StateUpdate' GROUP BY h.ticket_id) h ON h.ticket_id = t2.id"
                ") f WHERE f.id = t.id"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # VACUUM as well: the UPDATEs leave dead rows a long-running system would not have.
        conn.execute(text("VACUUM ANALYZE"))


def _time_rows(
    tickets: Sequence[tuple[int, datetime, bool]],
    queue_of: dict[int, int],
    agents: Sequence[tuple[int, str]],
    rng: random.Random,
) -> Iterator[Sequence[Any]]:
    for ticket_id, created, _closed in tickets[::3]:
        agent_id, _login = agents[rng.randrange(len(agents))]
        yield (ticket_id, agent_id, queue_of[ticket_id], rng.randint(5, 120), created + timedelta(hours=2))


def prepare(url: str, *, per_ticket: int, seed: int = 14) -> dict[str, int]:
    """Migrate the dataset to head and add the history and time rows once; returns counts."""
    from core.db import make_engine
    from core.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)  # a dataset built before the statistics columns existed gets them now
    rng = random.Random(seed)  # noqa: S311 (test data, reproducible on purpose)
    with engine.connect() as conn:
        done = conn.scalar(text("SELECT count(*) FROM ticket_history WHERE comment = :m"), {"m": MARK})
        rows = conn.execute(
            text(
                "SELECT t.id, t.created_at, s.type = 'closed', t.queue_id FROM ticket t "
                "JOIN ticket_state s ON s.id = t.state_id ORDER BY t.id"
            )
        ).all()
        closed_state = conn.scalar(text("SELECT name FROM ticket_state WHERE type = 'closed' ORDER BY id"))
        open_state = conn.scalar(text("SELECT name FROM ticket_state WHERE type = 'open' ORDER BY id"))
        agents = [(int(r[0]), str(r[1])) for r in conn.execute(text("SELECT id, login FROM agent"))]
    if not done:
        # Spread over the last 90 days so the 30- and 365-day ranges both have work to do.
        start = datetime.now(UTC) - timedelta(days=90)
        tickets = [
            (
                int(r[0]),
                start + timedelta(minutes=(int(r[0]) * 37) % (60 * 24 * 88)),
                bool(r[2]),
            )
            for r in rows
        ]
        queue_of = {int(r[0]): int(r[3]) for r in rows}
        moved = "now() - interval '90 days' + ((t.id * 37) % (60 * 24 * 88)) * interval '1 minute'"
        with engine.begin() as conn:
            # The figures count by the ticket's creation day: move it into the same window, and
            # its articles with it (an answer stays after its ticket's creation, as in use).
            conn.execute(
                text(
                    f"UPDATE article a SET created_at = a.created_at + ({moved} - t.created_at) "  # noqa: S608
                    "FROM ticket t WHERE t.id = a.ticket_id"
                )
            )
            conn.execute(text(f"UPDATE ticket t SET created_at = {moved}"))  # noqa: S608 (a constant)
        _copy(
            engine,
            "ticket_history",
            [
                "ticket_id",
                "type",
                "actor_type",
                "actor_id",
                "actor_name",
                "old_value",
                "new_value",
                "comment",
                "created_at",
            ],
            _history_rows(
                tickets,
                per_ticket=per_ticket,
                closed_state=str(closed_state),
                open_state=str(open_state),
                agents=agents,
                rng=rng,
            ),
        )
        _copy(
            engine,
            "time_accounting",
            ["ticket_id", "agent_id", "queue_id", "minutes", "created_at"],
            _time_rows(tickets, queue_of, agents, rng),
        )
        refresh_firsts(engine)
    with engine.connect() as conn:
        counts = {
            table: int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
            for table in ("ticket", "article", "ticket_history", "time_accounting", "human_task")
        }
    engine.dispose()
    return counts


def _measure(func: Callable[[], object], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return latency_ms(samples)


def _figures(
    session: Any, ranges: dict[str, Any], repeat: int, results: dict[str, Any], rows: list[list[object]]
) -> None:
    """Time every figure of the page for each range (adds to ``results`` and ``rows``)."""
    from core.db import utcnow
    from reports import figures

    now = utcnow()
    every: dict[str, Callable[[figures.Filters], object]] = {
        "created_closed_per_day": lambda f: figures.created_and_closed_per_day(session, f),
        "open_by_queue": lambda f: figures.open_by(session, f, "queue"),
        "open_by_state": lambda f: figures.open_by(session, f, "state"),
        "open_by_priority": lambda f: figures.open_by(session, f, "priority"),
        "open_by_service": lambda f: figures.open_by_service(session, f),
        "response_and_solution_times": lambda f: figures.response_and_solution_times(session, f),
        "sla_breaches": lambda f: figures.escalations(session, f),
        "agent_load": lambda f: figures.agent_load(session, f),
        "backlog_age": lambda f: figures.backlog_age(session, f, now=now),
        "process_steps": lambda f: figures.process_steps(session, f, now=now),
        "time_spent": lambda f: figures.time_spent(session, f),
    }
    # Every figure of the page is measured: a new one must be added above.
    shown = figures.all_tables(session, ranges["30 days"], now=now)
    assert sorted(every) == sorted(t.name for t in shown)
    for label, chosen in ranges.items():
        # The stored moments and the SQL percentiles give the rows the old computation gave.
        now_rows = figures.response_and_solution_times(session, chosen).rows
        before = _as_before(session, chosen)
        results[f"{label}: response_and_solution_times same as before 0024"] = now_rows == before
        print(label, "same as before 0024:", now_rows == before, now_rows)
        assert now_rows == before, (now_rows, before)
    for label, chosen in ranges.items():
        for figure, run in every.items():
            measured = _measure(functools.partial(run, chosen), repeat)
            results[f"{label}: {figure}"] = measured
            rows.append([label, figure, measured["p50_ms"], measured["max_ms"]])
            print(label, figure, measured)


def _as_before(session: Any, chosen: Any) -> list[tuple[object, ...]]:
    """``response_and_solution_times`` as it was computed before migration 0024.

    From the articles and the history by two grouped subqueries, the percentiles in Python
    (reports.figures up to 0023): the stored columns and the SQL percentiles must give the
    same rows.
    """
    from sqlalchemy import Float, and_, cast, func, select

    from desk.article.models import Article
    from desk.history.models import History
    from desk.queue.models import Queue
    from desk.ticket.models import State, Ticket
    from reports.figures import median_p90

    def scoped(query: Any) -> Any:
        if chosen.queue_ids is not None:
            query = query.where(Ticket.queue_id.in_(chosen.queue_ids))
        return query

    in_range = (Ticket.created_at >= chosen.since, Ticket.created_at < chosen.until)
    tickets = scoped(select(Ticket.id).where(*in_range))
    answer = (
        select(Article.ticket_id, func.min(Article.created_at).label("at"))
        .where(
            Article.sender_type == "agent",
            Article.is_visible_for_customer.is_(True),
            Article.created_at >= chosen.since,
            Article.ticket_id.in_(tickets),
        )
        .group_by(Article.ticket_id)
        .subquery()
    )
    close = (
        select(History.ticket_id, func.min(History.created_at).label("at"))
        .join(State, and_(State.name == History.new_value, State.type == "closed"))
        .where(
            History.type == "StateUpdate",
            History.created_at >= chosen.since,
            History.ticket_id.in_(tickets),
        )
        .group_by(History.ticket_id)
        .subquery()
    )

    def waited(at: Any) -> Any:
        return cast(func.extract("epoch", at - Ticket.created_at), Float)

    query = scoped(
        select(Queue.name, waited(answer.c.at), waited(close.c.at))
        .select_from(Ticket)
        .join(Queue, Queue.id == Ticket.queue_id)
        .outerjoin(answer, answer.c.ticket_id == Ticket.id)
        .outerjoin(close, close.c.ticket_id == Ticket.id)
        .where(*in_range)
    )
    responses: dict[str, list[float]] = {}
    solutions: dict[str, list[float]] = {}
    for name, to_answer, to_close in session.execute(query):
        responses.setdefault(name, [])
        solutions.setdefault(name, [])
        if to_answer is not None:
            responses[name].append(round(to_answer / 60, 1))
        if to_close is not None:
            solutions[name].append(round(to_close / 60, 1))
    return [
        (
            name,
            len(responses[name]),
            *median_p90(responses[name]),
            len(solutions[name]),
            *median_p90(solutions[name]),
        )
        for name in sorted(responses)
    ]


def _api(
    factory: Any, token: str, today: date, *, repeat: int, results: dict[str, Any], rows: list[list[object]]
) -> None:
    """Time ``GET /api/v1/stats`` (every figure as JSON) in-process, as an administrator."""
    from core.config import get_settings
    from web import create_app
    from web.auth.limiter import InMemoryLoginLimiter

    app = create_app(get_settings(), session_factory=factory, login_limiter=InMemoryLoginLimiter())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    year = f"?start={today - timedelta(days=364)}"
    for label, query in (
        ("30 days", ""),
        ("365 days", year),
        ("365 days, ?figure=response_and_solution_times", f"{year}&figure=response_and_solution_times"),
    ):

        def call(query: str = query) -> object:
            response = client.get(f"/api/v1/stats{query}", headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            return response

        measured = _measure(call, repeat)
        results[f"{label}: GET /api/v1/stats"] = measured
        what = "GET /api/v1/stats (one figure)" if "figure=" in query else "GET /api/v1/stats (all figures)"
        rows.append([label, what, measured["p50_ms"], measured["max_ms"]])
        print(label, "api", measured)


def main() -> None:
    """Prepare, measure and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="small")
    parser.add_argument("--history", type=int, default=10, help="history rows per ticket")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="build the dataset even if it exists")
    parser.add_argument(
        "--short-bodies",
        action="store_true",
        help="use (or build) the dataset with one-line article bodies: the figures read no body",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    name = database_name(args.size, short_bodies=args.short_bodies)
    if args.rebuild or not database_exists(name):
        build(args.size, short_bodies=args.short_bodies)
    url = f"{SERVER}/{name}"
    started = time.monotonic()
    dataset: dict[str, Any] = {
        "size": args.size,
        "short_bodies": args.short_bodies,
        **prepare(url, per_ticket=args.history),
    }
    dataset["prepare_s"] = round(time.monotonic() - started, 1)

    from core import jobs
    from core.db import make_engine, make_sessionmaker, session_scope, utcnow
    from desk.actor import SYSTEM
    from desk.agent import service as agents
    from desk.agent.models import Agent
    from desk.queue.models import Queue
    from reports import figures
    from ticketflow.bootstrap import bootstrap

    bootstrap()

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """No jobs come from issuing a token."""

    jobs.set_backend(Discard())
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        admin = session.query(Agent).filter_by(login="admin").one()
        token = agents.create_token(session, actor=SYSTEM, agent=admin, name="bench-stats")
        first_level = session.query(Queue).filter_by(name="1st level").one().id
    today: date = utcnow().date()
    ranges = {
        "30 days": figures.Filters(start=today - timedelta(days=29), end=today),
        "365 days": figures.Filters(start=today - timedelta(days=364), end=today),
        "30 days, one queue": figures.Filters(
            start=today - timedelta(days=29), end=today, queue_ids=[first_level]
        ),
    }
    results: dict[str, Any] = {}
    rows: list[list[object]] = []
    with session_scope(factory) as session:
        _figures(session, ranges, args.repeat, results, rows)
    _api(factory, token, today, repeat=args.repeat, results=results, rows=rows)
    engine.dispose()
    slowest = max((r for r in rows if not str(r[1]).startswith("GET")), key=lambda r: float(str(r[3])))
    write_report(
        "stats",
        dataset=dataset,
        figures=results,
        database_url=url,
        load_before=load_before,
        header=["range", "figure", "p50 ms", "max ms"],
        rows=rows,
        notes=f"Slowest single figure: {slowest[1]} ({slowest[0]}), {slowest[3]} ms at worst.",
    )


if __name__ == "__main__":
    main()
