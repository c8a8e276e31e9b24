"""The figures rewritten for 100k tickets (issue 14) give the numbers the previous code gave.

``backlog_age`` now counts in the database and ``process_steps`` groups there instead of
reading every task ever created; each is compared here with the previous code (kept below,
as it was up to migration 0023) on the known dataset plus tickets of every age and a step an
instance came back to, with and without filters.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from desk.actor import SYSTEM
from desk.ticket import service as tickets
from desk.ticket.models import State, Ticket
from engine.models import HumanTask, ProcessInstance, ProcessVersion
from reports import figures
from reports.figures import BACKLOG_BUCKETS, Filters, Table, _aware, _minutes, _ticket_scope, median_p90
from tests import stats_data

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def backlog_age_before(session, filters: Filters, *, now: datetime) -> Table:
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


def process_steps_before(session, filters: Filters) -> list[tuple[object, ...]]:
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
    waiting: dict = defaultdict(int)
    spent: dict = defaultdict(list)
    visits: dict = defaultdict(lambda: defaultdict(int))
    names: dict = {}
    for process_id, bpmn_id, name, instance_id, state, created, completed in session.execute(query):
        key = (process_id, bpmn_id)
        names[key] = name
        visits[key][instance_id] += 1
        if state == "open":
            waiting[key] += 1
        elif state == "completed" and completed is not None and _aware(completed) >= filters.since:
            spent[key].append(_minutes(_aware(completed) - _aware(created)))
    rows = []
    for key in sorted(names):
        median, p90 = median_p90(spent[key])
        rework = sum(1 for count in visits[key].values() if count > 1)
        rows.append((key[0], key[1], names[key], waiting[key], len(spent[key]), median, p90, rework))
    return rows


@pytest.fixture
def known(session, queue):
    known = stats_data.build(session)
    # Open tickets of every age around the buckets' edges (1, 3, 7 and 30 days).
    for hours in (1, 23, 24, 25, 71, 72, 73, 24 * 7 - 1, 24 * 7, 24 * 30 - 1, 24 * 30, 24 * 30 + 1, 24 * 90):
        with time_machine.travel(NOW - timedelta(hours=hours), tick=False):
            tickets.create_ticket(session, actor=SYSTEM, title=f"{hours} hours old", queue=queue("Raw"))
    # Ticket 1's instance comes back to triage (a loop back): rework for that step.
    done = session.scalars(
        select(HumanTask)
        .where(HumanTask.bpmn_id == "triage", HumanTask.state == "completed")
        .order_by(HumanTask.id)
    ).first()
    assert done is not None
    again = HumanTask(
        instance_id=done.instance_id,
        ticket_id=done.ticket_id,
        task_guid=f"{done.task_guid}-again",
        bpmn_id=done.bpmn_id,
        name=done.name,
        process_id=done.process_id,
        state="completed",
        created_at=stats_data.at(16),
        completed_at=stats_data.at(16, 45),
    )
    session.add(again)
    session.flush()
    return known


def test_backlog_age_counts_as_before(session, known):
    for filters in (
        Filters(start=stats_data.DAY, end=NOW.date()),
        Filters(start=stats_data.DAY, end=NOW.date(), queue_ids=[known.queue.id]),
    ):
        for now in (NOW, NOW + timedelta(minutes=30), NOW + timedelta(days=40)):
            assert figures.backlog_age(session, filters, now=now) == backlog_age_before(
                session, filters, now=now
            )
    every = dict(figures.backlog_age(session, Filters(start=stats_data.DAY, end=NOW.date()), now=NOW).rows)
    # The seeded tickets of Raw: 1 and 23 hours (under a day), 24, 25 and 71 hours (1–3 days) …
    before = dict(backlog_age_before(session, Filters(start=stats_data.DAY, end=NOW.date()), now=NOW).rows)
    assert every == before
    assert every["under 1 day"] >= 2
    assert every["older"] >= 2


def test_process_steps_count_as_before(session, known):
    day = stats_data.DAY
    chosen = [
        Filters(start=day, end=day + timedelta(days=1)),
        Filters(start=day, end=day + timedelta(days=1), queue_ids=[known.queue.id]),
        Filters(start=day, end=day + timedelta(days=1), process_id="two_steps"),
        Filters(start=day, end=day + timedelta(days=1), process_id="two_steps", process_version=1),
        Filters(start=day, end=day + timedelta(days=1), process_version=99),
        Filters(start=day + timedelta(days=1), end=day + timedelta(days=2)),
    ]
    for filters in chosen:
        assert figures.process_steps(session, filters, now=NOW).rows == process_steps_before(session, filters)
    steps = {row[1]: row for row in figures.process_steps(session, chosen[2], now=NOW).rows}
    # Triage: done in 20, 50 and (the loop back) 45 minutes, one instance came back.
    assert steps["triage"][3:] == (1, 3, 45.0, 50.0, 1)
    assert steps["work"][3:] == (0, 1, 40.0, 40.0, 0)
