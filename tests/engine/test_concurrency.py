"""Concurrency on a real database with committed data: no task is done twice, and a worker
killed between load and save leaves the instance as it was.

These tests commit, so they use their own database (``tf_conc_<worker>``), migrated and
loaded with the demo data, instead of the rolled-back session of the other tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.migrate import upgrade
from desk.actor import SYSTEM, actor_label
from desk.agent.models import Agent
from desk.customer.models import CustomerUser
from desk.demo import seed_demo
from desk.history.models import History
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime, serialization
from engine.errors import TaskAlreadyDone
from engine.models import HumanTask, ProcessInstance
from engine.scripting import TicketflowScriptEngine
from tests.conftest import TEST_DB, WORKER, create_pg_database

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TEST_DB != "postgresql", reason="row locks and kill -9 need PostgreSQL"),
]

ROOT = Path(__file__).resolve().parents[2]
THREADS = 20

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="race" name="Race" isExecutable="true">
    <bpmn:laneSet id="ls">
      <bpmn:lane id="l1" name="Ticket queue">
        <bpmn:flowNodeRef>answer</bpmn:flowNodeRef><bpmn:flowNodeRef>follow_up</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="answer" name="Answer">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="answer.schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="note" name="Note the answer">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="add_note" resultVariable="note_id">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="text" type="str" value="'answered: ' + answer"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:userTask id="follow_up" name="Follow up">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="note"/>
    <bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="follow_up"/>
    <bpmn:sequenceFlow id="f4" sourceRef="follow_up" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FORMS = {
    "answer.schema.json": {
        "type": "object",
        "properties": {"answer": {"type": "string", "minLength": 1}},
        "required": ["answer"],
        "additionalProperties": False,
    }
}


@pytest.fixture(scope="module")
def conc_engine() -> Iterator[Engine]:
    """A fresh database of our own: migrated, demo data, the diagram deployed, all committed."""
    url = create_pg_database(f"tf_conc_{WORKER}")
    engine = make_engine(url, pool_size=THREADS + 5, max_overflow=5)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        seed_demo(session)
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=DIAGRAM, forms=FORMS)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(conc_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(conc_engine)


def start_committed(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """A new ticket in Raw with the race process started, committed; (instance id, task id)."""
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
        instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="race")
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
        session.commit()
        return instance.id, task.id


def agent_in(session: Session, login: str) -> Agent:
    return session.scalars(select(Agent).where(Agent.login == login)).one()


def test_twenty_agents_complete_the_same_task_and_exactly_one_wins(sessions):
    instance_id, task_id = start_committed(sessions)
    with sessions() as session:
        version_before = session.get(ProcessInstance, instance_id).version

    barrier = threading.Barrier(THREADS)
    results: list[tuple[str, Any]] = [("none", None)] * THREADS

    def attempt(index: int) -> None:
        login = ("secretary", "admin")[index % 2]
        with sessions() as session:
            agent = agent_in(session, login)
            barrier.wait(timeout=30)
            try:
                runtime.complete_task(
                    session, actor=agent, task_id=task_id, data={"answer": f"answer {index}"}
                )
                session.commit()
                results[index] = ("won", login)
            except TaskAlreadyDone as exc:
                session.rollback()
                results[index] = ("lost", exc.message)
            except Exception as exc:  # anything else is a failure of the test, reported below
                session.rollback()
                results[index] = ("error", repr(exc))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    winners = [who for outcome, who in results if outcome == "won"]
    losers = [message for outcome, message in results if outcome == "lost"]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1, results
    with sessions() as session:
        winner = agent_in(session, winners[0])
        label = actor_label(winner)
        for message in losers:
            assert f"'Answer' was already completed by {label} at " in message

        # Consistent: one completion, one save, one note, the next task open once.
        instance = session.get(ProcessInstance, instance_id)
        assert instance.version == version_before + 1
        assert instance.status == "running"
        rows = session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)
        ).all()
        assert [(r.name, r.state) for r in rows] == [("Answer", "completed"), ("Follow up", "open")]
        assert rows[0].completed_by_id == winner.id
        completed = session.scalar(
            select(func.count())
            .select_from(History)
            .where(History.ticket_id == instance.ticket_id, History.type == "TaskCompleted")
        )
        assert completed == 1
        notes = [a.body_text for a in instance.ticket.articles if a.channel == "note"]
        assert len(notes) == 1
        assert notes[0].startswith("answered: answer ")
        workflow = serialization.loads(instance.workflow_json, TicketflowScriptEngine())
        (answer,) = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "answer"]
        assert answer.data["answer"] == notes[0].removeprefix("answered: ")

        # And the process goes on normally.
        runtime.complete_task(session, actor=winner, task_id=rows[1].id)
        session.commit()
        assert instance.status == "completed"


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    from ticketflow.bootstrap import bootstrap
    bootstrap()  # every model, operator and lane rule, as in any process of ours
    from sqlalchemy import select
    from core.db import make_engine, make_sessionmaker
    from desk.agent.models import Agent
    from engine import runtime

    url, task_id, ready, gate = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    session = make_sessionmaker(make_engine(url))()
    agent = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
    runtime.complete_task(session, actor=agent, task_id=task_id, data={"answer": "from the doomed worker"})
    session.flush()
    ready.write_text("completed, not committed")
    while not gate.exists():  # the test kills us here, between save and commit
        time.sleep(0.05)
    session.commit()
    """
)


def test_a_worker_killed_between_load_and_save_leaves_the_instance_unchanged(sessions, conc_engine, tmp_path):
    instance_id, task_id = start_committed(sessions)
    with sessions() as session:
        before = session.get(ProcessInstance, instance_id)
        json_before, version_before = before.workflow_json, before.version

    ready, gate = tmp_path / "ready", tmp_path / "gate"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER_SCRIPT,
            conc_engine.url.render_as_string(hide_password=False),
            str(task_id),
            str(ready),
            str(gate),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if worker.poll() is not None:
                pytest.fail(f"the worker ended early:\n{worker.stdout.read()}")
            assert time.monotonic() < deadline, "the worker never completed the task"
            time.sleep(0.05)

        # The worker holds the instance row while it has not committed.
        with conc_engine.connect() as conn, pytest.raises(OperationalError, match="lock"):
            conn.execute(
                text("SELECT id FROM process_instance WHERE id = :id FOR UPDATE NOWAIT"), {"id": instance_id}
            )

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        assert worker.returncode == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    with sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert (instance.workflow_json, instance.version) == (json_before, version_before)
        task = session.get(HumanTask, task_id)
        assert (task.state, task.completed_by_id) == ("open", None)
        assert not [a for a in instance.ticket.articles if a.channel == "note"]

        # Completing it here works: the dead worker's lock is gone with its connection.
        runtime.complete_task(
            session, actor=agent_in(session, "admin"), task_id=task_id, data={"answer": "after the crash"}
        )
        session.commit()
        assert instance.version == version_before + 1
        assert session.get(HumanTask, task_id).state == "completed"
        notes = [a.body_text for a in instance.ticket.articles if a.channel == "note"]
        assert notes == ["answered: after the crash"]
