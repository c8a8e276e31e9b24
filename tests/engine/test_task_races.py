"""Claiming, releasing and completing a task are atomic: of two agents racing, exactly one wins.

Two threads, each with its own session and connection, drive :mod:`flows.tasks` (the use
case every channel calls) against committed data in a database of our own
(``tf_tasks_<worker>``).  Each round starts a tiny one-task process for a new ticket, so a
round costs a few milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.errors import Conflict
from core.migrate import upgrade
from desk.actor import SYSTEM, actor_label
from desk.agent.models import Agent
from desk.customer.models import CustomerUser
from desk.demo import seed_demo
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.errors import TaskAlreadyDone, TaskClaimed
from engine.models import HumanTask
from flows import tasks as task_flows
from tests.conftest import TEST_DB, WORKER, create_pg_database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TEST_DB != "postgresql", reason="row locks across connections need PostgreSQL"),
]

ROUNDS = 50

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="one_task" name="One task" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Ticket queue"><bpmn:flowNodeRef>do_it</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="do_it" name="Do it">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="do_it"/>
    <bpmn:sequenceFlow id="f2" sourceRef="do_it" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def race_engine() -> Iterator[Engine]:
    """A fresh database of our own: migrated, demo data, the diagram deployed, all committed."""
    url = create_pg_database(f"tf_tasks_{WORKER}")
    engine = make_engine(url, pool_size=6, max_overflow=2)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        seed_demo(session)
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=DIAGRAM, forms={})
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def sessions(race_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(race_engine)


def new_task(sessions: sessionmaker[Session]) -> int:
    """A new ticket in Raw with the one-task process started, committed; the task's id."""
    with sessions() as session:
        ticket = tickets.create_ticket(
            session,
            actor=SYSTEM,
            title="race",
            queue=session.scalars(select(Queue).where(Queue.name == "Raw")).one(),
            customer_user=session.scalars(
                select(CustomerUser).where(CustomerUser.email == "john.doe@acme.example")
            ).one(),
        )
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="one_task")
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        session.commit()
        return task.id


def agent_in(session: Session, login: str) -> Agent:
    return session.scalars(select(Agent).where(Agent.login == login)).one()


Action = Callable[[Session, Agent, int], Any]


def race(sessions: sessionmaker[Session], task_id: int, contenders: list[tuple[str, Action]]) -> list[Any]:
    """Run each (login, action) in its own thread and session at once; (outcome, detail) each."""
    barrier = threading.Barrier(len(contenders))
    results: list[Any] = [("none", None)] * len(contenders)

    def run(index: int, login: str, action: Action) -> None:
        with sessions() as session:
            agent = agent_in(session, login)
            barrier.wait(timeout=30)
            try:
                action(session, agent, task_id)
                session.commit()
                results[index] = ("won", login)
            except Conflict as exc:
                session.rollback()
                results[index] = ("lost", exc)
            except Exception as exc:  # anything else fails the test, reported below
                session.rollback()
                results[index] = ("error", repr(exc))

    threads = [
        threading.Thread(target=run, args=(i, login, action)) for i, (login, action) in enumerate(contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def claim(session: Session, agent: Agent, task_id: int) -> Any:
    return task_flows.claim(session, actor=agent, task_id=task_id)


def complete(session: Session, agent: Agent, task_id: int) -> Any:
    return task_flows.complete(session, actor=agent, task_id=task_id, data={})


def test_two_agents_claiming_the_same_task_exactly_one_wins_each_round(sessions):
    for round_no in range(ROUNDS):
        task_id = new_task(sessions)
        contenders = [("secretary", claim), ("admin", claim)]

        results = race(sessions, task_id, contenders)

        winners = [who for outcome, who in results if outcome == "won"]
        losers = [exc for outcome, exc in results if outcome == "lost"]
        assert (len(winners), len(losers)) == (1, 1), (round_no, results)
        with sessions() as session:
            winner = agent_in(session, winners[0])
            assert isinstance(losers[0], TaskClaimed), (round_no, results)
            assert losers[0].http_status == 409
            assert f"already claimed by {actor_label(winner)}" in losers[0].message
            task = session.get(HumanTask, task_id)
            assert (task.claimed_by_id, task.version) == (winner.id, 2)


def test_a_claim_racing_a_completion_exactly_one_wins_each_round(sessions):
    for round_no in range(ROUNDS):
        task_id = new_task(sessions)
        # The order alternates so that neither side always reaches the lock first.
        contenders = [("secretary", claim), ("admin", complete)]
        if round_no % 2:
            contenders.reverse()

        results = race(sessions, task_id, contenders)

        winners = [who for outcome, who in results if outcome == "won"]
        losers = [exc for outcome, exc in results if outcome == "lost"]
        assert (len(winners), len(losers)) == (1, 1), (round_no, results)
        with sessions() as session:
            winner = agent_in(session, winners[0])
            task = session.get(HumanTask, task_id)
            assert actor_label(winner) in losers[0].message, (round_no, results)
            if winner.login == "secretary":  # the claim won: the completion is refused
                assert isinstance(losers[0], TaskClaimed)
                assert (task.state, task.claimed_by_id) == ("open", winner.id)
            else:  # the completion won: the claim finds the task done
                assert isinstance(losers[0], TaskAlreadyDone)
                assert (task.state, task.claimed_by_id) == ("completed", None)
                assert task.completed_by_id == winner.id


def test_a_second_claim_waits_for_the_first_and_then_names_its_holder(sessions, race_engine):
    """Deterministic: the first claim holds its locks uncommitted while the second one starts."""
    task_id = new_task(sessions)
    first = sessions()
    try:
        claim(first, agent_in(first, "secretary"), task_id)
        first.flush()
        with race_engine.connect() as conn, pytest.raises(OperationalError, match="lock"):
            conn.execute(text("SELECT id FROM human_task WHERE id = :id FOR UPDATE NOWAIT"), {"id": task_id})

        second: list[Any] = []

        def other() -> None:
            with sessions() as session:
                try:
                    claim(session, agent_in(session, "admin"), task_id)
                    session.commit()
                    second.append("won")
                except Conflict as exc:
                    session.rollback()
                    second.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        wait_until_someone_waits_for_a_lock(race_engine)
        first.commit()
        thread.join(timeout=60)
    finally:
        first.close()

    assert len(second) == 1
    assert isinstance(second[0], TaskClaimed), second
    with sessions() as session:
        secretary = agent_in(session, "secretary")
        assert f"already claimed by {actor_label(secretary)}" in second[0].message
        task = session.get(HumanTask, task_id)
        assert (task.claimed_by_id, task.version) == (secretary.id, 2)


def wait_until_someone_waits_for_a_lock(engine: Engine) -> None:
    """Block until another connection of this database waits for a lock (the second claim)."""
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while True:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            assert time.monotonic() < deadline, "the second claim never waited for the first"
            conn.rollback()
            time.sleep(0.01)
