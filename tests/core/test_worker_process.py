"""`ticketflow worker` as its own process: scheduler → Redis → dramatiq → job → database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import make_engine, make_sessionmaker, session_scope, utcnow
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.agent.models import Agent
from desk.demo import seed_demo
from desk.queue.models import Queue
from desk.ticket import service as tickets
from desk.ticket.models import Ticket
from tests.conftest import WORKER, create_pg_database

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_the_worker_process_runs_the_periodic_unlock_sweep(redis_url):
    url = create_pg_database(f"tf_worker_{WORKER}")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        seed_demo(session)
        raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
        raw.unlock_timeout_minutes = 5
        ticket = tickets.create_ticket(session, actor=SYSTEM, title="Forgotten lock", queue=raw)
        secretary = session.scalars(select(Agent).where(Agent.login == "secretary")).one()
        tickets.lock(session, actor=secretary, ticket=ticket)
        ticket.locked_at = utcnow() - timedelta(minutes=6)
        ticket_id = ticket.id
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETFLOW_")}
    env.update(
        {
            "TICKETFLOW_DATABASE_URL": url,
            "TICKETFLOW_REDIS_URL": redis_url,
            "TICKETFLOW_SECRET_KEY": "worker-test",
            "TICKETFLOW_ENV": "test",
        }
    )
    worker = subprocess.Popen(
        [str(BIN / "ticketflow"), "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        locked = True
        while locked and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            with session_scope(factory) as session:
                locked = session.get(Ticket, ticket_id).locked_by_id is not None
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]
        engine.dispose()
    assert not locked, f"the worker did not release the lock:\n{output}"
    assert "Traceback" not in output, output
