"""One scheduler per deployment: each periodic job once per period, whatever the workers do.

The in-process tests drive :func:`core.jobs.run_scheduler` directly; the process tests run
real ``ticketflow worker`` processes on a ``redis-server`` of their own (never the shared
one: one of them kills it), reading what each scheduler sent from its log.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import jobs
from core.db import make_engine, make_sessionmaker, session_scope, utcnow
from core.migrate import upgrade
from desk.actor import SYSTEM
from desk.article.reply import mail_article
from desk.demo import seed_demo
from desk.outbox.models import OutboxMessage
from desk.queue.models import Queue
from desk.ticket import service as tickets
from engine import definitions, runtime
from engine.models import HumanTask, ProcessInstance
from tests.conftest import WORKER, create_pg_database
from tests.engine.test_runtime import DIAGRAM, FORMS
from tests.subprocesses import PrivateRedis, start_ticketflow, stop, ticketflow_env, wait_for

SENT = re.compile(r"periodic job (\S+) round (\d+) sent")
DONE = re.compile(r"periodic job (\S+) done")
FAST = jobs.SchedulerTiming(tick=0.02, max_backoff=0.1, scale=0.01)


class Recorder:
    """A backend that remembers what it was sent, failing the first ``failures`` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[str] = []
        self.failures = failures
        self.lock = threading.Lock()

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")
            self.sent.append(name)


def _run_until(stop: threading.Event, condition: Any, *targets: threading.Thread) -> None:
    for thread in targets:
        thread.start()
    try:
        wait_for(condition, 60, "the schedulers")
    finally:
        stop.set()
        for thread in targets:
            thread.join(timeout=30)


def test_a_scheduler_that_cannot_send_logs_backs_off_and_carries_on(caplog):
    recorder = Recorder(failures=5)
    stop = threading.Event()
    thread = threading.Thread(target=jobs.run_scheduler, args=(stop, recorder, jobs.LocalClaims(), FAST))
    names = {spec.name for spec in jobs.periodic_jobs()}
    with caplog.at_level("WARNING", logger="core.jobs"):
        _run_until(stop, lambda: names <= set(recorder.sent), thread)
    assert names <= set(recorder.sent)  # every sweep went out once the sends worked again
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot send periodic jobs" in m for m in messages)
    assert any("sending periodic jobs again" in m for m in messages)


def test_two_schedulers_sharing_redis_send_each_round_once(redis_url, caplog):
    client = redis.Redis.from_url(redis_url)
    namespace = f"tf-test-{uuid.uuid4().hex}"
    first, second = Recorder(), Recorder()
    stop = threading.Event()
    threads = [
        threading.Thread(target=jobs.run_scheduler, args=(stop, r, jobs.RedisClaims(client, namespace), FAST))
        for r in (first, second)
    ]
    outbox = "mail.tasks.sweep_outbox"
    try:
        with caplog.at_level("DEBUG", logger="core.jobs"):
            _run_until(stop, lambda: first.sent.count(outbox) + second.sent.count(outbox) >= 10, *threads)
    finally:
        for key in client.scan_iter(f"{namespace}:*"):
            client.delete(key)
        client.close()
    sent = [(m[1], int(m[2])) for r in caplog.records if (m := SENT.search(r.getMessage()))]
    # Without the shared claims each scheduler sends every round: each pair would be there twice.
    assert [pair for pair, n in Counter(sent).items() if n > 1] == []
    assert len(sent) == len(first.sent) + len(second.sent)
    assert first.sent.count(outbox) + second.sent.count(outbox) >= 10


# --- real worker processes --------------------------------------------------------------


