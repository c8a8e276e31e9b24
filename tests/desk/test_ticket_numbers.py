"""Ticket numbers: date + system id + counter + check digit, unique even across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, func, select, text

from core.db import make_engine, make_sessionmaker, session_scope
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.agent import service as agents
from desk.demo import seed_reference_data
from desk.queue import service as queues
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from desk.ticket.numbers import check_digit, is_valid_number
from tests.conftest import PG_SERVER_URL, TEST_DB, WORKER, create_pg_database

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _counter(number: str) -> int:
    return int(number[10:15])


# --- the number format -------------------------------------------------------------------------


def test_check_digit_of_a_known_number():
    # 2·1 + 0·2 + 2·1 + (6·2 → 1+2) + … = 13, so the check digit is 7.
    assert check_digit("202601011000001") == 7
    assert is_valid_number("2026010110000017")


def test_every_single_digit_change_is_detected():
    number = "2026010110000017"
    for position in range(len(number)):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1 :]
            assert not is_valid_number(changed), changed


@pytest.mark.parametrize(
    "number",
    ["", "2026010110000010", "202601011000001", "20260101100000x7", " 2026010110000017", "-026010110000017"],
)
def test_malformed_numbers_are_invalid(number):
    assert not is_valid_number(number)


def test_a_new_ticket_number_is_date_system_id_counter_and_check_digit(session, queue):
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="Format", queue=queue("Raw"))

    number = ticket.number
    assert len(number) == 16
    assert number.isdigit()
    assert number[:8] == ticket.created_at.strftime("%Y%m%d")
    assert number[8:10] == "10"
    assert _counter(number) >= 1
    assert int(number[-1]) == check_digit(number[:-1])
    assert is_valid_number(number)


def test_numbers_are_sequential_within_a_day(session, queue):
    with time_machine.travel(datetime(2030, 1, 15, 12, 0, tzinfo=UTC), tick=False):
        first = tickets.create_ticket(session, actor=SYSTEM, title="One", queue=queue("Raw"))
        second = tickets.create_ticket(session, actor=SYSTEM, title="Two", queue=queue("Raw"))

    assert first.number[:10] == second.number[:10] == "2030011510"
    assert _counter(second.number) == _counter(first.number) + 1
    assert tickets.get_by_number(session, actor=SYSTEM, number=second.number) is second


def test_the_counter_starts_again_on_a_new_day(session, queue):
    with time_machine.travel(datetime(2030, 2, 1, 23, 59, tzinfo=UTC), tick=False):
        tickets.create_ticket(session, actor=SYSTEM, title="Late", queue=queue("Raw"))
        late = tickets.create_ticket(session, actor=SYSTEM, title="Later", queue=queue("Raw"))
    with time_machine.travel(datetime(2030, 2, 2, 0, 1, tzinfo=UTC), tick=False):
        early = tickets.create_ticket(session, actor=SYSTEM, title="Early", queue=queue("Raw"))

    assert late.number.startswith("20300201")
    assert early.number.startswith("20300202")
    assert _counter(early.number) < _counter(late.number)


# --- two processes at once (acceptance) --------------------------------------------------------

# Each worker process creates its tickets one committed transaction at a time, after a start
# signal, and prints the numbers it got.
_WORKER = """
import sys, time
from pathlib import Path

import desk.models
from core.db import make_engine, make_sessionmaker, session_scope
from desk.actor import SYSTEM
from desk.queue.models import Queue
from desk.ticket import service as tickets

url, queue_id, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ready, go = Path(sys.argv[4]), Path(sys.argv[5])
engine = make_engine(url)
factory = make_sessionmaker(engine)
with engine.connect():
    pass
ready.touch()
deadline = time.monotonic() + 120
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
for i in range(count):
    with session_scope(factory) as session:
        queue = session.get(Queue, queue_id)
        number = tickets.create_ticket(session, actor=SYSTEM, title=f"load {i}", queue=queue).number
    print(number, flush=True)
engine.dispose()
"""

PER_PROCESS = 500


@pytest.fixture
def numbers_database():
    """A fresh database of its own (the shared one must not get 1000 tickets), with one queue."""
    if TEST_DB != "postgresql":
        pytest.skip("the concurrency acceptance test runs on PostgreSQL")
    name = f"tf_numbers_{WORKER}"
    url = create_pg_database(name)
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as session:
        seed_reference_data(session)
        group = agents.create_group(session, actor=SYSTEM, name="load")
        queue_id = queues.create_queue(session, actor=SYSTEM, name="Load", group=group).id
    try:
        yield url, engine, queue_id
    finally:
        engine.dispose()
        admin = create_engine(f"{PG_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _wait_for(paths: list[Path], processes: list[subprocess.Popen[str]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a worker died before starting: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("the workers did not get ready in time")
        time.sleep(0.01)


@pytest.mark.slow
def test_two_processes_creating_500_tickets_each_get_1000_distinct_valid_numbers(numbers_database, tmp_path):
    url, engine, queue_id = numbers_database
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in (1, 2)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(queue_id), str(PER_PROCESS), str(flag), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
        )
        for flag in ready
    ]
    try:
        _wait_for(ready, processes, timeout=60)
        go.touch()  # both are connected and waiting: they start together
        outputs = [process.communicate(timeout=300) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    printed = [out.split() for out, _ in outputs]
    assert [len(numbers) for numbers in printed] == [PER_PROCESS, PER_PROCESS]
    with engine.connect() as conn:
        stored = list(conn.execute(select(Ticket.number)).scalars())
        distinct = conn.execute(select(func.count(func.distinct(Ticket.number)))).scalar_one()
    assert len(stored) == 2 * PER_PROCESS
    assert distinct == 2 * PER_PROCESS
    assert set(stored) == set(printed[0]) | set(printed[1])
    assert all(is_valid_number(number) for number in stored)
    # The two really ran at the same time: their counters interleave instead of one block each.
    first, second = ({_counter(n) for n in numbers} for numbers in printed)
    assert min(first) < max(second)
    assert min(second) < max(first)
