"""Timers: N BPMN timers due within one minute, fired by the real workers; all must fire.

A small process (start → timer → end) is deployed on a fresh copy of the seeded database and
started for N tickets, the timer of instance k due at ``t0 + 60·k/N`` seconds (a ``timeDate``
from the start data), t0 a little after the last start.  Then two ``ticketflow worker``
processes run with the declared periods (``engine.tasks.fire_due_timers`` every 5 s), and the
bench waits until every instance completed.  Lateness is the instance's completion time minus
its due time: the sweep's period bounds it from below, so the p99 is about the period plus the
time to fire the backlog.

``python -m bench.timers [--timers N]`` writes var/bench/timers.json.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, select, text

from bench.common import DB_PREFIX, SERVER, latency_ms, rss_bytes, write_report
from bench.mail import copy_of_template, seeded_template
from bench.stack import running

SPREAD_SECONDS = 60.0
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="bench_timer_defs" targetNamespace="t">
  <bpmn:process id="bench_timer" name="Bench timer" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Due">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition id="t1"><bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _start_instances(url: str, count: int) -> tuple[datetime, dict[int, datetime]]:
    """Deploy the diagram, open ``count`` tickets and start it on each; returns t0 and the due times."""
    from core import jobs
    from core.db import make_engine, make_sessionmaker, session_scope
    from desk.actor import SYSTEM
    from desk.queue.models import Queue
    from desk.ticket import service as tickets
    from engine import definitions
    from flows import open_ticket

    class Discard:
        def send(self, name: str, kwargs: dict[str, Any]) -> None:
            """Nothing to deliver."""

    jobs.set_backend(Discard())
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=DIAGRAM, forms={})
    # Starting takes a while; the first timer is due only after the last start.
    t0 = datetime.now(UTC) + timedelta(seconds=20 + count * 0.05)
    due: dict[int, datetime] = {}
    batch = 100
    for first in range(0, count, batch):
        with session_scope(factory) as session:
            queue = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
            for k in range(first, min(count, first + batch)):
                at = t0 + timedelta(seconds=SPREAD_SECONDS * k / count)
                ticket = tickets.create_ticket(session, actor=SYSTEM, title=f"Timer {k}", queue=queue)
                instance = open_ticket.start_process(
                    session,
                    actor=SYSTEM,
                    ticket=ticket,
                    process_id="bench_timer",
                    data={"due": at.isoformat()},
                )
                due[instance.id] = at
    engine.dispose()
    jobs.set_backend(None)
    return t0, due


def main() -> None:
    """Measure and write the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timers", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()
    from ticketflow.bootstrap import bootstrap

    bootstrap()
    seeded_template()
    url = copy_of_template(f"{DB_PREFIX}timers")
    t0, due = _start_instances(url, args.timers)
    if datetime.now(UTC) > t0:
        print("warning: the starts took longer than planned; the first timers were already due")
    engine = create_engine(url)
    peak: dict[str, int] = {}
    with running(url) as stack:
        stack.start_workers(args.workers)
        deadline = time.monotonic() + SPREAD_SECONDS + 600
        done = 0
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = int(
                    conn.scalar(
                        text(
                            "SELECT count(*) FROM process_instance "
                            "WHERE id = ANY(:ids) AND status <> 'running'"
                        ),
                        {"ids": list(due)},
                    )
                    or 0
                )
            for n in range(1, args.workers + 1):
                name = f"worker-{n}"
                peak[name] = max(peak.get(name, 0), sum(rss_bytes(p) for p in stack.pids(name)))
            if done >= len(due):
                break
            time.sleep(0.5)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, status, updated_at FROM process_instance WHERE id = ANY(:ids)"),
            {"ids": list(due)},
        ).all()
    engine.dispose()
    statuses: dict[str, int] = {}
    lateness = []
    for instance_id, status, updated in rows:
        statuses[status] = statuses.get(status, 0) + 1
        if status == "completed":
            lateness.append((updated - due[instance_id]).total_seconds())
    figures = {
        "timers": len(due),
        "fired": statuses.get("completed", 0),
        "statuses": statuses,
        "all_fired": statuses.get("completed", 0) == len(due),
        "workers": args.workers,
        "lateness": latency_ms(lateness),
        "early": sum(1 for x in lateness if x < 0),
        "peak_worker_rss_mib": {k: round(v / 2**20, 1) for k, v in peak.items()},
    }
    lat = figures["lateness"]
    write_report(
        "timers",
        dataset={"timers": len(due), "spread_seconds": SPREAD_SECONDS},
        figures=figures,
        database_url=f"{SERVER}/{DB_PREFIX}timers",
        load_before=load_before,
        header=["timers", "fired", "p50 lateness ms", "p99 lateness ms", "max ms", "fired early"],
        rows=[[len(due), figures["fired"], lat["p50_ms"], lat["p99_ms"], lat["max_ms"], figures["early"]]],
    )


if __name__ == "__main__":
    main()