@pytest.fixture
def worker_db(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = create_pg_database(f"tf_sched_{WORKER}")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        seed_demo(session)
        definitions.deploy(session, actor=SYSTEM, bpmn_xml=DIAGRAM.replace('"PT2H"', '"PT2S"'), forms=FORMS)
    yield url, factory
    engine.dispose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


def _worker_env(url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    # Periods a tenth of the declared ones (the outbox every 1.5 s, timers every 3 s), a
    # scheduler that looks five times a second and backs off two seconds at most.
    return ticketflow_env(
        url,
        var_dir,
        REDIS_URL=redis_url,
        PERIODIC_SCALE="0.1",
        SCHEDULER_TICK_SECONDS="0.2",
        SCHEDULER_MAX_BACKOFF_SECONDS="2",
    )


def _sent(*logs: Path) -> list[tuple[str, int]]:
    return [(m[1], int(m[2])) for log in logs for m in SENT.finditer(log.read_text(errors="replace"))]


@pytest.mark.slow
def test_two_worker_processes_run_each_periodic_job_once_per_period(worker_db, private_redis, tmp_path):
    url, _ = worker_db
    env = _worker_env(url, private_redis.url, tmp_path / "var")
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    names = {spec.name for spec in jobs.periodic_jobs()}
    workers = []
    for log in logs:
        with log.open("ab") as out:
            workers.append(start_ticketflow(["-v", "worker"], env, out))
    try:
        wait_for(lambda: all("worker running" in log.read_text() for log in logs), 60, "both workers")

        def three_rounds_of_each() -> bool:
            counts = Counter(name for name, _ in _sent(*logs))
            return all(counts[name] >= 3 for name in names)

        wait_for(three_rounds_of_each, 120, "three rounds of every periodic job")
        assert all(w.poll() is None for w in workers)
    finally:
        codes = [stop(w) for w in workers]
    assert codes == [0, 0]
    sent = _sent(*logs)
    assert {name for name, _ in sent} == names
    duplicates = [pair for pair, n in Counter(sent).items() if n > 1]
    assert duplicates == [], f"rounds sent by both workers: {duplicates}"
    done = Counter(m[1] for log in logs for m in DONE.finditer(log.read_text(errors="replace")))
    rounds = Counter(name for name, _ in sent)
    for name in names:
        # Each round ran once, not once per worker (a job sent just before the stop may not
        # have run yet).
        assert rounds[name] - 1 <= done[name] <= rounds[name], (name, done[name], rounds[name])
    text = "".join(log.read_text() for log in logs)
    assert "Traceback" not in text.replace("scheduler cannot send", "")


class _Dropped:
    """The test process's job backend: its messages are lost, as with Redis down."""

    def send(self, name: str, kwargs: dict[str, Any]) -> None:
        return None


@pytest.mark.slow
def test_timers_and_outbox_retries_resume_after_redis_was_down(worker_db, private_redis, tmp_path):
    url, factory = worker_db
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = start_ticketflow(["worker"], _worker_env(url, private_redis.url, tmp_path / "var"), out)
    try:
        wait_for(lambda: "worker running" in log.read_text(), 60, "the worker")
        private_redis.kill()
        # While Redis is down the help desk goes on: a reminder timer falls due and a mail
        # waits for its next attempt after a failed one; their job messages are lost.
        jobs.set_backend(_Dropped())
        with session_scope(factory) as session:
            raw = session.scalars(select(Queue).where(Queue.name == "Raw")).one()
            ticket = tickets.create_ticket(session, actor=SYSTEM, title="Redis was down", queue=raw)
            instance = runtime.start(session, actor=SYSTEM, ticket=ticket, process_id="mini")
            task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)).one()
            runtime.complete_task(session, actor=SYSTEM, task_id=task.id, data={"question": "Which printer?"})
            article = mail_article(
                session,
                actor=SYSTEM,
                ticket=ticket,
                to_addr="specialist@partner.example",
                subject="Your opinion, please",
                body_text="Could you look at this printer?",
                visible_for_customer=False,
            )
            session.flush()
            row = session.scalars(select(OutboxMessage).where(OutboxMessage.article_id == article.id)).one()
            row.attempts, row.last_error = 1, "451 try again later"
            row.next_attempt_at = utcnow() + timedelta(seconds=1)
            instance_id, outbox_id = instance.id, row.id
        wait_for(lambda: "cannot send periodic jobs" in log.read_text(), 60, "the scheduler to notice")
        _sleep_through_the_outage(30)
        assert worker.poll() is None, "the worker died while Redis was down"
        private_redis.start()

        def resumed() -> bool:
            with session_scope(factory) as session:
                done = session.get(ProcessInstance, instance_id).status == "completed"
                return done and session.get(OutboxMessage, outbox_id).status == "sent"

        wait_for(resumed, 120, "the timer and the outbox retry after Redis came back")
        assert worker.poll() is None  # the same process all along, never restarted
    finally:
        jobs.set_backend(None)
        stop(worker)
    with session_scope(factory) as session:
        instance = session.get(ProcessInstance, instance_id)
        notes = [a.body_text for a in instance.ticket.articles if a.channel == "note"]
        assert notes == ["No answer from the customer: Which printer?"]
        assert session.get(OutboxMessage, outbox_id).attempts == 2
    assert "sending periodic jobs again" in log.read_text()
    assert list((tmp_path / "var" / "outbox").glob("*.eml"))


def _sleep_through_the_outage(seconds: float) -> None:
    # Not a measurement: Redis simply stays down this long, as in the scenario.
    threading.Event().wait(seconds)
