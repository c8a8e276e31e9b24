"""Jobs run after commit only, in-process or through dramatiq on the real Redis."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import dramatiq
import pytest

from core import jobs
from core.db import make_sessionmaker, session_scope, utcnow
from desk.actor import SYSTEM
from desk.history import service as history
from desk.ticket import service as tickets
from desk.ticket.tasks import release_locks_older_than_queue_timeout

received: list[str] = []
_received_event = threading.Event()


@jobs.job
def remember(word: str) -> None:
    """A test job with a visible effect."""
    received.append(word)
    _received_event.set()


@pytest.fixture(autouse=True)
def _clean():
    received.clear()
    _received_event.clear()
    yield
    jobs.set_backend(None)


def test_in_process_job_runs_after_commit(engine):
    backend = jobs.InProcessBackend()
    jobs.set_backend(backend)
    with session_scope(make_sessionmaker(engine)) as session:
        jobs.enqueue(session, remember, word="committed")
        assert received == []  # not before the commit
    backend.join()
    assert received == ["committed"]


def test_job_of_a_rolled_back_transaction_is_never_sent(engine):
    backend = jobs.InProcessBackend()
    jobs.set_backend(backend)

    def failing_request() -> None:
        with session_scope(make_sessionmaker(engine)) as session:
            jobs.enqueue(session, remember, word="rolled back")
            raise RuntimeError("the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    backend.join()
    assert received == []


def test_unregistered_function_cannot_be_enqueued(session):
    def not_a_job() -> None:
        return None

    with pytest.raises(KeyError):
        jobs.enqueue(session, not_a_job)


def test_dramatiq_on_redis_delivers_the_job(engine, redis_url):
    backend = jobs.DramatiqBackend(redis_url, namespace=f"tf-test-{uuid.uuid4().hex}")
    jobs.set_backend(backend)
    worker = dramatiq.Worker(backend.broker, worker_threads=1)
    worker.start()
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            jobs.enqueue(session, remember, word="through redis")
        assert _received_event.wait(timeout=30), "the worker never ran the job"
    finally:
        worker.stop()
        backend.broker.close()
    assert received == ["through redis"]


def test_scheduler_sends_every_periodic_job_at_start():
    sent: list[str] = []

    class Recorder:
        def send(self, name, kwargs):
            sent.append(name)
            stop.set()

    stop = threading.Event()
    jobs.run_scheduler(stop, Recorder())
    assert "desk.ticket.tasks.release_expired_locks" in sent


def test_expired_locks_are_released_once(session, agent, queue):
    raw = queue("Raw")
    raw.unlock_timeout_minutes = 30
    ticket = tickets.create_ticket(session, actor=SYSTEM, title="Stale lock", queue=raw)
    tickets.lock(session, actor=agent("secretary"), ticket=ticket)
    fresh = tickets.create_ticket(session, actor=SYSTEM, title="Fresh lock", queue=raw)
    tickets.lock(session, actor=agent("secretary"), ticket=fresh)
    ticket.locked_at = utcnow() - timedelta(minutes=31)
    session.flush()

    released = release_locks_older_than_queue_timeout(session, now=utcnow())

    assert released == [ticket.number]
    assert not ticket.is_locked
    assert fresh.is_locked
    assert history.for_ticket(session, ticket=ticket)[-1].comment == "unlock timeout of the queue"
    assert release_locks_older_than_queue_timeout(session, now=utcnow()) == []


def test_a_released_savepoint_is_not_a_commit(engine):
    """Side effects wait for the real commit, not for a savepoint inside the transaction."""
    backend = jobs.InProcessBackend()
    jobs.set_backend(backend)
    with session_scope(make_sessionmaker(engine)) as session:
        with session.begin_nested():
            jobs.enqueue(session, remember, word="inside a savepoint")
        backend.join()
        assert received == []  # the savepoint was released, the transaction is still open

        def failing_part() -> None:
            with session.begin_nested():
                jobs.enqueue(session, remember, word="rolled back savepoint")
                raise RuntimeError("this part fails")

        with pytest.raises(RuntimeError):
            failing_part()
    backend.join()
    assert received == ["inside a savepoint"]
