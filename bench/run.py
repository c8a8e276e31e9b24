"""Measure the help-desk core on PostgreSQL and write ``var/bench/report.json``.

Dataset: the demo data plus ``--tickets`` tickets (default 2,000) with one customer mail
each, spread over the help-desk queues.  Measured: creating a ticket with its first article
(one commit each, as the mail gateway does), an agent's permission-filtered ticket list, and a
single permission check.  Usage: ``python -m bench.run [--tickets N] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, select, text

from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.article import service as articles
from desk.demo import seed_demo
from desk.permission import service as permissions
from desk.queue.models import Queue
from desk.ticket import service as tickets

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _fresh_database(name: str) -> str:
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{SERVER}/{name}"


def _timed(func: Callable[[], object], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "runs": repeat,
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
        "max_ms": round(samples[-1], 3),
    }


def main() -> None:
    """Build the dataset, measure, write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a fresh local tf_bench database")
    parser.add_argument("--report", default="var/bench/report.json")
    args = parser.parse_args()

    url = args.database_url or _fresh_database("tf_bench")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        seed_demo(session)
        queue_ids = list(
            session.scalars(select(Queue.id).where(Queue.name.in_(["Raw", "1st level", "2nd level"])))
        )

    counter = iter(range(args.tickets))

    def create_one() -> None:
        i = next(counter)
        with session_scope(factory) as session:
            queue = session.get(Queue, queue_ids[i % len(queue_ids)])
            assert queue is not None
            ticket = tickets.create_ticket(session, actor=SYSTEM, title=f"Benchmark ticket {i}", queue=queue)
            articles.add_article(
                session,
                actor=SYSTEM,
                ticket=ticket,
                channel="email",
                sender_type="customer",
                visible_for_customer=True,
                subject=f"Benchmark {i}",
                body_text="x" * 500,
            )

    results = {"create_ticket_with_article": _timed(create_one, args.tickets)}
    with session_scope(factory) as session:
        alice = session.scalars(select(Agent).where(Agent.login == "alice")).one()
        ticket = tickets.list_tickets(session, actor=alice, limit=1)[0]
        results["list_tickets_page_of_50_for_agent"] = _timed(
            lambda: tickets.list_tickets(session, actor=alice, limit=50), 200
        )
        results["permission_check_rw_on_queue"] = _timed(
            lambda: permissions.has_queue_permission(session, alice, ticket.queue, "rw"), 500
        )
    engine.dispose()

    report = {
        "benchmark": "desk core",
        "database": engine.dialect.name,
        "dataset": {"tickets": args.tickets, "articles": args.tickets, "queues_used": len(queue_ids)},
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "results": results,
    }
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
